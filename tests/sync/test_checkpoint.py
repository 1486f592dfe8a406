"""WAL checkpoints of a queue that many events are appended to run on a thread of their own."""

from __future__ import annotations

import threading
import time

from specify_cli.sync import _checkpoint
from specify_cli.sync.queue import OfflineQueue
from tests._support.events import sample_events

_NAME = "spec-kitty-checkpoint"


def _checkpoint_threads() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name == _NAME and t.is_alive()]


def _wait_for(predicate, seconds: float = 30.0) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.02)
    return predicate()


def test_a_command_that_emits_a_few_events_starts_no_thread(tmp_path):
    queue = OfflineQueue(tmp_path / "q.sqlite3", cap=100)
    try:
        for event in sample_events(3):
            queue.append(event)
        assert _checkpoint_threads() == []
    finally:
        queue.close()


def test_many_appends_are_checkpointed_by_the_thread_and_close_stops_it(tmp_path,
                                                                        monkeypatch):
    monkeypatch.setattr(_checkpoint, "EVERY", 25)
    path = tmp_path / "q.sqlite3"
    queue = OfflineQueue(path, cap=1000)
    checkpoints = queue._checkpoints
    try:
        events = sample_events(120)
        for event in events:
            queue.append(event)
        assert len(_checkpoint_threads()) == 1
        assert _wait_for(lambda: checkpoints.runs >= 1), "no checkpoint ran on the thread"
        # The WAL was folded into the database file while the queue kept every event.
        assert [r.event_id for r in queue.read_batch(0, 500)] == [e["event_id"] for e in events]
    finally:
        queue.close()
    assert _checkpoint_threads() == []
    again = OfflineQueue(path, cap=1000)
    try:
        assert again.pending_count() == 120
        again.append(sample_events(1)[0])  # a closed queue reopens, with a fresh count
        assert _checkpoint_threads() == []
    finally:
        again.close()


def test_a_push_that_deletes_many_rows_wakes_the_thread_too(tmp_path, monkeypatch):
    monkeypatch.setattr(_checkpoint, "EVERY", 25)
    queue = OfflineQueue(tmp_path / "q.sqlite3", cap=1000)
    try:
        for event in sample_events(20):
            queue.append(event)
        assert _checkpoint_threads() == []
        queue.record_results([row.id for row in queue.read_batch()], [])
        assert len(_checkpoint_threads()) == 1
        assert _wait_for(lambda: queue._checkpoints.runs >= 1), "no checkpoint ran"
        assert queue.pending_count() == 0
    finally:
        queue.close()
    assert _checkpoint_threads() == []
