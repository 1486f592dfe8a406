"""The JSON API against a real server subprocess: every endpoint and status code."""

from __future__ import annotations

import gzip
import json
import time

import httpx
import jwt
import pytest

from tests._support.events import make_event
from tests._support.logins import PASSWORD
from tests._support.server_api import client, push, tokens_for

SECRET = "test-secret-" + "x" * 32  # what tests/_support/procs.py gives the server


def forge(secret: str = SECRET, algorithm: str = "HS256", **claims) -> str:
    now = int(time.time())
    base = {"sub": "alice", "team": "acme", "type": "access", "jti": "j" * 16, "iat": now,
            "exp": now + 600}
    base.update(claims)
    return jwt.encode(base, secret, algorithm=algorithm)


# -- tokens ---------------------------------------------------------------------------------

def test_token_ok_shape(shared_server):
    body = tokens_for(shared_server.url, "alice")
    assert set(body) == {"access", "refresh", "access_lifetime", "refresh_lifetime",
                         "team_slug", "username"}
    assert body["team_slug"] == "acme" and body["username"] == "alice"
    assert body["access_lifetime"] == 900 and body["refresh_lifetime"] == 7 * 24 * 3600
    r = httpx.post(f"{shared_server.url}/api/v1/token/",
                   json={"username": "alice", "password": PASSWORD})
    assert r.headers["cache-control"] == "no-store"
    claims = jwt.decode(body["access"], SECRET, algorithms=["HS256"])
    assert claims["type"] == "access" and claims["team"] == "acme" and claims["sub"] == "alice"
    assert {"jti", "exp", "iat"} <= set(claims)


def test_token_wrong_password_401(shared_server):
    r = httpx.post(f"{shared_server.url}/api/v1/token/",
                   json={"username": "alice2", "password": "wrong-password"})
    assert r.status_code == 401
    assert r.json() == {"detail": "Invalid username or password."}
    r = httpx.post(f"{shared_server.url}/api/v1/token/",
                   json={"username": "nobody-here", "password": "wrong-password"})
    assert r.status_code == 401


@pytest.mark.parametrize("body", [b"", b"not json", b"[]", b'{"username": "alice"}',
                                  b'{"username": 1, "password": "x"}',
                                  b'{"username": "alice", "password": ""}', b"\xff\xfe",
                                  b'{"username": "alice", "password": NaN}'])
def test_token_malformed_400(shared_server, body):
    r = httpx.post(f"{shared_server.url}/api/v1/token/", content=body,
                   headers={"Content-Type": "application/json"})
    assert r.status_code == 400
    assert isinstance(r.json()["detail"], str)


def test_token_body_too_large_413(shared_server):
    r = httpx.post(f"{shared_server.url}/api/v1/token/", content=b"x" * 100_000)
    assert r.status_code == 413


def test_refresh_rotates_and_a_retry_in_the_grace_window_gets_the_same_pair(shared_server):
    first = tokens_for(shared_server.url, "alice")
    url = f"{shared_server.url}/api/v1/token/refresh/"
    r = httpx.post(url, json={"refresh": first["refresh"]})
    assert r.status_code == 200
    second = r.json()
    assert second["refresh"] != first["refresh"] and second["team_slug"] == "acme"
    # The answer was lost: presenting the retired token again (within the grace window)
    # returns exactly the same new pair, and that pair rotates once more as usual.
    again = httpx.post(url, json={"refresh": first["refresh"]})
    assert again.status_code == 200 and again.json() == second
    third = httpx.post(url, json={"refresh": second["refresh"]})
    assert third.status_code == 200 and third.json()["refresh"] != second["refresh"]
    assert httpx.post(url, json={"refresh": third.json()["refresh"]}).status_code == 200


def test_refresh_rejects_access_tokens_and_garbage(shared_server, alice):
    url = f"{shared_server.url}/api/v1/token/refresh/"
    assert httpx.post(url, json={"refresh": alice["access"]}).status_code == 401
    assert httpx.post(url, json={"refresh": "garbage"}).status_code == 401
    assert httpx.post(url, json={"refresh": forge(type="refresh")}).status_code == 401
    assert httpx.post(url, json={}).status_code == 400
    assert httpx.post(url, content=b"{").status_code == 400


# -- health ---------------------------------------------------------------------------------

def _health(url: str, token: str | None = None, raw: str | None = None) -> httpx.Response:
    headers = {}
    if token is not None:
        headers["Authorization"] = f"Bearer {token}"
    if raw is not None:
        headers["Authorization"] = raw
    return httpx.get(f"{url}/api/v1/sync/health/", headers=headers)


def test_health_token_status(shared_server, alice):
    url = shared_server.url
    body = _health(url).json()
    assert body["status"] == "ok" and body["version"]
    assert body["authenticated"] is False and body["token_status"] == "missing"
    assert _health(url, alice["access"]).json() == {**body, "authenticated": True,
                                                     "token_status": "valid"}
    expired = forge(exp=int(time.time()) - 10, iat=int(time.time()) - 100)
    assert _health(url, expired).json()["token_status"] == "expired"
    for bad in (forge(secret="another-key-" + "y" * 32), "abc.def.ghi", alice["refresh"],
                forge(secret="z" * 40)):
        assert _health(url, bad).json()["token_status"] == "invalid"
    assert _health(url, raw="Basic abc").json()["token_status"] == "invalid"


def test_forged_tokens_get_401_everywhere(shared_server, alice):
    now = int(time.time())
    unsigned = jwt.encode({"sub": "alice", "team": "acme", "type": "access", "jti": "x" * 10,
                           "iat": now, "exp": now + 60}, None, algorithm="none")
    header, payload, signature = alice["access"].split(".")
    tampered_claims = jwt.decode(alice["access"], options={"verify_signature": False})
    tampered_claims["team"] = "other"
    import base64
    fake_payload = base64.urlsafe_b64encode(json.dumps(tampered_claims).encode()).rstrip(b"=")
    tampered = f"{header}.{fake_payload.decode()}.{signature}"
    bad_tokens = [unsigned, tampered, forge(secret="wrong-key-" + "q" * 32),
                  forge(exp=now - 5, iat=now - 60), forge(type="ws"), forge(type="refresh"),
                  "", "Bearer", "x" * 5000]
    for token in bad_tokens:
        with client(shared_server.url, token) as api:
            assert push(api, [make_event()]).status_code == 401, token[:40]
            assert api.get("/api/v1/events/").status_code == 401
            assert api.post("/api/v1/ws-token/").status_code == 401
            r = api.get("/api/v1/events/")
            assert r.headers["www-authenticate"] == "Bearer"


def test_missing_token_401(shared_server):
    with client(shared_server.url) as api:
        r = push(api, [make_event()])
        assert r.status_code == 401 and "detail" in r.json()
        assert api.get("/api/v1/events/").status_code == 401
        assert api.post("/api/v1/ws-token/").status_code == 401


def test_ws_token(alice_api):
    r = alice_api.post("/api/v1/ws-token/")
    assert r.status_code == 200
    body = r.json()
    assert body["expires_in"] == 60
    claims = jwt.decode(body["ws_token"], SECRET, algorithms=["HS256"])
    assert claims["type"] == "ws" and claims["exp"] - claims["iat"] == 60


# -- batch ----------------------------------------------------------------------------------

def test_batch_plain_and_gzip(alice_api):
    plain = [make_event(kind="WPCreated", wp="WP10"), make_event(wp="WP10")]
    r = push(alice_api, plain)
    assert r.status_code == 200
    assert [x["status"] for x in r.json()["results"]] == ["success", "success"]
    zipped = [make_event(wp="WP11"), make_event(wp="WP12")]
    r = alice_api.post("/api/v1/events/batch/",
                       content=gzip.compress(json.dumps({"events": zipped}).encode()),
                       headers={"Content-Encoding": "gzip", "Content-Type": "application/json"})
    assert r.status_code == 200
    results = r.json()["results"]
    assert [x["event_id"] for x in results] == [e["event_id"] for e in zipped]
    assert all(x["status"] == "success" and x["error"] is None for x in results)


def test_batch_empty_list_ok(alice_api):
    r = push(alice_api, [])
    assert r.status_code == 200 and r.json() == {"results": []}


def test_batch_duplicates_and_rejections_in_order(alice_api):
    good = make_event(wp="WP20")
    assert push(alice_api, [good]).json()["results"][0]["status"] == "success"
    fresh = make_event(wp="WP21")
    bad_schema = make_event(wp="WP21", lamport_clock=-1)
    bad_payload = make_event(wp="WP21")
    bad_payload["payload"]["to_lane"] = "somewhere"
    other_team = make_event(team="other")
    huge = make_event(kind="HistoryAdded")
    huge["payload"]["entry_content"] = "x" * 9000
    huge["aggregate_id"] = "a" * 200
    oversized = make_event(kind="HistoryAdded")
    oversized["payload"] = {"junk": "y" * 70_000}
    batch = [good, fresh, fresh, bad_schema, bad_payload, other_team, oversized, "string", None,
             {"event_id": "01ARZ3NDEKTSV4RRFFQ69G5FAV"}]
    r = push(alice_api, batch)
    assert r.status_code == 200
    results = r.json()["results"]
    assert [x["status"] for x in results] == ["duplicate", "success", "duplicate", "rejected",
                                              "rejected", "rejected", "rejected", "rejected",
                                              "rejected", "rejected"]
    assert results[0]["event_id"] == good["event_id"]
    assert "lamport_clock" in results[3]["error"]
    assert "to_lane" in results[4]["error"]
    assert "team mismatch" in results[5]["error"]
    assert "64 KiB" in results[6]["error"]
    assert results[7]["event_id"] is None
    assert results[9]["event_id"] == "01ARZ3NDEKTSV4RRFFQ69G5FAV"


def test_duplicate_detection_is_per_team(shared_server, alice_api):
    # Another team pushing an event id first must not make the owner's push a "duplicate"
    # (the owner's CLI would then drop its own event).
    event = make_event(wp="WP30")
    bob = tokens_for(shared_server.url, "bob")
    with client(shared_server.url, bob["access"]) as api:
        assert push(api, [{**event, "team_slug": "other"}]).json()["results"][0]["status"] \
            == "success"
        assert push(api, [{**event, "team_slug": "other"}]).json()["results"][0]["status"] \
            == "duplicate"
    assert push(alice_api, [event]).json()["results"][0]["status"] == "success"
    assert push(alice_api, [event]).json()["results"][0]["status"] == "duplicate"


@pytest.mark.parametrize("body,status", [
    (b"", 400), (b"{", 400), (b"[]", 400), (b'{"events": {}}', 400), (b'{"evts": []}', 400),
    (b'"events"', 400), (b"\xff", 400), (b'{"events": [NaN]}', 400),
    (b'{"events": [' + b"[" * 100_000 + b"]" * 100_000 + b"]}", 400),
    (b'{"events": [' + b",".join([b"{}"] * 1001) + b"]}", 413),
])
def test_batch_malformed_bodies(alice_api, body, status):
    r = alice_api.post("/api/v1/events/batch/", content=body,
                       headers={"Content-Type": "application/json"})
    assert r.status_code == status, r.text
    assert isinstance(r.json()["detail"], str)


def test_batch_bad_gzip_and_encoding(alice_api):
    data = gzip.compress(json.dumps({"events": [make_event()]}).encode())
    for content, encoding in ((data[:-8], "gzip"), (b"not gzip at all", "gzip"),
                              (data, "br")):
        r = alice_api.post("/api/v1/events/batch/", content=content,
                           headers={"Content-Encoding": encoding})
        assert r.status_code == 400, (encoding, r.text)
        assert "detail" in r.json()


def test_batch_too_large_413(alice_api):
    bomb = gzip.compress(b'{"events": ["' + b"a" * (11 * 1024 * 1024) + b'"]}')
    r = alice_api.post("/api/v1/events/batch/", content=bomb,
                       headers={"Content-Encoding": "gzip"})
    assert r.status_code == 413
    r = alice_api.post("/api/v1/events/batch/", content=b" " * (10 * 1024 * 1024 + 10))
    assert r.status_code == 413


def test_invalid_content_length_400(shared_server, alice):
    import socket
    from urllib.parse import urlsplit

    parts = urlsplit(shared_server.url)
    with socket.create_connection((parts.hostname, parts.port), timeout=5) as sock:
        sock.sendall(b"POST /api/v1/token/ HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\n{}")
        sock.shutdown(socket.SHUT_WR)
        data = sock.recv(4096)
    assert not data.startswith(b"HTTP/1.1 500")


# -- events feed ----------------------------------------------------------------------------

def test_events_cursor_paging_and_team_scope(shared_server):
    url = shared_server.url
    bob = tokens_for(url, "bob")
    with client(url, bob["access"]) as api:
        start = api.get("/api/v1/events/").json()
        cursor = start["next_cursor"]
        while start["has_more"]:
            start = api.get("/api/v1/events/", params={"after": cursor}).json()
            cursor = start["next_cursor"]
        mine = [make_event(team="other", wp=f"WP{i:02d}") for i in range(1, 8)]
        assert push(api, mine).status_code == 200
        seen = []
        for _ in range(10):
            page = api.get("/api/v1/events/", params={"after": cursor, "limit": 3}).json()
            assert set(page) == {"events", "next_cursor", "has_more"}
            seen += page["events"]
            cursor = page["next_cursor"]
            if not page["has_more"]:
                break
        assert [e["event_id"] for e in seen] == [e["event_id"] for e in mine]
        assert all(e["team_slug"] == "other" for e in seen)
        seqs = [e["server_seq"] for e in seen]
        assert seqs == sorted(seqs) and all(e["received_at"].endswith("Z") for e in seen)
        assert seen[0]["payload"] == mine[0]["payload"]
        # Nothing new: the same cursor comes back, has_more is false.
        again = api.get("/api/v1/events/", params={"after": cursor}).json()
        assert again == {"events": [], "next_cursor": cursor, "has_more": False}
    # alice never sees bob's events.
    alice = tokens_for(url, "alice")
    with client(url, alice["access"]) as api:
        assert push(api, [make_event(team="acme", wp="WP90")]).status_code == 200
        feed = api.get("/api/v1/events/", params={"limit": 1000}).json()["events"]
        assert feed and all(e["team_slug"] == "acme" for e in feed)


@pytest.mark.parametrize("params", [{"after": "abc"}, {"after": "-1"}, {"limit": "0"},
                                    {"limit": "1001"}, {"limit": "x"}, {"after": "9" * 40},
                                    {"limit": "1e3"}])
def test_events_bad_params_400(alice_api, params):
    r = alice_api.get("/api/v1/events/", params=params)
    assert r.status_code == 400 and "detail" in r.json()


def test_unknown_api_route_and_method(shared_server):
    r = httpx.get(f"{shared_server.url}/api/v1/nope/")
    assert r.status_code == 404 and r.json() == {"detail": "There is no such page."}
    r = httpx.get(f"{shared_server.url}/api/v1/token/")
    assert r.status_code == 405 and "detail" in r.json()


def test_disabled_user_gets_403(tmp_path):
    from tests._support.procs import server_cmd
    from tests._support.server_api import start_with_users

    srv = start_with_users(tmp_path, [("carol", "acme")])
    try:
        pair = tokens_for(srv.url, "carol")
        with client(srv.url, pair["access"]) as api:
            ws_token = api.post("/api/v1/ws-token/").json()["ws_token"]
        server_cmd(srv.db, "user", "disable", "carol")
        from websockets.exceptions import ConnectionClosed
        from websockets.sync.client import connect

        url = srv.url.replace("http://", "ws://") + "/ws/v1/events/?token=" + ws_token
        with connect(url, open_timeout=5) as ws, pytest.raises(ConnectionClosed) as info:
            ws.recv(timeout=5)
        assert info.value.rcvd.code == 4403
        assert _health(srv.url, pair["access"]).status_code == 403
        with client(srv.url, pair["access"]) as api:
            assert push(api, [make_event()]).status_code == 403
            # Whatever the body: a disabled user hears 403 before any complaint about it.
            gzip_header = {"Content-Encoding": "gzip"}
            for body, headers in ((b"{not json", {}), (b"\x1f\x8bgarbage", gzip_header),
                                  (b'{"events": 5}', {})):
                answer = api.post("/api/v1/events/batch/", content=body, headers=headers)
                assert answer.status_code == 403, (body, answer.text)
        r = httpx.post(f"{srv.url}/api/v1/token/refresh/", json={"refresh": pair["refresh"]})
        assert r.status_code == 401
        r = httpx.post(f"{srv.url}/api/v1/token/", json={"username": "carol",
                                                         "password": PASSWORD})
        assert r.status_code == 401
        server_cmd(srv.db, "user", "enable", "carol")
        assert tokens_for(srv.url, "carol")["username"] == "carol"
        with client(srv.url, pair["access"]) as api:  # nothing was stored while disabled
            assert api.get("/api/v1/events/").json()["events"] == []
    finally:
        srv.stop()


def test_log_has_requests_but_no_secrets(shared_server, alice):
    with client(shared_server.url, alice["access"]) as api:
        api.get("/api/v1/events/", params={"after": "0"})
        ws = api.post("/api/v1/ws-token/").json()["ws_token"]
    httpx.get(f"{shared_server.url}/api/v1/sync/health/", params={"token": ws})
    log = shared_server.log.read_text()
    assert "GET /api/v1/events/ 200" in log
    assert "POST /api/v1/token/ 200" in log
    for secret in (alice["access"], alice["refresh"], ws, PASSWORD, "wrong-password"):
        assert secret not in log
    assert "Traceback" not in log
