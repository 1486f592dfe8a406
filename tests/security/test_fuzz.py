"""Hypothesis throws generated input at the real server: never a 500, never a traceback.

Targets: the batch endpoint (bodies, gzip, mutated events), the token and refresh
endpoints, the event feed's query parameters and the dashboards' query parameters. Every
request is counted; the total is the "fuzz inputs tried" figure of the suite summary.
"""

from __future__ import annotations

import gzip
import json
import threading

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests._support import figures, seed
from tests._support.logins import PASSWORD, api_login, browser_login
from tests._support.procs import add_user, start_server
from tests._support.server_api import bearer

FUZZ = settings(deadline=None, database=None, derandomize=False, print_blob=False,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large,
                                       HealthCheck.filter_too_much])



def fuzz(examples: int) -> settings:
    """The fuzz settings with a number of examples."""
    return settings(FUZZ, max_examples=examples)


TEXT = st.text(st.characters(blacklist_categories=("Cs",)), max_size=40)
SCALARS = (st.none() | st.booleans() | st.integers(-2**70, 2**70)
           | st.floats(allow_nan=False, allow_infinity=False) | TEXT)
JSON = st.recursive(SCALARS, lambda inner: st.lists(inner, max_size=4)
                    | st.dictionaries(TEXT, inner, max_size=4), max_leaves=12)


class Counter:
    """Requests sent and status codes seen by one fuzz test."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.sent = 0
        self.server_errors: list[str] = []

    def check(self, response: httpx.Response, what: str) -> None:
        with self.lock:
            self.sent += 1
        if response.status_code >= 500:
            self.server_errors.append(f"{what}: {response.status_code}")
        assert response.status_code < 500, (what, response.status_code, response.text[:300])
        body = response.text
        assert "Traceback" not in body and 'File "/' not in body, what
        if response.request.url.path.startswith("/api/") and response.status_code >= 400:
            detail = response.json().get("detail")
            assert isinstance(detail, str) and detail and "\n" not in detail, body[:300]


@pytest.fixture(scope="module")
def fuzz_server(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("fuzz")
    db = tmp / "server.sqlite3"
    add_user(db, "alice", PASSWORD, "acme")
    proc = start_server(tmp, db=db)
    yield proc
    proc.stop()


@pytest.fixture(scope="module")
def alice(fuzz_server):
    """alice's tokens and dashboard session, taken before the token fuzz trips the limiter."""
    tokens = api_login(fuzz_server.url, "alice")
    browser = browser_login(fuzz_server.url, "alice")
    yield {"tokens": tokens, "browser": browser}
    browser.close()


@pytest.fixture(scope="module")
def http(fuzz_server):
    with httpx.Client(base_url=fuzz_server.url, timeout=30) as client:
        yield client


def _report(counter: Counter, minimum: int) -> None:
    figures.add("fuzz_inputs", counter.sent)
    print(f"fuzz inputs sent: {counter.sent} (at least {minimum} expected), "
          f"5xx: {len(counter.server_errors)}")


GZIPPED = gzip.compress(json.dumps({"events": [seed.event(n=7)] * 3}).encode())
"""A valid gzip body, cut at a drawn length (fixed so that hypothesis can replay draws)."""

ENVELOPE_KEYS = ["event_id", "event_type", "aggregate_id", "aggregate_type", "payload",
                 "node_id", "lamport_clock", "causation_id", "timestamp", "team_slug",
                 "project_uuid", "project_slug", "schema_version"]


@st.composite
def mutated_event(draw) -> object:
    event = seed.event("acme", n=draw(st.integers(0, 10**6)))
    action = draw(st.sampled_from(["set", "delete", "add", "payload", "valid", "replace"]))
    if action == "set":
        event[draw(st.sampled_from(ENVELOPE_KEYS))] = draw(JSON)
    elif action == "delete":
        event.pop(draw(st.sampled_from(ENVELOPE_KEYS)))
    elif action == "add":
        event[draw(TEXT)] = draw(JSON)
    elif action == "payload":
        key = draw(st.sampled_from(["wp_id", "entry_type", "entry_content", "author",
                                    "extra"]))
        event["payload"][key] = draw(JSON)
    elif action == "replace":
        return draw(JSON)
    return event


@st.composite
def batch_body(draw) -> tuple[bytes, dict[str, str]]:
    kind = draw(st.sampled_from(["events", "events", "events", "json", "bytes", "gzip-junk",
                                 "gzip-cut", "deep", "wrong-encoding"]))
    headers = {"Content-Type": draw(st.sampled_from(["application/json", "text/plain",
                                                      "application/x-www-form-urlencoded"]))}
    if kind == "events":
        body = json.dumps({"events": draw(st.lists(mutated_event(), max_size=6))}).encode()
        if draw(st.booleans()):
            body, headers["Content-Encoding"] = gzip.compress(body), "gzip"
    elif kind == "json":
        body = json.dumps(draw(JSON)).encode()
    elif kind == "bytes":
        body = draw(st.binary(max_size=300))
    elif kind == "gzip-junk":
        body, headers["Content-Encoding"] = draw(st.binary(max_size=200)), "gzip"
    elif kind == "gzip-cut":
        body = GZIPPED[:draw(st.integers(0, len(GZIPPED) - 1))]
        headers["Content-Encoding"] = "gzip"
    elif kind == "deep":
        depth = draw(st.integers(50, 50_000))
        body = (b'{"events":[' + b"[" * depth + b"]" * depth + b"]}")
    else:
        body = json.dumps({"events": [seed.event()]}).encode()
        headers["Content-Encoding"] = draw(st.sampled_from(["br", "deflate", "gzip, gzip",
                                                            "identity", "x-unknown", ""]))
    return body, headers


def test_fuzz_batch_endpoint(http, alice):
    counter = Counter()
    auth = bearer(alice["tokens"]["access"])

    @fuzz(800)
    @given(batch_body())
    def run(case):
        body, headers = case
        response = http.post("/api/v1/events/batch/", content=body, headers={**headers, **auth})
        counter.check(response, f"batch {body[:80]!r} {headers}")
        if response.status_code == 200:
            results = response.json()["results"]
            assert all(r["status"] in ("success", "duplicate", "rejected") for r in results)
            assert all(r["error"] is None or isinstance(r["error"], str) for r in results)

    try:
        run()
    finally:
        _report(counter, 800)
    assert counter.sent >= 800


def test_fuzz_token_endpoints(http):
    counter = Counter()
    bodies = (JSON.map(lambda v: json.dumps(v).encode())
              | st.fixed_dictionaries({"username": JSON, "password": JSON}).map(
                  lambda v: json.dumps(v).encode())
              | st.fixed_dictionaries({"refresh": JSON}).map(lambda v: json.dumps(v).encode())
              | st.binary(max_size=200))

    @fuzz(500)
    @given(st.sampled_from(["/api/v1/token/", "/api/v1/token/refresh/", "/api/v1/ws-token/"]),
           bodies, st.sampled_from(["application/json", "text/plain", ""]))
    def run(path, body, content_type):
        headers = {"Content-Type": content_type} if content_type else {}
        response = http.post(path, content=body, headers=headers)
        counter.check(response, f"{path} {body[:80]!r}")
        assert response.status_code != 200 or path != "/api/v1/ws-token/"
        if response.status_code == 200:  # only a real login can succeed
            assert b"alice" in body and PASSWORD.encode() in body

    try:
        run()
    finally:
        _report(counter, 500)
    assert counter.sent >= 500


QUERY_VALUE = TEXT | st.integers(-10**12, 10**12).map(str) | st.just("") | st.text(
    "0123456789-./%", max_size=12)


def test_fuzz_event_feed_parameters(http, alice):
    counter = Counter()
    auth = bearer(alice["tokens"]["access"])

    @fuzz(400)
    @given(st.dictionaries(st.sampled_from(["after", "limit", "team", "x"]), QUERY_VALUE,
                           max_size=3))
    def run(params):
        response = http.get("/api/v1/events/", params=params, headers=auth)
        counter.check(response, f"events {params!r}")
        if response.status_code == 200:
            assert all(e["team_slug"] == "acme" for e in response.json()["events"])

    try:
        run()
    finally:
        _report(counter, 400)
    assert counter.sent >= 400


def test_fuzz_dashboard_parameters(alice):
    counter = Counter()
    browser = alice["browser"]

    @fuzz(300)
    @given(st.sampled_from(["/a/acme/dashboards/", "/a/acme/dashboards/board/",
                            "/a/acme/dashboards/activity/", "/login/", "/"]),
           st.dictionaries(st.sampled_from(["project", "feature", "page", "next", "q"]),
                           QUERY_VALUE, max_size=3),
           st.booleans())
    def run(path, params, htmx):
        headers = {"HX-Request": "true"} if htmx else {}
        response = browser.get(path, params=params, headers=headers)
        counter.check(response, f"{path} {params!r}")
        assert response.status_code in (200, 303, 400, 404), (path, params, response.status_code)

    try:
        run()
    finally:
        _report(counter, 300)
    assert counter.sent >= 300
