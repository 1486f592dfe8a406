"""uvicorn's HTTP/1.1 protocol with a header timeout and a body timeout.

uvicorn 0.54 only closes connections that are idle *between* requests (keep-alive). A
connection that never sends anything, sends half a request line or headers, or stops in the
middle of a body is kept for ever, and every such connection holds a file descriptor.
The request line and headers arrive before the ASGI app is called, so no middleware can time
them out; this subclass does it where the bytes arrive:

- from the moment a connection opens, or a new request starts arriving on a kept-alive
  connection, the request line and headers must be complete within `header_timeout`;
- once the headers are in, the whole body must arrive within `body_timeout`.

A connection that misses either deadline is answered `408 Request Timeout` (when no response
has started) and closed. WebSocket upgrades and requests whose body is complete are not
affected; uvicorn's keep-alive timeout still closes idle kept-alive connections.
"""

from __future__ import annotations

import asyncio
from typing import Any

import h11
from uvicorn.protocols.http.h11_impl import H11Protocol

_TIMEOUT_BODY = b"The request was not received in time.\n"
_TIMEOUT_RESPONSE = (b"HTTP/1.1 408 Request Timeout\r\ncontent-type: text/plain; charset=utf-8\r\n"
                     b"connection: close\r\ncontent-length: "
                     + str(len(_TIMEOUT_BODY)).encode() + b"\r\n\r\n" + _TIMEOUT_BODY)


class TimedH11Protocol(H11Protocol):
    """`H11Protocol` that closes connections too slow to send their headers or body."""

    header_timeout: float = 10.0
    body_timeout: float = 30.0

    _deadline: asyncio.TimerHandle | None = None
    _phase: str = ""

    def connection_made(self, transport: Any) -> None:  # noqa: D102 - asyncio protocol API
        super().connection_made(transport)
        self._arm("headers")

    def connection_lost(self, exc: Exception | None) -> None:  # noqa: D102
        self._disarm()
        super().connection_lost(exc)

    def data_received(self, data: bytes) -> None:  # noqa: D102
        super().data_received(data)
        if self.transport.is_closing() or self.transport.get_protocol() is not self:
            self._disarm()  # closed, or handed over to the WebSocket protocol
            return
        their = self.conn.their_state
        if their is h11.IDLE:
            if self._phase != "headers":  # a new request starts on a kept-alive connection
                self._arm("headers")
        elif their is h11.SEND_BODY:
            if self._phase != "body":
                self._arm("body")
        else:
            self._disarm()

    def on_response_complete(self) -> None:  # noqa: D102
        self._disarm()  # uvicorn's keep-alive timeout takes over until the next request
        super().on_response_complete()

    def handle_websocket_upgrade(self, event: h11.Request) -> None:  # noqa: D102
        self._disarm()
        super().handle_websocket_upgrade(event)

    def _arm(self, phase: str) -> None:
        self._disarm()
        self._phase = phase
        wait = self.header_timeout if phase == "headers" else self.body_timeout
        self._deadline = self.loop.call_later(wait, self._expired)

    def _disarm(self) -> None:
        if self._deadline is not None:
            self._deadline.cancel()
            self._deadline = None
        self._phase = ""

    def _expired(self) -> None:
        self._deadline = None
        if self.transport.is_closing():
            return
        cycle = self.cycle
        answered = cycle is not None and cycle.response_started and self._phase == "body"
        if not answered:
            self.transport.write(_TIMEOUT_RESPONSE)
        if cycle is not None and not cycle.response_complete:
            # The app, if it is reading the body, sees a disconnect and writes nothing more.
            cycle.disconnected = True
            cycle.message_event.set()
        self._phase = ""
        self.transport.close()


def protocol_class(header_timeout: float, body_timeout: float) -> type[TimedH11Protocol]:
    """A `TimedH11Protocol` subclass with these timeouts, for `uvicorn.Config(http=...)`.

    Args:
        header_timeout: Seconds to receive the request line and headers.
        body_timeout: Seconds to receive the body.

    Returns:
        The protocol class.
    """
    return type("TimedH11Protocol", (TimedH11Protocol,),
                {"header_timeout": header_timeout, "body_timeout": body_timeout})
