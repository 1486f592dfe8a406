"""Event ids, the envelope builder and the one validator of the wire contract.

`build_event` is the only place an envelope is assembled, and it picks `aggregate_id` and
`aggregate_type` by rule, so a work package is named the same way by every writer.
`validate` is the only check of an event, used by the CLI before queueing and by the server
on ingest: an event the CLI queues is one the server accepts.
"""

from __future__ import annotations

import json
import os
import threading
import time
from collections.abc import Callable
from json.encoder import c_encode_basestring as _json_c_text
from json.encoder import c_make_encoder as _json_c_encoder
from typing import Any

from spec_kitty_protocol import constants as c
from spec_kitty_protocol import schema as _schema


class InvalidEventError(ValueError):
    """An event breaks the contract; the message says which field and why."""


_ids_lock = threading.Lock()
_ids_last = (0, 0)
"""The millisecond and the 80 random bits of the last id handed out."""
_DIGIT_PAIRS = tuple(a + b for a in "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
                     for b in "0123456789ABCDEFGHJKMNPQRSTVWXYZ")
"""Every pair of Crockford base32 digits (the ULID alphabet), indexed by its 10 bits."""
_time_text: tuple[int, str] = (-1, "")
"""The last millisecond written and its 10 digits (ids come many per millisecond)."""


_entropy = bytearray()


def _random80() -> int:
    """80 bits from the operating system's random source, read 640 bytes at a time (a
    system call per event costs more than the rest of the id); call it under `_ids_lock`."""
    global _entropy
    if not _entropy:
        _entropy = bytearray(os.urandom(640))
    chunk = _entropy[-10:]
    del _entropy[-10:]
    return int.from_bytes(chunk, "big")


def _forked() -> None:
    """A forked child must not replay its parent's unread random bytes or last id."""
    global _entropy, _ids_last
    _entropy, _ids_last = bytearray(), (0, 0)


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_forked)


def new_event_id() -> str:
    """Return a new ULID, monotonic within this process (the format 2.x clients use).

    Within one millisecond (or when the wall clock steps back) the random part of the last
    id is incremented, as python-ulid's strict monotonic generator does; otherwise it is 80
    fresh random bits. Written out because it runs for every event emitted: python-ulid
    spends several times as long on the same id.
    """
    global _ids_last
    with _ids_lock:
        ms = time.time_ns() // 1_000_000
        last_ms, last_random = _ids_last
        if ms > last_ms:
            random_part = _random80()
        elif last_random + 1 < 1 << 80:
            ms, random_part = last_ms, last_random + 1
        else:  # 2**80 ids in one millisecond: borrow the next one
            ms, random_part = last_ms + 1, _random80()
        _ids_last = ms, random_part
    return _time_digits(ms) + _random_digits(random_part)


def _time_digits(ms: int) -> str:
    """The 10 digits of the 48-bit time part (the id's top 50 of 130 bits), cached."""
    global _time_text
    cached = _time_text
    if cached[0] != ms:
        pairs = _DIGIT_PAIRS
        cached = _time_text = (ms, pairs[ms >> 40] + pairs[(ms >> 30) & 1023]
                               + pairs[(ms >> 20) & 1023] + pairs[(ms >> 10) & 1023]
                               + pairs[ms & 1023])
    return cached[1]


def _random_digits(bits: int) -> str:
    """The 16 digits of the 80 random bits, as two 40-bit halves (small-int arithmetic)."""
    pairs = _DIGIT_PAIRS
    high, low = bits >> 40, bits & 0xFF_FFFF_FFFF
    return (pairs[high >> 30] + pairs[(high >> 20) & 1023] + pairs[(high >> 10) & 1023]
            + pairs[high & 1023] + pairs[low >> 30] + pairs[(low >> 20) & 1023]
            + pairs[(low >> 10) & 1023] + pairs[low & 1023])


_second: tuple[int, str] = (-1, "")
"""The last whole second `utc_timestamp` formatted, and its text up to the seconds."""


def utc_timestamp(seconds: float | None = None) -> str:
    """Return an ISO-8601 UTC timestamp with microseconds and a `Z` suffix.

    Args:
        seconds: Seconds since the epoch; now by default.
    """
    global _second
    now = time.time() if seconds is None else seconds
    whole = int(now)
    micros = int(round((now - whole) * 1_000_000))
    if micros == 1_000_000:
        whole, micros = whole + 1, 0
    cached = _second
    if cached[0] != whole:  # events come many per second: format the date once per second
        cached = _second = (whole, time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(whole)))
    return f"{cached[1]}.{micros:06d}Z"


def iso_duration(seconds: float) -> str:
    """Return a duration as ISO-8601 (`PT3600S`, `PT2.5S`), the form 2.x clients read.

    Args:
        seconds: The duration; negative values count as zero.
    """
    value = max(0.0, round(float(seconds), 3))
    text = f"{value:.3f}".rstrip("0").rstrip(".")
    return f"PT{text}S"


_ENCODER = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False, allow_nan=False)
"""One encoder for every event: `json.dumps` with options builds a new one per call."""


def _unknown_type(value: Any) -> Any:
    raise TypeError(f"Object of type {type(value).__name__} is not JSON serializable")


_C_ENCODE = None if _json_c_encoder is None else _json_c_encoder(
    None, _unknown_type, _json_c_text, None, ":", ",", False, False, False)
"""The C encoder behind `_ENCODER`, built once: `JSONEncoder.encode` builds one per call.
Without a circular-reference check, a cycle ends in `RecursionError` (refused as nested too
deeply), as an over-deep event does."""


_PLAIN = frozenset({str, int, bool, type(None)})
_PLAIN_DEPTH = 32
"""Deeper events take the json module's path (orjson stops at 255 levels, and so would the
recursion of `_plain`)."""
_orjson_dumps: Callable[[Any], bytes] | None = None


def _plain(value: dict[str, Any] | list[Any], depth: int = 0) -> bool:
    """Whether `value` holds only exact str, int, bool, None, dict and list values: those orjson
    writes byte for byte as the json module does. Not floats (orjson writes NaN as `null` and
    some floats in another form), nor the types orjson writes and the json module refuses
    (UUID, Enum, datetime, dataclasses...). Non-str keys and integers beyond 64 bits make
    orjson raise instead."""
    if depth > _PLAIN_DEPTH:
        return False
    for item in value.values() if type(value) is dict else value:
        kind = type(item)
        if kind in _PLAIN:
            continue
        if (kind is dict or kind is list) and _plain(item, depth + 1):
            continue
        return False
    return True


def _load_orjson() -> Callable[[Any], bytes]:
    global _orjson_dumps
    import orjson  # lazily: a command that emits nothing does not pay for its import

    _orjson_dumps = orjson.dumps
    return _orjson_dumps


def encode(event: dict[str, Any]) -> str:
    """Return the compact JSON text of an event, as queued, sent and stored.

    The text is the json module's (compact separators, non-ASCII as it is, no NaN). Events of
    plain values (`_plain`) are written by orjson, which gives the same text several times
    faster; everything else, and whatever orjson refuses, by the json module, which also
    words the errors.

    Args:
        event: The event.

    Raises:
        InvalidEventError: The event holds something JSON cannot carry (NaN, a cycle, ...).
    """
    if type(event) is dict and _plain(event):
        try:
            return (_orjson_dumps or _load_orjson())(event).decode()
        except TypeError:
            pass  # a non-str key, an integer beyond 64 bits, a lone surrogate: as below
    try:
        if _C_ENCODE is not None and isinstance(event, dict):
            return "".join(_C_ENCODE(event, 0))
        return _ENCODER.encode(event)
    except RecursionError:
        raise InvalidEventError("event is nested too deeply") from None
    except (TypeError, ValueError) as exc:
        raise InvalidEventError(f"event is not JSON: {exc}") from None


def check_size(body: str) -> None:
    """Raise `InvalidEventError` when an encoded event is not UTF-8 or over `MAX_EVENT_BYTES`.

    Args:
        body: The event's compact JSON text.
    """
    try:
        size = len(body.encode("utf-8"))
    except UnicodeEncodeError:
        # JSON text may carry a lone surrogate (`"\ud800"`); no UTF-8 store can hold it.
        raise InvalidEventError("event contains invalid Unicode (a lone surrogate)") from None
    if size > c.MAX_EVENT_BYTES:
        raise InvalidEventError(f"event is over {c.MAX_EVENT_BYTES // 1024} KiB ({size} bytes)")


_compiled: dict[str, Callable[[Any], Any]] = {}
_quick: dict[str, Callable[[Any], bool]] = {}
_compile_lock = threading.Lock()


def _part(event_type: str) -> dict[str, Any] | None:
    """The envelope schema (`""`) or the payload schema of `event_type` (None if unknown)."""
    return _schema.envelope_schema() if event_type == "" else _schema.payload_schema(event_type)


def _quick_check(event_type: str) -> Callable[[Any], bool] | None:
    """The yes/no check of the envelope (`""`) or a payload, compiled once on first use."""
    found = _quick.get(event_type)
    if found is None:
        part = _part(event_type)
        if part is None:  # not cached: a client may send any number of unknown types
            return None
        with _compile_lock:
            found = _quick.get(event_type)
            if found is None:
                # lazily: compiled per event type on first use, as fastjsonschema is.
                from spec_kitty_protocol._fastcheck import compile_check

                found = _quick[event_type] = compile_check(part)
    return found


def _validator(event_type: str) -> Callable[[Any], Any] | None:
    """The fastjsonschema validator of the envelope (`""`) or a payload, compiled once.

    Checking the envelope and then the one payload definition `event_type` selects is what
    the schema's `allOf`/`if`/`then` says, without evaluating the branches that don't apply.
    """
    found = _compiled.get(event_type)
    if found is None:
        part = _part(event_type)
        if part is None:
            return None
        with _compile_lock:
            found = _compiled.get(event_type)
            if found is None:
                import fastjsonschema  # lazily: slow to import; valid events rarely need it

                found = _compiled[event_type] = fastjsonschema.compile(part)
    return found


def _surely_valid(event: dict[str, Any]) -> bool:
    """The compiled yes/no checks (`spec_kitty_protocol._fastcheck`): True only when valid."""
    if not _quick_check("")(event):  # type: ignore[misc]
        return False
    payload_check = _quick_check(event["event_type"])
    return payload_check is None or payload_check(event["payload"])


def validate(event: Any, *, check_bytes: bool = True) -> None:
    """Check an event against the contract: the schema and the size limit.

    A compiled yes/no check of the same schema passes valid events quickly; anything it
    does not pass goes through fastjsonschema, which decides and words the error.

    Args:
        event: A parsed event.
        check_bytes: Also check the encoded size (skip when the caller measures it).

    Raises:
        InvalidEventError: The event is invalid; the message names the field.
    """
    if not isinstance(event, dict):
        raise InvalidEventError("event must be a JSON object")
    try:
        surely_valid = _surely_valid(event)
    except RecursionError:
        raise InvalidEventError("event is nested too deeply") from None
    if not surely_valid:
        _explain(event)
    if check_bytes:
        check_size(encode(event))


def _explain(event: dict[str, Any]) -> None:
    """Validate with fastjsonschema: raise `InvalidEventError` with its message if invalid."""
    import fastjsonschema  # lazily: as in _validator

    try:
        _validator("")(event)  # type: ignore[misc]
        payload_check = _validator(event["event_type"])
        if payload_check is not None:
            try:
                payload_check(event["payload"])
            except fastjsonschema.JsonSchemaException as exc:
                raise InvalidEventError(
                    str(exc.message).replace("data", "data.payload", 1)[:500]) from None
    except fastjsonschema.JsonSchemaException as exc:
        raise InvalidEventError(str(exc.message)[:500]) from None
    except InvalidEventError:
        raise
    except RecursionError:
        raise InvalidEventError("event is nested too deeply") from None
    except (TypeError, ValueError) as exc:
        raise InvalidEventError(f"event cannot be validated: {type(exc).__name__}") from None


def work_package_of(event: dict[str, Any]) -> tuple[str | None, str] | None:
    """Return `(feature_slug, wp_id)` of the work package a valid event is about, or None.

    The feature comes from the payload, else from an `aggregate_id` of the form
    `<feature>/<WP>`. It is None for a stock 2.x event that names a bare WP id only: the
    reader decides what a bare id means (the server applies it only when it is unambiguous).

    Args:
        event: A valid event of any type.
    """
    payload = event.get("payload")
    if not isinstance(payload, dict) or event.get("event_type") not in c.EVENT_TYPES:
        return None
    wp_id = payload.get("wp_id")
    if not isinstance(wp_id, str):
        return None
    feature = payload.get("feature_slug")
    if not isinstance(feature, str):
        head, sep, tail = str(event.get("aggregate_id", "")).rpartition("/")
        feature = head if sep and tail == wp_id else None
    return feature, wp_id


def _aggregate(event_type: str, payload: dict[str, Any]) -> tuple[str, str] | None:
    """The `(aggregate_type, aggregate_id)` the rule gives a known event type."""
    wp_id, feature = payload.get("wp_id"), payload.get("feature_slug")
    if event_type not in c.EVENT_TYPES:
        return None
    if c.EVENT_TYPES[event_type] == "WorkPackage" or (event_type == "ErrorLogged" and wp_id):
        if not isinstance(wp_id, str):
            raise InvalidEventError(f"{event_type} needs payload.wp_id")
        return "WorkPackage", f"{feature}/{wp_id}" if isinstance(feature, str) else wp_id
    if not isinstance(feature, str):
        raise InvalidEventError(f"{event_type} needs payload.feature_slug")
    return "Feature", feature


def build_event(
    event_type: str,
    payload: dict[str, Any],
    *,
    node_id: str,
    team_slug: str,
    project_uuid: str,
    project_slug: str,
    aggregate_id: str | None = None,
    aggregate_type: str | None = None,
    causation_id: str | None = None,
    lamport_clock: int = 1,
    timestamp: str | None = None,
    event_id: str | None = None,
) -> dict[str, Any]:
    """Build an event envelope (not validated; the queue stamps the real Lamport value).

    For the known event types the rule decides what the event is about: a work package is
    `<feature_slug>/<wp_id>` (bare `wp_id` when the payload names no feature), a feature is
    its slug, and `ErrorLogged` is about its work package if it names one, else its feature.

    Args:
        event_type: One of `EVENT_TYPES`, or another type name (then `aggregate_id` and
            `aggregate_type` are required).
        payload: The fields of that event type.
        node_id: The emitting node (12 hex digits).
        team_slug: The team the event belongs to (`local` when logged out).
        project_uuid: The project's UUID.
        project_slug: The project's slug.
        aggregate_id: Only for unknown event types: what the event is about.
        aggregate_type: Only for unknown event types: the kind of `aggregate_id`.
        causation_id: Id shared by the events of one user action, or None.
        lamport_clock: Placeholder Lamport value; the queue replaces it when it stores the event.
        timestamp: The emission time; now by default.
        event_id: The event's id; a new ULID by default.

    Returns:
        The envelope as a dict.

    Raises:
        InvalidEventError: The payload lacks what the rule needs, or an unknown type lacks
            its aggregate.
    """
    ruled = _aggregate(event_type, payload)
    if ruled is None:
        if not aggregate_id or not aggregate_type:
            raise InvalidEventError(f"event type {event_type!r} needs an aggregate_id and "
                                    "aggregate_type")
        ruled = aggregate_type, aggregate_id
    elif (aggregate_id, aggregate_type) != (None, None) and (aggregate_type,
                                                             aggregate_id) != ruled:
        raise InvalidEventError(f"{event_type} is about {ruled[1]!r} ({ruled[0]}), "
                                f"not {aggregate_id!r}")
    return {
        "event_id": event_id or new_event_id(),
        "event_type": event_type,
        "aggregate_id": ruled[1],
        "aggregate_type": ruled[0],
        "payload": payload,
        "node_id": node_id,
        "lamport_clock": lamport_clock,
        "causation_id": causation_id,
        "timestamp": timestamp or utc_timestamp(),
        "team_slug": team_slug,
        "project_uuid": project_uuid,
        "project_slug": project_slug,
        "schema_version": c.CURRENT_SCHEMA_VERSION,
    }
