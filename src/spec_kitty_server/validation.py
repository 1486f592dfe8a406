"""Reads batch bodies and checks each event with the shared wire contract.

Parsing and the body limits are the server's job; what an event is, and whether it is
valid, is `spec_kitty_protocol`'s, the same code the CLI validates with before it queues an
event, so client and server can never disagree.
"""

from __future__ import annotations

import json
import zlib
from dataclasses import dataclass
from typing import Any

from spec_kitty_protocol import (
    MAX_BATCH_EVENTS,
    MAX_BODY_BYTES,
    MAX_EVENT_BYTES,
    InvalidEventError,
    check_size,
    encode,
    validate,
)
from spec_kitty_server import _json


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


TEAM_MISMATCH = "invalid team_slug: team mismatch"
"""Why an event of another team than the token's is rejected ("invalid" lets stock 2.x
clients file it under `schema_mismatch`)."""


@dataclass(slots=True)
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


def _reject_constant(name: str) -> None:
    raise ValueError(f"{name} is not valid JSON")


def decode_body(raw: bytes, content_encoding: str | None) -> tuple[Any, bool]:
    """Decompress (if gzip) and parse a request body.

    Args:
        raw: The body as received.
        content_encoding: The `Content-Encoding` header, if any.

    Returns:
        The parsed JSON value, and whether orjson read it (`spec_kitty_server._json`): its
        events can then be encoded by orjson too.

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
            raise BodyError(413, f"The body is larger than {MAX_BODY_BYTES // 2**20} MiB once "
                                 "decompressed.")
        if not decompressor.eof:
            raise BodyError(400, "The gzip body is truncated.")
    elif encoding == "identity":
        data = raw
        if len(data) > MAX_BODY_BYTES:
            raise BodyError(413, f"The body is larger than {MAX_BODY_BYTES // 2**20} MiB.")
    else:
        raise BodyError(400, "Unsupported Content-Encoding; use gzip or none.")
    return _parse(data)


def parse_json(data: bytes) -> Any:
    """Parse JSON strictly: UTF-8, no NaN/Infinity, bounded nesting.

    Args:
        data: The JSON bytes.

    Returns:
        The parsed value.

    Raises:
        BodyError: The bytes are not valid JSON.
    """
    return _parse(data)[0]


def _parse(data: bytes) -> tuple[Any, bool]:
    """The parsed value, and whether orjson read it (else the json module did)."""
    if not data.strip():
        raise BodyError(400, "The body is empty; send a JSON object.")
    if _json.fast_readable(data):
        try:
            return _json.loads_fast(data), True
        except ValueError:
            pass  # the json module words the error, or reads what orjson refuses
    try:
        text = data.decode("utf-8")
        return json.loads(text, parse_constant=_reject_constant), False
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
    if len(events) > MAX_BATCH_EVENTS:
        raise BodyError(413, f"Too many events: {len(events)} (at most {MAX_BATCH_EVENTS}).")
    return events


def _compact(item: dict[str, Any], fast: bool) -> str:
    """The event's compact JSON text (`spec_kitty_protocol.encode`), checked for size."""
    if fast:
        try:
            raw = _json.dumps_fast(item)
        except TypeError:
            pass  # a lone surrogate, too deep: the json module says what is wrong
        else:
            if len(raw) <= MAX_EVENT_BYTES:
                return raw.decode("utf-8")
    body = encode(item)
    check_size(body)
    return body


def check_event(item: Any, team_slug: str, *, fast_json: bool = False) -> Checked:
    """Validate one event for a team.

    Args:
        item: The parsed event.
        team_slug: The team of the token that pushes it.
        fast_json: The event was read by orjson (`decode_body` says so), so orjson can
            write its text too: what `spec_kitty_protocol.encode` writes, floats written in
            orjson's form.

    Returns:
        The validation outcome.
    """
    if not isinstance(item, dict):
        return Checked(None, None, None, "invalid event: must be a JSON object")
    candidate = item.get("event_id")
    event_id = candidate if isinstance(candidate, str) and len(candidate) <= 200 else None
    try:
        body = _compact(item, fast_json)
        validate(item, check_bytes=False)
    except InvalidEventError as exc:
        # "invalid" lets stock 2.x clients file the rejection under schema_mismatch.
        return Checked(event_id, None, None, f"invalid event: {exc}")
    if item["team_slug"] != team_slug:
        return Checked(event_id, None, None, TEAM_MISMATCH)
    return Checked(event_id, item, body, None)
