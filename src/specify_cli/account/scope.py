"""Which offline queue belongs to which account.

One queue per account scope (server + user + team), so logging in as someone else can never
push another account's events (upstream #174). `sync status`, `sync now`, the runtime,
`auth login` and `auth logout` all resolve the queue path here and nowhere else (upstream #3004).
"""

from __future__ import annotations

from pathlib import Path

from specify_cli.config import home_dir

LOCAL_SCOPE = "local"
"""Scope of the queue used while logged out; its events are never pushed."""


def account_scope(server_url: str, username: str, team_slug: str) -> str:
    """Return a short stable id for one account: a hash of server, user and team."""
    import hashlib  # lazily: start-up time of every command counts

    key = "\n".join((server_url.rstrip("/"), username, team_slug)).encode()
    return hashlib.sha256(key).hexdigest()[:16]


def queue_path(scope: str) -> Path:
    """Return the SQLite file of the queue for `scope`."""
    return home_dir() / "queues" / f"{scope}.sqlite3"
