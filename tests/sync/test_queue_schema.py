"""The queue's schema 3-4: one B-tree written per emit, row ids never reused, an exact depth.

Schema 2 kept `AUTOINCREMENT`, a `UNIQUE` event-id index and insert/delete counter triggers,
three extra pages written by every emit; schema 3 kept a per-row delete trigger, schema 4
counts deletes once per statement. These tests pin what is kept of their promises: an old
file is migrated in place with its events, a row id handed out is never handed out again
(an in-flight push acknowledges by row id), the depth and the cap are exact with gaps
whichever way rows leave, and adopted events are still never doubled.
"""

from __future__ import annotations

import json
import sqlite3
import time

import pytest

from specify_cli.sync import _db
from specify_cli.sync.queue import OfflineQueue, QueueFullError
from tests._support.events import sample_events

NODE = "0123456789ab"

_SCHEMA_2 = """
CREATE TABLE queue (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    event_id TEXT NOT NULL UNIQUE,
    event_type TEXT NOT NULL,
    body TEXT NOT NULL,
    enqueued_at REAL NOT NULL,
    retry_count INTEGER NOT NULL DEFAULT 0,
    last_error TEXT
);
CREATE INDEX queue_retried ON queue(retry_count, last_error) WHERE retry_count > 0;
CREATE TABLE counters (name TEXT PRIMARY KEY, value INTEGER NOT NULL);
INSERT INTO counters(name, value) VALUES ('pending', 0), ('refused', 4);
CREATE TRIGGER queue_ins AFTER INSERT ON queue BEGIN
    UPDATE counters SET value = value + 1 WHERE name = 'pending';
END;
CREATE TRIGGER queue_del AFTER DELETE ON queue BEGIN
    UPDATE counters SET value = value - 1 WHERE name = 'pending';
END;
CREATE TABLE clock (node_id TEXT PRIMARY KEY, value INTEGER NOT NULL);
CREATE TABLE event_log (
    server_seq INTEGER PRIMARY KEY,
    event_id TEXT NOT NULL UNIQUE,
    event_type TEXT NOT NULL,
    lamport_clock INTEGER NOT NULL,
    body TEXT NOT NULL,
    received_at TEXT
);
CREATE TABLE state (key TEXT PRIMARY KEY, value TEXT NOT NULL);
PRAGMA user_version = 2;
"""


def _schema_2_file(path, events, delete_ids=()):
    """A queue file as schema 2 wrote it: `events` queued, then the rows `delete_ids` acked."""
    path.parent.mkdir(parents=True, exist_ok=True)
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("PRAGMA journal_mode = WAL")
    conn.executescript(_SCHEMA_2)
    conn.executemany("INSERT INTO queue(event_id, event_type, body, enqueued_at) "
                     "VALUES (?, ?, ?, ?)",
                     [(e["event_id"], e["event_type"], json.dumps(e), time.time())
                      for e in events])
    conn.executemany("DELETE FROM queue WHERE id = ?", [(i,) for i in delete_ids])
    conn.execute("UPDATE queue SET retry_count = 2, last_error = 'HTTP 503' WHERE id = 3")
    conn.execute("INSERT INTO clock VALUES (?, ?)", (NODE, len(events)))
    conn.execute("INSERT INTO state VALUES ('pull_cursor', '7')")
    conn.close()


def _rows(path):
    conn = sqlite3.connect(path)
    try:
        return conn.execute("SELECT id, event_id, body, retry_count, last_error FROM queue "
                            "ORDER BY id").fetchall()
    finally:
        conn.close()


def test_a_schema_2_queue_is_migrated_in_place_with_its_events(tmp_path):
    path = tmp_path / "queues" / "acme.sqlite3"
    events = sample_events(12)
    # Rows 1, 5 and the tail 11-12 were acknowledged: gaps, and ids above the last row.
    _schema_2_file(path, events, delete_ids=(1, 5, 11, 12))
    before = _rows(path)
    assert [r[0] for r in before] == [2, 3, 4, 6, 7, 8, 9, 10]

    queue = OfflineQueue(path, cap=100)
    try:
        assert queue.pending_count() == 8
        assert _rows(path) == before  # same ids, bodies, retries and errors, same order
        stats = queue.stats()
        assert stats.pending == 8 and stats.refused == 4
        assert stats.retry_buckets == {"0": 7, "1-2": 1, "3-9": 0, "10+": 0}
        assert stats.errors == {"HTTP 503": 1} and stats.state["pull_cursor"] == "7"
        # The next event follows the highest id schema 2 ever handed out (12), not the
        # highest left (10): a push that read rows 11-12 may still be acknowledging them.
        stored = queue.append(sample_events(1)[0])
        assert queue.read_batch(10)[-1].id == 13
        assert stored["lamport_clock"] == 13  # the clock copy came along
        assert queue.pending_count() == 9
    finally:
        queue.close()
    conn = sqlite3.connect(path)
    try:
        assert conn.execute("PRAGMA user_version").fetchone()[0] == _db.SCHEMA_VERSION
        ddl = " ".join(r[0] for r in conn.execute(
            "SELECT sql FROM sqlite_master WHERE sql IS NOT NULL"))
        assert "AUTOINCREMENT" not in ddl and "queue_ins" not in ddl
    finally:
        conn.close()


def test_migrated_events_are_still_never_doubled_by_a_repeated_adoption(tmp_path):
    path = tmp_path / "queues" / "acme.sqlite3"
    events = sample_events(3)
    _schema_2_file(path, events)
    queue = OfflineQueue(path, cap=100)
    try:
        queue.insert_stamped([(e["event_id"], e["event_type"], json.dumps(e)) for e in events])
        assert queue.pending_count() == 3
    finally:
        queue.close()


def test_an_emit_writes_the_queue_table_only(tmp_path):
    """No trigger runs on insert and every index of the queue is partial (fresh rows skip it)."""
    queue = OfflineQueue(tmp_path / "q.sqlite3", cap=10)
    try:
        queue.append(sample_events(1)[0])
        conn = queue.conn
        assert conn.execute("SELECT count(*) FROM sqlite_master WHERE type = 'trigger' "
                            "AND sql LIKE '%INSERT ON queue%'").fetchone()[0] == 0
        indexes = conn.execute("SELECT name, sql FROM sqlite_master WHERE type = 'index' "
                               "AND tbl_name = 'queue'").fetchall()
        assert indexes and all(sql and " WHERE " in sql for _, sql in indexes), indexes
        assert conn.execute("SELECT count(*) FROM sqlite_master "
                            "WHERE name = 'sqlite_sequence'").fetchone()[0] == 0
    finally:
        queue.close()


def test_row_ids_are_never_reused_after_the_queue_empties(tmp_path):
    path = tmp_path / "q.sqlite3"
    queue = OfflineQueue(path, cap=100)
    try:
        for event in sample_events(5):
            queue.append(event)
        pushed = queue.read_batch()
        queue.record_results([r.id for r in pushed], [])
        assert queue.pending_count() == 0
        fresh = queue.append(sample_events(1)[0])
        assert queue.read_batch()[0].id == 6
        # A stale answer for the pushed rows (another process, a late duplicate) deletes
        # nothing that was queued after them.
        queue.record_results([r.id for r in pushed], [])
        queue.record_failure(pushed[0].id, pushed[-1].id, "HTTP 503")
        assert [r.event_id for r in queue.read_batch()] == [fresh["event_id"]]
        assert queue.failures() == []
    finally:
        queue.close()
    again = OfflineQueue(path, cap=100)  # another process: the floor is on disk
    try:
        again.record_results([6], [])
        again.append(sample_events(1)[0])
        assert [r.id for r in again.read_batch()] == [7]
        assert again.pending_count() == 1
    finally:
        again.close()


def test_the_cap_is_exact_when_acknowledgements_leave_gaps(tmp_path):
    queue = OfflineQueue(tmp_path / "q.sqlite3", cap=5)
    try:
        for event in sample_events(5):
            queue.append(event)
        rows = queue.read_batch()
        queue.record_results([rows[1].id, rows[3].id], [])  # ids 1..5 hold 3 events
        for event in sample_events(2):
            queue.append(event)
        assert queue.pending_count() == 5
        with pytest.raises(QueueFullError, match=r"\(5 of 5 events\)"):
            queue.append(sample_events(1)[0])
        assert queue.pending_count() == 5 and queue.stats().pending == 5
        assert [r.id for r in queue.read_batch()] == [1, 3, 5, 6, 7]
    finally:
        queue.close()


def test_acks_by_event_id_find_rows_queued_by_any_process(tmp_path):
    path = tmp_path / "q.sqlite3"
    other = OfflineQueue(path, cap=100)
    try:
        theirs = [other.append(e)["event_id"] for e in sample_events(3)]
    finally:
        other.close()
    queue = OfflineQueue(path, cap=100)
    try:
        mine = [queue.append(e)["event_id"] for e in sample_events(3)]
        unknown = "01ARZ3NDEKTSV4RRFFQ69G5FAV"
        assert queue.delete_event_ids([mine[0], theirs[1], mine[0], unknown]) == 2
        queue.reject_event_id(theirs[2], "team mismatch")
        queue.reject_event_id(mine[2], "too old")
        assert [f["event_id"] for f in queue.failures()] == [theirs[2], mine[2]]
        assert [r.event_id for r in queue.read_batch()] == [theirs[0], theirs[2], mine[1], mine[2]]
        assert queue.pending_count() == 4
    finally:
        queue.close()


def test_a_garbled_depth_counter_is_recounted_from_the_rows(tmp_path):
    path = tmp_path / "q.sqlite3"
    queue = OfflineQueue(path, cap=100)
    for event in sample_events(4):
        queue.append(event)
    queue.record_results([queue.read_batch(0, 1)[0].id], [])
    queue.close()
    for garble in ("UPDATE counters SET value = 'abc' WHERE name = 'removed'",
                   "UPDATE counters SET value = 9999 WHERE name = 'removed'",
                   "DELETE FROM counters WHERE name = 'top'"):
        conn = sqlite3.connect(path)
        conn.execute(garble)
        conn.commit()
        conn.close()
        again = OfflineQueue(path, cap=100)
        try:
            assert again.pending_count() == 3, garble
        finally:
            again.close()


def test_a_file_an_older_client_opened_again_loses_its_triggers_and_counts_true(tmp_path):
    path = tmp_path / "queues" / "acme.sqlite3"
    queue = OfflineQueue(path, cap=100)
    for event in sample_events(3):
        queue.append(event)
    queue.close()
    # A schema 2 client opens the file: its DDL (IF NOT EXISTS) puts its triggers and its
    # counter on the table, marks the file as schema 2 and queues one event its way.
    old = sqlite3.connect(path, isolation_level=None)
    old.executescript(_SCHEMA_2.replace("CREATE TABLE ", "CREATE TABLE IF NOT EXISTS ")
                      .replace("CREATE INDEX ", "CREATE INDEX IF NOT EXISTS ")
                      .replace("INSERT INTO counters", "INSERT OR IGNORE INTO counters"))
    event = sample_events(1)[0]
    old.execute("INSERT INTO queue(event_id, event_type, body, enqueued_at) VALUES (?, ?, ?, ?)",
                (event["event_id"], event["event_type"], json.dumps(event), time.time()))
    old.close()
    again = OfflineQueue(path, cap=100)
    try:
        assert again.pending_count() == 4
        again.append(sample_events(1)[0])
        assert again.pending_count() == 5 == len(again.read_batch())
        conn = again.conn
        assert conn.execute("SELECT count(*) FROM sqlite_master WHERE type = 'trigger' "
                            "AND name IN ('queue_ins', 'queue_del')").fetchone()[0] == 0
        assert conn.execute("PRAGMA user_version").fetchone()[0] == _db.SCHEMA_VERSION
    finally:
        again.close()


_SCHEMA_3_TRIGGER = """
CREATE TRIGGER IF NOT EXISTS queue_gone AFTER DELETE ON queue BEGIN
    UPDATE counters SET value = value + 1 WHERE name = 'removed';
    UPDATE counters SET value = OLD.id WHERE name = 'top' AND value < OLD.id;
END;
"""


def test_every_way_out_of_the_queue_keeps_the_depth_and_the_id_floor(tmp_path):
    queue = OfflineQueue(tmp_path / "q.sqlite3", cap=100)
    try:
        stored = [queue.append(e)["event_id"] for e in sample_events(6)]
        assert queue.conn.execute("SELECT count(*) FROM sqlite_master WHERE type = 'trigger'"
                                  ).fetchone()[0] == 0
        assert queue.delete_rows([6, 6, 99]) == 1  # the highest row (moved elsewhere)
        assert queue.pending_count() == 5
        queue.append(sample_events(1)[0])
        assert queue.read_batch(5)[0].id == 7  # 6 is never handed out again
        assert queue.delete_event_ids([stored[0], stored[4], stored[0]]) == 2
        assert queue.pending_count() == 4
        queue.record_results([2, 3, 7], [])  # the highest again, with the acked rows
        assert queue.pending_count() == 1
        queue.append(sample_events(1)[0])
        assert [r.id for r in queue.read_batch()] == [4, 8]
        assert queue.pending_count() == 2 == len(queue.read_batch())
        queue.record_results([4, 8], [])
        assert queue.pending_count() == 0
    finally:
        queue.close()
    again = OfflineQueue(tmp_path / "q.sqlite3", cap=100)  # the books are on disk
    try:
        again.append(sample_events(1)[0])
        assert [r.id for r in again.read_batch()] == [9] and again.pending_count() == 1
    finally:
        again.close()


def test_a_schema_3_file_loses_its_delete_trigger_and_counts_each_delete_once(tmp_path):
    path = tmp_path / "queues" / "acme.sqlite3"
    queue = OfflineQueue(path, cap=100)
    for event in sample_events(4):
        queue.append(event)
    queue.close()
    # The file as schema 3 left it (or as a schema 3 client reopened it): its per-row
    # delete trigger, and the version that makes the next client migrate it.
    old = sqlite3.connect(path, isolation_level=None)
    old.executescript(_SCHEMA_3_TRIGGER + "PRAGMA user_version = 3;")
    old.execute("DELETE FROM queue WHERE id = 4")  # that client acked the newest event
    old.close()
    again = OfflineQueue(path, cap=100)
    try:
        assert again.pending_count() == 3
        again.record_results([1, 2], [])
        assert again.pending_count() == 1 == len(again.read_batch())
        again.append(sample_events(1)[0])
        assert [r.id for r in again.read_batch()] == [3, 5]
        conn = again.conn
        assert conn.execute("SELECT count(*) FROM sqlite_master WHERE type = 'trigger'"
                            ).fetchone()[0] == 0
        assert conn.execute("PRAGMA user_version").fetchone()[0] == _db.SCHEMA_VERSION
    finally:
        again.close()
