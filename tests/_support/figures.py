"""Measured figures of the reliability and security suite (kill -9 trials, events lost, ...).

Tests add what they measured here; `tests/_support/suite_report.py` collects the figures of
every pytest-xdist worker and prints one table at the end of the run. Nothing is hard-coded:
a figure that no test touched is printed as "not run".
"""

from __future__ import annotations

import threading
from collections import Counter

ROWS: tuple[tuple[str, str], ...] = (
    ("kill_trials", "kill -9 trials run"),
    ("refresh_kill_trials", "kill -9 trials during a token refresh"),
    ("refresh_timeout_trials", "client timeouts during a token refresh"),
    ("account_switch_trials", "account switches with queued events"),
    ("clock_loss_trials", "clock-loss trials"),
    ("poison_replays", "poison-clock replays (pull + socket)"),
    ("lamport_violations", "Lamport values reused or out of order"),
    ("events_lost", "events lost"),
    ("events_doubled", "events doubled"),
    ("concurrent_processes", "concurrent processes"),
    ("fault_kinds", "fault kinds injected"),
    ("fuzz_inputs", "fuzz inputs tried"),
    ("http_500", "500s seen"),
    ("secret_leaks", "secret leaks found"),
    ("hostile_answers", "hostile server answers served"),
    ("hostile_cli_runs", "  of them to CLI subprocesses (runs)"),
    ("hostile_in_process_calls", "  in-process calls of the same code"),
    ("hostile_ws_sessions", "  WebSocket sessions (in-process client)"),
    ("tracebacks", "tracebacks in CLI output or in-process calls"),
    ("pull_requests_max", "most requests of one pull (bound: pull.MAX_PAGES)"),
)
"""Figure key and printed label, in table order."""

MAX_KEYS = {"concurrent_processes", "pull_requests_max"}
"""Figures combined by maximum across tests and workers (the others are summed)."""

_lock = threading.Lock()
_counts: Counter[str] = Counter()
_kinds: set[str] = set()
_touched: set[str] = set()
_lines: dict[str, str] = {}


def add(key: str, amount: int = 1) -> None:
    """Add `amount` to a summed figure (0 still marks it as measured)."""
    with _lock:
        _touched.add(key)
        if key in MAX_KEYS:
            _counts[key] = max(_counts[key], amount)
        else:
            _counts[key] += amount


def fault_kind(name: str) -> None:
    """Record one kind of fault injected (counted once however often it is injected)."""
    with _lock:
        _touched.add("fault_kinds")
        _kinds.add(name)


def line(key: str, text: str) -> None:
    """Record one measured line (latencies, counts against a limit), printed under the table.

    A later line with the same key replaces the earlier one.
    """
    with _lock:
        _lines[key] = text


def snapshot() -> dict:
    """Return this process's figures as plain data (sent from xdist workers)."""
    with _lock:
        return {"counts": dict(_counts), "kinds": sorted(_kinds), "touched": sorted(_touched),
                "lines": dict(_lines)}


def merge_lines(snapshots: list[dict]) -> list[str]:
    """The measured lines of several processes, ordered by key."""
    lines: dict[str, str] = {}
    for snap in snapshots:
        lines.update(snap.get("lines", {}))
    return [lines[key] for key in sorted(lines)]


def merge(snapshots: list[dict]) -> tuple[dict[str, int], list[str], set[str]]:
    """Combine the snapshots of several processes into totals, fault kinds and touched keys."""
    counts: Counter[str] = Counter()
    kinds: set[str] = set()
    touched: set[str] = set()
    for snap in snapshots:
        for key, value in snap.get("counts", {}).items():
            counts[key] = max(counts[key], value) if key in MAX_KEYS else counts[key] + value
        kinds.update(snap.get("kinds", []))
        touched.update(snap.get("touched", []))
    counts["fault_kinds"] = len(kinds)
    return dict(counts), sorted(kinds), touched
