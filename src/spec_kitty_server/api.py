"""The JSON HTTP API under `/api/v1/`: tokens, health, batch push and the event feed.

Every error is `{"detail": "<sentence>"}`; bad input gets 400/401/413, never 500.
"""

from __future__ import annotations

import json
import re
import secrets
import sqlite3
import time
from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from spec_kitty_protocol import MAX_PAGE_SIZE, REFRESH_GRACE_SECONDS
from spec_kitty_server import __version__, credentials, tokens
from spec_kitty_server._auth import (
    INACTIVE,
    MAX_PASSWORD,
    MAX_USERNAME,
    access_claims,
    active_user,
    authenticate,
    bearer_token,
    check_login,
    is_active,
    unauthorized,
)
from spec_kitty_server._db import GONE_RETRY_AFTER
from spec_kitty_server._errors import RequestError
from spec_kitty_server._json import FloatFreeJSONResponse, JSONResponse
from spec_kitty_server._state import AppState, client_ip, state
from spec_kitty_server.accounts import User, get_user
from spec_kitty_server.events import events_after, team_lamport
from spec_kitty_server.ingest import ingest
from spec_kitty_server.openapi import OPENAPI
from spec_kitty_server.settings import WS_TOKEN_LIFETIME
from spec_kitty_server.tokens import Claims
from spec_kitty_server.validation import (
    MAX_BODY_BYTES,
    BodyError,
    Checked,
    batch_events,
    check_event,
    decode_body,
    parse_json,
)

MAX_SMALL_BODY = 64 * 1024
DEFAULT_LIMIT = 100
MAX_LIMIT = MAX_PAGE_SIZE
_CURSOR = re.compile(r"^[0-9]{1,18}$")


async def read_body(request: Request, cap: int) -> bytes:
    """Read a request body, refusing more than `cap` bytes.

    Args:
        request: The request.
        cap: The largest body accepted.

    Returns:
        The body.

    Raises:
        RequestError: 413 when it is larger, 400 on a bad `Content-Length`.
    """
    length = request.headers.get("content-length")
    if length is not None:
        if not (length.isascii() and length.isdigit()) or len(length) > 18:
            raise RequestError(400, "Invalid Content-Length header.")
        if int(length) > cap:
            raise RequestError(413, f"The body is larger than {cap} bytes.")
    chunks = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > cap:
            raise RequestError(413, f"The body is larger than {cap} bytes.")
        chunks.append(chunk)
    return b"".join(chunks)


async def _json_object(request: Request) -> dict[str, Any]:
    raw = await read_body(request, MAX_SMALL_BODY)
    try:
        body = parse_json(raw)
    except BodyError as exc:
        raise RequestError(exc.status, exc.detail) from None
    if not isinstance(body, dict):
        raise RequestError(400, "The body must be a JSON object.")
    return body


def _string_field(body: dict[str, Any], name: str, limit: int) -> str:
    value = body.get(name)
    if not isinstance(value, str) or not value:
        raise RequestError(400, f'"{name}" must be a non-empty string.')
    if len(value) > limit:
        raise RequestError(400, f'"{name}" is too long.')
    if not _is_unicode(value):
        raise RequestError(400, f'"{name}" must be valid Unicode text (no lone surrogates).')
    return value


def _is_unicode(value: str) -> bool:
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _pair_claims(st: AppState, user: User) -> dict[str, dict[str, Any]]:
    """Fresh claims for an access and a refresh token (signed only when answered)."""
    settings = st.settings
    now = int(time.time())
    return {kind: {"sub": user.username, "team": user.team_slug, "type": kind,
                   "jti": secrets.token_urlsafe(16), "iat": now, "exp": now + lifetime}
            for kind, lifetime in (("access", settings.access_lifetime),
                                   ("refresh", settings.refresh_lifetime))}


def _pair_answer(st: AppState, claims: dict[str, dict[str, Any]]) -> dict[str, Any]:
    settings = st.settings
    return {"access": tokens.sign(settings.secret, claims["access"]),
            "refresh": tokens.sign(settings.secret, claims["refresh"]),
            "access_lifetime": settings.access_lifetime,
            "refresh_lifetime": settings.refresh_lifetime,
            "team_slug": claims["refresh"]["team"], "username": claims["refresh"]["sub"]}


async def token(request: Request) -> Response:
    """`POST /api/v1/token/`: exchange a username and password for a token pair.

    Args:
        request: The request.

    Returns:
        The token pair, or 400/401/429.
    """
    st = state(request)
    body = await _json_object(request)
    username = _string_field(body, "username", MAX_USERNAME)
    password = _string_field(body, "password", MAX_PASSWORD)
    result = await check_login(st, username, password, client_ip(request))
    if result.retry_after:
        raise RequestError(429, "Too many failed logins; try again later.",
                       {"Retry-After": str(result.retry_after)})
    if result.user is None:
        raise unauthorized("Invalid username or password.")
    claims = _pair_claims(st, result.user)
    refresh = claims["refresh"]
    await st.db.write(credentials.store_refresh, refresh["jti"], result.user.username,
                      refresh["exp"])
    return JSONResponse(_pair_answer(st, claims))


async def token_refresh(request: Request) -> Response:
    """`POST /api/v1/token/refresh/`: exchange a refresh token for a new pair (rotation).

    Presenting the same refresh token again within `REFRESH_GRACE_SECONDS` returns the same
    new pair (the first answer was lost: a timeout, a killed client); after that the reuse is
    treated as theft and every refresh token of that login is revoked.

    Args:
        request: The request.

    Returns:
        The new token pair, or 400/401/403.
    """
    st = state(request)
    body = await _json_object(request)
    refresh = _string_field(body, "refresh", 4096)
    try:
        claims = tokens.verify(st.settings.secret, refresh, "refresh")
    except tokens.TokenError as exc:
        raise unauthorized(f"The refresh token is {exc.status}.") from None
    user = await st.db.read(get_user, claims.username)
    if user is None:
        raise unauthorized("The refresh token has already been used or revoked.")
    fresh = _pair_claims(st, user)
    outcome, previous = await st.db.write(
        credentials.rotate_refresh, claims.jti, json.dumps(fresh), fresh["refresh"]["jti"],
        fresh["refresh"]["exp"], REFRESH_GRACE_SECONDS)
    if outcome == "again" and previous:
        return JSONResponse(_pair_answer(st, json.loads(previous)))
    if outcome == "revoked":
        raise unauthorized("The refresh token was used again after its grace period; every "
                           "session of that login is revoked. Log in again.")
    if outcome != "new":
        raise unauthorized("The refresh token has already been used or revoked.")
    await active_user(st, claims)
    return JSONResponse(_pair_answer(st, fresh))


async def ws_token(request: Request) -> Response:
    """`POST /api/v1/ws-token/`: a short-lived token that opens one WebSocket.

    Args:
        request: The request.

    Returns:
        `{"ws_token", "expires_in"}`, or 401/403.
    """
    st = state(request)
    user = await authenticate(st, request)
    value, _ = tokens.issue(st.settings.secret, user.username, user.team_slug, "ws",
                            WS_TOKEN_LIFETIME)
    return JSONResponse({"ws_token": value, "expires_in": WS_TOKEN_LIFETIME})


async def health(request: Request) -> Response:
    """`GET /api/v1/sync/health/`: liveness, the database file, and the Bearer token's state.

    Without a token it never touches the database. The file check is a `stat`: a database
    deleted or replaced under the running server makes it answer 503.

    Args:
        request: The request.

    Returns:
        The health document; 403 for a valid token of a disabled user; 503 when the
        database file is gone or replaced.
    """
    st = state(request)
    value = bearer_token(request)
    status = "missing"
    if value is not None:
        try:
            claims = tokens.verify(st.settings.secret, value, "access")
        except tokens.TokenError as exc:
            status = exc.status
        else:
            await active_user(st, claims)
            status = "valid"
    storage = st.db.file_state()
    if storage != "ok":
        return JSONResponse({"status": "unavailable", "storage": storage, "version": __version__,
                             "authenticated": status == "valid", "token_status": status,
                             "detail": f"The database file is {storage}; restart the server."},
                            status_code=503, headers={"Retry-After": str(GONE_RETRY_AFTER)})
    return JSONResponse({"status": "ok", "storage": storage, "version": __version__,
                         "authenticated": status == "valid", "token_status": status})


async def batch(request: Request) -> Response:
    """`POST /api/v1/events/batch/`: store up to 1000 events, reporting each one's fate.

    The user is checked by the write itself (one trip to the writer thread, not a read and
    then a write); a request refused for its body checks the user first, so a disabled user
    hears 403 whatever it sent, as from every other endpoint.

    Args:
        request: The request.

    Returns:
        `{"results": [...]}` in input order, or 400/401/403/413.
    """
    st = state(request)
    claims = access_claims(st, request)
    try:
        raw = await read_body(request, MAX_BODY_BYTES)
        body, fast_json = decode_body(raw, request.headers.get("content-encoding"))
        events = batch_events(body)
    except (BodyError, RequestError) as exc:
        await active_user(st, claims)
        if isinstance(exc, BodyError):
            raise RequestError(exc.status, exc.detail) from None
        raise
    checked = [check_event(item, claims.team, fast_json=fast_json) for item in events]
    answer = await st.db.write(_ingest_as, claims, checked)
    if answer is None:
        raise RequestError(403, INACTIVE)
    results, stored = answer
    if stored:
        st.hub.publish(claims.team, stored)
    return FloatFreeJSONResponse({"results": results})


def _ingest_as(conn: sqlite3.Connection, claims: Claims,
               checked: list[Checked]) -> tuple[list[dict[str, Any]], list[dict[str, Any]]] | None:
    """`ingest` for the claims' user, or None (nothing stored) when it is no longer active."""
    if not is_active(get_user(conn, claims.username), claims):
        return None
    return ingest(conn, checked)


def _int_param(request: Request, name: str, default: int, low: int, high: int) -> int:
    raw = request.query_params.get(name)
    if raw is None or raw == "":
        return default
    if not (raw.isascii() and raw.isdigit()) or len(raw) > 9 or not low <= int(raw) <= high:
        raise RequestError(400, f'"{name}" must be an integer from {low} to {high}.')
    return int(raw)


_NODE_ID = re.compile(r"[0-9a-f]{12}\Z")


async def events_list(request: Request) -> Response:
    """`GET /api/v1/events/`: the team's events after a cursor, in server order.

    Args:
        request: The request.

    Returns:
        `{"events", "next_cursor", "has_more"}` (with `exclude_node`, also `node_lamport`:
        that node's highest stored clock), or 400/401.
    """
    st = state(request)
    user = await authenticate(st, request)
    cursor = request.query_params.get("after") or "0"
    if not _CURSOR.match(cursor):
        raise RequestError(400, '"after" must be a cursor returned as next_cursor.')
    limit = _int_param(request, "limit", DEFAULT_LIMIT, 1, MAX_LIMIT)
    exclude = request.query_params.get("exclude_node")
    if exclude is not None and not _NODE_ID.match(exclude):
        raise RequestError(400, '"exclude_node" must be a node id (12 hex digits).')
    events, more, last = await st.db.read(events_after, user.team_slug, int(cursor),
                                          limit, exclude)
    next_cursor = str(last) if last else cursor
    answer: dict[str, Any] = {"events": events, "next_cursor": next_cursor, "has_more": more}
    if exclude is not None:
        # The excluded node's own events never come back, so tell it the highest clock it
        # holds here: a client that lost its clock resumes above it (an extension; a stock
        # 2.x client ignores the field).
        answer["node_lamport"] = await st.db.read(team_lamport, user.team_slug,
                                                  exclude)
    return JSONResponse(answer)


async def openapi_document(request: Request) -> Response:
    """`GET /api/v1/openapi.json`: the OpenAPI description of this API.

    Args:
        request: The request.

    Returns:
        The OpenAPI document.
    """
    return JSONResponse(OPENAPI)
