"""The OpenAPI 3.1 description of the server, as a plain Python dict.

This is the single source of the server API reference: the docs render it, the server serves
it at `GET /api/v1/openapi.json`, and a test checks that it lists exactly the routes the app
registers. Importing this module does not start anything.
"""

from __future__ import annotations

from typing import Any

import spec_kitty_protocol as protocol
from spec_kitty_protocol import MAX_BATCH_EVENTS as MAX_EVENTS
from spec_kitty_server import __version__


def _ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{name}"}


def _json(schema: dict[str, Any], description: str) -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


def _error(description: str, headers: dict[str, Any] | None = None) -> dict[str, Any]:
    response = _json(_ref("Error"), description)
    if headers:
        response["headers"] = headers
    return response


def _html(description: str) -> dict[str, Any]:
    return {"description": description, "content": {"text/html": {"schema": {"type": "string"}}}}


def _redirect(description: str) -> dict[str, Any]:
    return {"description": description,
            "headers": {"Location": {"schema": {"type": "string"},
                                     "description": "Where to go next."}}}


_BEARER = [{"bearerAuth": []}]
_SESSION = [{"sessionCookie": []}]
_RETRY_AFTER = {"Retry-After": {"schema": {"type": "integer"},
                                "description": "Seconds to wait before trying again."}}
_TEAM = {"name": "team", "in": "path", "required": True,
         "schema": {"type": "string", "pattern": "^[a-z0-9][a-z0-9-]{0,62}$"},
         "description": "The team slug; any team but the user's own gives 404."}
_LOGIN_REDIRECT = _redirect("Not logged in: redirect to `/login/?next=<this URL>`.")


def _event_schema() -> dict[str, Any]:
    shared = protocol.schema()
    return {"type": "object", "required": shared["required"],
            "properties": shared["properties"],
            "description": ("A sync event envelope. It is validated against the shared JSON "
                            "Schema `events.schema.json`, which also fixes the `payload` of "
                            "each known `event_type`. Other fields are kept.")}


def _schemas() -> dict[str, Any]:
    token_pair = {
        "type": "object",
        "required": ["access", "refresh", "access_lifetime", "refresh_lifetime", "team_slug",
                     "username"],
        "properties": {
            "access": {"type": "string", "description": "Access token (JWT, HS256)."},
            "refresh": {"type": "string",
                        "description": "Refresh token; it dies when it is used."},
            "access_lifetime": {"type": "integer", "description": "Seconds `access` is valid."},
            "refresh_lifetime": {"type": "integer",
                                 "description": "Seconds `refresh` is valid."},
            "team_slug": {"type": "string", "description": "The user's team."},
            "username": {"type": "string", "description": "The user."},
        },
    }
    stored = {"allOf": [_ref("Event"), {"type": "object", "required": ["server_seq",
                                                                      "received_at"],
                                        "properties": {
        "server_seq": {"type": "integer", "description": "Server order of the event."},
        "received_at": {"type": "string", "format": "date-time",
                        "description": "When the server stored it (UTC)."}}}]}
    return {
        "Error": {"type": "object", "required": ["detail"],
                  "properties": {"detail": {"type": "string",
                                            "description": "A human sentence."}}},
        "Credentials": {"type": "object", "required": ["username", "password"],
                        "properties": {"username": {"type": "string", "maxLength": 150},
                                       "password": {"type": "string", "maxLength": 1024}}},
        "RefreshRequest": {"type": "object", "required": ["refresh"],
                           "properties": {"refresh": {"type": "string"}}},
        "TokenPair": token_pair,
        "WsToken": {"type": "object", "required": ["ws_token", "expires_in"],
                    "properties": {"ws_token": {"type": "string",
                                                "description": "Opens one WebSocket."},
                                   "expires_in": {"type": "integer",
                                                  "description": "Seconds it stays valid."}}},
        "Health": {"type": "object",
                   "required": ["status", "storage", "version", "authenticated",
                                "token_status"],
                   "properties": {
                       "status": {"type": "string", "enum": ["ok", "unavailable"]},
                       "storage": {"type": "string", "enum": ["ok", "missing", "replaced"],
                                   "description": "Whether the database file is still the "
                                                  "one the server opened."},
                       "detail": {"type": "string",
                                  "description": "Why it is unavailable (503 only)."},
                       "version": {"type": "string"},
                       "authenticated": {"type": "boolean",
                                         "description": "Whether the Bearer token is valid."},
                       "token_status": {"type": "string",
                                        "enum": ["missing", "valid", "expired", "invalid"]}}},
        "Event": _event_schema(),
        "StoredEvent": stored,
        "BatchRequest": {"type": "object", "required": ["events"],
                         "properties": {"events": {"type": "array", "maxItems": MAX_EVENTS,
                                                   "items": _ref("Event")}}},
        "BatchResult": {"type": "object", "required": ["event_id", "status", "error"],
                        "properties": {
                            "event_id": {"type": ["string", "null"]},
                            "status": {"type": "string",
                                       "enum": ["success", "duplicate", "rejected"]},
                            "error": {"type": ["string", "null"],
                                      "description": "Why it was rejected."}}},
        "BatchResponse": {"type": "object", "required": ["results"],
                          "properties": {"results": {"type": "array",
                                                     "items": _ref("BatchResult")}}},
        "EventPage": {"type": "object", "required": ["events", "next_cursor", "has_more"],
                      "properties": {
                          "events": {"type": "array", "items": _ref("StoredEvent")},
                          "next_cursor": {"type": ["string", "null"],
                                          "description": "Pass as `after` to resume."},
                          "has_more": {"type": "boolean",
                                       "description": "Whether another page is ready now."},
                          "node_lamport": {
                              "type": "integer", "minimum": 0,
                              "description": "Only with `exclude_node`: the highest Lamport "
                                             "clock among that node's stored events (0 when "
                                             "none), so a client that lost its clock resumes "
                                             "above it. An extension; stock 2.x clients "
                                             "ignore it."}}},
        "LoginForm": {"type": "object", "required": ["username", "password", "csrf"],
                      "properties": {"username": {"type": "string"},
                                     "password": {"type": "string"},
                                     "csrf": {"type": "string"},
                                     "next": {"type": "string"}}},
        "CsrfForm": {"type": "object", "required": ["csrf"],
                     "properties": {"csrf": {"type": "string"}}},
    }


def _api_paths() -> dict[str, Any]:
    bad_token = _error("Missing, malformed, forged or expired access token.")
    disabled = _error("The token is valid but its user is disabled or left the team.")
    busy = _error("The database is locked or its file is gone; retry after `Retry-After` "
                  "seconds.", _RETRY_AFTER)
    busy_login = _error("Too many password checks are waiting, or the database is locked or "
                        "gone; retry after `Retry-After` seconds.", _RETRY_AFTER)
    return {
        protocol.TOKEN_PATH: {"post": {
            "operationId": "obtainToken", "tags": ["auth"],
            "summary": "Exchange a username and password for an access/refresh token pair.",
            "requestBody": {"required": True, "content": {"application/json": {
                "schema": _ref("Credentials")}}},
            "responses": {"200": _json(_ref("TokenPair"), "The token pair."),
                          "400": _error("The body is not a JSON object with both strings."),
                          "401": _error("Invalid username or password."),
                          "413": _error("The body is too large."),
                          "429": _error("Too many failed logins for this user or address.",
                                        _RETRY_AFTER),
                          "503": busy_login}}},
        protocol.REFRESH_PATH: {"post": {
            "operationId": "refreshToken", "tags": ["auth"],
            "summary": "Exchange a refresh token for a new pair; the old refresh token dies.",
            "description": (
                "Presenting the old refresh token again within "
                f"{protocol.REFRESH_GRACE_SECONDS} seconds returns the same new pair (the "
                "first answer was lost); a reuse after that revokes every refresh token of "
                "that login."),
            "requestBody": {"required": True, "content": {"application/json": {
                "schema": _ref("RefreshRequest")}}},
            "responses": {"200": _json(_ref("TokenPair"), "The new token pair."),
                          "400": _error("The body is malformed."),
                          "401": _error("The refresh token is invalid, expired or used."),
                          "403": disabled,
                          "413": _error("The body is too large."),
                          "503": busy}}},
        protocol.WS_TOKEN_PATH: {"post": {
            "operationId": "obtainWsToken", "tags": ["auth"], "security": _BEARER,
            "summary": "Get a 60-second token that opens one WebSocket connection.",
            "responses": {"200": _json(_ref("WsToken"), "The ws-token."),
                          "401": bad_token, "403": disabled}}},
        protocol.HEALTH_PATH: {"get": {
            "operationId": "health", "tags": ["sync"],
            "summary": "Liveness, and whether the Bearer token sent (if any) is valid.",
            "security": [{}, {"bearerAuth": []}],
            "responses": {"200": _json(_ref("Health"), "The server is up."),
                          "403": disabled,
                          "503": {**_json(_ref("Health"), "The database file was deleted or "
                                                          "replaced under the running server; "
                                                          "writes are refused."),
                                  "headers": _RETRY_AFTER}}}},
        protocol.BATCH_PATH: {"post": {
            "operationId": "pushBatch", "tags": ["sync"], "security": _BEARER,
            "summary": "Store up to 1000 events; each gets success, duplicate or rejected.",
            "description": ("The body may be gzip-compressed (`Content-Encoding: gzip`); at most "
                            "10 MiB once decompressed. An event is rejected when it fails the "
                            "schema (the reason is the validator's message), when its "
                            "`team_slug` is not the token's team (`team mismatch`) or when it "
                            "is over 64 KiB. A duplicate is an `event_id` already stored."),
            "parameters": [{"name": "Content-Encoding", "in": "header", "required": False,
                            "schema": {"type": "string", "enum": ["gzip", "identity"]}}],
            "requestBody": {"required": True, "content": {"application/json": {
                "schema": _ref("BatchRequest")}}},
            "responses": {"200": _json(_ref("BatchResponse"), "One result per event, in "
                                                              "input order."),
                          "400": _error("Malformed gzip, JSON or shape."),
                          "401": bad_token, "403": disabled,
                          "413": _error("More than 1000 events, or the body is too large."),
                          "503": _error("The database is busy; retry after `Retry-After` "
                                        "seconds.", _RETRY_AFTER)}}},
        protocol.EVENTS_PATH: {"get": {
            "operationId": "listEvents", "tags": ["sync"], "security": _BEARER,
            "summary": "The team's events after a cursor, in server order.",
            "parameters": [
                {"name": "after", "in": "query", "required": False,
                 "schema": {"type": "string"},
                 "description": "A `next_cursor` from an earlier page; omit to start."},
                {"name": "limit", "in": "query", "required": False,
                 "schema": {"type": "integer", "minimum": 1, "maximum": 1000, "default": 100}},
                {"name": "exclude_node", "in": "query", "required": False,
                 "schema": {"type": "string", "pattern": "^[0-9a-f]{12}$"},
                 "description": "Leave out the events of this node (the caller's own); "
                                "`next_cursor` still moves past them."}],
            "responses": {"200": _json(_ref("EventPage"), "A page of events."),
                          "400": _error("Bad cursor, limit or node id."),
                          "401": bad_token, "403": disabled}}},
        "/api/v1/openapi.json": {"get": {
            "operationId": "openapi", "tags": ["meta"],
            "summary": "This OpenAPI document.",
            "responses": {"200": {"description": "The document.",
                                  "content": {"application/json": {
                                      "schema": {"type": "object"}}}}}}},
    }


def _other_paths() -> dict[str, Any]:
    ws_messages = {
        "server": ['{"type":"snapshot","board":{team_slug,lanes,projects,features,'
                   'work_packages,last_seq}}', '{"type":"event","event":StoredEvent}',
                   '{"type":"ping"}', '{"type":"ack","event_id","status","error"}',
                   '{"type":"error","detail"}'],
        "client": ['{"type":"pong"}', '{"type":"event","event":Event}'],
        "close_codes": {"4401": "missing, invalid, expired or reused ws-token",
                        "4403": "user disabled", "4408": "two pings without a pong",
                        "4429": "client too slow to read its events"},
    }
    return {
        protocol.WS_PATH: {"get": {
            "operationId": "eventsWebSocket", "tags": ["sync"],
            "summary": "WebSocket of live team events (authenticate with a ws-token).",
            "description": ("Send the ws-token as `Authorization: Bearer <ws_token>` or as "
                            "`?token=`. The server sends a `snapshot` of the board, then an "
                            "`event` message for every new team event and a `ping` every "
                            "interval; a client that misses two pongs is dropped. A client may "
                            "push `{\"type\":\"event\",\"event\":{...}}` and gets an `ack`."),
            "parameters": [{"name": "token", "in": "query", "required": False,
                            "schema": {"type": "string"}, "description": "The ws-token."}],
            "x-websocket-messages": ws_messages,
            "responses": {"101": {"description": "Switching to the WebSocket protocol."}}}},
        "/": {"get": {"operationId": "root", "tags": ["dashboards"],
                      "summary": "Redirect to the user's overview, or to the login page.",
                      "responses": {"303": _redirect("Overview or login page.")}}},
        "/login/": {
            "get": {"operationId": "loginForm", "tags": ["dashboards"],
                    "summary": "The login form (sets the `sk_login` CSRF cookie).",
                    "parameters": [{"name": "next", "in": "query", "required": False,
                                    "schema": {"type": "string"},
                                    "description": "Local path to open after login."}],
                    "responses": {"200": _html("The form."),
                                  "303": _redirect("Already logged in.")}},
            "post": {"operationId": "login", "tags": ["dashboards"],
                     "summary": "Log in; sets the `sk_session` cookie (HttpOnly, SameSite=Lax).",
                     "requestBody": {"required": True, "content": {
                         "application/x-www-form-urlencoded": {"schema": _ref("LoginForm")}}},
                     "responses": {"303": _redirect("Logged in."),
                                   "400": _html("Missing fields or not a form."),
                                   "401": _html("Invalid username or password."),
                                   "403": _html("Missing or wrong CSRF token."),
                                   "413": _html("The form is too large."),
                                   "429": _html("Too many failed logins.")}}},
        "/logout/": {
            "get": {"operationId": "logoutForm", "tags": ["dashboards"],
                    "summary": "A form that logs out.", "security": _SESSION,
                    "responses": {"200": _html("The form."),
                                  "303": _redirect("Not logged in: to the login page.")}},
            "post": {"operationId": "logout", "tags": ["dashboards"],
                     "summary": "End the session.", "security": _SESSION,
                     "requestBody": {"required": True, "content": {
                         "application/x-www-form-urlencoded": {"schema": _ref("CsrfForm")}}},
                     "responses": {"303": _redirect("Logged out: to the login page."),
                                   "400": _html("Not a form."),
                                   "403": _html("Missing or wrong CSRF token.")}}},
        "/a/{team}/dashboards/": {"get": {
            "operationId": "overview", "tags": ["dashboards"], "security": _SESSION,
            "summary": "Counts, lane breakdown and the ten latest events.",
            "parameters": [_TEAM],
            "responses": {"200": _html("The overview."), "303": _LOGIN_REDIRECT,
                          "404": _html("Another team.")}}},
        "/a/{team}/dashboards/board/": {"get": {
            "operationId": "board", "tags": ["dashboards"], "security": _SESSION,
            "summary": "The kanban board, one column per lane.",
            "parameters": [_TEAM,
                           {"name": "project", "in": "query", "required": False,
                            "schema": {"type": "string"}, "description": "Project slug."},
                           {"name": "feature", "in": "query", "required": False,
                            "schema": {"type": "string"}, "description": "Feature slug."}],
            "responses": {"200": _html("The board."), "303": _LOGIN_REDIRECT,
                          "400": _html("A filter is not a valid slug."),
                          "404": _html("Another team.")}}},
        "/a/{team}/dashboards/activity/": {"get": {
            "operationId": "activity", "tags": ["dashboards"], "security": _SESSION,
            "summary": "The event feed, 25 per page, newest first.",
            "description": "With `HX-Request: true` only the items and the next link come back.",
            "parameters": [_TEAM, {"name": "page", "in": "query", "required": False,
                                   "schema": {"type": "integer", "minimum": 1,
                                              "maximum": 1000000, "default": 1}}],
            "responses": {"200": _html("The page or fragment."), "303": _LOGIN_REDIRECT,
                          "400": _html("`page` is not a whole number in range."),
                          "404": _html("Another team.")}}},
    }


def build() -> dict[str, Any]:
    """Build the OpenAPI document.

    Returns:
        The document.
    """
    return {
        "openapi": "3.1.0",
        "info": {"title": "spec-kitty sync server", "version": __version__,
                 "description": ("The spec-kitty 2.x sync protocol, extended. Errors are "
                                 "`{\"detail\": \"<sentence>\"}`; trailing slashes as written.")},
        "servers": [{"url": "http://127.0.0.1:8000", "description": "A local server."}],
        "tags": [{"name": "auth", "description": "Tokens."},
                 {"name": "sync", "description": "Pushing and reading events."},
                 {"name": "dashboards", "description": "Server-rendered HTML pages."},
                 {"name": "meta", "description": "About the API."}],
        "paths": {**_api_paths(), **_other_paths()},
        "components": {
            "schemas": _schemas(),
            "securitySchemes": {
                "bearerAuth": {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"},
                "sessionCookie": {"type": "apiKey", "in": "cookie", "name": "sk_session"}},
        },
    }


OPENAPI: dict[str, Any] = build()
"""The OpenAPI document of this server version."""
