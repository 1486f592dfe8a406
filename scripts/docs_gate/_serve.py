"""A small threaded HTTP server for site/ on a free 127.0.0.1 port.

It sends a `LinkChecker` response header (so linkchecker applies `maxrequestspersecond`
instead of its per-host throttle), can apply the `[[headers]]` and `[[redirects]]` rules of
`netlify.toml` (for the browser test), and answers unknown paths with `404.html` and status 404,
as Netlify does.
"""

from __future__ import annotations

import functools
import http.server
import io
import re
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import unquote, urlsplit


def netlify_pattern(pattern: str) -> re.Pattern[str]:
    """Translate a Netlify path pattern (`*` = anything, `:name` = one segment) to a regex."""
    out = []
    used: set[str] = set()
    for part in re.split(r"(\*|:[A-Za-z_]\w*)", pattern):
        name = "splat" if part == "*" else part[1:] if part.startswith(":") and len(part) > 1 \
            else ""
        if name and name not in used:
            used.add(name)
            out.append(f"(?P<{name}>.*)" if part == "*" else f"(?P<{name}>[^/]+)")
        elif name:
            out.append(".*" if part == "*" else "[^/]+")
        else:
            out.append(re.escape(part))
    return re.compile("^" + "".join(out) + "$")


SAME_PAGE_HREF = re.compile(rb"""(\s)href=(["'])#""")
"""A link to an anchor of the same page (`href="#x"`)."""


_NAV_TAG = re.compile(rb"<nav\b[^>]*>|</nav>")
_SITE_NAV = re.compile(rb"""<nav class=["'](?:md-nav md-nav--primary|md-tabs)\b""")


def strip_site_nav(markup: bytes) -> bytes:
    """Remove the theme's site navigation (primary nav and tabs) from a page.

    The site nav is the same list of pages on every page, so a link checker that reads it
    on every page does pages x nav-size work; served this way it reads it once, on the home
    page. The strict build validates the nav itself. The nav's lines stay as blank lines, so
    the line numbers linkchecker reports are those of the file in site/.
    """
    out, pos = [], 0
    for start in _SITE_NAV.finditer(markup):
        if start.start() < pos:
            continue
        depth, end = 0, len(markup)
        for tag in _NAV_TAG.finditer(markup, start.start()):
            depth += -1 if tag.group(0) == b"</nav>" else 1
            if depth == 0:
                end = tag.end()
                break
        out.append(markup[pos:start.start()])
        out.append(b"\n" * markup.count(b"\n", start.start(), end))
        pos = end
    out.append(markup[pos:])
    return b"".join(out)


class _Handler(http.server.SimpleHTTPRequestHandler):
    headers_rules: list[tuple[re.Pattern[str], dict[str, str]]] = []
    redirect_rules: list[tuple[re.Pattern[str], str, int]] = []
    hide_same_page_anchors = False

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002 - stdlib name
        pass

    def end_headers(self) -> None:
        self.send_header("LinkChecker", "allowed")
        path = urlsplit(self.path).path
        for pattern, values in self.headers_rules:
            if pattern.match(path):
                for name, value in values.items():
                    self.send_header(name, value)
        super().end_headers()

    def _redirect(self) -> bool:
        path = unquote(urlsplit(self.path).path)
        local = Path(self.translate_path(self.path))
        if local.exists():
            return False
        for pattern, target, status in self.redirect_rules:
            match = pattern.match(path)
            if match:
                location = target
                for name, value in match.groupdict().items():
                    location = location.replace(f":{name}", value)
                self.send_response(status)
                self.send_header("Location", location)
                self.send_header("Content-Length", "0")
                self.end_headers()
                return True
        return False

    def send_head(self):  # type: ignore[no-untyped-def]
        if self._redirect():
            return None
        local = Path(self.translate_path(self.path))
        if not local.exists() or (local.is_dir() and not (local / "index.html").exists()
                                  and not self.path.endswith("/")):
            not_found = Path(self.directory) / "404.html"
            if not_found.is_file():
                body = not_found.read_bytes()
                self.send_response(404)
                self.send_header("Content-Type", "text/html; charset=utf-8")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                return io.BytesIO(body)
        if self.hide_same_page_anchors:
            page = local / "index.html" if local.is_dir() else local
            if page.suffix == ".html" and page.is_file() and (self.path.endswith("/")
                                                              or not local.is_dir()):
                body = SAME_PAGE_HREF.sub(rb"\1data-gate-href=\2#", page.read_bytes())
                if page != Path(self.directory) / "index.html":
                    body = strip_site_nav(body)
                self.send_response(200)
                self.send_header("Content-Type", "text/html; charset=utf-8")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                return io.BytesIO(body)
        return super().send_head()


@contextmanager
def serve(site: Path, headers: list[dict] | None = None, redirects: list[dict] | None = None,
          hide_same_page_anchors: bool = False) -> Iterator[str]:
    """Serve `site` on a free 127.0.0.1 port; yields the base URL such as `http://127.0.0.1:PORT/`.

    Args:
        site: The directory to serve.
        headers: `[[headers]]` tables of netlify.toml (`for`, `values`) to apply.
        redirects: `[[redirects]]` tables of netlify.toml (`from`, `to`, `status`) to apply.
        hide_same_page_anchors: For linkchecker: serve every page but the home page without the
            site nav (see `strip_site_nav`), and turn `href="#x"` into `data-gate-href="#x"`
            (not a link): the gate checks same-page anchors
            itself in one pass per page, instead of linkchecker refetching and reparsing the
            whole page once per anchor.
    """
    handler = type("Handler", (_Handler,), {
        "headers_rules": [(netlify_pattern(h["for"]), dict(h.get("values", {})))
                          for h in headers or []],
        "redirect_rules": [(netlify_pattern(r["from"]), r["to"], int(r.get("status", 301)))
                           for r in redirects or []],
        "hide_same_page_anchors": hide_same_page_anchors,
    })
    httpd = http.server.ThreadingHTTPServer(
        ("127.0.0.1", 0), functools.partial(handler, directory=str(site)))
    httpd.daemon_threads = True
    thread = threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.05},
                              daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}/"
    finally:
        httpd.shutdown()
        httpd.server_close()
        thread.join(5)
