"""Server access control: team isolation, forged tokens, refresh rotation, rate limits, CSRF.

Everything runs against the real reference server on 127.0.0.1, over HTTP, the way an
attacker with a valid account in another team (or no account at all) would reach it.
"""

from __future__ import annotations

import base64
import json
import time

import httpx
import jwt
import pytest

from tests._support import seed
from tests._support.leaks import REGISTRY
from tests._support.logins import PASSWORD, api_login, browser_login, page_csrf
from tests._support.procs import start_server
from tests._support.server_api import bearer

SIGNING_KEY = "test-secret-" + "x" * 32  # what tests/_support/procs.py gives the server


def _push(url: str, token: str, events: list[dict]) -> httpx.Response:
    return httpx.post(f"{url}/api/v1/events/batch/", json={"events": events},
                      headers=bearer(token), timeout=30)


def _claims(user: str, team: str, kind: str = "access", **extra) -> dict:
    now = int(time.time())
    return {"sub": user, "team": team, "type": kind, "jti": f"forged-{time.monotonic_ns()}",
            "iat": now, "exp": now + 600, **extra}


@pytest.fixture(scope="module")
def bob_world(two_teams):
    """bob's team `other` holds a project, a feature and events; returns their names and ids."""
    tokens = api_login(two_teams.url, "bob")
    project = "bob-secret-project"
    events = [seed.event("other", n=n, project=project) for n in range(5)]
    for i, ev in enumerate(events, 1):
        ev["lamport_clock"] = i
    feature = seed.event("other", project=project)
    from spec_kitty_protocol import build_event

    feature = build_event("FeatureCreated", {"feature_slug": "007-bob-plans",
                                             "feature_number": "007", "target_branch": "main",
                                             "wp_count": 1},
                          node_id="b0b0b0b0b0b0",
                          team_slug="other", project_uuid=seed.PROJECT_UUID,
                          project_slug=project)
    response = _push(two_teams.url, tokens["access"], events + [feature])
    assert response.status_code == 200
    assert {r["status"] for r in response.json()["results"]} == {"success"}
    return {"project": project, "feature": "007-bob-plans",
            "ids": [e["event_id"] for e in events + [feature]]}


def test_api_never_shows_another_teams_events(two_teams, bob_world):
    alice = api_login(two_teams.url, "alice")
    seen = []
    cursor = None
    for _ in range(50):  # bounded pagination
        params = {"limit": 1000, **({"after": cursor} if cursor else {})}
        page = httpx.get(f"{two_teams.url}/api/v1/events/", params=params,
                         headers=bearer(alice["access"]), timeout=30).json()
        seen += page["events"]
        cursor = page["next_cursor"]
        if not page["has_more"]:
            break
    assert not {e["event_id"] for e in seen} & set(bob_world["ids"])
    assert all(e["team_slug"] == "acme" for e in seen)


def test_pushing_into_another_team_is_rejected(two_teams, bob_world):
    alice = api_login(two_teams.url, "alice")
    intruder = seed.event("other", project=bob_world["project"], content="planted by alice")
    response = _push(two_teams.url, alice["access"], [intruder])
    assert response.status_code == 200
    (result,) = response.json()["results"]
    assert result["status"] == "rejected" and "team" in result["error"]
    assert seed.server_ids(two_teams.db, "event_id = ?", (intruder["event_id"],)) == []


def test_replaying_another_teams_event_id_changes_nothing(two_teams, bob_world):
    alice = api_login(two_teams.url, "alice")
    stolen_id = bob_world["ids"][0]
    before = seed.server_rows(two_teams.db, "event_id = ?", (stolen_id,))
    copy = seed.event("acme", content="overwrite attempt")
    copy["event_id"] = stolen_id
    response = _push(two_teams.url, alice["access"], [copy])
    assert response.status_code == 200
    # Ids are unique per team (issue 12): alice's copy is hers alone, and bob's event, his
    # row and what his team sees are untouched.
    assert response.json()["results"][0]["status"] in ("success", "duplicate", "rejected")
    after = seed.server_rows(two_teams.db, "event_id = ?", (stolen_id,))
    assert [r for r in after if r["team_slug"] == "other"] == before
    assert before[0]["team_slug"] == "other"


DASHBOARD_PATHS = [
    "/a/{team}/dashboards/",
    "/a/{team}/dashboards/board/",
    "/a/{team}/dashboards/board/?project={project}",
    "/a/{team}/dashboards/board/?project={project}&feature={feature}",
    "/a/{team}/dashboards/activity/",
    "/a/{team}/dashboards/activity/?page=2",
]


def test_dashboards_of_another_team_are_404(two_teams, bob_world):
    alice = browser_login(two_teams.url, "alice")
    bob = browser_login(two_teams.url, "bob")
    try:
        for template in DASHBOARD_PATHS:
            values = {"project": bob_world["project"], "feature": bob_world["feature"]}
            own = template.format(team="other", **values)
            assert bob.get(own).status_code == 200, own  # the page exists for its team
            for team in ("other", "no-such-team"):
                response = alice.get(template.format(team=team, **values))
                assert response.status_code == 404, (team, template)
                assert bob_world["project"] not in response.text
                assert bob_world["feature"] not in response.text
        # HTMX fragment requests are isolated too.
        response = alice.get("/a/other/dashboards/activity/", headers={"HX-Request": "true"})
        assert response.status_code == 404
        # alice's own pages never mention bob's project.
        for template in DASHBOARD_PATHS[:2] + DASHBOARD_PATHS[4:5]:
            page = alice.get(template.format(team="acme", project="x", feature="x"))
            assert page.status_code == 200
            assert bob_world["project"] not in page.text
    finally:
        alice.close()
        bob.close()


def test_dashboards_need_a_session(two_teams):
    with httpx.Client(base_url=two_teams.url, timeout=30) as anon:
        for template in DASHBOARD_PATHS:
            response = anon.get(template.format(team="acme", project="p", feature="f"))
            assert response.status_code == 303
            assert response.headers["location"].startswith("/login/")
        # An API token is not a dashboard session.
        alice = api_login(two_teams.url, "alice")
        response = anon.get("/a/acme/dashboards/", headers=bearer(alice["access"]))
        assert response.status_code == 303


def test_websocket_only_carries_own_team(two_teams, bob_world):
    import asyncio

    import websockets

    alice = api_login(two_teams.url, "alice")
    bob = api_login(two_teams.url, "bob")
    ws_token = httpx.post(f"{two_teams.url}/api/v1/ws-token/", headers=bearer(alice["access"]),
                          timeout=30).json()
    REGISTRY.token_response(ws_token)
    ws_url = two_teams.url.replace("http://", "ws://") + "/ws/v1/events/"

    async def scenario() -> list[dict]:
        received = []
        async with websockets.connect(
                ws_url, additional_headers=bearer(ws_token["ws_token"]),
                open_timeout=10) as ws:
            snapshot = json.loads(await asyncio.wait_for(ws.recv(), 10))
            received.append(snapshot)
            bobs = seed.event("other", project=bob_world["project"], content="bob live")
            own = seed.event("acme", content="alice live")
            await asyncio.to_thread(_push, two_teams.url, bob["access"], [bobs])
            await asyncio.to_thread(_push, two_teams.url, alice["access"], [own])
            deadline = time.monotonic() + 10
            while time.monotonic() < deadline:
                msg = json.loads(await asyncio.wait_for(ws.recv(), 10))
                received.append(msg)
                if msg.get("type") == "event" and msg["event"]["event_id"] == own["event_id"]:
                    break
        return received

    received = asyncio.run(scenario())
    text = json.dumps(received)
    assert received[0]["type"] == "snapshot"
    assert "alice live" in text
    assert "bob live" not in text and bob_world["project"] not in text


@pytest.mark.parametrize("who", ["bob-token-for-acme", "alice-token-for-other"])
def test_team_claim_must_match_the_user(two_teams, who):
    """A correctly signed token whose team claim is not the user's team gets 403, not data."""
    user, team = ("bob", "acme") if who.startswith("bob") else ("alice", "other")
    token = jwt.encode(_claims(user, team), SIGNING_KEY, algorithm="HS256")
    REGISTRY.secret(token, "forged token")
    for method, path in (("GET", "/api/v1/events/"), ("POST", "/api/v1/ws-token/")):
        response = httpx.request(method, f"{two_teams.url}{path}", headers=bearer(token),
                                 timeout=30)
        assert response.status_code in (401, 403), (path, response.text)
    response = _push(two_teams.url, token, [seed.event(team)])
    assert response.status_code in (401, 403)


def _b64(data: dict) -> str:
    return base64.urlsafe_b64encode(json.dumps(data).encode()).decode().rstrip("=")


def _hs512(claims: dict) -> str:
    import warnings

    with warnings.catch_warnings():  # the short key is the point: an algorithm swap attempt
        warnings.simplefilter("ignore", jwt.warnings.InsecureKeyLengthWarning)
        return jwt.encode(claims, SIGNING_KEY, algorithm="HS512")


def _forgeries(two_teams) -> dict[str, str]:
    real = api_login(two_teams.url, "alice")
    head, _, sig = real["access"].split(".")
    now = int(time.time())
    return {
        "alg none": jwt.encode(_claims("alice", "acme"), key=None, algorithm="none"),
        "alg none, no dot": _b64({"alg": "none", "typ": "JWT"}) + "."
        + _b64(_claims("alice", "acme")) + ".",
        "wrong key": jwt.encode(_claims("alice", "acme"), "not-the-server-key-" + "y" * 32,
                                algorithm="HS256"),
        "HS512 with the right key": _hs512(_claims("alice", "acme")),
        "expired": jwt.encode(_claims("alice", "acme", exp=now - 5, iat=now - 100),
                              SIGNING_KEY, algorithm="HS256"),
        "tampered payload": head + "." + _b64(_claims("bob", "other")) + "." + sig,
        "refresh used as access": real["refresh"],
        "no exp": jwt.encode({k: v for k, v in _claims("alice", "acme").items() if k != "exp"},
                             SIGNING_KEY, algorithm="HS256"),
        "unknown user": jwt.encode(_claims("mallory", "acme"), SIGNING_KEY, algorithm="HS256"),
        "garbage": "not.a.jwt",
        "empty": "",
        "huge": "eyJ" + "A" * 20000,
    }


def test_forged_expired_and_wrongly_signed_tokens_are_rejected(two_teams):
    forgeries = _forgeries(two_teams)
    for token in forgeries.values():
        REGISTRY.secret(token, "forged token")
    for name, token in forgeries.items():
        headers = {"Authorization": f"Bearer {token}" if token else "Bearer"}
        for method, path in (("GET", "/api/v1/events/"), ("POST", "/api/v1/ws-token/"),
                             ("POST", "/api/v1/events/batch/")):
            kwargs = {"json": {"events": [seed.event()]}} if path.endswith("batch/") else {}
            response = httpx.request(method, f"{two_teams.url}{path}", headers=headers,
                                     timeout=30, **kwargs)
            expected = (403,) if name == "unknown user" else (401,)
            assert response.status_code in expected + (401,), (name, path, response.text)
            assert "Traceback" not in response.text
        health = httpx.get(f"{two_teams.url}/api/v1/sync/health/", headers=headers,
                           timeout=30)
        assert health.status_code in (200, 403), name
        if health.status_code == 200:
            assert health.json()["authenticated"] is False, name
            want = "expired" if name == "expired" else "invalid"
            assert health.json()["token_status"] in (want, "missing"), name


def test_forged_tokens_open_no_websocket(two_teams):
    import asyncio

    import websockets

    real = api_login(two_teams.url, "alice")
    ws_url = two_teams.url.replace("http://", "ws://") + "/ws/v1/events/"
    candidates = {
        "access token instead of ws-token": real["access"],
        "wrong key": jwt.encode(_claims("alice", "acme", "ws"), "z" * 40, algorithm="HS256"),
        "alg none": jwt.encode(_claims("alice", "acme", "ws"), key=None, algorithm="none"),
    }

    async def attempt(token: str) -> int | None:
        try:
            async with websockets.connect(ws_url, additional_headers=bearer(token),
                                          open_timeout=10) as ws:
                await asyncio.wait_for(ws.recv(), 10)
        except websockets.ConnectionClosed as exc:
            return exc.rcvd.code if exc.rcvd else None
        except websockets.InvalidStatus as exc:
            return exc.response.status_code
        return None

    for name, token in candidates.items():
        REGISTRY.secret(token, "forged token")
        code = asyncio.run(attempt(token))
        assert code in (4401, 401, 403), (name, code)


def test_refresh_token_is_dead_after_rotation(two_teams):
    first = api_login(two_teams.url, "alice")
    url = f"{two_teams.url}/api/v1/token/refresh/"
    second = httpx.post(url, json={"refresh": first["refresh"]}, timeout=30)
    assert second.status_code == 200
    REGISTRY.token_response(second.json())
    assert second.json()["refresh"] != first["refresh"]
    # Within the grace window a retired refresh token gets the same pair again (a lost answer
    # logs nobody out), never a new one (tests/server/test_trust.py covers reuse after it).
    replay = httpx.post(url, json={"refresh": first["refresh"]}, timeout=30)
    assert replay.status_code == 200 and replay.json() == second.json()
    third = httpx.post(url, json={"refresh": second.json()["refresh"]}, timeout=30)
    assert third.status_code == 200
    REGISTRY.token_response(third.json())
    # An access token is not a refresh token, and a refresh token is not an access token.
    assert httpx.post(url, json={"refresh": third.json()["access"]}, timeout=30
                      ).status_code == 401
    ws = httpx.post(f"{two_teams.url}/api/v1/ws-token/", headers=bearer(third.json()["access"]),
                    timeout=30).json()
    REGISTRY.token_response(ws)
    assert httpx.post(url, json={"refresh": ws["ws_token"]}, timeout=30).status_code == 401
    assert httpx.get(f"{two_teams.url}/api/v1/events/", headers=bearer(ws["ws_token"]),
                     timeout=30).status_code == 401


def test_login_failures_are_rate_limited(tmp_path):
    from tests._support.procs import add_user

    db = tmp_path / "s.sqlite3"
    add_user(db, "alice", PASSWORD, "acme")
    srv = start_server(tmp_path, db=db)
    try:
        url = f"{srv.url}/api/v1/token/"
        statuses = [httpx.post(url, json={"username": "alice", "password": f"guess-{i}"},
                               timeout=30).status_code for i in range(8)]
        assert statuses[0] == 401
        assert 429 in statuses, statuses
        limited = statuses.index(429)
        assert limited <= 10 and set(statuses[limited:]) == {429}
        # Even the right password is refused while limited, and Retry-After says how long.
        right = httpx.post(url, json={"username": "alice", "password": PASSWORD}, timeout=30)
        assert right.status_code == 429
        assert int(right.headers["Retry-After"]) > 0
        assert "access" not in right.text
        # The browser form shares the limiter.
        with httpx.Client(base_url=srv.url, timeout=30) as browser:
            token = page_csrf(browser, "/login/")
            form = browser.post("/login/", data={"csrf": token, "username": "alice",
                                                 "password": PASSWORD})
            assert form.status_code == 429
            assert "sk_session" not in browser.cookies
    finally:
        srv.stop()


def test_csrf_is_enforced_on_login_and_logout(two_teams):
    with httpx.Client(base_url=two_teams.url, timeout=30) as browser, \
            httpx.Client(base_url=two_teams.url, timeout=30) as other:
        good = page_csrf(browser, "/login/")
        foreign = page_csrf(other, "/login/")  # valid, but bound to another browser
        creds = {"username": "carol", "password": PASSWORD}
        for data in ({**creds}, {**creds, "csrf": ""}, {**creds, "csrf": "0" * 64},
                     {**creds, "csrf": foreign}):
            response = browser.post("/login/", data=data)
            assert response.status_code == 403, data.get("csrf")
            assert "sk_session" not in browser.cookies
        # Without the pre-login cookie the token alone is worthless.
        bare = httpx.post(f"{two_teams.url}/login/", data={**creds, "csrf": good}, timeout=30)
        assert bare.status_code == 403
        assert browser.post("/login/", data={**creds, "csrf": good}).status_code == 303
        assert browser.get("/a/acme/dashboards/").status_code == 200

        # Logout: a form post without (or with a wrong) token leaves the session alive.
        for data in ({}, {"csrf": "nope"}, {"csrf": good}):
            assert browser.post("/logout/", data=data).status_code in (400, 403)
            assert browser.get("/a/acme/dashboards/").status_code == 200
        token = page_csrf(browser, "/a/acme/dashboards/")
        assert browser.post("/logout/", data={"csrf": token}).status_code == 303
        assert browser.get("/a/acme/dashboards/").status_code == 303


def test_session_cookies_are_httponly_and_samesite(two_teams):
    with httpx.Client(base_url=two_teams.url, timeout=30) as browser:
        page = browser.get("/login/")
        cookies = page.headers.get_list("set-cookie")
        token = page_csrf(browser, "/login/")
        response = browser.post("/login/", data={"csrf": token, "username": "carol",
                                                 "password": PASSWORD})
        cookies += response.headers.get_list("set-cookie")
        REGISTRY.secret(browser.cookies.get("sk_session"), "session cookie")
    session = [c for c in cookies if c.startswith("sk_session=") and "Max-Age=0" not in c]
    assert session, cookies
    for cookie in cookies:
        attrs = {part.strip().split("=")[0].lower() for part in cookie.split(";")}
        assert "httponly" in attrs, cookie.split("=")[0]
        assert "samesite" in attrs, cookie.split("=")[0]
        value = cookie.lower().split("samesite=")[1].split(";")[0]
        assert value in ("lax", "strict")


def test_a_disabled_user_is_locked_out_at_once(tmp_path):
    """Tokens, refresh tokens and dashboard sessions of a disabled user stop working."""
    from tests._support.procs import add_user, server_cmd

    db = tmp_path / "s.sqlite3"
    add_user(db, "dave", PASSWORD, "acme")
    srv = start_server(tmp_path, db=db)
    try:
        tokens = api_login(srv.url, "dave")
        browser = browser_login(srv.url, "dave")
        try:
            assert browser.get("/a/acme/dashboards/").status_code == 200
            server_cmd(db, "user", "disable", "dave")
            for method, path in (("GET", "/api/v1/events/"), ("POST", "/api/v1/ws-token/")):
                response = httpx.request(method, f"{srv.url}{path}",
                                         headers=bearer(tokens["access"]), timeout=30)
                assert response.status_code in (401, 403), path
            assert _push(srv.url, tokens["access"], [seed.event()]).status_code in (401, 403)
            refresh = httpx.post(f"{srv.url}/api/v1/token/refresh/",
                                 json={"refresh": tokens["refresh"]}, timeout=30)
            assert refresh.status_code in (401, 403) and "access" not in refresh.text
            login = httpx.post(f"{srv.url}/api/v1/token/",
                               json={"username": "dave", "password": PASSWORD}, timeout=30)
            assert login.status_code == 401
            assert browser.get("/a/acme/dashboards/").status_code in (303, 403, 404)
        finally:
            browser.close()
    finally:
        srv.stop()
