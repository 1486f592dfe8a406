"""The WebSocket client against the real server: acks, pings, live events, drain, fallback."""

from __future__ import annotations

import json
import random
import threading
import time

import httpx
import pytest

from specify_cli.account import credentials as auth
from specify_cli.account.scope import queue_path
from specify_cli.sync.queue import OfflineQueue
from specify_cli.sync.runtime import SyncRuntime
from specify_cli.sync.websocket import STATE_FALLBACK, WebSocketClient, reconnect_delay, ws_url
from tests._support.events import sample_events
from tests._support.fake_server import FakeServer, Reply
from tests._support.logins import fast_login, token
from tests._support.procs import run_cli, wait_until


@pytest.fixture
def runtime(home, shared_server):
    fast_login(home, shared_server.url, "dave")
    queue = OfflineQueue(queue_path(auth.load_credentials().scope))
    for event in sample_events(5, node="feedfeedfeed"):
        queue.append(event)  # queued before the socket exists: drained on connect
    rt = SyncRuntime(queue, shared_server.url, "0123456789ab", auto_start=True, interval=300,
                     live=True)
    rt.start()
    yield rt
    rt.shutdown(budget=2)


def test_connects_drains_the_queue_and_acks_events_sent_over_the_socket(runtime):
    wait_until(lambda: runtime.ws.connected)
    wait_until(lambda: runtime.queue.pending_count() == 0)  # the reconnect drain pushed the 5
    event = sample_events(1, node="feedfeedfeed")[0]
    stored = runtime.queue.append(event)
    runtime.on_emit(stored)
    assert runtime.ws.wait_for_acks(10)
    assert runtime.ws.acks[event["event_id"]] == "success"
    assert runtime.queue.pending_count() == 0
    assert runtime.queue.get_state()["ws_state"] == "connected"


def test_the_socket_is_connected_only_once_the_drain_is_done(home, shared_server):
    # An event emitted once the socket says `connected` goes over the socket alone: the drain
    # of what queued while disconnected has finished by then and cannot push it a second time.
    fast_login(home, shared_server.url, "dave")
    queue = OfflineQueue(queue_path(auth.load_credentials().scope))
    draining, release = threading.Event(), threading.Event()
    seen: list[bool] = []

    def drain():
        seen.append(client.connected)
        draining.set()
        assert release.wait(60)

    client = WebSocketClient(shared_server.url, queue, "0123456789ab", drain=drain)
    client.start()
    try:
        assert draining.wait(60)
        event = queue.append(sample_events(1, node="feedfeedfeed")[0])
        assert client.send_event(event) is False  # while draining: it stays queued only
        release.set()
        wait_until(lambda: client.connected)
        assert seen == [False]
    finally:
        release.set()
        client.stop()


def test_answers_pings_and_stays_connected(runtime):
    wait_until(lambda: runtime.ws.connected)
    time.sleep(2.5)  # the server pings every 0.5 s and drops a client after 2 missed pongs
    assert runtime.ws.connected and runtime.ws.connects == 1


def test_stores_team_events_pushed_by_the_server(runtime, shared_server):
    wait_until(lambda: runtime.ws.connected)
    before = runtime.queue.log_count()
    events = sample_events(3, node="c0ffeec0ffee")
    response = httpx.post(f"{shared_server.url}/api/v1/events/batch/",
                          json={"events": events},
                          headers={"Authorization": f"Bearer {token(shared_server.url, 'carol')}"})
    assert response.status_code == 200
    wait_until(lambda: runtime.queue.log_count() >= before + 3)


def test_repeated_failures_fall_back_to_batch_mode_and_status_says_so(home):
    with FakeServer() as fake:
        fake.routes[("POST", "/api/v1/ws-token/")] = Reply(503, {"detail": "down"})
        now = time.time()
        auth.save_credentials(auth.Credentials(
            server_url=fake.url, username="alice", team_slug="acme",
            access_expires_at=now + 900, refresh_expires_at=now + 3600,
            access_token="acc-1", refresh_token="ref-1"))
        queue = OfflineQueue(queue_path(auth.load_credentials().scope))
        client = WebSocketClient(fake.url, queue, max_failures=2)
        client.start()
        wait_until(lambda: client.state == STATE_FALLBACK)
        client.stop()
    assert client.failures == 2
    status = json.loads(run_cli(home, "sync", "status", "--json").stdout)
    assert status["websocket"]["state"] == "batch fallback"
    assert "2 failed connections" in status["websocket"]["detail"]
    assert "events are sent in batches" in run_cli(home, "sync", "status").stdout


def test_reconnect_delay_is_jittered_exponential_and_capped():
    rng = random.Random(1)
    for failures, base in ((1, 0.5), (2, 1.0), (3, 2.0), (10, 30.0)):
        delays = [reconnect_delay(failures, rng) for _ in range(50)]
        assert all(base / 2 <= d <= base for d in delays)
        assert len(set(delays)) > 1


def test_ws_url_maps_schemes():
    assert ws_url("http://127.0.0.1:8000") == "ws://127.0.0.1:8000/ws/v1/events/"
    assert ws_url("https://sync.example.com/") == "wss://sync.example.com/ws/v1/events/"


def test_reconnects_after_the_server_restarts_and_drains_what_queued_meanwhile(
        home, tmp_path_factory):
    from urllib.parse import urlsplit

    from tests._support.logins import PASSWORD
    from tests._support.procs import add_user, start_server

    work = tmp_path_factory.mktemp("restart")
    db = work / "server.sqlite3"
    add_user(db, "alice", PASSWORD, "acme")
    server = start_server(work, db=db)
    port = urlsplit(server.url).port
    try:
        fast_login(home, server.url, "alice")
        queue = OfflineQueue(queue_path(auth.load_credentials().scope))
        # A failure budget that outlasts a server restart on a busy machine (5 failures are
        # ~8 s of backoff): falling back is another test's subject.
        client = WebSocketClient(server.url, queue, "0123456789ab",
                                 drain=lambda: SyncRuntime(queue, server.url, None).sync(
                                     pull=False), max_failures=1000)
        client.start()
        wait_until(lambda: client.connected)
        server.kill()
        wait_until(lambda: not client.connected)
        for event in sample_events(4, node="abababababab"):
            queue.append(event)
        server = start_server(work, port=port, db=db)
        wait_until(lambda: client.connects == 2 and client.connected, seconds=120)
        wait_until(lambda: queue.pending_count() == 0)
        client.stop()
    finally:
        server.stop()
