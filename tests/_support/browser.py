"""Headless Chromium on the built docs site, for the browser tests.

How Chromium is started (`CHROMIUM`, `ARGS`; external requests refused by `dead_end` and
recorded when not `stays_local`), the probe that records Content-Security-Policy violations,
and the check every page visit ends with (`assert_clean`). The `browser_page` fixture in
`tests/docs/conftest.py` puts them together.
"""

from __future__ import annotations

import socket
from collections.abc import Iterator
from contextlib import contextmanager
from urllib.parse import urlsplit

CHROMIUM = "/usr/bin/chromium"
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--no-first-run", "--disable-dev-shm-usage"]
CSP_PROBE = """
window.__cspViolations = [];
document.addEventListener('securitypolicyviolation', e =>
  window.__cspViolations.push(e.violatedDirective + ' ' + e.blockedURI));
"""

LOOPBACK = ("127.0.0.1", "localhost")


@contextmanager
def dead_end() -> Iterator[str]:
    """A loopback address that refuses every connection, for Chromium's `--proxy-server`.

    Chromium sends every request but loopback (which it never proxies) through the proxy, so
    with this one no request leaves the machine: each fails at once. The port is bound and
    never listened on, so nothing else can take it while the browser runs.

    Yields:
        The proxy's `host:port`.
    """
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        yield f"127.0.0.1:{sock.getsockname()[1]}"


def stays_local(url: str) -> bool:
    """Whether a request to `url` stays on the machine (loopback, `data:` or `blob:`).

    Args:
        url: The URL Chromium requested.

    Returns:
        True when the request never needs the network.
    """
    return url.startswith(("data:", "blob:")) or urlsplit(url).hostname in LOOPBACK


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
