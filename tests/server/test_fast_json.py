"""orjson on the batch path reads and writes what the json module would.

The server parses pushed bodies and encodes stored events with orjson
(`spec_kitty_server._json`) and falls back to the json module for anything orjson reads
differently (integers beyond 64 bits) or refuses (lone surrogates, NaN, `1e400`). These
properties compare the two on generated JSON, edge cases included.
"""

from __future__ import annotations

import json
import math

from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from spec_kitty_protocol import encode
from spec_kitty_server import _json
from spec_kitty_server.validation import BodyError, check_event, parse_json
from tests._support.events import make_event

integers = st.integers(-(2**80), 2**80) | st.sampled_from(
    [2**63 - 1, 2**63, 2**64 - 1, 2**64, -(2**63), -(2**63) - 1, 10**18, 10**19 - 1, 10**19])
text = st.text(max_size=20) | st.sampled_from(["\x00", "\x1f", "\x7f", "\u2028", "é", "😀",
                                               '"', "\\", "12345678901234567890"])
exact_values = st.recursive(
    st.none() | st.booleans() | integers | text,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(text, inner, max_size=4),
    max_leaves=20)
any_values = st.recursive(
    st.none() | st.booleans() | integers | text | st.floats(allow_nan=False,
                                                           allow_infinity=False),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(text, inner, max_size=4),
    max_leaves=20)


def same(a, b) -> bool:
    """Equal and of the same types all the way down (1 == 1.0 == True otherwise)."""
    if type(a) is not type(b):
        return False
    if isinstance(a, dict):
        return list(a) == list(b) and all(same(a[k], b[k]) for k in a)
    if isinstance(a, list):
        return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b, strict=True))
    if isinstance(a, float):
        return a == b and math.copysign(1, a) == math.copysign(1, b)
    return a == b


def beyond_64_bits(value) -> bool:
    if isinstance(value, dict):
        return any(beyond_64_bits(v) for v in value.values())
    if isinstance(value, list):
        return any(beyond_64_bits(v) for v in value)
    return type(value) is int and not -(2**63) <= value < 2**64


def stdlib(value, **kw) -> str:
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False, **kw)


@settings(max_examples=400, deadline=None, suppress_health_check=list(HealthCheck))
@given(value=any_values, indent=st.sampled_from([None, 1]), ascii_only=st.booleans())
@example(value={"a": 2**64}, indent=None, ascii_only=False)
@example(value=[1e-05, 1e16, -0.0, 5e-324], indent=None, ascii_only=False)
def test_parsing_gives_the_json_modules_values(value, indent, ascii_only):
    data = json.dumps(value, indent=indent, ensure_ascii=ascii_only).encode()
    assert same(parse_json(data), json.loads(data))


@settings(max_examples=400, deadline=None, suppress_health_check=list(HealthCheck))
@given(value=exact_values)
def test_encoding_gives_the_json_modules_text(value):
    parsed = parse_json(stdlib(value).encode())
    try:
        fast = _json.dumps_fast(parsed)
    except TypeError:  # orjson writes no integer beyond 64 bits: the json module does it
        assert beyond_64_bits(parsed)
        return
    assert fast.decode() == stdlib(parsed)


@settings(max_examples=200, deadline=None, suppress_health_check=list(HealthCheck))
@given(value=st.floats(allow_nan=False, allow_infinity=False))
def test_floats_keep_their_value(value):
    assert same(json.loads(_json.dumps_fast([value])), [value])


def test_long_digit_runs_go_to_the_json_module():
    assert _json.fast_readable(b'{"a":123456789012345678}')
    assert not _json.fast_readable(b'{"a":1234567890123456789}')
    assert not _json.fast_readable(b'{"a":"1234567890123456789"}')  # a false alarm: only slower
    assert same(parse_json(b'{"a":123456789012345678901234567890}'),
                {"a": 123456789012345678901234567890})


def test_what_orjson_refuses_is_read_or_refused_as_before():
    assert parse_json(b'"\\ud800"') == "\ud800"
    assert parse_json(b'[1e400]') == [math.inf]
    for bad, message in ((b"[NaN]", "NaN is not valid JSON"),
                         (b'"a\tb"', "Invalid control character"),
                         (b"\xff", "not valid UTF-8"),
                         (b"[" * 100_000, "nested too deeply")):
        try:
            parse_json(bad)
        except BodyError as exc:
            assert message in exc.detail, exc.detail
        else:
            raise AssertionError(f"{bad[:10]!r} was accepted")


def test_the_fast_path_stores_the_same_text_and_verdicts():
    good = make_event(team="acme")
    surplus = {**make_event(team="acme"), "extra": {"big": 2**70, "deep": [[[None]]]}}
    surrogate = make_event(team="acme")
    surrogate["payload"]["actor"] = "\ud800"
    long_text = make_event(team="acme")
    long_text["payload"]["actor"] = "é" * 40_000
    for event in (good, surplus, surrogate, long_text, make_event(team="other")):
        fast = check_event(json.loads(encode_safely(event)), "acme", fast_json=True)
        slow = check_event(json.loads(encode_safely(event)), "acme")
        assert (fast.error, fast.body) == (slow.error, slow.body)
    assert check_event(good, "acme", fast_json=True).body == encode(good)
    assert "lone surrogate" in check_event(surrogate, "acme", fast_json=True).error
    assert "over 64 KiB" in check_event(long_text, "acme", fast_json=True).error


def encode_safely(event) -> str:
    return json.dumps(event)  # ASCII escapes carry a lone surrogate through the round trip
