"""The HTML dashboards: login, CSRF, cookies, rate limiting, the three pages and filters."""

from __future__ import annotations

import re
import subprocess

import httpx
import pytest

from spec_kitty_protocol import LANES
from spec_kitty_server.cli import DEMO_PASSWORD
from tests._support.logins import PASSWORD
from tests._support.procs import SERVER, add_user, start_server
from tests._support.server_api import start_with_users

CSRF = re.compile(r'name="csrf" value="([^"]+)"')


@pytest.fixture(scope="module")
def demo_server(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("demo")
    db = tmp / "demo.sqlite3"
    subprocess.run([SERVER, "demo", "--db", str(db)], check=True, capture_output=True)
    add_user(db, "bob", PASSWORD, "other")
    proc = start_server(tmp, db=db)
    yield proc
    proc.stop()


def browser(url: str) -> httpx.Client:
    return httpx.Client(base_url=url, follow_redirects=False, timeout=30)


def login(web: httpx.Client, username: str = "demo", password: str = DEMO_PASSWORD,
          next_url: str = "") -> httpx.Response:
    page = web.get("/login/")
    assert page.status_code == 200
    token = CSRF.search(page.text).group(1)
    return web.post("/login/", data={"username": username, "password": password,
                                     "csrf": token, "next": next_url})


@pytest.fixture
def web(demo_server):
    with browser(demo_server.url) as session:
        response = login(session)
        assert response.status_code == 303
        yield session


def test_unauthenticated_redirects_to_login(demo_server):
    with browser(demo_server.url) as anon:
        for path in ("/a/demo/dashboards/", "/a/demo/dashboards/board/?project=kitty-web",
                     "/a/demo/dashboards/activity/?page=2", "/a/other/dashboards/"):
            r = anon.get(path)
            assert r.status_code == 303
            assert r.headers["location"].startswith("/login/?next=%2Fa%2F")
        assert anon.get("/").headers["location"] == "/login/"
        assert anon.get("/logout/").headers["location"] == "/login/"


def test_login_sets_safe_cookies_and_follows_next(demo_server):
    with browser(demo_server.url) as session:
        page = session.get("/login/")
        login_cookie = page.headers["set-cookie"]
        assert "HttpOnly" in login_cookie and "SameSite=lax" in login_cookie
        assert "Secure" not in login_cookie  # plain HTTP here; the TLS test checks Secure
        r = login(session, next_url="/a/demo/dashboards/board/?project=kitty-api")
        assert r.status_code == 303
        assert r.headers["location"] == "/a/demo/dashboards/board/?project=kitty-api"
        cookies = r.headers.get_list("set-cookie")
        session_cookie = next(c for c in cookies if c.startswith("sk_session="))
        assert "HttpOnly" in session_cookie and "SameSite=lax" in session_cookie
        assert "Path=/" in session_cookie
        assert session.get("/").headers["location"] == "/a/demo/dashboards/"
        # An already logged-in browser skips the form.
        assert session.get("/login/").status_code == 303


@pytest.mark.parametrize("target", ["//evil.example/x", "https://evil.example/",
                                    "/\\evil.example", "javascript:alert(1)"])
def test_login_ignores_foreign_next(demo_server, target):
    with browser(demo_server.url) as session:
        r = login(session, next_url=target)
        assert r.headers["location"] == "/a/demo/dashboards/"


def test_login_wrong_password_and_missing_fields(demo_server):
    with browser(demo_server.url) as session:
        r = login(session, "bob", "not-the-password")
        assert r.status_code == 401 and "Invalid username or password." in r.text
        assert "sk_session" not in session.cookies
        token = CSRF.search(session.get("/login/").text).group(1)
        r = session.post("/login/", data={"csrf": token, "username": "", "password": ""})
        assert r.status_code == 400


def test_csrf_enforced_on_login_and_logout(demo_server):
    with browser(demo_server.url) as session:
        session.get("/login/")
        r = session.post("/login/", data={"username": "demo", "password": DEMO_PASSWORD})
        assert r.status_code == 403 and "sk_session" not in session.cookies
        r = session.post("/login/", data={"username": "demo", "password": DEMO_PASSWORD,
                                          "csrf": "0" * 64})
        assert r.status_code == 403
    # A token from another browser (other sk_login cookie) does not work either.
    with browser(demo_server.url) as attacker, browser(demo_server.url) as victim:
        stolen = CSRF.search(attacker.get("/login/").text).group(1)
        victim.get("/login/")
        r = victim.post("/login/", data={"username": "demo", "password": DEMO_PASSWORD,
                                         "csrf": stolen})
        assert r.status_code == 403
    with browser(demo_server.url) as session:
        assert login(session).status_code == 303
        r = session.post("/logout/", data={"csrf": "wrong"})
        assert r.status_code == 403
        assert session.get("/a/demo/dashboards/").status_code == 200
        r = session.post("/logout/", content=b"{}", headers={"Content-Type": "application/json"})
        assert r.status_code == 400
        token = CSRF.search(session.get("/logout/").text).group(1)
        r = session.post("/logout/", data={"csrf": token})
        assert r.status_code == 303 and r.headers["location"] == "/login/"
        assert session.get("/a/demo/dashboards/").status_code == 303


def test_old_session_cookie_dies_on_logout(demo_server):
    with browser(demo_server.url) as session:
        login(session)
        value = session.cookies["sk_session"]
        token = CSRF.search(session.get("/a/demo/dashboards/").text).group(1)
        session.post("/logout/", data={"csrf": token})
    with browser(demo_server.url) as replay:
        replay.cookies.set("sk_session", value)
        assert replay.get("/a/demo/dashboards/").status_code == 303


def test_overview(web):
    r = web.get("/a/demo/dashboards/")
    assert r.status_code == 200
    html = r.text
    assert '<span class="n" id="count-projects">2</span>' in html
    assert '<span class="n" id="count-features">5</span>' in html
    wps = int(re.search(r'id="count-wps">(\d+)<', html).group(1))
    assert wps == 19
    lanes = dict(re.findall(r'<tr data-lane="(\w+)"><td>[^<]+</td><td>(\d+)</td>', html))
    assert list(lanes) == list(LANES)
    assert sum(int(v) for v in lanes.values()) == wps
    assert html.count('<li class="event"') == 10
    assert "/static/htmx.min.js" in html and "https://" not in html.split("<footer>")[0]
    assert r.headers["content-security-policy"].startswith("default-src 'self'")
    assert r.headers["x-frame-options"] == "DENY"
    assert r.headers["cache-control"] == "no-store"


def test_board_columns_and_filters(web):
    r = web.get("/a/demo/dashboards/board/")
    assert r.status_code == 200
    columns = re.findall(r'<section class="column" data-lane="(\w+)"', r.text)
    assert columns == list(LANES)
    total = int(re.search(r'data-total="(\d+)"', r.text).group(1))
    assert total == 19 and r.text.count('<li class="wp"') == 19
    r = web.get("/a/demo/dashboards/board/", params={"project": "kitty-api"})
    assert int(re.search(r'data-total="(\d+)"', r.text).group(1)) == 8
    assert "001-login-flow" not in r.text.split('id="board"')[1]
    r = web.get("/a/demo/dashboards/board/", params={"project": "kitty-web",
                                                     "feature": "003-dark-mode"})
    assert r.text.count('<li class="wp"') == 3
    assert '<option value="003-dark-mode" selected>' in r.text
    r = web.get("/a/demo/dashboards/board/", params={"project": "no-such-project"})
    assert r.status_code == 200 and "No work packages match." in r.text
    for bad in ("../etc", "A" * 300, "<script>", " "):
        assert web.get("/a/demo/dashboards/board/", params={"project": bad}).status_code == 400
        assert web.get("/a/demo/dashboards/board/", params={"feature": bad}).status_code == 400


def test_activity_pages_and_fragment(web):
    first = web.get("/a/demo/dashboards/activity/")
    assert first.status_code == 200
    assert first.text.count('<li class="event"') == 25
    assert 'href="?page=2"' in first.text and ">Next page</a>" in first.text
    seqs1 = [int(s) for s in re.findall(r'data-seq="(\d+)"', first.text)]
    assert seqs1 == sorted(seqs1, reverse=True)
    second = web.get("/a/demo/dashboards/activity/", params={"page": 2})
    seqs2 = [int(s) for s in re.findall(r'data-seq="(\d+)"', second.text)]
    assert len(seqs2) == 25 and max(seqs2) < min(seqs1)
    fragment = web.get("/a/demo/dashboards/activity/?page=2", headers={"HX-Request": "true"})
    assert "<html" not in fragment.text and fragment.text.count('<li class="event"') == 25
    assert 'hx-trigger="revealed"' in fragment.text and 'href="?page=3"' in fragment.text
    total = int(re.search(r'id="count-events">(\d+)<', web.get("/a/demo/dashboards/").text)
                .group(1))
    last_page = -(-total // 25)
    last = web.get("/a/demo/dashboards/activity/", params={"page": last_page})
    assert last.text.count('<li class="event"') == total - 25 * (last_page - 1)
    assert last.status_code == 200 and "Next page" not in last.text
    empty = web.get("/a/demo/dashboards/activity/", params={"page": 999})
    assert empty.status_code == 200 and "No events on this page." in empty.text


@pytest.mark.parametrize("page", ["0", "-1", "abc", "1.5", "9" * 30, "１"])
def test_activity_bad_page_400(web, page):
    r = web.get("/a/demo/dashboards/activity/", params={"page": page})
    assert r.status_code == 400 and "Traceback" not in r.text


def test_other_team_is_404(demo_server):
    with browser(demo_server.url) as session:
        assert login(session, "bob", PASSWORD).headers["location"] == "/a/other/dashboards/"
        for path in ("/a/demo/dashboards/", "/a/demo/dashboards/board/",
                     "/a/demo/dashboards/activity/", "/a/nonexistent/dashboards/"):
            assert session.get(path).status_code == 404
        r = session.get("/a/other/dashboards/")
        assert r.status_code == 200 and "No events yet." in r.text


def test_static_assets_are_local(demo_server):
    r = httpx.get(f"{demo_server.url}/static/htmx.min.js")
    assert r.status_code == 200 and "htmx" in r.text[:200] and "0BSD" in r.text[:200]
    assert httpx.get(f"{demo_server.url}/static/app.css").status_code == 200
    assert httpx.get(f"{demo_server.url}/static/../cli.py").status_code == 404
    assert httpx.get(f"{demo_server.url}/nope/").status_code == 404


def test_login_rate_limit_shared_by_api_and_form(tmp_path):
    srv = start_with_users(tmp_path, [("dave", "acme"), ("erin", "acme")])
    try:
        token_url = f"{srv.url}/api/v1/token/"
        for _ in range(5):
            r = httpx.post(token_url, json={"username": "dave", "password": "bad-password"})
            assert r.status_code == 401
        r = httpx.post(token_url, json={"username": "dave", "password": PASSWORD})
        assert r.status_code == 429 and int(r.headers["retry-after"]) > 0
        assert "detail" in r.json()
        with browser(srv.url) as session:
            r = login(session, "dave", PASSWORD)
            assert r.status_code == 429 and "Retry-After" in r.headers
            # Another user is not blocked by dave's failures...
            assert login(session, "erin", PASSWORD).status_code == 303
        # ...until the client address itself has too many failures (20 per window).
        for i in range(15):
            httpx.post(token_url, json={"username": f"nobody{i}", "password": "bad-password"})
        r = httpx.post(token_url, json={"username": "erin", "password": PASSWORD})
        assert r.status_code == 429
    finally:
        srv.stop()


def test_board_lane_filter_shows_one_column(web):
    from spec_kitty_server.dashboards import BOARD_REFRESH_SECONDS

    everything = web.get("/a/demo/dashboards/board/")
    counts = {lane: everything.text.split(f'data-lane="{lane}"')[1].split("</section>")[0]
              .count('<li class="wp"') for lane in LANES}
    for lane in LANES:
        r = web.get("/a/demo/dashboards/board/", params={"lane": lane})
        assert r.status_code == 200
        assert re.findall(r'<section class="column" data-lane="(\w+)"', r.text) == [lane]
        assert r.text.count('<li class="wp"') == counts[lane]
        assert f'<option value="{lane}" selected>' in r.text
    doing = web.get("/a/demo/dashboards/board/", params={"lane": "doing"})
    assert re.findall(r'data-lane="(\w+)"', doing.text) == ["in_progress"]
    assert web.get("/a/demo/dashboards/board/", params={"lane": "nope"}).status_code == 400
    assert f'hx-trigger="every {BOARD_REFRESH_SECONDS}s"' in everything.text
