"""Helpers for the reference-server tests: valid events, logins and shared servers."""

from __future__ import annotations

import itertools
import uuid
from pathlib import Path
from typing import Any

import httpx
import pytest

from spec_kitty_protocol import build_event
from spec_kitty_server.passwords import hash_password
from spec_kitty_server.storage import Storage
from tests._support.procs import ServerProcess, start_server
from tests.conftest import PASSWORD

PROJECT_UUID = "6f1c2a9e-3b4d-4e8f-9a1b-2c3d4e5f6a7b"
_clock = itertools.count(1)


def make_event(team: str = "acme", kind: str = "WPStatusChanged", *, wp: str = "WP01",
               feature: str = "001-login-flow", project: str = "web",
               to_lane: str = "in_progress", from_lane: str = "planned",
               **override: Any) -> dict[str, Any]:
    """A valid event envelope from the shared builder (override any field by keyword)."""
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


def new_uuid() -> str:
    return str(uuid.uuid4())


def tokens_for(url: str, username: str, password: str = PASSWORD) -> dict[str, Any]:
    response = httpx.post(f"{url}/api/v1/token/", json={"username": username,
                                                        "password": password}, timeout=10)
    assert response.status_code == 200, response.text
    return response.json()


def client(url: str, access: str | None = None) -> httpx.Client:
    headers = {"Authorization": f"Bearer {access}"} if access else {}
    return httpx.Client(base_url=url, headers=headers, timeout=30)


def push(api: httpx.Client, events: list[dict[str, Any]]) -> httpx.Response:
    return api.post("/api/v1/events/batch/", json={"events": events})


def add_users(db: Path, users: list[tuple[str, str]]) -> None:
    """Add users straight into the database (the `user add` command has its own tests)."""
    storage = Storage(db)
    try:
        for name, team in users:
            storage.add_user(name, team, hash_password(PASSWORD))
    finally:
        storage.close()


def start_with_users(tmp: Path, users: list[tuple[str, str]], *args: str) -> ServerProcess:
    db = tmp / "server.sqlite3"
    add_users(db, users)
    return start_server(tmp, *args, db=db)


@pytest.fixture(scope="module")
def shared_server(tmp_path_factory):
    """One server for a whole test module: alice, alice2 (acme), bob (other).

    It pings sockets at its default interval: a test that pauses between two reads (to push
    over HTTP, say) must not lose its socket to missed pongs on a busy machine.
    """
    tmp = tmp_path_factory.mktemp("srv")
    proc = start_with_users(tmp, [("alice", "acme"), ("alice2", "acme"), ("bob", "other")])
    yield proc
    proc.stop()


@pytest.fixture(scope="module")
def alice(shared_server) -> dict[str, Any]:
    return tokens_for(shared_server.url, "alice")


@pytest.fixture
def alice_api(shared_server, alice):
    with client(shared_server.url, alice["access"]) as api:
        yield api
