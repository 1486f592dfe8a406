"""Sync you can trust, end to end against the real server: one clock per machine across
accounts and lost state, adoption of logged-out work, and the poison-clock replay over pull
and over the socket. Each trial counts into the suite's figures (0 lost, 0 doubled, Lamport
values per node unique and increasing)."""

from __future__ import annotations

import shutil
import sqlite3
from pathlib import Path

from spec_kitty_protocol import MAX_LAMPORT, build_event, encode
from tests._support import figures
from tests._support.events import PROJECT_UUID
from tests.sync._helpers import fast_login, server_events
from tests.sync.test_e2e import make_project, sk

NODE = "c0ffee0c10c4"


def _event(team: str, n: int) -> dict:
    return build_event("HistoryAdded", {"wp_id": "WP01", "feature_slug": "001-login-flow",
                                        "entry_type": "note", "entry_content": f"n{n}",
                                        "author": "me"},
                       node_id=NODE, team_slug=team, project_uuid=PROJECT_UUID,
                       project_slug="trust")


def _account_queue():
    from specify_cli.account import credentials as auth
    from specify_cli.account.scope import queue_path
    from specify_cli.sync.queue import OfflineQueue

    return OfflineQueue(queue_path(auth.load_credentials().scope))


def _sync(queue, url: str) -> None:
    from specify_cli.sync._engine import sync_once

    report = sync_once(queue, url, node_id=NODE)
    assert report.error is None, report.error
    assert queue.pending_count() == 0


def _check_node(url: str, users: tuple[str, ...], expected: set[str]) -> None:
    """Every expected event is on the server once; this node's clocks rise in push order."""
    mine = [e for user in users for e in server_events(url, user) if e["node_id"] == NODE]
    ids = [e["event_id"] for e in mine]
    lost, doubled = len(expected - set(ids)), len(ids) - len(set(ids))
    clocks = [e["lamport_clock"] for e in sorted(mine, key=lambda e: e["received_at"])]
    by_seq = {}
    for user in users:
        for e in server_events(url, user):
            if e["node_id"] == NODE:
                by_seq.setdefault(user, []).append(e["lamport_clock"])
    violations = len(clocks) - len(set(clocks)) + sum(
        1 for seq in by_seq.values() for a, b in zip(seq, seq[1:], strict=False) if b <= a)
    figures.add("events_lost", lost)
    figures.add("events_doubled", doubled)
    figures.add("lamport_violations", violations)
    assert (lost, doubled, violations) == (0, 0, 0)


def test_clock_survives_lost_state_and_account_switches_with_logged_out_work(
        home: Path, shared_server):
    from specify_cli.account import adopt
    from specify_cli.account.scope import LOCAL_SCOPE, queue_path
    from specify_cli.sync.clock import CLOCK_FILENAME
    from specify_cli.sync.queue import OfflineQueue

    url = shared_server.url
    expected: set[str] = set()
    n = 0
    # Clock-loss trials: the queue moved aside, the clock file deleted, or both (then only
    # the server's high-water mark is left).
    for trial in range(10):
        fast_login(home, url, "dave")
        queue = _account_queue()
        for _ in range(2):
            expected.add(queue.append(_event("acme", n := n + 1))["event_id"])
        _sync(queue, url)
        queue.close()
        loss = ("queue", "clock", "both")[trial % 3]
        if loss in ("queue", "both"):
            queue.path.rename(queue.path.with_name(f"aside-{trial}.sqlite3"))
            for suffix in ("-wal", "-shm"):
                queue.path.with_name(queue.path.name + suffix).unlink(missing_ok=True)
        if loss in ("clock", "both"):
            for name in (CLOCK_FILENAME, CLOCK_FILENAME + "-wal", CLOCK_FILENAME + "-shm"):
                (queue.path.parent / name).unlink(missing_ok=True)
        queue = _account_queue()
        from specify_cli.account import credentials as auth

        adopt.recover_clock(queue, auth.load_credentials(), NODE)  # what `auth login` does
        expected.add(queue.append(_event("acme", n := n + 1))["event_id"])
        _sync(queue, url)
        queue.close()
        figures.add("clock_loss_trials")
    # Account switches, two teams, with events queued and some recorded logged out.
    accounts = (("dave", "acme"), ("bob", "other"))
    for trial in range(20):
        user, team = accounts[trial % 2]
        (home / "credentials.json").unlink(missing_ok=True)
        for path in home.glob("credentials*"):
            path.unlink()
        local = OfflineQueue(queue_path(LOCAL_SCOPE))
        for _ in range(2):
            expected.add(local.append(_event("local", n := n + 1))["event_id"])
        local.close()
        fast_login(home, url, user)
        queue = _account_queue()
        assert adopt.adopt_local(queue, team) == 2  # as `auth login --adopt` does
        assert adopt.local_pending() == 0
        expected.add(queue.append(_event(team, n := n + 1))["event_id"])
        _sync(queue, url)
        queue.close()
        figures.add("account_switch_trials")
    _check_node(url, ("dave", "bob"), expected)


def _poison(team: str) -> dict:
    event = _event(team, 0)
    event["node_id"] = "badbadbadbad"
    event["lamport_clock"] = MAX_LAMPORT
    return event


def test_a_poison_clock_on_the_server_stops_nobody_over_pull_or_socket(
        home: Path, shared_server):
    from specify_cli.sync.websocket import WebSocketClient

    url = shared_server.url
    fast_login(home, url, "erin")
    queue = _account_queue()
    # Pushing it is refused by the bound ...
    poison = _poison("acme")
    from tests.server.conftest import client, push, tokens_for

    with client(url, tokens_for(url, "erin")["access"]) as api:
        assert push(api, [poison]).json()["results"][0]["status"] == "rejected"
    # ... so plant it as a server without the bound would have stored it.
    conn = sqlite3.connect(shared_server.db, timeout=30)
    with conn:
        conn.execute("INSERT INTO events(seq, event_id, team_slug, event_type, project_slug, "
                     "received_at, body, node_id, lamport) VALUES ((SELECT max(seq) + 1 FROM "
                     "events), ?, 'acme', 'HistoryAdded', 'trust', '2026-01-01T00:00:00Z', ?, "
                     "'badbadbadbad', ?)", (poison["event_id"], encode(poison), MAX_LAMPORT))
    conn.close()
    expected = set()
    _sync(queue, url)  # pulls the poison
    assert queue.clock_value(NODE) < MAX_LAMPORT // 2
    expected.add(queue.append(_event("acme", 1))["event_id"])
    _sync(queue, url)
    figures.add("poison_replays")
    # Over the socket: the same event arriving live is logged but not adopted.
    socket = WebSocketClient(url, queue, NODE)
    socket._handle(None, {"type": "event", "event": {**poison, "server_seq": 10**9}})
    assert queue.clock_value(NODE) < MAX_LAMPORT // 2
    expected.add(queue.append(_event("acme", 2))["event_id"])
    _sync(queue, url)
    figures.add("poison_replays")
    _check_node(url, ("erin",), expected)


def test_logged_out_work_is_announced_adopted_at_login_and_pushed(tmp_path, shared_server):
    home = tmp_path / "h" / ".spec-kitty"
    home.parent.mkdir()
    project = make_project(tmp_path / "proj")
    first = sk(home, "tasks", "move", "WP01", "--to", "doing", cwd=project)
    assert first.returncode == 0, first.stderr
    assert first.stderr.count("kept locally until `spec-kitty auth login`") == 1
    assert sk(home, "sync", "server", shared_server.url).returncode == 0
    from tests._support.procs import run_cli
    from tests.sync._helpers import PASSWORD, env_for

    result = run_cli(home, "auth", "login", "-u", "carol", "--password-stdin", "--adopt",
                     input=PASSWORD + "\n", env=env_for(home))
    assert result.returncode == 0, result.stderr
    assert "Adopted 1 event recorded while logged out" in result.stdout + result.stderr
    import yaml

    uuid = yaml.safe_load((project / ".kittify" / "config.yaml").read_text())["project"]["uuid"]
    assert [e["team_slug"] for e in server_events(shared_server.url, "carol")
            if e["project_uuid"] == uuid] == ["acme"]


def test_a_broken_config_never_loses_an_event(tmp_path):
    home = tmp_path / "h" / ".spec-kitty"
    home.mkdir(parents=True)
    (home / "config.toml").write_text("[sync\nqueue_cap = ")
    project = make_project(tmp_path / "proj")
    result = sk(home, "tasks", "move", "WP01", "--to", "doing", cwd=project)
    assert "is not valid TOML" in result.stderr and "fix the file" in result.stderr
    from specify_cli.account.scope import LOCAL_SCOPE
    from specify_cli.sync.queue import OfflineQueue

    queue = OfflineQueue(home / "queues" / f"{LOCAL_SCOPE}.sqlite3", cap=10)
    assert queue.pending_count() == 1
    shutil.rmtree(home)
