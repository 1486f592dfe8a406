"""Concurrent login bursts: the limit holds, and password hashing stays bounded.

Each attempt is counted before its password is hashed, so however many requests arrive at
once, no more passwords are checked than the limit allows; the rest are answered 429. The
server logs how many checks ran and the most that ran at once when it stops.
"""

from __future__ import annotations

import asyncio
import re

import httpx

from spec_kitty_server._hashgate import MAX_CONCURRENT_HASHES
from spec_kitty_server.settings import ServerSettings
from tests._support import figures
from tests._support.logins import PASSWORD, page_csrf
from tests._support.procs import add_user, start_server

PER_USER = ServerSettings.login_failures_per_user
PER_IP = ServerSettings.login_failures_per_ip


async def _burst(url: str, requests: list[dict]) -> list[httpx.Response]:
    limits = httpx.Limits(max_connections=len(requests), max_keepalive_connections=0)
    async with httpx.AsyncClient(base_url=url, timeout=120, limits=limits) as client:
        return await asyncio.gather(*(client.post(**r) for r in requests))


def _count(responses: list[httpx.Response]) -> tuple[int, int, set[int]]:
    codes = [r.status_code for r in responses]
    return codes.count(401), codes.count(429), set(codes)


def test_concurrent_wrong_logins_never_exceed_the_limits(tmp_path):
    db = tmp_path / "s.sqlite3"
    add_user(db, "alice", PASSWORD, "acme")
    add_user(db, "carol", PASSWORD, "acme")
    srv = start_server(tmp_path, db=db)
    try:
        # 200 wrong passwords for one user, all at once.
        wrong = [{"url": "/api/v1/token/",
                  "json": {"username": "alice", "password": f"guess-{i}"}} for i in range(200)]
        checked_a, limited_a, codes = _count(asyncio.run(_burst(srv.url, wrong)))
        assert codes <= {401, 429} and checked_a == PER_USER and limited_a == 200 - PER_USER
        # The right password inside the window is limited too.
        right = httpx.post(f"{srv.url}/api/v1/token/",
                           json={"username": "alice", "password": PASSWORD}, timeout=30)
        assert right.status_code == 429 and int(right.headers["Retry-After"]) > 0
        assert "access" not in right.text
        # The browser form shares the counts: 40 at once for another user.
        with httpx.Client(base_url=srv.url, timeout=30) as browser:
            csrf = page_csrf(browser, "/login/")
            cookie = "; ".join(f"{k}={v}" for k, v in browser.cookies.items())
        form = [{"url": "/login/", "headers": {"Cookie": cookie},
                 "data": {"csrf": csrf, "username": "carol", "password": f"guess-{i}"}}
                for i in range(40)]
        checked_b, limited_b, codes = _count(asyncio.run(_burst(srv.url, form)))
        assert codes <= {401, 429} and checked_b == PER_USER
        # Per address: 200 at once over 200 user names get only what is left of its limit.
        many = [{"url": "/api/v1/token/",
                 "json": {"username": f"nobody{i}", "password": "guess"}} for i in range(200)]
        checked_c, limited_c, codes = _count(asyncio.run(_burst(srv.url, many)))
        assert codes <= {401, 429}
        assert checked_a + checked_b + checked_c == PER_IP
    finally:
        srv.stop()
    summary = re.search(r"password checks: (\d+) run, at most (\d+) at once \(limit (\d+)\)",
                        srv.log.read_text())
    assert summary, srv.log.read_text()[-2000:]
    ran, peak, limit = (int(g) for g in summary.groups())
    assert ran == checked_a + checked_b + checked_c
    assert limit == MAX_CONCURRENT_HASHES and 1 <= peak <= limit
    figures.line("login-1", f"login burst, one user: 200 wrong passwords at once -> "
                            f"{checked_a} checked (limit {PER_USER}), {limited_a} answered 429; "
                            f"right password then: {right.status_code}")
    figures.line("login-2", f"login burst, browser form: 40 at once -> {checked_b} checked, "
                            f"{limited_b} answered 429")
    figures.line("login-3", f"login burst, one address: 200 user names at once -> {checked_c} "
                            f"checked, {limited_c} answered 429; {PER_IP} in all (limit {PER_IP})")
    figures.line("login-4", f"password hashing: {ran} checks, at most {peak} at once "
                            f"(limit {limit})")
