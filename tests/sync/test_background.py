"""The background sync thread: interval, exponential backoff, graceful stop."""

from __future__ import annotations

import time

from specify_cli.sync import background
from specify_cli.sync.background import BackgroundSync, backoff_delay
from tests._support.procs import wait_until


def test_backoff_doubles_from_half_a_second_to_thirty():
    assert [backoff_delay(n) for n in range(1, 9)] == [0.5, 1, 2, 4, 8, 16, 30, 30]
    assert backoff_delay(0) == 0 and backoff_delay(10_000) == 30


def test_failures_back_off_and_a_success_returns_to_the_interval(monkeypatch):
    monkeypatch.setattr(background, "BACKOFF_START_SECONDS", 0.01)
    outcomes = iter([False, RuntimeError("boom"), False, True])
    calls = []

    def sync():
        calls.append(time.monotonic())
        result = next(outcomes, True)
        if isinstance(result, Exception):
            raise result
        return result

    bg = BackgroundSync(sync, interval=60, first_delay=0)
    bg.start()
    wait_until(lambda: bg.runs >= 4)
    assert list(bg.delays)[:5] == [0, 0.01, 0.02, 0.04, 60]
    assert bg.failures == 0 and bg.running
    assert bg.stop(timeout=30) and not bg.running


def test_an_exception_does_not_kill_the_thread_and_is_remembered(monkeypatch):
    monkeypatch.setattr(background, "BACKOFF_START_SECONDS", 0.01)

    def sync():
        raise ValueError("nope")

    bg = BackgroundSync(sync, interval=60)
    bg.start()
    wait_until(lambda: bg.runs >= 3)
    assert bg.running and bg.failures >= 3 and "ValueError: nope" in bg.last_error
    bg.stop()


def test_trigger_syncs_before_the_interval():
    runs = []
    bg = BackgroundSync(lambda: runs.append(1) or True, interval=300, first_delay=300)
    bg.start()
    time.sleep(0.05)
    assert runs == []
    bg.trigger()
    wait_until(lambda: runs)
    bg.stop()


def test_stop_waits_for_the_sync_in_progress():
    state = {"done": False}

    def slow():
        time.sleep(0.2)
        state["done"] = True
        return True

    bg = BackgroundSync(slow, interval=300)
    bg.start()
    time.sleep(0.05)
    assert bg.stop(timeout=5) and state["done"]


def test_runtime_starts_nothing_when_auto_start_is_off_or_logged_out(tmp_path):
    from specify_cli.sync.queue import OfflineQueue
    from specify_cli.sync.runtime import SyncRuntime

    queue = OfflineQueue(tmp_path / "q.sqlite3")
    off = SyncRuntime(queue, "http://127.0.0.1:9", "0123456789ab", auto_start=False)
    off.start()
    assert off.started and off.background is None and off.ws is None and not off.active
    logged_out = SyncRuntime(queue, None, "0123456789ab", auto_start=True)
    logged_out.start()
    assert logged_out.background is None and logged_out.ws is None
    off.shutdown()
    logged_out.shutdown()
    assert not off.active and not logged_out.active
