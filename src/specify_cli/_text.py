"""Text that is safe to print: control characters removed, counts with the right plural,
durations in human units.

Strings from a server (an error `detail`, a team slug, a user name) or from a file the user
did not write by hand can carry terminal escape sequences: `\\x1b[2J` clears the screen and
`\\x1b]0;...\\x07` retitles the window, even through a pipe into `less -R`. Every line the CLI
prints goes through `printable`, so no such sequence reaches a terminal.
"""

from __future__ import annotations

import re
from typing import Any

_UNSAFE = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u200e\u200f\u202a-\u202e\u2066-\u2069"
                     "\ud800-\udfff]")
"""C0 and C1 control characters except tab and newline, DEL, bidirectional overrides (which
can make a line read differently from what it says) and lone surrogates (which JSON can carry
but no terminal encoding can print)."""

_ESCAPE = re.compile(r"\x1b(\[[0-?]*[ -/]*[@-~]|\][^\x07\x1b]*(\x07|\x1b\\)?|[@-_])")
"""A whole ANSI escape sequence (CSI or OSC), removed with its parameters so that no
half-sequence such as `[2J` is left behind."""


def printable(text: str) -> str:
    """Return `text` without escape sequences and control characters (tab and newline kept).

    Args:
        text: Any text, possibly from a server or a file.
    """
    if text.isprintable():
        return text
    return _UNSAFE.sub("", _ESCAPE.sub("", text))


def plural(count: int, noun: str, nouns: str | None = None, *, grouped: bool = False) -> str:
    """Return `1 event`, `2 events`, `0 batches`: the count with the noun it takes.

    Args:
        count: How many.
        noun: The singular noun.
        nouns: The plural when it is not `noun + "s"` (`batches`, `entries`).
        grouped: Write the count with thousands separators (`1,500 events`).
    """
    number = f"{count:,}" if grouped else str(count)
    return f"{number} {noun if count == 1 else (nouns or noun + 's')}"


_SURROGATE = re.compile("[\ud800-\udfff]")


def duration(seconds: float) -> str:
    """Return a duration in human units: `42s`, `5m`, `3h 2m` or `2d 4h` (negative is `0s`).

    Token lifetimes (`auth status`) and ages (`sync status`) are both shown this way.

    Args:
        seconds: The duration in seconds.
    """
    seconds = max(0, int(seconds))
    if seconds < 60:
        return f"{seconds}s"
    hours, minutes = divmod(seconds // 60, 60)
    if not hours:
        return f"{minutes}m"
    days, hours = divmod(hours, 24)
    return f"{days}d {hours}h" if days else f"{hours}h {minutes}m"


def without_surrogates(data: Any) -> Any:
    """Return parsed JSON with every lone surrogate (`"\\ud800"`) in its strings made U+FFFD.

    JSON may escape half of a UTF-16 pair; Python then holds a `str` that cannot be encoded,
    so SQLite, a file or the terminal would fail on it later, far from the cause. The walk
    is iterative: the data may be nested as deep as the JSON parser allows.

    Args:
        data: What `json.loads` returned.
    """
    def fix(text: str) -> str:
        return _SURROGATE.sub("\ufffd", text)

    root: list[Any] = [data]
    stack: list[tuple[Any, Any]] = [(root, 0)]
    while stack:
        container, key = stack.pop()
        value = container[key]
        if isinstance(value, str):
            container[key] = fix(value)
        elif isinstance(value, list):
            stack.extend((value, index) for index in range(len(value)))
        elif isinstance(value, dict):
            fixed = {fix(k): v for k, v in value.items()}
            container[key] = fixed
            stack.extend((fixed, k) for k in fixed)
    return root[0]
