"""Fixtures of the security tests: a shared two-team reference server.

The helpers that log in to it (`tests/_support/logins.py`) register every token they obtain
with the suite-wide leak check (`tests/_support/leaks.py`), so no later output may contain it.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests._support.logins import PASSWORD
from tests._support.procs import ServerProcess, add_user, start_server


@pytest.fixture(scope="module")
def two_teams(tmp_path_factory) -> ServerProcess:
    """One server per module: alice (acme), bob (other), carol (acme, spare for rate limits)."""
    tmp: Path = tmp_path_factory.mktemp("two-teams")
    db = tmp / "server.sqlite3"
    for name, team in (("alice", "acme"), ("bob", "other"), ("carol", "acme")):
        add_user(db, name, PASSWORD, team)
    proc = start_server(tmp, db=db)
    yield proc
    proc.stop()
