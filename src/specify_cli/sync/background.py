"""The background sync service: a daemon thread that syncs on an interval.

After a failed sync (an exception or an HTTP failure such as a 5xx) it retries with
exponential backoff from `BACKOFF_START_SECONDS` to `BACKOFF_MAX_SECONDS`; after a success it
waits the configured interval (`sync.interval_seconds`). `stop()` wakes it and waits for the
sync in progress to end, bounded in time.
"""

from __future__ import annotations

import collections
import threading
from collections.abc import Callable

BACKOFF_START_SECONDS = 0.5
"""Delay before the first retry after a failed sync."""

BACKOFF_MAX_SECONDS = 30.0
"""Longest delay between retries."""


def backoff_delay(failures: int) -> float:
    """Return the delay after `failures` consecutive failed syncs (0.5 s, 1 s, 2 s ... 30 s).

    Args:
        failures: Consecutive failures so far (1 after the first).
    """
    if failures <= 0:
        return 0.0
    return min(BACKOFF_MAX_SECONDS, BACKOFF_START_SECONDS * 2 ** min(failures - 1, 16))


class BackgroundSync:
    """A daemon thread that calls `sync` every `interval` seconds, backing off on failures.

    Args:
        sync: Runs one sync and returns True on success (False or an exception: failure).
        interval: Seconds between successful syncs.
        first_delay: Seconds before the first sync.
    """

    def __init__(self, sync: Callable[[], bool], interval: float, first_delay: float = 0.0):
        self._sync = sync
        self.interval = float(interval)
        self._first_delay = first_delay
        self._wake = threading.Event()
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None
        self.failures = 0
        self.runs = 0
        self.last_error: str | None = None
        self.delays: collections.deque[float] = collections.deque(maxlen=100)

    @property
    def running(self) -> bool:
        """True while the thread is alive."""
        return self._thread is not None and self._thread.is_alive()

    def start(self) -> None:
        """Start the thread (once)."""
        if self._thread is None:
            self._thread = threading.Thread(target=self._run, name="spec-kitty-sync",
                                            daemon=True)
            self._thread.start()

    def trigger(self) -> None:
        """Sync now instead of waiting for the interval."""
        self._wake.set()

    def stop(self, timeout: float = 5.0) -> bool:
        """Ask the thread to stop and wait up to `timeout` seconds.

        Args:
            timeout: Seconds to wait for a sync in progress.

        Returns:
            True when the thread has ended.
        """
        self._stopping.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout)
            return not self._thread.is_alive()
        return True

    def _run(self) -> None:
        delay = self._first_delay
        while not self._stopping.is_set():
            self.delays.append(delay)
            if delay > 0 and self._wake.wait(delay):
                self._wake.clear()
            if self._stopping.is_set():
                return
            try:
                ok = bool(self._sync())
                self.last_error = None if ok else "sync failed"
            except Exception as exc:  # noqa: BLE001 - a background thread must survive anything
                ok = False
                self.last_error = f"{type(exc).__name__}: {exc}"
            self.runs += 1
            self.failures = 0 if ok else self.failures + 1
            delay = self.interval if ok else backoff_delay(self.failures)
