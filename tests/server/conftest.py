"""Fixtures of the reference-server tests: one shared server per module and its logins.

The helpers these use (events, users, logins, pushes) live in `tests/_support`."""

from __future__ import annotations

from typing import Any

import pytest

from tests._support.server_api import client, start_with_users, tokens_for


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
