"""The event emitter: the one door through which commands record sync events.

`emit()` never raises into the calling command. It stamps the event with the project
identity, this node and the team (`local` when logged out), validates it against the
schema (an invalid event is dropped with a one-line warning on stderr; logged out, the first
event says once that the work is kept locally until `spec-kitty auth login`), appends it to the
account's offline queue (stamping it with the next Lamport value in the same transaction)
and hands it to the live WebSocket when one is connected. At the queue's cap the event is
refused with a warning on every emit (see `queue`). Events emitted inside one `action()`
block share a `causation_id`.
"""

from __future__ import annotations

import contextlib
import contextvars
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from spec_kitty_protocol import InvalidEventError, build_event, new_event_id
from specify_cli._text import printable
from specify_cli.account import credentials as auth
from specify_cli.account.scope import open_queue
from specify_cli.project import config as project_config
from specify_cli.project.identity import ensure_identity
from specify_cli.sync.queue import QueueFullError
from specify_cli.sync.runtime import get_runtime

_causation: contextvars.ContextVar[str | None] = contextvars.ContextVar("spec_kitty_causation",
                                                                         default=None)


def _warn(message: str) -> None:
    with contextlib.suppress(Exception):
        print(f"warning: {' '.join(printable(message).split())}", file=sys.stderr)


class EventEmitter:
    """Builds, validates and queues events for one project and the logged-in account.

    The context (identity, account, queue) is resolved on the first emit.

    Args:
        root: The project root; found from the current directory by default.
        start_runtime: Start the sync runtime (background sync) on first emit.
        live: Also open a WebSocket, so each event leaves as it is emitted: for a program
            that keeps running. CLI commands are one-shot and leave it off (see `runtime`).
    """

    def __init__(self, root: Path | None = None, start_runtime: bool = True,
                 live: bool = False) -> None:
        self._root = root
        self._start_runtime = start_runtime
        self._live = live
        self._ready = False
        self._lock = threading.Lock()
        self.identity: Any = None
        self.team_slug = "local"
        self.queue: Any = None
        self.runtime: Any = None
        self.server_url: str | None = None
        self.emitted = 0
        self.dropped = 0

    def _prepare(self) -> None:
        if self._ready:
            return
        self.identity = ensure_identity(self._root)
        creds = auth.load_credentials()
        if creds is not None:
            self.team_slug = creds.team_slug
            self.server_url = creds.server_url
        self.queue = open_queue(creds)
        if creds is not None:
            # Name the account inside its queue, so `sync status` can say whose events wait
            # in a queue that is not the current account's. Best effort: a label must never
            # stand between an event and the queue.
            with contextlib.suppress(Exception):
                if self.queue.get_state().get("account") != creds.label:
                    self.queue.set_state(account=creds.label)
        if self._start_runtime:
            root = self._root or project_config.find_project_root()
            self.runtime = get_runtime(self.queue, self.server_url, self.identity.node_id,
                                       project_config.auto_start(root), live=self._live)
        self._ready = True

    def emit(self, event_type: str, payload: dict[str, Any]) -> dict[str, Any] | None:
        """Record one event; never raises.

        What the event is about (`aggregate_id`, `aggregate_type`) follows from its type and
        payload (`spec_kitty_protocol.build_event`).

        Args:
            event_type: One of the known event types.
            payload: The event type's fields.

        Returns:
            The stored event, or None when it was dropped or refused (a warning was printed).
        """
        try:
            with self._lock:
                if not self._ready:
                    self._prepare()
                event = build_event(
                    event_type, payload, node_id=self.identity.node_id,
                    team_slug=self.team_slug, project_uuid=self.identity.project_uuid,
                    project_slug=self.identity.project_slug, causation_id=_causation.get())
                return self._store(event)  # append() validates the stamped event
        except Exception as exc:  # noqa: BLE001 - the emitter must never break a command
            self.dropped += 1
            _warn(f"could not record a {event_type} event: {exc}")
            return None

    def _store(self, event: dict[str, Any]) -> dict[str, Any] | None:
        try:
            stored = self.queue.append(event)
        except InvalidEventError as exc:
            self.dropped += 1
            _warn(f"dropped an invalid {event['event_type']} event: {exc}")
            return None
        except QueueFullError as exc:
            self.dropped += 1
            refused = 0
            with contextlib.suppress(Exception):
                refused = self.queue.note_refused()
            _warn(f"{event['event_type']} event NOT recorded: {exc} "
                  f"({refused} refused since the last successful push)")
            return None
        self.emitted += 1
        if self.team_slug == "local" and self.emitted == 1:
            with contextlib.suppress(Exception):
                print("note: not logged in: this work is kept locally until "
                      "`spec-kitty auth login`", file=sys.stderr)
        if self.runtime is not None:
            with contextlib.suppress(Exception):
                self.runtime.on_emit(stored)
        return stored


_emitter: EventEmitter | None = None
_emitter_lock = threading.Lock()


def get_emitter() -> EventEmitter:
    """Return the process's emitter, creating it on first use."""
    global _emitter
    with _emitter_lock:
        if _emitter is None:
            _emitter = EventEmitter()
        return _emitter


def emit(event_type: str, payload: dict[str, Any]) -> dict[str, Any] | None:
    """Record one event through the process's emitter; never raises.

    Args:
        event_type: One of the known event types.
        payload: The event type's fields.

    Returns:
        The stored event, or None when it was dropped or refused.
    """
    return get_emitter().emit(event_type, payload)


@contextlib.contextmanager
def action() -> Iterator[str]:
    """Group the events of one user action under one `causation_id`.

    Nested blocks share the outermost block's id.

    Yields:
        The causation id (a ULID).
    """
    current = _causation.get()
    if current is not None:
        yield current
        return
    token = _causation.set(new_event_id())
    try:
        yield _causation.get() or ""
    finally:
        _causation.reset(token)
