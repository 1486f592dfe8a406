"""The one error a handler raises to answer a request with a status and a sentence.

The app renders it by path (`spec_kitty_server.app`): `{"detail": ...}` under `/api/`, an
HTML error page elsewhere, so API handlers and dashboard pages raise the same thing.
"""

from __future__ import annotations


class RequestError(Exception):
    """An error answer.

    Attributes:
        status: HTTP status.
        detail: The human sentence (JSON `detail`, or the message of the error page).
        headers: Extra response headers.
    """

    def __init__(self, status: int, detail: str, headers: dict[str, str] | None = None) -> None:
        super().__init__(detail)
        self.status = status
        self.detail = detail
        self.headers = headers or {}
