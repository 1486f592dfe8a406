"""At least 10,000 generated hostile inputs across every route, form, query parameter, header,
cookie and WebSocket message: never a response >= 500, never a traceback in the server log.

Values include lone surrogates (as JSON `\\ud800` escapes and as percent-encoded or raw
invalid UTF-8), non-ASCII, NUL bytes, huge numbers, very long strings and deep nesting, in
every field. The generator is seeded (`SK_FUZZ_SEED`, printed) so a failure can be replayed;
requests go out from a few threads at once, and WebSocket messages over live connections.
"""

from __future__ import annotations

import json
import os
import random
import socket
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from urllib.parse import quote

import httpx
import pytest
from websockets.exceptions import ConnectionClosed
from websockets.sync.client import connect

from tests._support import figures, seed
from tests._support.leaks import server_log_health
from tests._support.logins import PASSWORD, api_login, browser_login, page_csrf
from tests._support.procs import add_user, start_server
from tests._support.server_api import bearer

HTTP_INPUTS = 8300
WS_INPUTS = 1500
RAW_INPUTS = 200
SEED = int(os.environ.get("SK_FUZZ_SEED", random.SystemRandom().randrange(10**9)))

STRINGS = ["", " ", "\x00", "a\x00b", "\ud800", "x\udfffy", "\ud83d", "é", "日本語", "😀",
           "\u202e\u0000", "\r\n", "\t", "A" * 5000, "a" * 151, "../../etc/passwd",
           "<script>alert(1)</script>", "' OR 1=1 --", "%00", "%ED%A0%80", "null", "NaN",
           "-1", "0", "9" * 40, "1e999", "acme", "alice", "WP01", "doing", "\\", "\"",
           "Bearer ", "\ufeff", "\uffff", "\U0010ffff"]
NUMBERS = [0, -1, 1, 2**31, 2**63, 2**64, -(2**63) - 1, 10**100, -(10**100), 1.5, -0.0,
           1e308, 5e-324]


def _deep(rng: random.Random) -> str:
    depth = rng.choice([64, 500, 5000, 100_000])
    opener, closer = rng.choice([("[", "]"), ('{"a":', "}")])
    return opener * depth + "1" + closer * depth


def value(rng: random.Random, depth: int = 0) -> object:
    """A hostile JSON value (deep nesting is spliced in as text by `dumps`)."""
    kind = rng.random()
    if kind < 0.45:
        return rng.choice(STRINGS)
    if kind < 0.65:
        return rng.choice(NUMBERS)
    if kind < 0.72:
        return rng.choice([None, True, False])
    if kind < 0.80 and depth < 3:
        return [value(rng, depth + 1) for _ in range(rng.randint(0, 4))]
    if kind < 0.88 and depth < 3:
        return {rng.choice(STRINGS): value(rng, depth + 1) for _ in range(rng.randint(0, 4))}
    return "__DEEP__"


def dumps(rng: random.Random, obj: object) -> bytes:
    text = json.dumps(obj)  # ensure_ascii: a lone surrogate becomes a \\ud800 escape
    while '"__DEEP__"' in text:
        text = text.replace('"__DEEP__"', _deep(rng), 1)
    return text.encode()


def mutate(rng: random.Random, event: dict) -> None:
    """Set one to three envelope or payload fields (or new ones) to hostile values."""
    for _ in range(rng.randint(1, 3)):
        payload = event.get("payload")
        target = payload if isinstance(payload, dict) and rng.random() < 0.4 else event
        target[rng.choice([*target, rng.choice(STRINGS)])] = value(rng)


def enc(text: str) -> str:
    """Percent-encode any string, lone surrogates included (as their invalid UTF-8 bytes)."""
    return quote(text.encode("utf-8", "surrogatepass"), safe="")


def query_value(rng: random.Random) -> str:
    raw = rng.choice(STRINGS + [str(n) for n in NUMBERS])
    encoded = enc(raw)
    return rng.choice([encoded, encoded, "%ED%A0%80", "%FF%FE", "%00", "%", "%zz", "a%2"])


def form_body(rng: random.Random, fields: dict[str, str]) -> bytes:
    parts = []
    for name, good in fields.items():
        if rng.random() < 0.7:
            parts.append(f"{name}={query_value(rng)}")
        elif good:
            parts.append(f"{name}={quote(good)}")
    if rng.random() < 0.2:
        parts.append(f"{query_value(rng)}={query_value(rng)}")
    body = "&".join(parts).encode()
    if rng.random() < 0.15:
        body += rng.choice([b"\xff\xfe", b"\xed\xa0\x80", b"\x00", b"&" * 50])
    return body


class Fuzzer:
    """Builds requests for every route from the logged-in state it was given."""

    def __init__(self, rng: random.Random, access: str, refresh: str, cookie: str,
                 logout_csrf: str, login_csrf: str, login_cookie: str) -> None:
        self.rng = rng
        self.access = access
        self.refresh = refresh
        self.cookie = cookie
        self.logout_csrf = logout_csrf
        self.login_csrf = login_csrf
        self.login_cookie = login_cookie
        self.makers: list[Callable[[], dict]] = [
            self.token, self.refresh_token, self.ws_token, self.health, self.batch,
            self.events, self.openapi, self.root, self.login_get, self.login_post,
            self.logout, self.dashboards, self.other_methods, self.cookies,
        ]

    def auth(self) -> dict[str, str]:
        r = self.rng.random()
        if r < 0.6:
            return bearer(self.access)
        if r < 0.8:
            return {"Authorization": "Bearer " + enc(self.rng.choice(STRINGS))[:300]}
        return {"Authorization": self.rng.choice(["Basic x", "Bearer", "bearer a b", "x" * 9000,
                                                  "Bearer " + self.refresh])}

    def token(self) -> dict:
        body = {"username": value(self.rng), "password": value(self.rng)}
        if self.rng.random() < 0.3:
            body = {"username": "alice", "password": value(self.rng)}
        if self.rng.random() < 0.1:
            body = value(self.rng)
        return {"method": "POST", "url": "/api/v1/token/", "content": dumps(self.rng, body),
                "headers": {"Content-Type": "application/json"}}

    def refresh_token(self) -> dict:
        body = {"refresh": self.rng.choice([value(self.rng), self.access, self.refresh + "x"])}
        return {"method": "POST", "url": "/api/v1/token/refresh/",
                "content": dumps(self.rng, body)}

    def ws_token(self) -> dict:
        return {"method": "POST", "url": "/api/v1/ws-token/", "headers": self.auth(),
                "content": dumps(self.rng, value(self.rng))}

    def health(self) -> dict:
        return {"method": self.rng.choice(["GET", "HEAD"]), "url": "/api/v1/sync/health/",
                "headers": self.auth(), "params": f"x={query_value(self.rng)}"}

    def batch(self) -> dict:
        rng = self.rng
        events = []
        for _ in range(rng.randint(0, 4)):
            event = seed.event("acme", n=rng.randrange(10**6))
            mutate(rng, event)
            events.append(event)
        body = rng.choice([{"events": events}, {"events": value(rng)}, value(rng)])
        return {"method": "POST", "url": "/api/v1/events/batch/", "headers": self.auth(),
                "content": dumps(rng, body)}

    def events(self) -> dict:
        names = ["after", "limit", "exclude_node", query_value(self.rng)]
        params = "&".join(f"{self.rng.choice(names)}={query_value(self.rng)}"
                          for _ in range(self.rng.randint(1, 4)))
        return {"method": self.rng.choice(["GET", "HEAD"]), "url": "/api/v1/events/",
                "headers": self.auth(), "params": params}

    def openapi(self) -> dict:
        return {"method": "GET", "url": "/api/v1/openapi.json",
                "params": f"{query_value(self.rng)}={query_value(self.rng)}"}

    def root(self) -> dict:
        return {"method": self.rng.choice(["GET", "HEAD"]), "url": "/",
                "headers": {"Cookie": self.cookie}}

    def login_get(self) -> dict:
        return {"method": self.rng.choice(["GET", "HEAD"]), "url": "/login/",
                "params": f"next={query_value(self.rng)}",
                "headers": {"Cookie": self.rng.choice([self.cookie, ""])}}

    def login_post(self) -> dict:
        fields = {"csrf": self.login_csrf, "username": "alice", "password": "",
                  "next": "/a/acme/dashboards/"}
        return {"method": "POST", "url": "/login/", "content": form_body(self.rng, fields),
                "headers": {"Content-Type": "application/x-www-form-urlencoded",
                            "Cookie": self.login_cookie}}

    def logout(self) -> dict:
        if self.rng.random() < 0.3:
            return {"method": self.rng.choice(["GET", "HEAD"]), "url": "/logout/",
                    "headers": {"Cookie": self.cookie}}
        # Never the right token alone: the session must survive the fuzz.
        body = form_body(self.rng, {"csrf": ""})
        if self.rng.random() < 0.3:
            body += b"&csrf=" + self.logout_csrf[:-1].encode() + b"\xc3\xa9"
        return {"method": "POST", "url": "/logout/", "content": body,
                "headers": {"Content-Type": self.rng.choice(
                    ["application/x-www-form-urlencoded", "text/plain", ""]),
                    "Cookie": self.cookie}}

    def dashboards(self) -> dict:
        team = self.rng.choice(["acme", "acme", "other", enc(self.rng.choice(STRINGS)) or "x"])
        page = self.rng.choice(["", "board/", "activity/"])
        params = "&".join(f"{self.rng.choice(['project', 'feature', 'page', 'x'])}="
                          f"{query_value(self.rng)}" for _ in range(self.rng.randint(0, 3)))
        headers = {"Cookie": self.cookie}
        if self.rng.random() < 0.3:
            headers["HX-Request"] = "true"
        return {"method": self.rng.choice(["GET", "GET", "HEAD"]),
                "url": f"/a/{team}/dashboards/{page}", "params": params, "headers": headers}

    def other_methods(self) -> dict:
        url = self.rng.choice(["/api/v1/token/", "/api/v1/events/", "/login/", "/logout/",
                               "/a/acme/dashboards/", "/", "/api/v1/sync/health/",
                               "/static/" + enc(self.rng.choice(STRINGS))])
        return {"method": self.rng.choice(["PUT", "DELETE", "PATCH", "OPTIONS", "GET", "HEAD"]),
                "url": url, "headers": {"Cookie": self.cookie},
                "content": dumps(self.rng, value(self.rng))}

    def cookies(self) -> dict:
        jar = "; ".join(f"{name}={enc(self.rng.choice(STRINGS))}"
                        for name in self.rng.sample(["sk_session", "sk_login", "x"], 2))
        return {"method": "GET", "url": self.rng.choice(["/", "/login/", "/a/acme/dashboards/"]),
                "headers": {"Cookie": jar}}

    def next(self) -> dict:
        return self.rng.choice(self.makers)()


class Tally:
    """Inputs sent and failures seen, shared by the sending threads."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.sent = 0
        self.failures: list[str] = []

    def add(self, ok: bool, what: str) -> None:
        with self.lock:
            self.sent += 1
            if not ok and len(self.failures) < 20:
                self.failures.append(what)


def _send(url: str, requests: list[dict], tally: Tally) -> None:
    with httpx.Client(base_url=url, timeout=60) as client:
        for spec in requests:
            spec = dict(spec)
            params = spec.pop("params", None)
            if params:
                spec["url"] = f"{spec['url']}?{params}"
            # The client refuses to send surrounding whitespace; the value inside is hostile.
            spec["headers"] = {k: v.strip() for k, v in spec.get("headers", {}).items()}
            response = client.request(**spec)
            bad = response.status_code >= 500 or "Traceback" in response.text
            tally.add(not bad, f"{spec['method']} {spec['url'][:120]} -> "
                               f"{response.status_code}")


def _ws_messages(rng: random.Random, count: int) -> list[str | bytes]:
    messages: list[str | bytes] = []
    for _ in range(count):
        kind = rng.random()
        if kind < 0.5:
            event = seed.event("acme", n=rng.randrange(10**6))
            mutate(rng, event)
            messages.append(dumps(rng, {"type": "event", "event": event}).decode())
        elif kind < 0.7:
            messages.append(dumps(rng, {"type": value(rng), "event": value(rng)}).decode())
        elif kind < 0.8:
            messages.append(dumps(rng, value(rng)).decode())
        elif kind < 0.9:
            messages.append(rng.choice(["", "{", "[1,", "null", "NaN", "\x00", "{\"type\":"]))
        else:
            messages.append(rng.choice([b"\xff\xfe", b"\xed\xa0\x80", b"{}", b"\x00" * 100]))
    return messages


def _exchange(ws, message: str | bytes) -> dict:
    """Send one message and return its answer, answering pings and skipping broadcasts of
    the events the HTTP fuzz stores meanwhile."""
    ws.send(message)
    while True:
        reply = json.loads(ws.recv(timeout=60))
        if reply.get("type") == "ping":
            ws.send(json.dumps({"type": "pong"}))
        elif reply.get("type") != "event":
            return reply


def _ws_fuzz(url: str, access: str, messages: list, tally: Tally) -> None:
    ws_url = url.replace("http://", "ws://") + "/ws/v1/events/"
    with httpx.Client(base_url=url, timeout=30, headers=bearer(access)) as api:
        pending = list(messages)
        for _ in range(len(messages) + 10):  # bounded: at most one reconnect per message
            if not pending:
                break
            token = api.post("/api/v1/ws-token/").json()["ws_token"]
            with connect(ws_url, additional_headers={"Authorization": f"Bearer {token}"},
                         open_timeout=30, max_size=None) as ws:
                json.loads(ws.recv(timeout=30))  # the snapshot
                while pending:
                    message = pending.pop(0)
                    try:
                        reply = _exchange(ws, message)
                    except ConnectionClosed as exc:
                        # Only a frame over the size limit may end the connection (1009).
                        code = exc.rcvd.code if exc.rcvd else None
                        tally.add(code == 1009 and len(message) > (1 << 20),
                                  f"ws closed {code} after {str(message)[:100]}")
                        break
                    tally.add(reply.get("type") in ("ack", "error", "pong"),
                              f"ws reply {str(reply)[:200]}")
    # Hostile tokens never open a socket.
    for token in ("", "\x00", "é", "a" * 5000, "\ud800", access):
        code = None
        try:
            with connect(f"{ws_url}?token={enc(token)}", open_timeout=30) as ws:
                ws.recv(timeout=30)
        except ConnectionClosed as exc:
            code = exc.rcvd.code if exc.rcvd else None
        tally.add(code == 4401, f"ws token {token[:20]!r} closed with {code}")


def _raw(host: str, port: int, rng: random.Random, tally: Tally) -> None:
    lines = [b"GET / HTTP/1.1\r\nHost: x\r\nX: \xff\xfe\x00\r\n\r\n",
             b"GET /\x00 HTTP/1.1\r\nHost: x\r\n\r\n",
             b"POST /api/v1/token/ HTTP/1.1\r\nHost: x\r\nContent-Length: -1\r\n\r\n",
             b"POST /api/v1/token/ HTTP/1.1\r\nHost: x\r\n"
             b"Content-Length: 99999999999999999999\r\n\r\n",
             b"POST /api/v1/token/ HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
             b"GET /%ED%A0%80 HTTP/1.1\r\nHost: x\r\n\r\n",
             b"GET /a/%ff/dashboards/ HTTP/1.1\r\nHost: x\r\n\r\n",
             b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03",
             b"GET / HTTP/9.9\r\n\r\n",
             b"GET " + b"/a" * 40000 + b" HTTP/1.1\r\nHost: x\r\n\r\n"]
    for _ in range(RAW_INPUTS):
        payload = rng.choice(lines)
        with socket.create_connection((host, port), timeout=30) as sock:
            sock.sendall(payload)
            sock.shutdown(socket.SHUT_WR)
            data = b""
            try:
                while chunk := sock.recv(65536):
                    data += chunk
            except (ConnectionResetError, TimeoutError):
                pass
        status = data[9:12]
        tally.add(not status.startswith(b"5"), f"raw {payload[:60]!r} -> {data[:40]!r}")


@pytest.fixture(scope="module")
def fuzz_target(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("fuzz-routes")
    db = tmp / "server.sqlite3"
    add_user(db, "alice", PASSWORD, "acme")
    add_user(db, "bob", PASSWORD, "other")
    srv = start_server(tmp, db=db)
    yield srv
    srv.stop()


def test_ten_thousand_hostile_inputs_never_get_a_500(fuzz_target):
    url = fuzz_target.url
    tokens = api_login(url, "alice")
    browser = browser_login(url, "alice")
    logout_csrf = page_csrf(browser, "/logout/")
    session = "; ".join(f"{k}={v}" for k, v in browser.cookies.items())
    with httpx.Client(base_url=url, timeout=30) as anonymous:
        login_csrf = page_csrf(anonymous, "/login/")
        login_cookie = "; ".join(f"{k}={v}" for k, v in anonymous.cookies.items())
    rng = random.Random(SEED)
    fuzzer = Fuzzer(rng, tokens["access"], tokens["refresh"], session, logout_csrf, login_csrf,
                    login_cookie)
    requests = [fuzzer.next() for _ in range(HTTP_INPUTS)]
    messages = _ws_messages(rng, WS_INPUTS)
    tally = Tally()
    host, port = url.removeprefix("http://").rsplit(":", 1)
    with ThreadPoolExecutor(4) as pool:
        jobs = [pool.submit(_send, url, requests[i::3], tally) for i in range(3)]
        jobs.append(pool.submit(_ws_fuzz, url, tokens["access"], messages, tally))
        for job in jobs:
            job.result()
    _raw(host, int(port), rng, tally)
    # The session survived, so the dashboards were fuzzed logged in throughout.
    assert browser.get("/a/acme/dashboards/").status_code == 200
    browser.close()
    fuzz_target.stop()
    errors, tracebacks = server_log_health([fuzz_target.log])
    figures.add("fuzz_inputs", tally.sent)
    figures.line("fuzz", f"fuzz: {tally.sent} hostile inputs over every route, form, query "
                         f"parameter, cookie and WebSocket message (seed {SEED}): "
                         f"{len(tally.failures)} answers >= 500, {errors} 500s and "
                         f"{tracebacks} tracebacks in the server log")
    print(f"fuzz seed {SEED}: {tally.sent} inputs")
    assert not tally.failures, (SEED, tally.failures)
    assert errors == 0 and tracebacks == 0, (SEED, fuzz_target.log.read_text()[-3000:])
    assert tally.sent >= 10_000
