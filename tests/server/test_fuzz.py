"""Hypothesis throws malformed bodies at the batch and token endpoints: never a 500."""

from __future__ import annotations

import gzip
import json

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests._support.events import make_event

json_values = st.recursive(
    st.none() | st.booleans() | st.integers(min_value=-(2**70), max_value=2**70)
    | st.floats(allow_nan=False) | st.text(max_size=30),
    lambda children: st.lists(children, max_size=5)
    | st.dictionaries(st.text(max_size=15), children, max_size=5),
    max_leaves=25,
)
FIELDS = list(make_event())


@st.composite
def mutated_events(draw):
    event = make_event()
    for _ in range(draw(st.integers(0, 3))):
        action = draw(st.sampled_from(["drop", "set", "payload"]))
        key = draw(st.sampled_from(FIELDS))
        if action == "drop":
            event.pop(key, None)
        elif action == "set":
            event[key] = draw(json_values)
        else:
            event["payload"] = draw(json_values)
    return event


bodies = st.one_of(
    st.binary(max_size=300),
    json_values.map(lambda v: json.dumps(v).encode()),
    st.lists(st.one_of(mutated_events(), json_values), max_size=8).map(
        lambda events: json.dumps({"events": events}).encode()),
    st.lists(mutated_events(), max_size=4).map(
        lambda events: json.dumps({"events": events}).encode()[:-3]),  # truncated JSON
)


@pytest.fixture(scope="module")
def http(shared_server):
    with httpx.Client(base_url=shared_server.url, timeout=30) as session:
        yield session


@settings(max_examples=150, deadline=None, suppress_health_check=list(HealthCheck))
@given(body=bodies, gzipped=st.booleans(), chop=st.integers(0, 20))
def test_batch_endpoint_never_500(http, alice, body, gzipped, chop):
    headers = {"Authorization": f"Bearer {alice['access']}", "Content-Type": "application/json"}
    if gzipped:
        body = gzip.compress(body)
        if chop:
            body = body[:-chop]
        headers["Content-Encoding"] = "gzip"
    r = http.post("/api/v1/events/batch/", content=body, headers=headers)
    assert r.status_code in (200, 400, 413), r.text
    assert "Traceback" not in r.text
    data = r.json()
    if r.status_code == 200:
        assert all(x["status"] in ("success", "duplicate", "rejected") for x in data["results"])
    else:
        assert isinstance(data["detail"], str)


@settings(max_examples=100, deadline=None, suppress_health_check=list(HealthCheck))
@given(body=st.one_of(st.binary(max_size=100), json_values.map(lambda v: json.dumps(v).encode())),
       path=st.sampled_from(["/api/v1/token/refresh/", "/api/v1/token/"]))
def test_token_endpoints_never_500(http, body, path):
    r = http.post(path, content=body)
    assert r.status_code in (400, 401, 413, 429), r.text
    assert "detail" in r.json()


@settings(max_examples=150, deadline=None, suppress_health_check=list(HealthCheck))
@given(after=st.text(max_size=25), limit=st.text(max_size=8))
def test_events_params_never_500(http, alice, after, limit):
    r = http.get("/api/v1/events/", params={"after": after, "limit": limit},
                 headers={"Authorization": f"Bearer {alice['access']}"})
    assert r.status_code in (200, 400), r.text


@pytest.fixture(scope="module")
def dashboard(shared_server):
    import re

    from tests._support.logins import PASSWORD

    with httpx.Client(base_url=shared_server.url, timeout=30) as session:
        page = session.get("/login/")
        csrf = re.search(r'name="csrf" value="([^"]+)"', page.text).group(1)
        r = session.post("/login/", data={"username": "alice", "password": PASSWORD,
                                          "csrf": csrf})
        assert r.status_code == 303
        yield session


@settings(max_examples=100, deadline=None, suppress_health_check=list(HealthCheck))
@given(page=st.text(max_size=12), project=st.text(max_size=30), feature=st.text(max_size=30),
       next_url=st.text(max_size=40), htmx=st.booleans())
def test_dashboard_params_never_500(dashboard, page, project, feature, next_url, htmx):
    headers = {"HX-Request": "true"} if htmx else {}
    r = dashboard.get("/a/acme/dashboards/activity/", params={"page": page}, headers=headers)
    assert r.status_code in (200, 400) and "Traceback" not in r.text
    r = dashboard.get("/a/acme/dashboards/board/", params={"project": project,
                                                           "feature": feature})
    assert r.status_code in (200, 400) and "Traceback" not in r.text
    r = dashboard.get("/login/", params={"next": next_url})
    assert r.status_code == 303
    location = r.headers["location"]
    assert location.startswith("/") and not location.startswith("//")
