"""The built site in headless Chromium, served from loopback with netlify.toml's headers:
search, copy buttons, dark mode, the 404 page; no console errors, no CSP violations and no
request to any host other than the loopback server."""

from __future__ import annotations

import shutil
import tomllib
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from scripts.docs_gate._serve import serve

from tests._support.docs_project import ROOT

pytestmark = pytest.mark.browser

CHROMIUM = "/usr/bin/chromium"
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--no-first-run", "--disable-dev-shm-usage"]
CSP_PROBE = """
window.__cspViolations = [];
document.addEventListener('securitypolicyviolation', e =>
  window.__cspViolations.push(e.violatedDirective + ' ' + e.blockedURI));
"""


@pytest.fixture(scope="module")
def browser_page(built_site):
    if not Path(CHROMIUM).exists() or shutil.which("chromium") is None:
        pytest.skip("Debian's chromium is not installed (./scripts/test installs it)")
    sync_api = pytest.importorskip("playwright.sync_api")
    site, _problems = built_site
    if not (site / "index.html").is_file():
        pytest.fail("the gate produced no site")
    netlify = tomllib.loads((ROOT / "netlify.toml").read_text(encoding="utf-8"))
    with serve(site, headers=netlify.get("headers"), redirects=netlify.get("redirects")) as base:
        with sync_api.sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=CHROMIUM, args=ARGS,
                                                 headless=True)
            context = browser.new_context(viewport={"width": 1280, "height": 900})
            events: dict[str, list[str]] = {"console": [], "external": []}

            def route(route_obj):
                host = urlsplit(route_obj.request.url).hostname
                if route_obj.request.url.startswith(("data:", "blob:")) or host in (
                        "127.0.0.1", "localhost"):
                    route_obj.continue_()
                else:
                    events["external"].append(route_obj.request.url)
                    route_obj.abort()

            context.route("**/*", route)
            context.add_init_script(CSP_PROBE)
            page = context.new_page()
            page.set_default_timeout(15000)
            page.on("console", lambda m: events["console"].append(m.text)
                    if m.type == "error" else None)
            page.on("pageerror", lambda e: events["console"].append(str(e)))
            yield page, base, events
            context.close()
            browser.close()


def sync_api_timeout() -> type[Exception]:
    from playwright.sync_api import TimeoutError as PlaywrightTimeout

    return PlaywrightTimeout


def _clean(page, events, allow_404: bool = False) -> None:
    errors = [e for e in events["console"]
              if not (allow_404 and "404" in e and "Failed to load resource" in e)]
    assert errors == [], errors
    assert events["external"] == [], events["external"]
    assert page.evaluate("window.__cspViolations") == []
    events["console"].clear()


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
    _clean(page, events)


def test_copy_buttons_on_code_blocks(browser_page):
    page, base, events = browser_page
    page.goto(base + "tutorials/server-connection/")
    copy = "button[data-md-type=copy], button.md-clipboard"  # Material 9.8 / older
    page.wait_for_selector(copy, state="attached")
    blocks = page.locator("div.highlight pre").count()
    buttons = page.locator(copy).count()
    assert blocks > 0 and buttons >= blocks - 1, (blocks, buttons)
    _clean(page, events)


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
    _clean(page, events)


def test_404_page_renders_at_any_depth(browser_page):
    page, base, events = browser_page
    for path in ("no-such-page/", "how-to/deeply/nested/missing/"):
        response = page.goto(base + path)
        assert response is not None and response.status == 404
        assert "404" in page.locator("article, .md-content").first.inner_text()
        loaded = page.evaluate("[...document.styleSheets].filter(s => s.href).length")
        assert loaded >= 1, "the 404 page lost its stylesheets"
        assert page.locator(".md-header").count() == 1
    _clean(page, events, allow_404=True)


def test_old_urls_redirect(browser_page):
    page, base, events = browser_page
    page.goto(base + "tutorials/server-connection.html")
    assert page.url.endswith("/tutorials/server-connection/")
    page.goto(base + "explanation/sync-architecture/")
    assert page.url.endswith("/explanations/sync-architecture/")
    _clean(page, events)
