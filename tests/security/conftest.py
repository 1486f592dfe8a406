"""Fixtures of the security tests: a shared two-team reference server and API helpers.

Every token the helpers obtain is registered with the suite-wide leak check
(`tests/_support/leaks.py`), so no later output may contain it.
"""

from __future__ import annotations

import re
from pathlib import Path

import httpx
import pytest

from tests._support.leaks import REGISTRY
from tests._support.procs import ServerProcess, add_user, start_server
from tests.conftest import PASSWORD

CSRF_FIELD = re.compile(r'name="csrf" value="([^"]*)"')


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


def api_login(url: str, username: str, password: str = PASSWORD) -> dict:
    """POST /api/v1/token/ and return the token pair (registered as secrets)."""
    response = httpx.post(f"{url}/api/v1/token/",
                          json={"username": username, "password": password}, timeout=30)
    assert response.status_code == 200, response.text
    data = response.json()
    REGISTRY.token_response(data)
    return data


def bearer(token: str) -> dict[str, str]:
    """An Authorization header."""
    return {"Authorization": f"Bearer {token}"}


def browser_login(url: str, username: str, password: str = PASSWORD) -> httpx.Client:
    """A cookie-keeping client logged in to the dashboards through the real login form."""
    client = httpx.Client(base_url=url, timeout=30, follow_redirects=False)
    page = client.get("/login/")
    token = CSRF_FIELD.search(page.text).group(1)
    response = client.post("/login/", data={"csrf": token, "username": username,
                                            "password": password})
    assert response.status_code == 303, response.text
    REGISTRY.secret(client.cookies.get("sk_session"), "session cookie")
    return client


def page_csrf(client: httpx.Client, path: str) -> str:
    """The CSRF token of the forms on a page."""
    return CSRF_FIELD.search(client.get(path).text).group(1)
