"""Fixtures for the docs gate tests: a headless Chromium page on the site built once per run
(`built_site`, tests/conftest.py) for the browser tests (`tests/_support/browser.py`).

Running the gate on a drifted copy of the project is `tests/_support/docs_project.py`."""

from __future__ import annotations

import shutil
import tomllib
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from scripts.docs_gate._serve import serve

from tests._support.browser import ARGS, CHROMIUM, CSP_PROBE
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
