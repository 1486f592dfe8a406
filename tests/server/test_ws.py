"""The live WebSocket: snapshot, broadcast events, ping/pong, acks and token checks."""

from __future__ import annotations

import json
import time

import pytest
from websockets.exceptions import ConnectionClosed
from websockets.sync.client import connect

from spec_kitty_protocol import LANES
from tests._support.events import make_event
from tests._support.server_api import client, push, start_with_users, tokens_for


def ws_url(http_url: str) -> str:
    return http_url.replace("http://", "ws://") + "/ws/v1/events/"


def ws_token(url: str, access: str) -> str:
    with client(url, access) as api:
        return api.post("/api/v1/ws-token/").json()["ws_token"]


def recv_json(ws, timeout: float = 5.0, skip_pings: bool = True, answer_pings: bool = True):
    deadline = time.monotonic() + timeout
    while True:
        message = json.loads(ws.recv(timeout=max(0.01, deadline - time.monotonic())))
        if message["type"] == "ping" and skip_pings:
            if answer_pings:
                ws.send(json.dumps({"type": "pong"}))
            continue
        return message


def open_ws(url: str, access: str, via_query: bool = False):
    token = ws_token(url, access)
    if via_query:
        return connect(ws_url(url) + f"?token={token}", open_timeout=5)
    return connect(ws_url(url), additional_headers={"Authorization": f"Bearer {token}"},
                   open_timeout=5)


def test_snapshot_then_broadcast_from_batch(shared_server, alice):
    url = shared_server.url
    with client(url, alice["access"]) as api:
        push(api, [make_event(kind="WPCreated", wp="WP40", project="snap")])
    with open_ws(url, alice["access"]) as ws:
        snapshot = recv_json(ws)
        assert snapshot["type"] == "snapshot"
        board = snapshot["board"]
        assert board["team_slug"] == "acme"
        assert board["lanes"] == list(LANES)
        assert any(wp["wp_id"] == "WP40" and wp["project_slug"] == "snap"
                   for wp in board["work_packages"])
        assert board["last_seq"] >= 1
        # Another client of the team pushes over HTTP: this client gets it live.
        other = tokens_for(url, "alice2")
        mine = [make_event(wp="WP41", project="snap"), make_event(wp="WP42", project="snap")]
        with client(url, other["access"]) as api:
            push(api, mine)
        # ... but not bob's (other team).
        bob = tokens_for(url, "bob")
        with client(url, bob["access"]) as api:
            push(api, [make_event(team="other")])
        got = [recv_json(ws), recv_json(ws)]
        assert [m["type"] for m in got] == ["event", "event"]
        assert [m["event"]["event_id"] for m in got] == [e["event_id"] for e in mine]
        assert got[0]["event"]["server_seq"] > board["last_seq"]
        with pytest.raises(TimeoutError):
            recv_json(ws, timeout=0.7)


def test_push_over_ws_gets_ack_and_reaches_others(shared_server, alice):
    url = shared_server.url
    with open_ws(url, alice["access"]) as sender, open_ws(url, alice["access"],
                                                          via_query=True) as watcher:
        recv_json(sender)
        recv_json(watcher)
        event = make_event(wp="WP43")
        sender.send(json.dumps({"type": "event", "event": event}))
        ack = recv_json(sender)
        assert ack == {"type": "ack", "event_id": event["event_id"], "status": "success",
                       "error": None}
        seen = recv_json(watcher)
        assert seen["type"] == "event" and seen["event"]["event_id"] == event["event_id"]
        sender.send(json.dumps({"type": "event", "event": event}))
        assert recv_json(sender)["status"] == "duplicate"
        sender.send(json.dumps({"type": "event", "event": make_event(team="other")}))
        ack = recv_json(sender)
        assert ack["status"] == "rejected" and "team mismatch" in ack["error"]
        sender.send(json.dumps({"type": "event", "event": {"junk": 1}}))
        assert recv_json(sender)["status"] == "rejected"
        sender.send("not json")
        assert recv_json(sender)["type"] == "error"
        sender.send(json.dumps({"type": "weird"}))
        assert recv_json(sender)["type"] == "error"
    with client(url, alice["access"]) as api:
        feed = api.get("/api/v1/events/", params={"limit": 1000}).json()
        ids = [e["event_id"] for e in feed["events"]]
        while feed["has_more"]:
            feed = api.get("/api/v1/events/", params={"after": feed["next_cursor"],
                                                      "limit": 1000}).json()
            ids += [e["event_id"] for e in feed["events"]]
        assert ids.count(event["event_id"]) == 1


def test_ping_pong_and_drop_after_two_missed_pongs(tmp_path):
    srv = start_with_users(tmp_path, [("alice", "acme")], "--ws-ping-interval", "0.5")
    try:
        _ping_pong_and_drop(srv.url, tokens_for(srv.url, "alice"))
    finally:
        srv.stop()


def _ping_pong_and_drop(url, alice):
    # This server pings every 0.5 s.
    with open_ws(url, alice["access"]) as ws:
        assert recv_json(ws)["type"] == "snapshot"
        start = time.monotonic()
        for _ in range(4):  # answered pings keep the connection open
            assert recv_json(ws, skip_pings=False)["type"] == "ping"
            ws.send(json.dumps({"type": "pong"}))
        assert time.monotonic() - start >= 1.4
        # Now stop answering: dropped after two missed pongs.
        with pytest.raises(ConnectionClosed) as info:
            for _ in range(20):
                recv_json(ws, timeout=5, answer_pings=False)
        assert info.value.rcvd.code == 4408


@pytest.mark.parametrize("kind", ["none", "garbage", "access", "reused", "bad-scheme"])
def test_bad_ws_token_closes_4401(shared_server, alice, kind):
    url = shared_server.url
    headers = {}
    if kind == "garbage":
        headers = {"Authorization": "Bearer not-a-token"}
    elif kind == "access":
        headers = {"Authorization": f"Bearer {alice['access']}"}
    elif kind == "bad-scheme":
        headers = {"Authorization": f"Basic {ws_token(url, alice['access'])}"}
    elif kind == "reused":
        token = ws_token(url, alice["access"])
        headers = {"Authorization": f"Bearer {token}"}
        with connect(ws_url(url), additional_headers=headers) as ws:
            assert recv_json(ws)["type"] == "snapshot"
    with connect(ws_url(url), additional_headers=headers, open_timeout=5) as ws:
        with pytest.raises(ConnectionClosed) as info:
            ws.recv(timeout=5)
    assert info.value.rcvd.code == 4401
