"""A small threaded HTTP server for site/ on a free 127.0.0.1 port.

For the browser tests: it applies the `[[headers]]` and `[[redirects]]` rules of
`netlify.toml` and answers unknown paths with `404.html` and status 404, as Netlify does.
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


class _Handler(http.server.SimpleHTTPRequestHandler):
    headers_rules: list[tuple[re.Pattern[str], dict[str, str]]] = []
    redirect_rules: list[tuple[re.Pattern[str], str, int]] = []

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002 - stdlib name
        pass

    def end_headers(self) -> None:
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
        return super().send_head()


@contextmanager
def serve(site: Path, headers: list[dict] | None = None,
          redirects: list[dict] | None = None) -> Iterator[str]:
    """Serve `site` on a free 127.0.0.1 port; yields the base URL such as `http://127.0.0.1:PORT/`.

    Args:
        site: The directory to serve.
        headers: `[[headers]]` tables of netlify.toml (`for`, `values`) to apply.
        redirects: `[[redirects]]` tables of netlify.toml (`from`, `to`, `status`) to apply.
    """
    handler = type("Handler", (_Handler,), {
        "headers_rules": [(netlify_pattern(h["for"]), dict(h.get("values", {})))
                          for h in headers or []],
        "redirect_rules": [(netlify_pattern(r["from"]), r["to"], int(r.get("status", 301)))
                           for r in redirects or []],
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
