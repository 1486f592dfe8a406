"""Checkpoints of a queue's WAL on a thread of their own, so an emit never waits for one.

SQLite folds the WAL back into the database (a checkpoint: copy the pages, then two fsyncs)
inside the commit that crosses `_db.WAL_AUTOCHECKPOINT_PAGES`, so every few thousand emits
one `emit()` waited for the disk: a fifth to a third of the wall time of emitting in a loop. A
queue that writes many rows (appended events; also events a push deletes and a pull stores)
wakes this thread instead, every `EVERY` rows; it checkpoints with its own connection
(SQLite's PASSIVE mode: it never blocks a writer) while the writing thread goes on
committing. Durability does not change: each event is still its own commit in the WAL
before `emit()` returns; a checkpoint only moves committed pages. A process that emits a few
events never starts the thread, and the writing connection's automatic checkpoint stays as
the bound when the thread falls behind or cannot run.
"""

from __future__ import annotations

import contextlib
import sqlite3
import threading
from pathlib import Path

from specify_cli.errors import QueueError
from specify_cli.sync import _db

EVERY = 1000
"""Rows written between two wake-ups: for appends about 1,400 WAL pages (5.5 MiB), a third
of the automatic checkpoint's threshold, so the writing connection never reaches it."""


class Checkpointer:
    """Checkpoints one database file on a daemon thread, started on the first `poke`.

    Args:
        path: The database file.
    """

    def __init__(self, path: Path) -> None:
        self._path = path
        self._thread: threading.Thread | None = None
        self._wake = threading.Event()
        self._stop = threading.Event()
        self.runs = 0
        """Checkpoints completed (for tests and diagnostics)."""

    def poke(self) -> None:
        """Ask for a checkpoint soon (starts the thread the first time)."""
        if self._thread is None:
            # Each thread has its own events: one still ending after `close` never takes
            # the wake-up of the next.
            self._wake, self._stop = threading.Event(), threading.Event()
            self._thread = threading.Thread(target=self._run, args=(self._wake, self._stop),
                                            name="spec-kitty-checkpoint", daemon=True)
            self._thread.start()
        self._wake.set()

    def close(self, wait: float = 5.0) -> None:
        """Stop the thread after the checkpoint it is running, if any.

        Args:
            wait: Most seconds to wait for it.
        """
        thread, self._thread = self._thread, None
        if thread is None:
            return
        self._stop.set()
        self._wake.set()
        thread.join(timeout=wait)

    def _run(self, wake: threading.Event, stop: threading.Event) -> None:
        try:
            conn = _db.open_file(self._path)
        except (QueueError, sqlite3.Error):
            return  # the emitting connection's automatic checkpoint still bounds the WAL
        try:
            while True:
                wake.wait()
                wake.clear()
                if stop.is_set():
                    return
                with contextlib.suppress(sqlite3.Error):
                    conn.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchall()
                    self.runs += 1
        finally:
            conn.close()
