"""Synthetic but schema-valid sync events, with a realistic mix of types and sizes.

Most events of a real team are lane moves and history notes; features and errors are rare.
The same generator feeds the emitter (emit throughput, the 100k queue) and the pre-built
batches sent straight to the server.
"""

from __future__ import annotations

import random
import uuid
from collections.abc import Iterator
from typing import Any

from spec_kitty_protocol import LANES, build_event, iso_duration

MIX = (("WPStatusChanged", 50), ("HistoryAdded", 20), ("WPAssigned", 10), ("WPCreated", 8),
       ("DependencyResolved", 5), ("FeatureCreated", 3), ("ErrorLogged", 2),
       ("FeatureCompleted", 2))
_WORDS = ("review", "tests", "agent", "lane", "merge", "branch", "spec", "plan", "fixed",
          "retry", "docs", "queue", "server", "token", "build", "green", "failing", "notes")


def _feature(i: int) -> str:
    return f"{i % 1000:03d}-feature-{i}"


def payloads(n: int, seed: int = 7, features: int = 40,
             wps: int = 12) -> Iterator[tuple[str, dict[str, Any]]]:
    """Yield `n` (event_type, payload) pairs in a fixed pseudo-random order."""
    rng = random.Random(seed)
    types = [t for t, weight in MIX for _ in range(weight)]
    for _ in range(n):
        kind = rng.choice(types)
        f = rng.randrange(1, features + 1)
        feature = _feature(f)
        wp = f"WP{rng.randrange(1, wps + 1):02d}"
        sentence = " ".join(rng.choice(_WORDS) for _ in range(rng.randrange(6, 16)))
        if kind == "WPStatusChanged":
            a, b = rng.sample(LANES, 2)
            yield kind, {"wp_id": wp, "from_lane": a, "to_lane": b,
                         "actor": f"agent-{rng.randrange(5)}", "feature_slug": feature}
        elif kind == "HistoryAdded":
            yield kind, {"wp_id": wp, "entry_type": "note", "entry_content": sentence,
                         "author": f"user-{rng.randrange(8)}", "feature_slug": feature}
        elif kind == "WPAssigned":
            yield kind, {"wp_id": wp, "agent_id": f"agent-{rng.randrange(5)}",
                         "phase": rng.choice(("implementation", "review")),
                         "retry_count": rng.randrange(3), "feature_slug": feature}
        elif kind == "WPCreated":
            yield kind, {"wp_id": wp, "title": sentence[:60], "dependencies": [],
                         "feature_slug": feature}
        elif kind == "DependencyResolved":
            yield kind, {"wp_id": wp, "dependency_wp_id": f"WP{rng.randrange(1, wps + 1):02d}",
                         "resolution_type": "completed", "feature_slug": feature}
        elif kind == "FeatureCreated":
            yield kind, {"feature_slug": feature, "feature_number": f"{f % 1000:03d}",
                         "target_branch": "main", "wp_count": wps}
        elif kind == "ErrorLogged":
            yield kind, {"error_type": "runtime", "error_message": sentence,
                         "wp_id": wp, "stack_trace": None, "agent_id": None,
                         "feature_slug": feature}
        else:
            yield kind, {"feature_slug": feature, "total_wps": wps,
                         "completed_at": "2026-11-01T12:00:00.000000Z",
                         "total_duration": iso_duration(3600.5)}


def envelopes(n: int, team_slug: str, seed: int = 11, projects: int = 4) -> list[dict[str, Any]]:
    """Build `n` full, valid envelopes for `team_slug` (for direct ingest), spread on projects."""
    rng = random.Random(seed)
    nodes = [f"{rng.getrandbits(48):012x}" for _ in range(3)]
    projs = [(str(uuid.UUID(int=rng.getrandbits(128), version=4)), f"bench-project-{i}")
             for i in range(projects)]
    out = []
    for i, (kind, payload) in enumerate(payloads(n, seed)):
        project_uuid, project_slug = projs[i % projects]
        out.append(build_event(kind, payload, node_id=nodes[i % 3],
                               team_slug=team_slug, project_uuid=project_uuid,
                               project_slug=project_slug, lamport_clock=i + 1))
    return out
