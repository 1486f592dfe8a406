"""Sync you can trust, end to end against the real server: one clock per machine across
accounts and lost state, adoption of logged-out work, and the poison-clock replay over pull
and over a live socket (the refresh trials are in tests/reliability/test_refresh_lost.py).
Each trial counts into the suite's figures (0 lost, 0 doubled, Lamport values per node unique
and increasing)."""

from __future__ import annotations

import json
import shutil
import sqlite3
from pathlib import Path

import pytest

from spec_kitty_protocol import MAX_LAMPORT, encode
from tests._support import figures
from tests._support.fake_server import FakeServer, Reply, token_reply, ws_frame
from tests._support.logins import PASSWORD, fast_login
from tests._support.procs import add_user, start_server, wait_until
from tests._support.procs import run_cli_manual_sync as sk
from tests._support.project import make_two_wp_project
from tests._support.server_api import server_events
from tests._support.trust import NODE, account_queue, check_node, sync_all, trust_event


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
        queue = account_queue()
        for _ in range(2):
            expected.add(queue.append(trust_event("acme", n := n + 1))["event_id"])
        sync_all(queue, url)
        queue.close()
        loss = ("queue", "clock", "both")[trial % 3]
        if loss in ("queue", "both"):
            queue.path.rename(queue.path.with_name(f"aside-{trial}.sqlite3"))
            for suffix in ("-wal", "-shm"):
                queue.path.with_name(queue.path.name + suffix).unlink(missing_ok=True)
        if loss in ("clock", "both"):
            for name in (CLOCK_FILENAME, CLOCK_FILENAME + "-wal", CLOCK_FILENAME + "-shm"):
                (queue.path.parent / name).unlink(missing_ok=True)
        queue = account_queue()
        from specify_cli.account import credentials as auth

        adopt.recover_clock(queue, auth.load_credentials(), NODE)  # what `auth login` does
        expected.add(queue.append(trust_event("acme", n := n + 1))["event_id"])
        sync_all(queue, url)
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
            expected.add(local.append(trust_event("local", n := n + 1))["event_id"])
        local.close()
        fast_login(home, url, user)
        queue = account_queue()
        assert adopt.adopt_local(queue, team) == 2  # as `auth login --adopt` does
        assert adopt.local_pending() == 0
        expected.add(queue.append(trust_event(team, n := n + 1))["event_id"])
        sync_all(queue, url)
        queue.close()
        figures.add("account_switch_trials")
    check_node(url, ("dave", "bob"), expected)


def _poison(team: str) -> dict:
    event = trust_event(team, 0)
    event["node_id"] = "badbadbadbad"
    event["lamport_clock"] = MAX_LAMPORT
    return event


def test_a_poison_clock_on_the_server_stops_nobody_over_pull(home: Path, shared_server):
    url = shared_server.url
    fast_login(home, url, "erin")
    queue = account_queue()
    # Pushing it is refused by the bound ...
    poison = _poison("acme")
    from tests._support.server_api import client, push, tokens_for

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
    sync_all(queue, url)  # pulls the poison
    assert queue.clock_value(NODE) < MAX_LAMPORT // 2
    expected.add(queue.append(trust_event("acme", 1))["event_id"])
    sync_all(queue, url)
    figures.add("poison_replays")
    check_node(url, ("erin",), expected)


def test_logged_out_work_is_announced_adopted_at_login_and_pushed(tmp_path, shared_server):
    home = tmp_path / "h" / ".spec-kitty"
    home.parent.mkdir()
    project = make_two_wp_project(tmp_path / "proj")
    first = sk(home, "tasks", "move", "WP01", "--to", "doing", cwd=project)
    assert first.returncode == 0, first.stderr
    assert first.stderr.count("kept locally until `spec-kitty auth login`") == 1
    assert sk(home, "sync", "server", shared_server.url).returncode == 0
    from tests._support.procs import manual_sync_env, run_cli

    result = run_cli(home, "auth", "login", "-u", "carol", "--password-stdin", "--adopt",
                     input=PASSWORD + "\n", env=manual_sync_env(home))
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
    project = make_two_wp_project(tmp_path / "proj")
    result = sk(home, "tasks", "move", "WP01", "--to", "doing", cwd=project)
    assert "is not valid TOML" in result.stderr and "fix the file" in result.stderr
    from specify_cli.account.scope import LOCAL_SCOPE
    from specify_cli.sync.queue import OfflineQueue

    queue = OfflineQueue(home / "queues" / f"{LOCAL_SCOPE}.sqlite3", cap=10)
    assert queue.pending_count() == 1
    shutil.rmtree(home)


def _logged(queue, event_id: str) -> bool:
    """Whether the queue's log of received events holds `event_id` (read with SQL, not the
    engine, so the check does not depend on what it checks)."""
    conn = sqlite3.connect(f"file:{queue.path}?mode=ro", uri=True, timeout=30)
    try:
        return conn.execute("SELECT 1 FROM event_log WHERE event_id = ?",
                            (event_id,)).fetchone() is not None
    finally:
        conn.close()


@pytest.fixture
def own_server(tmp_path):
    """A server of its own: the shared one holds a planted poison (see above),
    and with it the team's highest clock is already the maximum."""
    db = tmp_path / "own.sqlite3"
    for user in ("carol", "erin"):
        add_user(db, user, PASSWORD, "acme")
    proc = start_server(tmp_path, db=db)
    yield proc
    proc.stop()


def test_a_poison_clock_sent_live_reaches_no_socket(home: Path, own_server):
    """The attack over the WebSocket itself: carol sends the poison over her own socket
    while erin's socket is open. The server refuses it; erin's socket gets carol's next,
    valid event (so it was listening), and erin's clock never jumps."""
    from specify_cli.sync.runtime import SyncRuntime
    from tests._support.server_api import tokens_for

    url = own_server.url
    fast_login(home, url, "erin")
    queue = account_queue()
    victim = SyncRuntime(queue, url, NODE, auto_start=True, interval=300, live=True)
    victim.start()
    try:
        wait_until(lambda: victim.ws.connected)
        import httpx
        from websockets.sync.client import connect

        access = tokens_for(url, "carol")["access"]
        ws_token = httpx.post(f"{url}/api/v1/ws-token/",
                              headers={"Authorization": f"Bearer {access}"}).json()["ws_token"]
        ws_base = url.replace("http://", "ws://")
        with connect(f"{ws_base}/ws/v1/events/",
                     additional_headers={"Authorization": f"Bearer {ws_token}"}) as attacker:
            poison = _poison("acme")
            attacker.send(json.dumps({"type": "event", "event": poison}))
            follow = trust_event("acme", 7)
            follow["node_id"] = "badbadbadbad"
            attacker.send(json.dumps({"type": "event", "event": follow}))
            acks = {}
            for _ in range(20):
                message = json.loads(attacker.recv(timeout=60))
                if message.get("type") == "ack":
                    acks[message["event_id"]] = message["status"]
                if len(acks) == 2:
                    break
        assert acks == {poison["event_id"]: "rejected", follow["event_id"]: "success"}
        # Erin's socket delivers the valid event; the poison never reached it.
        wait_until(lambda: _logged(queue, follow["event_id"]))
        assert not _logged(queue, poison["event_id"])
        assert queue.clock_value(NODE) < MAX_LAMPORT // 2
    finally:
        victim.shutdown(budget=2)
    expected = {queue.append(trust_event("acme", 8))["event_id"]}
    sync_all(queue, url)
    queue.close()
    figures.add("poison_replays")
    check_node(url, ("erin",), expected)


def test_a_poison_clock_from_a_server_without_the_bound_is_not_adopted(home: Path):
    """A server that forwards the poison anyway (an older or hostile one) over a real socket:
    the client logs the event but never adopts its clock."""
    from specify_cli import config
    from specify_cli.account import credentials as auth
    from specify_cli.sync.websocket import WebSocketClient

    poison = {**_poison("acme"), "server_seq": 1}
    with FakeServer() as fake:
        fake.routes[("POST", "/api/v1/token/")] = token_reply()
        fake.routes[("POST", "/api/v1/ws-token/")] = Reply(200, {"ws_token": "wstok"})
        fake.routes[("GET", "/ws/v1/events/")] = Reply(ws_frames=[
            ws_frame(1, json.dumps({"type": "event", "event": poison}))])
        config.set_value("server.url", fake.url)
        auth.save_credentials(auth.request_tokens(fake.url, "erin", PASSWORD))
        queue = account_queue()
        client = WebSocketClient(fake.url, queue, NODE)
        client.start()
        try:
            wait_until(lambda: _logged(queue, poison["event_id"]))
        finally:
            client.stop(timeout=5)
        assert queue.clock_value(NODE) < MAX_LAMPORT // 2
        queue.close()
    figures.add("poison_replays")


