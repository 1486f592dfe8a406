"""The server's write path as it was before issue 18's ingest work (commit fbe5fcd), frozen.

`tests/server/test_ingest_differential.py` runs the same random batches through this and
through `spec_kitty_server.ingest`, and compares the whole databases: the faster path must
store exactly what this one stores. Do not edit it to follow the server.
"""

# ruff: noqa: D103

from __future__ import annotations

import sqlite3
from typing import Any

from spec_kitty_protocol import MAX_LAMPORT_STEP, canonical_lane, work_package_of
from spec_kitty_server.events import team_lamport
from spec_kitty_server.store import transaction, utc_now
from spec_kitty_server.validation import Checked


def order_key(event: dict[str, Any]) -> str:
    """A string that sorts events causally: Lamport clock, then node id, then event id.

    The timestamp plays no part: it is the emitting machine's wall clock, shown only.

    Args:
        event: A valid event envelope.

    Returns:
        The sort key.
    """
    return f"{event['lamport_clock']:016d}|{event['node_id']}|{event['event_id']}"


_UPSERT_PROJECT = """
INSERT INTO projects(team_slug, project_slug, project_uuid, first_seq) VALUES (?, ?, ?, ?)
ON CONFLICT(team_slug, project_slug) DO NOTHING
"""
_UPSERT_FEATURE = """
INSERT INTO features(team_slug, project_slug, feature_slug, first_seq) VALUES (?, ?, ?, ?)
ON CONFLICT(team_slug, project_slug, feature_slug) DO NOTHING
"""
_FEATURE_CREATED = """
UPDATE features SET target_branch = ?, wp_count = ?
WHERE team_slug = ? AND project_slug = ? AND feature_slug = ?
"""
_FEATURE_COMPLETED = """
UPDATE features SET completed_at = ?
WHERE team_slug = ? AND project_slug = ? AND feature_slug = ?
"""
_WP_CREATED = """
INSERT INTO work_packages(team_slug, project_slug, feature_slug, wp_id, aggregate_id, title,
                          lane, lane_key, updated_seq, updated_at)
VALUES (?, ?, ?, ?, ?, ?, 'planned', '', ?, ?)
ON CONFLICT(team_slug, project_slug, feature_slug, wp_id)
DO UPDATE SET title = excluded.title, aggregate_id = excluded.aggregate_id,
              updated_seq = excluded.updated_seq, updated_at = excluded.updated_at
"""
_WP_STATUS = """
INSERT INTO work_packages(team_slug, project_slug, feature_slug, wp_id, aggregate_id, title,
                          lane, lane_key, updated_seq, updated_at)
VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
ON CONFLICT(team_slug, project_slug, feature_slug, wp_id)
DO UPDATE SET lane = excluded.lane, lane_key = excluded.lane_key,
              updated_seq = excluded.updated_seq, updated_at = excluded.updated_at
WHERE excluded.lane_key > work_packages.lane_key
"""
_WP_ASSIGNED = """
UPDATE work_packages SET assignee = ?, updated_seq = ?, updated_at = ?
WHERE team_slug = ? AND project_slug = ? AND feature_slug = ? AND wp_id = ?
"""
_FEATURES_OF_WP = """
SELECT feature_slug FROM work_packages WHERE team_slug = ? AND project_slug = ? AND wp_id = ?
LIMIT 2
"""


def _resolve(conn: sqlite3.Connection, event: dict[str, Any]) -> tuple[str, str] | None:
    """`(feature, wp_id)` of a work-package event, or None when it is not on the board."""
    found = work_package_of(event)
    if found is None:
        return None
    feature, wp_id = found
    if feature is None:  # a bare WP id: only an unambiguous one names a card
        rows = conn.execute(_FEATURES_OF_WP, (event["team_slug"], event["project_slug"],
                                              wp_id)).fetchall()
        if len(rows) != 1:
            return None
        feature = rows[0][0]
    return feature, wp_id


_APPLIED = frozenset({"WPCreated", "WPStatusChanged", "WPAssigned", "FeatureCreated",
                      "FeatureCompleted"})


def apply_batch(conn: sqlite3.Connection, events: list[dict[str, Any]]) -> None:
    """Apply newly stored events (in server order) to the board tables.

    Rows are collected per batch and written with one `executemany` per statement; for lane
    changes only the latest change of each work package in the batch is written.

    Args:
        conn: The connection, inside the ingest transaction.
        events: Valid event envelopes, each with its `server_seq`.
    """
    projects: dict[tuple[str, str], tuple[str, str, str, int]] = {}
    features: dict[tuple[str, str, str], tuple[str, str, str, int]] = {}
    created: list[tuple[Any, ...]] = []
    status: dict[tuple[str, str, str, str], tuple[Any, ...]] = {}
    assigned: list[tuple[Any, ...]] = []
    feature_created: list[tuple[Any, ...]] = []
    feature_completed: list[tuple[Any, ...]] = []
    pending: list[dict[str, Any]] = []
    for event in events:
        kind = event["event_type"]
        if kind not in _APPLIED:
            continue
        seq = event["server_seq"]
        team = event["team_slug"]
        project = event["project_slug"]
        payload = event["payload"]
        stamp = event["timestamp"]
        projects.setdefault((team, project), (team, project, event["project_uuid"], seq))
        if kind in ("FeatureCreated", "FeatureCompleted"):
            feature = payload["feature_slug"]
            features.setdefault((team, project, feature), (team, project, feature, seq))
            if kind == "FeatureCreated":
                feature_created.append((payload["target_branch"], payload["wp_count"], team,
                                        project, feature))
            else:
                done_at = payload.get("completed_at")
                feature_completed.append((done_at if isinstance(done_at, str) else stamp,
                                          team, project, feature))
            continue
        if kind == "WPCreated":
            feature, wp_id = payload["feature_slug"], payload["wp_id"]
            features.setdefault((team, project, feature), (team, project, feature, seq))
            created.append((team, project, feature, wp_id, f"{feature}/{wp_id}",
                            payload["title"], seq, stamp))
            continue
        # A lane change or an assignment may name its card by a bare WP id: resolve it
        # against what is stored, after this batch's projects, features and cards are.
        pending.append(event)
    conn.executemany(_UPSERT_PROJECT, projects.values())
    conn.executemany(_UPSERT_FEATURE, features.values())
    conn.executemany(_WP_CREATED, created)
    for event in pending:
        where = _resolve(conn, event)
        if where is None:
            continue
        feature, wp_id = where
        team, project, payload = event["team_slug"], event["project_slug"], event["payload"]
        seq, stamp = event["server_seq"], event["timestamp"]
        if event["event_type"] == "WPStatusChanged":
            key = (team, project, feature, wp_id)
            lane_key = order_key(event)
            previous = status.get(key)
            if previous is None or lane_key > previous[7]:
                status[key] = (team, project, feature, wp_id, f"{feature}/{wp_id}", wp_id,
                               canonical_lane(payload["to_lane"]), lane_key, seq, stamp)
        else:
            assigned.append((payload["agent_id"], seq, stamp, team, project, feature, wp_id))
    # A lane change may be the first the board hears of a card (and of its feature): one
    # row per feature not written above (a second row of the same feature changes nothing).
    unseen: dict[tuple[str, str, str], tuple[str, str, str, int]] = {}
    for (team, project, feature, _), row in status.items():
        if (team, project, feature) not in features:
            unseen.setdefault((team, project, feature), (team, project, feature, row[8]))
    conn.executemany(_UPSERT_FEATURE, unseen.values())
    conn.executemany(_WP_STATUS, status.values())
    conn.executemany(_WP_ASSIGNED, assigned)
    conn.executemany(_FEATURE_CREATED, feature_created)
    conn.executemany(_FEATURE_COMPLETED, feature_completed)


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


def ingest(conn: sqlite3.Connection,
           checked: list[Checked]) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Store the valid events of a batch in one transaction.

    Args:
        conn: The writer connection.
        checked: The batch's events after validation, in input order (all of one team).

    Returns:
        The per-event results (input order) and the newly stored events (with
        `server_seq` and `received_at`), for broadcasting.
    """
    results: list[dict[str, Any]] = []
    candidates = [c for c in checked if c.error is None]
    with transaction(conn):
        existing: set[tuple[str, str]] = set()
        highest: dict[str, int] = {}
        for team in {c.event["team_slug"] for c in candidates}:
            ids = [c.event_id for c in candidates if c.event["team_slug"] == team]
            for start in range(0, len(ids), _CHUNK):
                chunk = ids[start:start + _CHUNK]
                marks = ",".join("?" * len(chunk))
                existing.update((team, row[0]) for row in conn.execute(
                    f"SELECT event_id FROM events WHERE team_slug = ? AND event_id IN "
                    f"({marks})", (team, *chunk)))
            highest[team] = team_lamport(conn, team)
        received = utc_now()
        next_seq = conn.execute("SELECT coalesce(max(seq), 0) + 1 FROM events").fetchone()[0]
        fresh: list[dict[str, Any]] = []
        bodies: list[str] = []
        for item in checked:
            if item.error is not None:
                results.append({"event_id": item.event_id, "status": "rejected",
                                "error": item.error})
                continue
            event = item.event
            team, lamport = event["team_slug"], int(event["lamport_clock"])
            if (team, item.event_id) in existing:
                results.append({"event_id": item.event_id, "status": "duplicate",
                                "error": None})
                continue
            if lamport > highest[team] + MAX_LAMPORT_STEP:
                results.append({"event_id": item.event_id, "status": "rejected",
                                "error": f"invalid lamport_clock: {lamport} is more than "
                                         f"{MAX_LAMPORT_STEP} above the team's highest "
                                         f"({highest[team]})"})
                continue
            highest[team] = max(highest[team], lamport)
            existing.add((team, item.event_id))
            fresh.append(event)
            bodies.append(item.body)
            results.append({"event_id": item.event_id, "status": "success", "error": None})
        stored = append(conn, fresh, bodies, next_seq, received) if fresh else []
    return results, stored


def append(conn: sqlite3.Connection, events: list[dict[str, Any]], bodies: list[str],
           first_seq: int, received: str) -> list[dict[str, Any]]:
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

    Returns:
        The events as stored and served (with `server_seq` and `received_at`).
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
    stored = [{**event, "server_seq": first_seq + i, "received_at": received}
              for i, event in enumerate(events)]
    apply_batch(conn, stored)
    return stored
