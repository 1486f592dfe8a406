"""Headless Chromium on the built docs site, for the browser tests.

How Chromium is started (`CHROMIUM`, `ARGS`, external requests blocked), the probe that
records Content-Security-Policy violations, and the check every page visit ends with
(`assert_clean`). The `browser_page` fixture in `tests/docs/conftest.py` puts them together.
"""

from __future__ import annotations

CHROMIUM = "/usr/bin/chromium"
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--no-first-run", "--disable-dev-shm-usage"]
CSP_PROBE = """
window.__cspViolations = [];
document.addEventListener('securitypolicyviolation', e =>
  window.__cspViolations.push(e.violatedDirective + ' ' + e.blockedURI));
"""


def sync_api_timeout() -> type[Exception]:
    """Playwright's timeout error (Playwright is imported only when a browser test runs)."""
    from playwright.sync_api import TimeoutError as PlaywrightTimeout

    return PlaywrightTimeout


def assert_clean(page, events, allow_404: bool = False) -> None:
    """No console error (a missing page's 404 when `allow_404`), no request left the
    machine, no CSP violation; the console record starts afresh."""
    errors = [e for e in events["console"]
              if not (allow_404 and "404" in e and "Failed to load resource" in e)]
    assert errors == [], errors
    assert events["external"] == [], events["external"]
    assert page.evaluate("window.__cspViolations") == []
    events["console"].clear()
