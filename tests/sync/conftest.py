"""Fixtures for the sync-engine tests: a shared real server, queues on real SQLite files."""

from __future__ import annotations

import pytest

from tests._support.fake_server import FakeServer
from tests._support.logins import PASSWORD
from tests._support.procs import add_user, start_server


@pytest.fixture(scope="module")
def shared_server(tmp_path_factory):
    """One real reference server per test module (users alice, carol: acme; bob: other)."""
    work = tmp_path_factory.mktemp("server")
    db = work / "server.sqlite3"
    for user, team in (("alice", "acme"), ("bob", "other"), ("carol", "acme"),
                       ("dave", "acme"), ("erin", "acme")):
        add_user(db, user, PASSWORD, team)
    proc = start_server(work, "--ws-ping-interval", "0.5", db=db)
    yield proc
    proc.stop()



@pytest.fixture(scope="module")
def fake_server():
    """A scripted loopback server per test module; each module's `fake` resets its routes."""
    with FakeServer() as server:
        yield server
