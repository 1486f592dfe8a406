"""The WebSocket hub: who is connected, the fan-out of new events, and the closing of a
disabled user's sockets.

It holds no socket: each connection (`spec_kitty_server.ws`) registers a `Client` whose queue
its sender drains. A client whose queue overflows, or whose user is disabled, is marked, and
its connection closes it.
"""

from __future__ import annotations

import asyncio
from typing import Any

from spec_kitty_server import accounts
from spec_kitty_server._db import Database

USER_CHECK_SECONDS = 0.5
"""How often an open socket re-reads its user: a user disabled by any process sharing the
database (`spec-kitty-server user disable NAME`) has their sockets closed within this time."""

QUEUE_SIZE = 20_000
"""Messages buffered per client before it is dropped as too slow."""


class Client:
    """One connected socket's team, user and outgoing queue.

    Args:
        team: The team whose events it gets.
        username: Its user (re-read to close the socket once disabled).

    Attributes:
        queue: Messages to send; `None` tells the sender to close as too slow.
        overflowed: The queue overflowed.
        closed: The user was disabled; nothing more is sent.
    """

    def __init__(self, team: str, username: str = "") -> None:
        self.team = team
        self.username = username
        self.queue: asyncio.Queue[dict[str, Any] | None] = asyncio.Queue(QUEUE_SIZE)
        self.overflowed = False
        self.closed = False

    def send(self, message: dict[str, Any]) -> None:
        """Queue a message, or mark the client too slow when its queue is full.

        Args:
            message: The JSON message.
        """
        if self.overflowed or self.closed:
            return
        try:
            self.queue.put_nowait(message)
        except asyncio.QueueFull:
            # Too slow: drop what is buffered and tell the sender to close the connection.
            self.overflowed = True
            while not self.queue.empty():
                self.queue.get_nowait()
            self.queue.put_nowait(None)


class Hub:
    """Connected WebSocket clients by team, and the fan-out of new events."""

    def __init__(self) -> None:
        self._clients: dict[str, set[Client]] = {}

    def register(self, client: Client) -> None:
        """Add a client to its team.

        Args:
            client: The connection's client record.
        """
        self._clients.setdefault(client.team, set()).add(client)

    def unregister(self, client: Client) -> None:
        """Remove a client.

        Args:
            client: The connection's client record.
        """
        clients = self._clients.get(client.team)
        if clients is not None:
            clients.discard(client)
            if not clients:
                del self._clients[client.team]

    def count(self, team: str | None = None) -> int:
        """Connected clients.

        Args:
            team: Only this team's, if given.

        Returns:
            The count.
        """
        if team is not None:
            return len(self._clients.get(team, ()))
        return sum(len(c) for c in self._clients.values())

    def publish(self, team: str, events: list[dict[str, Any]],
                exclude: Client | None = None) -> None:
        """Queue `event` messages for every client of a team.

        Args:
            team: The team whose clients get the events.
            events: Newly stored events (with `server_seq`).
            exclude: A client that should not get them (the one that pushed them).
        """
        for client in tuple(self._clients.get(team, ())):
            if client is exclude:
                continue
            for event in events:
                client.send({"type": "event", "event": event})


async def disable_if_gone(db: Database, client: Client) -> bool:
    """Re-read a client's user; mark the client closed when disabled or moved to another team.

    Args:
        db: The database.
        client: The client.

    Returns:
        Whether the client is now closed.
    """
    user = await db.read(accounts.get_user, client.username)
    if user is None or user.disabled or user.team_slug != client.team:
        client.closed = True
    return client.closed


async def watch_user(db: Database, client: Client) -> None:
    """Return once the client's user is disabled (the client is then marked closed).

    Args:
        db: The database.
        client: The client.
    """
    while True:
        await asyncio.sleep(USER_CHECK_SECONDS)
        if await disable_if_gone(db, client):
            return
