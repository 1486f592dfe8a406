"""Fast, real seeding of the CLI's offline queue for the fault tests.

Events are built with the engine's own `build_event` and stored with the public
`OfflineQueue.append` (one transaction per event, clock ticked), exactly as the emitter
does, so a seeded queue is indistinguishable from one filled by `spec-kitty tasks`. To run
many kill -9 trials without re-seeding 20,000 events each time, `clone_queue` copies a
seeded queue file and gives every event a new, unique `event_id` in one SQL statement.
"""

from __future__ import annotations

import json
import shutil
import sqlite3
import uuid
from pathlib import Path

from specify_cli.account.credentials import account_scope

PROJECT_UUID = "0b6f1e3c-1d2a-4c3b-9a8e-2f4d5c6b7a81"
CROCKFORD = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"


def queue_file(home: Path, server_url: str, username: str = "alice", team: str = "acme") -> Path:
    """The queue database of an account, as the CLI resolves it under `home`."""
    return home / "queues" / f"{account_scope(server_url, username, team)}.sqlite3"


def event(team: str = "acme", node: str = "a1b2c3d4e5f6", n: int = 0,
          project: str = "reliability", content: str | None = None) -> dict:
    """A valid HistoryAdded envelope (its Lamport value is set when it is queued)."""
    from spec_kitty_protocol import build_event

    return build_event(
        "HistoryAdded",
        {"wp_id": "WP01", "entry_type": "note", "entry_content": content or f"note {n}",
         "author": "alice", "feature_slug": "001-reliability"},
        node_id=node, team_slug=team, project_uuid=PROJECT_UUID,
        project_slug=project)


def seed(path: Path, count: int, *, team: str = "acme", node: str = "a1b2c3d4e5f6",
         project: str = "reliability", cap: int = 1_000_000) -> list[str]:
    """Append `count` events to the queue at `path` through `OfflineQueue.append`; return ids."""
    from specify_cli.sync.queue import OfflineQueue

    queue = OfflineQueue(path, cap=cap)
    ids = []
    try:
        for n in range(count):
            ids.append(queue.append(event(team, node, n, project))["event_id"])
        queue.conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    finally:
        queue.close()
    return ids


def seed_many(path: Path, count: int, *, unique: int = 2000, project: str = "reliability",
              cap: int = 1_000_000) -> list[str]:
    """Seed `count` events quickly: `unique` through `OfflineQueue.append`, the rest copies
    of those with new ids (ULID character 4) and new `entry_content`, in one transaction.

    Returns:
        Every event id, in queue order.
    """
    seed(path, min(unique, count), project=project, cap=cap)
    copies = -(-count // unique) - 1
    conn = sqlite3.connect(path, isolation_level=None, timeout=30)
    try:
        conn.execute("BEGIN IMMEDIATE")
        original = {r[0] for r in conn.execute("SELECT DISTINCT substr(event_id, 4, 1) "
                                              "FROM queue")}
        codes = [c for c in CROCKFORD if c not in original]
        for k in range(1, copies + 1):
            c = codes[k - 1]
            conn.execute(
                "INSERT INTO queue(id, event_id, event_type, body, enqueued_at) "
                "SELECT :top + row_number() OVER (ORDER BY id), "
                "substr(event_id, 1, 3) || :c || substr(event_id, 5), event_type, "
                "replace(replace(body, '\"event_id\":\"' || event_id, '\"event_id\":\"' || "
                "substr(event_id, 1, 3) || :c || substr(event_id, 5)), "
                "'\"entry_content\":\"note ', '\"entry_content\":\"note ' || :c || '-'), "
                "enqueued_at FROM queue WHERE id <= :u ORDER BY id LIMIT :n",
                {"c": c, "u": unique, "n": min(unique, count - k * unique),
                 "top": _top(conn)})
        conn.execute("COMMIT")
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        return [r[0] for r in conn.execute("SELECT event_id FROM queue ORDER BY id")]
    finally:
        conn.close()


def _top(conn: sqlite3.Connection) -> int:
    """The highest row id the queue ever handed out: copies take the ids after it, as
    `OfflineQueue` does (a plain INSERT could reuse an acknowledged id and would leave the
    queue's depth counter behind)."""
    from specify_cli.sync._db import TOP

    return int(conn.execute(f"SELECT {TOP}").fetchone()[0])


def remove_db(path: Path) -> None:
    """Delete a SQLite database with its WAL and shared-memory files."""
    for suffix in ("", "-wal", "-shm"):
        Path(str(path) + suffix).unlink(missing_ok=True)


def trial_code(trial: int) -> str:
    """Two Crockford base32 characters unique to a trial (up to 1024 trials)."""
    return CROCKFORD[(trial // 32) % 32] + CROCKFORD[trial % 32]


def clone_queue(template: Path, target: Path, trial: int) -> str:
    """Copy a seeded queue to `target`, renaming every event id for this trial.

    Characters 2-3 of each ULID (high timestamp bits, identical across one seeding run)
    are replaced by `trial_code(trial)`, in the `event_id` column and in the stored JSON.

    Returns:
        The trial code (event ids of this trial have it at [1:3]).
    """
    code = trial_code(trial)
    remove_db(target)
    target.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    shutil.copyfile(template, target)
    conn = sqlite3.connect(target, isolation_level=None)
    try:
        conn.execute("BEGIN IMMEDIATE")
        conn.execute(
            "UPDATE queue SET body = replace(body, '\"event_id\":\"' || event_id, "
            "'\"event_id\":\"' || substr(event_id, 1, 1) || :c || substr(event_id, 4)), "
            "event_id = substr(event_id, 1, 1) || :c || substr(event_id, 4), "
            "retry_count = 0, last_error = NULL", {"c": code})
        conn.execute("COMMIT")
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    finally:
        conn.close()
    return code


def queued_ids(path: Path) -> list[str]:
    """Every event id still queued at `path`, read through `OfflineQueue.read_batch`."""
    from specify_cli.sync.queue import OfflineQueue

    queue = OfflineQueue(path, cap=1_000_000)
    ids: list[str] = []
    try:
        after = 0
        while True:
            rows = queue.read_batch(after, 5000)
            if not rows:
                return ids
            ids += [row.event_id for row in rows]
            after = rows[-1].id
    finally:
        queue.close()


def server_ids(db: Path, where: str = "1", args: tuple = ()) -> list[str]:
    """Event ids stored by the reference server (read-only look at its SQLite database)."""
    conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=30)
    try:
        return [r[0] for r in conn.execute(f"SELECT event_id FROM events WHERE {where}", args)]
    finally:
        conn.close()


def server_rows(db: Path, where: str = "1", args: tuple = ()) -> list[dict]:
    """Stored event bodies of the reference server matching `where`."""
    conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=30)
    try:
        return [json.loads(r[0]) for r in conn.execute(
            f"SELECT body FROM events WHERE {where}", args)]
    finally:
        conn.close()


def random_project() -> str:
    """A fresh project slug, to tell one test's events apart on a shared server."""
    return "p-" + uuid.uuid4().hex[:10]


def append_clone(template: Path, target: Path, trial: int, limit: int = -1) -> str:
    """Append the events of a seeded queue to the queue at `target`, with ids for `trial`.

    Only the first `limit` events are copied when `limit` is not negative.

    The target queue is created through `OfflineQueue` if needed; the copy runs in one
    transaction and takes the next row ids, as the queue hands them out (`_top`).

    Returns:
        The trial code.
    """
    from specify_cli.sync.queue import OfflineQueue

    queue = OfflineQueue(target, cap=10_000_000)
    queue.pending_count()
    _ = queue.conn
    queue.close()
    code = trial_code(trial)
    conn = sqlite3.connect(target, isolation_level=None, timeout=30)
    try:
        conn.execute("ATTACH DATABASE ? AS tpl", (str(template),))
        conn.execute("BEGIN IMMEDIATE")
        conn.execute(
            "INSERT INTO queue(id, event_id, event_type, body, enqueued_at) "
            "SELECT :top + row_number() OVER (ORDER BY id), "
            "substr(event_id, 1, 1) || :c || substr(event_id, 4), event_type, "
            "replace(body, '\"event_id\":\"' || event_id, "
            "'\"event_id\":\"' || substr(event_id, 1, 1) || :c || substr(event_id, 4)), "
            "enqueued_at FROM tpl.queue ORDER BY id LIMIT :n",
            {"c": code, "n": limit, "top": _top(conn)})
        conn.execute("COMMIT")
        conn.execute("DETACH DATABASE tpl")
    finally:
        conn.close()
    return code


def trial_ids(template_ids: list[str], code: str) -> list[str]:
    """The ids the events of `template_ids` get in the trial with this code."""
    return [i[0] + code + i[3:] for i in template_ids]
