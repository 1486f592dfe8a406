"""Authenticated requests to the sync server, with one token refresh after a 401.

Push, pull, the WebSocket token exchange and `sync status --check` all go through
`Session.request`, so the rules are in one place: a refused token triggers exactly one
refresh and one retry, transport failures become a one-line `ServerError`, and tokens never
appear in any message.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import httpx

from specify_cli import http_client
from specify_cli.account import credentials
from specify_cli.errors import NotAuthenticatedError


class Session:
    """An HTTP client for the logged-in account's server, carrying its access token.

    Args:
        server_url: The server (the one that issued the credentials).
        timeout: Seconds per request; the configured timeout by default.
    """

    def __init__(self, server_url: str, timeout: float | None = None) -> None:
        self.server_url = server_url
        self.client = http_client.make_client(server_url, timeout=timeout)
        self._token: str | None = None

    def close(self) -> None:
        """Close the HTTP connections."""
        self.client.close()

    def __enter__(self) -> Session:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def token(self) -> str:
        """Return the access token, refreshing it when it has expired.

        Raises:
            NotAuthenticatedError: Not logged in, or the session expired.
        """
        if self._token is None:
            self._token = credentials.get_access_token()
        return self._token

    def request(self, method: str, path: str, *,
                refused: Callable[[httpx.Response], bool] | None = None,
                **kwargs: Any) -> httpx.Response:
        """Send an authenticated request; when the server refuses the token, refresh once and
        retry once.

        Args:
            method: HTTP method.
            path: Path on the server, such as `/api/v1/events/batch/`.
            refused: Says whether a response refuses the token; a 401 by default. (The
                health endpoint answers 200 and names the token's state in its body.)
            **kwargs: Passed to `httpx.Client.request` (headers are merged).

        Returns:
            The response (any but a refusal that survived the refresh).

        Raises:
            NotAuthenticatedError: Not logged in, the session expired, or the server refused
                the refreshed token too.
            ServerError: The server could not be reached or did not answer in time.
        """
        refused = refused or (lambda response: response.status_code == 401)
        headers = dict(kwargs.pop("headers", {}) or {})
        for attempt in (1, 2):
            token = self.token()
            headers["Authorization"] = f"Bearer {token}"
            try:
                response = self.client.request(method, path, headers=headers, **kwargs)
            except httpx.HTTPError as exc:
                raise http_client.transport_error(self.server_url, exc) from None
            if not refused(response):
                return response
            if attempt == 1:
                self._token = credentials.refresh_after_401(token)
        raise NotAuthenticatedError(
            f"the server at {self.server_url} refused your session; log in again with "
            "`spec-kitty auth login`")


def json_body(session: Session, response: httpx.Response) -> Any:
    """Return a response's JSON body.

    Args:
        session: The session that made the request (named in errors).
        response: The response.

    Raises:
        ServerError: The body is not JSON.
    """
    try:
        return http_client.json_of(response)
    except ValueError:
        raise http_client.unexpected_response(session.server_url) from None

