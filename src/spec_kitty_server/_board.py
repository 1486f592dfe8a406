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


def apply(conn: sqlite3.Connection, event: dict[str, Any], seq: int) -> None:
    """Apply one newly stored event to the board tables.

    Args:
        conn: The connection, inside the ingest transaction.
        event: The valid event envelope.
        seq: Its server sequence number.
    """
    team = event["team_slug"]
    project = event["project_slug"]
    payload = event["payload"]
    kind = event["event_type"]
    stamp = event["timestamp"]
    conn.execute(_UPSERT_PROJECT, (team, project, event["project_uuid"], seq))
    feature = payload.get("feature_slug")
    if isinstance(feature, str):
        conn.execute(_UPSERT_FEATURE, (team, project, feature, seq))
    if kind == "WPCreated":
        conn.execute(_WP_CREATED, (team, project, feature, payload["wp_id"], event["aggregate_id"],
                                   payload["title"], seq, stamp))
    elif kind == "WPStatusChanged":
        conn.execute(_WP_STATUS, (team, project, feature, payload["wp_id"], event["aggregate_id"],
                                  payload["wp_id"], payload["to_lane"], order_key(event), seq,
                                  stamp))
    elif kind == "WPAssigned":
        cursor = conn.execute(_WP_ASSIGNED_BY_AGGREGATE, (payload["agent_id"], seq, stamp, team,
                                                         project, event["aggregate_id"]))
        if cursor.rowcount == 0:
            conn.execute(_WP_ASSIGNED_BY_ID, (payload["agent_id"], seq, stamp, team, project,
                                              payload["wp_id"]))
    elif kind == "FeatureCreated":
        conn.execute(_FEATURE_CREATED, (payload["target_branch"], payload["wp_count"], team,
                                        project, feature))
    elif kind == "FeatureCompleted":
        conn.execute(_FEATURE_COMPLETED, (payload["completed_at"], team, project, feature))
