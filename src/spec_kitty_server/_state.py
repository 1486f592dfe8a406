"""The per-app state shared by the API, WebSocket and dashboard handlers."""

from __future__ import annotations

from dataclasses import dataclass, field

from starlette.requests import HTTPConnection

from spec_kitty_server._db import Database
from spec_kitty_server._hashgate import HashGate
from spec_kitty_server._hub import Hub
from spec_kitty_server.ratelimit import LoginLimiter
from spec_kitty_server.settings import ServerSettings


@dataclass
class AppState:
    """Everything a request handler needs.

    Attributes:
        settings: The instance settings.
        limiter: Login failure counter.
        hub: The connected WebSocket clients and the fan-out of new events.
        db: The database, read and written on threads, with the write deadline.
        hashes: The gate that bounds concurrent password checks.
    """

    settings: ServerSettings
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
