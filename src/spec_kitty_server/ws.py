"""The live event WebSocket endpoint (`/ws/v1/events/`).

A client authenticates with a one-use ws-token, gets a `snapshot` of its team's board, then
`event` messages for every new team event (from any client, HTTP or WebSocket) and a `ping`
every interval. A client that misses two pongs, or falls too far behind, is dropped. Who is
connected, and which events go to whom, is the hub's (`spec_kitty_server._hub`).
"""

from __future__ import annotations

import asyncio
import json
import sqlite3
from typing import Any

from starlette.websockets import WebSocket, WebSocketDisconnect, WebSocketState

from spec_kitty_protocol import MAX_EVENT_BYTES
from spec_kitty_server import board, credentials, tokens
from spec_kitty_server._auth import active_user
from spec_kitty_server._errors import RequestError
from spec_kitty_server._hub import Client, disable_if_gone, watch_user
from spec_kitty_server._json import dumps
from spec_kitty_server._state import AppState, state
from spec_kitty_server.ingest import ingest
from spec_kitty_server.validation import check_event

CLOSE_UNAUTHORIZED = 4401
"""Close code for a missing, bad, expired or reused ws-token."""

CLOSE_FORBIDDEN = 4403
"""Close code for a disabled user."""

CLOSE_PONG_TIMEOUT = 4408
"""Close code for a client that missed two pongs."""

CLOSE_TOO_SLOW = 4429
"""Close code for a client whose outgoing queue overflowed."""

def _ws_token(websocket: WebSocket) -> str | None:
    header = websocket.headers.get("authorization")
    if header:
        scheme, _, value = header.partition(" ")
        return value.strip() if scheme.lower() == "bearer" else None
    return websocket.query_params.get("token")


async def events_socket(websocket: WebSocket) -> None:
    """Serve one WebSocket connection.

    Args:
        websocket: The connection.
    """
    st = state(websocket)
    await websocket.accept()
    value = _ws_token(websocket)
    try:
        claims = tokens.verify(st.settings.secret, value or "", "ws")
    except tokens.TokenError:
        await websocket.close(CLOSE_UNAUTHORIZED, "invalid or expired ws token")
        return
    if not await st.db.write(credentials.use_ws_token, claims.jti, claims.exp):
        await websocket.close(CLOSE_UNAUTHORIZED, "ws token already used")
        return
    try:
        user = await active_user(st, claims)
    except RequestError:
        await websocket.close(CLOSE_FORBIDDEN, "account disabled")
        return
    client = Client(user.team_slug, user.username)
    st.hub.register(client)
    try:
        client.send({"type": "snapshot",
                     "board": await st.db.read(board.snapshot, user.team_slug)})
        await _run(websocket, client, st)
    finally:
        st.hub.unregister(client)


async def _run(websocket: WebSocket, client: Client, st: AppState) -> None:
    pong = {"missed": 0, "waiting": False}
    tasks = [asyncio.create_task(_sender(websocket, client)),
             asyncio.create_task(_receiver(websocket, client, st, pong)),
             asyncio.create_task(_pinger(client, st.settings.ws_ping_interval, pong)),
             asyncio.create_task(_watch_user(client, st))]
    try:
        done, _ = await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
    code = None
    for task in done:
        if not task.cancelled() and task.exception() is None:
            code = task.result() or code
    if code and websocket.application_state == WebSocketState.CONNECTED:
        try:
            await websocket.close(code)
        except (RuntimeError, OSError):
            pass


async def _sender(websocket: WebSocket, client: Client) -> int | None:
    while True:
        message = await client.queue.get()
        if message is None:
            return CLOSE_TOO_SLOW
        if client.closed:
            return CLOSE_FORBIDDEN
        try:
            await websocket.send_text(dumps(message))
        except (WebSocketDisconnect, RuntimeError, OSError):
            return None


MISSED_PONGS_LIMIT = 2
"""A client that has not answered this many pings in a row is disconnected."""


async def _watch_user(client: Client, st: AppState) -> int | None:
    await watch_user(st.db, client)
    return CLOSE_FORBIDDEN


async def _pinger(client: Client, interval: float, pong: dict[str, Any]) -> int | None:
    while True:
        await asyncio.sleep(interval)
        if pong["waiting"]:
            pong["missed"] += 1
            if pong["missed"] >= MISSED_PONGS_LIMIT:
                return CLOSE_PONG_TIMEOUT
        pong["waiting"] = True
        client.send({"type": "ping"})


async def _receiver(websocket: WebSocket, client: Client, st: AppState,
                    pong: dict[str, Any]) -> int | None:
    while True:
        try:
            frame = await websocket.receive()
        except (WebSocketDisconnect, RuntimeError):
            return None
        if frame["type"] == "websocket.disconnect":
            return None
        text = frame.get("text")
        if text is None:
            try:
                text = (frame.get("bytes") or b"").decode("utf-8")
            except UnicodeDecodeError:
                text = ""
        if len(text) > MAX_EVENT_BYTES * 2:
            client.send({"type": "error", "detail": "Message too large."})
            continue
        try:
            message = json.loads(text)
        except (ValueError, RecursionError):
            client.send({"type": "error", "detail": "Messages must be JSON objects."})
            continue
        kind = message.get("type") if isinstance(message, dict) else None
        if kind == "pong":
            pong["waiting"] = False
            pong["missed"] = 0
        elif kind == "ping":
            client.send({"type": "pong"})
        elif kind == "event":
            if await disable_if_gone(st.db, client):  # nothing a disabled user sends is stored
                return CLOSE_FORBIDDEN
            checked = check_event(message.get("event"), client.team)
            try:
                results, stored = await st.db.write(ingest, [checked])
            except sqlite3.OperationalError:
                client.send({"type": "error", "event_id": checked.event_id,
                             "detail": "The database is busy; push this event again."})
                continue
            if stored:
                st.hub.publish(client.team, stored, exclude=client)
            client.send({"type": "ack", **results[0]})
        else:
            client.send({"type": "error", "detail": 'Unknown message type; expected "pong" '
                                                    'or "event".'})
