"""The board: its tables (projects, features, work packages), kept up to date, and read.

Each stored event is applied once, inside the ingest transaction, so the dashboards read small
tables instead of replaying the event log. A work package is `(project, feature, WP id)`:
the feature comes from the payload or from an `aggregate_id` of the form `<feature>/<WP>`;
a stock 2.x event that names a bare WP id is applied only when exactly one feature of the
project has that WP. Lane changes are ordered causally, by Lamport clock, then node id, then
event id, so events arriving out of order, or from a machine whose clock is wrong, still
give the latest lane. Event types the board does not know are stored but not applied.
"""

from __future__ import annotations

import sqlite3
from typing import Any

from spec_kitty_protocol import LANES, canonical_lane, work_package_of
from spec_kitty_server.events import activity, count_events, last_seq

__all__ = ["LANES", "apply_batch", "features", "order_key", "overview", "projects",
           "snapshot", "work_packages"]


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


def apply_batch(conn: sqlite3.Connection, events: list[dict[str, Any]], first_seq: int) -> None:
    """Apply newly stored events (in server order) to the board tables.

    Rows are collected per batch and written with one `executemany` per statement; for lane
    changes only the latest change of each work package in the batch is written, and for
    the other writes of one row (a card created or assigned twice, a feature's details) only
    the batch's last one, which is what writing them all in order leaves.

    Args:
        conn: The connection, inside the ingest transaction.
        events: Valid event envelopes, in the order of their sequence numbers.
        first_seq: The sequence number of the first; the others follow it one by one.
    """
    projects: dict[tuple[str, str], tuple[str, str, str, int]] = {}
    features: dict[tuple[str, str, str], tuple[str, str, str, int]] = {}
    created: dict[tuple[str, str, str, str], tuple[Any, ...]] = {}
    status: dict[tuple[str, str, str, str], tuple[Any, ...]] = {}
    assigned: dict[tuple[str, str, str, str], tuple[Any, ...]] = {}
    feature_created: dict[tuple[str, str, str], tuple[Any, ...]] = {}
    feature_completed: dict[tuple[str, str, str], tuple[Any, ...]] = {}
    pending: list[tuple[dict[str, Any], int]] = []
    for seq, event in enumerate(events, first_seq):
        kind = event["event_type"]
        if kind not in _APPLIED:
            continue
        team = event["team_slug"]
        project = event["project_slug"]
        payload = event["payload"]
        stamp = event["timestamp"]
        if (team, project) not in projects:
            projects[team, project] = (team, project, event["project_uuid"], seq)
        if kind == "WPCreated":
            feature, wp_id = payload["feature_slug"], payload["wp_id"]
            if (team, project, feature) not in features:
                features[team, project, feature] = (team, project, feature, seq)
            created[team, project, feature, wp_id] = (
                team, project, feature, wp_id, f"{feature}/{wp_id}", payload["title"], seq,
                stamp)
            continue
        if kind == "FeatureCreated" or kind == "FeatureCompleted":
            feature = payload["feature_slug"]
            key = team, project, feature
            if key not in features:
                features[key] = (team, project, feature, seq)
            if kind == "FeatureCreated":
                feature_created[key] = (payload["target_branch"], payload["wp_count"], *key)
            else:
                done_at = payload.get("completed_at")
                feature_completed[key] = (done_at if isinstance(done_at, str) else stamp, *key)
            continue
        # A lane change or an assignment may name its card by a bare WP id: resolve it
        # against what is stored, after this batch's projects, features and cards are.
        pending.append((event, seq))
    conn.executemany(_UPSERT_PROJECT, projects.values())
    conn.executemany(_UPSERT_FEATURE, features.values())
    conn.executemany(_WP_CREATED, created.values())
    for event, seq in pending:
        payload = event["payload"]
        feature, wp_id = payload.get("feature_slug"), payload.get("wp_id")
        if not (isinstance(feature, str) and isinstance(wp_id, str)):  # else as _resolve says
            where = _resolve(conn, event)
            if where is None:
                continue
            feature, wp_id = where
        team, project = event["team_slug"], event["project_slug"]
        key = (team, project, feature, wp_id)
        if event["event_type"] == "WPStatusChanged":
            lane_key = order_key(event)
            previous = status.get(key)
            if previous is None or lane_key > previous[7]:
                status[key] = (team, project, feature, wp_id, f"{feature}/{wp_id}", wp_id,
                               canonical_lane(payload["to_lane"]), lane_key, seq,
                               event["timestamp"])
        else:
            assigned[key] = (payload["agent_id"], seq, event["timestamp"], *key)
    # A lane change may be the first the board hears of a card (and of its feature): one
    # row per feature not written above (a second row of the same feature changes nothing).
    unseen: dict[tuple[str, str, str], tuple[str, str, str, int]] = {}
    for (team, project, feature, _), row in status.items():
        if (team, project, feature) not in features:
            unseen.setdefault((team, project, feature), (team, project, feature, row[8]))
    conn.executemany(_UPSERT_FEATURE, unseen.values())
    conn.executemany(_WP_STATUS, status.values())
    conn.executemany(_WP_ASSIGNED, assigned.values())
    conn.executemany(_FEATURE_CREATED, feature_created.values())
    conn.executemany(_FEATURE_COMPLETED, feature_completed.values())


def overview(conn: sqlite3.Connection, team_slug: str) -> dict[str, Any]:
    """Counts, lane breakdown and recent events of a team.

    Args:
        conn: A connection.
        team_slug: The team.

    Returns:
        `projects`, `features`, `work_packages`, `lanes` (lane -> count), `events` and
        `recent`.
    """
    one = conn.execute
    lanes = dict.fromkeys(LANES, 0)
    for lane, count in one("SELECT lane, count(*) FROM work_packages WHERE team_slug = ? "
                           "GROUP BY lane", (team_slug,)):
        lanes[lane] = count
    return {
        "projects": one("SELECT count(*) FROM projects WHERE team_slug = ?",
                        (team_slug,)).fetchone()[0],
        "features": one("SELECT count(*) FROM features WHERE team_slug = ?",
                        (team_slug,)).fetchone()[0],
        "work_packages": sum(lanes.values()),
        "lanes": lanes,
        "events": count_events(conn, team_slug),
        "recent": activity(conn, team_slug, 0, 10),
    }


def projects(conn: sqlite3.Connection, team_slug: str) -> list[dict[str, Any]]:
    """A team's projects.

    Args:
        conn: A connection.
        team_slug: The team.

    Returns:
        `project_slug` and `project_uuid` of each, by slug.
    """
    rows = conn.execute("SELECT project_slug, project_uuid FROM projects WHERE team_slug = ? "
                        "ORDER BY project_slug", (team_slug,))
    return [{"project_slug": r[0], "project_uuid": r[1]} for r in rows]


def features(conn: sqlite3.Connection, team_slug: str,
             project_slug: str | None = None) -> list[dict[str, Any]]:
    """A team's features.

    Args:
        conn: A connection.
        team_slug: The team.
        project_slug: Only this project's, if given.

    Returns:
        The features, by project and slug.
    """
    return _team_rows(conn, "features", ("project_slug", "feature_slug", "target_branch",
                                         "wp_count", "completed_at"),
                      "project_slug, feature_slug", team_slug, project_slug=project_slug)


def work_packages(conn: sqlite3.Connection, team_slug: str, project_slug: str | None = None,
                  feature_slug: str | None = None) -> list[dict[str, Any]]:
    """A team's work packages with their current lanes.

    Args:
        conn: A connection.
        team_slug: The team.
        project_slug: Only this project's, if given.
        feature_slug: Only this feature's, if given.

    Returns:
        The work packages, by project, feature and id.
    """
    return _team_rows(conn, "work_packages", ("project_slug", "feature_slug", "wp_id", "title",
                                              "lane", "assignee", "updated_at", "updated_seq"),
                      "project_slug, feature_slug, wp_id", team_slug,
                      project_slug=project_slug, feature_slug=feature_slug)


def _team_rows(conn: sqlite3.Connection, table: str, columns: tuple[str, ...], order: str,
               team_slug: str, **filters: str | None) -> list[dict[str, Any]]:
    """A team's rows of `table` as dicts of `columns`, narrowed by each filter that is set."""
    sql = f"SELECT {', '.join(columns)} FROM {table} WHERE team_slug = ?"
    params: list[Any] = [team_slug]
    for column, value in filters.items():
        if value:
            sql += f" AND {column} = ?"
            params.append(value)
    rows = conn.execute(f"{sql} ORDER BY {order}", params)
    return [dict(zip(columns, row, strict=True)) for row in rows]


def snapshot(conn: sqlite3.Connection, team_slug: str) -> dict[str, Any]:
    """The whole board of a team, as sent on WebSocket connect.

    Args:
        conn: A connection.
        team_slug: The team.

    Returns:
        `team_slug`, `lanes`, `projects`, `features`, `work_packages` and `last_seq`.
    """
    return {"team_slug": team_slug, "lanes": list(LANES),
            "projects": projects(conn, team_slug), "features": features(conn, team_slug),
            "work_packages": work_packages(conn, team_slug),
            "last_seq": last_seq(conn, team_slug)}
