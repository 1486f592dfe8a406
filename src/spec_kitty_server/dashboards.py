"""Server-rendered team dashboards: login, overview, kanban board and activity feed.

Pages are plain HTML forms and links that work without JavaScript; htmx (served from this
package) swaps fragments for filters and infinite scroll. A user only ever sees their own
team: any other team's URL is a 404.
"""

from __future__ import annotations

import re
from datetime import datetime
from functools import lru_cache
from typing import Any
from urllib.parse import parse_qs, quote, urlencode

import jinja2
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response

from spec_kitty_protocol import canonical_lane
from spec_kitty_server import __version__
from spec_kitty_server import board as board_tables
from spec_kitty_server._auth import MAX_PASSWORD, MAX_USERNAME, check_login
from spec_kitty_server._errors import RequestError
from spec_kitty_server._sessions import (
    LOGIN_COOKIE,
    check_login_csrf,
    check_session_csrf,
    current_user,
    end_session,
    login_csrf,
    login_nonce,
    session_csrf,
    set_cookie,
    start_session,
)
from spec_kitty_server._state import client_ip, state
from spec_kitty_server.accounts import User
from spec_kitty_server.board import LANES
from spec_kitty_server.events import activity as activity_feed

PAGE_SIZE = 25
"""Events per activity page."""

MAX_PAGE = 1_000_000
"""Largest activity page number accepted."""

MAX_FORM_BYTES = 16 * 1024
_SLUG = re.compile(r"^[a-z0-9][a-z0-9-]{0,99}$")
LANE_TITLES = {"planned": "Planned", "claimed": "Claimed", "in_progress": "In progress",
               "for_review": "For review", "approved": "Approved", "done": "Done",
               "blocked": "Blocked", "canceled": "Canceled"}

BOARD_REFRESH_SECONDS = 30
"""How often an open board reloads its columns (htmx polling), in seconds."""


@lru_cache(maxsize=1)
def environment() -> jinja2.Environment:
    """The Jinja2 environment of the dashboard templates (autoescaping on).

    Returns:
        The environment.
    """
    env = jinja2.Environment(loader=jinja2.PackageLoader("spec_kitty_server", "templates"),
                             autoescape=True, trim_blocks=True, lstrip_blocks=True,
                             undefined=jinja2.StrictUndefined)
    env.filters["when"] = format_time
    env.globals.update(lane_titles=LANE_TITLES, lanes=LANES, version=__version__,
                       describe=describe)
    return env


def render(template: str, status: int = 200, headers: dict[str, str] | None = None,
           **context: Any) -> HTMLResponse:
    """Render a template to an HTML response.

    Args:
        template: Template file name.
        status: HTTP status.
        headers: Extra headers.
        **context: Template variables.

    Returns:
        The response.
    """
    context.setdefault("user", None)
    context.setdefault("csrf", "")
    context.setdefault("active", "")
    html = environment().get_template(template).render(**context)
    return HTMLResponse(html, status_code=status, headers=headers)


def format_time(value: str | None) -> str:
    """Format an ISO UTC timestamp for humans (`2026-11-22 14:03 UTC`).

    Args:
        value: The timestamp.

    Returns:
        The short form, or the input when it does not parse.
    """
    if not value:
        return ""
    try:
        stamp = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return value
    return stamp.strftime("%Y-%m-%d %H:%M UTC")


def describe(event: dict[str, Any]) -> str:
    """One human line about an event.

    Args:
        event: The event envelope.

    Returns:
        The description.
    """
    p = event.get("payload") or {}
    kind = event.get("event_type")
    if kind == "WPStatusChanged":
        return (f"{p.get('wp_id')} moved from {_lane_title(p.get('from_lane'))} to "
                f"{_lane_title(p.get('to_lane'))} by {p.get('actor') or 'someone'}")
    if kind == "WPCreated":
        return f"{p.get('wp_id')} created: {p.get('title')}"
    if kind == "WPAssigned":
        return f"{p.get('wp_id')} assigned to {p.get('agent_id')} for {p.get('phase')}"
    if kind == "FeatureCreated":
        return f"Feature {p.get('feature_slug')} created with {p.get('wp_count')} work packages"
    if kind == "FeatureCompleted":
        return f"Feature {p.get('feature_slug')} completed"
    if kind == "HistoryAdded":
        content = str(p.get("entry_content") or "")
        short = content if len(content) <= 80 else content[:79] + "…"
        return f"{p.get('wp_id')}: {p.get('entry_type')} by {p.get('author')}: {short}"
    if kind == "ErrorLogged":
        return f"Error {p.get('error_type')}: {p.get('error_message')}"
    if kind == "DependencyResolved":
        return (f"{p.get('wp_id')}: dependency {p.get('dependency_wp_id')} "
                f"{p.get('resolution_type')}")
    return f"{kind} (not shown on the board)"


def _lane_title(lane: Any) -> str:
    found = canonical_lane(lane) if isinstance(lane, str) else None
    return LANE_TITLES[found] if found else "?"


def _safe_next(value: str | None) -> str | None:
    if (not value or not value.startswith("/") or value.startswith("//") or "\\" in value
            or len(value) > 2000 or not value.isprintable()):
        return None
    return value


def _home(user: User) -> str:
    return f"/a/{user.team_slug}/dashboards/"


async def _require_team(request: Request) -> tuple[User | None, Response | None]:
    st = state(request)
    user = await current_user(st, request)
    if user is None:
        target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        return None, RedirectResponse(f"/login/?next={quote(target, safe='')}", status_code=303)
    if request.path_params.get("team") != user.team_slug:
        raise RequestError(404, "There is no such page.")
    return user, None


async def _form(request: Request) -> dict[str, str]:
    kind = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if kind != "application/x-www-form-urlencoded":
        raise RequestError(400, "Send the form as application/x-www-form-urlencoded.")
    body = b""
    async for chunk in request.stream():
        body += chunk
        if len(body) > MAX_FORM_BYTES:
            raise RequestError(413, "The form is too large.")
    try:
        fields = parse_qs(body.decode("utf-8"), keep_blank_values=True, max_num_fields=20,
                          strict_parsing=False)
    except (UnicodeDecodeError, ValueError):
        raise RequestError(400, "The form could not be read.") from None
    return {key: values[0] for key, values in fields.items()}


async def root(request: Request) -> Response:
    """`GET /`: the user's overview when logged in, else the login page.

    Args:
        request: The request.

    Returns:
        A redirect.
    """
    user = await current_user(state(request), request)
    return RedirectResponse(_home(user) if user else "/login/", status_code=303)


def _login_form(request: Request, status: int = 200, error: str = "",
                username: str = "", headers: dict[str, str] | None = None) -> Response:
    st = state(request)
    nonce, new = login_nonce(request)
    response = render("login.html", status=status, headers=headers, error=error,
                      username=username, csrf=login_csrf(st, nonce),
                      next=_safe_next(request.query_params.get("next")) or "")
    if new:
        set_cookie(st, response, LOGIN_COOKIE, nonce, 3600)
    return response


def _form_expired() -> RequestError:
    return RequestError(403, "The form expired or was not sent by this site; reload the page "
                          "and try again.")


async def login(request: Request) -> Response:
    """`GET|POST /login/`: the browser login form.

    Args:
        request: The request.

    Returns:
        The form, or a redirect after a successful login.
    """
    st = state(request)
    if request.method in ("GET", "HEAD"):
        user = await current_user(st, request)
        if user is not None:
            return RedirectResponse(_safe_next(request.query_params.get("next"))
                                    or _home(user), status_code=303)
        return _login_form(request)
    form = await _form(request)
    if not check_login_csrf(st, request, form.get("csrf", "")):
        raise _form_expired()
    username = form.get("username", "")[:MAX_USERNAME]
    password = form.get("password", "")[:MAX_PASSWORD]
    if not username or not password:
        return _login_form(request, 400, "Enter a username and a password.", username)
    result = await check_login(st, username, password, client_ip(request))
    if result.retry_after:
        return _login_form(request, 429, "Too many failed logins; try again later.", username,
                           {"Retry-After": str(result.retry_after)})
    if result.user is None:
        return _login_form(request, 401, "Invalid username or password.", username)
    response = RedirectResponse(_safe_next(form.get("next")) or _home(result.user),
                                status_code=303)
    await start_session(st, response, result.user)
    return response


async def logout(request: Request) -> Response:
    """`GET|POST /logout/`: a confirmation form, and ending the session.

    Args:
        request: The request.

    Returns:
        The form, or a redirect to the login page.
    """
    st = state(request)
    user = await current_user(st, request)
    if request.method in ("GET", "HEAD"):
        if user is None:
            return RedirectResponse("/login/", status_code=303)
        return render("logout.html", user=user, csrf=session_csrf(st, request))
    form = await _form(request)
    if not check_session_csrf(st, request, form.get("csrf", "")):
        raise _form_expired()
    response = RedirectResponse("/login/", status_code=303)
    await end_session(st, request, response)
    return response


async def overview(request: Request) -> Response:
    """`GET /a/<team>/dashboards/`: counts, lane breakdown and the latest events.

    Args:
        request: The request.

    Returns:
        The page.
    """
    user, redirect = await _require_team(request)
    if redirect:
        return redirect
    st = state(request)
    data = await st.db.read(board_tables.overview, user.team_slug)
    return render("overview.html", user=user, csrf=session_csrf(st, request),
                  active="overview", data=data)


def _slug_param(request: Request, name: str) -> str:
    value = request.query_params.get(name, "")
    if value and not _SLUG.match(value):
        raise RequestError(400, f"The {name} filter is not a valid slug.")
    return value


def _lane_param(request: Request) -> str:
    value = request.query_params.get("lane", "")
    if not value:
        return ""
    lane = canonical_lane(value)
    if lane is None:
        raise RequestError(400, "The lane filter is not a lane of the board.")
    return lane


async def board(request: Request) -> Response:
    """`GET /a/<team>/dashboards/board/`: one column per lane, filterable by project, feature
    and lane (`?lane=for_review` shows that column only).

    With JavaScript the columns refresh themselves every `BOARD_REFRESH_SECONDS` (htmx
    polling).

    Args:
        request: The request.

    Returns:
        The page.
    """
    user, redirect = await _require_team(request)
    if redirect:
        return redirect
    st = state(request)
    project = _slug_param(request, "project")
    feature = _slug_param(request, "feature")
    lane = _lane_param(request)
    wps = await st.db.read(board_tables.work_packages, user.team_slug, project or None,
                           feature or None)
    if lane:
        wps = [wp for wp in wps if wp["lane"] == lane]
    columns = {name: [] for name in ([lane] if lane else LANES)}
    for wp in wps:
        columns.setdefault(wp["lane"], []).append(wp)
    return render("board.html", user=user, csrf=session_csrf(st, request), active="board",
                  columns=columns, project=project, feature=feature, lane=lane,
                  refresh_seconds=BOARD_REFRESH_SECONDS,
                  projects=await st.db.read(board_tables.projects, user.team_slug),
                  features=await st.db.read(board_tables.features, user.team_slug, project or None),
                  total=len(wps), query=request.url.query, headers={"Vary": "HX-Request"})


async def activity(request: Request) -> Response:
    """`GET /a/<team>/dashboards/activity/?page=N`: 25 events per page, newest first.

    Requests from htmx (`HX-Request`) get only the items and the next-page link, which is
    how infinite scroll appends pages.

    Args:
        request: The request.

    Returns:
        The page or fragment.
    """
    user, redirect = await _require_team(request)
    if redirect:
        return redirect
    st = state(request)
    raw = request.query_params.get("page", "1") or "1"
    if not (raw.isascii() and raw.isdigit()) or len(raw) > 7 or not 1 <= int(raw) <= MAX_PAGE:
        raise RequestError(400, f"page must be a whole number from 1 to {MAX_PAGE}.")
    page = int(raw)
    events = await st.db.read(activity_feed, user.team_slug, (page - 1) * PAGE_SIZE,
                              PAGE_SIZE + 1)
    more = len(events) > PAGE_SIZE
    next_url = f"?{urlencode({'page': page + 1})}" if more else ""
    fragment = request.headers.get("hx-request") == "true"
    template = "_activity_items.html" if fragment else "activity.html"
    return render(template, user=user, csrf=session_csrf(st, request), active="activity",
                  events=events[:PAGE_SIZE], page=page, next_url=next_url,
                  headers={"Vary": "HX-Request"})
