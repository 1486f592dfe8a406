"""2,000 connections that send half a request: health keeps answering, and each is closed.

Half the connections stop in the middle of their headers, half in the middle of their body
(and a few send nothing). The server runs with short `--header-timeout` and
`--body-timeout` here so the test is brief; the defaults are `DEFAULT_HEADER_TIMEOUT` and
`DEFAULT_BODY_TIMEOUT`. Health latencies are reported, not asserted; the properties asserted
are that every health check was answered 200 and that the server closed every half-open
connection itself (with a 408 where no response had started).
"""

from __future__ import annotations

import asyncio
import resource
import time

import httpx

from tests._support import figures
from tests._support.load import Prober, describe_ms, percentile
from tests._support.procs import start_server

CONNECTIONS = 2000
HEADER_TIMEOUT = 3.0
BODY_TIMEOUT = 3.0


def _raise_fd_limit(needed: int) -> None:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < needed:
        resource.setrlimit(resource.RLIMIT_NOFILE, (min(needed, hard), hard))


class _Recorder(asyncio.Protocol):
    """Keeps every byte the server sends and how the connection ended.

    A stream reader would drop the server's answer when a reset follows it: on a loaded
    machine the server can time a connection out before it has read what the client sent,
    and closing a socket with unread input sends a reset after the 408. What is asserted is
    the answer; the reset is counted."""

    def __init__(self) -> None:
        self.data = b""
        self.ended: asyncio.Future[bool] = asyncio.get_running_loop().create_future()

    def data_received(self, data: bytes) -> None:
        self.data += data

    def connection_lost(self, exc: Exception | None) -> None:
        if not self.ended.done():
            self.ended.set_result(isinstance(exc, ConnectionResetError))


async def _half_request(host: str, port: int, kind: str) -> tuple[str, float, bytes, bool]:
    """Send half a request; (kind, seconds until the server closed, what it sent, reset)."""
    loop = asyncio.get_running_loop()
    transport, recorder = await loop.create_connection(_Recorder, host, port)
    try:
        if kind == "headers":
            transport.write(b"POST /api/v1/token/ HTTP/1.1\r\nHost: x\r\nContent-Type: applic")
        elif kind == "body":
            transport.write(b"POST /api/v1/token/ HTTP/1.1\r\nHost: x\r\n"
                            b"Content-Type: application/json\r\nContent-Length: 100\r\n\r\n"
                            b'{"username": "al')
        sent = time.monotonic()
        try:
            reset = await asyncio.wait_for(asyncio.shield(recorder.ended), timeout=60)
        except TimeoutError:
            return kind, float("inf"), b"(still open after 60 s)", False
        return kind, time.monotonic() - sent, recorder.data, reset
    finally:
        transport.close()


async def _flood(host: str, port: int) -> list[tuple[str, float, bytes, bool]]:
    kinds = ["headers", "body"] * ((CONNECTIONS - 20) // 2) + ["nothing"] * 20
    return await asyncio.gather(*(_half_request(host, port, kind) for kind in kinds))


def test_half_requests_are_closed_and_health_keeps_answering(tmp_path):
    _raise_fd_limit(CONNECTIONS + 500)
    srv = start_server(tmp_path, "--header-timeout", str(HEADER_TIMEOUT),
                       "--body-timeout", str(BODY_TIMEOUT))
    host, port = srv.url.removeprefix("http://").rsplit(":", 1)
    try:
        with httpx.Client(base_url=srv.url, timeout=60) as client:
            def probe() -> int:
                return client.get("/api/v1/sync/health/").status_code

            with Prober(probe) as baseline:
                time.sleep(1.5)
            with Prober(probe) as loaded:
                outcomes = asyncio.run(_flood(host, int(port)))
    finally:
        srv.stop()
    log = srv.log.read_text()
    assert "Too many open files" not in log and "Traceback" not in log
    assert loaded.results and set(loaded.results) == {200}, set(loaded.results)
    closed = [elapsed for _, elapsed, _, _ in outcomes if elapsed != float("inf")]
    assert len(closed) == len(outcomes), [o for o in outcomes if o[1] == float("inf")][:3]
    answered = [data for _, _, data, _ in outcomes]
    assert all(data.startswith(b"HTTP/1.1 408 ") for data in answered), set(
        data[:30] for data in answered)
    by_kind = {kind: [e for k, e, _, _ in outcomes if k == kind]
               for kind in ("headers", "body", "nothing")}
    figures.line("slow-1", f"slow clients: {len(outcomes)} half-open connections, health "
                           f"while they are open: {describe_ms(loaded.latencies)} (before: "
                           f"{describe_ms(baseline.latencies)})")
    figures.line("slow-2", "slow clients closed with 408 after (s): " + ", ".join(
        f"{kind} p99 {percentile(values, 99):.1f} max {max(values):.1f}"
        for kind, values in by_kind.items())
        + f" (header timeout {HEADER_TIMEOUT:.0f} s, body timeout {BODY_TIMEOUT:.0f} s; "
        f"{sum(reset for *_, reset in outcomes)} reset after the 408)")
