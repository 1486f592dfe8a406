"""The built site in headless Chromium, served from loopback with netlify.toml's headers:
search, copy buttons, dark mode, the 404 page; no console errors, no CSP violations and no
request to any host other than the loopback server."""

from __future__ import annotations

import pytest

from tests._support.browser import assert_clean, sync_api_timeout

pytestmark = pytest.mark.browser


def test_search_finds_login_and_leads_to_the_auth_how_to(browser_page):
    page, base, events = browser_page
    page.goto(base)
    page.wait_for_load_state("networkidle")
    search = page.locator("input.md-search__input")
    search.click()
    # A query typed before the worker has loaded the index is dropped: retype (bounded).
    for _attempt in range(4):
        search.fill("")
        search.press_sequentially("login", delay=30)
        try:
            page.wait_for_selector("a.md-search-result__link", state="attached", timeout=5000)
            break
        except sync_api_timeout():
            continue
    links = page.eval_on_selector_all(".md-search-result__link", "els => els.map(e => e.href)")
    target = next((h for h in links if "how-to/authenticate/" in h), None)
    assert target, links
    page.locator(".md-search-result__link").nth(links.index(target)).click()
    page.wait_for_url("**/how-to/authenticate/**")
    assert "authenticate" in page.title().lower() or page.locator("h1").first.inner_text()
    assert_clean(page, events)


def test_copy_buttons_on_code_blocks(browser_page):
    page, base, events = browser_page
    page.goto(base + "tutorials/server-connection/")
    copy = "button[data-md-type=copy], button.md-clipboard"  # Material 9.8 / older
    page.wait_for_selector(copy, state="attached")
    blocks = page.locator("div.highlight pre").count()
    buttons = page.locator(copy).count()
    assert blocks > 0 and buttons >= blocks - 1, (blocks, buttons)
    assert_clean(page, events)


def test_dark_mode_toggle(browser_page):
    page, base, events = browser_page
    page.goto(base)
    schemes = set()
    for _ in range(4):
        schemes.add(page.evaluate("document.body.getAttribute('data-md-color-scheme')"))
        toggle = "form[data-md-component=palette] label.md-header__button:visible"
        page.locator(toggle).first.click()
        page.wait_for_timeout(100)
    assert {"default", "slate"} <= schemes, schemes
    assert_clean(page, events)


def test_404_page_renders_at_any_depth(browser_page):
    page, base, events = browser_page
    for path in ("no-such-page/", "how-to/deeply/nested/missing/"):
        response = page.goto(base + path)
        assert response is not None and response.status == 404
        assert "404" in page.locator("article, .md-content").first.inner_text()
        loaded = page.evaluate("[...document.styleSheets].filter(s => s.href).length")
        assert loaded >= 1, "the 404 page lost its stylesheets"
        assert page.locator(".md-header").count() == 1
    assert_clean(page, events, allow_404=True)


def test_old_urls_redirect(browser_page):
    page, base, events = browser_page
    page.goto(base + "tutorials/server-connection.html")
    assert page.url.endswith("/tutorials/server-connection/")
    page.goto(base + "explanation/sync-architecture/")
    assert page.url.endswith("/explanations/sync-architecture/")
    assert_clean(page, events)
