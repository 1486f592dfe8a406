"""The sync runtime: what runs behind the emitter for the life of one CLI process.

Created lazily by the first emit. When the user is logged in and auto-start is on
(`sync.auto_start` in `.kittify/config.yaml`, overridden by `SPEC_KITTY_SYNC_AUTO_START`),
it starts the background sync thread and, for a *live* runtime only, the WebSocket client.
A CLI command is one-shot: it never opens a WebSocket (a token exchange and a handshake that a
command ending a moment later would throw away); a program that keeps running asks for one
with `EventEmitter(live=True)`. At exit the runtime stops its threads (waiting at most
`EXIT_WAIT_SECONDS`) and, when events are still queued, starts a detached flush (`flush`)
that pushes them after the command has exited. The queue is durable: whatever no push sends
waits there for the next sync.
"""

from __future__ import annotations

import atexit
import contextlib
import threading
import time
from typing import Any

from specify_cli import config
from specify_cli.errors import NotAuthenticatedError
from specify_cli.sync import flush
from specify_cli.sync.background import BackgroundSync
from specify_cli.sync.queue import OfflineQueue

EXIT_WAIT_SECONDS = 1.0
"""Longest time a command waits at exit for its WebSocket's acknowledgements and threads;
the push of what is still queued runs after it, in a detached flush."""


class SyncRuntime:
    """Background sync and WebSocket for one account, started once per process.

    Args:
        queue: The account's offline queue.
        server_url: The account's server, or None when logged out (nothing is started).
        node_id: This node.
        auto_start: Start the background thread (and the WebSocket when `live`).
        interval: Seconds between background syncs; `sync.interval_seconds` by default.
        live: Open a WebSocket: for a process that keeps running, never for a CLI command.
    """

    def __init__(self, queue: OfflineQueue, server_url: str | None, node_id: str | None,
                 auto_start: bool = True, interval: float | None = None,
                 live: bool = False) -> None:
        self.queue = queue
        self.live = live
        self.server_url = server_url
        self.node_id = node_id
        self.auto_start = auto_start
        self._interval = interval
        self.background: Any = None
        self.ws: Any = None
        self.started = False
        self._stopped = False
        self._lock = threading.Lock()

    @property
    def active(self) -> bool:
        """True when this runtime pushes events (logged in and auto-start on)."""
        return bool(self.server_url) and self.auto_start

    def start(self) -> None:
        """Start the background thread (and the WebSocket if `live`) when `active`; register
        the exit hook."""
        with self._lock:
            if self.started:
                return
            self.started = True
            if not self.active:
                return
            interval = self._interval
            if interval is None:
                interval = float(config.get("sync.interval_seconds"))
            self.background = BackgroundSync(self._background_sync, interval,
                                             first_delay=interval)
            self.background.start()
            if self.live:
                # lazily: the WebSocket client (and the websockets library) only when live.
                from specify_cli.sync.websocket import WebSocketClient

                self.ws = WebSocketClient(self.server_url, self.queue, self.node_id,
                                          drain=lambda: self.sync(wait=0.0, pull=False))
                self.ws.start()
            atexit.register(self.shutdown)

    def sync(self, wait: float = 0.0, timeout: float | None = None,
             pull: bool = True) -> bool:
        """Run one push (and pull) under the sync lock; False when busy or failed.

        Args:
            wait: Seconds to wait for another sync holding the lock.
            timeout: Seconds per HTTP request.
            pull: Pull after pushing.
        """
        # lazily: the engine brings httpx; an emitting command that exits first never syncs.
        from specify_cli.sync._engine import sync_lock, sync_once

        if not self.server_url:
            return False
        with sync_lock(self.queue.path, wait_seconds=wait) as held:
            if not held:
                return False
            return sync_once(self.queue, self.server_url, node_id=self.node_id,
                             timeout=timeout, pull_after=pull).ok

    def _background_sync(self) -> bool:
        try:
            return self.sync()
        except NotAuthenticatedError:
            return False

    def on_emit(self, event: dict[str, Any]) -> None:
        """Hand a freshly queued event to the WebSocket when it is connected.

        Args:
            event: The stored event.
        """
        if self.ws is not None and self.ws.connected:
            self.ws.send_event(event)

    def shutdown(self, budget: float = EXIT_WAIT_SECONDS) -> None:
        """Stop the threads within `budget` seconds; leave what is queued to a detached flush.

        Args:
            budget: Seconds the wait for acknowledgements and threads may take.
        """
        with self._lock:
            if self._stopped:
                return
            self._stopped = True
        deadline = time.monotonic() + budget
        if self.ws is not None:
            self.ws.wait_for_acks(budget / 2)
            self.ws.stop(timeout=max(0.1, deadline - time.monotonic()))
        if self.background is not None:
            self.background.stop(timeout=max(0.1, deadline - time.monotonic()))
        if not self.active:
            return
        with contextlib.suppress(Exception):
            if self.queue.pending_count() > 0:
                flush.spawn(self.queue.path, self.server_url, self.node_id)


_runtime: SyncRuntime | None = None
_runtime_lock = threading.Lock()


def get_runtime(queue: OfflineQueue, server_url: str | None, node_id: str | None,
                auto_start: bool, live: bool = False) -> SyncRuntime:
    """Return the process's runtime, creating and starting it on first call.

    Args:
        queue: The account's offline queue.
        server_url: The account's server (None when logged out).
        node_id: This node.
        auto_start: Whether to start the background thread.
        live: Whether to open a WebSocket too (a process that keeps running).
    """
    global _runtime
    with _runtime_lock:
        if _runtime is None:
            _runtime = SyncRuntime(queue, server_url, node_id, auto_start, live=live)
            _runtime.start()
        return _runtime

