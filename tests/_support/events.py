"""Valid sample events built with the engine's own builder, for seeding queues and servers."""

from __future__ import annotations

import uuid

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
