"""Sync figures: `sync now` of 100k queued events, server ingest, dashboards, peak memory.

- push: the logged-in account's queue is filled once through the engine (`EventEmitter`,
  see `_child seed`) and copied aside; each run restores that copy, starts the server on a
  fresh copy of the pristine DB (same port, same JWT secret, so the stored login stays
  valid) and times the whole `spec-kitty sync now` process, with its peak RSS from `wait4`.
- ingest: 100 pre-built gzip bodies of 1,000 events each are POSTed to the batch endpoint
  over one keep-alive connection; the server's peak RSS is its VmHWM afterwards.
- baseline of both: JSON encode + gzip (the engine's level) of the same events, in batches
  of 1,000, in this process: the least CPU any push of those events needs; one baseline run
  right before each measured run.
- dashboard: the server of the last ingest run (100k events stored), logged in through
  the login form; client-side wall time of each page over loopback.
"""

from __future__ import annotations

import gzip
import json
import re
import shutil
import sqlite3
import time
from pathlib import Path
from typing import Any

from scripts.bench_suite import startup
from scripts.bench_suite._context import PASSWORD, TEAM, USERNAME, Bench
from scripts.bench_suite._env import ROOT, cli_env, log
from scripts.bench_suite._model import (
    Figure,
    Sample,
    at_least,
    value_at_most,
    value_below,
)
from scripts.bench_suite._procs import run_timed
from scripts.bench_suite._timing import page_times

BATCH_PATH = "/api/v1/events/batch/"
BATCH = 1000


def _gzip_level() -> int:
    try:
        from specify_cli.sync.batch import GZIP_LEVEL
    except ImportError:
        return 1
    return GZIP_LEVEL


def encode_batches(events: list[dict[str, Any]], batch: int = BATCH) -> tuple[float, list[bytes]]:
    """JSON-encode and gzip `events` in request bodies of `batch`; return seconds, bodies."""
    level = _gzip_level()
    start = time.perf_counter()
    bodies = [gzip.compress(json.dumps({"events": events[i:i + batch]}, separators=(",", ":"),
                                       ensure_ascii=False).encode("utf-8"), compresslevel=level)
              for i in range(0, len(events), batch)]
    return time.perf_counter() - start, bodies


def _encode_rate(events: list[dict[str, Any]], batch: int = BATCH) -> float:
    """One baseline run: events/s of JSON encode + gzip. Each figure takes one right before
    each of its own runs, so a drift of the machine's speed moves both sides alike (run
    apart, the baseline alone moved ±15 % between bench runs)."""
    seconds, _ = encode_batches(events, batch)
    return len(events) / seconds


def _pending(queue: Path) -> int:
    conn = sqlite3.connect(str(queue))
    try:
        return int(conn.execute("SELECT count(*) FROM queue").fetchone()[0])
    finally:
        conn.close()


def _server_count(db: Path) -> int:
    conn = sqlite3.connect(str(db))
    try:
        return int(conn.execute("SELECT count(*) FROM events").fetchone()[0])
    finally:
        conn.close()


def _copy_db(src: Path, dest: Path) -> None:
    for suffix in ("-wal", "-shm"):
        Path(str(dest) + suffix).unlink(missing_ok=True)
    shutil.copy2(src, dest)


def run_push(b: Bench) -> None:
    """Add the `sync now` throughput, its peak memory and `sync status` with a full queue."""
    n = 1_000 if b.options.quick else 100_000
    reps = b.reps(3)
    fig = Figure("push", f"`spec-kitty sync now` push of {n:,} queued events",
                 baseline_name="JSON encode + gzip of the same events",
                 # Issue 18's goal is the ratio (the absolute rate follows the machine).
                 goal=at_least(0.25), higher_is_better=True)
    mem = Figure("mem-sync-now", f"peak RSS of `spec-kitty sync now` ({n:,} events)",
                 goal=value_below(200, "MB"))
    account = b.account()
    log(f"push: seeding {n:,} events into the logged-in queue through the engine")
    seed = run_timed([str(b.bin / "python"), "-m", "scripts.bench_suite._child", "seed", str(n)],
                     env=cli_env(account.home, PYTHONPATH=str(ROOT)), cwd=account.project,
                     timeout=900)
    try:
        seed.check("seeding the queue")
        info = json.loads(seed.stdout.strip().splitlines()[-1])
        if info["pending"] != n:
            raise RuntimeError(f"the seeded queue holds {info['pending']} events, not {n} "
                               f"({info['dropped']} dropped)")
    except (RuntimeError, ValueError, KeyError) as exc:
        b.add(fig.fail(str(exc)))
        b.add(mem.fail("no seeded queue"))
        return
    queue = Path(info["queue_path"])
    log(f"push: seeded in {info['seconds']:.1f}s ({n / info['seconds']:,.0f} events/s)")
    pristine = b.work / "queue-pristine.sqlite3"
    shutil.copy2(queue, pristine)
    startup.sync_status_full_queue(b, account.home, account.project, n)

    conn = sqlite3.connect(str(pristine))
    events = [json.loads(body) for (body,) in conn.execute("SELECT body FROM queue ORDER BY id")]
    conn.close()
    rates, base_rates, rss, server_rss, problems = [], [], [], [], []
    rep = 0
    while rep < reps:
        base_rates.append(_encode_rate(events))
        _copy_db(pristine, queue)
        server = b.fresh_server(f"push-{rep}")
        try:
            log(f"push: run {rep + 1}/{reps}")
            timed = run_timed([str(b.bin / "spec-kitty"), "sync", "now"],
                              env=cli_env(account.home), cwd=account.project, timeout=600)
            server_rss.append(server.hwm_mb() or 0.0)
        finally:
            server.stop()
        left = _pending(queue)
        stored = _server_count(server.db)
        if timed.returncode != 0 or left or stored != n:
            tail = " | ".join((timed.stderr or timed.stdout).strip().splitlines()[-2:])
            problems.append(f"run {rep + 1}: exit {timed.returncode}, {left} left queued, "
                            f"{stored} stored on the server: {tail[:300]}")
            break
        rates.append(n / timed.seconds)
        rss.append(timed.maxrss_mb)
        if rep == 0:
            reps = b.runs_within(timed.seconds + 1.5, reps, 75)
        rep += 1
    if problems:
        b.add(fig.fail("; ".join(problems)))
        b.add(mem.fail("`sync now` did not complete"))
        return
    fig.value, fig.baseline = Sample(rates, "events/s"), Sample(base_rates, "events/s")
    fig.notes.append(f"whole CLI process: start-up, the push, and the pull that follows it "
                     f"(own events are left out by `exclude_node`); "
                     f"gzip level {_gzip_level()}; queue "
                     f"seeded through EventEmitter at {n / info['seconds']:,.0f} events/s; "
                     f"server peak RSS during the push "
                     f"{max(server_rss):.0f} MB")
    fig.extra = {"events": n, "seed_seconds": info["seconds"], "server_rss_mb": server_rss}
    b.add(fig.finish())
    mem.value = Sample(rss, "MB")
    mem.notes.append("ru_maxrss of the `sync now` process (wait4 in a ~9 MB launcher, so the "
                     "harness's own size does not leak into the child's figure)")
    b.add(mem.finish())


def _token(client) -> str:
    response = client.post("/api/v1/token/", json={"username": USERNAME, "password": PASSWORD})
    response.raise_for_status()
    return response.json()["access"]


def _ingest_once(b: Bench, name: str, bodies: list[bytes]) -> tuple[float, float, Any, list]:
    import httpx

    server = b.fresh_server(name)
    with httpx.Client(base_url=server.url, timeout=120) as client:
        headers = {"Authorization": f"Bearer {_token(client)}",
                   "Content-Type": "application/json", "Content-Encoding": "gzip"}
        answers = []
        start = time.perf_counter()
        for body in bodies:
            answers.append(client.post(BATCH_PATH, content=body, headers=headers))
        seconds = time.perf_counter() - start
    return seconds, server.hwm_mb() or 0.0, server, answers


def _check_answers(answers: list, n: int) -> str | None:
    statuses: dict[str, int] = {}
    for response in answers:
        if response.status_code != 200:
            return f"HTTP {response.status_code}: {response.text[:200]}"
        for item in response.json()["results"]:
            statuses[item["status"]] = statuses.get(item["status"], 0) + 1
    if statuses.get("success", 0) != n:
        return f"expected {n} successes, got {statuses}"
    return None


def run_ingest(b: Bench) -> None:
    """Add the server-ingest throughput and the server's peak memory."""
    from scripts.bench_suite._events import envelopes

    n = 1_000 if b.options.quick else 100_000
    batch = 500 if b.options.quick else BATCH
    reps = b.reps(3)
    fig = Figure("ingest", f"server ingest via the batch endpoint ({n // batch} batches of "
                 f"{batch:,})", baseline_name="JSON encode + gzip of the same events",
                 goal=at_least(0.25), higher_is_better=True)
    mem = Figure("mem-server", f"peak RSS of the server during ingest ({n:,} events)",
                 goal=value_below(200, "MB"))
    log(f"ingest: building {n:,} events")
    events = envelopes(n, TEAM)
    _, bodies = encode_batches(events, batch)
    rates, base_rates, rss = [], [], []
    rep = 0
    while rep < reps:
        log(f"ingest: run {rep + 1}/{reps}")
        base_rates.append(_encode_rate(events, batch))
        seconds, hwm, server, answers = _ingest_once(b, f"ingest-{rep}", bodies)
        problem = _check_answers(answers, n)
        if problem:
            server.stop()
            b.add(fig.fail(f"run {rep + 1}: {problem}"))
            b.add(mem.fail("ingest failed"))
            return
        rates.append(n / seconds)
        rss.append(hwm)
        if rep == 0:
            reps = b.runs_within(seconds + 1.5, reps, 60)
        rep += 1
        if rep == reps:
            b.shared["dashboard_server"] = (server, n)
        else:
            server.stop()
    fig.value, fig.baseline = Sample(rates, "events/s"), Sample(base_rates, "events/s")
    fig.notes.append(f"one keep-alive httpx client, bodies pre-built (gzip level "
                     f"{_gzip_level()}), fresh server DB per run; timed from the first POST to "
                     "the last answer")
    b.add(fig.finish())
    mem.value = Sample(rss, "MB")
    mem.notes.append("VmHWM of the server process after each ingest run (fresh server per run)")
    b.add(mem.finish())


def login(client) -> None:
    """Log the bench user in through the dashboard form (the client keeps the cookie)."""
    page = client.get("/login/")
    match = re.search(r'name="csrf"\s+value="([^"]+)"', page.text) or \
        re.search(r'value="([^"]+)"\s+name="csrf"', page.text)
    if not match:
        raise RuntimeError("no csrf field on /login/")
    response = client.post("/login/", data={"csrf": match.group(1), "username": USERNAME,
                                            "password": PASSWORD, "next": ""})
    if response.status_code != 303:
        raise RuntimeError(f"dashboard login answered {response.status_code}")


PAGES = (("overview", "/a/{team}/dashboards/"),
         ("board", "/a/{team}/dashboards/board/"),
         ("activity", "/a/{team}/dashboards/activity/?page=1"))


def run_dashboard(b: Bench) -> None:
    """Add one figure per dashboard page, rendered with the ingested events stored."""
    import httpx

    held = b.shared.get("dashboard_server")
    if held is None:
        n = 1_000 if b.options.quick else 100_000
        from scripts.bench_suite._events import envelopes

        log(f"dashboard: storing {n:,} events first")
        _, bodies = encode_batches(envelopes(n, TEAM))
        _, _, server, answers = _ingest_once(b, "dashboard", bodies)
        problem = _check_answers(answers, n)
        if problem:
            for name, _ in PAGES:
                b.add(Figure(f"dashboard-{name}", f"dashboard {name}").fail(problem))
            return
    else:
        server, n = held
    runs, warmup = (2, 1) if b.options.quick else (15, 2)
    log(f"dashboard: {runs} renders of each page with {n:,} events stored")
    try:
        with httpx.Client(base_url=server.url, timeout=60) as client:
            login(client)
            for name, path in PAGES:
                fig = Figure(f"dashboard-{name}", f"dashboard {name} page, {n:,} events stored",
                             goal=value_at_most(200, "ms"))
                url = path.format(team=TEAM)
                try:
                    times, size = page_times(client, url, runs, warmup)
                except RuntimeError as exc:
                    fig.fail(str(exc))
                else:
                    fig.value = Sample(times, "ms")
                    fig.notes.append(f"GET {url}, client wall time over loopback, "
                                     f"{size // 1024} KiB page, after {warmup} "
                                     "warm-up renders")
                    fig.finish()
                b.add(fig)
    finally:
        server.stop()
