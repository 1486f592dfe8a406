"""Fixtures for the docs gate tests: run the gate on the real tree or on a drifted copy."""

from __future__ import annotations

import fcntl
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

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
def gate_run(tmp_path_factory: pytest.TempPathFactory):
    """The whole gate on the real tree, once per test run (shared by xdist workers through a
    lock file); its site is reused by the netlify and browser tests."""
    run_id = os.environ.get("PYTEST_XDIST_TESTRUNUID")
    if not run_id:
        site = tmp_path_factory.mktemp("gate") / "site"
        proc = run_gate(ROOT, "--skip", "portability", "--site-dir", str(site))
        return proc, site
    shared = tmp_path_factory.getbasetemp().parent / f"docs-gate-{run_id}"
    shared.mkdir(exist_ok=True)
    with open(shared / "lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        saved = shared / "result.json"
        site = shared / "site"
        if not saved.exists():
            proc = run_gate(ROOT, "--skip", "portability", "--site-dir", str(site))
            saved.write_text(json.dumps([proc.args, proc.returncode, proc.stdout, proc.stderr]),
                             encoding="utf-8")
        args, code, out, err = json.loads(saved.read_text(encoding="utf-8"))
    return subprocess.CompletedProcess(args, code, out, err), site
