"""What the server stores about logins it handed out: refresh tokens (with rotation and reuse
detection), used ws-tokens and browser sessions.

Access tokens are not stored: they are signed and short-lived. A refresh token is stored so
it can be used once; a ws-token's use is stored so it opens one WebSocket, across restarts
and server processes sharing the file; a session is stored by the hash of its cookie.
"""

from __future__ import annotations

import sqlite3
import time

from spec_kitty_server.store import transaction


def store_refresh(conn: sqlite3.Connection, jti: str, username: str, expires_at: int,
                  family: str | None = None) -> None:
    """Remember a live refresh token.

    Args:
        conn: The writer connection.
        jti: Its id.
        username: Its owner.
        expires_at: Its expiry (Unix seconds).
        family: The id of the login it descends from (its own `jti` for a login).
    """
    now = int(time.time())
    with transaction(conn):
        conn.execute("DELETE FROM refresh_tokens WHERE expires_at < ?", (now,))
        conn.execute("INSERT INTO refresh_tokens(jti, username, expires_at, family) "
                     "VALUES (?, ?, ?, ?)", (jti, username, expires_at, family or jti))


def rotate_refresh(conn: sqlite3.Connection, jti: str, successor: str, new_jti: str,
                   new_expires_at: int, grace: int) -> tuple[str, str | None]:
    """Exchange a refresh token for its successor, atomically.

    Args:
        conn: The writer connection.
        jti: The presented token's id.
        successor: The new pair's claims (JSON, no secret), kept for `grace` seconds.
        new_jti: The new refresh token's id.
        new_expires_at: Its expiry (Unix seconds).
        grace: Seconds during which the retired token gets the same successor again.

    Returns:
        `("new", None)` when the token was live (the successor is now live),
        `("again", successor)` for a retry within the grace window, `("revoked", None)`
        for a reuse after it (every token of its login is revoked), `("unknown", None)`
        when the token is not known or has expired.
    """
    now = int(time.time())
    with transaction(conn):
        row = conn.execute("SELECT username, family, retired_at, successor FROM refresh_tokens "
                           "WHERE jti = ? AND expires_at >= ?", (jti, now)).fetchone()
        if row is None:
            return "unknown", None
        username, family, retired_at, previous = row
        if retired_at is None:
            conn.execute("UPDATE refresh_tokens SET retired_at = ?, successor = ? "
                         "WHERE jti = ?", (now, successor, jti))
            conn.execute("INSERT INTO refresh_tokens(jti, username, expires_at, family) "
                         "VALUES (?, ?, ?, ?)", (new_jti, username, new_expires_at, family or jti))
            return "new", None
        if now - retired_at <= grace and previous:
            return "again", previous
        conn.execute("DELETE FROM refresh_tokens WHERE family = ? OR jti = ?",
                     (family or jti, jti))
        return "revoked", None


def use_ws_token(conn: sqlite3.Connection, jti: str, expires_at: int) -> bool:
    """Mark a ws-token used, in the database so that restarts and other server processes
    sharing it see the use too.

    Args:
        conn: The writer connection.
        jti: The token id.
        expires_at: Its expiry (Unix seconds); the record is kept until then.

    Returns:
        False when it had been used before.
    """
    with transaction(conn):
        conn.execute("DELETE FROM ws_tokens WHERE expires_at < ?", (int(time.time()),))
        cursor = conn.execute("INSERT OR IGNORE INTO ws_tokens(jti, expires_at) VALUES (?, ?)",
                              (jti, expires_at))
    return cursor.rowcount == 1


def create_session(conn: sqlite3.Connection, id_hash: str, username: str,
                   expires_at: int) -> None:
    """Store a browser session.

    Args:
        conn: The writer connection.
        id_hash: SHA-256 of the cookie value.
        username: Its user.
        expires_at: Its expiry (Unix seconds).
    """
    with transaction(conn):
        conn.execute("DELETE FROM sessions WHERE expires_at < ?", (int(time.time()),))
        conn.execute("INSERT INTO sessions(id_hash, username, expires_at) VALUES (?, ?, ?)",
                     (id_hash, username, expires_at))


def session_user(conn: sqlite3.Connection, id_hash: str) -> str | None:
    """The user of a live session.

    Args:
        conn: A connection.
        id_hash: SHA-256 of the cookie value.

    Returns:
        The username, or `None` when unknown or expired.
    """
    row = conn.execute("SELECT username FROM sessions WHERE id_hash = ? AND expires_at >= ?",
                       (id_hash, int(time.time()))).fetchone()
    return row[0] if row else None


def delete_session(conn: sqlite3.Connection, id_hash: str) -> None:
    """End a session.

    Args:
        conn: The writer connection.
        id_hash: SHA-256 of the cookie value.
    """
    with transaction(conn):
        conn.execute("DELETE FROM sessions WHERE id_hash = ?", (id_hash,))
