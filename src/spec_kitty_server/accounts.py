"""Teams and users: who may log in, to which one team, and whether they are disabled."""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass

from spec_kitty_server.store import StorageError, transaction, utc_now


@dataclass(frozen=True)
class User:
    """A user account.

    Attributes:
        username: The login name.
        team_slug: The user's only team.
        password_hash: The scrypt hash.
        disabled: Whether the account is disabled.
        created_at: When it was added (UTC ISO).
    """

    username: str
    team_slug: str
    password_hash: str
    disabled: bool
    created_at: str


_USER_COLUMNS = "username, team_slug, password_hash, disabled, created_at"


def add_user(conn: sqlite3.Connection, username: str, team_slug: str,
             password_hash: str) -> None:
    """Add a user (and its team, if new).

    Args:
        conn: The writer connection.
        username: The login name; must be new.
        team_slug: The team; created if missing.
        password_hash: The scrypt hash of the password.

    Raises:
        StorageError: The user exists already.
    """
    now = utc_now()
    try:
        with transaction(conn):
            conn.execute("INSERT OR IGNORE INTO teams(slug, created_at) VALUES (?, ?)",
                         (team_slug, now))
            conn.execute("INSERT INTO users(username, team_slug, password_hash, created_at) "
                         "VALUES (?, ?, ?, ?)", (username, team_slug, password_hash, now))
    except sqlite3.IntegrityError:
        raise StorageError(f"user {username!r} already exists") from None


def set_disabled(conn: sqlite3.Connection, username: str, disabled: bool) -> bool:
    """Disable or enable a user; disabling also ends their refresh tokens and sessions.

    Args:
        conn: The writer connection.
        username: The user.
        disabled: The new state.

    Returns:
        Whether the user exists.
    """
    with transaction(conn):
        cursor = conn.execute("UPDATE users SET disabled = ? WHERE username = ?",
                              (int(disabled), username))
        if disabled:
            conn.execute("DELETE FROM refresh_tokens WHERE username = ?", (username,))
            conn.execute("DELETE FROM sessions WHERE username = ?", (username,))
    return cursor.rowcount > 0


def get_user(conn: sqlite3.Connection, username: str) -> User | None:
    """Look a user up.

    Args:
        conn: A connection.
        username: The login name.

    Returns:
        The user, or `None`.
    """
    row = conn.execute(f"SELECT {_USER_COLUMNS} FROM users WHERE username = ?",
                       (username,)).fetchone()
    return User(row[0], row[1], row[2], bool(row[3]), row[4]) if row else None


def list_users(conn: sqlite3.Connection) -> list[User]:
    """All users, by name.

    Args:
        conn: A connection.

    Returns:
        The users.
    """
    rows = conn.execute(f"SELECT {_USER_COLUMNS} FROM users ORDER BY username").fetchall()
    return [User(r[0], r[1], r[2], bool(r[3]), r[4]) for r in rows]


def list_teams(conn: sqlite3.Connection) -> list[tuple[str, int, int]]:
    """All teams with their user and event counts.

    Args:
        conn: A connection.

    Returns:
        `(slug, users, events)` tuples, by slug.
    """
    rows = conn.execute(
        "SELECT slug, (SELECT count(*) FROM users u WHERE u.team_slug = t.slug), "
        "coalesce((SELECT events FROM team_stats s WHERE s.team_slug = t.slug), 0) FROM teams t "
        "ORDER BY slug").fetchall()
    return [(r[0], r[1], r[2]) for r in rows]
