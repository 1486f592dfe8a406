"""The Lamport clock: one per machine, shared by every account, kept in two places.

The clock lives in `clock.sqlite3` beside the queues (`queues/` in the spec-kitty home: the
*machine* copy, attached to every queue database as `machine`) and in the `clock` table of
each account's queue (the *queue* copy). `tick()` reads both, takes the larger, adds one and
writes both, inside the caller's `BEGIN IMMEDIATE` transaction, which locks both files: two
processes, of one account or of two, never get the same value. So the clock survives an
account switch (the machine copy is shared), a queue moved aside (the machine copy remains)
and a deleted or damaged clock file (the queue copy remains; a damaged file is moved aside).
When both are lost, the server's high-water mark for this node (`adopt_own`, after login and
after every pull) puts it back above every value the server holds for the node.

Values received from other nodes are adopted only along a chain of steps of at most
`MAX_LAMPORT_STEP` from what is already trusted (`receive`), the same bound the server
enforces on push: one hostile event with a huge clock is ignored, not adopted.
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
import time
from collections.abc import Iterable
from pathlib import Path

from spec_kitty_protocol import MAX_LAMPORT_STEP

CLOCK_FILENAME = "clock.sqlite3"
"""The machine's clock file, in the directory of the queues."""

_READ = ("SELECT max(coalesce((SELECT value FROM machine.clock WHERE node_id = ?1), 0), "
         "coalesce((SELECT value FROM main.clock WHERE node_id = ?1), 0))")
_WRITE = ("INSERT INTO {schema}.clock(node_id, value) VALUES (?, ?) "
          "ON CONFLICT(node_id) DO UPDATE SET value = max(value, excluded.value)")


def clock_path(queue_file: Path) -> Path:
    """Return the machine clock file shared by the queues in `queue_file`'s directory.

    Args:
        queue_file: Any queue database.
    """
    return queue_file.parent / CLOCK_FILENAME


def attach(conn: sqlite3.Connection, path: Path) -> None:
    """Attach the machine clock to a queue connection as `machine`, creating it if needed.

    A clock file that is not a usable database is moved aside (`clock.sqlite3.damaged-<time>`)
    and started afresh; the queue copy and the server's high-water mark restore the value.

    Args:
        conn: A queue connection (`_db.connect`), outside any transaction.
        path: The clock file (`clock_path`).
    """
    for attempt in range(2):
        try:
            if not path.exists():  # private like the queues: SQLite's -wal/-shm copy the mode
                os.close(os.open(path, os.O_RDWR | os.O_CREAT, 0o600))
            conn.execute("ATTACH DATABASE ? AS machine", (str(path),))
            conn.execute("PRAGMA machine.journal_mode = WAL")
            conn.execute("CREATE TABLE IF NOT EXISTS machine.clock "
                         "(node_id TEXT PRIMARY KEY, value INTEGER NOT NULL)")
            conn.execute("SELECT count(*) FROM machine.clock").fetchone()
            return
        except sqlite3.DatabaseError:
            with contextlib.suppress(sqlite3.Error):
                conn.execute("DETACH DATABASE machine")
            if attempt:
                raise
            with contextlib.suppress(OSError):
                path.rename(path.with_name(f"{path.name}.damaged-{int(time.time())}"))
            for suffix in ("-wal", "-shm"):
                with contextlib.suppress(OSError):
                    path.with_name(path.name + suffix).unlink()


class LamportClock:
    """The Lamport clock of one node, through a queue connection with the machine attached.

    Args:
        conn: A connection from the scope database, with `attach()` done.
        node_id: The node whose clock this is.
    """

    def __init__(self, conn: sqlite3.Connection, node_id: str) -> None:
        self._conn = conn
        self.node_id = node_id

    def value(self) -> int:
        """Return the current value (0 when the node has never ticked)."""
        return int(self._conn.execute(_READ, (self.node_id,)).fetchone()[0])

    def _set(self, value: int) -> None:
        for schema in ("machine", "main"):
            self._conn.execute(_WRITE.format(schema=schema), (self.node_id, value))

    def tick(self) -> int:
        """Advance the clock by one and return the new value.

        Call it inside a transaction; the value is only handed out when that commits.
        """
        value = self.value() + 1
        self._set(value)
        return value

    def receive(self, remote: Iterable[int]) -> int:
        """Move the clock forward over values seen on other nodes' events, within the bound.

        Values are taken in increasing order; each is adopted only when it is at most
        `MAX_LAMPORT_STEP` above the clock so far, the rule the server enforces on push.

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

        Args:
            high: The node's high-water mark on the server (`node_lamport`).
        """
        if high > self.value():
            self._set(int(high))
