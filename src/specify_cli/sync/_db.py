"""The SQLite file behind one account scope: opening it safely and creating its tables.

The offline queue, the Lamport clock, the log of pulled events and the sync state share one
database, so that emitting an event (stamp the next Lamport value, append the event) is one
transaction.
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
import time
from collections.abc import Iterator
from pathlib import Path

from specify_cli.errors import QueueError

SCHEMA_VERSION = 4
BUSY_TIMEOUT_MS = 30_000

SYNCHRONOUS = "NORMAL"
"""SQLite's `synchronous` for the queue and the clock file. With WAL, NORMAL makes a commit
durable once `COMMIT` returns against a killed process (the tested fault: the WAL frames are
in the operating system's cache, and every reader sees them); only a power loss or a kernel
crash can lose the last commits before the next checkpoint's fsync. FULL would fsync the WAL
on every commit: a few milliseconds per event on an ordinary disk."""

WAL_AUTOCHECKPOINT_PAGES = 4000
"""WAL pages (4 KiB) between automatic checkpoints. An emit writes one or two pages (the queue
table's last leaf, and its parent when the leaf splits); the default of 1000 would checkpoint,
with two fsyncs, every few hundred events. Closing the last connection checkpoints the rest."""

SECURE_DELETE = "FAST"
"""SQLite's `secure_delete` for the queue. Builds that turn it on by default (Debian's) zero
every deleted event, page by page, through the WAL: three times the I/O of deleting a pushed
batch. FAST zeroes what is rewritten anyway; freed pages keep their bytes until reused, inside
the private (0600) file that also holds the pulled events."""

_DDL = """
CREATE TABLE IF NOT EXISTS queue (
    id INTEGER PRIMARY KEY,
    event_id TEXT NOT NULL,
    event_type TEXT NOT NULL,
    body TEXT NOT NULL,
    enqueued_at REAL NOT NULL,
    retry_count INTEGER NOT NULL DEFAULT 0,
    last_error TEXT,
    keyed INTEGER NOT NULL DEFAULT 0
);
-- Only retried events are indexed: `sync status` reads retry buckets and errors from this
-- small index instead of scanning the queue, and fresh inserts never touch it.
CREATE INDEX IF NOT EXISTS queue_retried ON queue(retry_count, last_error) WHERE retry_count > 0;
-- Only adopted events (and those carried over from schema 2) are indexed by event id, which
-- is what keeps a repeated adoption from doubling them; an emitted event has a fresh id.
CREATE UNIQUE INDEX IF NOT EXISTS queue_keyed ON queue(event_id) WHERE keyed = 1;
CREATE TABLE IF NOT EXISTS counters (name TEXT PRIMARY KEY, value INTEGER NOT NULL);
INSERT OR IGNORE INTO counters(name, value) VALUES ('refused', 0), ('removed', 0), ('top', 0);
-- 'removed' is how many row ids up to the top are gone, 'top' at least the highest id ever
-- deleted (never handed out again). Every delete keeps them in its own transaction, once per
-- statement (`forget_rows`): a trigger did it per row, half the CPU of deleting a pushed batch.
CREATE TABLE IF NOT EXISTS clock (node_id TEXT PRIMARY KEY, value INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS event_log (
    server_seq INTEGER PRIMARY KEY,
    event_id TEXT NOT NULL UNIQUE,
    event_type TEXT NOT NULL,
    lamport_clock INTEGER NOT NULL,
    body TEXT NOT NULL,
    received_at TEXT
);
CREATE TABLE IF NOT EXISTS state (key TEXT PRIMARY KEY, value TEXT NOT NULL);
"""

TOP = ("max(coalesce((SELECT max(id) FROM queue), 0), "
       "(SELECT value FROM counters WHERE name = 'top'))")
"""SQL: the highest row id ever handed out. Row ids are handed out in sequence (`TOP` + 1),
so no id is reused even after the queue empties: a push still answering for rows it read
never deletes or marks a newer event."""

PENDING = f"SELECT {TOP} - (SELECT value FROM counters WHERE name = 'removed')"
"""SQL: the number of queued events, O(1): ids up to `TOP`, less those deleted."""


def forget_rows(conn: sqlite3.Connection, deleted: int, highest: int) -> None:
    """Count rows just deleted from the queue in the counters (`PENDING`, `TOP`).

    Call it in the transaction of the delete, once per batch of deletes.

    Args:
        conn: The connection that deleted them.
        deleted: How many rows were deleted.
        highest: An id at least as high as every row deleted, and handed out already.
    """
    if deleted:
        conn.execute("UPDATE counters SET value = value + ? WHERE name = 'removed'", (deleted,))
        conn.execute("UPDATE counters SET value = ? WHERE name = 'top' AND value < ?",
                     (highest, highest))


def _corrupt(path: Path, exc: Exception) -> QueueError:
    text = str(exc)
    if "full" in text or "disk I/O" in text:
        # Full disks and quotas surface as these; moving the file aside would not help.
        return QueueError(f"cannot write the offline queue {path} ({text}): is the disk full? "
                          "Free some space and run the command again; queued events are kept")
    if isinstance(exc, sqlite3.Error) and is_busy(exc):
        return locked("the offline queue", path, exc)
    return QueueError(f"the offline queue {path} cannot be used ({exc}); move it aside and "
                      "run the command again (its unsynced events stay in the moved file)")


def open_file(path: Path) -> sqlite3.Connection:
    """Open (creating if needed) a private SQLite file in WAL mode, in autocommit.

    The directory is created 0700 and the file 0600 (SQLite's `-wal` and `-shm` copy its
    mode). Commits are durable against a killed process (see `SYNCHRONOUS`).

    Args:
        path: The database file.

    Raises:
        QueueError: The file cannot be created or opened.
        sqlite3.DatabaseError: The file is not a database (the caller decides what that means).
    """
    try:
        missing = [p for p in (path.parent, *path.parent.parents) if not p.exists()]
        for directory in reversed(missing):
            directory.mkdir(mode=0o700, exist_ok=True)
        if not path.exists():
            os.close(os.open(path, os.O_RDWR | os.O_CREAT, 0o600))
    except OSError as exc:
        raise QueueError(f"cannot create the offline queue {path}: {exc.strerror}") from None
    try:
        conn = sqlite3.connect(str(path), timeout=BUSY_TIMEOUT_MS / 1000, isolation_level=None,
                               check_same_thread=False)
    except sqlite3.Error as exc:
        raise _corrupt(path, exc) from None
    try:
        conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
        _use_wal(conn)
        conn.execute(f"PRAGMA synchronous = {SYNCHRONOUS}")
        conn.execute(f"PRAGMA wal_autocheckpoint = {WAL_AUTOCHECKPOINT_PAGES}")
    except sqlite3.DatabaseError:
        conn.close()
        raise
    return conn


def locked(what: str, path: Path, exc: sqlite3.Error) -> QueueError:
    """The one-line error for a file another process holds locked past the busy timeout.

    Args:
        what: What the file is ("the offline queue", "the machine clock").
        path: The file.
        exc: SQLite's busy error.
    """
    return QueueError(f"{what} {path} is locked by another process ({exc}); run the command "
                      "again when it has finished")


def _primary_code(exc: sqlite3.Error) -> int | None:
    """SQLite's primary result code of an error (the extended code's low byte), if it has one."""
    code = getattr(exc, "sqlite_errorcode", None)
    return None if code is None else code & 0xFF


def is_busy(exc: sqlite3.Error) -> bool:
    """Whether an SQLite error says another connection holds a lock (a wait may end it).

    Args:
        exc: The error.
    """
    return _primary_code(exc) in (sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED)


def is_damaged(exc: sqlite3.Error) -> bool:
    """Whether an SQLite error says the file is not a database or its content is corrupt.

    Args:
        exc: The error.
    """
    return _primary_code(exc) in (sqlite3.SQLITE_NOTADB, sqlite3.SQLITE_CORRUPT)


def _use_wal(conn: sqlite3.Connection) -> None:
    """Switch a new file to WAL mode, waiting out other connections doing the same.

    Two connections switching one new file at once each hold a shared lock and want an
    exclusive one; SQLite answers one of them `SQLITE_BUSY` at once, without its busy
    handler (waiting could deadlock). So a busy answer is retried here, up to the busy
    timeout, until the file is in WAL mode (switched by either connection).
    """
    deadline = time.monotonic() + BUSY_TIMEOUT_MS / 1000
    pause = 0.002
    while True:
        try:
            if conn.execute("PRAGMA journal_mode").fetchone()[0] != "wal":
                conn.execute("PRAGMA journal_mode = WAL")
            return
        except sqlite3.OperationalError as exc:
            if not is_busy(exc) or time.monotonic() + pause > deadline:
                raise
        time.sleep(pause)
        pause = min(pause * 2, 0.1)


def connect(path: Path) -> sqlite3.Connection:
    """Open (creating if needed) the scope database at `path` and return the connection.

    The directory is created 0700 and the file 0600. The connection is in autocommit mode:
    callers open transactions explicitly with `transaction()`.

    Args:
        path: The database file.

    Raises:
        QueueError: The file cannot be created, opened or is not a database.
    """
    try:
        conn = open_file(path)
    except sqlite3.DatabaseError as exc:
        raise _corrupt(path, exc) from None
    try:
        conn.execute(f"PRAGMA secure_delete = {SECURE_DELETE}")
        if conn.execute("PRAGMA user_version").fetchone()[0] != SCHEMA_VERSION:
            with transaction(conn):
                _migrate_queue(conn)
                for statement in _statements(_DDL):
                    conn.execute(statement)
                conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
        _repair_counters(conn)
    except sqlite3.DatabaseError as exc:
        conn.close()
        raise _corrupt(path, exc) from None
    return conn


def _migrate_queue(conn: sqlite3.Connection) -> None:
    """Rebuild a schema 1-2 queue table (AUTOINCREMENT, UNIQUE event ids, counter triggers)
    in the current form, in the caller's transaction, keeping every row and its id; a
    schema 3 table only loses its delete trigger.

    The carried-over rows stay indexed by event id (`keyed`), as they were; the highest id
    schema 2 ever handed out becomes the floor of new ids, and the depth counter starts
    from the rows themselves.
    """
    columns = {row[1] for row in conn.execute("PRAGMA table_info(queue)")}
    if not columns:
        return  # a new file
    # Schema 2's triggers go, and schema 3's delete trigger (the deletes keep the counters
    # now); so do those an older client put back (a downgrade, then an upgrade): the depth
    # counter missed their inserts, and would count their deletes twice.
    for trigger in ("queue_ins", "queue_del", "queue_gone"):
        conn.execute(f"DROP TRIGGER IF EXISTS {trigger}")
    if "keyed" in columns:
        conn.execute("DELETE FROM counters WHERE name = 'pending'")
        conn.execute(f"UPDATE counters SET value = {TOP} - (SELECT count(*) FROM queue) "
                     "WHERE name = 'removed'")
        return
    sequence = conn.execute("SELECT max(seq) FROM sqlite_sequence WHERE name = 'queue'"
                            ).fetchone()[0] if _has_table(conn, "sqlite_sequence") else None
    conn.execute("ALTER TABLE queue RENAME TO queue_schema2")
    conn.execute("DROP INDEX IF EXISTS queue_retried")
    for statement in _statements(_DDL):
        conn.execute(statement)
    conn.execute("INSERT INTO queue(id, event_id, event_type, body, enqueued_at, retry_count, "
                 "last_error, keyed) SELECT id, event_id, event_type, body, enqueued_at, "
                 "retry_count, last_error, 1 FROM queue_schema2 ORDER BY id")
    conn.execute("DROP TABLE queue_schema2")
    conn.execute("DELETE FROM counters WHERE name = 'pending'")
    conn.execute("UPDATE counters SET value = ? WHERE name = 'top'", (int(sequence or 0),))
    conn.execute(f"UPDATE counters SET value = {TOP} - (SELECT count(*) FROM queue) "
                 "WHERE name = 'removed'")


def _has_table(conn: sqlite3.Connection, name: str) -> bool:
    return bool(conn.execute("SELECT count(*) FROM sqlite_master WHERE type = 'table' "
                             "AND name = ?", (name,)).fetchone()[0])


_COUNTERS = ("refused", "removed", "top")


def _repair_counters(conn: sqlite3.Connection) -> None:
    """Recount the queue if a counter is missing, not an integer or impossible (a hand edit).

    Every reader trusts the depth the counters give (`PENDING`); a text, a NULL or a missing
    row there would otherwise break `sync status`, `sync now` and `auth logout`. The recount
    is the truth: the rows. A lost `top` falls back to the highest id queued.
    """
    sound = conn.execute(
        "SELECT count(*) FROM counters WHERE name IN ('refused', 'removed', 'top') "
        "AND typeof(value) = 'integer' AND value >= 0").fetchone()[0]
    if sound == len(_COUNTERS) and conn.execute(PENDING).fetchone()[0] >= 0:
        return
    with transaction(conn):
        for name in _COUNTERS:
            conn.execute("INSERT INTO counters(name, value) VALUES (?, 0) ON CONFLICT(name) "
                         "DO UPDATE SET value = 0 WHERE typeof(value) != 'integer' "
                         "OR value < 0", (name,))
        conn.execute(f"UPDATE counters SET value = {TOP} - (SELECT count(*) FROM queue) "
                     "WHERE name = 'removed'")


def _statements(script: str) -> Iterator[str]:
    buffer = ""
    for line in script.splitlines(keepends=True):
        buffer += line
        if sqlite3.complete_statement(buffer):
            if buffer.strip():
                yield buffer.strip()
            buffer = ""


def rollback(conn: sqlite3.Connection) -> None:
    """Roll back the open transaction of `conn`, if any; errors are ignored.

    Args:
        conn: A connection from `connect()` or `open_file()`.
    """
    with contextlib.suppress(sqlite3.Error):
        conn.execute("ROLLBACK")


@contextlib.contextmanager
def transaction(conn: sqlite3.Connection) -> Iterator[sqlite3.Connection]:
    """Run the block in a `BEGIN IMMEDIATE` transaction: commit on success, roll back on error.

    Args:
        conn: A connection from `connect()`.

    Yields:
        The same connection.
    """
    conn.execute("BEGIN IMMEDIATE")
    try:
        yield conn
    except BaseException:
        rollback(conn)
        raise
    conn.execute("COMMIT")
