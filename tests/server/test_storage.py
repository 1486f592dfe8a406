"""The storage layer in-process: board projection rules, duplicates and paging."""

from __future__ import annotations

import asyncio

import pytest

from spec_kitty_server import ws
from spec_kitty_server.storage import Storage
from spec_kitty_server.validation import check_event
from tests.server.conftest import make_event


@pytest.fixture
def storage(tmp_path):
    store = Storage(tmp_path / "s.sqlite3")
    yield store
    store.close()


def ingest(storage: Storage, events, team: str = "acme"):
    results, stored = storage.ingest([check_event(e, team) for e in events])
    return [r["status"] for r in results], stored


def test_lane_follows_event_time_not_arrival_order(storage):
    created = make_event(kind="WPCreated", wp="WP01", timestamp="2026-01-01T10:00:00Z")
    late = make_event(wp="WP01", from_lane="doing", to_lane="done",
                      timestamp="2026-01-01T12:00:00.5Z")
    early = make_event(wp="WP01", from_lane="planned", to_lane="doing",
                       timestamp="2026-01-01T11:00:00+00:00")
    assert ingest(storage, [created, late])[0] == ["success", "success"]
    assert ingest(storage, [early])[0] == ["success"]
    (wp,) = storage.work_packages("acme")
    assert wp["lane"] == "done" and wp["title"] == "Title of WP01"
    # Within one batch the latest by timestamp wins too, whatever the order.
    a = make_event(wp="WP02", to_lane="for_review", timestamp="2026-01-02T10:00:00.000001Z")
    b = make_event(wp="WP02", to_lane="doing", timestamp="2026-01-02T10:00:00Z")
    ingest(storage, [a, b])
    lanes = {w["wp_id"]: w["lane"] for w in storage.work_packages("acme")}
    assert lanes == {"WP01": "done", "WP02": "for_review"}


def test_status_before_created_keeps_lane_and_gets_title(storage):
    ingest(storage, [make_event(wp="WP03", to_lane="doing")])
    ingest(storage, [make_event(kind="WPCreated", wp="WP03")])
    (wp,) = storage.work_packages("acme")
    assert wp["lane"] == "doing" and wp["title"] == "Title of WP03"


def test_assignment_features_and_projects(storage):
    ingest(storage, [make_event(kind="FeatureCreated", feature="002-api"),
                     make_event(kind="WPCreated", wp="WP01", feature="002-api"),
                     make_event(kind="WPAssigned", wp="WP01", feature="002-api"),
                     make_event(kind="WPCreated", wp="WP01", feature="003-x", project="other")])
    wps = storage.work_packages("acme", "web")
    assert [(w["wp_id"], w["assignee"]) for w in wps] == [("WP01", "claude")]
    features = storage.features("acme")
    assert [(f["project_slug"], f["feature_slug"], f["wp_count"]) for f in features] == [
        ("other", "003-x", None), ("web", "002-api", 3)]
    assert [p["project_slug"] for p in storage.projects("acme")] == ["other", "web"]
    overview = storage.overview("acme")
    assert (overview["projects"], overview["features"], overview["work_packages"]) == (2, 2, 2)
    assert overview["lanes"] == {"planned": 2, "doing": 0, "for_review": 0, "done": 0}
    assert storage.overview("other")["events"] == 0


def test_duplicates_in_batch_and_across_batches(storage):
    event = make_event()
    assert ingest(storage, [event, event])[0] == ["success", "duplicate"]
    assert ingest(storage, [event])[0] == ["duplicate"]
    assert storage.count_events() == 1


def test_paging_and_activity(storage):
    events = [make_event(wp=f"WP{i:02d}") for i in range(1, 8)]
    _, stored = ingest(storage, events)
    assert [e["server_seq"] for e in stored] == list(range(1, 8))
    page, more, last = storage.events_after("acme", 0, 5)
    assert len(page) == 5 and more and last == 5
    page, more, last = storage.events_after("acme", 5, 5)
    assert [e["server_seq"] for e in page] == [6, 7] and not more and last == 7
    assert storage.events_after("other", 0, 5) == ([], False, 0)
    assert [e["server_seq"] for e in storage.activity("acme", 2, 3)] == [5, 4, 3]
    assert storage.snapshot("acme")["last_seq"] == 7


def test_paging_without_one_nodes_events_still_moves_the_cursor(storage):
    mine = [make_event(wp=f"WP{i:02d}") for i in range(1, 6)]
    theirs = [dict(make_event(wp=f"WP{i:02d}"), node_id="fedcba987654") for i in range(6, 9)]
    ingest(storage, mine[:2] + theirs[:1] + mine[2:] + theirs[1:])  # seq 1..8
    node = mine[0]["node_id"]
    page, more, last = storage.events_after("acme", 0, 2, node)
    assert [e["server_seq"] for e in page] == [3, 7] and more and last == 7
    page, more, last = storage.events_after("acme", 7, 2, node)
    assert [e["server_seq"] for e in page] == [8] and not more and last == 8
    # Only own events left: nothing returned, but the cursor passes them.
    ingest(storage, [make_event(wp="WP20")])
    assert storage.events_after("acme", 8, 2, node) == ([], False, 9)


def test_slow_websocket_client_is_marked_for_closing():
    async def scenario():
        hub = ws.Hub()
        client = ws._Client("acme")
        hub.register(client)
        hub.publish("acme", [{"server_seq": n} for n in range(ws.QUEUE_SIZE + 5)])
        assert client.overflowed
        assert await client.queue.get() is None  # the sender closes the connection
        hub.unregister(client)
        assert hub.count() == 0

    asyncio.run(scenario())
