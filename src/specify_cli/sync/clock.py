"""The Lamport clock: one per machine, shared by every account, kept in two places.

The clock lives in `clock.sqlite3` beside the queues (`queues/` in the spec-kitty home: the
*machine* copy) and in the `clock` table of each account's queue (the *queue* copy). A tick
(`ticking` + `LamportClock.tick`) takes the machine file's write lock, then the queue's,
always in that order, reads both copies, takes the larger, adds one and writes both; the
machine file commits first, then the queue with the stamped event. So two processes, of one
account or of two, never get the same value, and the values in one queue rise in queue
order (the next tick through a queue waits for this one's queue commit). A process killed
between the two commits leaves the machine copy ahead: that value is skipped (a gap), never
handed out twice, which is all a Lamport clock needs; committing the queue first would
instead leave the machine copy behind, and a process of *another* account could then reuse
the value. The clock survives an account switch (the machine
copy is shared), a queue moved aside (the machine copy remains) and a deleted or damaged
clock file (the queue copy remains; a damaged file is moved aside). When both are lost, the
server's high-water mark for this node (`adopt_own`, after login and after every pull) puts
it back above every value the server holds for the node.

Values received from other nodes are adopted only along a chain of steps of at most
`MAX_LAMPORT_STEP` from what is already trusted (`receive`), the same bound the server
enforces on push: one hostile event with a huge clock is ignored, not adopted.
"""

from __future__ import annotations

import contextlib
import sqlite3
import time
from collections.abc import Iterable, Iterator
from pathlib import Path

from spec_kitty_protocol import MAX_LAMPORT_STEP
from specify_cli.sync import _db

CLOCK_FILENAME = "clock.sqlite3"
"""The machine's clock file, in the directory of the queues."""

_READ = "SELECT value FROM clock WHERE node_id = ?"
_WRITE = ("INSERT INTO clock(node_id, value) VALUES (?, ?) "
          "ON CONFLICT(node_id) DO UPDATE SET value = max(value, excluded.value)")
_TICK = ("INSERT INTO clock(node_id, value) VALUES (?1, ?2 + 1) "
         "ON CONFLICT(node_id) DO UPDATE SET value = max(value, ?2) + 1 RETURNING value")


def clock_path(queue_file: Path) -> Path:
    """Return the machine clock file shared by the queues in `queue_file`'s directory.

    Args:
        queue_file: Any queue database.
    """
    return queue_file.parent / CLOCK_FILENAME


def open_clock(path: Path) -> sqlite3.Connection:
    """Open the machine clock file (`clock_path`), creating it if needed.

    A clock file that is not a usable database is moved aside (`clock.sqlite3.damaged-<time>`)
    and started afresh; the queue copy and the server's high-water mark restore the value.

    Args:
        path: The clock file.

    Raises:
        QueueError: The file cannot be created.
        sqlite3.DatabaseError: The file is unusable even after being moved aside.
    """
    for attempt in range(2):
        conn = _db.open_file(path)
        try:
            conn.execute("CREATE TABLE IF NOT EXISTS clock "
                         "(node_id TEXT PRIMARY KEY, value INTEGER NOT NULL)")
            conn.execute("SELECT count(*) FROM clock").fetchone()
            return conn
        except sqlite3.DatabaseError:
            conn.close()
            if attempt:
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

    Every transaction that moves the clock runs in this block, so the two files are always
    locked in one order (SQLite's busy wait then resolves every conflict, no retry loop).
    The machine copy commits before the queue: a failure or a kill between the two leaves a
    skipped value, never a repeated one.

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
        _db.rollback(queue)  # the value is skipped: the machine copy is one ahead
        raise


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
        """Return the current value (0 when the node has never ticked)."""
        key = (self.node_id,)
        return max((row[0] for conn in self._conns
                    for row in conn.execute(_READ, key).fetchall()), default=0)

    def _set(self, value: int) -> None:
        for conn in self._conns:
            conn.execute(_WRITE, (self.node_id, value))

    def tick(self) -> int:
        """Advance the clock by one and return the new value.

        Call it inside `ticking`; the value is only handed out when that commits.
        """
        machine, queue = self._conns
        row = queue.execute(_READ, (self.node_id,)).fetchone()
        # One statement on the machine copy: max(machine, queue copy) + 1, written and read.
        value = int(machine.execute(_TICK, (self.node_id, row[0] if row else 0)).fetchone()[0])
        queue.execute(_WRITE, (self.node_id, value))
        return value

    def receive(self, remote: Iterable[int]) -> int:
        """Move the clock forward over values seen on other nodes' events, within the bound.

        Values are taken in increasing order; each is adopted only when it is at most
        `MAX_LAMPORT_STEP` above the clock so far, the rule the server enforces on push.
        Call it inside `ticking`.

        Args:
            remote: Lamport values of received events.

        Returns:
            How many values were ignored as out of bounds.
        """
        current = start = self.value()
        ignored = 0
        for value in sorted(set(remote)):
            if value <= current:
                continue
            if value - current > MAX_LAMPORT_STEP:
                ignored += 1
                continue
            current = value
        if current > start:
            self._set(current)
        return ignored

    def adopt_own(self, high: int) -> None:
        """Move the clock to at least `high`, the server's highest value for this node.

        Call it inside `ticking`.

        Args:
            high: The node's high-water mark on the server (`node_lamport`).
        """
        if high > self.value():
            self._set(int(high))
