"""Start-up figures: `--help`, `auth status` and `sync status` against bare `import typer`,
and an emitting command with sync on against the same command with sync off.

All run from the runtime-only bench venv, logged in to the loopback server (neither status
command contacts it). `sync status` is measured with a few queued events here; the sync
group adds a row with 100,000 queued events. The emitting command
(`agent tasks add-history`) runs with the server up, once with `SPEC_KITTY_SYNC_AUTO_START=1`
and once with `=0`, interleaved; afterwards the figure checks that every event reached the
server (the exit push runs in a detached flush, after the command has exited).
"""

from __future__ import annotations

import os
import sqlite3
import subprocess
import time
from pathlib import Path

from scripts.bench_suite._context import Bench
from scripts.bench_suite._env import cli_env, log
from scripts.bench_suite._model import Figure, Sample, at_most
from scripts.bench_suite._timing import check_runs, wall_times

TYPER = "python -c \"import typer\""
HELP = "spec-kitty --help"
AUTH = "spec-kitty auth status"
SYNC = "spec-kitty sync status"


def measure(b: Bench, home: Path, cwd: Path, names: list[str],
            runs: int = 20) -> tuple[dict[str, Sample], dict[str, str], str]:
    """Time the named commands; return name -> Sample (ms), name -> error, tool."""
    bin_ = b.bin
    every = {TYPER: [str(bin_ / "python"), "-c", "import typer"],
             HELP: [str(bin_ / "spec-kitty"), "--help"],
             AUTH: [str(bin_ / "spec-kitty"), "auth", "status"],
             SYNC: [str(bin_ / "spec-kitty"), "sync", "status"]}
    commands = {n: every[n] for n in names}
    env = cli_env(home)
    runs, warmup, rounds = (2, 0, 1) if b.options.quick else (runs, 3, runs // 5)
    errors: dict[str, str] = {}
    try:
        times, tool = wall_times(commands, env, runs=runs, warmup=warmup, cwd=cwd, rounds=rounds)
    except subprocess.CalledProcessError:
        # hyperfine stops at the first failing command: find the failures, time the rest.
        errors = check_runs(commands, env, cwd)
        ok = {n: c for n, c in commands.items() if n not in errors}
        times, tool = wall_times(ok, env, runs=runs, warmup=warmup, cwd=cwd,
                                 rounds=rounds) if ok else ({}, "-")
    return {n: Sample([t * 1000 for t in ts], "ms") for n, ts in times.items()}, errors, tool


def _figure(fid: str, name: str, value: str, base: str, limit: float,
            samples: dict[str, Sample], errors: dict[str, str], tool: str, note: str) -> Figure:
    fig = Figure(fid, name, baseline_name=f"`{base}`", goal=at_most(limit))
    for needed in (value, base):
        if needed in errors:
            return fig.fail(errors[needed])
    fig.value, fig.baseline = samples[value], samples[base]
    fig.notes.append(f"{tool}, runtime-only venv; {note}")
    return fig.finish()


def run(b: Bench) -> None:
    """Add the start-up figures."""
    log("start-up: logging in and timing the commands")
    account = b.account()
    samples, errors, tool = measure(b, account.home, account.project, [TYPER, HELP, AUTH, SYNC])
    note = "logged in, empty queue"
    b.add(_figure("startup-help", f"`{HELP}`", HELP, TYPER, 1.5, samples, errors, tool, note))
    b.add(_figure("startup-auth-status", f"`{AUTH}`", AUTH, TYPER, 1.3, samples, errors, tool,
                  note))
    b.add(_figure("startup-sync-status", f"`{SYNC}`", SYNC, HELP, 2.0, samples, errors, tool,
                  note))
    emitting_command(b)


_WP = """---
work_package_id: WP01
title: Part WP01
lane: planned
dependencies: []
history: []
---

Body of WP01.
"""


def _pending(home: Path) -> int:
    total = 0
    for db in (home / "queues").glob("*.sqlite3"):
        if db.name == "clock.sqlite3":
            continue
        conn = sqlite3.connect(str(db))
        try:
            total += int(conn.execute(
                "SELECT count(*) FROM queue").fetchone()[0])
        finally:
            conn.close()
    return total


def _run_once(argv: list[str], env: dict[str, str], cwd: Path) -> tuple[float, float]:
    """Run `argv` once; return its wall time and its CPU time (user + system), in seconds.

    The CPU time is the process's own (and its waited-for children's): a detached flush it
    leaves behind is not counted, as it does not hold up the person at the prompt.
    """
    start = time.perf_counter()
    proc = subprocess.Popen(argv, env=env, cwd=cwd, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - start
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode != 0:
        raise RuntimeError(f"`{' '.join(argv[-6:])}` exited {proc.returncode}")
    return wall, usage.ru_utime + usage.ru_stime


def emitting_command(b: Bench) -> None:
    """The figure: an emitting command with sync on, against the same command with it off."""
    account = b.account()
    feature = account.project / "kitty-specs" / "001-bench" / "tasks"
    feature.mkdir(parents=True, exist_ok=True)
    (feature.parent / "tasks.md").write_text("# Tasks\n")
    (feature / "WP01.md").write_text(_WP)
    fig = Figure("startup-emit", "`spec-kitty agent tasks add-history WP01 \"a note\"`, "
                 "logged in, server reachable", baseline_name="the same command with "
                 "`SPEC_KITTY_SYNC_AUTO_START=0`", goal=at_most(1.3))
    argv = [str(b.bin / "spec-kitty"), "agent", "tasks", "add-history", "WP01", "a note"]
    env = cli_env(account.home)
    on, off = {**env, "SPEC_KITTY_SYNC_AUTO_START": "1"}, {**env, "SPEC_KITTY_SYNC_AUTO_START": "0"}
    runs, warmup = (2, 0) if b.options.quick else (20, 3)
    wall = {"on": [], "off": []}
    cpu = {"on": [], "off": []}
    server = b.fresh_server("startup-emit")
    try:
        # Interleaved, sync off first: a burst of load hits both sides, and the last
        # command of the run has sync on, so its push takes every event.
        for index in range(warmup + runs):
            for side, side_env in (("off", off), ("on", on)):
                seconds, used = _run_once(argv, side_env, account.project)
                if index >= warmup:
                    wall[side].append(seconds * 1000)
                    cpu[side].append(used * 1000)
        # Every event leaves with a push after its command: wait for it (bounded).
        deadline = time.monotonic() + 60
        while (left := _pending(account.home)) and time.monotonic() < deadline:
            time.sleep(0.2)
    except RuntimeError as exc:
        b.add(fig.fail(str(exc)))
        return
    finally:
        server.stop()
    if left:
        b.add(fig.fail(f"{left} events were still queued 60 s after the last command"))
        return
    fig.value, fig.baseline = Sample(wall["on"], "ms"), Sample(wall["off"], "ms")
    cpu_on, cpu_off = Sample(cpu["on"], "ms"), Sample(cpu["off"], "ms")
    fig.notes.append(f"wall time, {runs} interleaved runs each, runtime-only venv; CPU time "
                     f"(user + system) {cpu_on.median:,.0f} ms with sync on, "
                     f"{cpu_off.median:,.0f} ms off ({cpu_on.median / cpu_off.median:.2f}x); "
                     "each run appends one HistoryAdded event, and every event had reached "
                     "the server afterwards")
    fig.extra = {"cpu_on_ms": cpu_on.median, "cpu_off_ms": cpu_off.median}
    b.add(fig.finish())


def sync_status_full_queue(b: Bench, home: Path, cwd: Path, pending: int) -> None:
    """The extra row: `sync status` with the queue at `pending` events."""
    samples, errors, tool = measure(b, home, cwd, [HELP, SYNC], runs=10)
    b.add(_figure("startup-sync-status-full", f"`{SYNC}`, {pending:,} events queued", SYNC, HELP,
                  2.0, samples, errors, tool, f"logged in, {pending:,} events queued"))
