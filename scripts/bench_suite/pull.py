"""Pull figure: peak RSS of `spec-kitty sync now` pulling 1,000,000 team events.

The server's database is seeded directly, for speed (batch ingest of a million events would
take minutes): a fresh copy of the pristine DB gets 1,000,000 rows in its `events` table,
valid envelopes of the bench team from other nodes, with unique event ids. Then a copy of
the logged-in CLI home with no queue yet (so no pull cursor) runs `sync now` once: it pushes
nothing and pulls every event, a page at a time, into its local event log. The figure is the
process's ru_maxrss; the run also checks that the log holds every event.
"""

from __future__ import annotations

import json
import shutil
import sqlite3
import time
from pathlib import Path

from scripts.bench_suite._context import TEAM, Bench
from scripts.bench_suite._env import cli_env, log
from scripts.bench_suite._model import Figure, Sample, value_below
from scripts.bench_suite._procs import Server, run_timed

CHUNK = 10_000


def seed_events(db: Path, n: int) -> None:
    """Insert `n` valid events of the bench team straight into the server DB at `db`."""
    from scripts.bench_suite._events import envelopes

    base = envelopes(CHUNK, TEAM, seed=17)
    received = "2026-11-01T12:00:00.000000Z"
    conn = sqlite3.connect(str(db), isolation_level=None)
    try:
        conn.execute("PRAGMA synchronous = OFF")  # a throwaway copy: durability is moot
        for start in range(0, n, CHUNK):
            rows = []
            for i, event in enumerate(base[:min(CHUNK, n - start)], start + 1):
                event = {**event, "event_id": f"01HZ{i:022d}", "lamport_clock": i}
                rows.append((i, event["event_id"], TEAM, event["event_type"],
                             event["project_slug"], received,
                             json.dumps(event, separators=(",", ":"), ensure_ascii=False),
                             event["node_id"], i))
            conn.execute("BEGIN")
            conn.executemany("INSERT INTO events(seq, event_id, team_slug, event_type, "
                             "project_slug, received_at, body, node_id, lamport) "
                             "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)", rows)
            conn.execute("COMMIT")
    finally:
        conn.close()


def _log_count(home: Path) -> int:
    total = 0
    for path in (home / "queues").glob("*.sqlite3"):
        if path.name != "clock.sqlite3":
            conn = sqlite3.connect(str(path))
            try:
                total += int(conn.execute("SELECT count(*) FROM event_log").fetchone()[0])
            finally:
                conn.close()
    return total


def run(b: Bench) -> None:
    """Add the peak-memory figure of a 1,000,000-event pull."""
    n = 2_000 if b.options.quick else 1_000_000
    fig = Figure("mem-sync-now-pull", f"peak RSS of `spec-kitty sync now` pulling {n:,} events",
                 goal=value_below(200, "MB"))
    account = b.account()
    target = b.work / "pull-server"
    shutil.copytree(account.pristine_db_dir, target)
    log(f"pull: seeding {n:,} events straight into the server DB")
    start = time.perf_counter()
    seed_events(target / "server.sqlite3", n)
    log(f"pull: seeded in {time.perf_counter() - start:.1f}s")
    home = b.work / "pull-home"
    shutil.copytree(account.home, home, ignore=shutil.ignore_patterns("queues"))
    server = Server(target / "server.sqlite3", b.port, b.work / "pull-server.log").start()
    b.servers.append(server)
    try:
        log(f"pull: `sync now` pulling {n:,} events")
        timed = run_timed([str(b.bin / "spec-kitty"), "sync", "now"], env=cli_env(home),
                          cwd=account.project, timeout=1800)
    finally:
        server.stop()
    pulled = _log_count(home)
    if timed.returncode != 0 or pulled != n:
        tail = " | ".join((timed.stderr or timed.stdout).strip().splitlines()[-2:])
        b.add(fig.fail(f"exit {timed.returncode}, {pulled:,} of {n:,} events in the local log: "
                       f"{tail[:300]}"))
        return
    fig.value = Sample([timed.maxrss_mb], "MB")
    fig.notes.append(f"ru_maxrss of the whole `sync now` process (one run): {n:,} events in "
                     f"{timed.seconds:.1f}s ({n / timed.seconds:,.0f} events/s), every one in "
                     "the local event log afterwards; the server DB seeded directly")
    fig.extra = {"events": n, "seconds": timed.seconds}
    b.add(fig.finish())
