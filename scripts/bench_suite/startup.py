"""Start-up figures: `--help`, `auth status` and `sync status` against bare `import typer`.

All run from the runtime-only bench venv, logged in to the loopback server (neither status
command contacts it). `sync status` is measured with a few queued events here; the sync
group adds a row with 100,000 queued events.
"""

from __future__ import annotations

import subprocess
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
    """Add the three start-up figures."""
    log("start-up: logging in and timing the commands")
    account = b.account()
    samples, errors, tool = measure(b, account.home, account.project, [TYPER, HELP, AUTH, SYNC])
    note = "logged in, empty queue"
    b.add(_figure("startup-help", f"`{HELP}`", HELP, TYPER, 1.5, samples, errors, tool, note))
    b.add(_figure("startup-auth-status", f"`{AUTH}`", AUTH, TYPER, 1.3, samples, errors, tool,
                  note))
    b.add(_figure("startup-sync-status", f"`{SYNC}`", SYNC, HELP, 2.0, samples, errors, tool,
                  note))


def sync_status_full_queue(b: Bench, home: Path, cwd: Path, pending: int) -> None:
    """The extra row: `sync status` with the queue at `pending` events."""
    samples, errors, tool = measure(b, home, cwd, [HELP, SYNC], runs=10)
    b.add(_figure("startup-sync-status-full", f"`{SYNC}`, {pending:,} events queued", SYNC, HELP,
                  2.0, samples, errors, tool, f"logged in, {pending:,} events queued"))
