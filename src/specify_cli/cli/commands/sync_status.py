"""What `spec-kitty sync status` reports, and the `--check` health probe.

Collecting the status touches only local files (config, credentials, the queue database),
so it starts fast; httpx is imported only by `probe()`.
"""

from __future__ import annotations

import math
import os
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from spec_kitty_protocol import HEALTH_PATH
from specify_cli import config
from specify_cli.account import credentials
from specify_cli.account.scope import LOCAL_SCOPE, open_queue
from specify_cli.cli.commands.auth import access_text
from specify_cli.errors import NotAuthenticatedError, QueueError, ServerError
from specify_cli.project import config as project_config
from specify_cli.sync.queue import OfflineQueue

if TYPE_CHECKING:
    import httpx

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


@dataclass(frozen=True)
class Check:
    """The result of `sync status --check`.

    Attributes:
        label: One of the keys of `CHECK_EXIT_CODES`.
        detail: One line of explanation.
        status: The HTTP status of a server error; None otherwise.
    """

    label: str
    detail: str
    status: int | None = None

    @property
    def result(self) -> str:
        """The label as shown: a server error names its status, `Server error (HTTP 503)`."""
        return f"{self.label} (HTTP {self.status})" if self.status is not None else self.label

    @property
    def exit_code(self) -> int:
        """The exit status of `sync status --check`."""
        return CHECK_EXIT_CODES[self.label]


def other_queues(current: Path) -> list[dict[str, Any]]:
    """Return the queues of other accounts (and of logged-out work) that hold events.

    Events of an account stay in its own queue after a logout or a switch of account; this
    keeps them visible, naming the account, so nobody thinks they were lost.

    Args:
        current: The queue of the account in use (left out).
    """
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
    now = time.time()
    creds = credentials.load_credentials()
    configured = config.server_url()
    queue = open_queue(creds)
    stats = queue.stats()
    queue.close()
    if creds is None:
        auth_info: dict[str, Any] = {"state": "not logged in"}
    else:
        check = credentials.check_session(creds, now)
        state = ("logged in" if check.usable else "other server" if check.elsewhere
                 else "session expired")
        auth_info = {"state": state, "username": creds.username, "team": creds.team_slug,
                     "server": creds.server_url, "access_token": access_text(creds, check, now)}
    others = other_queues(queue.path)
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
            "scope": creds.scope if creds else LOCAL_SCOPE,
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
    try:
        seconds = float(value)
    except (TypeError, ValueError):
        return None
    return seconds if math.isfinite(seconds) and seconds > 0 else None


def _token_refused(response: httpx.Response) -> bool:
    """The health endpoint answers 200 whatever the token; its body says whether it was valid."""
    from specify_cli import http_client

    if response.status_code == 401:
        return True
    if response.status_code != 200:
        return False
    try:
        body = http_client.json_of(response)
    except ValueError:
        return False
    return (isinstance(body, dict) and body.get("status") == "ok"
            and not (body.get("authenticated") is True and body.get("token_status") == "valid"))


def probe(server_url: str | None) -> Check:
    """Probe the server's health endpoint with the real token (refreshed once if refused).

    Args:
        server_url: The configured server.
    """
    # httpx loads here, not at import: `sync status` without `--check` sends nothing.
    from specify_cli import http_client
    from specify_cli.account.session import Session

    creds = credentials.load_credentials()
    if creds is None:
        return Check(NOT_AUTHENTICATED, "not logged in; run `spec-kitty auth login`")
    url = server_url or creds.server_url
    try:
        with Session(url) as session:
            response = session.request("GET", HEALTH_PATH, refused=_token_refused)
    except NotAuthenticatedError as exc:
        return Check(SESSION_EXPIRED, str(exc))
    except ServerError as exc:
        if exc.status is not None:
            return Check(SERVER_ERROR, str(exc), exc.status)
        return Check(UNREACHABLE, str(exc))
    code = response.status_code
    if code == 403:
        return Check(FORBIDDEN, f"the server at {url} refused your account (HTTP 403)")
    if code != 200:
        return Check(SERVER_ERROR, str(http_client.status_error(url, response)), code)
    try:
        body = http_client.json_of(response)
    except ValueError:
        body = None
    if not isinstance(body, dict) or body.get("status") != "ok":
        return Check(SERVER_ERROR, str(http_client.unexpected_response(url)), code)
    return Check(CONNECTED, f"{url} (server {body.get('version')}) as {creds.username} in "
                 f"team {creds.team_slug}")
