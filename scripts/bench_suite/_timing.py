"""Wall times: of short commands (hyperfine when installed, else our own loop with warm-up)
and of dashboard pages fetched over loopback."""

from __future__ import annotations

import json
import subprocess
import tempfile
import time
from pathlib import Path

from scripts.bench_suite._env import hyperfine


def check_runs(commands: dict[str, list[str]], env: dict[str, str],
               cwd: Path | None = None) -> dict[str, str]:
    """Run each command once; return name -> one-line error for those that fail."""
    errors = {}
    for name, cmd in commands.items():
        proc = subprocess.run(cmd, env=env, cwd=cwd, capture_output=True, text=True, timeout=60)
        if proc.returncode != 0:
            tail = " | ".join((proc.stderr or proc.stdout).strip().splitlines()[-2:])
            errors[name] = f"`{' '.join(Path(cmd[0]).name.split())} {' '.join(cmd[1:])}` " \
                           f"exited {proc.returncode}: {tail[:300]}"
    return errors


def _quote(arg: str) -> str:
    return "'" + arg.replace("'", "'\\''") + "'" if any(c in arg for c in " \"'") else arg


def wall_times(commands: dict[str, list[str]], env: dict[str, str], runs: int, warmup: int,
               cwd: Path | None = None, rounds: int = 1) -> tuple[dict[str, list[float]], str]:
    """Time each command `runs` times after `warmup` runs; return name -> seconds, tool used.

    With `rounds` > 1 the runs are split into that many rounds, each timing every command in
    turn (baseline, figure, baseline, figure...), so a burst of load from other processes
    hits both sides of a ratio instead of one.

    Raises:
        subprocess.CalledProcessError: A command exited non-zero.
    """
    if rounds > 1:
        merged: dict[str, list[float]] = {}
        tool = "-"
        per_round = max(1, runs // rounds)
        for index in range(rounds):
            times, tool = wall_times(commands, env, per_round, warmup if index == 0 else 1, cwd)
            for name, samples in times.items():
                merged.setdefault(name, []).extend(samples)
        return merged, f"{tool}, {rounds} interleaved rounds"
    tool = hyperfine()
    if tool:
        with tempfile.TemporaryDirectory() as tmp:
            out = Path(tmp) / "hf.json"
            cmd = [tool, "-N", "--style", "none", "--warmup", str(warmup), "--runs", str(runs),
                   "--export-json", str(out)]
            for name, argv in commands.items():
                cmd += ["-n", name, " ".join(_quote(a) for a in argv)]
            subprocess.run(cmd, env=env, cwd=cwd, check=True, capture_output=True, text=True,
                           timeout=900)
            data = json.loads(out.read_text())
        return {r["command"]: list(r["times"]) for r in data["results"]}, "hyperfine"
    times: dict[str, list[float]] = {}
    for name, argv in commands.items():
        for _ in range(warmup):
            subprocess.run(argv, env=env, cwd=cwd, stdout=subprocess.DEVNULL,
                           stderr=subprocess.DEVNULL, timeout=60)
        samples = []
        for _ in range(runs):
            start = time.perf_counter()
            subprocess.run(argv, env=env, cwd=cwd, stdout=subprocess.DEVNULL,
                           stderr=subprocess.DEVNULL, timeout=60, check=True)
            samples.append(time.perf_counter() - start)
        times[name] = samples
    return times, "own loop"


def page_times(client, url: str, runs: int, warmup: int) -> tuple[list[float], int]:
    """GET `url` `warmup` + `runs` times with `client` (an `httpx.Client`).

    Args:
        client: The logged-in client.
        url: The page.
        runs: GETs timed.
        warmup: GETs before them, not timed.

    Returns:
        The wall times of the last `runs` GETs in ms, and the size of the page in bytes.

    Raises:
        RuntimeError: A GET did not answer 200.
    """
    times: list[float] = []
    size = 0
    for i in range(warmup + runs):
        start = time.perf_counter()
        response = client.get(url)
        elapsed = (time.perf_counter() - start) * 1000
        if response.status_code != 200:
            raise RuntimeError(f"GET {url} answered {response.status_code}")
        size = len(response.content)
        if i >= warmup:
            times.append(elapsed)
    return times, size
