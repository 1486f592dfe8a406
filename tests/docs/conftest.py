"""Fixtures for the docs gate tests: a headless Chromium page on the site built once per run
(`built_site`, tests/conftest.py) for the browser tests (`tests/_support/browser.py`).

Running the gate on a drifted copy of the project is `tests/_support/docs_project.py`."""

from __future__ import annotations

import shutil
import tomllib
from pathlib import Path

import pytest
from scripts.docs_gate._serve import serve

from tests._support.browser import ARGS, CHROMIUM, CSP_PROBE, dead_end, stays_local
from tests._support.docs_project import ROOT


@pytest.fixture(scope="module")
def browser_page(built_site):
    """One headless Chromium page per test module on the built site, served from loopback
    with netlify.toml's headers and redirects: (page, base URL, recorded events)."""
    if not Path(CHROMIUM).exists() or shutil.which("chromium") is None:
        pytest.skip("Debian's chromium is not installed (./scripts/test installs it)")
    sync_api = pytest.importorskip("playwright.sync_api")
    site, _problems = built_site
    if not (site / "index.html").is_file():
        pytest.fail("the gate produced no site")
    netlify = tomllib.loads((ROOT / "netlify.toml").read_text(encoding="utf-8"))
    with serve(site, headers=netlify.get("headers"), redirects=netlify.get("redirects")) as base, \
            dead_end() as proxy, sync_api.sync_playwright() as playwright:
        # Every request but loopback goes to a proxy that refuses it, so nothing leaves the
        # machine; the context's request events record those requests. Routing each request
        # through a Python handler (Playwright's `route`) did the same at ~0.6 s of CPU per
        # page load (35 pages: 57 s with the route, 35 s without, same load).
        browser = playwright.chromium.launch(executable_path=CHROMIUM,
                                             args=[*ARGS, f"--proxy-server={proxy}"],
                                             headless=True)
        context = browser.new_context(viewport={"width": 1280, "height": 900})
        events: dict[str, list[str]] = {"console": [], "external": []}
        context.on("request", lambda request: events["external"].append(request.url)
                   if not stays_local(request.url) else None)
        context.add_init_script(CSP_PROBE)
        page = context.new_page()
        page.set_default_timeout(15000)
        page.on("console", lambda m: events["console"].append(m.text)
                if m.type == "error" else None)
        page.on("pageerror", lambda e: events["console"].append(str(e)))
        yield page, base, events
        context.close()
        browser.close()
