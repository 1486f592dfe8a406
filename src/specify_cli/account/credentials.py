"""Credentials: logging in, storing tokens safely, and refreshing them silently.

The credentials file holds the tokens of one account on one server. It is written
atomically with mode 0600 inside the 0700 spec-kitty home, under a file lock, so
concurrent CLI processes never corrupt it and refresh an expired access token only once.
Tokens never leave this module except as `Authorization` headers, and the refresh token
is only ever sent to the server that issued it (upstream #4755).
"""

from __future__ import annotations

import contextlib
import json
import math
import re
import sys
import time
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from spec_kitty_protocol import REFRESH_PATH, TOKEN_PATH
from specify_cli import config
from specify_cli._files import atomic_write, file_lock
from specify_cli._text import printable
from specify_cli.docs_links import see
from specify_cli.errors import AuthError, ConfigError, NotAuthenticatedError

CREDENTIALS_FILENAME = "credentials.json"
"""Name of the credentials file inside the spec-kitty home."""

REFRESH_MARGIN_SECONDS = 30
"""An access token this close to expiry is refreshed before use."""

DEFAULT_ACCESS_LIFETIME_SECONDS = 900
"""Access lifetime assumed when the server does not say (spec-kitty 2.x default)."""

DEFAULT_REFRESH_LIFETIME_SECONDS = 7 * 24 * 3600
"""Refresh lifetime assumed when the server does not say."""

MAX_LIFETIME_SECONDS = 10 * 365 * 24 * 3600
"""Longest token lifetime accepted from a server; NaN, infinities, negative values and
anything longer make the answer an unexpected response rather than a broken session."""

CREDENTIAL_FIELDS: dict[str, str] = {
    "server_url": "The server that issued the tokens; the refresh token is sent nowhere else.",
    "username": "The account's user name.",
    "team_slug": "The account's team.",
    "access_token": "The short-lived access token (secret).",
    "access_expires_at": "When the access token expires (UTC, ISO-8601).",
    "refresh_token": "The refresh token (secret); it rotates on every refresh.",
    "refresh_expires_at": "When the refresh token expires (UTC, ISO-8601).",
}
"""Every key of the credentials file, for the configuration reference."""


def account_scope(server_url: str, username: str, team_slug: str) -> str:
    """Return a short stable id for one account: a hash of server, user and team.

    Args:
        server_url: The server.
        username: The user.
        team_slug: The team.
    """
    import hashlib  # lazily: start-up time of every command counts

    key = "\n".join((server_url.rstrip("/"), username, team_slug)).encode()
    return hashlib.sha256(key).hexdigest()[:16]


@dataclass
class Credentials:
    """The stored session of one account. Tokens are excluded from `repr`.

    Attributes:
        server_url: The server that issued the tokens.
        username: The account's user name.
        team_slug: The account's team.
        access_expires_at: Expiry of the access token, seconds since the epoch.
        refresh_expires_at: Expiry of the refresh token, seconds since the epoch.
    """

    server_url: str
    username: str
    team_slug: str
    access_expires_at: float
    refresh_expires_at: float
    access_token: str = field(repr=False, default="")
    refresh_token: str = field(repr=False, default="")

    @property
    def scope(self) -> str:
        """The account scope whose offline queue these credentials push."""
        return account_scope(self.server_url, self.username, self.team_slug)

    @property
    def label(self) -> str:
        """`alice in team acme on https://…`: how messages name this account."""
        return f"{self.username} in team {self.team_slug} on {self.server_url}"

    def access_valid(self, now: float | None = None) -> bool:
        """Return True while the access token has more than the refresh margin left."""
        return (now or time.time()) < self.access_expires_at - REFRESH_MARGIN_SECONDS

    def refresh_valid(self, now: float | None = None) -> bool:
        """Return True while the refresh token can still be used."""
        return (now or time.time()) < self.refresh_expires_at


def credentials_path() -> Path:
    """Return the path of the credentials file."""
    return config.home_dir() / CREDENTIALS_FILENAME


def _lock_path() -> Path:
    return config.home_dir() / ".credentials.lock"


@contextlib.contextmanager
def _credentials_lock() -> Iterator[None]:
    """Hold the credentials lock; an unusable lock file is a one-line `ConfigError`."""
    config.ensure_home()
    path = _lock_path()
    with contextlib.ExitStack() as stack:
        try:
            stack.enter_context(file_lock(path))
        except OSError as exc:
            raise ConfigError(f"cannot use the lock file {path}: {exc.strerror}") from None
        yield


def _iso(ts: float) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(ts))


def _parse_iso(text: str) -> float:
    """Parse `YYYY-MM-DDTHH:MM:SSZ` (or `+00:00`) to epoch seconds.

    Done by hand because importing `datetime` costs ~4 ms on every `auth status`.
    """
    if not isinstance(text, str) or len(text) < 20 or text[10] != "T" or \
            text[19:] not in ("Z", "+00:00"):
        raise ValueError(f"not a UTC timestamp: {text!r}")
    year, month, day = int(text[0:4]), int(text[5:7]), int(text[8:10])
    hour, minute, second = int(text[11:13]), int(text[14:16]), int(text[17:19])
    if not (1 <= month <= 12 and 1 <= day <= 31 and hour < 24 and minute < 60 and second < 61):
        raise ValueError(f"not a UTC timestamp: {text!r}")
    # Days from 1970-01-01 (Howard Hinnant's days_from_civil).
    y = year - (month <= 2)
    era = y // 400
    yoe = y - era * 400
    doy = (153 * (month + (-3 if month > 2 else 9)) + 2) // 5 + day - 1
    doe = yoe * 365 + yoe // 4 - yoe // 100 + doy
    days = era * 146097 + doe - 719468
    return float(days * 86400 + hour * 3600 + minute * 60 + second)


def load_credentials() -> Credentials | None:
    """Return the stored credentials, or None when logged out.

    A corrupt or unreadable file counts as logged out, with a one-line warning on stderr.
    """
    path = credentials_path()
    try:
        raw = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return None
    except OSError as exc:
        _warn(f"cannot read {path} ({exc.strerror}); treating you as logged out")
        return None
    try:
        data = json.loads(raw)
        return Credentials(
            server_url=str(data["server_url"]),
            username=str(data["username"]),
            team_slug=str(data["team_slug"]),
            access_token=str(data["access_token"]),
            refresh_token=str(data["refresh_token"]),
            access_expires_at=_parse_iso(data["access_expires_at"]),
            refresh_expires_at=_parse_iso(data["refresh_expires_at"]),
        )
    except (ValueError, KeyError, TypeError, AttributeError):
        _warn(f"{path} is corrupt; treating you as logged out (run `spec-kitty auth login`)")
        return None


def _warn(message: str) -> None:
    print(f"warning: {' '.join(printable(message).split())}", file=sys.stderr)


def save_credentials(creds: Credentials) -> Path:
    """Write the credentials atomically with mode 0600 in the 0700 home, under the
    credentials lock (so a login never interleaves with another process's token refresh).

    Args:
        creds: The session to store.

    Returns:
        The path written.

    Raises:
        ConfigError: The file cannot be written; the message names the path and the fix.
    """
    try:
        config.ensure_home()
        with file_lock(_lock_path()):
            return _write_credentials(creds)
    except OSError as exc:
        raise _not_writable(exc.strerror) from None
    except ConfigError as exc:
        raise _not_writable(str(exc)) from None


def _not_writable(reason: str | None) -> ConfigError:
    return ConfigError(f"cannot save credentials to {credentials_path()}: {reason}; make the "
                       f"directory writable or set {config.HOME_ENV}"
                       + see("credentials-not-writable"))


def _write_credentials(creds: Credentials) -> Path:
    """Write the credentials file; the caller holds the credentials lock."""
    path = credentials_path()
    data = asdict(creds)
    data["access_expires_at"] = _iso(creds.access_expires_at)
    data["refresh_expires_at"] = _iso(creds.refresh_expires_at)
    try:
        home = config.ensure_home()
        home.chmod(0o700)
        atomic_write(path, json.dumps(data, indent=2) + "\n", mode=0o600)
    except OSError as exc:
        raise _not_writable(exc.strerror) from None
    return path


def clear_credentials() -> Credentials | None:
    """Delete the credentials file and return what it held (None if logged out).

    Raises:
        ConfigError: The file exists but cannot be removed.
    """
    creds = load_credentials()
    path = credentials_path()
    try:
        path.unlink(missing_ok=True)
    except OSError as exc:
        raise ConfigError(f"cannot remove {path}: {exc.strerror}") from None
    return creds


def _credentials_from_response(server_url: str, data: Any, username: str | None) -> Credentials:
    from specify_cli.http_client import unexpected_response  # lazily: it imports httpx

    if not isinstance(data, dict):
        raise unexpected_response(server_url)
    access, refresh = data.get("access"), data.get("refresh")
    if not _is_token(access) or not _is_token(refresh):
        raise unexpected_response(server_url)
    now = time.time()
    access_life = _lifetime(server_url, data.get("access_lifetime", data.get("expires_in")),
                            DEFAULT_ACCESS_LIFETIME_SECONDS)
    refresh_life = _lifetime(server_url, data.get("refresh_lifetime"),
                             DEFAULT_REFRESH_LIFETIME_SECONDS)
    team = data.get("team_slug")
    # Names are kept printable at the source: they are shown, stored and hashed into the
    # queue's file name, and a server may send escape sequences or lone surrogates.
    name = data.get("username")
    return Credentials(
        server_url=server_url,
        username=printable(name if isinstance(name, str) and name else username or ""),
        team_slug=printable(team) if isinstance(team, str) and printable(team) else "local",
        access_token=access,
        refresh_token=refresh,
        access_expires_at=now + float(access_life),
        refresh_expires_at=now + float(refresh_life),
    )


def _is_token(value: Any) -> bool:
    """A bearer token as RFC 6750 spells it: it goes into a header as it is."""
    return (isinstance(value, str) and 0 < len(value) <= 16384
            and re.fullmatch(r"[A-Za-z0-9._~+/-]+=*", value) is not None)


def _lifetime(server_url: str, value: Any, default: float) -> float:
    """A token lifetime from the server: the default when absent, an error when absurd."""
    from specify_cli.http_client import unexpected_response  # lazily: it imports httpx

    if not isinstance(value, (int, float)) or isinstance(value, bool):
        return default
    try:
        seconds = float(value)
    except OverflowError:  # an integer of hundreds of digits
        raise unexpected_response(server_url) from None
    if not math.isfinite(seconds) or not 0 <= seconds <= MAX_LIFETIME_SECONDS:
        raise unexpected_response(server_url)
    return seconds


def _post_json(server_url: str, path: str, body: dict[str, str]):
    # lazily: httpx is slow to import, and only token requests need it.
    import httpx

    from specify_cli.http_client import make_client, transport_error

    try:
        with make_client(server_url) as client:
            return client.post(path, json=body)
    except httpx.HTTPError as exc:
        raise transport_error(server_url, exc) from None


def request_tokens(server_url: str, username: str, password: str) -> Credentials:
    """Log in: exchange a username and password for tokens (does not store them).

    Args:
        server_url: The server to log in to.
        username: The account's user name.
        password: The password; it is sent once and never stored.

    Returns:
        The new session.

    Raises:
        AuthError: The credentials are wrong or login is rate-limited.
        ServerError: The server is unreachable, failing, or not a spec-kitty server.
    """
    # lazily: it imports httpx.
    from specify_cli.http_client import json_of, status_error, unexpected_response

    response = _post_json(server_url, TOKEN_PATH, {"username": username, "password": password})
    if response.status_code in (400, 401, 403):
        raise AuthError("invalid username or password" + see("invalid-credentials"))
    if response.status_code == 429:
        wait = response.headers.get("Retry-After", "a few")
        raise AuthError(f"too many failed login attempts; try again in {wait} seconds"
                        + see("rate-limited"))
    if response.status_code != 200:
        raise status_error(server_url, response)
    try:
        data = json_of(response)
    except ValueError:
        raise unexpected_response(server_url) from None
    return _credentials_from_response(server_url, data, username)


def _session_expired(creds: Credentials) -> NotAuthenticatedError:
    return NotAuthenticatedError(
        f"your session on {creds.server_url} has expired; log in again with "
        "`spec-kitty auth login`" + see("session-expired"))


def _refresh_locked(creds: Credentials) -> Credentials:
    """Refresh with the stored refresh token; caller holds the credentials lock."""
    # lazily: it imports httpx.
    from specify_cli.http_client import json_of, status_error, unexpected_response

    if not creds.refresh_valid():
        raise _session_expired(creds)
    # The refresh token goes to creds.server_url only: the server that issued it.
    response = _post_json(creds.server_url, REFRESH_PATH, {"refresh": creds.refresh_token})
    if response.status_code in (400, 401, 403):
        clear_credentials()
        raise _session_expired(creds)
    if response.status_code != 200:
        raise status_error(creds.server_url, response)
    try:
        data = json_of(response)
    except ValueError:
        raise unexpected_response(creds.server_url) from None
    fresh = _credentials_from_response(creds.server_url, data, creds.username)
    fresh.username, fresh.team_slug = creds.username, fresh.team_slug or creds.team_slug
    _write_credentials(fresh)
    return fresh


@dataclass(frozen=True)
class SessionCheck:
    """Whether a stored session can be used: judged here only, so that `auth status`,
    `sync status` and every request agree.

    Attributes:
        configured_server: The configured server URL, or None when none is set.
        elsewhere: The session was issued by another server than the configured one. It is
            unusable: its refresh token is sent to the server that issued it and nowhere else.
        access_ok: The access token can be sent as it is.
        usable: The session can be used: its access token is valid, or its refresh token
            can renew it.
    """

    configured_server: str | None
    elsewhere: bool
    access_ok: bool
    usable: bool


def check_session(creds: Credentials, now: float | None = None) -> SessionCheck:
    """Judge whether a stored session can be used, without contacting the server.

    Args:
        creds: The stored session.
        now: The time to judge at; the current time by default.
    """
    configured = config.server_url()
    elsewhere = configured is not None and configured != creds.server_url
    return SessionCheck(configured, elsewhere, creds.access_valid(now) and not elsewhere,
                        creds.refresh_valid(now) and not elsewhere)


def _require(creds: Credentials | None) -> Credentials:
    if creds is None:
        raise NotAuthenticatedError("not logged in; run `spec-kitty auth login`" + see("login"))
    check = check_session(creds)
    if check.elsewhere:
        raise NotAuthenticatedError(
            f"you are logged in to {creds.server_url}, but the server is now "
            f"{check.configured_server}; run `spec-kitty auth login` to log in there")
    return creds


def get_access_token() -> str:
    """Return a usable access token, refreshing it silently when it has expired.

    Concurrent processes refresh once per expiry: the refresh happens under the
    credentials lock, and a process that waited reuses the token the first one stored.

    Raises:
        NotAuthenticatedError: Not logged in, logged in elsewhere, or the session expired.
        ServerError: The refresh could not reach the server.
    """
    creds = _require(load_credentials())
    if creds.access_valid():
        return creds.access_token
    config.ensure_home()
    with _credentials_lock():
        creds = _require(load_credentials())
        if creds.access_valid():
            return creds.access_token
        return _refresh_locked(creds).access_token


def refresh_after_401(rejected_token: str) -> str:
    """Refresh once after the server answered 401 to `rejected_token`, and return the new token.

    If another process already refreshed (the stored token differs from `rejected_token`),
    its token is returned without a second refresh.

    Args:
        rejected_token: The access token the server just refused.

    Raises:
        NotAuthenticatedError: The refresh was refused: credentials are cleared.
    """
    config.ensure_home()
    with _credentials_lock():
        creds = _require(load_credentials())
        if creds.access_token != rejected_token and creds.access_valid():
            return creds.access_token
        return _refresh_locked(creds).access_token

