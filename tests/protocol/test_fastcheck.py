"""The compiled yes/no check never passes what the published JSON Schema refuses.

`validate` answers from the compiled check (`spec_kitty_protocol._fastcheck`) when it says
yes, and from fastjsonschema otherwise; these tests hold it to the whole published schema
(`spec_kitty_protocol.schema()`, with its `allOf`/`if`/`then`) on events mutated field by
field with the values that sit on each rule's edge.
"""

from __future__ import annotations

import copy
import re

import fastjsonschema
import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

import spec_kitty_protocol as protocol
from spec_kitty_protocol import InvalidEventError, _fastcheck, validate
from spec_kitty_protocol import events as protocol_events
from spec_kitty_protocol._fastcheck import compile_check
from spec_kitty_protocol.schema import envelope_schema
from tests._support.events import VALID_PAYLOADS
from tests._support.events import protocol_event as make

WHOLE = fastjsonschema.compile(protocol.schema())

EDGE_STRINGS = [
    "", "x", "WP01", "WP01\n", "WP1", "WP00001", "wp01", "planned", "doing", "done\n",
    "in_progress", "review", "note", "runtime", "completed", "001-x", "001-x\n", "001-", "01-x",
    "0123456789ab", "0123456789AB", "0123456789ab\n", "acme", "Acme", "-acme", "a" * 63,
    "a" * 64, "a" * 100, "a" * 101, "a" * 200, "a" * 201, "a" * 500, "a" * 501,
    "01KB4X5Y8Z9ABCDEFGHJKMNPQR", "01KB4X5Y8Z9ABCDEFGHJKMNPQU", "01kb4x5y8z9abcdefghjkmnpqr",
    "01KB4X5Y8Z9ABCDEFGHJKMNPQR\n", "12345678-1234-4234-8234-123456789abc",
    "12345678-1234-1234-1234-123456789abc", "12345678-1234-4234-8234-123456789ABC",
    "2026-01-01T00:00:00Z", "2026-01-01T00:00:00.123456Z", "2026-01-01T00:00:00.1234567Z",
    "2026-01-01T00:00:00+00:00", "2026-01-01T00:00:00+01:00", "2026-01-01T00:00:00Z\n",
    "1.0", "1.12", "1.12345", "2.0", "1.0\n", "PT1.5S", "WorkPackage", "Feature", "X", "x1",
    "HistoryAdded", "MissionDossierUpdated", "main", "WP01\x00", "é", "\u2028",
]
EDGE_NUMBERS = [0, 1, -1, 2, 12345, protocol.MAX_LAMPORT, protocol.MAX_LAMPORT + 1, 2**64,
                -(2**70), 0.0, 1.0, 2.0, -0.0, 0.5, -1.5, 1e300, float("inf"), True, False]

scalars = (st.sampled_from(EDGE_STRINGS) | st.sampled_from(EDGE_NUMBERS) | st.none()
           | st.text(max_size=12) | st.integers(-5, 2**60) | st.floats(allow_nan=False))
values = st.recursive(scalars, lambda inner: st.lists(inner, max_size=3)
                      | st.dictionaries(st.sampled_from(EDGE_STRINGS) | st.text(max_size=5),
                                        inner, max_size=3), max_leaves=6)
ENVELOPE_KEYS = sorted(protocol.schema()["properties"])
PAYLOAD_KEYS = sorted({k for d in protocol.schema()["definitions"].values()
                       for k in d["properties"]})


@st.composite
def events(draw):
    kind = draw(st.sampled_from([*VALID_PAYLOADS, "MissionDossierUpdated"]))
    if kind in VALID_PAYLOADS:
        event = make(kind, copy.deepcopy(VALID_PAYLOADS[kind]))
    else:
        event = make(event_type=kind, aggregate_type="Mission", aggregate_id="m-1")
        event["payload"] = {"anything": [1, "x"]}
    for _ in range(draw(st.integers(0, 3))):
        where = draw(st.sampled_from(["envelope", "payload", "drop", "drop payload"]))
        if where == "envelope":
            key = draw(st.sampled_from(ENVELOPE_KEYS) | st.text(max_size=5))
            event[key] = draw(values)
        elif where == "payload" and isinstance(event.get("payload"), dict):
            key = draw(st.sampled_from(PAYLOAD_KEYS) | st.text(max_size=5))
            event["payload"][key] = draw(values)
        elif where == "drop":
            event.pop(draw(st.sampled_from(ENVELOPE_KEYS)), None)
        elif isinstance(event.get("payload"), dict) and event["payload"]:
            event["payload"].pop(draw(st.sampled_from(sorted(event["payload"]))))
    return event


def _whole_accepts(event) -> bool:
    try:
        WHOLE(event)
    except fastjsonschema.JsonSchemaException:
        return False
    return True


@settings(max_examples=500, deadline=None, suppress_health_check=list(HealthCheck))
@given(event=events())
@example(event=make(lamport_clock=5.0))  # an integer written as a float: the schema's yes
@example(event=make(node_id="0123456789ab\n"))
@example(event=make("WPStatusChanged", {**VALID_PAYLOADS["WPStatusChanged"], "to_lane": "doing"}))
def test_validate_accepts_exactly_what_the_published_schema_accepts(event):
    _agree(event)


EDGES = [*EDGE_STRINGS, *EDGE_NUMBERS, None, [], ["WP01"], ["WP01\n"], ["WP01"] * 201, {},
         {"a": 1}]


def _agree(event) -> None:
    quick = protocol_events._surely_valid(event)
    whole = _whole_accepts(event)
    assert not quick or whole, f"the compiled check passed an event the schema refuses: {event}"
    if not whole:
        with pytest.raises(InvalidEventError):
            validate(event, check_bytes=False)
    else:
        validate(event, check_bytes=False)


@pytest.mark.parametrize("kind", sorted(VALID_PAYLOADS))
def test_every_field_at_every_edge(kind):
    # Each envelope and payload field of each type set to each edge value, one at a time.
    for key in ENVELOPE_KEYS:
        for value in EDGES:
            event = make(kind, copy.deepcopy(VALID_PAYLOADS[kind]))
            event[key] = copy.deepcopy(value)
            _agree(event)
    for key in PAYLOAD_KEYS:
        for value in EDGES:
            event = make(kind, copy.deepcopy(VALID_PAYLOADS[kind]))
            event["payload"][key] = copy.deepcopy(value)
            _agree(event)


@pytest.mark.parametrize("kind", sorted(VALID_PAYLOADS))
def test_the_compiled_check_passes_valid_events_itself(kind):
    # Valid events take the quick path (the point of it), unknown event types included.
    assert protocol_events._surely_valid(make(kind, copy.deepcopy(VALID_PAYLOADS[kind])))
    assert protocol_events._surely_valid(make(kind, copy.deepcopy(VALID_PAYLOADS[kind]),
                                              event_type="MissionStarted", surplus=[1]))


def test_errors_still_come_from_the_schema():
    event = make(node_id="NOT-HEX")
    with pytest.raises(InvalidEventError, match=r"^data\.node_id must match pattern"):
        validate(event)
    event = make("WPStatusChanged", {**VALID_PAYLOADS["WPStatusChanged"], "to_lane": "sideways"})
    with pytest.raises(InvalidEventError, match=r"^data\.payload\.to_lane must be one of"):
        validate(event)


@pytest.mark.parametrize("rule", [
    {"type": "string", "format": "date-time"},
    {"type": "object", "additionalProperties": False},
    {"type": "integer", "multipleOf": 2},
    {"enum": ["a"]},
    {"type": ["string", "null"], "maxLength": 3},
    {"anyOf": [{"type": "null"}], "default": None},
])
def test_a_rule_the_compiler_does_not_know_stops_it(rule):
    # So a keyword added to the schema can never be skipped by the quick path.
    with pytest.raises(ValueError):
        compile_check(rule)


def test_unknown_event_types_are_not_remembered():
    # Any client can send any number of type names: only the known ones get a compiled check.
    for n in range(50):
        validate(make(event_type=f"Unknown{n}", aggregate_type="Mission", aggregate_id="m"))
    assert set(protocol_events._quick) <= {"", *protocol.EVENT_TYPES}


SHORTCUT_PATTERNS = sorted(_fastcheck._SHORTCUTS)
# Strings around each layout: its characters, its neighbours in ASCII and beyond, and the
# separators of the other layouts, so that near misses of every kind are drawn.
SHORTCUT_ALPHABET = ("0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
                     "-T:.Z+/@[`{\n\x00 é٣\ud800")
SHORTCUT_EDGES = [
    "01KB4X5Y8Z9ABCDEFGHJKMNPQR", "01KB4X5Y8Z9ABCDEFGHJKMNPQU", "01KB4X5Y8Z9ABCDEFGHJKMNPQI",
    "01KB4X5Y8Z9ABCDEFGHJKMNPQ", "01KB4X5Y8Z9ABCDEFGHJKMNPQR\n", "01kb4x5y8z9abcdefghjkmnpqr",
    "01KB4X5Y8Z9ABCDEFGHJKMNPQ\ud800", "01KB4X5Y8Z9ABCDEFGHJKMNPQ٣",
    "12345678-1234-4234-8234-123456789abc", "12345678-1234-4234-8234-123456789ABC",
    "12345678-1234-4234-8234-123456789abg", "12345678+1234-4234-8234-123456789abc",
    "123456781-234-4234-8234-123456789abc", "12345678-1234-4234-8234-123456789ab\n",
    "2026-01-01T00:00:00Z", "2026-01-01T00:00:00.1Z", "2026-01-01T00:00:00.123456Z",
    "2026-01-01T00:00:00.1234567Z", "2026-01-01T00:00:00.Z", "2026-01-01T00:00:00+00:00",
    "2026-01-01T00:00:00.5+00:00", "2026-01-01T00:00:00+01:00", "2026-01-01T00:00:00Z\n",
    "2026-01-01 00:00:00Z", "2026-01-01T00:00:00z", "2026-01-0١T00:00:00Z", "٢026-01-01T00:00:00Z",
    "2026-01-01T00:00:00\ud800", "20260-01-01T00:00:00Z", "", "Z", "0" * 26, "0" * 36,
]


def _shortcut(pattern: str):
    names: dict[str, object] = {}

    def name(value: object) -> str:
        names[f"_k{len(names)}"] = value
        return f"_k{len(names) - 1}"

    expression = _fastcheck.shortcut(pattern, "v", name)
    return eval(f"lambda v: {expression}", names)  # noqa: S307 (our own expression)


def _pattern(pattern: str):
    # As fastjsonschema searches: every unescaped `$` becomes `\Z`.
    return re.compile(_fastcheck._DOLLAR.sub(r"\\Z", pattern)).search


@pytest.mark.parametrize("pattern", SHORTCUT_PATTERNS)
def test_a_shortcut_passes_only_what_its_pattern_matches(pattern):
    quick, full = _shortcut(pattern), _pattern(pattern)
    samples = [*SHORTCUT_EDGES, *EDGE_STRINGS]
    for value in samples:
        assert not quick(value) or full(value), (pattern, value)
    # ... and it is the path valid ids and times take (Z times; `+00:00` goes to the pattern).
    passed = [value for value in samples if full(value) and not value.endswith("+00:00")]
    assert passed and all(quick(value) for value in passed), pattern


@pytest.mark.parametrize("pattern", SHORTCUT_PATTERNS)
def test_shortcuts_agree_with_their_patterns_on_every_one_character_change(pattern):
    quick, full = _shortcut(pattern), _pattern(pattern)
    for template in [s for s in SHORTCUT_EDGES if full(s)]:
        for where in range(len(template) + 1):
            for what in SHORTCUT_ALPHABET:
                for text in (template[:where] + what + template[where + 1:],  # replace
                             template[:where] + what + template[where:],  # insert
                             template[:where] + template[where + 1:]):  # delete
                    expected = full(text) is not None and not text.endswith("+00:00")
                    assert quick(text) == expected, (pattern, text)


@settings(max_examples=500, deadline=None)
@given(data=st.data())
def test_shortcuts_agree_with_their_patterns_on_near_misses(data):
    pattern = data.draw(st.sampled_from(SHORTCUT_PATTERNS))
    template = data.draw(st.sampled_from([s for s in SHORTCUT_EDGES if _pattern(pattern)(s)]))
    # Mutate a valid value: replace, insert or delete characters.
    value = list(template)
    for _ in range(data.draw(st.integers(1, 3))):
        where = data.draw(st.integers(0, len(value)))
        what = data.draw(st.sampled_from(SHORTCUT_ALPHABET))
        action = data.draw(st.sampled_from(["replace", "insert", "delete"]))
        if action == "insert" or where == len(value):
            value.insert(where, what)
        elif action == "replace":
            value[where] = what
        else:
            del value[where]
    text = "".join(value)
    full = _pattern(pattern)(text) is not None
    assert _shortcut(pattern)(text) == (full and not text.endswith("+00:00")), (pattern, text)


def test_valid_ids_and_times_never_reach_the_remembered_strings():
    # Unique per event, they would only churn the remembered sets.
    check = compile_check(envelope_schema())
    event = make()
    event["causation_id"] = "12345678-1234-4234-8234-123456789abc"
    remembered = [value for value in check.__globals__.values() if isinstance(value, set)]
    assert check(event)
    for value in (event["event_id"], event["timestamp"], event["causation_id"]):
        assert not any(value in seen for seen in remembered), value
