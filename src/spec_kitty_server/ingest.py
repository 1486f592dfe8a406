"""Storing pushed events: duplicates, the Lamport bound, and the board, in one transaction.

An event id already stored for the same team is a `duplicate`. An event whose Lamport clock
is more than `MAX_LAMPORT_STEP` above the team's highest (counting the events before it in
the batch) is `rejected`, so no single event can drag the team's clocks towards
`MAX_LAMPORT`. The stored events are applied to the board (`spec_kitty_server.board`) in the
same transaction, so the board, the per-team event counts and each node's high-water mark
(`node_clocks`) never lag the log.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator, Sequence
from typing import Any, overload

from spec_kitty_protocol import MAX_LAMPORT_STEP
from spec_kitty_server import board
from spec_kitty_server.events import team_lamport
from spec_kitty_server.store import transaction, utc_now
from spec_kitty_server.validation import Checked

_CHUNK = 500
"""Event ids per duplicate look-up (below SQLite's bound-parameter limit)."""

_COUNT = """
INSERT INTO team_stats(team_slug, events) VALUES (?, ?)
ON CONFLICT(team_slug) DO UPDATE SET events = events + excluded.events
"""
_MARK = """
INSERT INTO node_clocks(team_slug, node_id, lamport) VALUES (?, ?, ?)
ON CONFLICT(team_slug, node_id) DO UPDATE SET lamport = max(lamport, excluded.lamport)
"""


def ingest(conn: sqlite3.Connection, checked: list[Checked]) -> tuple[list[dict[str, Any]], Stored]:
    """Store the valid events of a batch in one transaction.

    Args:
        conn: The writer connection.
        checked: The batch's events after validation, in input order (all of one team).

    Returns:
        The per-event results (input order) and the newly stored events (with
        `server_seq` and `received_at`), for broadcasting.
    """
    results: list[dict[str, Any]] = []
    ids_by_team: dict[str, list[str]] = {}
    for c in checked:
        if c.error is None:
            ids_by_team.setdefault(c.event["team_slug"], []).append(c.event_id)
    with transaction(conn):
        existing: set[tuple[str, str]] = set()
        highest: dict[str, int] = {}
        for team, ids in ids_by_team.items():
            for start in range(0, len(ids), _CHUNK):
                chunk = ids[start:start + _CHUNK]
                marks = ",".join("?" * len(chunk))
                existing.update((team, row[0]) for row in conn.execute(
                    f"SELECT event_id FROM events WHERE team_slug = ? AND event_id IN "
                    f"({marks})", (team, *chunk)))
            highest[team] = team_lamport(conn, team)
        received = utc_now()
        first_seq = conn.execute("SELECT coalesce(max(seq), 0) + 1 FROM events").fetchone()[0]
        fresh: list[dict[str, Any]] = []
        bodies: list[str] = []
        for item in checked:
            event_id = item.event_id
            if item.error is not None:
                results.append({"event_id": event_id, "status": "rejected",
                                "error": item.error})
                continue
            event = item.event
            team, lamport = event["team_slug"], int(event["lamport_clock"])
            key = team, event_id
            if key in existing:
                results.append({"event_id": event_id, "status": "duplicate", "error": None})
                continue
            top = highest[team]
            if lamport > top + MAX_LAMPORT_STEP:
                results.append({"event_id": event_id, "status": "rejected",
                                "error": f"invalid lamport_clock: {lamport} is more than "
                                         f"{MAX_LAMPORT_STEP} above the team's highest "
                                         f"({top})"})
                continue
            if lamport > top:
                highest[team] = lamport
            existing.add(key)
            fresh.append(event)
            bodies.append(item.body)
            results.append({"event_id": event_id, "status": "success", "error": None})
        if fresh:
            append(conn, fresh, bodies, first_seq, received)
    return results, Stored(fresh, first_seq, received)


class Stored(Sequence[dict[str, Any]]):
    """The events a batch stored, each as stored and served (`server_seq`, `received_at`).

    Built on first use, once: the copies are needed only when a WebSocket client listens
    (the hub sends them), and most batches have none, so the writer does not make them.
    """

    __slots__ = ("_built", "_events", "_first_seq", "_received")

    def __init__(self, events: list[dict[str, Any]], first_seq: int, received: str) -> None:
        self._events = events
        self._first_seq = first_seq
        self._received = received
        self._built: list[dict[str, Any]] | None = None

    def _items(self) -> list[dict[str, Any]]:
        if self._built is None:
            self._built = [{**event, "server_seq": seq, "received_at": self._received}
                           for seq, event in enumerate(self._events, self._first_seq)]
        return self._built

    def __len__(self) -> int:
        return len(self._events)

    def __iter__(self) -> Iterator[dict[str, Any]]:
        return iter(self._items())

    @overload
    def __getitem__(self, index: int) -> dict[str, Any]: ...

    @overload
    def __getitem__(self, index: slice) -> list[dict[str, Any]]: ...

    def __getitem__(self, index: int | slice) -> dict[str, Any] | list[dict[str, Any]]:
        return self._items()[index]


def append(conn: sqlite3.Connection, events: list[dict[str, Any]], bodies: list[str],
           first_seq: int, received: str) -> None:
    """Store new events in the stored format and apply them to the read models.

    The caller holds the write transaction and has checked the events (valid, not
    duplicates, clocks within the bound); `ingest` does, and the bench seeds large databases
    through here so that they hold exactly what the server would have stored.

    Args:
        conn: The writer connection, inside a transaction.
        events: The events, in the order they get their sequence numbers.
        bodies: Their compact JSON text (`spec_kitty_protocol.encode`), as stored.
        first_seq: The sequence number of the first (higher than any stored).
        received: The receive time to record (UTC ISO).
    """
    rows = [(seq, event["event_id"], event["team_slug"], event["event_type"],
             event["project_slug"], received, body, str(event.get("node_id", "")),
             int(event["lamport_clock"]))
            for seq, event, body in zip(range(first_seq, first_seq + len(events)), events,
                                        bodies, strict=True)]
    conn.executemany("INSERT INTO events(seq, event_id, team_slug, event_type, project_slug, "
                     "received_at, body, node_id, lamport) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                     rows)
    counts: dict[str, int] = {}
    marks: dict[tuple[str, str], int] = {}
    for row in rows:
        counts[row[2]] = counts.get(row[2], 0) + 1
        node = row[2], row[7]
        if marks.get(node, -1) < row[8]:
            marks[node] = row[8]
    conn.executemany(_COUNT, counts.items())
    conn.executemany(_MARK, [(*node, lamport) for node, lamport in marks.items()])
    board.apply_batch(conn, events, first_seq)
