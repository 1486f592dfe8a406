"""Small helpers of the load tests: latency percentiles, and a prober that times a request
over and over while something else hammers the server."""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable


def percentile(values: list[float], pct: float) -> float:
    """The nearest-rank percentile of `values` (0 for none)."""
    if not values:
        return 0.0
    ordered = sorted(values)
    return ordered[max(0, math.ceil(pct / 100 * len(ordered)) - 1)]


def describe_ms(values: list[float]) -> str:
    """`n=.. p50=.. p99=.. max=.. ms` for latencies in seconds."""
    if not values:
        return "n=0"
    return (f"n={len(values)} p50={percentile(values, 50) * 1000:.0f} "
            f"p99={percentile(values, 99) * 1000:.0f} max={max(values) * 1000:.0f} ms")


class Prober:
    """Call `probe()` in a thread until stopped; record each call's duration and result.

    `probe` returns a status code (or raises; the exception's type name is recorded).
    """

    def __init__(self, probe: Callable[[], int], pause: float = 0.02) -> None:
        self.probe = probe
        self.pause = pause
        self.latencies: list[float] = []
        self.results: list[int | str] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self) -> Prober:
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join(60)

    def _run(self) -> None:
        while not self._stop.is_set():
            start = time.perf_counter()
            try:
                result: int | str = self.probe()
            except Exception as exc:  # noqa: BLE001 - recorded, the test asserts on it
                result = type(exc).__name__
            self.latencies.append(time.perf_counter() - start)
            self.results.append(result)
            self._stop.wait(self.pause)
