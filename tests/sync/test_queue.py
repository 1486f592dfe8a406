"""The offline queue, the Lamport clock and the sync state on real SQLite files."""

from __future__ import annotations

import os
import sqlite3
import stat

import pytest

from specify_cli.errors import QueueError
from specify_cli.sync.queue import OfflineQueue, QueueFullError
from tests._support.events import sample_events
from tests._support.procs import released_together


@pytest.fixture
def queue(tmp_path):
    q = OfflineQueue(tmp_path / "q" / "scope.sqlite3", cap=50)
    yield q
    q.close()


def test_files_and_directories_are_private(tmp_path):
    q = OfflineQueue(tmp_path / "a" / "b" / "scope.sqlite3", cap=10)
    q.append(sample_events(1)[0])
    assert stat.S_IMODE(os.stat(tmp_path / "a").st_mode) == 0o700
    assert stat.S_IMODE(os.stat(tmp_path / "a" / "b").st_mode) == 0o700
    assert stat.S_IMODE(os.stat(q.path).st_mode) == 0o600
    wal = q.path.with_name(q.path.name + "-wal")
    assert stat.S_IMODE(os.stat(wal).st_mode) == 0o600
    assert sqlite3.connect(q.path).execute("PRAGMA journal_mode").fetchone()[0] == "wal"


def test_pending_count_of_a_missing_file_is_zero_and_creates_nothing(tmp_path):
    q = OfflineQueue(tmp_path / "none.sqlite3")
    assert q.pending_count() == 0
    assert not (tmp_path / "none.sqlite3").exists()


def test_append_is_fifo_and_ticks_the_clock_per_event(queue):
    stored = [queue.append(e) for e in sample_events(5)]
    assert [e["lamport_clock"] for e in stored] == [1, 2, 3, 4, 5]
    rows = queue.read_batch()
    assert [r.event_id for r in rows] == [e["event_id"] for e in stored]
    assert queue.pending_count() == 5
    assert queue.clock_value("0123456789ab") == 5


def test_the_clock_survives_reopening(tmp_path):
    path = tmp_path / "scope.sqlite3"
    OfflineQueue(path).append(sample_events(1)[0])
    again = OfflineQueue(path)
    assert again.append(sample_events(1)[0])["lamport_clock"] == 2


def test_at_the_cap_new_events_are_refused_and_counted_never_dropped(queue):
    for event in sample_events(50):
        queue.append(event)
    first_ids = [r.event_id for r in queue.read_batch()]
    with pytest.raises(QueueFullError, match="full"):
        queue.append(sample_events(1)[0])
    assert queue.note_refused() == 1
    assert queue.note_refused() == 2
    assert queue.pending_count() == 50
    assert [r.event_id for r in queue.read_batch()] == first_ids  # nothing dropped
    assert queue.clock_value("0123456789ab") == 50  # a refused event does not tick
    stats = queue.stats()
    assert stats.refused == 2 and stats.pending == 50 and stats.cap == 50
    # A successful push frees room and resets the refused count.
    queue.record_results([first_ids and queue.read_batch(0, 1)[0].id], [])
    assert queue.stats().refused == 0
    queue.append(sample_events(1)[0])


def test_record_results_deletes_acknowledged_and_keeps_rejected_with_reason(queue):
    for event in sample_events(4):
        queue.append(event)
    rows = queue.read_batch()
    queue.record_results([rows[0].id, rows[1].id], [(rows[2].id, "team mismatch")])
    assert queue.pending_count() == 2
    left = queue.read_batch()
    assert [r.id for r in left] == [rows[2].id, rows[3].id]
    failures = queue.failures()
    assert failures == [{"event_id": rows[2].event_id, "event_type": "WPStatusChanged",
                         "retry_count": 1, "error": "team mismatch"}]


def test_record_results_deletes_exactly_the_acknowledged_rows_around_gaps(queue):
    for event in sample_events(10):
        queue.append(event)
    ids = [r.id for r in queue.read_batch()]
    # Acknowledged in runs broken by a rejected row and two unanswered ones; the last row
    # was not in the batch at all.
    done = [ids[0], ids[1], ids[2], ids[4], ids[5], ids[8]]
    queue.record_results(done, [(ids[3], "x")])
    assert [r.id for r in queue.read_batch()] == [ids[3], ids[6], ids[7], ids[9]]
    real = queue.conn.execute("SELECT count(*) FROM queue").fetchone()[0]
    assert queue.pending_count() == real == 4


def test_record_failure_keeps_the_whole_batch_with_one_more_retry(queue):
    for event in sample_events(6):
        queue.append(event)
    rows = queue.read_batch(0, 3)
    queue.record_failure(rows[0].id, rows[-1].id, "HTTP 503")
    stats = queue.stats()
    assert stats.pending == 6
    assert stats.retry_buckets == {"0": 3, "1-2": 3, "3-9": 0, "10+": 0}
    assert stats.errors == {"HTTP 503": 3}


def test_pending_counter_matches_count_after_mixed_operations(queue):
    for event in sample_events(30):
        queue.append(event)
    rows = queue.read_batch()
    queue.record_results([r.id for r in rows[:10]], [(rows[10].id, "x")])
    queue.delete_event_ids([rows[11].event_id, rows[12].event_id, "01ARZ3NDEKTSV4RRFFQ69G5FAV"])
    real = queue.conn.execute("SELECT count(*) FROM queue").fetchone()[0]
    assert queue.pending_count() == real == 18


def test_store_pulled_logs_events_advances_clock_and_cursor_atomically(queue):
    pulled = [dict(e, server_seq=i + 1, received_at="2026-01-01T00:00:00Z")
              for i, e in enumerate(sample_events(3, node="aaaaaaaaaaaa"))]
    pulled[2]["lamport_clock"] = 500
    assert queue.store_pulled(pulled, "3", "0123456789ab") == 3
    assert queue.store_pulled(pulled, "3", "0123456789ab") == 0  # idempotent
    assert queue.log_count() == 3
    assert queue.get_state()["pull_cursor"] == "3"
    assert queue.append(sample_events(1)[0])["lamport_clock"] == 501


def test_a_corrupt_database_is_a_one_line_queue_error(tmp_path):
    path = tmp_path / "scope.sqlite3"
    path.write_bytes(b"this is not a database" * 100)
    with pytest.raises(QueueError, match="move it aside"):
        OfflineQueue(path).pending_count()


def test_stats_report_oldest_age_and_state(queue):
    assert queue.stats().oldest_enqueued_at is None
    queue.append(sample_events(1)[0])
    queue.set_state(last_sync_result="ok", last_sync_at=1.5)
    stats = queue.stats()
    assert stats.oldest_enqueued_at is not None
    assert stats.state["last_sync_result"] == "ok" and stats.state["last_sync_at"] == "1.5"


_APPENDER = """
import sys
from pathlib import Path
from specify_cli.sync.queue import OfflineQueue
from tests._support.events import sample_events
q = OfflineQueue(Path(sys.argv[1]), cap=10_000)
print("ready", flush=True)
sys.stdin.readline()  # start together
for event in sample_events(int(sys.argv[2]), team=sys.argv[3]):
    q.append(event)
q.close()
"""


def test_two_processes_of_two_accounts_tick_one_machine_clock(tmp_path):
    """Two accounts' queues on one machine, appended to at the same moment by two processes:
    the node's Lamport values are unique across both (one clock per machine)."""
    import sys

    queues = tmp_path / "queues"
    paths = [queues / "alice.sqlite3", queues / "bob.sqlite3"]
    env = {**os.environ, "PYTHONPATH": os.getcwd()}
    argvs = [[sys.executable, "-c", _APPENDER, str(path), "400", team]
             for path, team in zip(paths, ("acme", "other"), strict=True)]
    with released_together(argvs, env) as procs:
        errors = [proc.communicate(timeout=300)[1] for proc in procs]
        assert [proc.returncode for proc in procs] == [0, 0], errors
    values: list[int] = []
    for path in paths:
        conn = sqlite3.connect(path)
        try:
            values += [int(json_value) for (json_value,) in conn.execute(
                "SELECT json_extract(body, '$.lamport_clock') FROM queue")]
        finally:
            conn.close()
    assert len(values) == 800
    assert len(set(values)) == 800, "two processes stamped the same Lamport value"
    q = OfflineQueue(paths[0])
    try:
        assert q.clock_value("0123456789ab") == max(values)
    finally:
        q.close()
