"""Fixtures for the docs gate tests: the site built once per run.

Running the gate on a drifted copy of the project is `tests/_support/docs_project.py`."""

from __future__ import annotations

import fcntl
import json
import os
from pathlib import Path

import pytest
from scripts.docs_gate import build
from scripts.docs_gate._common import Options


@pytest.fixture(scope="session")
def built_site(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list[str]]:
    """The site, built once per test run by the gate's own build check (shared by xdist
    workers through a lock file): its folder and the build's problems, rendered."""
    run_id = os.environ.get("PYTEST_XDIST_TESTRUNUID")
    shared = (tmp_path_factory.getbasetemp().parent / f"docs-site-{run_id}" if run_id
              else tmp_path_factory.mktemp("docs-site"))
    shared.mkdir(exist_ok=True)
    with open(shared / "lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        saved = shared / "build.json"
        if not saved.exists():
            result = build.run(Options(site_dir=shared / "site"))
            saved.write_text(json.dumps([p.render() for p in result.problems]),
                             encoding="utf-8")
        problems = json.loads(saved.read_text(encoding="utf-8"))
    return shared / "site", problems
