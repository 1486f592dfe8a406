"""The server's SQLite file: opening it, its schema, in-place upgrades and write transactions.

The server writes through one connection and reads through reader connections
(`spec_kitty_server._db`), so writes are serialised without locks; other processes (the
`user` commands, a second server) wait on SQLite's busy timeout. The schema is created on
first open; a database written by an earlier version is brought up to date in place
(`_upgrade`). What is stored, and how it is read, belongs to the modules of each part:
`accounts`, `credentials`, `events` and `ingest`, `board`.

`team_stats` counts each team's events, and `node_clocks` holds each node's highest Lamport
clock per team (its high-water mark), both kept by `ingest` in the same transaction: a page
that shows the count, and a pull that asks for a node's mark, read one row whatever the
number of events. (The mark used to be an index of every event by node, which cost each
insert a fifth of its time to serve one look-up per pull.)

Event ids are unique per team (another team pushing the same id first changes nothing for
the owner), and each event's node and Lamport clock are kept in indexed columns, so the
activity feed orders by Lamport clock then node, and the clock bound is an index look-up.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

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
CREATE TABLE IF NOT EXISTS team_stats (
    team_slug TEXT PRIMARY KEY,
    events INTEGER NOT NULL
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS node_clocks (
    team_slug TEXT NOT NULL,
    node_id TEXT NOT NULL,
    lamport INTEGER NOT NULL,
    PRIMARY KEY (team_slug, node_id)
) WITHOUT ROWID;
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


PAGE_SIZE = 16384
"""Bytes per database page of a new file (SQLite's default is 4096). An ingested event's row
and index entries land on fewer, fuller pages: a third less CPU per stored event, and fewer
pages for each commit to write. An existing file keeps the page size it was created with."""


class StorageError(Exception):
    """The database cannot be opened or used; the message is one line for the user."""


def utc_now() -> str:
    """The current UTC time as ISO-8601 with milliseconds and `Z`.

    Returns:
        The timestamp.
    """
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


def open_database(path: Path) -> sqlite3.Connection:
    """Open the database for writing (WAL mode), creating it and its schema if missing.

    Args:
        path: The SQLite file.

    Returns:
        The connection (autocommit: writes go through `transaction`).

    Raises:
        StorageError: The file cannot be opened or is not a database.
    """
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False, timeout=10)
        conn.execute(f"PRAGMA page_size={PAGE_SIZE}")  # before WAL mode, which fixes it
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("PRAGMA synchronous=NORMAL")
        conn.execute("PRAGMA foreign_keys=ON")
        conn.execute("PRAGMA busy_timeout=10000")
        _upgrade(conn)
        conn.executescript(_SCHEMA)
    except sqlite3.DatabaseError as exc:
        raise StorageError(f"cannot open database {path}: {exc}") from None
    except OSError as exc:
        raise StorageError(f"cannot open database {path}: {exc.strerror}") from None
    return conn


def open_reader(path: Path, busy_timeout: float) -> sqlite3.Connection:
    """Open another, read-only connection to an existing database (for reader threads).

    Args:
        path: The SQLite file.
        busy_timeout: Seconds a read may wait on a lock.

    Returns:
        A connection whose writes fail.
    """
    conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False,
                           timeout=busy_timeout)
    conn.execute("PRAGMA query_only=1")
    return conn


@contextmanager
def transaction(conn: sqlite3.Connection) -> Iterator[sqlite3.Connection]:
    """`BEGIN IMMEDIATE` ... `COMMIT`, or `ROLLBACK` on error.

    Args:
        conn: An autocommit connection.

    Yields:
        The connection, inside the transaction.
    """
    conn.execute("BEGIN IMMEDIATE")
    try:
        yield conn
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    conn.execute("COMMIT")


@contextmanager
def snapshot(conn: sqlite3.Connection) -> Iterator[sqlite3.Connection]:
    """One read transaction, so several reads come from one state of the database.

    Args:
        conn: An autocommit connection.

    Yields:
        The connection, inside the read transaction.
    """
    conn.execute("BEGIN")
    try:
        yield conn
    finally:
        conn.execute("COMMIT")


def _columns(conn: sqlite3.Connection, table: str) -> set[str]:
    return {row[1] for row in conn.execute(f"PRAGMA table_info({table})")}


def _create_table(table: str, head: str | None = None) -> str:
    """`table`'s CREATE TABLE statement from `_SCHEMA`, ending in `;`, opened with `head`
    instead of `CREATE TABLE IF NOT EXISTS <table>` when given (the upgrades reuse it)."""
    own = f"CREATE TABLE IF NOT EXISTS {table}"
    return f"{head or own}{_SCHEMA.split(own)[1].split(';')[0]};"


def _upgrade(conn: sqlite3.Connection) -> None:
    """Bring a database written by an earlier version to the current schema, in place."""
    events = _columns(conn, "events")
    if events and "lamport" not in events:
        # Event ids were globally unique and node/clock lived only in the body: rebuild the
        # table (a UNIQUE constraint cannot be altered) and fill the new columns from it.
        conn.executescript(
            "BEGIN IMMEDIATE; ALTER TABLE events RENAME TO events_v1; "
            "DROP INDEX IF EXISTS events_team_seq;"
            + _create_table("events", "CREATE TABLE events")
            + "INSERT INTO events(seq, event_id, team_slug, event_type, project_slug, "
            "received_at, body, node_id, lamport) SELECT seq, event_id, team_slug, event_type, "
            "project_slug, received_at, body, coalesce(json_extract(body, '$.node_id'), ''), "
            "coalesce(json_extract(body, '$.lamport_clock'), 0) FROM events_v1; "
            "DROP TABLE events_v1; COMMIT;")
    if _columns(conn, "events") and not _columns(conn, "team_stats"):
        # The per-team event counts (the overview reads them instead of counting a million
        # index entries) start from what is stored; IF NOT EXISTS and OR IGNORE let a second
        # process that upgrades at the same time change nothing.
        conn.executescript(
            "BEGIN IMMEDIATE;"
            + _create_table("team_stats")
            + "INSERT OR IGNORE INTO team_stats(team_slug, events) SELECT team_slug, count(*) "
            "FROM events GROUP BY team_slug; COMMIT;")
    if _columns(conn, "events") and not _columns(conn, "node_clocks"):
        # Each node's high-water mark starts from what is stored; the index it replaces goes.
        conn.executescript(
            "BEGIN IMMEDIATE;"
            + _create_table("node_clocks")
            + "INSERT OR IGNORE INTO node_clocks(team_slug, node_id, lamport) SELECT team_slug, "
            "node_id, max(lamport) FROM events GROUP BY team_slug, node_id; "
            "DROP INDEX IF EXISTS events_team_node; COMMIT;")
    refresh = _columns(conn, "refresh_tokens")
    if refresh and "family" not in refresh:
        for column in ("family TEXT", "retired_at INTEGER", "successor TEXT"):
            conn.execute(f"ALTER TABLE refresh_tokens ADD COLUMN {column}")
