"""Hostile command-line arguments: one-line errors, non-zero exits, and nothing changed.

Bad URLs, unicode, empty strings, 10,000-character values and `../` path tricks in work
package ids and feature slugs are thrown at the real CLI in a real project directory. After
each, every file of the project (and its parent) and of the spec-kitty home is compared
with a snapshot, and the offline queue must hold no new event.
"""

from __future__ import annotations

import hashlib
import sqlite3
from pathlib import Path

import pytest

from tests._support.procs import cli_env, run_cli
from tests._support.project import make_feature

LONG = "x" * 10_000



def _tree(*roots: Path) -> dict[str, str]:
    state = {}
    for root in roots:
        for path in sorted(root.rglob("*")):
            if path.is_file() and not path.name.endswith(("-wal", "-shm", ".lock")):
                state[str(path)] = hashlib.sha256(path.read_bytes()).hexdigest()
            elif path.is_dir():
                state[str(path)] = "dir"
    return state


def _queued(home: Path) -> int:
    total = 0
    for db in (home / "queues").glob("*.sqlite3"):
        if db.name == "clock.sqlite3":  # the machine's Lamport clock, not a queue
            continue
        conn = sqlite3.connect(db)
        try:
            total += conn.execute("SELECT count(*) FROM queue").fetchone()[0]
        finally:
            conn.close()
    return total


@pytest.fixture
def project(tmp_path: Path, home: Path) -> Path:
    root = tmp_path / "work" / "proj"
    make_feature(root, wps={"WP01": ("planned", "[]"), "WP02": ("planned", "[]")})
    (tmp_path / "work" / "secret.md").write_text("outside the project\n")
    r = run_cli(home, "tasks", "finalize", cwd=root,
                env=cli_env(home, SPEC_KITTY_SYNC_AUTO_START="0"))
    assert r.returncode == 0, r.stderr
    return root


def _one_line_error(result) -> None:
    assert result.returncode != 0, (result.stdout, result.stderr)
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr[-2000:]
    assert lines[0].startswith(("error:", "Error:", "Usage:")) or "Error" in lines[0], lines[0]
    assert "Traceback" not in result.stderr + result.stdout
    assert len(lines[0]) < 12_000


HOSTILE_TASKS = [
    ("move", "../WP01", "--to", "doing"),
    ("move", "WP01/../../secret", "--to", "doing"),
    ("move", "../../secret", "--to", "doing"),
    ("move", "", "--to", "doing"),
    ("move", "WP" + "1" * 10_000, "--to", "doing"),
    ("move", "ＷＰ０１", "--to", "doing"),
    ("move", "WP01\n", "--to", "doing"),
    ("move", "WP01", "--to", "../done"),
    ("move", "WP01", "--to", ""),
    ("move", "WP01", "--to", LONG),
    ("move", "WP01", "--to", "doing", "--feature", "../001-login-flow"),
    ("move", "WP01", "--to", "doing", "--feature", "../../work"),
    ("move", "WP01", "--to", "doing", "--feature", "001-login-flow/../../.."),
    ("move", "WP01", "--to", "doing", "--feature", ""),
    ("move", "WP01", "--to", "doing", "--feature", "001-" + LONG),
    ("move", "WP01", "--to", "doing", "--feature", "001-lögin"),
    ("history", "../WP01", "a note"),
    ("history", "WP01", ""),
    ("history", "WP09", "no such work package"),
    ("assign", "WP01", "--agent", ""),
    ("assign", "WP01", "--agent", "claude", "--phase", "../review"),
    ("assign", "/etc/passwd", "--agent", "claude"),
    ("finalize", "--feature", "../../work"),
    ("status", "--feature", "/etc"),
]


def test_hostile_task_arguments_change_nothing(project, home, tmp_path):
    env = cli_env(home, SPEC_KITTY_SYNC_AUTO_START="0")
    before, queued = _tree(tmp_path / "work", home), _queued(home)
    for args in HOSTILE_TASKS:
        result = run_cli(home, "tasks", *args, cwd=project, env=env)
        _one_line_error(result)
        assert _tree(tmp_path / "work", home) == before, args
        assert _queued(home) == queued, args


HOSTILE_URLS = ["", " ", "not a url", "ftp://example.com", "https://", "https://exa mple.com",
                "https://" + "a" * 10_000 + ".com:99999", "https://user:pw@example.com",
                "https://example.com:99999", "https://example.com/?next=1",
                "javascript:alert(1)", "file:///etc/passwd", "//example.com", "https://[::1",
                "http://ünïcødé.example"]


def test_hostile_server_urls_change_nothing(cli, home):
    assert cli("sync", "server", "https://good.example.com").returncode == 0
    before = _tree(home)
    for url in HOSTILE_URLS:
        result = cli("sync", "server", url)
        _one_line_error(result)
        assert result.returncode == 2, url
        assert _tree(home) == before, url
    assert cli("sync", "server").stdout.strip() == "https://good.example.com"


def test_hostile_login_arguments(cli, home, logged_in):
    before = (home / "credentials.json").read_bytes()
    cases = [
        (("-u", "", "--password-stdin", "--force"), "x\n"),
        (("-u", LONG, "--password-stdin", "--force"), "pw\n"),
        (("-u", "../../alice", "--password-stdin", "--force"), "pw\n"),
        (("-u", "ålîce", "--password-stdin", "--force"), "pw\n"),
        (("-u", "alice", "--password-stdin", "--force"), "\n"),
        (("-u", "alice", "--password-stdin", "--force"), LONG + "\n"),
        (("-u", "alice", "--password", "", "--force"), None),
    ]
    for args, stdin in cases:
        result = cli("auth", "login", *args, input=stdin)
        assert result.returncode != 0, args
        errors = [line for line in result.stderr.splitlines() if line.startswith("error:")]
        assert len(errors) == 1 and "Traceback" not in result.stderr, result.stderr[-500:]
        assert (home / "credentials.json").read_bytes() == before, args[:2]
