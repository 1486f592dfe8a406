"""Sync events: ULIDs, the schema validator and the builder of event envelopes.

Every event the CLI sends is built here and checked against the packaged JSON Schema
(`schema/events.schema.json`, the same file the server validates with), so an event the
server would reject never enters the offline queue.
"""

from __future__ import annotations

import base64
import json
import os
import threading
import time
from collections.abc import Callable
from typing import Any

SCHEMA_VERSION = "1.0"
"""Value of the `schema_version` field of every event this CLI builds."""

MAX_EVENT_BYTES = 64 * 1024
"""Largest event accepted, measured as compact UTF-8 JSON (the server's limit too)."""

EVENT_TYPES: dict[str, str] = {
    "WPStatusChanged": "WorkPackage",
    "WPCreated": "WorkPackage",
    "WPAssigned": "WorkPackage",
    "FeatureCreated": "Feature",
    "FeatureCompleted": "Feature",
    "HistoryAdded": "WorkPackage",
    "ErrorLogged": "Project",
    "DependencyResolved": "WorkPackage",
}
"""Each event type and the default `aggregate_type` of its events."""

_CROCKFORD = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
_TO_CROCKFORD = str.maketrans("ABCDEFGHIJKLMNOPQRSTUVWXYZ234567", _CROCKFORD)


class InvalidEventError(ValueError):
    """An event does not match the schema or is too large; the message says why."""


class _UlidGenerator:
    """ULIDs that are strictly increasing within one process, even inside one millisecond."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._last_ms = -1
        self._last_rand = 0

    def new(self) -> str:
        with self._lock:
            ms = time.time_ns() // 1_000_000
            if ms <= self._last_ms:
                # Same (or an earlier, clock stepped back) millisecond: keep the timestamp and
                # increment the random part, so ids stay sortable and unique.
                ms = self._last_ms
                rand = self._last_rand + 1
                if rand >= 1 << 80:  # 2^80 ids in one millisecond: borrow the next one
                    ms, rand = ms + 1, int.from_bytes(os.urandom(10), "big") >> 1
            else:
                rand = int.from_bytes(os.urandom(10), "big") >> 1  # room to increment
            self._last_ms, self._last_rand = ms, rand
        # 160 bits of base32 = 32 characters; the 128-bit value sits in the low 130 bits, so
        # the first 6 characters are padding. Translate RFC 4648 to Crockford's alphabet.
        text = base64.b32encode(((ms << 80) | rand).to_bytes(20, "big")).decode("ascii")
        return text[6:].translate(_TO_CROCKFORD)


_ULIDS = _UlidGenerator()


def new_ulid() -> str:
    """Return a new ULID (26 Crockford base32 characters), monotonic within this process."""
    return _ULIDS.new()


def utc_timestamp(seconds: float | None = None) -> str:
    """Return an ISO-8601 UTC timestamp with microseconds and a `Z` suffix.

    Args:
        seconds: Seconds since the epoch; now by default.
    """
    now = time.time() if seconds is None else seconds
    whole = int(now)
    micros = int(round((now - whole) * 1_000_000))
    if micros == 1_000_000:
        whole, micros = whole + 1, 0
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(whole)) + f".{micros:06d}Z"


_validator: Callable[[Any], Any] | None = None
_fast: dict[str, Callable[[Any], Any]] = {}
_validator_lock = threading.Lock()


def schema() -> dict[str, Any]:
    """Return the packaged event JSON Schema as a dict."""
    from importlib.resources import files

    text = (files("specify_cli.sync") / "schema" / "events.schema.json").read_text("utf-8")
    return json.loads(text)


def validator() -> Callable[[Any], Any]:
    """Return the compiled validator of the whole schema, compiling it on first use only."""
    global _validator
    if _validator is None:
        with _validator_lock:
            if _validator is None:
                import fastjsonschema

                _validator = fastjsonschema.compile(schema())
    return _validator


def _fast_validator(name: str) -> Callable[[Any], Any] | None:
    """Validator of the envelope (`name=""`) or of one payload type, compiled on first use.

    Checking the envelope and then the one payload definition that `event_type` selects is
    what the schema's `allOf`/`if`/`then` says, without evaluating the seven `if` branches
    that do not apply (each costs a raised exception in fastjsonschema): about 2-5x faster.
    Each is compiled lazily, so a command that emits one event type compiles two.
    """
    found = _fast.get(name)
    if found is None:
        with _validator_lock:
            found = _fast.get(name)
            if found is None:
                import fastjsonschema

                full = _schema_cached()
                if name == "":
                    part = {k: v for k, v in full.items() if k != "allOf"}
                elif name in full["definitions"]:
                    part = {"$schema": full["$schema"], **full["definitions"][name]}
                else:
                    return None
                found = _fast[name] = fastjsonschema.compile(part)
    return found


_schema_dict: dict[str, Any] | None = None


def _schema_cached() -> dict[str, Any]:
    global _schema_dict
    if _schema_dict is None:
        _schema_dict = schema()
    return _schema_dict


def encode(event: dict[str, Any]) -> str:
    """Return the compact JSON text of an event, as stored in the queue and sent to the server."""
    return json.dumps(event, separators=(",", ":"), ensure_ascii=False)


def check_size(body: str) -> None:
    """Raise `InvalidEventError` when an encoded event is larger than `MAX_EVENT_BYTES`.

    Args:
        body: The event's compact JSON text.
    """
    # A str of n characters is at most 4n bytes of UTF-8: skip the encode for small events.
    if len(body) * 4 > MAX_EVENT_BYTES and len(body.encode("utf-8")) > MAX_EVENT_BYTES:
        raise InvalidEventError(f"event is larger than {MAX_EVENT_BYTES // 1024} KiB")


def validate(event: dict[str, Any], *, check_bytes: bool = True) -> None:
    """Check an event against the schema and the size limit.

    Args:
        event: A full event envelope.
        check_bytes: Also check the encoded size (the queue checks it again when it stores
            the event, so the emitter skips it here).

    Raises:
        InvalidEventError: The event is invalid; the message is the validator's.
    """
    import fastjsonschema

    try:
        _fast_validator("")(event)
        payload_validator = _fast_validator(event["event_type"])
        if payload_validator is not None:
            try:
                payload_validator(event["payload"])
            except fastjsonschema.JsonSchemaException as exc:
                raise InvalidEventError(
                    str(exc.message).replace("data", "data.payload", 1)) from None
    except fastjsonschema.JsonSchemaException as exc:
        raise InvalidEventError(str(exc.message)) from None
    except InvalidEventError:
        raise
    except (RecursionError, TypeError, ValueError) as exc:
        raise InvalidEventError(f"event cannot be validated: {type(exc).__name__}") from None
    if check_bytes:
        check_size(encode(event))


def build_event(
    event_type: str,
    payload: dict[str, Any],
    *,
    aggregate_id: str,
    node_id: str,
    team_slug: str,
    project_uuid: str,
    project_slug: str,
    aggregate_type: str | None = None,
    causation_id: str | None = None,
    lamport_clock: int = 1,
) -> dict[str, Any]:
    """Build an event envelope (not yet validated; the queue sets the real Lamport value).

    Args:
        event_type: One of `EVENT_TYPES`.
        payload: The fields of that event type.
        aggregate_id: What the event is about (a WP id, a feature slug, a project slug).
        node_id: The emitting node (12 hex digits).
        team_slug: The team the event belongs to (`local` when logged out).
        project_uuid: The project's UUID.
        project_slug: The project's slug.
        aggregate_type: `WorkPackage`, `Feature` or `Project`; by default from `EVENT_TYPES`.
        causation_id: ULID shared by the events of one user action, or None.
        lamport_clock: Placeholder Lamport value; the queue replaces it when it stores the event.

    Returns:
        The envelope as a dict.
    """
    return {
        "event_id": new_ulid(),
        "event_type": event_type,
        "aggregate_id": aggregate_id,
        "aggregate_type": aggregate_type or EVENT_TYPES.get(event_type, "Project"),
        "payload": payload,
        "node_id": node_id,
        "lamport_clock": lamport_clock,
        "causation_id": causation_id,
        "timestamp": utc_timestamp(),
        "team_slug": team_slug,
        "project_uuid": project_uuid,
        "project_slug": project_slug,
        "schema_version": SCHEMA_VERSION,
    }
