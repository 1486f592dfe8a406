"""`encode` writes exactly the json module's text, whichever writer it picks.

Events of plain values go through orjson (`spec_kitty_protocol.events._plain`), the rest
through the json module. These tests hold the result to `json.dumps` with the contract's
options on values built to sit on every difference between the two writers: floats, NaN,
integers past 64 bits, types orjson writes and the json module refuses, subclasses, non-str
keys, lone surrogates, control characters and deep nesting.
"""

from __future__ import annotations

import dataclasses
import datetime
import enum
import json
import uuid
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from spec_kitty_protocol import InvalidEventError, build_event, encode
from spec_kitty_protocol import events as protocol_events


def reference(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"), allow_nan=False)


def same_as_json(value: Any) -> None:
    """encode(value) is json.dumps(value), or both refuse it."""
    try:
        expected = reference(value)
    except (TypeError, ValueError, RecursionError):
        with pytest.raises(InvalidEventError):
            encode(value)
        return
    assert encode(value) == expected


class Colour(enum.Enum):
    RED = "red"


class Level(enum.IntEnum):
    HIGH = 3


class Lane(str, enum.Enum):
    DONE = "done"


class Text(str):
    pass


class Number(int):
    pass


@dataclasses.dataclass
class Point:
    x: int


ODD = [1.5, 1e-05, 1e16, -0.0, float("nan"), float("inf"), 2**63, 2**64, -(2**63) - 1,
       uuid.UUID(int=7), Colour.RED, Level.HIGH, Lane.DONE, Text("t"), Number(4), Point(1),
       datetime.datetime(2026, 1, 1), datetime.date(2026, 1, 1), (1, "x"), {1, 2}, b"x",
       "a\ud800", "\x00\x1f\x7f\u2028\u2029é😀", True, None]

scalars = (st.text(max_size=12) | st.integers(-(2**70), 2**70) | st.booleans() | st.none()
           | st.floats() | st.sampled_from(ODD))
keys = st.text(max_size=8) | st.sampled_from([Text("k"), 1, None, True, 2.5, "a\udfff"])
values = st.recursive(scalars, lambda inner: st.lists(inner, max_size=4)
                      | st.dictionaries(keys, inner, max_size=4), max_leaves=12)


@settings(max_examples=200, deadline=None)
@given(st.dictionaries(st.text(max_size=8), values, max_size=6))
def test_any_value_is_written_as_the_json_module_writes_it(value: dict[str, Any]) -> None:
    same_as_json(value)


@pytest.mark.parametrize("odd", ODD, ids=repr)
def test_each_odd_value_in_a_payload(odd: Any) -> None:
    same_as_json({"payload": {"x": odd, "y": [odd]}})
    same_as_json({"payload": {"x": {"k": odd}}, "tail": "é"})


@pytest.mark.parametrize("depth", [1, 31, 32, 33, 34, 254, 255, 256, 300])
def test_nesting_depth_either_side_of_each_writers_limit(depth: int) -> None:
    value: Any = "x"
    for level in range(depth):
        value = {"k": value} if level % 2 else [value]
    same_as_json({"payload": value})


def test_a_cycle_is_refused_as_nested_too_deeply() -> None:
    looped: dict[str, Any] = {"a": 1}
    looped["self"] = looped
    with pytest.raises(InvalidEventError, match="nested too deeply"):
        encode({"payload": looped})


def test_an_event_as_built_takes_the_fast_path() -> None:
    event = build_event("WPStatusChanged", {"wp_id": "WP01", "from_lane": "planned",
                                            "to_lane": "doing", "feature_slug": "001-x",
                                            "actor": "é agent"},
                        node_id="0123456789ab", team_slug="acme",
                        project_uuid=str(uuid.UUID(int=1)), project_slug="p")
    assert protocol_events._plain(event)
    assert encode(event) == reference(event)
