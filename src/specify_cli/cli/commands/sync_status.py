"""What `spec-kitty sync status` reports, and the `--check` health probe.

Collecting the status touches only local files (config, credentials, the queue database),
so it starts fast; httpx is imported only by `probe()`.
"""

from __future__ import annotations

import os
import re
import time
from pathlib import Path
from typing import Any

from spec_kitty_protocol import HEALTH_PATH

CONNECTED = "Connected"
NOT_AUTHENTICATED = "Not authenticated"
SESSION_EXPIRED = "Session expired"
FORBIDDEN = "Forbidden"
UNREACHABLE = "Unreachable"
SERVER_ERROR = "Server error"

CHECK_EXIT_CODES: dict[str, int] = {
    CONNECTED: 0,
    NOT_AUTHENTICATED: 1,
    SESSION_EXPIRED: 1,
    FORBIDDEN: 1,
    UNREACHABLE: 3,
    SERVER_ERROR: 3,
}
"""Exit status of `sync status --check` for each result."""


def human_age(seconds: float) -> str:
    """Return an age such as `42s`, `5m`, `3h 2m` or `2d 4h`.

    Args:
        seconds: The age in seconds.
    """
    seconds = max(0, int(seconds))
    if seconds < 60:
        return f"{seconds}s"
    minutes = seconds // 60
    if minutes < 60:
        return f"{minutes}m"
    hours, minutes = divmod(minutes, 60)
    if hours < 24:
        return f"{hours}h {minutes}m"
    days, hours = divmod(hours, 24)
    return f"{days}d {hours}h"


def other_queues(current: Path) -> list[dict[str, Any]]:
    """Return the queues of other accounts (and of logged-out work) that hold events.

    Events of an account stay in its own queue after a logout or a switch of account; this
    keeps them visible, naming the account, so nobody thinks they were lost.

    Args:
        current: The queue of the account in use (left out).
    """
    from specify_cli.errors import QueueError
    from specify_cli.sync.queue import OfflineQueue

    found = []
    for path in sorted(current.parent.glob("*.sqlite3")):
        if path == current:
            continue
        queue = OfflineQueue(path)
        try:
            pending = queue.pending_count()
            account = queue.get_state().get("account") if pending else None
        except QueueError:
            continue  # a damaged queue of another account is reported when it is used
        finally:
            queue.close()
        if pending:
            name = "logged-out work" if path.stem == "local" else (account or "another account")
            found.append({"path": str(path), "account": name, "pending": pending})
    return found


def collect() -> dict[str, Any]:
    """Return the status as a JSON-ready dict (stable keys; see `sync status --json`).

    Raises:
        ConfigError: `config.toml` is malformed.
        QueueError: The queue database cannot be opened.
    """
    from specify_cli import config
    from specify_cli.account import credentials
    from specify_cli.account.scope import LOCAL_SCOPE, queue_path
    from specify_cli.project import config as project_config
    from specify_cli.sync.queue import OfflineQueue

    now = time.time()
    creds = credentials.load_credentials()
    configured = config.server_url()
    scope = creds.scope if creds else LOCAL_SCOPE
    queue = OfflineQueue(queue_path(scope))
    stats = queue.stats()
    queue.close()
    if creds is None:
        auth_info: dict[str, Any] = {"state": "not logged in"}
    else:
        if creds.access_valid(now):
            token = f"valid, {credentials.describe_remaining(creds.access_expires_at, now)} left"
        elif creds.refresh_valid(now):
            token = "expired, will refresh on next use"
        else:
            token = "expired, log in again"
        auth_info = {"state": "logged in" if creds.refresh_valid(now) else "session expired",
                     "username": creds.username, "team": creds.team_slug,
                     "server": creds.server_url, "access_token": token}
    others = other_queues(queue_path(scope))
    state = stats.state
    last_at = _time(state.get("last_sync_at"))
    ws_at = _time(state.get("ws_state_at"))
    oldest_at = _time(stats.oldest_enqueued_at)
    env_auto = os.environ.get(project_config.AUTO_START_ENV)
    auto = project_config.auto_start()
    ws_state = state.get("ws_state")
    return {
        "server_url": configured or (creds.server_url if creds else None),
        "config_file": str(config.config_path()),
        "auth": auth_info,
        "queue": {
            "path": str(stats.path),
            "scope": scope,
            "pending": stats.pending,
            "oldest_age_seconds": round(now - oldest_at, 1) if oldest_at else None,
            "retry_buckets": stats.retry_buckets,
            "errors": stats.errors,
            "cap": stats.cap,
            "cap_used_percent": round(100.0 * stats.pending / stats.cap, 1) if stats.cap else 0,
            "full": stats.pending >= stats.cap,
            "refused": stats.refused,
        },
        "other_queues": others,
        "last_sync": {
            "at": last_at,
            "age_seconds": round(now - last_at, 1) if last_at else None,
            "result": state.get("last_sync_result"),
        },
        "background": {
            "auto_start": auto,
            "source": (f"{project_config.AUTO_START_ENV}={env_auto}" if env_auto
                       else "sync.auto_start in .kittify/config.yaml"),
            "interval_seconds": config.get("sync.interval_seconds"),
        },
        "websocket": {
            "state": ws_state or "never connected",
            "detail": state.get("ws_detail") or None,
            "age_seconds": round(now - ws_at, 1) if ws_at else None,
        },
    }


def _time(value: Any) -> float | None:
    """A stored timestamp, or None when it is missing or not a finite number (hand-edited)."""
    import math

    try:
        seconds = float(value)
    except (TypeError, ValueError):
        return None
    return seconds if math.isfinite(seconds) and seconds > 0 else None


def _http_status(message: str) -> int | None:
    match = re.search(r"HTTP (\d{3})", message)
    return int(match.group(1)) if match else None


def probe(server_url: str | None) -> tuple[str, str]:
    """Probe the server's health endpoint with the real token.

    Args:
        server_url: The configured server.

    Returns:
        (result, detail): result is one of the six labels of `CHECK_EXIT_CODES` (with
        `(HTTP n)` appended for a server error); detail is one line of explanation.
    """
    import httpx

    from specify_cli import http_client
    from specify_cli.account import credentials
    from specify_cli.errors import NotAuthenticatedError, ServerError

    creds = credentials.load_credentials()
    if creds is None:
        return NOT_AUTHENTICATED, "not logged in; run `spec-kitty auth login`"
    url = server_url or creds.server_url
    try:
        token = credentials.get_access_token()
    except NotAuthenticatedError as exc:
        return SESSION_EXPIRED, str(exc)
    except ServerError as exc:
        code = _http_status(str(exc))
        if code:
            return f"{SERVER_ERROR} (HTTP {code})", str(exc)
        return UNREACHABLE, str(exc)
    for attempt in (1, 2):
        try:
            with http_client.make_client(url) as client:
                response = client.get(HEALTH_PATH, headers={"Authorization": f"Bearer {token}"})
        except httpx.HTTPError as exc:
            return UNREACHABLE, str(http_client.transport_error(url, exc))
        code = response.status_code
        if code == 403:
            return FORBIDDEN, f"the server at {url} refused your account (HTTP 403)"
        if code >= 400 and code != 401:
            return f"{SERVER_ERROR} (HTTP {code})", str(http_client.status_error(url, response))
        body: Any = None
        if code == 200:
            try:
                body = http_client.json_of(response)
            except ValueError:
                body = None
            if not isinstance(body, dict) or body.get("status") != "ok":
                return f"{SERVER_ERROR} (HTTP {code})", str(http_client.unexpected_response(url))
            if body.get("authenticated") is True and body.get("token_status") == "valid":
                version = body.get("version")
                return CONNECTED, f"{url} (server {version}) as {creds.username}" \
                    f" in team {creds.team_slug}"
        if attempt == 1:
            try:
                token = credentials.refresh_after_401(token)
            except NotAuthenticatedError as exc:
                return SESSION_EXPIRED, str(exc)
            except ServerError as exc:
                return UNREACHABLE, str(exc)
            continue
    return SESSION_EXPIRED, (f"the server at {url} does not accept your session; log in "
                             "again with `spec-kitty auth login`")
