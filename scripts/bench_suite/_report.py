"""The markdown table and bench-results.json."""

from __future__ import annotations

import json
import os
import platform
import time
from pathlib import Path
from typing import Any

from scripts.bench_suite._model import Figure, Sample


def fmt(value: float, unit: str) -> str:
    """A number with sensible digits for its unit."""
    if unit in ("events/s",):
        return f"{value:,.0f}"
    if unit == "s":
        return f"{value:.2f}"
    if unit in ("ms", "MB"):
        return f"{value:,.1f}" if value < 1000 else f"{value:,.0f}"
    return f"{value:.3g}"


def cell(sample: Sample | None) -> str:
    """`median (min–max) unit`, or a dash."""
    if sample is None:
        return "–"
    return (f"{fmt(sample.median, sample.unit)} ({fmt(sample.min, sample.unit)}–"
            f"{fmt(sample.max, sample.unit)}) {sample.unit}, n={len(sample.runs)}")


def _escape(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def table(figures: list[Figure]) -> str:
    """The markdown table: one row per figure."""
    lines = ["| figure | median (min–max) | baseline | baseline median (min–max) | ratio | goal "
             "| result |", "|---|---|---|---|---|---|---|"]
    for f in figures:
        ratio = f"{f.ratio:.2f}×" if f.ratio is not None else "–"
        result = {"pass": "pass", "miss": "**MISS**", "error": "**ERROR**", "info": "reported",
                  "skipped": "skipped"}.get(f.status, f.status)
        lines.append("| " + " | ".join(_escape(x) for x in (
            f.name, cell(f.value), f.baseline_name or "–", cell(f.baseline), ratio,
            f.goal.text, result)) + " |")
    return "\n".join(lines)


def notes(figures: list[Figure]) -> str:
    """Numbered notes under the table (how each figure was measured, errors)."""
    out = []
    for f in figures:
        if f.notes:
            out.append(f"- **{f.name}**: " + "; ".join(f.notes))
    return "\n".join(out)


def write_json(path: Path, figures: list[Figure], meta: dict[str, Any]) -> None:
    """Write bench-results.json."""
    data = {"meta": meta, "figures": [f.to_json() for f in figures]}
    path.write_text(json.dumps(data, indent=2, ensure_ascii=False) + "\n")


def meta(started: float, options: Any) -> dict[str, Any]:
    """Machine and run facts for the JSON file."""
    load = os.getloadavg() if hasattr(os, "getloadavg") else None
    return {"started_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(started)),
            "seconds": time.time() - started, "quick": options.quick, "scale": options.scale,
            "cpus": os.cpu_count(), "python": platform.python_version(),
            "platform": platform.platform(), "loadavg_at_end": load}
