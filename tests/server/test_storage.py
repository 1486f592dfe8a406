"""The storage layer in-process: board projection rules, duplicates and paging."""

from __future__ import annotations

import asyncio
import sqlite3

import pytest

from spec_kitty_server import _hub, accounts, board
from spec_kitty_server import events as event_log
from spec_kitty_server.ingest import ingest as store_batch
from spec_kitty_server.store import PAGE_SIZE, open_database
from spec_kitty_server.validation import check_event
from tests._support.events import make_event


@pytest.fixture
def conn(tmp_path):
    conn = open_database(tmp_path / "s.sqlite3")
    yield conn
    conn.close()


def ingest(conn: sqlite3.Connection, events, team: str = "acme"):
    results, stored = store_batch(conn, [check_event(e, team) for e in events])
    return [r["status"] for r in results], stored


def test_lane_follows_lamport_order_not_arrival_order_or_wall_clock(conn):
    created = make_event(kind="WPCreated", wp="WP01", lamport_clock=1)
    late = make_event(wp="WP01", from_lane="in_progress", to_lane="done", lamport_clock=6,
                      timestamp="2026-01-01T12:00:00.5Z")
    # Emitted earlier (Lamport 5) on a machine whose clock runs fast, and arriving last.
    early = make_event(wp="WP01", from_lane="planned", to_lane="in_progress", lamport_clock=5,
                       timestamp="2026-01-01T12:05:00+00:00")
    assert ingest(conn, [created, late])[0] == ["success", "success"]
    assert ingest(conn, [early])[0] == ["success"]
    (wp,) = board.work_packages(conn, "acme")
    assert wp["lane"] == "done" and wp["title"] == "Title of WP01"
    # Within one batch the highest Lamport value wins too, whatever the order.
    a = make_event(wp="WP02", to_lane="for_review", lamport_clock=11)
    b = make_event(wp="WP02", to_lane="in_progress", lamport_clock=10,
                   timestamp="9999-12-31T23:59:59Z")
    ingest(conn, [a, b])
    lanes = {w["wp_id"]: w["lane"] for w in board.work_packages(conn, "acme")}
    assert lanes == {"WP01": "done", "WP02": "for_review"}


def test_equal_lamport_values_are_ordered_by_node_id(conn):
    low = make_event(wp="WP05", to_lane="blocked", lamport_clock=7, node_id="000000000001")
    high = make_event(wp="WP05", to_lane="approved", lamport_clock=7, node_id="ffffffffffff")
    ingest(conn, [high])
    ingest(conn, [low])
    (wp,) = board.work_packages(conn, "acme")
    assert wp["lane"] == "approved"


def test_status_before_created_keeps_lane_and_gets_title(conn):
    ingest(conn, [make_event(wp="WP03", to_lane="doing")])
    ingest(conn, [make_event(kind="WPCreated", wp="WP03")])
    (wp,) = board.work_packages(conn, "acme")
    assert wp["lane"] == "in_progress" and wp["title"] == "Title of WP03"


def _bare(event):
    """The event as the stock 2.x client names it: a bare WP id, no feature."""
    event["aggregate_id"] = event["payload"]["wp_id"]
    event["payload"].pop("feature_slug")
    return event


def test_an_assignment_moves_only_the_work_package_of_its_feature(conn):
    """Regression: `tasks assign` of WP01 in one feature showed WP01 assigned in every one."""
    ingest(conn, [make_event(kind="WPCreated", wp="WP01", feature="001-login"),
                  make_event(kind="WPCreated", wp="WP01", feature="002-board")])
    ingest(conn, [make_event(kind="WPAssigned", wp="WP01", feature="002-board")])
    assigned = {w["feature_slug"]: w["assignee"] for w in board.work_packages(conn, "acme")}
    assert assigned == {"001-login": None, "002-board": "claude"}
    # A bare WP id (stock 2.x) that two features share is ambiguous: no card changes.
    ingest(conn, [_bare(make_event(kind="WPAssigned", wp="WP01", feature="001-login"))])
    ingest(conn, [_bare(make_event(wp="WP01", to_lane="done", feature="001-login"))])
    cards = {w["feature_slug"]: (w["assignee"], w["lane"])
             for w in board.work_packages(conn, "acme")}
    assert cards == {"001-login": (None, "planned"), "002-board": ("claude", "planned")}


def test_a_bare_wp_id_applies_when_it_is_unambiguous(conn):
    ingest(conn, [make_event(kind="WPCreated", wp="WP04", feature="001-login")])
    ingest(conn, [_bare(make_event(wp="WP04", to_lane="claimed", feature="001-login"))])
    (wp,) = board.work_packages(conn, "acme")
    assert (wp["feature_slug"], wp["lane"]) == ("001-login", "claimed")


def test_unknown_event_types_are_stored_returned_and_ignored_by_the_board(conn):
    dossier = make_event(kind="WPCreated", wp="WP01")
    dossier.update(event_type="MissionDossierArtifactIndexed", aggregate_type="MissionDossier",
                   aggregate_id="001-login-flow", payload={"artifact_key": "spec"},
                   git_branch="main")
    assert ingest(conn, [dossier])[0] == ["success"]
    assert board.work_packages(conn, "acme") == [] and board.projects(conn, "acme") == []
    (back,), _, _ = event_log.events_after(conn, "acme", 0, 10)
    assert back["payload"] == {"artifact_key": "spec"} and back["git_branch"] == "main"
    (latest,) = event_log.activity(conn, "acme", 0, 10)
    assert latest["event_type"] == "MissionDossierArtifactIndexed"


def test_assignment_features_and_projects(conn):
    ingest(conn, [make_event(kind="FeatureCreated", feature="002-api"),
                  make_event(kind="WPCreated", wp="WP01", feature="002-api"),
                  make_event(kind="WPAssigned", wp="WP01", feature="002-api"),
                  make_event(kind="WPCreated", wp="WP01", feature="003-x", project="other")])
    wps = board.work_packages(conn, "acme", "web")
    assert [(w["wp_id"], w["assignee"]) for w in wps] == [("WP01", "claude")]
    features = board.features(conn, "acme")
    assert [(f["project_slug"], f["feature_slug"], f["wp_count"]) for f in features] == [
        ("other", "003-x", None), ("web", "002-api", 3)]
    assert [p["project_slug"] for p in board.projects(conn, "acme")] == ["other", "web"]
    overview = board.overview(conn, "acme")
    assert (overview["projects"], overview["features"], overview["work_packages"]) == (2, 2, 2)
    assert overview["lanes"] == {"planned": 2, "claimed": 0, "in_progress": 0, "for_review": 0,
                                 "approved": 0, "done": 0, "blocked": 0, "canceled": 0}
    assert board.overview(conn, "other")["events"] == 0


def test_duplicates_in_batch_and_across_batches(conn):
    event = make_event()
    assert ingest(conn, [event, event])[0] == ["success", "duplicate"]
    assert ingest(conn, [event])[0] == ["duplicate"]
    assert event_log.count_events(conn) == 1


def test_event_counts_are_kept_per_team_by_ingest(conn):
    accounts.add_user(conn, "alice", "acme", "x")
    accounts.add_user(conn, "bob", "other", "x")
    event = make_event()
    bad = make_event(lamport_clock="7")
    assert ingest(conn, [event, event, bad, make_event()])[0] == [
        "success", "duplicate", "rejected", "success"]
    assert ingest(conn, [make_event(team="other")], team="other")[0] == ["success"]
    assert ingest(conn, [event])[0] == ["duplicate"]
    counted = {team: event_log.count_events(conn, team) for team in ("acme", "other", "none")}
    assert counted == {"acme": 2, "other": 1, "none": 0}
    assert event_log.count_events(conn) == 3
    stored = conn.execute("SELECT team_slug, count(*) FROM events GROUP BY team_slug")
    assert dict(stored.fetchall()) == {"acme": 2, "other": 1}
    assert board.overview(conn, "acme")["events"] == 2
    assert accounts.list_teams(conn) == [("acme", 1, 2), ("other", 1, 1)]


def test_paging_and_activity(conn):
    events = [make_event(wp=f"WP{i:02d}") for i in range(1, 8)]
    _, stored = ingest(conn, events)
    assert [e["server_seq"] for e in stored] == list(range(1, 8))
    page, more, last = event_log.events_after(conn, "acme", 0, 5)
    assert len(page) == 5 and more and last == 5
    page, more, last = event_log.events_after(conn, "acme", 5, 5)
    assert [e["server_seq"] for e in page] == [6, 7] and not more and last == 7
    assert event_log.events_after(conn, "other", 0, 5) == ([], False, 0)
    assert [e["server_seq"] for e in event_log.activity(conn, "acme", 2, 3)] == [5, 4, 3]
    assert board.snapshot(conn, "acme")["last_seq"] == 7


def test_paging_without_one_nodes_events_still_moves_the_cursor(conn):
    mine = [make_event(wp=f"WP{i:02d}") for i in range(1, 6)]
    theirs = [dict(make_event(wp=f"WP{i:02d}"), node_id="fedcba987654") for i in range(6, 9)]
    ingest(conn, mine[:2] + theirs[:1] + mine[2:] + theirs[1:])  # seq 1..8
    node = mine[0]["node_id"]
    page, more, last = event_log.events_after(conn, "acme", 0, 2, node)
    assert [e["server_seq"] for e in page] == [3, 7] and more and last == 7
    page, more, last = event_log.events_after(conn, "acme", 7, 2, node)
    assert [e["server_seq"] for e in page] == [8] and not more and last == 8
    # Only own events left: nothing returned, but the cursor passes them.
    ingest(conn, [make_event(wp="WP20")])
    assert event_log.events_after(conn, "acme", 8, 2, node) == ([], False, 9)


def test_slow_websocket_client_is_marked_for_closing():
    async def scenario():
        hub = _hub.Hub()
        client = _hub.Client("acme")
        hub.register(client)
        hub.publish("acme", [{"server_seq": n} for n in range(_hub.QUEUE_SIZE + 5)])
        assert client.overflowed
        assert await client.queue.get() is None  # the sender closes the connection
        hub.unregister(client)
        assert hub.count() == 0

    asyncio.run(scenario())


def test_a_new_database_gets_the_larger_pages_and_an_existing_one_keeps_its_own(tmp_path):
    fresh = open_database(tmp_path / "new.sqlite3")
    assert fresh.execute("PRAGMA page_size").fetchone()[0] == PAGE_SIZE != 4096
    old = sqlite3.connect(tmp_path / "old.sqlite3")
    old.executescript("PRAGMA page_size=4096; PRAGMA journal_mode=WAL; "
                      "CREATE TABLE teams (slug TEXT PRIMARY KEY, created_at TEXT NOT NULL);")
    old.close()
    conn = open_database(tmp_path / "old.sqlite3")
    assert conn.execute("PRAGMA page_size").fetchone()[0] == 4096
    assert ingest(conn, [make_event()])[0] == ["success"]
    assert event_log.count_events(conn, "acme") == 1



def _state(conn: sqlite3.Connection) -> dict:
    """Everything ingest keeps, but the receive times (one per batch)."""
    return {
        "events": conn.execute("SELECT seq, event_id, team_slug, event_type, project_slug, "
                               "body, node_id, lamport FROM events ORDER BY seq").fetchall(),
        "board": board.snapshot(conn, "acme"),
        "overview": {k: v for k, v in board.overview(conn, "acme").items() if k != "recent"},
        "marks": conn.execute("SELECT * FROM node_clocks ORDER BY node_id").fetchall(),
    }


def test_a_batch_stores_what_the_same_events_pushed_one_by_one_store(tmp_path):
    """Several events on one card, a mid-batch invalid event and a duplicate, in one batch."""
    card = dict(wp="WP07", feature="004-pay")
    events = [make_event(kind="FeatureCreated", feature="004-pay"),
              make_event(kind="WPCreated", **card),
              make_event(to_lane="claimed", **card),
              make_event(lamport_clock="9"),  # invalid: rejected, takes no sequence number
              make_event(to_lane="for_review", node_id="0f0f0f0f0f0f", **card),
              make_event(kind="HistoryAdded", **card),
              make_event(to_lane="in_progress", from_lane="claimed", lamport_clock=1, **card),
              make_event(kind="WPAssigned", **card)]
    events.insert(5, dict(events[2]))  # a duplicate of an event earlier in the batch
    together = open_database(tmp_path / "batch.sqlite3")
    apart = open_database(tmp_path / "single.sqlite3")
    statuses, _ = ingest(together, events)
    assert statuses == ["success", "success", "success", "rejected", "success", "duplicate",
                        "success", "success", "success"]
    assert [ingest(apart, [event])[0][0] for event in events] == statuses
    assert _state(together) == _state(apart)
    (wp,) = board.work_packages(together, "acme")
    assert (wp["lane"], wp["assignee"], wp["title"]) == ("for_review", "claude", "Title of WP07")
