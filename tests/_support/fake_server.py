"""A small real HTTP server on 127.0.0.1 that answers what a test scripts, for server faults
the reference server cannot produce on demand (5xx, garbage bodies, stalls, truncated gzip).
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


@dataclass
class Reply:
    status: int = 200
    body: bytes | str | dict | list = b""
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0

    def encoded(self) -> bytes:
        if isinstance(self.body, (dict, list)):
            self.headers.setdefault("Content-Type", "application/json")
            return json.dumps(self.body).encode()
        return self.body.encode() if isinstance(self.body, str) else self.body


@dataclass
class Recorded:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes


Route = Callable[[Recorded], Reply] | Reply


class FakeServer:
    """Routes are keyed by (METHOD, path-without-query); unknown routes get 404."""

    def __init__(self) -> None:
        self.routes: dict[tuple[str, str], Route] = {}
        self.requests: list[Recorded] = []
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def _handle(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                rec = Recorded(self.command, self.path, dict(self.headers.items()), body)
                outer.requests.append(rec)
                route = outer.routes.get((self.command, self.path.split("?")[0]))
                reply = route(rec) if callable(route) else route or Reply(404, {"detail": "nf"})
                if reply.delay:
                    time.sleep(reply.delay)
                data = reply.encoded()
                try:
                    self.send_response(reply.status)
                    for k, v in reply.headers.items():
                        self.send_header(k, v)
                    self.send_header("Content-Length", str(len(data)))
                    self.end_headers()
                    self.wfile.write(data)
                except (BrokenPipeError, ConnectionResetError):
                    pass

            do_GET = do_POST = do_PUT = do_DELETE = _handle

            def log_message(self, *args) -> None:
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    def __enter__(self) -> FakeServer:
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


def token_reply(access: str = "acc-token-1", refresh: str = "ref-token-1", access_lifetime=900,
                refresh_lifetime=604800, team: str = "acme") -> Reply:
    return Reply(200, {"access": access, "refresh": refresh, "access_lifetime": access_lifetime,
                       "refresh_lifetime": refresh_lifetime, "team_slug": team})
