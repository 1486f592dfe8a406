"""Shared by the trust tests (tests/sync/test_trust.py, tests/reliability): one node's
events, the logged-in account's queue, and the check every trial ends with: every expected
event on the server once, this node's Lamport values unique and increasing."""

from __future__ import annotations

from spec_kitty_protocol import build_event
from tests._support import figures
from tests._support.events import PROJECT_UUID
from tests._support.server_api import server_events

NODE = "c0ffee0c10c4"


def trust_event(team: str, n: int) -> dict:
    return build_event("HistoryAdded", {"wp_id": "WP01", "feature_slug": "001-login-flow",
                                        "entry_type": "note", "entry_content": f"n{n}",
                                        "author": "me"},
                       node_id=NODE, team_slug=team, project_uuid=PROJECT_UUID,
                       project_slug="trust")


def account_queue():
    from specify_cli.account import credentials as auth
    from specify_cli.account.scope import queue_path
    from specify_cli.sync.queue import OfflineQueue

    return OfflineQueue(queue_path(auth.load_credentials().scope))


def sync_all(queue, url: str) -> None:
    from specify_cli.sync import sync_once

    report = sync_once(queue, url, node_id=NODE)
    assert report.error is None, report.error
    assert queue.pending_count() == 0


def check_node(url: str, users: tuple[str, ...], expected: set[str]) -> None:
    """Every expected event is on the server once; this node's clocks rise in push order."""
    by_user = {user: [e for e in server_events(url, user) if e["node_id"] == NODE]
               for user in users}
    mine = [e for events in by_user.values() for e in events]
    ids = [e["event_id"] for e in mine]
    lost, doubled = len(expected - set(ids)), len(ids) - len(set(ids))
    clocks = [e["lamport_clock"] for e in sorted(mine, key=lambda e: e["received_at"])]
    by_seq = {user: [e["lamport_clock"] for e in events] for user, events in by_user.items()}
    violations = len(clocks) - len(set(clocks)) + sum(
        1 for seq in by_seq.values() for a, b in zip(seq, seq[1:], strict=False) if b <= a)
    figures.add("events_lost", lost)
    figures.add("events_doubled", doubled)
    figures.add("lamport_violations", violations)
    assert (lost, doubled, violations) == (0, 0, 0)
