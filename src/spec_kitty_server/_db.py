"""Database calls off the event loop, so a blocked SQLite write lock never freezes the server.

Another process may hold the write lock for seconds (a `user add`, a second server on the
same file). SQLite then makes a writer wait, and a wait on the event loop stalls every
request, health check and WebSocket ping. Here:

- reads run on a small thread pool, each thread with its own read-only connection; in WAL
  mode a reader never waits for a writer;
- writes run on one thread with the server's connection (so transactions never interleave)
  and have a deadline: a write still waiting for the lock when `write_timeout` seconds have
  passed since it was asked for is refused with `DatabaseUnavailable` (answered 503 with
  `Retry-After`) and has changed nothing;
- every write first checks that the database file is still the one the server opened, and
  checks again after it: a write into a file that was deleted or replaced under the running
  server is refused, so nothing is acknowledged into a file that no longer exists;
- the write-ahead log is copied into the database file (a checkpoint, which waits for the
  disk twice) by a thread of its own after each write, not by the commit that happens to
  fill it, so no request waits for the disk. A write still checkpoints itself if the log has
  grown past `WAL_LIMIT_BYTES` (the checkpoint thread fell behind or failed). Durability is
  unchanged: each commit is in the log, which is what survives a crash.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import sqlite3
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, TypeVar

from spec_kitty_server.store import open_database, open_reader

T = TypeVar("T")

READ_THREADS = 4
"""Threads (each with its own connection) that run database reads."""

READ_BUSY_TIMEOUT = 2.0
"""Seconds a read may wait on a lock (only a non-WAL lock can make it wait) before 503."""

BUSY_RETRY_AFTER = 2
"""`Retry-After` seconds sent with a 503 when the database is locked."""

GONE_RETRY_AFTER = 30
"""`Retry-After` seconds sent with a 503 when the database file is gone or replaced."""

WAL_LIMIT_BYTES = 64 * 2**20
"""Size of the write-ahead log beyond which a write checkpoints it itself."""


class DatabaseUnavailable(sqlite3.OperationalError):
    """A write was refused: the lock stayed busy past the deadline, or the file is gone.

    It is an `sqlite3.OperationalError`, so every handler of a busy database handles it.

    Attributes:
        retry_after: Seconds a client should wait before trying again.
    """

    def __init__(self, message: str, retry_after: int) -> None:
        super().__init__(message)
        self.retry_after = retry_after


def _identity(path: os.PathLike[str] | str) -> tuple[int, int] | None:
    try:
        info = os.stat(path)
    except OSError:
        return None
    return info.st_dev, info.st_ino


def _size(path: str) -> int:
    try:
        return os.stat(path).st_size
    except OSError:
        return 0


class _Checkpointer:
    """A thread that checkpoints the write-ahead log after writes, on its own connection.

    A passive checkpoint copies what no reader still needs and never blocks the writer or
    the readers (SQLite runs it without the GIL). Wakes that arrive while it runs are
    folded into one more pass.
    """

    def __init__(self, path: Path) -> None:
        # Opened here, while the file is surely the server's, not later on the thread.
        self._conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False,
                                     timeout=READ_BUSY_TIMEOUT)
        self._wake = threading.Event()
        self._stopping = False
        self._thread = threading.Thread(target=self._run, name="sk-db-checkpoint", daemon=True)
        self._thread.start()

    def wake(self) -> None:
        """Ask for a checkpoint (after a write)."""
        self._wake.set()

    def stop(self) -> None:
        """End the thread (after its current pass) and close its connection."""
        self._stopping = True
        self._wake.set()
        self._thread.join(timeout=30)

    def _run(self) -> None:
        conn = self._conn
        try:
            while True:
                self._wake.wait()
                self._wake.clear()
                if self._stopping:
                    return
                with contextlib.suppress(sqlite3.Error):  # a write past the limit does it
                    conn.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchall()
        finally:
            conn.close()


class Database:
    """The server's database, used from threads.

    Args:
        path: The SQLite file; opened (and created with its schema if missing) at once.
        write_timeout: Seconds a write may wait (queued and on the lock) before it is refused.

    Raises:
        StorageError: The file cannot be opened or is not a database.
    """

    def __init__(self, path: Path, write_timeout: float) -> None:
        self.path = path
        self.write_timeout = write_timeout
        self._conn = open_database(path)
        self._conn.execute("PRAGMA wal_autocheckpoint=0")  # the checkpoint thread does it
        self._opened = _identity(path)
        self._checkpoints = _Checkpointer(path)
        self._writer = ThreadPoolExecutor(1, thread_name_prefix="sk-db-write")
        self._readers = ThreadPoolExecutor(READ_THREADS, thread_name_prefix="sk-db-read")
        self._local = threading.local()
        self._reader_conns: list[sqlite3.Connection] = []
        self._lock = threading.Lock()

    def file_state(self) -> str:
        """Whether the database file is still the one opened at start (no database access).

        Returns:
            `ok`, `missing` (deleted) or `replaced` (another file at the same path).
        """
        now = _identity(self.path)
        if now is None:
            return "missing"
        return "ok" if now == self._opened else "replaced"

    async def read(self, fn: Callable[..., T], *args: Any) -> T:
        """Run `fn(connection, *args)` on a reader thread, with its read-only connection.

        Args:
            fn: A function that only reads, e.g. `accounts.get_user`.
            *args: Its arguments.

        Returns:
            What `fn` returns.
        """
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._readers, self._run_read, fn, args)

    async def write(self, fn: Callable[..., T], *args: Any) -> T:
        """Run `fn(connection, *args)` on the writer thread, within the write deadline.

        Args:
            fn: A function given the writer connection, e.g. `ingest.ingest`.
            *args: Its arguments.

        Returns:
            What `fn` returns.

        Raises:
            DatabaseUnavailable: The deadline passed, or the file is gone or replaced.
        """
        deadline = time.monotonic() + self.write_timeout
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._writer, self._run_write, deadline, fn, args)

    def close(self) -> None:
        """Wait for running calls, then close every connection."""
        self._writer.shutdown(wait=True)
        self._checkpoints.stop()
        self._readers.shutdown(wait=True)
        with self._lock:
            for reader in self._reader_conns:
                reader.close()
            self._reader_conns.clear()
        self._conn.close()

    def _run_read(self, fn: Callable[..., T], args: tuple[Any, ...]) -> T:
        reader = getattr(self._local, "conn", None)
        if reader is None:
            reader = open_reader(self.path, READ_BUSY_TIMEOUT)
            self._local.conn = reader
            with self._lock:
                self._reader_conns.append(reader)
        return fn(reader, *args)

    def _run_write(self, deadline: float, fn: Callable[..., T], args: tuple[Any, ...]) -> T:
        left = deadline - time.monotonic()
        if left <= 0:
            raise DatabaseUnavailable("the database stayed locked past the write deadline",
                                      BUSY_RETRY_AFTER)
        self._check_file()
        self._conn.execute(f"PRAGMA busy_timeout={max(1, int(left * 1000))}")
        try:
            result = fn(self._conn, *args)
        except sqlite3.OperationalError as exc:
            if "locked" in str(exc) or "busy" in str(exc):
                raise DatabaseUnavailable(f"the database is locked: {exc}",
                                          BUSY_RETRY_AFTER) from None
            raise
        # Written, but into a file deleted or replaced meanwhile: do not acknowledge it.
        self._check_file()
        self._checkpoints.wake()
        if _size(f"{self.path}-wal") > WAL_LIMIT_BYTES:
            with contextlib.suppress(sqlite3.OperationalError):  # busy: the next write tries
                self._conn.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchall()
        return result

    def _check_file(self) -> None:
        state = self.file_state()
        if state != "ok":
            raise DatabaseUnavailable(f"the database file is {state}; restart the server",
                                      GONE_RETRY_AFTER)
