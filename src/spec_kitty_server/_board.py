"""Keeps the materialized board tables (projects, features, work packages) up to date.

Each stored event is applied once, inside the ingest transaction, so the dashboards read small
tables instead of replaying the event log. Lane changes are ordered by the event's timestamp,
Lamport clock and id, so events arriving out of order still give the latest lane.
"""

from __future__ import annotations

import sqlite3
from typing import Any

LANES = ("planned", "doing", "for_review", "done")
"""The board's columns, in order."""


def order_key(event: dict[str, Any]) -> str:
    """A string that sorts events by timestamp, then Lamport clock, then id.

    Args:
        event: A valid event envelope.

    Returns:
        The sort key.
    """
    stamp = event["timestamp"]
    date, _, rest = stamp.partition("T")
    clock_part = rest[:8]
    fraction = rest[8:].removesuffix("Z").removesuffix("+00:00").lstrip(".")
    return (f"{date}T{clock_part}.{fraction.ljust(6, '0')}|{event['lamport_clock']:016d}|"
            f"{event['event_id']}")


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
_WP_ASSIGNED_BY_AGGREGATE = """
UPDATE work_packages SET assignee = ?, updated_seq = ?, updated_at = ?
WHERE team_slug = ? AND project_slug = ? AND aggregate_id = ?
"""
_WP_ASSIGNED_BY_ID = """
UPDATE work_packages SET assignee = ?, updated_seq = ?, updated_at = ?
WHERE team_slug = ? AND project_slug = ? AND wp_id = ?
"""


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
    for event in events:
        seq = event["server_seq"]
        team = event["team_slug"]
        project = event["project_slug"]
        payload = event["payload"]
        kind = event["event_type"]
        stamp = event["timestamp"]
        projects.setdefault((team, project), (team, project, event["project_uuid"], seq))
        feature = payload.get("feature_slug")
        if isinstance(feature, str):
            features.setdefault((team, project, feature), (team, project, feature, seq))
        if kind == "WPCreated":
            created.append((team, project, feature, payload["wp_id"], event["aggregate_id"],
                            payload["title"], seq, stamp))
        elif kind == "WPStatusChanged":
            key = (team, project, feature, payload["wp_id"])
            lane_key = order_key(event)
            previous = status.get(key)
            if previous is None or lane_key > previous[7]:
                status[key] = (team, project, feature, payload["wp_id"], event["aggregate_id"],
                               payload["wp_id"], payload["to_lane"], lane_key, seq, stamp)
        elif kind == "WPAssigned":
            assigned.append((payload["agent_id"], seq, stamp, team, project,
                             event["aggregate_id"], payload["wp_id"]))
        elif kind == "FeatureCreated":
            feature_created.append((payload["target_branch"], payload["wp_count"], team,
                                    project, feature))
        elif kind == "FeatureCompleted":
            feature_completed.append((payload["completed_at"], team, project, feature))
    conn.executemany(_UPSERT_PROJECT, projects.values())
    conn.executemany(_UPSERT_FEATURE, features.values())
    conn.executemany(_WP_CREATED, created)
    conn.executemany(_WP_STATUS, status.values())
    for agent, seq, stamp, team, project, aggregate, wp_id in assigned:
        cursor = conn.execute(_WP_ASSIGNED_BY_AGGREGATE, (agent, seq, stamp, team, project,
                                                         aggregate))
        if cursor.rowcount == 0:
            conn.execute(_WP_ASSIGNED_BY_ID, (agent, seq, stamp, team, project, wp_id))
    conn.executemany(_FEATURE_CREATED, feature_created)
    conn.executemany(_FEATURE_COMPLETED, feature_completed)
