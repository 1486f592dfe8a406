"""Hostile answers for every endpoint the CLI talks to, generated from a seeded random source.

A hostile server is not a failing one: it answers, but with what a client cannot take at
face value. NaN and 400-digit numbers where seconds are expected, JSON nested 100,000 deep,
escape sequences in every string that may be printed, lone surrogates, broken status lines,
cursors that never move, WebSocket frames a client must refuse. `answer(rng, endpoint, ids)`
returns one such `Reply`; `KINDS` names each kind, for the figures.

No answer acknowledges a real queued event as stored (`success`/`duplicate`): whatever the
server says, the queue must hold the same events afterwards. Real ids are only ever
*rejected*, which keeps them queued.
"""

from __future__ import annotations

import gzip
import json
import random
from typing import Any

from tests._support.fake_server import Reply, ws_frame

TEXTS: tuple[str, ...] = (
    "\x1b[2J\x1b[H", "\x1b]0;pwned\x07", "\x1b[31mred\x1b[0m", "a\rb", "\x00nul", "\u202eevil",
    "\x9b31m", "line1\nline2", "\ud800", "\x07bell", "x" * 5000, "", "ok", "tab\there",
    "\x1b]8;;http://evil.example\x1b\\link\x1b]8;;\x1b\\", "\x7f\x08\x08del",
)
"""Strings a server may send where a name, a reason or a version is expected."""

NUMBERS: tuple[str, ...] = (
    "NaN", "Infinity", "-Infinity", "1e400", "-1e400", "1" + "0" * 300, "-5", "0", "1e300",
    str(2**63), str(2**64), "0.5", '"900"', "true", "null", "[]", "{}", "900", "1e-400",
)
"""JSON number literals (and non-numbers) where a count, a clock or seconds are expected."""

DEEP_LIST = ("[" * 100_000 + "]" * 100_000).encode()
DEEP_DICT = ('{"a":' * 50_000 + "1" + "}" * 50_000).encode()
STALL = "stall past the timeout"
"""The answer that comes later than the client waits (its kind, as `answer` returns it)."""
STALL_DELAY = 1.6
"""Seconds a stalled answer waits before it is sent."""


def _text(rng: random.Random) -> str:
    return rng.choice(TEXTS)


def _json(template: str, **values: str) -> bytes:
    """Fill a JSON template with raw literals (NaN, 1e400 are not what json.dumps writes)."""
    for key, value in values.items():
        template = template.replace("@" + key, value)
    return template.encode("utf-8", "surrogatepass")


def _s(text: str) -> str:
    return json.dumps(text)  # escapes control characters and keeps lone surrogates as \\ud800


def _ok(body: bytes | dict | list, status: int = 200) -> Reply:
    return Reply(status, body, {"Content-Type": "application/json"})


GENERIC: dict[str, Any] = {
    "empty body": lambda rng: _ok(b""),
    "html page": lambda rng: Reply(200, "<html><body>It works!</body></html>",
                                   {"Content-Type": "text/html"}),
    "invalid utf-8": lambda rng: _ok(b"\xff\xfe\x00garbage"),
    "JSON nested 100,000 deep (list)": lambda rng: _ok(DEEP_LIST),
    "JSON nested 50,000 deep (object)": lambda rng: _ok(DEEP_DICT),
    "JSON scalar": lambda rng: _ok(rng.choice([b"null", b"[]", b'"string"', b"42", b"NaN"])),
    "truncated gzip": lambda rng: Reply(200, gzip.compress(b'{"a": 1}' * 40)[:-9],
                                        {"Content-Encoding": "gzip",
                                         "Content-Type": "application/json"}),
    "escape sequences in detail": lambda rng: _ok(
        _json('{"detail": @d}', d=_s(_text(rng))), rng.choice([400, 403, 409, 422, 500])),
    "huge detail": lambda rng: _ok({"detail": "x" * 100_000}, rng.choice([400, 500])),
    "odd status": lambda rng: _ok({"detail": _text(rng)}, rng.choice(
        [201, 204, 301, 302, 402, 404, 405, 410, 418, 429, 451, 501, 505, 599])),
    "redirect elsewhere": lambda rng: Reply(rng.choice([301, 307, 308]), b"",
                                            {"Location": "http://127.0.0.1:9/elsewhere"}),
    "retry-after with escapes": lambda rng: Reply(429, b"{}", {
        "Retry-After": rng.choice(["\x1b[2J", "99999999999999999999", "-1", "soon"])}),
    "broken status line": lambda rng: Reply(raw=rng.choice([
        b"garbage\r\n\r\n", b"", b"HTTP/1.1 999 Weird\r\nContent-Length: 2\r\n\r\n{}",
        b"HTTP/1.1 200 OK\r\nContent-Length: abc\r\n\r\n{}",
        b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n{",
        b"HTTP/1.1 418 \x1b[2J\x1b]0;t\x07\r\nContent-Length: 0\r\n\r\n",
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n"])),
    STALL: lambda rng: Reply(200, b"{}", delay=STALL_DELAY),
}
"""Answers that make no sense for any endpoint."""


def _tokens(rng: random.Random) -> Reply:
    access = rng.choice(['"acc-hostile-1"', '"acc\\u001b[2J"', '"acc t\\u00e9"', '""', "null",
                         "42", '"' + "a" * 9000 + '"', '"acc\\nX-Evil: 1"'])
    refresh = rng.choice(['"ref-hostile-1"', '""', "[]", '"ref\\u0000"'])
    return _ok(_json('{"access": @a, "refresh": @r, "access_lifetime": @al, '
                     '"refresh_lifetime": @rl, "team_slug": @t, "username": @u}',
                     a=access, r=refresh, al=rng.choice(NUMBERS), rl=rng.choice(NUMBERS),
                     t=rng.choice([_s(_text(rng)), "7", "null", '{"x": 1}']),
                     u=rng.choice([_s(_text(rng)), "[]", "null"])))


def _batch(rng: random.Random, ids: list[str]) -> Reply:
    pick = rng.randrange(6)
    if pick == 0:  # every real event rejected, with a reason that is an escape sequence
        return _ok({"results": [{"event_id": i, "status": "rejected", "error": _text(rng)}
                                for i in ids]})
    if pick == 1:  # answers for events that were never sent
        return _ok({"results": [{"event_id": f"01FAKE{n:020d}", "status": "success"}
                                for n in range(len(ids))]})
    if pick == 2:
        return _ok(_json('{"results": [{"event_id": @i, "status": @s}]}',
                         i=rng.choice(['"x"', "7", "null", "NaN", _s(_text(rng))]),
                         s=rng.choice(['"stored"', "1", "null", '"rejected"', '"success"'])))
    if pick == 3:
        return _ok(_json('{"results": @r}', r=rng.choice(["NaN", "1e400", '"all good"', "{}"])))
    if pick == 4:  # a mix: real ids rejected, then garbage in the same list
        return _ok({"results": [{"event_id": i, "status": "rejected", "error": None}
                                for i in ids[:1]] + [7]})
    return _ok({"results": [{"event_id": i, "status": "rejected",
                             "error": {"nested": [_text(rng)]}} for i in ids]})


def _event(rng: random.Random, n: int) -> str:
    return _json('{"event_id": @id, "event_type": @t, "server_seq": @seq, '
                 '"lamport_clock": @l, "received_at": @r, "payload": {"note": @note}}',
                 id=rng.choice([f'"01PULL{n:020d}"', "7", "null", _s(_text(rng))]),
                 t=rng.choice(['"HistoryAdded"', _s(_text(rng)), "[]"]),
                 seq=rng.choice(NUMBERS + (str(n + 1),)), l=rng.choice(NUMBERS),
                 r=rng.choice(['"2026-01-01T00:00:00Z"', "{}", "1e400"]),
                 note=_s(_text(rng))).decode("utf-8", "surrogatepass")


def _pull(rng: random.Random) -> Reply:
    events = ",".join(_event(rng, rng.randrange(10**6)) for _ in range(rng.randrange(0, 4)))
    return _ok(_json('{"events": [@e], "next_cursor": @c, "has_more": @m}', e=events,
                     c=rng.choice(['"same"', '"same"', "7", "null", "1e400", "[]",
                                   _s(_text(rng)), '"' + "c" * 20000 + '"']),
                     m=rng.choice(["true", "true", '"yes"', "1", "null", "NaN"])))


def _health(rng: random.Random) -> Reply:
    return _ok(_json('{"status": @s, "authenticated": @a, "token_status": @t, "version": @v}',
                     s=rng.choice(['"ok"', '"ok"', "null", _s(_text(rng))]),
                     a=rng.choice(["true", '"true"', "NaN"]),
                     t=rng.choice(['"valid"', '"valid"', '"expired"', "1e400"]),
                     v=rng.choice([_s(_text(rng)), "1e400", "{}", "NaN"])))


def _ws_token(rng: random.Random) -> Reply:
    return _ok(_json('{"ws_token": @t}', t=rng.choice(['"wstok"', '"wstok"', '""', "null",
                                                       _s(_text(rng)), "1e400"])))


def ws_frames(rng: random.Random, ids: list[str]) -> list[bytes]:
    """A WebSocket session of 6-12 frames a client must survive (and maybe refuse)."""
    choices = [
        lambda: ws_frame(9, b"ping?"),
        lambda: ws_frame(1, '{"type": "ping"}'),
        lambda: ws_frame(1, json.dumps({"type": "ack", "event_id": rng.choice(ids),
                                        "status": "rejected", "error": _text(rng)})),
        lambda: ws_frame(1, json.dumps({"type": "ack", "event_id": "01NOTQUEUED",
                                        "status": "success"})),
        lambda: ws_frame(1, '{"type": "ack", "event_id": 7, "status": "success"}'),
        lambda: ws_frame(1, '{"type": "event", "event": ' + _event(rng, rng.randrange(99))
                         + "}"),
        lambda: ws_frame(1, "not json \x1b[2J"),
        lambda: ws_frame(1, DEEP_LIST[:60_000] + DEEP_LIST[-60_000:]),
        lambda: ws_frame(2, b"\x00\x01binary"),
        lambda: ws_frame(1, '{"type": "event", "event": NaN}'),
        lambda: ws_frame(1, json.dumps({"type": _text(rng)})),
    ]
    fatal = [  # frames after which the client must drop the connection
        lambda: ws_frame(1, b"\xff\xfe invalid utf-8"),
        lambda: ws_frame(1, b"{}", rsv=2),
        lambda: ws_frame(5, b"reserved opcode"),
        lambda: ws_frame(8, b"\x00\x01"),  # close with a forbidden code
        lambda: ws_frame(1, b"x" * (1024 * 1024 + 10)),  # over the client's message limit
        lambda: ws_frame(0, b"continuation without a start"),
    ]
    frames = [rng.choice(choices)() for _ in range(rng.randrange(5, 11))]
    if rng.random() < 0.5:
        frames.append(rng.choice(fatal)())
    return frames


def _ws(rng: random.Random, ids: list[str]) -> Reply:
    pick = rng.randrange(8)
    if pick == 0:
        return Reply(ws_frames=[], ws_accept="d3Jvbmcga2V5")  # a wrong accept key
    if pick == 1:
        return Reply(rng.choice([200, 403, 404, 500]), {"detail": _text(rng)})
    return Reply(ws_frames=ws_frames(rng, ids))


ENDPOINTS: dict[str, tuple[str, str]] = {
    "login": ("POST", "/api/v1/token/"),
    "refresh": ("POST", "/api/v1/token/refresh/"),
    "push": ("POST", "/api/v1/events/batch/"),
    "pull": ("GET", "/api/v1/events/"),
    "status": ("GET", "/api/v1/sync/health/"),
    "ws-token": ("POST", "/api/v1/ws-token/"),
    "socket": ("GET", "/ws/v1/events/"),
}
"""The endpoints the CLI uses, by the name the figures give them."""

_SPECIFIC = {"login": _tokens, "refresh": _tokens, "pull": _pull, "status": _health,
             "ws-token": _ws_token}


def answer(rng: random.Random, endpoint: str, ids: list[str]) -> tuple[str, Reply]:
    """Return (kind, reply): one hostile answer for `endpoint`.

    Args:
        rng: The seeded random source.
        endpoint: A key of `ENDPOINTS`.
        ids: The event ids queued on the client (only ever rejected, never acknowledged).
    """
    if endpoint == "socket":
        return "socket session", _ws(rng, ids)
    if rng.random() < 0.45:
        kind = rng.choice(sorted(GENERIC))
        return kind, GENERIC[kind](rng)
    if endpoint == "push":
        return "push results", _batch(rng, ids)
    return f"{endpoint} body", _SPECIFIC[endpoint](rng)
