"""A small real HTTP and WebSocket server on 127.0.0.1 that answers what a test scripts, for
server faults the reference server cannot produce on demand (5xx, garbage bodies, stalls,
truncated gzip, broken status lines, hostile WebSocket frames).

`answers` counts what it served: one per HTTP answer and one per WebSocket frame.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
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
    raw: bytes | None = None
    """Bytes written instead of a well-formed answer (then the connection is closed)."""
    ws_frames: list[bytes] | None = None
    """For a WebSocket upgrade: accept it and send these frames (see `ws_frame`)."""
    ws_accept: str | None = None
    """A `Sec-WebSocket-Accept` to send instead of the right one."""

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
        self.answers = 0
        self._count_lock = threading.Lock()
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
                outer.count()
                if reply.raw is not None or reply.ws_frames is not None:
                    self._special(reply)
                    return
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

            def _special(self, reply: Reply) -> None:
                self.close_connection = True
                try:
                    if reply.raw is not None:
                        self.wfile.write(reply.raw)
                        return
                    key = self.headers.get("Sec-WebSocket-Key", "")
                    accept = reply.ws_accept or base64.b64encode(hashlib.sha1(
                        (key + _WS_GUID).encode()).digest()).decode()
                    self.wfile.write(
                        b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n"
                        b"Connection: Upgrade\r\nSec-WebSocket-Accept: "
                        + accept.encode() + b"\r\n\r\n")
                    for frame in reply.ws_frames or []:
                        self.wfile.write(frame)
                        self.wfile.flush()
                        outer.count()
                    # Give the client a moment to answer pings, then say goodbye.
                    self.connection.settimeout(0.2)
                    with contextlib.suppress(OSError):
                        self.connection.recv(65536)
                    self.wfile.write(ws_frame(8, b"\x03\xe8"))
                except OSError:
                    pass

            do_GET = do_POST = do_PUT = do_DELETE = _handle

            def log_message(self, *args) -> None:
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    def count(self) -> None:
        """Count one answer served."""
        with self._count_lock:
            self.answers += 1

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


_WS_GUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"


def ws_frame(opcode: int, payload: bytes | str, *, fin: bool = True, rsv: int = 0) -> bytes:
    """One unmasked WebSocket frame from the server (opcode 1 text, 2 binary, 8 close, 9 ping).

    `rsv` sets reserved bits, which a client must refuse.
    """
    data = payload.encode("utf-8", "surrogatepass") if isinstance(payload, str) else payload
    first = (0x80 if fin else 0) | (rsv << 4) | opcode
    size = len(data)
    if size < 126:
        head = bytes([first, size])
    elif size < 65536:
        head = bytes([first, 126]) + size.to_bytes(2, "big")
    else:
        head = bytes([first, 127]) + size.to_bytes(8, "big")
    return head + data
