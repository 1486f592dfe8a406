"""The odd inputs of the original report, each answered 4xx (never 500, never a traceback),
and HEAD on the login and logout pages."""

from __future__ import annotations

import json

import httpx
import pytest

from tests._support.logins import browser_login, page_csrf


def _post_json(url: str, path: str, text: str) -> httpx.Response:
    return httpx.post(f"{url}{path}", content=text.encode(),
                      headers={"Content-Type": "application/json"}, timeout=30)


@pytest.mark.parametrize("path, body", [
    ("/api/v1/token/", {"username": "\ud800", "password": "x" * 10}),
    ("/api/v1/token/", {"username": "alice", "password": "\udfff" * 3}),
    ("/api/v1/token/refresh/", {"refresh": "\ud800"}),
    ("/api/v1/token/refresh/", {"refresh": "eyJ\ud800.x.y"}),
    ("/api/v1/events/batch/", {"events": [{"event_id": "\ud800"}]}),
])
def test_lone_surrogates_in_json_fields_are_400_or_401(two_teams, path, body):
    text = json.dumps(body)  # "\ud800" travels as a JSON escape, as in the report
    assert "\\ud" in text or "\\udfff" in text
    r = _post_json(two_teams.url, path, text)
    assert r.status_code in (400, 401), (r.status_code, r.text)
    assert isinstance(r.json()["detail"], str)
    assert "Traceback" not in two_teams.log.read_text()


@pytest.mark.parametrize("value", ["é" * 64, "\u00ff", "日本"])
def test_non_ascii_csrf_with_a_valid_cookie_is_403(two_teams, value):
    with httpx.Client(base_url=two_teams.url, timeout=30) as anonymous:
        page_csrf(anonymous, "/login/")  # sets the sk_login cookie the token is bound to
        r = anonymous.post("/login/", data={"csrf": value, "username": "alice",
                                            "password": "whatever"})
        assert r.status_code == 403
    browser = browser_login(two_teams.url, "carol")
    try:
        r = browser.post("/logout/", data={"csrf": value})
        assert r.status_code == 403
        assert browser.get("/a/acme/dashboards/").status_code == 200  # still logged in
    finally:
        browser.close()
    assert "Traceback" not in two_teams.log.read_text()


def test_head_on_login_and_logout_pages(two_teams):
    with httpx.Client(base_url=two_teams.url, timeout=30) as anonymous:
        assert anonymous.head("/login/").status_code == 200
        assert anonymous.head("/logout/").status_code == 303
    browser = browser_login(two_teams.url, "carol")
    try:
        assert browser.head("/logout/").status_code == 200
        assert browser.head("/login/").status_code == 303  # logged in: on to the dashboards
        assert browser.get("/a/acme/dashboards/").status_code == 200  # HEAD logged nobody out
    finally:
        browser.close()
