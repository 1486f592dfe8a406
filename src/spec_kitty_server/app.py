"""The Starlette application: routes, error handling and shared state.

`create_app` wires the JSON API, the WebSocket and the dashboards onto one app. Errors
become `{"detail": ...}` under `/api/` and an HTML page elsewhere; an unexpected error is
logged and answered with a generic message, never a traceback.
"""

from __future__ import annotations

import logging
import sqlite3
from contextlib import asynccontextmanager

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Mount, Route, WebSocketRoute
from starlette.staticfiles import StaticFiles

import spec_kitty_protocol as protocol
from spec_kitty_server import api, dashboards, ws
from spec_kitty_server._db import BUSY_RETRY_AFTER, Database
from spec_kitty_server._errors import RequestError
from spec_kitty_server._hub import Hub
from spec_kitty_server._json import JSONResponse
from spec_kitty_server._middleware import AccessLogMiddleware
from spec_kitty_server._state import AppState
from spec_kitty_server.ratelimit import LoginLimiter
from spec_kitty_server.settings import ServerSettings


def routes() -> list[BaseRoute]:
    """Every route of the server (the OpenAPI test compares against this list).

    Returns:
        The routes.
    """
    return [
        Route(protocol.TOKEN_PATH, api.token, methods=["POST"]),
        Route(protocol.REFRESH_PATH, api.token_refresh, methods=["POST"]),
        Route(protocol.WS_TOKEN_PATH, api.ws_token, methods=["POST"]),
        Route(protocol.HEALTH_PATH, api.health, methods=["GET"]),
        Route(protocol.BATCH_PATH, api.batch, methods=["POST"]),
        Route(protocol.EVENTS_PATH, api.events_list, methods=["GET"]),
        Route("/api/v1/openapi.json", api.openapi_document, methods=["GET"]),
        WebSocketRoute(protocol.WS_PATH, ws.events_socket),
        Route("/", dashboards.root, methods=["GET"]),
        Route("/login/", dashboards.login, methods=["GET", "POST"]),
        Route("/logout/", dashboards.logout, methods=["GET", "POST"]),
        Route("/a/{team}/dashboards/", dashboards.overview, methods=["GET"]),
        Route("/a/{team}/dashboards/board/", dashboards.board, methods=["GET"]),
        Route("/a/{team}/dashboards/activity/", dashboards.activity, methods=["GET"]),
        Mount("/static", StaticFiles(packages=[("spec_kitty_server", "static")]),
              name="static"),
    ]


log = logging.getLogger("spec_kitty_server")

_TITLES = {400: "Bad request", 401: "Not logged in", 403: "Forbidden", 404: "Not found",
           405: "Method not allowed", 413: "Too large", 429: "Too many attempts",
           500: "Server error", 503: "Busy"}


def _is_api(request: Request) -> bool:
    return request.url.path.startswith("/api/")


def _error(request: Request, status: int, detail: str,
           headers: dict[str, str] | None = None) -> Response:
    if _is_api(request):
        return JSONResponse({"detail": detail}, status_code=status, headers=headers)
    return dashboards.render("error.html", status=status, headers=headers,
                             title=_TITLES.get(status, "Error"), message=detail)


async def _database_busy(request: Request, exc: Exception) -> Response:
    log.warning("database error on %s %s: %s", request.method, request.url.path, exc)
    wait = getattr(exc, "retry_after", BUSY_RETRY_AFTER)
    return _error(request, 503, "The database is busy or unavailable; try again later.",
                  {"Retry-After": str(wait)})


async def _request_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, RequestError)
    return _error(request, exc.status, exc.detail, exc.headers)


async def _http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    messages = {404: "There is no such page.", 405: "This method is not allowed here."}
    detail = messages.get(exc.status_code, str(exc.detail))
    return _error(request, exc.status_code, detail, dict(exc.headers or {}))


def create_app(settings: ServerSettings) -> Starlette:
    """Build the server app, opening its database (created on first start).

    Args:
        settings: The instance settings.

    Returns:
        The ASGI app.

    Raises:
        StorageError: The database cannot be opened.
    """
    sk = AppState(settings=settings,
                  limiter=LoginLimiter(settings.login_failures_per_user,
                                       settings.login_failures_per_ip, settings.login_window),
                  hub=Hub(), db=Database(settings.db_path, settings.write_timeout))

    @asynccontextmanager
    async def lifespan(app: Starlette):
        yield
        log.info("%s", sk.hashes.summary())
        sk.db.close()

    app = Starlette(
        routes=routes(),
        exception_handlers={RequestError: _request_error, HTTPException: _http_error,
                            sqlite3.OperationalError: _database_busy},
        lifespan=lifespan,
    )
    app.state.sk = sk
    app.add_middleware(AccessLogMiddleware)
    return app
