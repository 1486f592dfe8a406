"""Expensive set-up made once per test run and shared by the pytest-xdist workers.

A module- or session-scoped fixture runs once per worker, so with `-n 2` a shared copy of the
project (or the site) would be built twice. `once_per_run` makes it in one folder shared by
the workers of this run, behind a lock: the first worker makes it, the others wait and read
its JSON result. (`--dist loadgroup` would keep such tests on one worker, but with pytest 9.2
and pytest-xdist 3.8 it silently stops grouping: pytest-dev/pytest-xdist#1386.)
"""

from __future__ import annotations

import fcntl
import json
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest


def once_per_run(factory: pytest.TempPathFactory, name: str,
                 make: Callable[[Path], Any]) -> tuple[Path, Any]:
    """Run `make(folder)` once per test run; return the folder and its (JSON) result.

    Args:
        factory: pytest's `tmp_path_factory`, which knows this run's temporary root.
        name: Names the shared folder; one `make` per name and run.
        make: Builds what is shared inside the folder it is given; returns what the
            fixtures need back, as JSON-serialisable data.

    Returns:
        The shared folder and what `make` returned (read back from JSON).
    """
    run_id = os.environ.get("PYTEST_XDIST_TESTRUNUID")
    shared = (factory.getbasetemp().parent / f"{name}-{run_id}" if run_id
              else factory.mktemp(name))
    shared.mkdir(exist_ok=True)
    with open(shared / "lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        saved = shared / "result.json"
        if not saved.exists():
            result = make(shared)
            saved.write_text(json.dumps(result), encoding="utf-8")
        return shared, json.loads(saved.read_text(encoding="utf-8"))
