"""Scale figures: the dashboard pages with 1,000,000 events stored, against 1,000 events.

Pushing a million events through the API would take minutes and measure ingest again, so
the databases are seeded directly: the bench account's pristine database, plus events
appended in the stored format by the server's own `ingest.append` (the event rows and the
board they make, in one transaction per chunk). Each size is seeded once per bench run and
kept under the run's work dir. The events come from the bench's generator (valid envelopes
with a realistic mix of types, 4 projects, 40 features of 12 work packages), with fresh ids
and clocks so that every stored event is distinct.

Each page is timed as in the `dashboard` group (client wall time over loopback, logged in
through the form); the baseline is the same page of a server holding 1,000 events, measured
in the same run.
"""

from __future__ import annotations

import json
import shutil
import time
from pathlib import Path

from scripts.bench_suite._context import TEAM, Bench
from scripts.bench_suite._env import log
from scripts.bench_suite._model import Figure, Sample, value_at_most
from scripts.bench_suite._procs import Server
from scripts.bench_suite._timing import page_times
from scripts.bench_suite.server import PAGES, login

BASELINE_EVENTS = 1_000
FULL_EVENTS = 1_000_000
QUICK_EVENTS = 20_000
_TEMPLATES = 10_000
"""Distinct generated envelopes; the million are copies with their own id and clock."""
_CHUNK = 20_000


def seed(db: Path, n: int) -> float:
    """Append `n` valid bench events to a server database; return the seconds it took.

    Args:
        db: A server database (the bench user's team is `TEAM`).
        n: Events to add.
    """
    from scripts.bench_suite._events import envelopes
    from spec_kitty_server.ingest import append
    from spec_kitty_server.store import open_database, transaction, utc_now

    start = time.perf_counter()
    templates = envelopes(min(n, _TEMPLATES), TEAM)
    conn = open_database(db)
    try:
        received = utc_now()
        for first in range(0, n, _CHUNK):
            events, bodies = [], []
            for i in range(first, min(n, first + _CHUNK)):
                event = dict(templates[i % len(templates)])
                # A valid, unique ULID (Crockford digits) and a strictly rising clock.
                event["event_id"] = f"01JS{i:022d}"
                event["lamport_clock"] = i + 1
                events.append(event)
                bodies.append(json.dumps(event, separators=(",", ":"), ensure_ascii=False))
            with transaction(conn):
                append(conn, events, bodies, first + 1, received)
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    finally:
        conn.close()
    return time.perf_counter() - start


def _database(b: Bench, n: int) -> Path:
    """A copy of the pristine account database with `n` events, seeded once per run."""
    target = b.work / f"scale-{n}"
    db = target / "server.sqlite3"
    if not db.exists():
        shutil.copytree(b.account().pristine_db_dir, target)
        log(f"scale: seeding {n:,} events")
        seconds = seed(db, n)
        log(f"scale: seeded {n:,} events in {seconds:.1f}s")
    return db


def _time_pages(b: Bench, db: Path, name: str, runs: int, warmup: int) -> dict[str, list[float]]:
    import httpx

    server = Server(db, b.port, b.work / f"{name}.log").start()
    b.servers.append(server)
    times: dict[str, list[float]] = {}
    try:
        with httpx.Client(base_url=server.url, timeout=120) as client:
            login(client)
            for page, path in PAGES:
                times[page], _ = page_times(client, path.format(team=TEAM), runs, warmup)
    finally:
        server.stop()
    return times


def run(b: Bench) -> None:
    """Add one figure per dashboard page with a million events stored."""
    n = QUICK_EVENTS if b.options.quick else FULL_EVENTS
    runs, warmup = (3, 1) if b.options.quick else (15, 2)
    figures = {page: Figure(f"scale-{page}", f"dashboard {page} page, {n:,} events stored",
                            baseline_name=f"the same page, {BASELINE_EVENTS:,} events stored",
                            goal=value_at_most(200, "ms"))
               for page, _ in PAGES}
    try:
        small = _database(b, BASELINE_EVENTS)
        big = _database(b, n)
        baseline = _time_pages(b, small, "scale-baseline", runs, warmup)
        value = _time_pages(b, big, "scale-full", runs, warmup)
    except (RuntimeError, OSError) as exc:
        for fig in figures.values():
            b.add(fig.fail(str(exc)))
        return
    for page, fig in figures.items():
        fig.value, fig.baseline = Sample(value[page], "ms"), Sample(baseline[page], "ms")
        fig.notes.append(f"seeded straight into SQLite in the stored format (events and board); "
                         f"client wall time over loopback after {warmup} warm-up renders")
        fig.extra = {"events": n, "baseline_events": BASELINE_EVENTS}
        b.add(fig.finish())
