"""Which path an event takes to the server, pinned: what the docs say about it is true.

The home page, the tutorial, "Sync to a server" and the sync architecture say: a CLI command
is one-shot and never opens a WebSocket (its events leave in the exit push, or wait in the
queue for the next sync); a program that keeps running and asks for it
(`EventEmitter(live=True)`) opens one and sends each event over it as it happens. The server
records every WebSocket it lets in (its `ws_tokens` table), so the count is exact.
"""

from __future__ import annotations

import json
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from tests._support.logins import PASSWORD
from tests._support.procs import add_user, cli_env, run_cli, start_server
from tests._support.project import make_two_wp_project
from tests._support.server_api import server_events


@pytest.fixture
def server(tmp_path):
    db = tmp_path / "server.sqlite3"
    add_user(db, "alice", PASSWORD, "acme")
    proc = start_server(tmp_path, db=db)
    yield proc
    proc.stop()


def _sockets_opened(db: Path) -> int:
    conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=30)
    try:
        return conn.execute("SELECT count(*) FROM ws_tokens").fetchone()[0]
    finally:
        conn.close()


def _logged_in(tmp_path: Path, url: str) -> Path:
    home = tmp_path / "h" / ".spec-kitty"
    home.parent.mkdir()
    assert run_cli(home, "sync", "server", url).returncode == 0
    result = run_cli(home, "auth", "login", "-u", "alice", "--password-stdin",
                     input=PASSWORD + "\n")
    assert result.returncode == 0, result.stderr
    return home


def _program(home: Path, project: Path, mode: str) -> dict:
    """Run tests/_support/live_program.py with background sync on, as a user would."""
    env = cli_env(home, SPEC_KITTY_SYNC_AUTO_START="1", PYTHONPATH=str(Path.cwd()))
    result = subprocess.run([sys.executable, "-m", "tests._support.live_program", str(project),
                             mode], capture_output=True, text=True, env=env, timeout=180)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def test_cli_commands_never_open_a_websocket(tmp_path, server):
    home = _logged_in(tmp_path, server.url)
    project = make_two_wp_project(tmp_path / "proj")
    on = cli_env(home, SPEC_KITTY_SYNC_AUTO_START="1")
    for args in (("tasks", "move", "WP01", "--to", "doing"),
                 ("tasks", "history", "WP01", "started"),
                 ("tasks", "move", "WP01", "--to", "for_review")):
        result = run_cli(home, *args, cwd=project, env=on)
        assert result.returncode == 0, result.stderr
    # The emitter a command uses has no socket at all: not a race the command happens to win.
    assert _program(home, project, "one-shot")["socket"] is False
    # Whatever the exit push did not send, `sync now` sends (HTTP, never a socket).
    result = run_cli(home, "sync", "now", cwd=project, env=on)
    assert result.returncode == 0, result.stderr
    stored = [e for e in server_events(server.url) if e["event_type"] in
              ("WPStatusChanged", "HistoryAdded")]
    assert len(stored) == 4
    assert _sockets_opened(server.db) == 0


def test_a_live_program_sends_its_events_over_the_websocket(tmp_path, server):
    home = _logged_in(tmp_path, server.url)
    project = make_two_wp_project(tmp_path / "proj")
    report = _program(home, project, "live")
    assert report["socket"] and report["connected"]
    assert report["acks"].get(report["second"]) == "success"  # acknowledged over the socket
    assert _sockets_opened(server.db) == 1
    ids = {e["event_id"] for e in server_events(server.url)}
    assert {report["first"], report["second"]} <= ids
