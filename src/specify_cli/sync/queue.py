"""The durable offline queue: events wait here, in order, until the server acknowledges them.

One SQLite database per account scope (see `account.scope.queue_path`) holds the queue (FIFO by
row id), a copy of the machine's Lamport clock (see `clock`), the log of pulled events and
the sync state. An event is appended in one transaction (one commit) that stores it stamped
with the next Lamport value of the process's reserved block (reserving a new block, with the
machine clock file, when there is none: see `clock`), after the stamped event was validated
(a clock past `MAX_LAMPORT` or an event over the size limit is refused there, so the queue
never holds an event the server must refuse); it leaves the queue only in the transaction
that records the server's `success` or `duplicate` answer, so a process killed at any moment
neither loses nor doubles an event.

**What an append writes.** Only its row: no index or trigger touches a fresh event, and its
row id is the next one after the highest ever handed out (`_db.TOP`), so ids are never
reused and the depth is that id less the ids deleted, O(1) (`_db.PENDING`).

**The cap.** The queue holds at most `sync.queue_cap` events (default 100,000). At the cap a
new event is *refused*: it is not stored, the emitter prints a warning for every refused
event, and the number refused since the last successful push is kept and shown by
`spec-kitty sync status`. Queued events are never dropped to make room.
"""

from __future__ import annotations

import contextlib
import json
import sqlite3
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from spec_kitty_protocol import check_size, encode, validate
from specify_cli import config
from specify_cli.errors import ConfigError, QueueError
from specify_cli.sync import _checkpoint, _db, clock
from specify_cli.sync.clock import LamportClock

RETRY_BUCKETS: tuple[tuple[str, int, int | None], ...] = (
    ("0", 0, 0), ("1-2", 1, 2), ("3-9", 3, 9), ("10+", 10, None),
)
"""Labels and bounds of the retry-count buckets `sync status` shows."""


MAX_COUNTER = 2**53
"""Largest `server_seq` or `lamport_clock` accepted from a server: the largest integer every
JSON reader holds exactly. A larger one would overflow SQLite, or leave the Lamport clock no
room to tick."""


def _sql_int(value: Any) -> int:
    """Return `value` as a counter in `[0, MAX_COUNTER]`; ValueError for NaN, 1e300, 10**30..."""
    number = int(value)  # OverflowError for infinities, ValueError for NaN and text
    if not 0 <= number <= MAX_COUNTER:
        raise ValueError(f"not a counter: {value!r}")
    return number


_INSERT = ("INSERT OR IGNORE INTO queue(id, event_id, event_type, body, enqueued_at) "
           f"VALUES (({_db.TOP}) + 1, CASE WHEN ({_db.TOP}) - "
           "(SELECT value FROM counters WHERE name = 'removed') < ? THEN ? END, ?, ?, ?)")
"""Queue one event as the next row id unless the queue is at the cap, in one statement that
writes only the new row. At the cap the event id is NULL: the NOT NULL column refuses it and
OR IGNORE skips the row (nothing else can conflict: the id is new, and emitted rows are not
`keyed`). An `INSERT ... SELECT` that reads the queue would copy its row through a temporary
table first (SQLite's rule for a statement that reads its own target): a third slower."""
_INSERT_FROM_BLOCK = _INSERT.replace(
    "< ? THEN", "< ? AND (SELECT value FROM clock WHERE node_id = ?) = ? THEN")
"""`_INSERT` for a value from a block held in memory, in autocommit (one statement, one
commit): the event is also refused (event id NULL) when the queue's copy of the clock is no
longer the block's top, i.e. another process reserved or received through this queue since.
That check, atomic with the insert under SQLite's write lock, is what keeps the values rising
in queue order without a `BEGIN IMMEDIATE` around the machine-file check."""
_INSERT_KEYED = ("INSERT OR IGNORE INTO queue(id, event_id, event_type, body, enqueued_at, "
                 f"keyed) VALUES (({_db.TOP}) + 1, ?, ?, ?, ?, 1)")
"""Queue one adopted event, unless an adopted event with its id is queued already."""
_ROWS_KEPT = 4096
"""Event id -> row id of the events this queue appended last, so an ack by event id (the
WebSocket's) finds its row without an index; older or foreign events are found by a scan."""


def _runs(ids: list[int]) -> list[tuple[int, int]]:
    """`(first, last)` of each run of consecutive values in ascending `ids`."""
    runs: list[tuple[int, int]] = []
    for value in ids:
        if runs and value == runs[-1][1] + 1:
            runs[-1] = (runs[-1][0], value)
        else:
            runs.append((value, value))
    return runs


class QueueFullError(QueueError):
    """The queue is at its cap; the event was refused (not stored)."""


@dataclass
class QueuedEvent:
    """One row of the queue.

    Attributes:
        id: Row id (FIFO order).
        event_id: The event's ULID.
        body: The event's JSON text, exactly as it is sent.
    """

    id: int
    event_id: str
    body: str


@dataclass
class QueueStats:
    """What `sync status` shows about a queue.

    Attributes:
        path: The database file.
        pending: Events waiting to be pushed.
        cap: The configured cap.
        refused: Events refused at the cap since the last successful push.
        oldest_enqueued_at: Enqueue time of the oldest waiting event (epoch seconds), if any.
        retry_buckets: Bucket label -> number of events with that many failed attempts.
        errors: Last error -> number of events that carry it (most common first, at most 5).
        state: The sync state (last sync time and result, pull cursor, transport state).
    """

    path: Path
    pending: int
    cap: int
    refused: int
    oldest_enqueued_at: float | None
    retry_buckets: dict[str, int] = field(default_factory=dict)
    errors: dict[str, int] = field(default_factory=dict)
    state: dict[str, str] = field(default_factory=dict)


class OfflineQueue:
    """The offline queue of one account scope, with its clock, event log and sync state.

    The database is opened on first use. One instance may be shared by threads.

    Args:
        path: The scope database (`account.scope.queue_path(scope)`).
        cap: Maximum number of queued events; `sync.queue_cap` from the config by default.
    """

    def __init__(self, path: Path, cap: int | None = None) -> None:
        self.path = Path(path)
        self._cap = cap
        self._conn: sqlite3.Connection | None = None
        self._machine: sqlite3.Connection | None = None
        self._blocks = clock.Blocks()
        self._lock = threading.RLock()
        self._rows: dict[str, int] = {}
        self._checkpoints = _checkpoint.Checkpointer(self.path)
        self._written = 0

    # -- plumbing ---------------------------------------------------------------------------

    @property
    def conn(self) -> sqlite3.Connection:
        """The open connection (opened on first use).

        Raises:
            QueueError: The database cannot be opened.
        """
        if self._conn is None:
            self._conn = _db.connect(self.path)
        return self._conn

    @property
    def machine(self) -> sqlite3.Connection:
        """The connection to the machine clock file (opened on first use).

        Raises:
            QueueError: The clock file cannot be used.
        """
        if self._machine is None:
            path = clock.clock_path(self.path)
            try:
                self._machine = clock.open_clock(path)
            except sqlite3.Error as exc:
                if _db.is_busy(exc):
                    raise _db.locked("the machine clock", path, exc) from None
                raise QueueError(f"the machine clock {path} cannot be used ({exc}); move it "
                                 "aside and run the command again") from None
        return self._machine

    @property
    def cap(self) -> int:
        """The cap in force (from the constructor or `sync.queue_cap`)."""
        if self._cap is None:
            try:
                self._cap = int(config.get("sync.queue_cap"))
            except ConfigError as exc:
                # A broken config.toml must never cost an event: queue with the default cap
                # and say how to repair the file.
                self._cap = int(next(s.default for s in config.SETTINGS
                                     if s.key == "sync.queue_cap"))
                print(f"warning: {exc}; events are still queued (with the default queue cap "
                      f"{self._cap}); fix the file, or move it aside to use the defaults",
                      file=sys.stderr)
        return self._cap

    def close(self) -> None:
        """Give back the unused Lamport values and close the connection (it reopens on use).

        A failed give-back only leaves those values skipped.
        """
        with self._lock:
            self._checkpoints.close()
            if self._conn is not None and self._machine is not None:
                with contextlib.suppress(sqlite3.Error):
                    self._blocks.release(self._machine, self._conn)
            self._blocks.forget()
            for conn in (self._conn, self._machine):
                if conn is not None:
                    conn.close()
            self._conn = self._machine = None

    def _error(self, exc: sqlite3.Error) -> QueueError:
        return QueueError(f"the offline queue {self.path} failed: {exc}")

    @contextlib.contextmanager
    def _reading(self) -> Iterator[sqlite3.Connection]:
        """Hold the thread lock around the block; a SQLite error leaves as `QueueError`."""
        with self._lock:
            try:
                yield self.conn
            except sqlite3.Error as exc:
                raise self._error(exc) from None

    @contextlib.contextmanager
    def _writing(self) -> Iterator[sqlite3.Connection]:
        """`_reading`, with the block in one `BEGIN IMMEDIATE` transaction (rolled back on
        any error)."""
        with self._reading() as conn, _db.transaction(conn):
            yield conn

    @contextlib.contextmanager
    def _ticking(self) -> Iterator[tuple[sqlite3.Connection, sqlite3.Connection]]:
        """`_writing` for a block that moves the clock: the machine clock file is locked
        first and committed first (`clock.ticking`)."""
        with self._reading() as conn:
            machine = self.machine
            with clock.ticking(machine, conn):
                yield machine, conn

    # -- emitting ---------------------------------------------------------------------------

    def pending_count(self) -> int:
        """Return the number of queued events (O(1): the last row id less the ids deleted).

        A queue file that does not exist yet holds 0 events and is not created.
        """
        if self._conn is None and not self.path.exists():
            return 0
        with self._reading() as conn:
            row = conn.execute(_db.PENDING).fetchone()
        return int(row[0]) if row else 0

    def append(self, event: dict[str, Any]) -> dict[str, Any]:
        """Stamp the event with the clock's next Lamport value and queue it, atomically.

        The value comes from the block this queue reserved (`clock.Blocks`), or from a new
        block reserved in the same transactions when there is none or another process wrote
        the machine clock since.

        Args:
            event: A validated envelope; its `lamport_clock` is replaced.

        Returns:
            The event as stored.

        Raises:
            QueueFullError: The queue is at its cap; nothing was stored or ticked.
            InvalidEventError: The stamped event is invalid (over the size limit, or its clock
                past `MAX_LAMPORT`); nothing was stored or ticked.
            QueueError: The database failed.
        """
        cap = self._cap if self._cap is not None else self.cap
        node_id = event["node_id"]
        # The hot path of every emit, so written out: the machine clock file only read
        # (`Blocks.next`), then one statement that inserts and commits (`_INSERT_FROM_BLOCK`).
        with self._lock:
            try:
                conn = self._conn if self._conn is not None else self.conn
                machine = self._machine if self._machine is not None else self.machine
                value = self._blocks.next(machine, node_id)
                if value is not None:
                    top = self._blocks.top(node_id)
                    body = self._stamp(event, value)
                    cursor = conn.execute(_INSERT_FROM_BLOCK, (
                        cap, node_id, top, event["event_id"], event["event_type"], body,
                        time.time()))
                    if cursor.rowcount == 1:
                        self._blocks.handed(node_id, value)
                        self._appended(event["event_id"], int(cursor.lastrowid or 0))
                        return event
                    if conn.execute(clock.READ, (node_id,)).fetchone() == (top,):
                        raise self._full(conn, cap)
                    self._blocks.forget()  # ended by another process: reserve afresh
                with clock.ticking(machine, conn):
                    value, block = self._blocks.reserve(machine, conn, node_id)
                    row_id = self._insert(conn, event, value, cap)
                self._blocks.install(node_id, block)
                self._appended(event["event_id"], row_id)
            except sqlite3.Error as exc:
                raise self._error(exc) from None
        return event

    def _wrote(self, rows: int) -> None:
        """Count rows written; past `_checkpoint.EVERY`, wake the checkpoint thread (an emit,
        a push or a pull goes on meanwhile instead of waiting for the disk)."""
        self._written += rows
        if self._written >= _checkpoint.EVERY:
            self._written = 0
            self._checkpoints.poke()

    def _appended(self, event_id: str, row_id: int) -> None:
        self._wrote(1)
        rows = self._rows
        rows[event_id] = row_id
        if len(rows) > 2 * _ROWS_KEPT:
            # Trimmed in one go: deleting the oldest key one at a time makes each next
            # lookup of the oldest key step over every key deleted before it.
            self._rows = dict(list(rows.items())[-_ROWS_KEPT:])

    @staticmethod
    def _stamp(event: dict[str, Any], value: int) -> str:
        """Stamp `value`, validate the event and return its JSON text."""
        event["lamport_clock"] = value
        # The one full check of the stamped event: its clock and its size are final now.
        validate(event, check_bytes=False)
        body = encode(event)
        check_size(body)
        return body

    @staticmethod
    def _full(conn: sqlite3.Connection, cap: int) -> QueueFullError:
        pending = conn.execute(_db.PENDING).fetchone()[0]
        return QueueFullError(f"the offline queue is full ({pending} of {cap} events); run "
                              "`spec-kitty sync now` or raise sync.queue_cap")

    def _insert(self, conn: sqlite3.Connection, event: dict[str, Any], value: int,
                cap: int) -> int:
        """Stamp `value`, validate, and insert below the cap (inside the reserving
        transaction); return the new row id."""
        body = self._stamp(event, value)
        cursor = conn.execute(_INSERT, (cap, event["event_id"], event["event_type"], body,
                                        time.time()))
        if cursor.rowcount != 1:
            raise self._full(conn, cap)
        return int(cursor.lastrowid or 0)

    def insert_stamped(self, rows: list[tuple[str, str, str]]) -> None:
        """Queue events that already carry their Lamport value (adopted ones), in one
        transaction; an event id already queued is left as it is.

        Args:
            rows: (event id, event type, JSON body) of each event, in order.
        """
        with self._writing() as conn:
            conn.executemany(_INSERT_KEYED, [(*row, time.time()) for row in rows])

    def note_refused(self) -> int:
        """Count one event refused at the cap and return the count since the last push."""
        with self._writing() as conn:
            return int(conn.execute("UPDATE counters SET value = value + 1 "
                                    "WHERE name = 'refused' RETURNING value").fetchone()[0])

    # -- pushing ----------------------------------------------------------------------------

    def read_batch(self, after_id: int = 0, limit: int = 1000) -> list[QueuedEvent]:
        """Return up to `limit` queued events with a row id above `after_id`, oldest first.

        Args:
            after_id: Row id to continue after (0 for the head of the queue).
            limit: Maximum number of events.
        """
        with self._reading() as conn:
            rows = conn.execute(
                "SELECT id, event_id, body FROM queue WHERE id > ? ORDER BY id LIMIT ?",
                (after_id, limit)).fetchall()
        return [QueuedEvent(*row) for row in rows]

    def record_results(self, done: list[int], rejected: list[tuple[int, str]]) -> None:
        """Record the server's answers for pushed events in one transaction.

        Acknowledged events (`success` or `duplicate`) are deleted; rejected ones stay
        queued with their reason and one more retry.

        Args:
            done: Row ids the server stored (or already had).
            rejected: (row id, reason) of the events the server rejected.
        """
        with self._writing() as conn:
            if done:
                # One statement per run of consecutive ids (a batch is usually one run); a
                # run of consecutive ids holds those rows and no other.
                deleted = conn.executemany("DELETE FROM queue WHERE id BETWEEN ? AND ?",
                                           _runs(done)).rowcount
                _db.forget_rows(conn, deleted, max(done))
                self._wrote(deleted)
                conn.execute("UPDATE counters SET value = 0 WHERE name = 'refused'")
            if rejected:
                conn.executemany(
                    "UPDATE queue SET retry_count = retry_count + 1, last_error = ? "
                    "WHERE id = ?", [(reason, i) for i, reason in rejected])

    def record_failure(self, first_id: int, last_id: int, reason: str) -> None:
        """Keep a whole batch queued after a failed push, counting one more retry for each.

        Args:
            first_id: Row id of the batch's first event.
            last_id: Row id of the batch's last event.
            reason: Why the push failed (one line, no secrets).
        """
        with self._writing() as conn:
            conn.execute("UPDATE queue SET retry_count = retry_count + 1, last_error = ? "
                         "WHERE id BETWEEN ? AND ?", (reason, first_id, last_id))

    def failures(self) -> list[dict[str, Any]]:
        """Return every queued event that has failed at least once, with its last error."""
        with self._reading() as conn:
            rows = conn.execute(
                "SELECT event_id, event_type, retry_count, last_error FROM queue "
                "WHERE last_error IS NOT NULL ORDER BY id").fetchall()
        return [{"event_id": e, "event_type": t, "retry_count": r, "error": err}
                for e, t, r, err in rows]

    def delete_rows(self, ids: list[int]) -> int:
        """Delete events by row id (moved elsewhere, not acknowledged); return how many.

        Args:
            ids: Row ids from `read_batch`.
        """
        with self._writing() as conn:
            gone = [row[0] for row in conn.execute(
                "DELETE FROM queue WHERE id IN (SELECT value FROM json_each(?)) RETURNING id",
                (json.dumps([int(i) for i in ids]),)).fetchall()]
            _db.forget_rows(conn, len(gone), max(gone, default=0))
            return len(gone)

    def _where_event(self, event_id: str) -> tuple[str, tuple[Any, ...]]:
        """The WHERE clause finding one event: by its row id when this queue appended it
        lately, else by a scan (no index holds every event id)."""
        row_id = self._rows.pop(event_id, None)
        if row_id is not None:
            return "id = ? AND event_id = ?", (row_id, event_id)
        return "event_id = ?", (event_id,)

    def delete_event_ids(self, event_ids: list[str]) -> int:
        """Delete acknowledged events by event id (for WebSocket acks); return how many.

        Args:
            event_ids: ULIDs the server acknowledged.
        """
        with self._writing() as conn:
            gone: list[int] = []
            for event_id in dict.fromkeys(event_ids):
                where, args = self._where_event(event_id)
                gone += (row[0] for row in conn.execute(
                    f"DELETE FROM queue WHERE {where} RETURNING id", args).fetchall())
            _db.forget_rows(conn, len(gone), max(gone, default=0))
            return len(gone)

    def reject_event_id(self, event_id: str, reason: str) -> None:
        """Record a rejection received over the WebSocket.

        Args:
            event_id: The rejected event.
            reason: The server's reason.
        """
        with self._writing() as conn:
            where, args = self._where_event(event_id)
            conn.execute("UPDATE queue SET retry_count = retry_count + 1, last_error = ? "
                         f"WHERE {where}", (reason, *args))

    # -- pulling ----------------------------------------------------------------------------

    def store_pulled(self, events: list[dict[str, Any]], cursor: str | None,
                     node_id: str | None, own_high: int = 0) -> int:
        """Store pulled events in the event log, advance the clock and the cursor, atomically.

        Args:
            events: Events as the server returned them (with `server_seq`).
            cursor: The `next_cursor` to resume from.
            node_id: This node; its clock receives the Lamport values seen, within the bound
                (`LamportClock.receive`).
            own_high: The server's highest clock for this node (`node_lamport`), adopted.

        Returns:
            The number of events new to the log.
        """
        rows = []
        seen: list[int] = []
        for event in events:
            try:
                lamport = _sql_int(event.get("lamport_clock") or 0)
                received = event.get("received_at")
                row = (_sql_int(event["server_seq"]), str(event["event_id"]),
                       str(event.get("event_type", "")), lamport,
                       json.dumps(event, separators=(",", ":")),
                       received if isinstance(received, str) else None)
                "".join(str(v) for v in row).encode()  # lone surrogates: UnicodeEncodeError
                rows.append(row)
            except (KeyError, TypeError, ValueError, OverflowError):
                continue  # not an event this log can hold (see _sql_int)
            seen.append(lamport)
        with self._ticking() as conns:
            conn = conns[1]
            before = conn.total_changes
            conn.executemany(
                "INSERT OR IGNORE INTO event_log(server_seq, event_id, event_type, "
                "lamport_clock, body, received_at) VALUES (?, ?, ?, ?, ?, ?)", rows)
            added = conn.total_changes - before
            self._wrote(added)
            if node_id:
                self._blocks.forget()  # the clock moves: reserve afresh above it
                node_clock = LamportClock(*conns, node_id)
                node_clock.receive(seen)
                node_clock.adopt_own(own_high)
            if cursor is not None:
                conn.execute("INSERT OR REPLACE INTO state(key, value) "
                             "VALUES ('pull_cursor', ?)", (str(cursor),))
        return added

    def log_count(self) -> int:
        """Return the number of events in the local log of pulled events."""
        with self._reading() as conn:
            return int(conn.execute("SELECT count(*) FROM event_log").fetchone()[0])

    def clock_value(self, node_id: str) -> int:
        """Return the Lamport value of a node (0 if it never ticked).

        That is the last value this queue handed out while its block lasts, otherwise the
        highest value written (reserved values count: they are skipped, never reused).

        Args:
            node_id: The node.
        """
        with self._reading() as conn:
            live = self._blocks.last(self.machine, node_id)
            return live if live is not None else LamportClock(self.machine, conn,
                                                              node_id).value()

    # -- state ------------------------------------------------------------------------------

    def get_state(self) -> dict[str, str]:
        """Return the sync state as a dict (keys such as `last_sync_at`, `pull_cursor`)."""
        if self._conn is None and not self.path.exists():
            return {}
        with self._reading() as conn:
            return dict(conn.execute("SELECT key, value FROM state").fetchall())

    def set_state(self, **values: Any) -> None:
        """Store sync-state keys (values are stored as text).

        Args:
            **values: Keys and values to store.
        """
        with self._writing() as conn:
            conn.executemany("INSERT OR REPLACE INTO state(key, value) VALUES (?, ?)",
                             [(k, str(v)) for k, v in values.items()])

    def stats(self) -> QueueStats:
        """Return the depth, oldest age, retry buckets, errors and state of the queue."""
        if self._conn is None and not self.path.exists():
            return QueueStats(self.path, 0, self.cap, 0, None)
        with self._reading() as conn:
            counters = dict(conn.execute("SELECT name, value FROM counters").fetchall())
            pending = int(conn.execute(_db.PENDING).fetchone()[0])
            oldest = conn.execute(
                "SELECT enqueued_at FROM queue ORDER BY id LIMIT 1").fetchone()
            # Every write of last_error also bumps retry_count, so retried rows (a
            # partial index) hold all buckets but "0" and every error.
            retried = conn.execute(
                "SELECT retry_count, last_error, count(*) FROM queue "
                "WHERE retry_count > 0 GROUP BY retry_count, last_error").fetchall()
            buckets = {label: 0 for label, _, _ in RETRY_BUCKETS}
            error_counts: dict[str, int] = {}
            for retries, last_error, n in retried:
                if not isinstance(retries, int):
                    continue  # a hand-edited row; it still counts in bucket "0"
                for label, low, high in RETRY_BUCKETS:
                    if retries >= low and (high is None or retries <= high):
                        buckets[label] += n
                if last_error is not None:
                    last_error = str(last_error)
                    error_counts[last_error] = error_counts.get(last_error, 0) + n
            buckets[RETRY_BUCKETS[0][0]] = pending - sum(buckets.values())
            errors = dict(sorted(error_counts.items(), key=lambda kv: -kv[1])[:5])
            state = dict(conn.execute("SELECT key, value FROM state").fetchall())
        return QueueStats(self.path, pending, self.cap,
                          int(counters.get("refused", 0)), oldest[0] if oldest else None,
                          buckets, errors, state)
