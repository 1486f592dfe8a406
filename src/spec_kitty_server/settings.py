"""Run-time settings of one server instance, and where the JWT signing key comes from.

Everything the command line can change lives in `ServerSettings`, so the app factory, the
tests and the demo build servers the same way.
"""

from __future__ import annotations

import os
import secrets
import stat
from dataclasses import dataclass
from pathlib import Path

DB_ENV = "SPEC_KITTY_SERVER_DB"
"""Environment variable naming the SQLite database when `--db` is not given."""

SECRET_ENV = "SPEC_KITTY_SERVER_SECRET"
"""Environment variable holding the JWT signing key (at least 32 characters)."""

DEFAULT_DB = "spec-kitty-server.sqlite3"
"""Database file used when neither `--db` nor `SPEC_KITTY_SERVER_DB` is given."""

DEFAULT_ACCESS_LIFETIME = 15 * 60
"""Seconds an access token is valid."""

DEFAULT_REFRESH_LIFETIME = 7 * 24 * 3600
"""Seconds a refresh token is valid (it also dies when it is used)."""

WS_TOKEN_LIFETIME = 60
"""Seconds a WebSocket token is valid; it opens one connection only."""

DEFAULT_WS_PING_INTERVAL = 20.0
"""Seconds between two application-level pings on a WebSocket."""

SESSION_LIFETIME = 12 * 3600
"""Seconds a dashboard browser session lasts."""

DEFAULT_HEADER_TIMEOUT = 10.0
"""Seconds a client has to send a request's line and headers before it gets 408 and is closed."""

DEFAULT_BODY_TIMEOUT = 30.0
"""Seconds a client has to send a request's whole body before it gets 408 and is closed."""

DEFAULT_WRITE_TIMEOUT = 5.0
"""Seconds a database write may wait for SQLite's write lock before it is answered 503."""

MIN_SECRET_LENGTH = 32
"""Shortest signing key accepted from the environment."""


class SettingsError(Exception):
    """A setting or the key file is unusable; the message is one line for the user."""


@dataclass
class ServerSettings:
    """How one server instance behaves.

    Attributes:
        db_path: The SQLite database file.
        secret: The key that signs tokens, sessions and CSRF tokens.
        access_lifetime: Seconds an access token is valid.
        refresh_lifetime: Seconds a refresh token is valid.
        ws_ping_interval: Seconds between two WebSocket pings.
        tls: Whether the server is reached over HTTPS (cookies get `Secure`).
        login_failures_per_user: Failed logins per user at one address within the window
            before 429.
        login_failures_per_ip: Failed logins per client address within the window before 429.
        login_window: Seconds over which failed logins are counted.
        header_timeout: Seconds to receive a request's line and headers.
        body_timeout: Seconds to receive a request's body.
        write_timeout: Seconds a database write may wait for the lock before 503.
    """

    db_path: Path
    secret: str
    access_lifetime: int = DEFAULT_ACCESS_LIFETIME
    refresh_lifetime: int = DEFAULT_REFRESH_LIFETIME
    ws_ping_interval: float = DEFAULT_WS_PING_INTERVAL
    tls: bool = False
    login_failures_per_user: int = 5
    login_failures_per_ip: int = 20
    login_window: int = 300
    header_timeout: float = DEFAULT_HEADER_TIMEOUT
    body_timeout: float = DEFAULT_BODY_TIMEOUT
    write_timeout: float = DEFAULT_WRITE_TIMEOUT


def resolve_db_path(db: str | Path | None) -> Path:
    """Pick the database path: the argument, else `SPEC_KITTY_SERVER_DB`, else the default.

    Args:
        db: The `--db` value, if any.

    Returns:
        The absolute database path.
    """
    value = db or os.environ.get(DB_ENV) or DEFAULT_DB
    return Path(value).expanduser().absolute()


def key_file_for(db_path: Path) -> Path:
    """The key file that sits beside a database.

    Args:
        db_path: The database file.

    Returns:
        The path of its signing-key file.
    """
    return db_path.with_name(db_path.name + ".key")


def load_secret(db_path: Path) -> str:
    """Return the signing key from `SPEC_KITTY_SERVER_SECRET` or the key file beside the DB.

    The key file is created with mode 0600 on first use.

    Args:
        db_path: The database file; the key file lives next to it.

    Returns:
        The signing key.

    Raises:
        SettingsError: The environment key is too short or the key file is unusable.
    """
    env = os.environ.get(SECRET_ENV)
    if env:
        if len(env) < MIN_SECRET_LENGTH:
            raise SettingsError(f"{SECRET_ENV} must be at least {MIN_SECRET_LENGTH} characters.")
        return env
    path = key_file_for(db_path)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        pass
    except OSError as exc:
        raise SettingsError(f"cannot create key file {path}: {exc.strerror}") from None
    else:
        with os.fdopen(fd, "w") as handle:
            handle.write(secrets.token_urlsafe(48) + "\n")
    try:
        mode = path.stat().st_mode
        key = path.read_text().strip()
    except OSError as exc:
        raise SettingsError(f"cannot read key file {path}: {exc.strerror}") from None
    if mode & (stat.S_IRWXG | stat.S_IRWXO):
        raise SettingsError(f"key file {path} is readable by others; run: chmod 600 {path}")
    if len(key) < MIN_SECRET_LENGTH:
        raise SettingsError(f"key file {path} holds a key shorter than {MIN_SECRET_LENGTH} "
                            "characters.")
    return key
