"""`spec-kitty auth` end to end: the real CLI against the real reference server."""

from __future__ import annotations

import json

import pytest
from tests._support.logins import PASSWORD
from tests._support.procs import add_user, child_env, start_server


def login(cli, user="alice", *extra, pw=PASSWORD):
    return cli("auth", "login", "-u", user, "--password-stdin", *extra, input=pw + "\n")


def test_login_status_logout_roundtrip(cli, server, home):
    assert cli("sync", "server", server.url).returncode == 0
    r = login(cli)
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip() == f"Logged in as alice on {server.url} (team acme)."
    creds = json.loads((home / "credentials.json").read_text())
    assert creds["team_slug"] == "acme"
    status = json.loads(cli("auth", "status", "--json").stdout)
    assert status["usable"] and status["access"]["state"] == "valid"
    assert 0 < status["access"]["seconds_left"] <= 900
    r = cli("auth", "logout")
    assert r.returncode == 0 and f"Logged out alice from {server.url}." in r.stdout
    assert cli("auth", "status").returncode == 1


def test_wrong_password(cli, server):
    assert cli("sync", "server", server.url).returncode == 0
    r = login(cli, pw="wrong")
    assert r.returncode == 1
    assert r.stderr.startswith("error: invalid username or password (see https://")
    assert "wrong" not in r.stderr


def test_silent_refresh_rotates_the_refresh_token(tmp_path, cli, home):
    db = tmp_path / "s.sqlite3"
    add_user(db, "alice", PASSWORD, "acme")
    # 20 s is inside the CLI's refresh margin (30 s), so the next command refreshes at once,
    # and long enough that the new token is still valid when it arrives on a busy machine.
    srv = start_server(tmp_path, "--access-lifetime", "20", db=db)
    try:
        assert cli("sync", "server", srv.url).returncode == 0
        assert login(cli).returncode == 0
        old = json.loads((home / "credentials.json").read_text())
        r = cli("sync", "status", "--check")
        assert "Connected" in r.stdout, r.stdout + r.stderr
        new = json.loads((home / "credentials.json").read_text())
        assert new["refresh_token"] != old["refresh_token"]
        assert (home / "credentials.json").stat().st_mode & 0o777 == 0o600
        import httpx
        # Within the grace window the retired token yields the same pair again (a lost
        # answer must not log anyone out); it never yields a different one.
        again = httpx.post(f"{srv.url}/api/v1/token/refresh/",
                           json={"refresh": old["refresh_token"]})
        assert again.status_code == 200 and again.json()["refresh"] == new["refresh_token"]
    finally:
        srv.stop()


@pytest.mark.parametrize("force", [False, True])
def test_switching_account_with_unsynced_events(cli, server, home, tmp_path, force):
    assert cli("sync", "server", server.url).returncode == 0
    assert login(cli).returncode == 0
    from specify_cli.account.credentials import account_scope
    _queue_events_for(home, account_scope(server.url, "alice", "acme"), 3)
    r = login(cli, "bob", "--force") if force else cli(
        "auth", "login", "-u", "bob", "--password-stdin", input=PASSWORD + "\n")
    if force:
        assert r.returncode == 0, r.stderr
        assert "3 unsynced events of alice stay queued" in r.stderr
    else:
        # alice's session is valid and bob's password is checked, but the switch is refused:
        # alice's queue holds events (docs/how-to/authenticate.md says the same).
        assert r.returncode == 1 and "Already logged in" not in r.stdout
        assert r.stderr.count("\n") == 1 and r.stderr.startswith("error: ")
        assert "alice still has 3 unsynced events" in r.stderr and "--force" in r.stderr
        assert json.loads((home / "credentials.json").read_text())["username"] == "alice"
        # A wrong password for bob is reported as such, not as "Already logged in".
        r = cli("auth", "login", "-u", "bob", "--password-stdin", input="wrong-pass\n")
        assert r.returncode == 1 and "invalid username or password" in r.stderr
        # Her events never moved: 3 are still queued for her, none for bob.
        assert _pending(home, account_scope(server.url, "alice", "acme")) == 3


def _pending(home, scope):
    import sqlite3
    conn = sqlite3.connect(home / "queues" / f"{scope}.sqlite3")
    try:
        return conn.execute("SELECT count(*) FROM queue").fetchone()[0]
    finally:
        conn.close()


def _queue_events_for(home, scope, n):
    """Put n valid events in the account's queue through the engine's public queue API."""
    import os
    import subprocess
    import sys
    code = (
        "from specify_cli.account.scope import queue_path\n"
        "from specify_cli.sync.queue import OfflineQueue\n"
        "from tests._support.events import sample_events\n"
        f"q = OfflineQueue(queue_path({scope!r}))\n"
        f"for e in sample_events({n}): q.append(e)\n"
        "print(q.pending_count())\n"
    )
    env = child_env(home, PYTHONPATH=os.getcwd())
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env)
    assert out.stdout.strip() == str(n), out.stderr
