"""Reads of the team event log: the pull feed in server order, the activity feed in causal
order, counts and clock bounds.

Events are written only by `spec_kitty_server.ingest`.
"""

from __future__ import annotations

import json
import sqlite3
from typing import Any

from spec_kitty_server.store import snapshot


def team_lamport(conn: sqlite3.Connection, team_slug: str, node_id: str | None = None) -> int:
    """The highest Lamport clock among a team's stored events (one look-up).

    Args:
        conn: A connection.
        team_slug: The team.
        node_id: Only this node's events, if given (its high-water mark, which `ingest`
            keeps in `node_clocks`).

    Returns:
        The clock value, 0 when there is none.
    """
    if node_id is None:
        row = conn.execute("SELECT max(lamport) FROM events WHERE team_slug = ?",
                           (team_slug,)).fetchone()
    else:
        row = conn.execute("SELECT lamport FROM node_clocks WHERE team_slug = ? AND "
                           "node_id = ?", (team_slug, node_id)).fetchone()
    return (row[0] or 0) if row else 0


def events_after(conn: sqlite3.Connection, team_slug: str, after: int, limit: int,
                 exclude_node: str | None = None) -> tuple[list[dict[str, Any]], bool, int]:
    """A page of a team's events in server order.

    Args:
        conn: A connection.
        team_slug: The team.
        after: Return events with a larger server sequence.
        limit: Page size.
        exclude_node: Leave out the events of this node (a client's own events).

    Returns:
        The events (envelope + `server_seq` + `received_at`), whether more are ready, and
        the sequence number to resume after (0 when nothing was passed): with
        `exclude_node`, the cursor moves past the events left out too.
    """
    node_filter = " AND node_id IS NOT ?" if exclude_node else ""
    args: tuple[Any, ...] = (team_slug, after) + ((exclude_node,) if exclude_node else ())
    # One read transaction: the page and the team's last sequence come from one snapshot,
    # so an event stored in between can be neither skipped nor counted as passed.
    with snapshot(conn):
        rows = conn.execute(
            "SELECT seq, received_at, body FROM events WHERE team_slug = ? AND seq > ?"
            f"{node_filter} ORDER BY seq LIMIT ?", (*args, limit + 1)).fetchall()
        more = len(rows) > limit
        if more:
            last = rows[limit - 1][0]
        elif exclude_node:  # every later event was returned or left out: pass them all
            last = max(after, last_seq(conn, team_slug))
        else:
            last = rows[-1][0] if rows else 0
    return [_event_row(row) for row in rows[:limit]], more, last


def last_seq(conn: sqlite3.Connection, team_slug: str) -> int:
    """The largest server sequence number of a team's events.

    Args:
        conn: A connection.
        team_slug: The team.

    Returns:
        The sequence number, 0 when the team has no events.
    """
    row = conn.execute("SELECT max(seq) FROM events WHERE team_slug = ?",
                       (team_slug,)).fetchone()
    return row[0] or 0


def count_events(conn: sqlite3.Connection, team_slug: str | None = None) -> int:
    """Count stored events (read from the per-team counts `ingest` keeps: one row).

    Args:
        conn: A connection.
        team_slug: Only this team's, if given.

    Returns:
        The count.
    """
    if team_slug is None:
        return conn.execute("SELECT coalesce(sum(events), 0) FROM team_stats").fetchone()[0]
    row = conn.execute("SELECT events FROM team_stats WHERE team_slug = ?",
                       (team_slug,)).fetchone()
    return row[0] if row else 0


def activity(conn: sqlite3.Connection, team_slug: str, offset: int,
             limit: int) -> list[dict[str, Any]]:
    """A team's events, newest first in causal order: by Lamport clock, then node id.

    The receive time and the client's timestamp are only shown, never used to order, so
    a machine with a skewed clock cannot reorder the feed. The order is read from the
    `(team_slug, lamport, node_id)` index, so a page costs the same with any number of
    events.

    Args:
        conn: A connection.
        team_slug: The team.
        offset: Events to skip.
        limit: Events to return.

    Returns:
        The events (envelope + `server_seq` + `received_at`).
    """
    rows = conn.execute(
        "SELECT seq, received_at, body FROM events WHERE seq IN (SELECT seq FROM events "
        "WHERE team_slug = ? ORDER BY lamport DESC, node_id DESC, seq DESC LIMIT ? OFFSET ?) "
        "ORDER BY lamport DESC, node_id DESC, seq DESC",
        (team_slug, limit, offset)).fetchall()
    return [_event_row(row) for row in rows]


def _event_row(row: tuple[int, str, str]) -> dict[str, Any]:
    event = json.loads(row[2])
    event["server_seq"] = row[0]
    event["received_at"] = row[1]
    return event
