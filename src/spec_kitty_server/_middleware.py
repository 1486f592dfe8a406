"""Pure-ASGI middleware: one log line per request, and security headers on every response.

Everything but the static files is also marked `Cache-Control: no-store`: the pages and API
answers hold team data and tokens.

The log line holds the method, the path without its query string (which may carry a
ws-token), the status and the duration. Headers, bodies and cookies are never logged.
"""

from __future__ import annotations

import logging
import time
from typing import Any

from starlette.requests import ClientDisconnect

log = logging.getLogger("spec_kitty_server.access")

SECURITY_HEADERS = [
    (b"content-security-policy",
     b"default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
     b"connect-src 'self'; frame-ancestors 'none'; form-action 'self'; base-uri 'none'; "
     b"object-src 'none'"),
    (b"x-content-type-options", b"nosniff"),
    (b"x-frame-options", b"DENY"),
    (b"referrer-policy", b"same-origin"),
]


def _log_path(scope: dict[str, Any]) -> str:
    raw = scope.get("raw_path")
    path = raw.decode("latin-1") if raw else scope.get("path", "")
    path = "".join(ch if ch.isprintable() and ch != " " else f"%{ord(ch):02X}" for ch in path)
    return path[:300]


async def _internal_error(scope: dict[str, Any], send: Any) -> None:
    api = scope.get("path", "").startswith("/api/")
    body = b'{"detail":"Internal server error."}' if api else b"Internal server error."
    kind = b"application/json" if api else b"text/plain; charset=utf-8"
    await send({"type": "http.response.start", "status": 500,
                "headers": [(b"content-type", kind),
                            (b"content-length", str(len(body)).encode())]})
    await send({"type": "http.response.body", "body": body})


class AccessLogMiddleware:
    """Log `METHOD path status ms` for every HTTP request and WebSocket.

    Args:
        app: The wrapped ASGI app.
    """

    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        start = time.perf_counter()
        status = {"code": 0}
        is_http = scope["type"] == "http"

        async def wrapped_send(message: dict[str, Any]) -> None:
            kind = message["type"]
            if kind == "http.response.start":
                status["code"] = message["status"]
                headers = list(message.get("headers", []))
                present = {name.lower() for name, _ in headers}
                headers.extend(h for h in SECURITY_HEADERS if h[0] not in present)
                if b"cache-control" not in present and not scope["path"].startswith("/static/"):
                    headers.append((b"cache-control", b"no-store"))
                message = {**message, "headers": headers}
            elif kind == "websocket.accept":
                status["code"] = 101
            elif kind == "websocket.close" and status["code"] in (0, 101):
                status["code"] = message.get("code", 1000)
            await send(message)

        try:
            await self.app(scope, receive, wrapped_send)
        except ClientDisconnect:
            status["code"] = status["code"] or 499
        except Exception as exc:  # the last line of defence: no traceback reaches a client
            log.error("unexpected %s on %s %s", type(exc).__name__, scope.get("method", "WS"),
                      _log_path(scope), exc_info=exc)
            if is_http and status["code"] == 0:
                await _internal_error(scope, wrapped_send)
            status["code"] = status["code"] or 500
        finally:
            elapsed = (time.perf_counter() - start) * 1000
            method = scope.get("method", "GET") if is_http else "WS"
            log.info("%s %s %s %.1fms", method, _log_path(scope), status["code"] or 500, elapsed)
