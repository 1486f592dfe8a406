"""The write path stores exactly what the pre-issue-18 write path stored, for random batches.

Each seed pushes random batches (every event type, unknown types, lane aliases, bare WP ids,
duplicates within a batch and of stored events, invalid events, events of another team,
clocks beyond the Lamport bound, equal clocks) through `spec_kitty_server.ingest` and
through the frozen copy in `tests/server/_ingest_reference.py`, each into its own database,
and compares the per-event results, the events handed to the WebSocket hub, and every row
of every table the write path touches (all but the receive time, which is the clock's).
"""

from __future__ import annotations

import random
import sqlite3
from typing import Any

import pytest

from spec_kitty_protocol import MAX_LAMPORT_STEP, build_event
from spec_kitty_server.ingest import ingest
from spec_kitty_server.store import open_database
from spec_kitty_server.validation import check_event
from tests.server import _ingest_reference as reference

_TEAMS = ("acme", "other")
_NODES = ("0123456789ab", "a1b2c3d4e5f6", "ffffffffffff")
_LANES = ("planned", "claimed", "in_progress", "for_review", "approved", "done", "blocked",
          "canceled", "doing")
_UUID = "12345678-1234-4234-8234-123456789abc"

_TABLES = {
    "events": "seq, event_id, team_slug, event_type, project_slug, body, node_id, lamport",
    "team_stats": "*", "node_clocks": "*", "projects": "*", "features": "*",
    "work_packages": "*",
}


def _payload(rng: random.Random, kind: str, feature: str, wp: str) -> dict[str, Any]:
    bare = rng.random() < 0.3  # stock 2.x events name no feature
    with_feature = {} if bare else {"feature_slug": feature}
    if kind == "WPStatusChanged":
        return {"wp_id": wp, "from_lane": rng.choice(_LANES), "to_lane": rng.choice(_LANES),
                "actor": rng.choice(["a", None]), **with_feature}
    if kind == "WPAssigned":
        return {"wp_id": wp, "agent_id": rng.choice(["claude", "codex"]),
                "phase": rng.choice(["implementation", "review"]),
                "retry_count": rng.randrange(3), **with_feature}
    if kind == "WPCreated":
        return {"wp_id": wp, "title": f"Title {rng.randrange(100)}", "dependencies": [],
                "feature_slug": feature}
    if kind == "HistoryAdded":
        return {"wp_id": wp, "entry_type": "note", "entry_content": "x", **with_feature}
    if kind == "FeatureCreated":
        return {"feature_slug": feature, "feature_number": feature[:3],
                "target_branch": rng.choice(["main", "dev"]), "wp_count": rng.randrange(9)}
    if kind == "FeatureCompleted":
        done = {"completed_at": "2026-01-02T03:04:05Z"} if rng.random() < 0.5 else {}
        return {"feature_slug": feature, "total_wps": 3, **done}
    if kind == "ErrorLogged":
        return {"error_type": "runtime", "error_message": "m", "wp_id": wp,
                "feature_slug": feature}
    return {"wp_id": wp, "dependency_wp_id": "WP02", "resolution_type": "merged",
            "feature_slug": feature}


_KINDS = ("WPStatusChanged", "WPStatusChanged", "WPStatusChanged", "WPAssigned", "WPCreated",
          "HistoryAdded", "FeatureCreated", "FeatureCompleted", "ErrorLogged",
          "DependencyResolved")


def _event(rng: random.Random, team: str, clock: int) -> Any:
    roll = rng.random()
    if roll < 0.03:
        return rng.choice([None, 7, "text", ["list"]])  # not an object at all
    project = rng.choice(["web", "api"])
    feature = rng.choice(["001-login", "002-search", "003-pay"])
    wp = f"WP0{rng.randrange(1, 5)}"
    if roll < 0.06:
        return build_event("CustomThing", {"anything": [1, 2]}, node_id=rng.choice(_NODES),
                           team_slug=team, project_uuid=_UUID, project_slug=project,
                           aggregate_id="x", aggregate_type="Custom", lamport_clock=clock)
    kind = rng.choice(_KINDS)
    event = build_event(kind, _payload(rng, kind, feature, wp), node_id=rng.choice(_NODES),
                        team_slug=team, project_uuid=_UUID, project_slug=project,
                        lamport_clock=clock)
    if roll < 0.10:
        event[rng.choice(["node_id", "timestamp", "lamport_clock"])] = "bad"
    elif roll < 0.12:
        del event["payload"][next(iter(event["payload"]))]
    elif roll < 0.15:
        event["team_slug"] = "stranger"  # another team than the token's
    return event


def _batches(seed: int) -> list[tuple[str, list[Any]]]:
    rng = random.Random(seed)
    clocks = dict.fromkeys(_TEAMS, 0)
    sent: list[Any] = []
    out = []
    for _ in range(rng.randrange(6, 14)):
        team = "acme" if rng.random() < 0.75 else "other"
        batch: list[Any] = []
        for _ in range(rng.randrange(1, 80)):
            roll = rng.random()
            if sent and roll < 0.08:
                batch.append(rng.choice(sent))  # a duplicate of an earlier batch's event
            elif batch and roll < 0.12:
                batch.append(rng.choice(batch))  # a duplicate within the batch
            else:
                clocks[team] += rng.choice([0, 1, 1, 2, 5])  # 0: equal clocks
                clock = clocks[team]
                if rng.random() < 0.03:  # once, beyond the bound (or just within it)
                    clock += MAX_LAMPORT_STEP + rng.randrange(-1, 3)
                batch.append(_event(rng, team, clock))
        sent.extend(batch)
        out.append((team, batch))
    return out


def _dump(conn: sqlite3.Connection) -> dict[str, list[tuple[Any, ...]]]:
    return {table: sorted(conn.execute(f"SELECT {columns} FROM {table}").fetchall(),
                          key=repr)
            for table, columns in _TABLES.items()}


def _hub_view(stored) -> list[dict[str, Any]]:
    return [{k: v for k, v in event.items() if k != "received_at"} for event in stored]


@pytest.mark.parametrize("seed", range(10))
def test_the_write_path_stores_what_the_reference_stores(tmp_path, seed):
    new = open_database(tmp_path / "new.sqlite3")
    old = open_database(tmp_path / "old.sqlite3")
    try:
        statuses = set()
        for team, batch in _batches(seed):
            got = ingest(new, [check_event(e, team) for e in batch])
            want = reference.ingest(old, [check_event(e, team) for e in batch])
            assert got[0] == want[0]
            assert _hub_view(got[1]) == _hub_view(want[1])
            assert len(got[1]) == len(want[1])
            assert _hub_view(got[1][-2:]) == _hub_view(want[1][-2:])  # indexing as a list
            statuses.update(r["status"] for r in got[0])
        assert statuses == {"success", "duplicate", "rejected"}  # the seed covers each path
        assert _dump(new) == _dump(old)
        assert _dump(new)["work_packages"]  # the board was written
    finally:
        new.close()
        old.close()
