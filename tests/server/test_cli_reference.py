"""The server CLI speaks like `spec-kitty`: plain help, one-line errors, and a reference page
that shows exactly what `--help` prints."""

from __future__ import annotations

import os
import re
import subprocess
from pathlib import Path

import pytest
from scripts.docs_gen import server_help

from tests._support.procs import SERVER

ROOT = Path(__file__).resolve().parents[2]
PATHS = server_help.command_paths()


def run(*args: str, columns: int = server_help.WIDTH) -> subprocess.CompletedProcess:
    env = {**os.environ, "COLUMNS": str(columns), "NO_COLOR": "1"}
    return subprocess.run([SERVER, *args], capture_output=True, text=True, timeout=60, env=env)


@pytest.mark.parametrize("path", PATHS, ids=lambda p: " ".join(p) or "root")
def test_reference_shows_exactly_what_help_prints(path):
    printed = run(*path, "--help")
    assert printed.returncode == 0, printed.stderr
    section = server_help.render().split(f"{{ #{server_help.anchor(path)} }}", 1)[1]
    block = re.search(r"```text\n(.*?)\n```", section, re.S).group(1)
    assert block == printed.stdout.rstrip("\n")
    # Plain click help, nothing drawn by Rich, and nothing cut short.
    assert not set("╭╰│…") & set(printed.stdout)


def test_the_reference_page_uses_the_generated_help():
    page = (ROOT / "docs" / "reference" / "server-cli.md").read_text()
    assert "{{ reference:server.cli-help }}" in page
    assert "mkdocs-click" not in page


def test_serve_help_shows_the_whole_db_default_even_in_a_narrow_terminal():
    for columns in (60, 80, 200):
        text = " ".join(run("serve", "--help", columns=columns).stdout.split())
        assert "./spec-kitty-server.sqlite3" in text.replace("- ", "-"), columns
    wide = run("serve", "--help", columns=80).stdout
    assert "`./spec-kitty-server.sqlite3`" in wide


@pytest.mark.parametrize("args, status, first", [
    (["serve", "--bogus"], 2, "Usage: spec-kitty-server serve [OPTIONS]"),
    (["nosuch"], 2, "Usage: spec-kitty-server [OPTIONS] COMMAND [ARGS]..."),
    (["team", "list", "--db", "doesnotexist.sqlite3"], 1, "error: no database at "),
    (["user", "disable", "x", "--db", "doesnotexist.sqlite3"], 1, "error: no database at "),
])
def test_errors_are_plain_and_exit_statuses_are_documented(tmp_path, args, status, first):
    r = subprocess.run([SERVER, *args], capture_output=True, text=True, timeout=60,
                       cwd=tmp_path, env={**os.environ, "NO_COLOR": "1"})
    assert r.returncode == status
    assert r.stderr.startswith(first) and "Traceback" not in r.stderr
    assert not set("╭╰│") & set(r.stderr)
    if status == 1:
        assert len(r.stderr.strip().splitlines()) == 1
    # A read-only command never creates the database it was pointed at.
    assert not (tmp_path / "doesnotexist.sqlite3").exists()
    page = (ROOT / "docs" / "reference" / "server-cli.md").read_text()
    assert f"EXIT_{'USAGE' if status == 2 else 'ERROR'}" in page
