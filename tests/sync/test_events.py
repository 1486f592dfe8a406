"""Events: ULIDs, the schema validator and the size limit."""

from __future__ import annotations

import re

import pytest

from specify_cli.sync import events
from specify_cli.sync.events import InvalidEventError, build_event, new_ulid, validate
from tests._support.events import PROJECT_UUID

ULID = re.compile(r"^[0-9A-HJKMNP-TV-Z]{26}$")


def make(**overrides):
    event = build_event("HistoryAdded", {"wp_id": "WP01", "entry_type": "note",
                                         "entry_content": "hi", "author": "alice"},
                        aggregate_id="WP01", node_id="0123456789ab", team_slug="acme",
                        project_uuid=PROJECT_UUID, project_slug="demo")
    event.update(overrides)
    return event


def test_ulids_are_valid_unique_and_strictly_increasing_within_a_millisecond():
    ids = [new_ulid() for _ in range(5000)]
    assert all(ULID.match(i) for i in ids)
    assert ids == sorted(ids)
    assert len(set(ids)) == len(ids)


def test_ulid_timestamp_part_is_the_current_time():
    import time

    value = 0
    for char in new_ulid():
        value = value * 32 + "0123456789ABCDEFGHJKMNPQRSTVWXYZ".index(char)
    assert abs((value >> 80) - time.time() * 1000) < 5000


def test_timestamp_is_utc_iso_with_z():
    assert re.match(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$", events.utc_timestamp())
    assert events.utc_timestamp(0.9999999) == "1970-01-01T00:00:01.000000Z"


def test_a_built_event_validates():
    validate(make())


@pytest.mark.parametrize("overrides, fragment", [
    ({"node_id": "XYZ"}, "node_id"),
    ({"event_type": "Nope"}, "event_type"),
    ({"payload": {"wp_id": "WP01"}}, "payload"),
    ({"lamport_clock": 0}, "lamport_clock"),
    ({"extra": 1}, "extra"),
])
def test_invalid_events_are_rejected_with_the_validator_message(overrides, fragment):
    with pytest.raises(InvalidEventError, match=fragment):
        validate(make(**overrides))


def test_events_over_64_kib_are_rejected_and_exactly_64_kib_passes():
    events.check_size("x" * events.MAX_EVENT_BYTES)
    with pytest.raises(InvalidEventError, match="64 KiB"):
        events.check_size("x" * (events.MAX_EVENT_BYTES + 1))
    events.check_size("é" * (events.MAX_EVENT_BYTES // 2))  # 2 bytes each: exactly 64 KiB
    with pytest.raises(InvalidEventError, match="64 KiB"):
        events.check_size("é" * (events.MAX_EVENT_BYTES // 2 + 1))
    big = make(payload={"wp_id": "WP01", "error_type": "x", "error_message": "y" * 9000,
                        "stack_trace": "z" * 50000, "agent_id": None}, event_type="ErrorLogged")
    big["payload"].pop("wp_id")
    big["payload"]["wp_id"] = None
    big["payload"]["agent_id"] = "a" * 200
    big["aggregate_id"] = "b" * 200
    big["payload"]["stack_trace"] = "z" * 50000
    big["payload"]["error_message"] = "y" * 10000
    assert len(events.encode(big)) < events.MAX_EVENT_BYTES  # the schema's limits fit
    validate(big)
    big["payload"]["stack_trace"] = "é" * 30000  # 60,000 bytes in 30,000 characters
    with pytest.raises(InvalidEventError, match="64 KiB"):
        validate(big)


def test_validator_is_compiled_once_and_lazily(monkeypatch):
    monkeypatch.setattr(events, "_validator", None)
    first = events.validator()
    assert events.validator() is first


def test_every_event_type_has_an_aggregate_type_in_the_schema():
    schema = events.schema()
    assert set(events.EVENT_TYPES) == set(schema["properties"]["event_type"]["enum"])
    assert set(events.EVENT_TYPES.values()) <= set(schema["properties"]["aggregate_type"]["enum"])


def _variants():
    good = {
        "WPStatusChanged": {"wp_id": "WP01", "from_lane": "planned", "to_lane": "done",
                            "actor": "a", "feature_slug": "001-x"},
        "WPCreated": {"wp_id": "WP01", "title": "t", "dependencies": ["WP02"],
                      "feature_slug": "001-x"},
        "WPAssigned": {"wp_id": "WP01", "agent_id": "a", "phase": "review", "retry_count": 0},
        "FeatureCreated": {"feature_slug": "001-x", "feature_number": "001",
                           "target_branch": "main", "wp_count": 2},
        "FeatureCompleted": {"feature_slug": "001-x", "total_wps": 2,
                             "completed_at": "2026-01-01T00:00:00Z", "total_duration": 1.5},
        "HistoryAdded": {"wp_id": "WP01", "entry_type": "note", "entry_content": "c",
                         "author": "a"},
        "ErrorLogged": {"error_type": "E", "error_message": "m"},
        "DependencyResolved": {"wp_id": "WP01", "dependency_wp_id": "WP02",
                               "resolution_type": "completed"},
    }
    for kind, payload in good.items():
        yield kind, payload
        yield kind, {**payload, "surplus": 1}
        first = next(iter(payload))
        yield kind, {k: v for k, v in payload.items() if k != first}
        yield kind, {**payload, first: 12345}
        other = next(k for k in good if k != kind)
        yield kind, good[other]


@pytest.mark.parametrize("kind, payload", list(_variants()))
def test_fast_validation_agrees_with_the_whole_schema(kind, payload):
    event = make(event_type=kind, payload=payload)
    try:
        events.validator()(event)
        expected = True
    except Exception:  # noqa: BLE001 - any validator exception means invalid
        expected = False
    try:
        validate(event)
        got = True
    except InvalidEventError:
        got = False
    assert got == expected
