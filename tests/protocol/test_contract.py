"""The wire contract: ids, the builder's aggregate rule, tolerant validation, limits."""

from __future__ import annotations

import json
import os
import re

import fastjsonschema
import pytest

import spec_kitty_protocol as protocol
from spec_kitty_protocol import InvalidEventError, build_event, validate
from tests._support.events import PROJECT_UUID, VALID_PAYLOADS
from tests._support.events import protocol_event as make

ULID = re.compile(protocol.constants.ULID_PATTERN)


def test_event_ids_are_ulids_unique_and_increasing_within_a_process():
    ids = [protocol.new_event_id() for _ in range(5000)]
    assert all(ULID.match(i) for i in ids)
    assert ids == sorted(ids) and len(set(ids)) == len(ids)


@pytest.mark.parametrize("ms", [0, 1, 1023, 2**40 - 1, 2**40, 1_764_633_600_000, 2**48 - 1])
@pytest.mark.parametrize("bits", [0, 1, 2**40 - 1, 2**40, 2**79, 2**80 - 1, 0x5A5A5A5A5A5A5A5A5A5A])
def test_each_digit_of_an_id_is_the_ulid_librarys(ms, bits):
    """The time and random parts are written separately (`_time_digits`, `_random_digits`):
    at each edge of their halves they give the text python-ulid gives the same 128 bits."""
    import ulid

    from spec_kitty_protocol import events

    assert events._time_digits(ms) + events._random_digits(bits) == str(
        ulid.ULID.from_int((ms << 80) | bits))


def test_event_ids_read_back_as_ulids_of_now_in_the_ulid_library():
    """The hand-written generator writes what python-ulid (the 2.x clients' library) reads:
    the same text back, and the current millisecond in the time part."""
    import time

    import ulid

    before = time.time_ns() // 1_000_000
    ids = [protocol.new_event_id() for _ in range(200)]
    after = time.time_ns() // 1_000_000
    for text in ids:
        parsed = ulid.ULID.from_str(text)
        assert str(parsed) == text and before <= parsed.milliseconds <= after


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs fork()")
def test_a_forked_child_makes_other_event_ids_than_its_parent():
    protocol.new_event_id()  # the parent holds unread random bytes now
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: its ids, then out without running the parent's cleanup
        os.close(read)
        os.write(write, " ".join(protocol.new_event_id() for _ in range(50)).encode())
        os._exit(0)
    os.close(write)
    ours = {protocol.new_event_id() for _ in range(50)}
    with os.fdopen(read) as pipe:
        theirs = set(pipe.read().split())
    os.waitpid(pid, 0)
    assert len(theirs) == 50
    assert not {i[10:] for i in ours} & {i[10:] for i in theirs}  # no random part replayed


def test_timestamps_of_other_seconds_are_not_the_cached_second():
    assert protocol.utc_timestamp(1.5) == "1970-01-01T00:00:01.500000Z"
    assert protocol.utc_timestamp(1.25) == "1970-01-01T00:00:01.250000Z"
    assert protocol.utc_timestamp(86_401.000001) == "1970-01-02T00:00:01.000001Z"
    assert protocol.utc_timestamp(1.75) == "1970-01-01T00:00:01.750000Z"


def test_timestamps_are_utc_iso_with_z():
    assert re.match(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$", protocol.utc_timestamp())
    assert protocol.utc_timestamp(0.9999999) == "1970-01-01T00:00:01.000000Z"


def test_iso_durations():
    assert protocol.iso_duration(3600) == "PT3600S"
    assert protocol.iso_duration(2.5) == "PT2.5S"
    assert protocol.iso_duration(-3) == "PT0S"


@pytest.mark.parametrize("kind, payload, aggregate", [
    ("WPStatusChanged", {"wp_id": "WP01", "from_lane": "planned", "to_lane": "done",
                         "feature_slug": "001-x"}, ("WorkPackage", "001-x/WP01")),
    ("WPStatusChanged", {"wp_id": "WP01", "from_lane": "planned", "to_lane": "done"},
     ("WorkPackage", "WP01")),
    ("FeatureCreated", {"feature_slug": "001-x", "feature_number": "001",
                        "target_branch": "main", "wp_count": 1}, ("Feature", "001-x")),
    ("ErrorLogged", {"error_type": "runtime", "error_message": "m", "wp_id": "WP02",
                     "feature_slug": "001-x"}, ("WorkPackage", "001-x/WP02")),
    ("ErrorLogged", {"error_type": "runtime", "error_message": "m", "feature_slug": "001-x"},
     ("Feature", "001-x")),
])
def test_the_builder_names_what_an_event_is_about_by_rule(kind, payload, aggregate):
    event = make(kind, payload)
    assert (event["aggregate_type"], event["aggregate_id"]) == aggregate
    validate(event)


def test_the_builder_refuses_an_aggregate_that_contradicts_the_rule():
    with pytest.raises(InvalidEventError, match="is about '001-x/WP01'"):
        build_event("HistoryAdded", {"wp_id": "WP01", "entry_type": "note",
                                     "entry_content": "c", "feature_slug": "001-x"},
                    aggregate_id="WP01", aggregate_type="WorkPackage", node_id="0123456789ab",
                    team_slug="acme", project_uuid=PROJECT_UUID, project_slug="demo")
    with pytest.raises(InvalidEventError, match="needs an aggregate_id"):
        make("SomethingNew", {"x": 1})
    unknown = build_event("SomethingNew", {"x": 1}, aggregate_id="a", aggregate_type="Thing",
                          node_id="0123456789ab", team_slug="acme",
                          project_uuid=PROJECT_UUID, project_slug="demo")
    validate(unknown)


def test_work_package_of_reads_the_payload_then_the_aggregate_id():
    assert protocol.work_package_of(make()) == ("001-x", "WP01")
    bare = make(payload={"wp_id": "WP01", "entry_type": "note", "entry_content": "c"})
    assert protocol.work_package_of(bare) == (None, "WP01")
    assert protocol.work_package_of(dict(bare, aggregate_id="002-y/WP01")) == ("002-y", "WP01")
    assert protocol.work_package_of(make("FeatureCreated", {
        "feature_slug": "001-x", "feature_number": "001", "target_branch": "main",
        "wp_count": 1})) is None


# -- tolerant reading: what the stock 2.x client sends ------------------------------------

def stock_like(**changes):
    """An event shaped the way spec-kitty-cli 2.1.3 builds it (emitter._emit)."""
    event = make("WPStatusChanged", {"wp_id": "WP01", "from_lane": "planned",
                                     "to_lane": "claimed", "actor": "user",
                                     "feature_slug": None, "policy_metadata": None})
    event.pop("schema_version")
    event.update(aggregate_id="WP01", timestamp="2026-12-01T10:00:00.123456+00:00",
                 git_branch="main", head_commit_sha="a" * 40, repo_slug=None)
    event.update(changes)
    return event


def test_the_2x_wire_format_is_valid():
    validate(stock_like())
    validate(stock_like(schema_version="1.7"))
    validate(stock_like(event_id="0b6f1e3c-1d2a-4c3b-9a8e-2f4d5c6b7a81"))
    validate(stock_like(unknown_envelope_field={"kept": True}))


@pytest.mark.parametrize("lane", [*protocol.LANES, "doing"])
def test_every_2x_lane_and_the_old_doing_are_valid(lane):
    validate(stock_like(payload={"wp_id": "WP01", "from_lane": "planned", "to_lane": lane}))
    assert protocol.canonical_lane(lane) in protocol.LANES


def test_an_unknown_event_type_is_valid_when_its_envelope_is():
    validate(stock_like(event_type="MissionDossierArtifactIndexed",
                        aggregate_type="MissionDossier", aggregate_id="001-x",
                        payload={"anything": ["goes", 1]}))


@pytest.mark.parametrize("changes, fragment", [
    ({"event_id": "not-an-id"}, "event_id"),
    ({"node_id": "XYZ"}, "node_id"),
    ({"event_type": "lower case"}, "event_type"),
    ({"payload": {"wp_id": "WP01"}}, "payload"),
    ({"lamport_clock": protocol.MAX_LAMPORT + 1}, "lamport_clock"),
    ({"lamport_clock": -1}, "lamport_clock"),
    ({"schema_version": "2.0"}, "schema_version"),
    ({"project_uuid": None}, "project_uuid"),
    ({"payload": {"wp_id": "WP01", "from_lane": "planned", "to_lane": "sideways"}}, "to_lane"),
])
def test_malformed_events_are_rejected_naming_the_field(changes, fragment):
    with pytest.raises(InvalidEventError, match=fragment):
        validate(stock_like(**changes))


def test_a_missing_envelope_field_is_rejected():
    event = stock_like()
    del event["team_slug"]
    with pytest.raises(InvalidEventError, match="team_slug"):
        validate(event)


def test_a_lone_surrogate_anywhere_is_rejected_however_small_the_event():
    """Regression (found by the route fuzz): a small event with "\\ud800" passed the size
    check's shortcut and failed later, inside the server's INSERT."""
    with pytest.raises(InvalidEventError, match="lone surrogate"):
        protocol.check_size(protocol.encode(make(aggregate_id="a\ud800")))


def test_non_objects_and_unencodable_events_are_rejected_not_raised():
    with pytest.raises(InvalidEventError):
        validate(["not", "an", "event"])
    with pytest.raises(InvalidEventError):
        protocol.encode({"x": float("nan")})


# -- sizes -----------------------------------------------------------------------------------

def test_events_over_the_byte_limit_are_rejected_and_exactly_the_limit_passes():
    limit = protocol.MAX_EVENT_BYTES
    protocol.check_size("x" * limit)
    with pytest.raises(InvalidEventError, match="64 KiB"):
        protocol.check_size("x" * (limit + 1))
    protocol.check_size("é" * (limit // 2))  # 2 bytes each: exactly the limit
    with pytest.raises(InvalidEventError, match="64 KiB"):
        protocol.check_size("é" * (limit // 2 + 1))


def test_the_payload_limits_of_the_schema_fit_in_one_event():
    big = make("ErrorLogged", {"error_type": "runtime", "error_message": "y" * 10000,
                               "stack_trace": "z" * 50000, "agent_id": "a" * 200,
                               "wp_id": None, "feature_slug": "001-" + "x" * 96})
    assert len(protocol.encode(big).encode()) < protocol.MAX_EVENT_BYTES
    validate(big)
    big["payload"]["stack_trace"] = "é" * 30000  # 60,000 bytes in 30,000 characters
    with pytest.raises(InvalidEventError, match="64 KiB"):
        validate(big)


def test_the_cli_limits_fit_the_servers():
    from spec_kitty_server import api, validation
    from specify_cli.sync import batch, pull

    assert batch.BATCH_SIZE <= protocol.MAX_BATCH_EVENTS
    # The largest batch the CLI builds, wrapped in {"events": [...]}, fits the body limit.
    assert batch.MAX_BATCH_BYTES + protocol.MAX_EVENT_BYTES + 64 <= protocol.MAX_BODY_BYTES
    assert pull.PAGE_SIZE <= api.MAX_LIMIT == protocol.MAX_PAGE_SIZE
    assert validation.MAX_BODY_BYTES == protocol.MAX_BODY_BYTES


# -- one validator: the fast path says what the whole schema says --------------------------

def _variants():
    assert set(VALID_PAYLOADS) == set(protocol.EVENT_TYPES)
    for kind, payload in VALID_PAYLOADS.items():
        yield kind, payload
        yield kind, {**payload, "surplus": 1}
        first = next(iter(payload))
        yield kind, {k: v for k, v in payload.items() if k != first}
        yield kind, {**payload, first: 12345}
        other = next(k for k in VALID_PAYLOADS if k != kind)
        yield kind, VALID_PAYLOADS[other]


@pytest.mark.parametrize("kind, payload", list(_variants()))
def test_fast_validation_agrees_with_the_whole_schema(kind, payload):
    whole = fastjsonschema.compile(protocol.schema())
    event = make(kind, dict(VALID_PAYLOADS[kind]))
    event["payload"] = dict(payload)
    try:
        whole(event)
        expected = True
    except fastjsonschema.JsonSchemaException:
        expected = False
    try:
        validate(event)
        got = True
    except InvalidEventError:
        got = False
    assert got == expected


def test_the_schema_is_json_and_names_every_known_type_and_lane():
    schema = json.loads(json.dumps(protocol.schema()))
    assert set(schema["definitions"]) == set(protocol.EVENT_TYPES)
    lanes = schema["definitions"]["WPStatusChanged"]["properties"]["to_lane"]["enum"]
    assert lanes == [*protocol.LANES, *protocol.LANE_ALIASES]
    assert schema["$id"].endswith("/schemas/events-1.0.json")


def test_the_protocol_imports_neither_the_cli_nor_the_server():
    import subprocess
    import sys

    code = ("import sys, spec_kitty_protocol; "
            "bad = [m for m in sys.modules if m.split('.')[0] in "
            "('specify_cli', 'spec_kitty_server')]; print(bad); sys.exit(bool(bad))")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            check=False)
    assert result.returncode == 0, result.stdout
