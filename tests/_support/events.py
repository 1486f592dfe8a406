"""Valid sample events built with the engine's own builder, for seeding queues and servers."""

from __future__ import annotations

import itertools
import uuid
from typing import Any

from spec_kitty_protocol import build_event

PROJECT_UUID = str(uuid.UUID(int=0x1234567812344234823412345678ABCD))


def sample_events(n: int, team: str = "acme", node: str = "0123456789ab") -> list[dict]:
    out = []
    for i in range(n):
        wp = f"WP{i % 90 + 10:02d}"
        out.append(build_event(
            "WPStatusChanged",
            {"wp_id": wp, "from_lane": "planned", "to_lane": "in_progress", "actor": "alice",
             "feature_slug": "001-sample"},
            node_id=node, team_slug=team, project_uuid=PROJECT_UUID,
            project_slug="sample", lamport_clock=i + 1))
    return out


_clock = itertools.count(1)


def make_event(team: str = "acme", kind: str = "WPStatusChanged", *, wp: str = "WP01",
               feature: str = "001-login-flow", project: str = "web",
               to_lane: str = "in_progress", from_lane: str = "planned",
               **override: Any) -> dict[str, Any]:
    """A valid event envelope from the shared builder (override any field by keyword).

    Each call takes the next Lamport clock value of this process, so events made in order
    are ordered causally in that order.
    """
    payloads = {
        "WPStatusChanged": {"wp_id": wp, "from_lane": from_lane, "to_lane": to_lane,
                            "actor": "alice"},
        "WPCreated": {"wp_id": wp, "title": f"Title of {wp}", "dependencies": []},
        "WPAssigned": {"wp_id": wp, "agent_id": "claude", "phase": "implementation",
                       "retry_count": 0},
        "FeatureCreated": {"feature_number": feature[:3], "target_branch": "main",
                           "wp_count": 3},
        "HistoryAdded": {"wp_id": wp, "entry_type": "note", "entry_content": "hello",
                         "author": "alice"},
    }
    event = build_event(kind, {**payloads[kind], "feature_slug": feature},
                        node_id="a1b2c3d4e5f6", team_slug=team, project_uuid=PROJECT_UUID,
                        project_slug=project, lamport_clock=next(_clock))
    event.update(override)
    return event


VALID_PAYLOADS = {
    "WPStatusChanged": {"wp_id": "WP01", "from_lane": "planned", "to_lane": "done",
                        "actor": "a", "feature_slug": "001-x"},
    "WPCreated": {"wp_id": "WP01", "title": "t", "dependencies": ["WP02"],
                  "feature_slug": "001-x"},
    "WPAssigned": {"wp_id": "WP01", "agent_id": "a", "phase": "review", "retry_count": 0},
    "FeatureCreated": {"feature_slug": "001-x", "feature_number": "001",
                       "target_branch": "main", "wp_count": 2},
    "FeatureCompleted": {"feature_slug": "001-x", "total_wps": 2,
                         "completed_at": "2026-01-01T00:00:00Z", "total_duration": "PT1.5S"},
    "HistoryAdded": {"wp_id": "WP01", "entry_type": "note", "entry_content": "c",
                     "author": "a"},
    "ErrorLogged": {"error_type": "runtime", "error_message": "m", "feature_slug": "001-x"},
    "DependencyResolved": {"wp_id": "WP01", "dependency_wp_id": "WP02",
                           "resolution_type": "completed"},
}
"""One valid payload per 2.x event type."""


def protocol_event(kind: str = "HistoryAdded", payload: dict | None = None, **overrides):
    """A valid event of `kind` (a HistoryAdded by default) with `overrides` on its envelope."""
    payload = payload if payload is not None else {
        "wp_id": "WP01", "entry_type": "note", "entry_content": "hi", "author": "alice",
        "feature_slug": "001-x"}
    event = build_event(kind, payload, node_id="0123456789ab", team_slug="acme",
                        project_uuid=PROJECT_UUID, project_slug="demo")
    event.update(overrides)
    return event
