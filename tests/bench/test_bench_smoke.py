"""Smoke test of the benchmark harness: a `--quick` run and the shape of what it reports.

The real figures come from `./scripts/bench` (minutes, not part of CI); this only proves the
harness still runs end to end against the real CLI and server and reports every figure with
median/min/max, baseline, ratio, goal and result.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from scripts.bench_suite import _report
from scripts.bench_suite._model import Figure, Sample, at_most

ROOT = Path(__file__).resolve().parents[2]
STATUSES = {"pass", "miss", "info", "error", "skipped"}


def _check_sample(sample: dict) -> None:
    assert set(sample) >= {"unit", "median", "min", "max", "runs", "n"}
    assert sample["n"] == len(sample["runs"]) >= 1
    assert sample["min"] <= sample["median"] <= sample["max"]


@pytest.mark.slow
def test_quick_run_reports_every_figure(tmp_path: Path) -> None:
    out = tmp_path / "bench-results.json"
    # The timeout is a hang guard only: how long the bench takes is its own figure.
    proc = subprocess.run(
        [sys.executable, "-m", "scripts.bench_suite", "--quick", "--only",
         "startup,emit,push,ingest,dashboard", "--json", str(out)],
        cwd=ROOT, capture_output=True, text=True, timeout=280)
    assert proc.returncode in (0, 1), proc.stderr[-2000:]
    data = json.loads(out.read_text())
    assert data["meta"]["quick"] is True and data["meta"]["seconds"] > 0
    figures = data["figures"]
    ids = [f["id"] for f in figures]
    for wanted in ("startup-help", "startup-auth-status", "startup-sync-status", "emit", "push",
                   "mem-sync-now", "startup-sync-status-full", "ingest", "mem-server",
                   "dashboard-overview", "dashboard-board", "dashboard-activity"):
        assert wanted in ids, (wanted, proc.stderr[-2000:])
    for figure in figures:
        assert figure["status"] in STATUSES
        assert figure["goal"]
        if figure["status"] == "error":
            assert figure["notes"], figure  # an unmeasured figure says why
            continue
        _check_sample(figure["value"])
        if figure["baseline"] is not None:
            _check_sample(figure["baseline"])
            assert figure["ratio"] == pytest.approx(
                figure["value"]["median"] / figure["baseline"]["median"])
    # The start-up and emit figures need only the CLI: they must be measured.
    by_id = {f["id"]: f for f in figures}
    for fid in ("startup-help", "startup-auth-status", "emit"):
        assert by_id[fid]["status"] in ("pass", "miss"), by_id[fid]
    # The markdown table: a header, a separator, one row per figure, seven columns each.
    lines = [line for line in proc.stdout.splitlines() if line.startswith("|")]
    assert lines[0].startswith("| figure | median (min–max) | baseline |")
    assert len(lines) == 2 + len(figures)
    for line, figure in zip(lines[2:], figures, strict=True):
        assert line.count(" | ") == 6 and figure["name"].replace("|", "\\|") in line


def test_table_and_goal_logic() -> None:
    fast = Figure("x", "x", value=Sample([1.0, 2.0, 3.0], "s"),
                  baseline=Sample([2.0, 2.0, 5.0], "s"), baseline_name="b",
                  goal=at_most(1.5)).finish()
    assert fast.ratio == 1.0 and fast.status == "pass"
    slow = Figure("y", "y | pipe", value=Sample([9.0], "s"), baseline=Sample([2.0], "s"),
                  goal=at_most(1.5)).finish()
    assert slow.status == "miss"
    missing = Figure("z", "z").fail("no server")
    table = _report.table([fast, slow, missing]).splitlines()
    assert len(table) == 5
    assert "2.00 (1.00–3.00) s, n=3" in table[2] and "| pass |" in table[2]
    assert "y \\| pipe" in table[3] and "**MISS**" in table[3]
    assert "**ERROR**" in table[4]
