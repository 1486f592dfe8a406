"""A lost refresh answer never logs anyone out: kill -9 and client timeouts of the real CLI
while the server completes a token refresh the CLI never hears about (the answer is held by a
loopback proxy, tests/_support/proxy.py). Every trial ends with the same `sync now` a user
would run next; at the end every event is on the server once and this node's Lamport values
are unique and increasing."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from tests._support import figures
from tests._support.logins import PASSWORD, fast_login
from tests._support.procs import SPEC_KITTY, add_user, manual_sync_env, run_cli, start_server
from tests._support.proxy import RefreshLosingProxy
from tests._support.trust import account_queue, check_node, trust_event

KILL_TRIALS = 3
TIMEOUT_TRIALS = 2
"""Few trials, each at the one moment that matters: the kill (or the client's timeout) comes
when the server has completed the refresh and its answer is held (`proxy.answered`), so every
trial loses the answer at the same point and repeating it adds nothing. What differs is what
came before: 3 kills then 2 timeouts, each followed by the recovering `sync now`, cover a lost
refresh after a fresh login, after a recovered kill (twice in a row), and a timeout after a
kill and after a timeout, with the retired token of each inside the grace window."""


@pytest.mark.timeout(900)  # 10 CLI runs: a hang guard sized for a busy machine
def test_a_lost_refresh_answer_never_logs_anyone_out(tmp_path, home: Path):
    """kill -9 and client timeouts while the server completes a refresh the client never
    hears about. The access lifetime is below the CLI's refresh margin, so every command
    refreshes first; the next command retries with the retired token inside the grace
    window and gets the same new pair."""
    from specify_cli import config

    db = tmp_path / "refresh.sqlite3"
    add_user(db, "alice", PASSWORD, "acme")
    srv = start_server(tmp_path, "--access-lifetime", "20", db=db)
    expected: set[str] = set()
    n = 0
    try:
        with RefreshLosingProxy(srv.url) as proxy:
            fast_login(home, proxy.url, "alice")
            default_timeout = config.get("server.timeout_seconds")
            for trial in range(KILL_TRIALS + TIMEOUT_TRIALS):
                queue = account_queue()
                for _ in range(2):
                    expected.add(queue.append(trust_event("acme", n := n + 1))["event_id"])
                queue.close()
                proxy.hold_refresh()
                if trial < KILL_TRIALS:
                    proc = subprocess.Popen([SPEC_KITTY, "sync", "now"], env=manual_sync_env(home),
                                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
                    assert proxy.answered.wait(120), "the refresh never reached the server"
                    proc.kill()
                    proc.communicate()
                    figures.add("refresh_kill_trials")
                else:
                    config.set_value("server.timeout_seconds", 2.0)
                    lost = run_cli(home, "sync", "now", env=manual_sync_env(home))
                    assert lost.returncode == 1, lost.stdout
                    assert "did not answer in time" in lost.stderr, lost.stderr
                    assert proxy.answered.wait(120), "the refresh never reached the server"
                    config.set_value("server.timeout_seconds", default_timeout)
                    figures.add("refresh_timeout_trials")
                proxy.release()
                assert (home / "credentials.json").exists(), f"trial {trial}: logged out"
                again = run_cli(home, "sync", "now", env=manual_sync_env(home))
                assert again.returncode == 0, f"trial {trial}: {again.stderr}"
            assert proxy.refreshes_lost == KILL_TRIALS + TIMEOUT_TRIALS
            check_node(srv.url, ("alice",), expected)
    finally:
        srv.stop()
