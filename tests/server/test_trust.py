"""Server side of "sync you can trust": the Lamport bound, per-team dedupe, a node's
high-water mark, causal activity order, stored ws-tokens, refresh grace and disabled sockets."""

from __future__ import annotations

import sqlite3

import httpx
import pytest
from websockets.exceptions import ConnectionClosed
from websockets.sync.client import connect

from spec_kitty_protocol import MAX_LAMPORT, MAX_LAMPORT_STEP
from spec_kitty_server import credentials
from spec_kitty_server import events as event_log
from spec_kitty_server.ingest import ingest as store_batch
from spec_kitty_server.store import open_database
from spec_kitty_server.validation import check_event
from tests._support.events import make_event
from tests._support.procs import server_cmd, start_server
from tests._support.server_api import client, push, start_with_users, tokens_for


def _ingest(conn: sqlite3.Connection, events):
    return store_batch(conn, [check_event(e, e["team_slug"]) for e in events])[0]


def test_a_clock_far_above_the_team_is_refused_and_a_chain_within_the_bound_is_not(tmp_path):
    conn = open_database(tmp_path / "s.sqlite3")
    poison = make_event(lamport_clock=MAX_LAMPORT)
    first = make_event(lamport_clock=MAX_LAMPORT_STEP)
    second = make_event(lamport_clock=2 * MAX_LAMPORT_STEP)  # bound counts the batch so far
    results = _ingest(conn, [poison, first, second])
    assert [r["status"] for r in results] == ["rejected", "success", "success"]
    assert "lamport_clock" in results[0]["error"]
    assert event_log.team_lamport(conn, "acme") == 2 * MAX_LAMPORT_STEP
    assert event_log.team_lamport(conn, "acme", "a1b2c3d4e5f6") == 2 * MAX_LAMPORT_STEP
    assert event_log.team_lamport(conn, "other") == 0


def test_activity_is_in_lamport_then_node_order_whatever_the_timestamps(tmp_path):
    conn = open_database(tmp_path / "s.sqlite3")
    # Received in this order; a fast machine's timestamps are far in the future.
    events = [make_event(lamport_clock=6, node_id="bbbbbbbbbbbb", timestamp="2020-01-01T00:00:00Z"),
              make_event(lamport_clock=5, node_id="aaaaaaaaaaaa", timestamp="9999-12-31T00:00:00Z"),
              make_event(lamport_clock=6, node_id="aaaaaaaaaaaa", timestamp="9999-12-31T00:00:00Z")]
    _ingest(conn, events)
    feed = event_log.activity(conn, "acme", 0, 10)
    assert [(e["lamport_clock"], e["node_id"]) for e in feed] == [
        (6, "bbbbbbbbbbbb"), (6, "aaaaaaaaaaaa"), (5, "aaaaaaaaaaaa")]
    assert [(e["lamport_clock"]) for e in event_log.activity(conn, "acme", 1, 1)] == [6]
    plan = " ".join(str(r) for r in conn.execute(
        "EXPLAIN QUERY PLAN SELECT seq FROM events WHERE team_slug = 'acme' "
        "ORDER BY lamport DESC, node_id DESC, seq DESC LIMIT 50"))
    assert "events_team_lamport" in plan and "TEMP B-TREE" not in plan


def test_a_database_of_the_earlier_schema_is_upgraded_in_place(tmp_path):
    path = tmp_path / "old.sqlite3"
    conn = sqlite3.connect(path)
    conn.executescript(
        "CREATE TABLE events (seq INTEGER PRIMARY KEY, event_id TEXT NOT NULL UNIQUE, "
        "team_slug TEXT NOT NULL, event_type TEXT NOT NULL, project_slug TEXT NOT NULL, "
        "received_at TEXT NOT NULL, body TEXT NOT NULL);"
        "CREATE INDEX events_team_seq ON events(team_slug, seq);"
        "CREATE TABLE refresh_tokens (jti TEXT PRIMARY KEY, username TEXT NOT NULL, "
        "expires_at INTEGER NOT NULL);")
    conn.execute("INSERT INTO events VALUES (1, 'E1', 'acme', 'X', 'web', 'now', ?)",
                 ('{"node_id": "a1b2c3d4e5f6", "lamport_clock": 42}',))
    conn.commit()
    conn.close()
    conn = open_database(path)
    assert event_log.team_lamport(conn, "acme", "a1b2c3d4e5f6") == 42
    assert event_log.count_events(conn, "acme") == 1  # the counts start from what is stored
    credentials.store_refresh(conn, "j", "alice", 2**40)
    assert credentials.rotate_refresh(conn, "j", "{}", "k", 2**40, 60) == ("new", None)


def test_a_nodes_high_water_mark_is_its_highest_stored_clock_per_team(tmp_path):
    conn = open_database(tmp_path / "s.sqlite3")
    _ingest(conn, [make_event(lamport_clock=5, node_id="aaaaaaaaaaaa"),
                   make_event(lamport_clock=9, node_id="bbbbbbbbbbbb"),
                   make_event(lamport_clock=4, node_id="aaaaaaaaaaaa")])
    # A later batch with a lower clock (an event emitted before, pushed late) lowers nothing.
    _ingest(conn, [make_event(lamport_clock=3, node_id="aaaaaaaaaaaa"),
                   make_event(lamport_clock=6, node_id="cccccccccccc", team_slug="other")])
    marks = {node: event_log.team_lamport(conn, "acme", node)
             for node in ("aaaaaaaaaaaa", "bbbbbbbbbbbb", "cccccccccccc", "dddddddddddd")}
    assert marks == {"aaaaaaaaaaaa": 5, "bbbbbbbbbbbb": 9, "cccccccccccc": 0, "dddddddddddd": 0}
    assert event_log.team_lamport(conn, "other", "cccccccccccc") == 6
    assert event_log.team_lamport(conn, "acme") == 9


def test_a_database_with_the_per_node_index_gets_its_marks_from_the_stored_events(tmp_path):
    path = tmp_path / "s.sqlite3"
    conn = open_database(path)
    _ingest(conn, [make_event(lamport_clock=5, node_id="aaaaaaaaaaaa"),
                   make_event(lamport_clock=2, node_id="bbbbbbbbbbbb"),
                   make_event(lamport_clock=7, node_id="aaaaaaaaaaaa")])
    # The schema before the marks were kept: an index of every event by node instead.
    conn.executescript("DROP TABLE node_clocks; "
                       "CREATE INDEX events_team_node ON events(team_slug, node_id, lamport);")
    conn.close()
    conn = open_database(path)
    assert [event_log.team_lamport(conn, "acme", node)
            for node in ("aaaaaaaaaaaa", "bbbbbbbbbbbb")] == [7, 2]
    indexes = {row[0] for row in conn.execute(
        "SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = 'events'")}
    assert "events_team_node" not in indexes and "events_team_lamport" in indexes
    _ingest(conn, [make_event(lamport_clock=8, node_id="bbbbbbbbbbbb")])
    assert event_log.team_lamport(conn, "acme", "bbbbbbbbbbbb") == 8


def test_refresh_reuse_after_the_grace_window_revokes_the_whole_login(tmp_path):
    conn = open_database(tmp_path / "s.sqlite3")
    credentials.store_refresh(conn, "a", "alice", 2**40)
    assert credentials.rotate_refresh(conn, "a", '{"n": 1}', "b", 2**40, 60) == ("new", None)
    again = credentials.rotate_refresh(conn, "a", '{"n": 2}', "c", 2**40, 60)
    assert again == ("again", '{"n": 1}')
    # Past the window (a negative window is "already past"): theft; b dies with it.
    assert credentials.rotate_refresh(conn, "a", '{"n": 3}', "d", 2**40, -1) == ("revoked", None)
    assert credentials.rotate_refresh(conn, "b", '{"n": 4}', "e", 2**40, 60) == ("unknown", None)


def test_node_high_water_mark_comes_with_an_excluding_pull(shared_server, alice_api):
    push(alice_api, [make_event(lamport_clock=7, node_id="feedfacecafe")])
    r = alice_api.get("/api/v1/events/", params={"exclude_node": "feedfacecafe"})
    assert r.json()["node_lamport"] == 7
    assert "node_lamport" not in alice_api.get("/api/v1/events/").json()


def _ws_token(url: str, access: str) -> str:
    with client(url, access) as api:
        return api.post("/api/v1/ws-token/").json()["ws_token"]


def _open(url: str, token: str):
    return connect(url.replace("http://", "ws://") + "/ws/v1/events/?token=" + token,
                   open_timeout=10)


def _closed_code(ws) -> int:
    with pytest.raises(ConnectionClosed) as info:
        for _ in range(100):  # bounded: snapshot, pings, then the close
            ws.recv(timeout=10)
    return info.value.rcvd.code


def test_ws_tokens_are_single_use_across_restarts_and_processes(tmp_path):
    srv = start_with_users(tmp_path, [("carol", "acme")])
    other = None
    try:
        access = tokens_for(srv.url, "carol")["access"]
        used, spare = _ws_token(srv.url, access), _ws_token(srv.url, access)
        with _open(srv.url, used) as ws:
            assert '"snapshot"' in ws.recv(timeout=10)
        other = start_server(tmp_path, db=srv.db)  # a second process on the same database
        with _open(other.url, used) as ws:
            assert _closed_code(ws) == 4401
        with _open(other.url, spare) as ws:
            assert '"snapshot"' in ws.recv(timeout=10)
        srv.stop()
        srv = start_server(tmp_path, db=srv.db)  # a restart
        with _open(srv.url, spare) as ws:
            assert _closed_code(ws) == 4401
    finally:
        srv.stop()
        if other is not None:
            other.stop()


def test_disabling_a_user_closes_their_open_socket(tmp_path):
    srv = start_with_users(tmp_path, [("carol", "acme"), ("dave", "acme")])
    try:
        carol = tokens_for(srv.url, "carol")["access"]
        with _open(srv.url, _ws_token(srv.url, carol)) as ws:
            assert '"snapshot"' in ws.recv(timeout=10)
            server_cmd(srv.db, "user", "disable", "carol")
            assert _closed_code(ws) == 4403
        dave = tokens_for(srv.url, "dave")["access"]
        with client(srv.url, dave) as api:
            assert push(api, [make_event()]).json()["results"][0]["status"] == "success"
        assert httpx.get(f"{srv.url}/api/v1/sync/health/").status_code == 200
    finally:
        srv.stop()
