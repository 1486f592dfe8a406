"""Which offline queue belongs to which account.

One queue per account scope (server + user + team), so logging in as someone else can never
push another account's events (upstream #174). The emitter, `sync now`, `sync status`,
`auth login` and `auth logout` all open an account's queue here and nowhere else
(upstream #3004).
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from specify_cli.config import home_dir
from specify_cli.sync.queue import OfflineQueue

if TYPE_CHECKING:
    from specify_cli.account.credentials import Credentials

LOCAL_SCOPE = "local"
"""Scope of the queue used while logged out; its events are never pushed."""


def queue_path(scope: str) -> Path:
    """Return the SQLite file of the queue for `scope`.

    Args:
        scope: An account scope (`Credentials.scope`) or `LOCAL_SCOPE`.
    """
    return home_dir() / "queues" / f"{scope}.sqlite3"


def open_queue(creds: Credentials | None, cap: int | None = None) -> OfflineQueue:
    """Return the queue of an account: the logged-in one's, or the `local` queue when None.

    Args:
        creds: The account's credentials; None for the work recorded while logged out.
        cap: The queue's cap; the configured one by default.
    """
    return OfflineQueue(queue_path(creds.scope if creds else LOCAL_SCOPE), cap=cap)


def pending_events(creds: Credentials | None) -> int:
    """Return how many events wait in an account's queue, without creating a missing queue.

    Args:
        creds: The account's credentials; None for the work recorded while logged out.
    """
    queue = open_queue(creds, cap=1)  # counting never needs the configured cap
    if not queue.path.exists():
        return 0
    try:
        return queue.pending_count()
    finally:
        queue.close()
