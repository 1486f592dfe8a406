"""Root command basics: docs links, completion, errors without tracebacks."""

from __future__ import annotations

import os

from tests._support.procs import SPEC_KITTY, cli_env

from specify_cli import docs_links


def test_docs_prints_topic_urls(cli):
    r = cli("docs")
    assert r.returncode == 0 and r.stdout.strip() == docs_links.DOCS_BASE_URL
    r = cli("docs", "login")
    assert r.stdout.strip() == docs_links.DOCS_BASE_URL + "how-to/authenticate/"
    listed = cli("docs", "--list").stdout.splitlines()
    assert len(listed) == len(docs_links.TOPICS)


def test_docs_unknown_topic(cli):
    r = cli("docs", "nope")
    assert r.returncode == 2
    assert r.stderr == "error: unknown docs topic 'nope'; run `spec-kitty docs --list`\n"


def test_bash_completion_completes_groups_and_commands(home):
    import subprocess

    def complete(words: str, cword: int) -> list[str]:
        env = {**cli_env(home), "_SPEC_KITTY_COMPLETE": "complete_bash",
               "COMP_WORDS": words, "COMP_CWORD": str(cword)}
        return subprocess.run([SPEC_KITTY], env=env, capture_output=True,
                              text=True).stdout.split()

    assert complete("spec-kitty au", 1) == ["auth"]
    assert complete("spec-kitty auth lo", 2) == ["login", "logout"]
    assert complete("spec-kitty sync se", 2) == ["server"]


def test_show_completion_prints_a_script(cli):
    r = cli("--show-completion", "bash")
    assert r.returncode == 0 and "_spec_kitty_completion" in r.stdout


def test_unknown_command_is_a_usage_error(cli):
    r = cli("auth", "nope")
    assert r.returncode == 2 and "No such command 'nope'" in r.stderr
    assert "Traceback" not in r.stderr


def test_help_has_no_rich_tags(cli):
    for args in (["--help"], ["auth", "--help"], ["auth", "login", "--help"]):
        out = cli(*args).stdout
        assert "[bold" not in out and "[/" not in out, out


def test_ctrl_c_at_prompt_exits_cleanly(home, tmp_path):
    """A KeyboardInterrupt at the password prompt ends without a traceback."""
    import pty
    import signal
    import time

    env = cli_env(home, SPEC_KITTY_SERVER_URL="http://127.0.0.1:9")
    pid, fd = pty.fork()
    if pid == 0:  # pragma: no cover - child
        os.execve(SPEC_KITTY, [SPEC_KITTY, "auth", "login", "-u", "alice"], env)
    out = b""
    deadline = time.monotonic() + 20
    while b"Password" not in out and time.monotonic() < deadline:
        try:
            out += os.read(fd, 1024)
        except OSError:
            break
    os.kill(pid, signal.SIGINT)
    _, status = os.waitpid(pid, 0)
    try:
        while chunk := os.read(fd, 1024):
            out += chunk
    except OSError:
        pass
    assert b"Password" in out
    assert b"Traceback" not in out
    assert os.waitstatus_to_exitcode(status) != 0
