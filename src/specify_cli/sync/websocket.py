"""Live sync over the WebSocket `/ws/v1/events/`.

The client exchanges the access token for a short-lived ws-token at `POST /api/v1/ws-token/`
and connects with `Authorization: Bearer <ws_token>`. While connected it answers the
server's `{"type": "ping"}` with `{"type": "pong"}`, sends emitted events (each also sits in
the offline queue until its `ack` arrives, so nothing depends on the socket staying up),
and stores the team events the server pushes. It reconnects with jittered exponential
backoff and drains the offline queue after each (re)connect. After `MAX_FAILURES`
consecutive failed connections it gives up and leaves syncing to the batch mode; the state
is recorded for `spec-kitty sync status`.
"""

from __future__ import annotations

import contextlib
import json
import random
import threading
import time
from collections.abc import Callable
from typing import Any

from websockets.exceptions import ConnectionClosedOK
from websockets.sync.client import connect

from spec_kitty_protocol import WS_PATH, WS_TOKEN_PATH
from specify_cli import http_client as _http
from specify_cli._text import without_surrogates
from specify_cli.account.session import Session, json_body
from specify_cli.errors import NotAuthenticatedError, ServerError
from specify_cli.sync.queue import OfflineQueue

MAX_FAILURES = 5
"""Consecutive failed connections after which the client falls back to batch mode."""

RECONNECT_START_SECONDS = 0.5
"""First reconnect delay (before jitter)."""

RECONNECT_MAX_SECONDS = 30.0
"""Longest reconnect delay (before jitter)."""

STATE_CONNECTING = "connecting"
STATE_CONNECTED = "connected"
STATE_RECONNECTING = "reconnecting"
STATE_FALLBACK = "batch fallback"
STATE_STOPPED = "stopped"


def reconnect_delay(failures: int, rng: random.Random | None = None) -> float:
    """Return the jittered delay before reconnect attempt number `failures` (1-based).

    The base doubles from 0.5 s up to 30 s; the jitter picks uniformly in `[base / 2, base]`.

    Args:
        failures: Consecutive failures so far.
        rng: Random source (for tests).
    """
    base = min(RECONNECT_MAX_SECONDS, RECONNECT_START_SECONDS * 2 ** max(0, min(failures - 1, 16)))
    return (rng or random).uniform(base / 2, base)


def ws_url(server_url: str) -> str:
    """Return the WebSocket URL for a server URL (`http` -> `ws`, `https` -> `wss`).

    Args:
        server_url: The server's HTTP(S) URL.
    """
    scheme, rest = server_url.split("://", 1)
    return ("wss" if scheme == "https" else "ws") + "://" + rest.rstrip("/") + WS_PATH


class WebSocketClient:
    """A background thread that keeps one WebSocket to the server open.

    Args:
        server_url: The account's server.
        queue: The account's scope database (acks delete from it; pushed events go into
            its event log).
        node_id: This node (its clock receives the values of pushed events).
        drain: Called after each successful connect to push the offline queue.
        max_failures: Consecutive failures before falling back to batch mode.
    """

    def __init__(self, server_url: str, queue: OfflineQueue, node_id: str | None = None,
                 drain: Callable[[], object] | None = None,
                 max_failures: int = MAX_FAILURES) -> None:
        self.server_url = server_url
        self.queue = queue
        self.node_id = node_id
        self._drain = drain
        self.max_failures = max_failures
        self.state = STATE_STOPPED
        self.failures = 0
        self.connects = 0
        self.acks: dict[str, str] = {}
        self._ws: Any = None
        self._send_lock = threading.Lock()
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None
        self._outstanding: set[str] = set()
        self._ack_cv = threading.Condition()

    @property
    def connected(self) -> bool:
        """True while the socket is open."""
        return self.state == STATE_CONNECTED and self._ws is not None

    def start(self) -> None:
        """Start the connection thread (once)."""
        if self._thread is None:
            self._set_state(STATE_CONNECTING)
            self._thread = threading.Thread(target=self._run, name="spec-kitty-ws", daemon=True)
            self._thread.start()

    def stop(self, timeout: float = 2.0) -> None:
        """Close the socket and wait up to `timeout` seconds for the thread to end.

        Args:
            timeout: Seconds to wait.
        """
        self._stopping.set()
        ws = self._ws
        if ws is not None:
            with contextlib.suppress(Exception):
                ws.close()
        if self._thread is not None:
            self._thread.join(timeout)
        if self.state != STATE_FALLBACK:
            self._set_state(STATE_STOPPED)

    def send_event(self, event: dict[str, Any]) -> bool:
        """Send an event over the socket if it is open (it is already queued either way).

        Args:
            event: A stored event.

        Returns:
            True when it was sent.
        """
        ws = self._ws
        if ws is None or self.state != STATE_CONNECTED:
            return False
        try:
            with self._ack_cv:
                self._outstanding.add(event["event_id"])
            with self._send_lock:
                ws.send(json.dumps({"type": "event", "event": event}, separators=(",", ":")))
            return True
        except Exception:  # noqa: BLE001 - a dead socket: the event stays queued
            with self._ack_cv:
                self._outstanding.discard(event["event_id"])
            return False

    def wait_for_acks(self, timeout: float) -> bool:
        """Wait up to `timeout` seconds until every sent event is acknowledged.

        Args:
            timeout: Seconds to wait.

        Returns:
            True when nothing is outstanding.
        """
        deadline = time.monotonic() + timeout
        with self._ack_cv:
            while self._outstanding and self.connected:
                left = deadline - time.monotonic()
                if left <= 0:
                    break
                self._ack_cv.wait(left)
            return not self._outstanding

    # -- thread -----------------------------------------------------------------------------

    def _set_state(self, state: str, detail: str = "") -> None:
        self.state = state
        with contextlib.suppress(Exception):
            self.queue.set_state(ws_state=state, ws_detail=detail, ws_state_at=time.time())

    def _ws_token(self) -> str:
        with Session(self.server_url, timeout=5.0) as session:
            response = session.request("POST", WS_TOKEN_PATH)
            if response.status_code != 200:
                raise _http.status_error(self.server_url, response)
            body = json_body(session, response)
        token = body.get("ws_token") if isinstance(body, dict) else None
        if not isinstance(token, str) or not token:
            raise ServerError("the server sent no ws_token")
        return token

    def _run(self) -> None:
        while not self._stopping.is_set():
            try:
                token = self._ws_token()
                with connect(ws_url(self.server_url), open_timeout=5, close_timeout=1,
                             additional_headers={"Authorization": f"Bearer {token}"}) as ws:
                    self._ws = ws
                    self.failures = 0
                    self.connects += 1
                    # What queued while disconnected goes first, over HTTP; only then is the
                    # socket `connected`, so an event emitted from then on goes over the
                    # socket alone, not a second time in the drain's push.
                    if self._drain is not None:
                        with contextlib.suppress(Exception):
                            self._drain()
                    self._set_state(STATE_CONNECTED)
                    self._receive_loop(ws)
            except NotAuthenticatedError as exc:
                self._ws = None
                self._set_state(STATE_FALLBACK, f"not authenticated: {exc}")
                return
            except Exception as exc:  # noqa: BLE001 - any failure means reconnect or fall back
                self._ws = None
                if self._stopping.is_set():
                    return
                self.failures += 1
                detail = f"{type(exc).__name__}"
                if self.failures >= self.max_failures:
                    self._set_state(STATE_FALLBACK,
                                    f"{self.failures} failed connections ({detail})")
                    return
                self._set_state(STATE_RECONNECTING, f"attempt {self.failures} ({detail})")
                self._stopping.wait(reconnect_delay(self.failures))
                continue
            self._ws = None
            if not self._stopping.is_set():
                self._set_state(STATE_RECONNECTING, "connection closed")
                self._stopping.wait(reconnect_delay(1))
        with self._ack_cv:
            self._ack_cv.notify_all()

    def _receive_loop(self, ws: Any) -> None:
        while not self._stopping.is_set():
            try:
                raw = ws.recv(timeout=0.5)
            except TimeoutError:
                continue
            except ConnectionClosedOK:
                return
            try:
                message = without_surrogates(json.loads(raw))
            except (TypeError, ValueError, RecursionError):
                continue
            if isinstance(message, dict):
                self._handle(ws, message)

    def _handle(self, ws: Any, message: dict[str, Any]) -> None:
        kind = message.get("type")
        if kind == "ping":
            with self._send_lock:
                ws.send('{"type":"pong"}')
        elif kind == "ack":
            event_id, status = message.get("event_id"), message.get("status")
            if not isinstance(event_id, str):
                return
            if status in ("success", "duplicate"):
                self.queue.delete_event_ids([event_id])
            elif status == "rejected":
                self.queue.reject_event_id(event_id, str(message.get("error") or "rejected"))
            self.acks[event_id] = str(status)
            with self._ack_cv:
                self._outstanding.discard(event_id)
                self._ack_cv.notify_all()
        elif kind == "event" and isinstance(message.get("event"), dict):
            event = message["event"]
            if "server_seq" in event and "event_id" in event:
                self.queue.store_pulled([event], None, self.node_id)
