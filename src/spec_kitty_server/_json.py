"""JSON out of the server that never fails on a lone surrogate.

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

from starlette.responses import JSONResponse as _StarletteJSONResponse


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
