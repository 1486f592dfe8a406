"""A loopback HTTP proxy in front of the real server that can lose the answer to a refresh.

The CLI talks to the proxy as if it were the server. While `hold_refresh()` is in force, a
token refresh is forwarded and completed on the server (which retires the old refresh
token), then its answer is held back until `release()`: the client is killed or times out
meanwhile, exactly the "lost refresh answer" of a flaky network. Everything else passes
through unchanged.
"""

from __future__ import annotations

import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import httpx

REFRESH_PATH = "/api/v1/token/refresh/"
_HOP = {"connection", "keep-alive", "transfer-encoding", "content-length", "host"}


class RefreshLosingProxy:
    """Forward to `upstream`; lose refresh answers while holding."""

    def __init__(self, upstream: str) -> None:
        self.upstream = upstream
        self.answered = threading.Event()
        """Set when a held refresh has completed on the server."""
        self.refreshes_lost = 0
        self._hold = False
        self._release = threading.Event()
        outer = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def _forward(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                headers = {k: v for k, v in self.headers.items() if k.lower() not in _HOP}
                held = outer._hold and self.path.split("?")[0] == REFRESH_PATH
                try:
                    with httpx.Client(timeout=120) as client:
                        answer = client.request(self.command, outer.upstream + self.path,
                                                headers=headers, content=body)
                except httpx.HTTPError:
                    self.send_error(502)
                    return
                if held:
                    outer.refreshes_lost += 1
                    outer.answered.set()
                    outer._release.wait(120)  # a hang guard; the test releases at once
                    self.close_connection = True
                    return  # the answer is lost: the connection closes without it
                data = answer.content
                self.send_response(answer.status_code)
                for key, value in answer.headers.items():
                    if key.lower() not in _HOP and key.lower() != "content-encoding":
                        self.send_header(key, value)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            do_GET = do_POST = do_PUT = do_DELETE = _forward

            def log_message(self, *args) -> None:
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        self._thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    def hold_refresh(self) -> None:
        """Lose the answer of the next refreshes until `release()`."""
        self.answered.clear()
        self._release.clear()
        self._hold = True

    def release(self) -> None:
        """Stop losing refresh answers; held connections close."""
        self._hold = False
        self._release.set()

    def __enter__(self) -> RefreshLosingProxy:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.release()
        self.httpd.shutdown()
        self.httpd.server_close()
