"""A real reference server for tests: users written straight into its database, the server
started on it, and the JSON API (log in, push, read the team's events) spoken over HTTP."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx

from spec_kitty_server import accounts
from spec_kitty_server.passwords import hash_password
from spec_kitty_server.store import open_database
from tests._support.logins import PASSWORD, token
from tests._support.procs import ServerProcess, start_server


def add_users(db: Path, users: list[tuple[str, str]]) -> None:
    """Add `(name, team)` users with the suite's password straight into a database (the
    `user add` command has its own tests)."""
    conn = open_database(db)
    try:
        for name, team in users:
            accounts.add_user(conn, name, team, hash_password(PASSWORD))
    finally:
        conn.close()


def start_with_users(tmp: Path, users: list[tuple[str, str]], *args: str) -> ServerProcess:
    """Start a server on a new database in `tmp` holding these users."""
    db = tmp / "server.sqlite3"
    add_users(db, users)
    return start_server(tmp, *args, db=db)


def tokens_for(url: str, username: str, password: str = PASSWORD) -> dict[str, Any]:
    """Log in through the API; the token answer."""
    response = httpx.post(f"{url}/api/v1/token/", json={"username": username,
                                                        "password": password}, timeout=10)
    assert response.status_code == 200, response.text
    return response.json()


def client(url: str, access: str | None = None) -> httpx.Client:
    """An HTTP client of the server, sending the access token if given."""
    return httpx.Client(base_url=url, headers=bearer(access) if access else {}, timeout=30)


def bearer(access: str) -> dict[str, str]:
    """An Authorization header."""
    return {"Authorization": f"Bearer {access}"}


def push(api: httpx.Client, events: list[dict[str, Any]]) -> httpx.Response:
    """POST events to the batch endpoint."""
    return api.post("/api/v1/events/batch/", json={"events": events})


def server_events(url: str, user: str = "alice") -> list[dict]:
    """Every event of the user's team on the server, in server order."""
    headers = bearer(token(url, user))
    events: list[dict] = []
    cursor = None
    for _ in range(10_000):
        params = {"limit": 1000, **({"after": cursor} if cursor else {})}
        body = httpx.get(f"{url}/api/v1/events/", params=params, headers=headers,
                         timeout=30).json()
        events += body["events"]
        cursor = body["next_cursor"]
        if not body["has_more"]:
            return events
    raise AssertionError("too many pages")
