"""Child-process work, run with the bench venv's Python: `python -m scripts.bench_suite._child`.

- `emit N`: emit N events through `EventEmitter.emit` into the durable queue (after one
  warm-up emit that opens the database and compiles the schema); print the rate as JSON.
- `sqlite N BYTES`: the baseline, a bare insert-and-commit loop of N rows of BYTES characters
  into a fresh WAL database with the engine's `synchronous` setting.
- `seed N`: fill the logged-in account's queue with N events (the 100k-event queue).

Each prints one JSON object on stdout. The project directory is the current directory and
SPEC_KITTY_HOME comes from the environment.
"""

from __future__ import annotations

import json
import sqlite3
import sys
import time
from pathlib import Path


def _emitter():
    from specify_cli.sync.emitter import EventEmitter

    return EventEmitter(root=Path.cwd(), start_runtime=False)


def emit(n: int) -> dict:
    from scripts.bench_suite._events import payloads

    emitter = _emitter()
    items = list(payloads(n + 1, seed=3))
    kind, payload = items[0]
    first = emitter.emit(kind, payload)
    if first is None:
        raise SystemExit("the warm-up emit was dropped")
    start = time.perf_counter()
    for kind, payload in items[1:]:
        emitter.emit(kind, payload)
    seconds = time.perf_counter() - start
    rows = emitter.queue.read_batch(0, 1000)
    row_bytes = sum(len(r.body) for r in rows) / max(1, len(rows))
    synchronous = emitter.queue.conn.execute("PRAGMA synchronous").fetchone()[0]
    journal = emitter.queue.conn.execute("PRAGMA journal_mode").fetchone()[0]
    emitter.queue.close()
    return {"seconds": seconds, "events": emitter.emitted - 1, "dropped": emitter.dropped,
            "rate": (emitter.emitted - 1) / seconds, "row_bytes": row_bytes,
            "synchronous": synchronous, "journal_mode": journal}


def bare_sqlite(n: int, row_bytes: int, synchronous: int) -> dict:
    path = Path.cwd() / "bare.sqlite3"
    conn = sqlite3.connect(str(path), isolation_level=None)
    conn.execute("PRAGMA journal_mode = WAL")
    conn.execute(f"PRAGMA synchronous = {synchronous}")
    conn.execute("CREATE TABLE t (id INTEGER PRIMARY KEY, body TEXT NOT NULL)")
    body = "x" * row_bytes
    conn.execute("BEGIN IMMEDIATE")
    conn.execute("INSERT INTO t(body) VALUES (?)", (body,))
    conn.execute("COMMIT")
    start = time.perf_counter()
    for _ in range(n):
        conn.execute("BEGIN IMMEDIATE")
        conn.execute("INSERT INTO t(body) VALUES (?)", (body,))
        conn.execute("COMMIT")
    seconds = time.perf_counter() - start
    conn.close()
    return {"seconds": seconds, "events": n, "rate": n / seconds, "row_bytes": row_bytes}


def seed(n: int) -> dict:
    from scripts.bench_suite._events import payloads

    emitter = _emitter()
    start = time.perf_counter()
    for kind, payload in payloads(n, seed=5):
        emitter.emit(kind, payload)
    seconds = time.perf_counter() - start
    pending = emitter.queue.pending_count()
    path = str(emitter.queue.path)
    emitter.queue.conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    emitter.queue.close()
    return {"seconds": seconds, "emitted": emitter.emitted, "dropped": emitter.dropped,
            "pending": pending, "queue_path": path, "team_slug": emitter.team_slug}


def main(argv: list[str]) -> int:
    what, *args = argv
    if what == "emit":
        result = emit(int(args[0]))
    elif what == "sqlite":
        result = bare_sqlite(int(args[0]), int(args[1]), int(args[2]))
    elif what == "seed":
        result = seed(int(args[0]))
    else:
        print(f"error: unknown child task {what!r}", file=sys.stderr)
        return 2
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
