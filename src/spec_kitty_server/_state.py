"""The per-app state shared by the API, WebSocket and dashboard handlers."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from starlette.requests import HTTPConnection

from spec_kitty_server._db import Database
from spec_kitty_server._hashgate import HashGate
from spec_kitty_server.ratelimit import LoginLimiter
from spec_kitty_server.settings import ServerSettings
from spec_kitty_server.storage import Storage

if TYPE_CHECKING:  # pragma: no cover - the hub module imports this one
    from spec_kitty_server.ws import Hub


@dataclass
class AppState:
    """Everything a request handler needs.

    Attributes:
        settings: The instance settings.
        storage: The database (used by handlers through `db`, off the event loop).
        limiter: Login failure counter.
        hub: The WebSocket broadcast hub (`spec_kitty_server.ws.Hub`).
        db: Reads and writes of `storage` on threads, with the write deadline.
        hashes: The gate that bounds concurrent password checks.
    """

    settings: ServerSettings
    storage: Storage
    limiter: LoginLimiter
    hub: Hub
    db: Database
    hashes: HashGate = field(default_factory=HashGate)


def state(conn: HTTPConnection) -> AppState:
    """The `AppState` of the app serving a request or WebSocket.

    Args:
        conn: The request or WebSocket.

    Returns:
        The state.
    """
    return conn.app.state.sk


def client_ip(conn: HTTPConnection) -> str:
    """The client address of a request (no proxy headers are trusted).

    Args:
        conn: The request or WebSocket.

    Returns:
        The address, or `unknown`.
    """
    return conn.client.host if conn.client else "unknown"
