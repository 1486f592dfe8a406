"""Headless Chromium: log in, open the board, scroll the activity feed (htmx loads page 2)."""

from __future__ import annotations

import os
import subprocess

import pytest

from spec_kitty_protocol import LANES
from spec_kitty_server.cli import DEMO_PASSWORD
from tests._support.procs import SERVER, start_server

CHROMIUM = "/usr/bin/chromium"

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not os.path.exists(CHROMIUM), reason="needs Debian's chromium package"),
]


@pytest.fixture(scope="module")
def demo_server(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("browser")
    db = tmp / "demo.sqlite3"
    subprocess.run([SERVER, "demo", "--db", str(db)], check=True, capture_output=True)
    proc = start_server(tmp, db=db)
    yield proc
    proc.stop()


def test_login_board_and_infinite_scroll(demo_server):
    from playwright.sync_api import expect, sync_playwright

    problems: list[str] = []
    with sync_playwright() as p:
        browser = p.chromium.launch(
            executable_path=CHROMIUM, headless=True,
            args=["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                  "--disable-component-update", "--no-first-run"])
        try:
            page = browser.new_page(viewport={"width": 1200, "height": 800})
            page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
            page.on("pageerror", lambda e: problems.append(str(e)))
            external: list[str] = []
            page.on("request", lambda r: external.append(r.url)
                    if not r.url.startswith(demo_server.url) else None)

            page.goto(f"{demo_server.url}/a/demo/dashboards/board/")
            assert "/login/" in page.url
            page.fill("#username", "demo")
            page.fill("#password", DEMO_PASSWORD)
            page.click("form[action='/login/'] button[type=submit]")
            page.wait_for_url("**/a/demo/dashboards/board/")
            assert page.locator("section.column").count() == len(LANES)
            assert page.locator("li.wp").count() == 19

            # The filter works through htmx (no full reload) and updates the URL.
            page.select_option("#project", "kitty-api")
            expect(page.locator("li.wp")).to_have_count(8)
            # The URL is pushed by htmx after the swap and reaches Playwright by an event of
            # its own: wait for it (bounded) rather than read it at once.
            page.wait_for_url(lambda url: "project=kitty-api" in url, wait_until="commit")
            # The feature list now holds only that project's features; picking one filters.
            expect(page.locator("#feature option")).to_have_count(3)
            page.select_option("#feature", "002-event-feed")
            expect(page.locator("li.wp")).to_have_count(3)
            page.wait_for_url(lambda url: "feature=002-event-feed" in url
                              and "project=kitty-api" in url, wait_until="commit")
            # Without JavaScript the same filters are plain GET parameters (checked elsewhere).

            page.goto(f"{demo_server.url}/a/demo/dashboards/activity/")
            assert page.locator("li.event").count() == 25
            page.locator("a.next").scroll_into_view_if_needed()
            expect(page.locator("li.event")).to_have_count(50, timeout=10_000)
            assert page.url.endswith("/activity/")  # appended in place, not navigated
            page.locator("a.next").scroll_into_view_if_needed()
            expect(page.locator("li.event")).to_have_count(75, timeout=10_000)
            assert not external, external
            assert not problems, problems
        finally:
            browser.close()
