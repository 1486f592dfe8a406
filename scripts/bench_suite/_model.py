"""Figures and samples: what one row of the benchmark table holds, and how a goal is judged."""

from __future__ import annotations

import statistics
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any


@dataclass
class Sample:
    """Repeated measurements of one quantity (seconds, events/s, ms, MB...)."""

    runs: list[float]
    unit: str

    @property
    def median(self) -> float:
        return statistics.median(self.runs)

    @property
    def min(self) -> float:
        return min(self.runs)

    @property
    def max(self) -> float:
        return max(self.runs)

    def to_json(self) -> dict[str, Any]:
        return {"unit": self.unit, "median": self.median, "min": self.min, "max": self.max,
                "runs": self.runs, "n": len(self.runs)}


@dataclass
class Goal:
    """A goal: a text for the table and a predicate on the figure.

    `check` gets the figure and returns True (met) or False (missed).
    """

    text: str
    check: Callable[[Figure], bool] | None = None


@dataclass
class Figure:
    """One row of the table."""

    id: str
    name: str
    value: Sample | None = None
    baseline_name: str = ""
    baseline: Sample | None = None
    ratio: float | None = None
    goal: Goal = field(default_factory=lambda: Goal("reported"))
    status: str = "pending"
    notes: list[str] = field(default_factory=list)
    extra: dict[str, Any] = field(default_factory=dict)
    higher_is_better: bool = False

    def finish(self) -> Figure:
        """Compute the ratio (median over median) and judge the goal."""
        if self.value is None:
            if self.status == "pending":
                self.status = "error"
            return self
        if self.baseline is not None and self.ratio is None and self.baseline.median:
            self.ratio = self.value.median / self.baseline.median
        if self.goal.check is None:
            self.status = "info"
        else:
            try:
                self.status = "pass" if self.goal.check(self) else "miss"
            except (TypeError, ValueError, ZeroDivisionError):
                self.status = "error"
        return self

    def fail(self, reason: str) -> Figure:
        """Mark the figure as not measured, with a one-line reason."""
        self.status = "error"
        self.notes.append(reason)
        return self

    def skip(self, reason: str) -> Figure:
        """Mark the figure as skipped (quick mode, or --only)."""
        self.status = "skipped"
        self.notes.append(reason)
        return self

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "name": self.name,
            "value": self.value.to_json() if self.value else None,
            "baseline_name": self.baseline_name or None,
            "baseline": self.baseline.to_json() if self.baseline else None,
            "ratio": self.ratio,
            "goal": self.goal.text,
            "status": self.status,
            "notes": self.notes,
            "extra": self.extra,
        }


def at_most(limit: float) -> Goal:
    """Goal on the ratio: ≤ `limit`×."""
    return Goal(f"≤ {limit:g}×", lambda f: f.ratio is not None and f.ratio <= limit)


def at_least(limit: float) -> Goal:
    """Goal on the ratio: ≥ `limit`× (a throughput against its floor)."""
    return Goal(f"≥ {limit:g}×", lambda f: f.ratio is not None and f.ratio >= limit)


def value_at_most(limit: float, unit: str) -> Goal:
    """Goal on the median value: ≤ `limit` `unit`."""
    return Goal(f"≤ {limit:g} {unit}", lambda f: f.value is not None and f.value.median <= limit)


def value_below(limit: float, unit: str) -> Goal:
    """Goal on the worst run: < `limit` `unit` (peak memory: the max counts)."""
    return Goal(f"< {limit:g} {unit} (every run)",
                lambda f: f.value is not None and f.value.max < limit)

