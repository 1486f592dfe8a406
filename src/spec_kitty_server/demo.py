"""Deterministic demo data: the `demo` team with two projects, features, work packages and a
few hundred events with a plausible history, for screenshots and documentation examples.

The same seed always gives the same event ids, so filling twice stores nothing new.
"""

from __future__ import annotations

import random
import sqlite3
from datetime import UTC, datetime, timedelta
from typing import Any

import ulid

from spec_kitty_protocol import build_event, iso_duration
from spec_kitty_server.events import count_events
from spec_kitty_server.ingest import ingest
from spec_kitty_server.validation import check_event

TEAM = "demo"
"""Slug of the demo team."""

PROJECTS = {
    "kitty-web": ("6f1c2a9e-3b4d-4e8f-9a1b-2c3d4e5f6a7b", [
        ("001-login-flow", ["Login form", "Session cookies", "Password reset mail",
                            "Rate limiting"]),
        ("002-kanban-board", ["Board columns", "Drag and drop", "Board filters",
                              "Live updates over WebSocket"]),
        ("003-dark-mode", ["Colour tokens", "Theme switcher", "Contrast audit"]),
    ]),
    "kitty-api": ("0a9b8c7d-6e5f-4a3b-8c2d-1e0f9a8b7c6d", [
        ("001-batch-ingest", ["Batch endpoint", "Schema validation", "Duplicate detection",
                              "Gzip bodies", "Load test"]),
        ("002-event-feed", ["Cursor pagination", "Team scoping", "OpenAPI document"]),
    ]),
}
ACTORS = {"alice": "a1a1a1a1a1a1", "bob": "b2b2b2b2b2b2", "claude": "c3c3c3c3c3c3",
          "codex": "d4d4d4d4d4d4"}
BASE = datetime(2026, 11, 2, 8, 30, tzinfo=UTC)


class _Emitter:
    def __init__(self) -> None:
        self.rng = random.Random(20261122)
        self.now = BASE
        self.clocks = dict.fromkeys(ACTORS.values(), 0)
        self.events: list[dict[str, Any]] = []

    def emit(self, actor: str, project: str, feature: str, kind: str,
             payload: dict[str, Any]) -> None:
        self.now += timedelta(minutes=self.rng.randint(3, 95), seconds=self.rng.randint(0, 59))
        node = ACTORS[actor]
        # Each node's clock also receives the last event (the demo's team syncs often), so
        # the Lamport order is the order of the story.
        self.clocks[node] = max(self.clocks.values()) + 1
        ms = int(self.now.timestamp() * 1000)
        # Seeded ids (not `new_event_id()`): the same seed must give the same events.
        event_id = str(ulid.ULID.from_int((ms << 80) | self.rng.getrandbits(80)))
        self.events.append(build_event(
            kind, {**payload, "feature_slug": feature}, node_id=node, team_slug=TEAM,
            project_uuid=PROJECTS[project][0], project_slug=project,
            lamport_clock=self.clocks[node], event_id=event_id,
            timestamp=self.now.strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"))


def _move(em: _Emitter, project: str, feature: str, wp: str, actor: str, src: str,
          dst: str) -> None:
    em.emit(actor, project, feature, "WPStatusChanged",
            {"wp_id": wp, "from_lane": src, "to_lane": dst, "actor": actor})


def _history(em: _Emitter, project: str, feature: str, wp: str, author: str, text: str) -> None:
    em.emit(author, project, feature, "HistoryAdded",
            {"wp_id": wp, "entry_type": "note", "entry_content": text, "author": author})


def build_events() -> list[dict[str, Any]]:
    """Generate the demo events (always the same ones).

    Returns:
        The events, in emission order.
    """
    em = _Emitter()
    rng = em.rng
    agents = ["claude", "codex"]
    humans = ["alice", "bob"]
    for project, (_, features) in PROJECTS.items():
        for index, (feature, titles) in enumerate(features):
            lead = humans[index % 2]
            created_at = em.now
            em.emit(lead, project, feature, "FeatureCreated",
                    {"feature_number": feature[:3], "target_branch": "main",
                     "wp_count": len(titles)})
            wps = [f"WP{n:02d}" for n in range(1, len(titles) + 1)]
            for n, (wp, title) in enumerate(zip(wps, titles, strict=True)):
                em.emit(lead, project, feature, "WPCreated",
                        {"wp_id": wp, "title": title, "dependencies": wps[:n][-1:]})
            # How far each feature gets: the first ones finish, the last ones are under way.
            progress = 3 - index
            done = 0
            for n, wp in enumerate(wps):
                # Finished features are done throughout; in the others the later work
                # packages lag behind, so every lane of the board has cards.
                stage = 3 if progress == 3 else max(0, min(3, progress + 1 - n))
                if stage == 0:
                    continue
                agent = rng.choice(agents)
                em.emit(agent, project, feature, "WPAssigned",
                        {"wp_id": wp, "agent_id": agent, "phase": "implementation",
                         "retry_count": 0})
                _move(em, project, feature, wp, agent, "planned", "in_progress")
                _history(em, project, feature, wp, agent, f"Started {wp}: read the spec and "
                                                           "the plan.")
                for step in range(rng.randint(3, 9)):
                    _history(em, project, feature, wp, agent, f"Progress note {step + 1}.")
                if stage == 1:
                    continue
                _move(em, project, feature, wp, agent, "in_progress", "for_review")
                reviewer = rng.choice(humans)
                em.emit(reviewer, project, feature, "WPAssigned",
                        {"wp_id": wp, "agent_id": reviewer, "phase": "review",
                         "retry_count": 0})
                if rng.random() < 0.3:
                    _move(em, project, feature, wp, reviewer, "for_review", "in_progress")
                    _history(em, project, feature, wp, reviewer, "Changes requested: add tests.")
                    _move(em, project, feature, wp, agent, "in_progress", "for_review")
                if stage == 2:
                    continue
                _move(em, project, feature, wp, reviewer, "for_review", "done")
                done += 1
                if n + 1 < len(wps):
                    em.emit(reviewer, project, feature, "DependencyResolved",
                            {"wp_id": wps[n + 1], "dependency_wp_id": wp,
                             "resolution_type": "completed"})
            if rng.random() < 0.4:
                em.emit("codex", project, feature, "ErrorLogged",
                        {"error_type": "runtime",
                         "error_message": "MergeConflict: rebase of the workspace stopped on "
                                          "a conflict.",
                         "wp_id": wps[-1], "stack_trace": None, "agent_id": "codex"})
            if done == len(wps):
                em.emit(lead, project, feature, "FeatureCompleted",
                        {"total_wps": len(wps), "completed_at": em.events[-1]["timestamp"],
                         "total_duration": iso_duration((em.now - created_at).total_seconds())})
    return em.events


def fill(conn: sqlite3.Connection) -> tuple[int, int]:
    """Store the demo events (the `demo` team must exist).

    Args:
        conn: The writer connection of the database.

    Returns:
        Events added now, and demo events stored in total.
    """
    events = build_events()
    added = 0
    for start in range(0, len(events), 1000):
        checked = [check_event(e, TEAM) for e in events[start:start + 1000]]
        bad = [c.error for c in checked if c.error]
        if bad:  # pragma: no cover - the generator is tested
            raise ValueError(f"demo event invalid: {bad[0]}")
        results, _ = ingest(conn, checked)
        added += sum(1 for r in results if r["status"] == "success")
    return added, count_events(conn, TEAM)
