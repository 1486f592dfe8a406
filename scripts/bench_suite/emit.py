"""Emit throughput into the durable queue, against a bare SQLite insert-and-commit loop.

Both run in a child of the bench venv, one process each, alternating. The emit side goes
through `EventEmitter.emit` (build the envelope, validate it against the schema, tick the
Lamport clock and insert, one transaction and one commit per event). The baseline
inserts rows of the same mean size, one transaction per row, into a fresh WAL database with
the engine's own `synchronous` setting (read back from the engine's connection), so the
ratio is the cost of everything the engine does beyond the one durable commit.
"""

from __future__ import annotations

import json

from scripts.bench_suite._context import Bench
from scripts.bench_suite._env import ROOT, cli_env, log
from scripts.bench_suite._model import Figure, Goal, Sample
from scripts.bench_suite._procs import run_timed

_SYNC_NAMES = {0: "OFF", 1: "NORMAL", 2: "FULL", 3: "EXTRA"}


def _child(b: Bench, *args: str, home, cwd) -> dict:
    proc = run_timed([str(b.bin / "python"), "-m", "scripts.bench_suite._child", *args],
                     env=cli_env(home, PYTHONPATH=str(ROOT)), cwd=cwd, timeout=300)
    proc.check(f"the {args[0]} child")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def run(b: Bench) -> None:
    """Add the emit-throughput figure."""
    n = 300 if b.options.quick else 10_000
    reps = b.reps(3)
    log(f"emit: {reps} x {n:,} events, and the bare SQLite loop")
    fig = Figure("emit", "emit throughput into the durable queue (one process)",
                 baseline_name="bare SQLite insert-and-commit loop (same row size, WAL, same "
                 "synchronous)",
                 goal=Goal("≥ 50% of baseline and ≥ 5,000/s",
                           lambda f: f.ratio >= 0.5 and f.value.median >= 5000))
    rates, base_rates, info = [], [], {}
    try:
        for rep in range(reps):
            d = b.work / f"emit-{rep}"
            (d / "project" / ".kittify").mkdir(parents=True)
            (d / "bare").mkdir()
            result = _child(b, "emit", str(n), home=d / "home", cwd=d / "project")
            if result["dropped"]:
                raise RuntimeError(f"{result['dropped']} events were dropped")
            rates.append(result["rate"])
            info = result
            base = _child(b, "sqlite", str(n), str(round(result["row_bytes"])),
                          str(result["synchronous"]), home=d / "home", cwd=d / "bare")
            base_rates.append(base["rate"])
    except (RuntimeError, ValueError, KeyError) as exc:
        b.add(fig.fail(str(exc)))
        return
    fig.value = Sample(rates, "events/s")
    fig.baseline = Sample(base_rates, "events/s")
    fig.notes.append(f"{n:,} events per run, mean row {info['row_bytes']:.0f} B, journal "
                     f"{info['journal_mode']}, synchronous "
                     f"{_SYNC_NAMES.get(info['synchronous'], info['synchronous'])} in both")
    fig.extra = {"events_per_run": n, "row_bytes": info["row_bytes"],
                 "synchronous": info["synchronous"], "journal_mode": info["journal_mode"]}
    b.add(fig.finish())
