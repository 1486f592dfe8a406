"""JSON in and out of the server: fast where that changes no value, and never failing on a
lone surrogate.

orjson parses and writes several times faster than the json module and gives the same
values, with two differences: it reads an integer of more than 64 bits as a float (so
`fast_readable` sends any text with a run of 19 digits to the json module), and it writes
some floats in another, equally exact, form (`1e-05` as `0.00001`). A text orjson refuses
(a lone surrogate escape, bad UTF-8, NaN, `1e400`) is read with the json module, which then
words the error or reads what orjson does not.

A client can send `"\\ud800"` (a JSON escape for half a UTF-16 pair) in any string, and
the server echoes some strings back (an event's id in its result, a field in an error). Such
a string cannot be encoded as UTF-8, so Starlette's `JSONResponse` and a WebSocket text frame
would fail with a 500 or a dropped connection. Here the text is written with non-ASCII
characters as they are, unless it holds a lone surrogate: then everything non-ASCII is
escaped (`\\ud800`), which is still valid JSON and means the same.
"""

from __future__ import annotations

import json
from typing import Any

import orjson
from starlette.responses import JSONResponse as _StarletteJSONResponse

_DIGITS = bytes.maketrans(b"0123456789", b"0" * 10)
_LONG = b"0" * 19


def fast_readable(data: bytes) -> bool:
    """Whether orjson reads every number of a JSON text as the json module does.

    A run of 19 digits may be an integer beyond 64 bits, which orjson reads as a float. The
    digits are found by mapping every digit to `0` and looking for 19 zeros, which runs at
    memory speed, where a regular expression looks at every digit.

    Args:
        data: The JSON text.

    Returns:
        True when the text has no run of 19 digits (inside a string it is a false alarm,
        which costs only speed).
    """
    return data.translate(_DIGITS).find(_LONG) < 0


def loads_fast(data: bytes) -> Any:
    """Parse a JSON text that `fast_readable` passed, with orjson.

    Args:
        data: The JSON text.

    Returns:
        The value.

    Raises:
        ValueError: orjson refuses the text (the json module may not: ask it).
    """
    return orjson.loads(data)


def dumps_fast(value: Any) -> bytes:
    """Compact UTF-8 JSON of a value that `loads_fast` read, with orjson.

    Args:
        value: The value.

    Returns:
        The bytes of the json module's compact, non-ASCII-escaping encoding (floats
        excepted: the same value, maybe written in another form).

    Raises:
        TypeError: orjson refuses the value (a lone surrogate, too deep): ask the json module.
    """
    return orjson.dumps(value)


def dumps(value: Any) -> str:
    """Compact JSON text that is always encodable as UTF-8.

    Args:
        value: The JSON value.

    Returns:
        The text.
    """
    text = json.dumps(value, ensure_ascii=False, allow_nan=False, separators=(",", ":"))
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return json.dumps(value, ensure_ascii=True, allow_nan=False, separators=(",", ":"))
    return text


class JSONResponse(_StarletteJSONResponse):
    """Starlette's `JSONResponse`, rendered with `dumps`."""

    def render(self, content: Any) -> bytes:
        """Render the body.

        Args:
            content: The JSON value.

        Returns:
            The UTF-8 body.
        """
        return dumps(content).encode("utf-8")


class FloatFreeJSONResponse(JSONResponse):
    """`JSONResponse` for content without floats, rendered by orjson: the same bytes, faster.

    Content orjson refuses (a lone surrogate, an integer beyond 64 bits) is rendered by
    `dumps`.
    """

    def render(self, content: Any) -> bytes:
        """Render the body.

        Args:
            content: The JSON value (no floats in it).

        Returns:
            The UTF-8 body.
        """
        try:
            return orjson.dumps(content)
        except TypeError:
            return dumps(content).encode("utf-8")
