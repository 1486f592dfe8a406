"""The Lamport clock, persisted in the scope database so processes never reuse a value.

`tick()` runs inside the caller's `BEGIN IMMEDIATE` transaction (the queue appends the event
in the same one), so two processes emitting for one node always get different values, and a
process killed mid-emit leaves neither a ticked clock without its event nor the reverse.
"""

from __future__ import annotations

import sqlite3

_TICK = ("INSERT INTO clock(node_id, value) VALUES (?, 1) "
         "ON CONFLICT(node_id) DO UPDATE SET value = value + 1 RETURNING value")
_RECEIVE = ("INSERT INTO clock(node_id, value) VALUES (?, ?) "
            "ON CONFLICT(node_id) DO UPDATE SET value = max(value, excluded.value)")


class LamportClock:
    """The Lamport clock of one node, stored in the `clock` table of a scope database.

    Args:
        conn: A connection from the scope database.
        node_id: The node whose clock this is.
    """

    def __init__(self, conn: sqlite3.Connection, node_id: str) -> None:
        self._conn = conn
        self.node_id = node_id

    def tick(self) -> int:
        """Advance the clock by one and return the new value.

        Call it inside a transaction; the value is only handed out when that commits.
        """
        return int(self._conn.execute(_TICK, (self.node_id,)).fetchone()[0])

    def receive(self, remote: int) -> None:
        """Move the clock forward to at least `remote` (a value seen on another event).

        The next `tick()` then returns a value greater than every event seen so far.

        Args:
            remote: The largest Lamport value among the received events.
        """
        self._conn.execute(_RECEIVE, (self.node_id, int(remote)))

    def value(self) -> int:
        """Return the current value (0 when the node has never ticked)."""
        row = self._conn.execute("SELECT value FROM clock WHERE node_id = ?",
                                 (self.node_id,)).fetchone()
        return int(row[0]) if row else 0
