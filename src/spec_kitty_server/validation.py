"""Checks every incoming event against the shared JSON Schema and the batch limits.

The schema is the CLI's own file (`specify_cli/sync/schema/events.schema.json`), loaded with
`importlib.resources` and compiled once with fastjsonschema, so client and server can never
disagree about what an event is.
"""

from __future__ import annotations

import gzip
import json
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from typing import Any

import fastjsonschema

MAX_EVENTS = 1000
"""Most events one batch may hold."""

MAX_BODY_BYTES = 10 * 1024 * 1024
"""Largest batch body, after decompression."""

MAX_EVENT_BYTES = 64 * 1024
"""Largest single event, as compact JSON."""


_ENCODER = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"), allow_nan=False)


class BodyError(Exception):
    """The request body is unusable as a whole.

    Attributes:
        status: The HTTP status to answer (400 or 413).
        detail: The human sentence for `{"detail": ...}`.
    """

    def __init__(self, status: int, detail: str) -> None:
        super().__init__(detail)
        self.status = status
        self.detail = detail


@dataclass
class Checked:
    """One event of a batch after validation.

    Attributes:
        event_id: The event's id if it has a string one, else `None`.
        event: The parsed event (valid ones only).
        body: The compact JSON text to store (valid ones only).
        error: Why it was rejected, or `None` when it is valid.
    """

    event_id: str | None
    event: dict[str, Any] | None
    body: str | None
    error: str | None


def schema_text() -> str:
    """Return the shared event schema as text.

    Returns:
        The JSON Schema document.
    """
    files = resources.files("specify_cli.sync") / "schema" / "events.schema.json"
    return files.read_text(encoding="utf-8")


@lru_cache(maxsize=1)
def validator() -> Callable[[Any], Any]:
    """Return the compiled validator of the shared schema (compiled once per process).

    Returns:
        A function that raises `fastjsonschema.JsonSchemaException` on an invalid event.
    """
    return fastjsonschema.compile(json.loads(schema_text()))


@lru_cache(maxsize=1)
def _validators_by_type() -> dict[str, Callable[[Any], Any]]:
    """One compiled validator per event type: the envelope plus that type's payload.

    The full schema tries all eight `if`/`then` branches for every event; these check only
    the one that applies, which makes validation about twice as fast with the same messages.
    """
    schema = json.loads(schema_text())
    compiled = {}
    for kind in schema["properties"]["event_type"]["enum"]:
        if kind not in schema.get("definitions", {}):
            continue
        variant = dict(schema)
        variant.pop("allOf", None)
        variant["properties"] = {**schema["properties"],
                                 "payload": {"$ref": f"#/definitions/{kind}"}}
        compiled[kind] = fastjsonschema.compile(variant)
    return compiled


def _reject_constant(name: str) -> None:
    raise ValueError(f"{name} is not valid JSON")


def decode_body(raw: bytes, content_encoding: str | None) -> Any:
    """Decompress (if gzip) and parse a request body.

    Args:
        raw: The body as received.
        content_encoding: The `Content-Encoding` header, if any.

    Returns:
        The parsed JSON value.

    Raises:
        BodyError: Bad gzip, bad JSON or too large.
    """
    encoding = (content_encoding or "identity").strip().lower()
    if encoding == "gzip":
        decompressor = zlib.decompressobj(16 + zlib.MAX_WBITS)
        try:
            data = decompressor.decompress(raw, MAX_BODY_BYTES + 1)
        except zlib.error:
            raise BodyError(400, "The body is not valid gzip.") from None
        if len(data) > MAX_BODY_BYTES:
            raise BodyError(413, "The body is larger than 10 MiB once decompressed.")
        if not decompressor.eof:
            raise BodyError(400, "The gzip body is truncated.")
    elif encoding == "identity":
        data = raw
        if len(data) > MAX_BODY_BYTES:
            raise BodyError(413, "The body is larger than 10 MiB.")
    else:
        raise BodyError(400, "Unsupported Content-Encoding; use gzip or none.")
    return parse_json(data)


def parse_json(data: bytes) -> Any:
    """Parse JSON strictly: UTF-8, no NaN/Infinity, bounded nesting.

    Args:
        data: The JSON bytes.

    Returns:
        The parsed value.

    Raises:
        BodyError: The bytes are not valid JSON.
    """
    if not data.strip():
        raise BodyError(400, "The body is empty; send a JSON object.")
    try:
        text = data.decode("utf-8")
        return json.loads(text, parse_constant=_reject_constant)
    except UnicodeDecodeError:
        raise BodyError(400, "The body is not valid UTF-8.") from None
    except RecursionError:
        raise BodyError(400, "The JSON body is nested too deeply.") from None
    except ValueError as exc:
        message = str(exc).splitlines()[0][:200] if str(exc) else "invalid JSON"
        raise BodyError(400, f"The body is not valid JSON: {message}") from None


def batch_events(body: Any) -> list[Any]:
    """Extract the event list of a batch body and check the count.

    Args:
        body: The parsed body.

    Returns:
        The list of (unchecked) events.

    Raises:
        BodyError: Wrong shape (400) or too many events (413).
    """
    if not isinstance(body, dict) or "events" not in body:
        raise BodyError(400, 'The body must be a JSON object with an "events" list.')
    events = body["events"]
    if not isinstance(events, list):
        raise BodyError(400, '"events" must be a list.')
    if len(events) > MAX_EVENTS:
        raise BodyError(413, f"Too many events: {len(events)} (at most {MAX_EVENTS}).")
    return events


def check_event(item: Any, team_slug: str) -> Checked:
    """Validate one event for a team.

    Args:
        item: The parsed event.
        team_slug: The team of the token that pushes it.

    Returns:
        The validation outcome.
    """
    event_id = None
    if isinstance(item, dict):
        candidate = item.get("event_id")
        if isinstance(candidate, str) and len(candidate) <= 200:
            event_id = candidate
    else:
        return Checked(None, None, None, "event must be a JSON object")
    try:
        body = _ENCODER.encode(item)
        size = len(body.encode("utf-8"))
    except RecursionError:
        return Checked(event_id, None, None, "event is nested too deeply")
    except UnicodeEncodeError:
        return Checked(event_id, None, None, "event contains invalid Unicode")
    except (TypeError, ValueError):
        return Checked(event_id, None, None, "event is not serialisable JSON")
    if size > MAX_EVENT_BYTES:
        return Checked(event_id, None, None, f"event over 64 KiB ({size} bytes)")
    kind = item.get("event_type")
    check = _validators_by_type().get(kind) if isinstance(kind, str) else None
    try:
        (check or validator())(item)
    except fastjsonschema.JsonSchemaException as exc:
        return Checked(event_id, None, None, str(exc.message)[:500])
    except RecursionError:
        return Checked(event_id, None, None, "event is nested too deeply")
    if item["team_slug"] != team_slug:
        return Checked(event_id, None, None, "team mismatch")
    return Checked(event_id, item, body, None)


def gzip_bytes(data: bytes) -> bytes:
    """Gzip bytes (used by the demo and the tests).

    Args:
        data: Bytes to compress.

    Returns:
        The gzip stream.
    """
    return gzip.compress(data, compresslevel=5)
