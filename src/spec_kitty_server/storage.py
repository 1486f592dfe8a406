"""SQLite storage of the server: teams, users, tokens, sessions, events and the board.

One `Storage` holds one connection in WAL mode. The server writes through one thread and
reads through reader connections (`spec_kitty_server._db`), so writes are serialised without
locks; other processes (the `user` commands, a second server) wait on SQLite's busy
timeout. The schema is created on first open; a database written by an earlier version is
brought up to date in place (`_upgrade`).

Event ids are unique per team (another team pushing the same id first changes nothing for
the owner), and each event's node and Lamport clock are kept in indexed columns, so the
activity feed orders by Lamport clock then node, and the clock bound and a node's high-water
mark are index look-ups.
"""

from __future__ import annotations

import json
import sqlite3
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from spec_kitty_protocol import MAX_LAMPORT_STEP
from spec_kitty_server import _board
from spec_kitty_server.validation import Checked

LANES = _board.LANES
"""The board's columns, in order (the 2.x lanes)."""

_SCHEMA = """
CREATE TABLE IF NOT EXISTS teams (
    slug TEXT PRIMARY KEY,
    created_at TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS users (
    username TEXT PRIMARY KEY,
    team_slug TEXT NOT NULL REFERENCES teams(slug),
    password_hash TEXT NOT NULL,
    disabled INTEGER NOT NULL DEFAULT 0,
    created_at TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS refresh_tokens (
    jti TEXT PRIMARY KEY,
    username TEXT NOT NULL,
    expires_at INTEGER NOT NULL,
    family TEXT,
    retired_at INTEGER,
    successor TEXT
);
CREATE INDEX IF NOT EXISTS refresh_tokens_family ON refresh_tokens(family);
CREATE TABLE IF NOT EXISTS ws_tokens (
    jti TEXT PRIMARY KEY,
    expires_at INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS sessions (
    id_hash TEXT PRIMARY KEY,
    username TEXT NOT NULL,
    expires_at INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS events (
    seq INTEGER PRIMARY KEY,
    event_id TEXT NOT NULL,
    team_slug TEXT NOT NULL,
    event_type TEXT NOT NULL,
    project_slug TEXT NOT NULL,
    received_at TEXT NOT NULL,
    body TEXT NOT NULL,
    node_id TEXT NOT NULL DEFAULT '',
    lamport INTEGER NOT NULL DEFAULT 0,
    UNIQUE (team_slug, event_id)
);
CREATE INDEX IF NOT EXISTS events_team_seq ON events(team_slug, seq);
CREATE INDEX IF NOT EXISTS events_team_lamport ON events(team_slug, lamport, node_id);
CREATE INDEX IF NOT EXISTS events_team_node ON events(team_slug, node_id, lamport);
CREATE TABLE IF NOT EXISTS projects (
    team_slug TEXT NOT NULL,
    project_slug TEXT NOT NULL,
    project_uuid TEXT NOT NULL,
    first_seq INTEGER NOT NULL,
    PRIMARY KEY (team_slug, project_slug)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS features (
    team_slug TEXT NOT NULL,
    project_slug TEXT NOT NULL,
    feature_slug TEXT NOT NULL,
    target_branch TEXT,
    wp_count INTEGER,
    completed_at TEXT,
    first_seq INTEGER NOT NULL,
    PRIMARY KEY (team_slug, project_slug, feature_slug)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS work_packages (
    team_slug TEXT NOT NULL,
    project_slug TEXT NOT NULL,
    feature_slug TEXT NOT NULL,
    wp_id TEXT NOT NULL,
    aggregate_id TEXT NOT NULL,
    title TEXT NOT NULL,
    lane TEXT NOT NULL,
    lane_key TEXT NOT NULL,
    assignee TEXT,
    updated_seq INTEGER NOT NULL,
    updated_at TEXT NOT NULL,
    PRIMARY KEY (team_slug, project_slug, feature_slug, wp_id)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS work_packages_wp
    ON work_packages(team_slug, project_slug, wp_id);
"""


class StorageError(Exception):
    """The database cannot be opened or used; the message is one line for the user."""


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


def utc_now() -> str:
    """The current UTC time as ISO-8601 with milliseconds and `Z`.

    Returns:
        The timestamp.
    """
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


class Storage:
    """The server's database.

    Args:
        path: The SQLite file; created with its schema if missing.
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            self.conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False,
                                        timeout=10)
            self.conn.execute("PRAGMA journal_mode=WAL")
            self.conn.execute("PRAGMA synchronous=NORMAL")
            self.conn.execute("PRAGMA foreign_keys=ON")
            self.conn.execute("PRAGMA busy_timeout=10000")
            _upgrade(self.conn)
            self.conn.executescript(_SCHEMA)
        except sqlite3.DatabaseError as exc:
            raise StorageError(f"cannot open database {path}: {exc}") from None
        except OSError as exc:
            raise StorageError(f"cannot open database {path}: {exc.strerror}") from None

    @classmethod
    def reader(cls, path: Path, busy_timeout: float) -> Storage:
        """Open another, read-only connection to an existing database (for reader threads).

        Args:
            path: The SQLite file.
            busy_timeout: Seconds a read may wait on a lock.

        Returns:
            A `Storage` whose writes fail.
        """
        self = cls.__new__(cls)
        self.path = path
        self.conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False,
                                    timeout=busy_timeout)
        self.conn.execute("PRAGMA query_only=1")
        return self

    def close(self) -> None:
        """Close the connection."""
        self.conn.close()

    # -- teams and users -------------------------------------------------------------------

    def add_user(self, username: str, team_slug: str, password_hash: str) -> None:
        """Add a user (and its team, if new).

        Args:
            username: The login name; must be new.
            team_slug: The team; created if missing.
            password_hash: The scrypt hash of the password.

        Raises:
            StorageError: The user exists already.
        """
        now = utc_now()
        try:
            with self._write():
                self.conn.execute("INSERT OR IGNORE INTO teams(slug, created_at) VALUES (?, ?)",
                                  (team_slug, now))
                self.conn.execute("INSERT INTO users(username, team_slug, password_hash, "
                                  "created_at) VALUES (?, ?, ?, ?)",
                                  (username, team_slug, password_hash, now))
        except sqlite3.IntegrityError:
            raise StorageError(f"user {username!r} already exists") from None

    def set_disabled(self, username: str, disabled: bool) -> bool:
        """Disable or enable a user.

        Args:
            username: The user.
            disabled: The new state.

        Returns:
            Whether the user exists.
        """
        with self._write():
            cursor = self.conn.execute("UPDATE users SET disabled = ? WHERE username = ?",
                                       (int(disabled), username))
            if disabled:
                self.conn.execute("DELETE FROM refresh_tokens WHERE username = ?", (username,))
                self.conn.execute("DELETE FROM sessions WHERE username = ?", (username,))
        return cursor.rowcount > 0

    def get_user(self, username: str) -> User | None:
        """Look a user up.

        Args:
            username: The login name.

        Returns:
            The user, or `None`.
        """
        row = self.conn.execute("SELECT username, team_slug, password_hash, disabled, created_at "
                                "FROM users WHERE username = ?", (username,)).fetchone()
        return User(row[0], row[1], row[2], bool(row[3]), row[4]) if row else None

    def list_users(self) -> list[User]:
        """All users, by name.

        Returns:
            The users.
        """
        rows = self.conn.execute("SELECT username, team_slug, password_hash, disabled, created_at "
                                 "FROM users ORDER BY username").fetchall()
        return [User(r[0], r[1], r[2], bool(r[3]), r[4]) for r in rows]

    def list_teams(self) -> list[tuple[str, int, int]]:
        """All teams with their user and event counts.

        Returns:
            `(slug, users, events)` tuples, by slug.
        """
        rows = self.conn.execute(
            "SELECT slug, (SELECT count(*) FROM users u WHERE u.team_slug = t.slug), "
            "(SELECT count(*) FROM events e WHERE e.team_slug = t.slug) FROM teams t "
            "ORDER BY slug").fetchall()
        return [(r[0], r[1], r[2]) for r in rows]

    # -- refresh tokens and sessions -------------------------------------------------------

    def store_refresh(self, jti: str, username: str, expires_at: int,
                      family: str | None = None) -> None:
        """Remember a live refresh token.

        Args:
            jti: Its id.
            username: Its owner.
            expires_at: Its expiry (Unix seconds).
            family: The id of the login it descends from (its own `jti` for a login).
        """
        now = int(time.time())
        with self._write():
            self.conn.execute("DELETE FROM refresh_tokens WHERE expires_at < ?", (now,))
            self.conn.execute("INSERT INTO refresh_tokens(jti, username, expires_at, family) "
                              "VALUES (?, ?, ?, ?)", (jti, username, expires_at, family or jti))

    def rotate_refresh(self, jti: str, successor: str, new_jti: str, new_expires_at: int,
                       grace: int) -> tuple[str, str | None]:
        """Exchange a refresh token for its successor, atomically.

        Args:
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
        with self._write():
            row = self.conn.execute(
                "SELECT username, family, retired_at, successor FROM refresh_tokens "
                "WHERE jti = ? AND expires_at >= ?", (jti, now)).fetchone()
            if row is None:
                return "unknown", None
            username, family, retired_at, previous = row
            if retired_at is None:
                self.conn.execute("UPDATE refresh_tokens SET retired_at = ?, successor = ? "
                                  "WHERE jti = ?", (now, successor, jti))
                self.conn.execute("INSERT INTO refresh_tokens(jti, username, expires_at, "
                                  "family) VALUES (?, ?, ?, ?)",
                                  (new_jti, username, new_expires_at, family or jti))
                return "new", None
            if now - retired_at <= grace and previous:
                return "again", previous
            self.conn.execute("DELETE FROM refresh_tokens WHERE family = ? OR jti = ?",
                              (family or jti, jti))
            return "revoked", None

    def use_ws_token(self, jti: str, expires_at: int) -> bool:
        """Mark a ws-token used, in the database so that restarts and other server processes
        sharing it see the use too.

        Args:
            jti: The token id.
            expires_at: Its expiry (Unix seconds); the record is kept until then.

        Returns:
            False when it had been used before.
        """
        with self._write():
            self.conn.execute("DELETE FROM ws_tokens WHERE expires_at < ?", (int(time.time()),))
            cursor = self.conn.execute("INSERT OR IGNORE INTO ws_tokens(jti, expires_at) "
                                       "VALUES (?, ?)", (jti, expires_at))
        return cursor.rowcount == 1

    def create_session(self, id_hash: str, username: str, expires_at: int) -> None:
        """Store a browser session.

        Args:
            id_hash: SHA-256 of the cookie value.
            username: Its user.
            expires_at: Its expiry (Unix seconds).
        """
        with self._write():
            self.conn.execute("DELETE FROM sessions WHERE expires_at < ?", (int(time.time()),))
            self.conn.execute("INSERT INTO sessions(id_hash, username, expires_at) "
                              "VALUES (?, ?, ?)", (id_hash, username, expires_at))

    def session_user(self, id_hash: str) -> str | None:
        """The user of a live session.

        Args:
            id_hash: SHA-256 of the cookie value.

        Returns:
            The username, or `None` when unknown or expired.
        """
        row = self.conn.execute("SELECT username FROM sessions WHERE id_hash = ? AND "
                                "expires_at >= ?", (id_hash, int(time.time()))).fetchone()
        return row[0] if row else None

    def delete_session(self, id_hash: str) -> None:
        """End a session.

        Args:
            id_hash: SHA-256 of the cookie value.
        """
        with self._write():
            self.conn.execute("DELETE FROM sessions WHERE id_hash = ?", (id_hash,))

    # -- events ----------------------------------------------------------------------------

    def ingest(self, checked: list[Checked]) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
        """Store the valid events of a batch in one transaction.

        An event id already stored for the same team is a `duplicate`. An event whose Lamport
        clock is more than `MAX_LAMPORT_STEP` above the team's highest (counting the events
        before it in the batch) is `rejected`, so no single event can drag the team's clocks
        towards `MAX_LAMPORT`.

        Args:
            checked: The batch's events after validation, in input order (all of one team).

        Returns:
            The per-event results (input order) and the newly stored events (with
            `server_seq` and `received_at`), for broadcasting.
        """
        results: list[dict[str, Any]] = []
        candidates = [c for c in checked if c.error is None]
        stored: list[dict[str, Any]] = []
        with self._write():
            existing: set[tuple[str, str]] = set()
            highest: dict[str, int] = {}
            for team in {c.event["team_slug"] for c in candidates}:
                ids = [c.event_id for c in candidates if c.event["team_slug"] == team]
                for start in range(0, len(ids), 500):
                    chunk = ids[start:start + 500]
                    marks = ",".join("?" * len(chunk))
                    existing.update((team, row[0]) for row in self.conn.execute(
                        f"SELECT event_id FROM events WHERE team_slug = ? AND event_id IN "
                        f"({marks})", (team, *chunk)))
                highest[team] = self.team_lamport(team)
            received = utc_now()
            next_seq = self.conn.execute("SELECT coalesce(max(seq), 0) + 1 FROM events"
                                         ).fetchone()[0]
            rows = []
            for item in checked:
                if item.error is not None:
                    results.append({"event_id": item.event_id, "status": "rejected",
                                    "error": item.error})
                    continue
                event = item.event
                team, lamport = event["team_slug"], int(event["lamport_clock"])
                if (team, item.event_id) in existing:
                    results.append({"event_id": item.event_id, "status": "duplicate",
                                    "error": None})
                    continue
                if lamport > highest[team] + MAX_LAMPORT_STEP:
                    results.append({"event_id": item.event_id, "status": "rejected",
                                    "error": f"invalid lamport_clock: {lamport} is more than "
                                             f"{MAX_LAMPORT_STEP} above the team's highest "
                                             f"({highest[team]})"})
                    continue
                highest[team] = max(highest[team], lamport)
                existing.add((team, item.event_id))
                rows.append((next_seq, item.event_id, team, event["event_type"],
                             event["project_slug"], received, item.body,
                             str(event.get("node_id", "")), lamport))
                stored.append({**event, "server_seq": next_seq, "received_at": received})
                next_seq += 1
                results.append({"event_id": item.event_id, "status": "success", "error": None})
            if rows:
                self.conn.executemany(
                    "INSERT INTO events(seq, event_id, team_slug, event_type, project_slug, "
                    "received_at, body, node_id, lamport) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    rows)
                _board.apply_batch(self.conn, stored)
        return results, stored

    def team_lamport(self, team_slug: str, node_id: str | None = None) -> int:
        """The highest Lamport clock among a team's stored events (an index look-up).

        Args:
            team_slug: The team.
            node_id: Only this node's events, if given (its high-water mark).

        Returns:
            The clock value, 0 when there is none.
        """
        if node_id is None:
            row = self.conn.execute("SELECT max(lamport) FROM events WHERE team_slug = ?",
                                    (team_slug,)).fetchone()
        else:
            row = self.conn.execute("SELECT max(lamport) FROM events WHERE team_slug = ? AND "
                                    "node_id = ?", (team_slug, node_id)).fetchone()
        return row[0] or 0

    def events_after(self, team_slug: str, after: int, limit: int,
                     exclude_node: str | None = None) -> tuple[list[dict[str, Any]], bool, int]:
        """A page of a team's events in server order.

        Args:
            team_slug: The team.
            after: Return events with a larger server sequence.
            limit: Page size.
            exclude_node: Leave out the events of this node (a client's own events).

        Returns:
            The events (envelope + `server_seq` + `received_at`), whether more are ready, and
            the sequence number to resume after (0 when nothing was passed): with
            `exclude_node`, the cursor moves past the events left out too.
        """
        node_filter = " AND node_id IS NOT ?" if exclude_node else ""
        args: tuple[Any, ...] = (team_slug, after) + ((exclude_node,) if exclude_node else ())
        conn = self.conn
        # One read transaction: the page and the team's last sequence come from one snapshot,
        # so an event stored in between can be neither skipped nor counted as passed.
        conn.execute("BEGIN")
        try:
            rows = conn.execute(
                "SELECT seq, received_at, body FROM events WHERE team_slug = ? AND seq > ?"
                f"{node_filter} ORDER BY seq LIMIT ?", (*args, limit + 1)).fetchall()
            more = len(rows) > limit
            if more:
                last = rows[limit - 1][0]
            elif exclude_node:  # every later event was returned or left out: pass them all
                last = max(after, self.last_seq(team_slug))
            else:
                last = rows[-1][0] if rows else 0
        finally:
            conn.execute("COMMIT")
        return [_event_row(row) for row in rows[:limit]], more, last

    def last_seq(self, team_slug: str) -> int:
        """The largest server sequence number of a team's events.

        Args:
            team_slug: The team.

        Returns:
            The sequence number, 0 when the team has no events.
        """
        row = self.conn.execute("SELECT max(seq) FROM events WHERE team_slug = ?",
                                (team_slug,)).fetchone()
        return row[0] or 0

    def count_events(self, team_slug: str | None = None) -> int:
        """Count stored events.

        Args:
            team_slug: Only this team's, if given.

        Returns:
            The count.
        """
        if team_slug is None:
            return self.conn.execute("SELECT count(*) FROM events").fetchone()[0]
        return self.conn.execute("SELECT count(*) FROM events WHERE team_slug = ?",
                                 (team_slug,)).fetchone()[0]

    # -- dashboards ------------------------------------------------------------------------

    def overview(self, team_slug: str) -> dict[str, Any]:
        """Counts, lane breakdown and recent events of a team.

        Args:
            team_slug: The team.

        Returns:
            `projects`, `features`, `work_packages`, `lanes` (lane -> count) and `recent`.
        """
        one = self.conn.execute
        lanes = dict.fromkeys(LANES, 0)
        for lane, count in one("SELECT lane, count(*) FROM work_packages WHERE team_slug = ? "
                               "GROUP BY lane", (team_slug,)):
            lanes[lane] = count
        return {
            "projects": one("SELECT count(*) FROM projects WHERE team_slug = ?",
                            (team_slug,)).fetchone()[0],
            "features": one("SELECT count(*) FROM features WHERE team_slug = ?",
                            (team_slug,)).fetchone()[0],
            "work_packages": sum(lanes.values()),
            "lanes": lanes,
            "events": self.count_events(team_slug),
            "recent": self.activity(team_slug, 0, 10),
        }

    def activity(self, team_slug: str, offset: int, limit: int) -> list[dict[str, Any]]:
        """A team's events, newest first in causal order: by Lamport clock, then node id.

        The receive time and the client's timestamp are only shown, never used to order, so
        a machine with a skewed clock cannot reorder the feed. The order is read from the
        `(team_slug, lamport, node_id)` index, so a page costs the same with any number of
        events.

        Args:
            team_slug: The team.
            offset: Events to skip.
            limit: Events to return.

        Returns:
            The events (envelope + `server_seq` + `received_at`).
        """
        rows = self.conn.execute(
            "SELECT seq, received_at, body FROM events WHERE seq IN (SELECT seq FROM events "
            "WHERE team_slug = ? ORDER BY lamport DESC, node_id DESC, seq DESC LIMIT ? OFFSET ?) "
            "ORDER BY lamport DESC, node_id DESC, seq DESC",
            (team_slug, limit, offset)).fetchall()
        return [_event_row(row) for row in rows]

    def projects(self, team_slug: str) -> list[dict[str, Any]]:
        """A team's projects.

        Args:
            team_slug: The team.

        Returns:
            `project_slug` and `project_uuid` of each, by slug.
        """
        rows = self.conn.execute("SELECT project_slug, project_uuid FROM projects WHERE "
                                 "team_slug = ? ORDER BY project_slug", (team_slug,))
        return [{"project_slug": r[0], "project_uuid": r[1]} for r in rows]

    def features(self, team_slug: str, project_slug: str | None = None) -> list[dict[str, Any]]:
        """A team's features.

        Args:
            team_slug: The team.
            project_slug: Only this project's, if given.

        Returns:
            The features, by project and slug.
        """
        sql = ("SELECT project_slug, feature_slug, target_branch, wp_count, completed_at "
               "FROM features WHERE team_slug = ?")
        params: list[Any] = [team_slug]
        if project_slug:
            sql += " AND project_slug = ?"
            params.append(project_slug)
        rows = self.conn.execute(sql + " ORDER BY project_slug, feature_slug", params)
        return [{"project_slug": r[0], "feature_slug": r[1], "target_branch": r[2],
                 "wp_count": r[3], "completed_at": r[4]} for r in rows]

    def work_packages(self, team_slug: str, project_slug: str | None = None,
                      feature_slug: str | None = None) -> list[dict[str, Any]]:
        """A team's work packages with their current lanes.

        Args:
            team_slug: The team.
            project_slug: Only this project's, if given.
            feature_slug: Only this feature's, if given.

        Returns:
            The work packages, by project, feature and id.
        """
        sql = ("SELECT project_slug, feature_slug, wp_id, title, lane, assignee, updated_at, "
               "updated_seq FROM work_packages WHERE team_slug = ?")
        params: list[Any] = [team_slug]
        if project_slug:
            sql += " AND project_slug = ?"
            params.append(project_slug)
        if feature_slug:
            sql += " AND feature_slug = ?"
            params.append(feature_slug)
        rows = self.conn.execute(sql + " ORDER BY project_slug, feature_slug, wp_id", params)
        return [{"project_slug": r[0], "feature_slug": r[1], "wp_id": r[2], "title": r[3],
                 "lane": r[4], "assignee": r[5], "updated_at": r[6], "updated_seq": r[7]}
                for r in rows]

    def snapshot(self, team_slug: str) -> dict[str, Any]:
        """The whole board of a team, as sent on WebSocket connect.

        Args:
            team_slug: The team.

        Returns:
            `team_slug`, `lanes`, `projects`, `features`, `work_packages` and `last_seq`.
        """
        return {"team_slug": team_slug, "lanes": list(LANES),
                "projects": self.projects(team_slug), "features": self.features(team_slug),
                "work_packages": self.work_packages(team_slug),
                "last_seq": self.last_seq(team_slug)}

    # -- helpers ---------------------------------------------------------------------------

    def _write(self) -> _Transaction:
        return _Transaction(self.conn)


class _Transaction:
    """`BEGIN IMMEDIATE` ... `COMMIT`, or `ROLLBACK` on error."""

    def __init__(self, conn: sqlite3.Connection) -> None:
        self.conn = conn

    def __enter__(self) -> None:
        self.conn.execute("BEGIN IMMEDIATE")

    def __exit__(self, exc_type, exc, tb) -> None:
        if exc_type is None:
            self.conn.execute("COMMIT")
        else:
            self.conn.execute("ROLLBACK")


def _columns(conn: sqlite3.Connection, table: str) -> set[str]:
    return {row[1] for row in conn.execute(f"PRAGMA table_info({table})")}


def _upgrade(conn: sqlite3.Connection) -> None:
    """Bring a database written by an earlier version to the current schema, in place."""
    events = _columns(conn, "events")
    if events and "lamport" not in events:
        # Event ids were globally unique and node/clock lived only in the body: rebuild the
        # table (a UNIQUE constraint cannot be altered) and fill the new columns from it.
        conn.executescript(
            "BEGIN IMMEDIATE; ALTER TABLE events RENAME TO events_v1; "
            "DROP INDEX IF EXISTS events_team_seq;"
            + _SCHEMA.split("CREATE TABLE IF NOT EXISTS events")[1].split(";")[0].join(
                ("CREATE TABLE events", ";"))
            + "INSERT INTO events(seq, event_id, team_slug, event_type, project_slug, "
            "received_at, body, node_id, lamport) SELECT seq, event_id, team_slug, event_type, "
            "project_slug, received_at, body, coalesce(json_extract(body, '$.node_id'), ''), "
            "coalesce(json_extract(body, '$.lamport_clock'), 0) FROM events_v1; "
            "DROP TABLE events_v1; COMMIT;")
    refresh = _columns(conn, "refresh_tokens")
    if refresh and "family" not in refresh:
        for column in ("family TEXT", "retired_at INTEGER", "successor TEXT"):
            conn.execute(f"ALTER TABLE refresh_tokens ADD COLUMN {column}")


def _event_row(row: tuple[int, str, str]) -> dict[str, Any]:
    event = json.loads(row[2])
    event["server_seq"] = row[0]
    event["received_at"] = row[1]
    return event
