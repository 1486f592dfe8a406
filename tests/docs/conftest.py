"""Fixtures for the docs gate tests: the site built once, and the gate run on a drifted copy."""

from __future__ import annotations

import fcntl
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from scripts.docs_gate import build
from scripts.docs_gate._common import Options

ROOT = Path(__file__).resolve().parents[2]
EXCLUDE = {".venv", "site", ".cache", ".git", "__pycache__", ".pytest_cache", ".ruff_cache",
           ".hypothesis", "node_modules", "tests", "bench-results.json"}


def run_gate(root: Path, *args: str, timeout: float = 600,
             **env: str) -> subprocess.CompletedProcess:
    """Run `python -m scripts.docs_gate ARGS` in `root`, importing the CLI from `root/src`."""
    full_env = {k: v for k, v in os.environ.items() if not k.startswith("SPEC_KITTY")}
    full_env.update({"PYTHONPATH": str(root / "src"), "NO_MKDOCS_2_WARNING": "1",
                     "PYTHONDONTWRITEBYTECODE": "1", **env})
    return subprocess.run([sys.executable, "-m", "scripts.docs_gate", *args], cwd=root,
                          env=full_env, capture_output=True, text=True, timeout=timeout)


def copy_project(dest: Path) -> Path:
    """Copy the project (sources, docs, config; no venv, site or caches) to `dest`."""
    dest.mkdir(parents=True, exist_ok=True)
    for entry in ROOT.iterdir():
        if entry.name in EXCLUDE:
            continue
        if entry.is_dir():
            shutil.copytree(entry, dest / entry.name, symlinks=True,
                            ignore=shutil.ignore_patterns(*EXCLUDE, "*.pyc"))
        else:
            shutil.copy2(entry, dest / entry.name)
    return dest


def drift(path: Path, old: str, new: str, count: int = 1) -> None:
    """Replace `old` by `new` in a copied file; fails the test when `old` is not there."""
    text = path.read_text(encoding="utf-8")
    if old not in text:
        pytest.fail(f"cannot apply the drift: {old!r} is not in {path}")
    path.write_text(text.replace(old, new, count), encoding="utf-8")


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
