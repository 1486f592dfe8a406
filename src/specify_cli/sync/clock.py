"""The Lamport clock: one per machine, shared by every account, kept in two places.

The clock lives in `clock.sqlite3` beside the queues (`queues/` in the spec-kitty home: the
*machine* copy) and in the `clock` table of each account's queue (the *queue* copy).

**Blocks.** A process does not write the machine file for every event: it *reserves* a block
of values with one write (`Blocks.reserve`, under `ticking`: the machine file's write lock,
then the queue's, always in that order; the machine file commits first) and hands them out
from memory, one per queued event, in the queue transaction that stores the event. The
machine copy holds the top of the last block reserved and the queue copy at least the top
of every block reserved through that queue, so a block is never handed out twice: a process
killed in the middle of its block leaves the rest of it *skipped* (a gap), never repeated,
which is all a Lamport clock needs; a process that closes its queue gives the unused rest
back (`Blocks.release`) when nobody wrote the machine file since. A block is used only while
nobody else has written the machine file since it was reserved (SQLite's `data_version`, read
before each event), and only while the queue's copy still holds its top (checked by the
statement that inserts the event, atomically: a block reserved through the same queue after
that read still ends it): another process's block, a value received by a pull in
any process (`LamportClock.receive` always writes the machine file) or another queue's
give-back ends it, and the next event reserves a fresh block above everything written. So
two processes, of one account or of two, never get the same value, a value received is
never followed by a smaller one from this machine, and the values in one queue rise in queue
order. Blocks start at one value and double, up to `BLOCK_MAX`, while nothing interrupts
them: a command that emits one event writes what it always did, and a kill wastes at most
as many values as the process had already handed out (and never more than `BLOCK_MAX`).

The clock survives an account switch (the machine copy is shared), a queue moved aside (the
machine copy remains) and a deleted or damaged clock file (the queue copy remains; a damaged
file is moved aside). When both are lost, the server's high-water mark for this node
(`adopt_own`, after login and after every pull) puts it back above every value the server
holds for the node.

Values received from other nodes are adopted only along a chain of steps of at most
`MAX_LAMPORT_STEP` from what is already trusted (`receive`), the same bound the server
enforces on push: one hostile event with a huge clock is ignored, not adopted. No block
reaches past `MAX_LAMPORT`.
"""

from __future__ import annotations

import contextlib
import sqlite3
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

from spec_kitty_protocol import MAX_LAMPORT, MAX_LAMPORT_STEP
from specify_cli.sync import _db

CLOCK_FILENAME = "clock.sqlite3"
"""The machine's clock file, in the directory of the queues."""

BLOCK_MAX = 1024
"""Most Lamport values a process reserves with one write of the machine clock file."""

READ = "SELECT value FROM clock WHERE node_id = ?"
"""SQL: one node's value in a copy of the clock."""
_WRITE = ("INSERT INTO clock(node_id, value) VALUES (?, ?) "
          "ON CONFLICT(node_id) DO UPDATE SET value = max(value, excluded.value)")
_GIVE_BACK = "UPDATE clock SET value = ? WHERE node_id = ? AND value = ?"
_VERSION = "PRAGMA data_version"
_RECEIPTS = "#receipts"
"""A row of the machine file (never a node id) that every pull bumps: a write that ends
every other process's block even when the values received are below the clock."""
_RECEIPT = ("INSERT INTO clock(node_id, value) VALUES (?, 1) "
            "ON CONFLICT(node_id) DO UPDATE SET value = value + 1")


def clock_path(queue_file: Path) -> Path:
    """Return the machine clock file shared by the queues in `queue_file`'s directory.

    Args:
        queue_file: Any queue database.
    """
    return queue_file.parent / CLOCK_FILENAME


def open_clock(path: Path) -> sqlite3.Connection:
    """Open the machine clock file (`clock_path`), creating it if needed.

    A clock file SQLite calls damaged (not a database, or corrupt) is moved aside
    (`clock.sqlite3.damaged-<time>`) and started afresh; the queue copy and the server's
    high-water mark restore the value. A busy one is in use by another process: its error
    is raised (after SQLite's busy timeout), and the file is left alone.

    Args:
        path: The clock file.

    Raises:
        QueueError: The file cannot be created.
        sqlite3.DatabaseError: The file is unusable even after being moved aside.
    """
    for attempt in range(2):
        conn = None
        try:
            conn = _db.open_file(path)
            if conn.execute("SELECT 1 FROM sqlite_master WHERE name = 'clock'").fetchone() is None:
                # A write lock first: created in the snapshot of a plain statement, the table
                # could race another process creating it (a busy answer SQLite gives at once).
                with _db.transaction(conn):
                    conn.execute("CREATE TABLE IF NOT EXISTS clock "
                                 "(node_id TEXT PRIMARY KEY, value INTEGER NOT NULL)")
            conn.execute("SELECT count(*) FROM clock").fetchone()
            return conn
        except sqlite3.DatabaseError as exc:
            if conn is not None:
                conn.close()
            # Only a file SQLite calls damaged is moved aside: a busy one is another
            # process's, in use.
            if attempt or not _db.is_damaged(exc):
                raise
            with contextlib.suppress(OSError):
                path.rename(path.with_name(f"{path.name}.damaged-{int(time.time())}"))
            for suffix in ("-wal", "-shm"):
                with contextlib.suppress(OSError):
                    path.with_name(path.name + suffix).unlink()
    raise AssertionError("unreachable")  # pragma: no cover


@contextlib.contextmanager
def ticking(machine: sqlite3.Connection, queue: sqlite3.Connection) -> Iterator[None]:
    """Hold the write lock of the machine clock, then of the queue; commit the machine first.

    Every transaction that writes the clock runs in this block, so the two files are always
    locked in one order (SQLite's busy wait then resolves every conflict, no retry loop).
    The machine copy commits before the queue: a failure or a kill between the two leaves
    skipped values, never repeated ones.

    Args:
        machine: The clock file's connection (`open_clock`).
        queue: The queue's connection (`_db.connect`).
    """
    machine.execute("BEGIN IMMEDIATE")
    try:
        queue.execute("BEGIN IMMEDIATE")
        try:
            yield
            machine.execute("COMMIT")
        except BaseException:
            _db.rollback(queue)
            raise
    except BaseException:
        _db.rollback(machine)
        raise
    try:
        queue.execute("COMMIT")
    except BaseException:
        _db.rollback(queue)  # the values are skipped: the machine copy is ahead
        raise


def _version(machine: sqlite3.Connection) -> int:
    return int(machine.execute(_VERSION).fetchone()[0])


class LamportClock:
    """The Lamport clock of one node, over the machine copy and one queue's copy.

    Args:
        machine: The clock file's connection (`open_clock`).
        queue: The queue's connection.
        node_id: The node whose clock this is.
    """

    def __init__(self, machine: sqlite3.Connection, queue: sqlite3.Connection,
                 node_id: str) -> None:
        self._conns = (machine, queue)
        self.node_id = node_id

    def value(self) -> int:
        """Return the highest value written: handed out, reserved or adopted (0 if none)."""
        key = (self.node_id,)
        return max((row[0] for conn in self._conns
                    for row in conn.execute(READ, key).fetchall()), default=0)

    def _set(self, value: int) -> None:
        for conn in self._conns:
            conn.execute(_WRITE, (self.node_id, value))

    def reserve(self, size: int) -> tuple[int, int]:
        """Reserve the next `size` values (fewer near `MAX_LAMPORT`) in both copies.

        Call it inside `ticking`; the values are only reserved when that commits.

        Args:
            size: How many values to reserve (at least one).

        Returns:
            The first and the last value reserved.
        """
        base = self.value()
        top = base + max(1, min(size, MAX_LAMPORT - base))
        self._set(top)
        return base + 1, top

    def receive(self, remote: Iterable[int]) -> int:
        """Move the clock forward over values seen on other nodes' events, within the bound.

        Values are taken in increasing order; each is adopted only when it is at most
        `MAX_LAMPORT_STEP` above the clock so far, the rule the server enforces on push.
        Receiving anything writes the machine file, which ends every other process's block
        (see the module docstring). Call it inside `ticking`.

        Args:
            remote: Lamport values of received events.

        Returns:
            How many values were ignored as out of bounds.
        """
        values = sorted(set(remote))
        if not values:
            return 0
        current = start = self.value()
        ignored = 0
        for value in values:
            if value <= current:
                continue
            if value - current > MAX_LAMPORT_STEP:
                ignored += 1
                continue
            current = value
        if current > start:
            self._set(current)
        self._conns[0].execute(_RECEIPT, (_RECEIPTS,))
        return ignored

    def adopt_own(self, high: int) -> None:
        """Move the clock to at least `high`, the server's highest value for this node.

        Call it inside `ticking`.

        Args:
            high: The node's high-water mark on the server (`node_lamport`).
        """
        if high > self.value():
            self._set(int(high))


@dataclass
class _Block:
    last: int
    """The last value handed out."""
    top: int
    """The last value reserved."""
    version: int
    """The machine file's `data_version` on the reserving connection."""


class Blocks:
    """The blocks of Lamport values one queue connection reserved, by node.

    Not thread-safe: the queue calls it under its own lock.
    """

    def __init__(self) -> None:
        self._held: dict[str, _Block] = {}
        self._sizes: dict[str, int] = {}

    def _live(self, machine: sqlite3.Connection, node_id: str) -> _Block | None:
        block = self._held.get(node_id)
        if block is not None and _version(machine) != block.version:
            # Another connection wrote the machine file: the rest of the block is skipped,
            # and the next one starts small again (the machine is shared right now).
            del self._held[node_id]
            self._sizes.pop(node_id, None)
            return None
        return block

    def next(self, machine: sqlite3.Connection, node_id: str) -> int | None:
        """Return the next value of the node's block, or None when a block must be reserved.

        The value is handed out only by `handed` (after the event's queue commit), and only
        stored where the queue's copy of the clock still holds the block's `top` (checked in
        the insert), so values rise in queue order.

        Args:
            machine: The clock file's connection.
            node_id: The node.
        """
        block = self._held.get(node_id)
        if block is None or block.last >= block.top:
            return None  # no block, or a used-up one: no need to read the machine file
        block = self._live(machine, node_id)
        return None if block is None else block.last + 1

    def top(self, node_id: str) -> int:
        """Return the last value of the node's block (after `next` returned a value).

        Args:
            node_id: The node.
        """
        return self._held[node_id].top

    def handed(self, node_id: str, value: int) -> None:
        """Record that `value` (from `next`) was committed with an event.

        Args:
            node_id: The node.
            value: The value handed out.
        """
        self._held[node_id].last = value

    def reserve(self, machine: sqlite3.Connection, queue: sqlite3.Connection,
                node_id: str) -> tuple[int, _Block]:
        """Reserve a block for the node and return its first value and the block.

        Call it inside `ticking`, and `install` the block once that has committed.

        Args:
            machine: The clock file's connection.
            queue: The queue's connection.
            node_id: The node.
        """
        first, top = LamportClock(machine, queue, node_id).reserve(
            self._sizes.get(node_id, 1))
        return first, _Block(first, top, _version(machine))

    def install(self, node_id: str, block: _Block) -> None:
        """Hand out the rest of a committed block from memory; the next block is twice as big.

        Args:
            node_id: The node.
            block: From `reserve`.
        """
        self._sizes[node_id] = min(BLOCK_MAX, 2 * (block.top - block.last + 1))
        self._held[node_id] = block

    def last(self, machine: sqlite3.Connection, node_id: str) -> int | None:
        """Return the last value handed out from a live block of the node, or None.

        Args:
            machine: The clock file's connection.
            node_id: The node.
        """
        block = self._live(machine, node_id)
        return None if block is None else block.last

    def forget(self) -> None:
        """Drop every block (this connection wrote the clock for another reason)."""
        self._held.clear()
        self._sizes.clear()

    def release(self, machine: sqlite3.Connection, queue: sqlite3.Connection) -> None:
        """Give the unused rest of each block back, where nobody wrote the machine file since.

        Both copies go back to the last value handed out only while they still hold the
        block's top; otherwise the rest stays skipped. Then every block is dropped.

        Args:
            machine: The clock file's connection.
            queue: The queue's connection.
        """
        held = [(node, b) for node, b in self._held.items() if b.last < b.top]
        self.forget()
        if not held:
            return
        with ticking(machine, queue):
            for node_id, block in held:
                if _version(machine) == block.version:
                    for conn in (machine, queue):
                        conn.execute(_GIVE_BACK, (block.last, node_id, block.top))
