"""A throwaway copy of the project for the docs tests, and the docs tools run on it.

A test that breaks the docs or the code on purpose (an orphan page, a drifted default) does
it in a copy, never in the checkout: `copy_project` makes one, `drift` edits it, and
`build` (a strict `mkdocs build`) or `run_gate` (the whole docs gate) runs on it, importing
the CLI from the copy's `src/` rather than the installed one; `wait_for_page` reads a page
the preview server serves from it.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
EXCLUDE = {".venv", "site", ".cache", ".git", "__pycache__", ".pytest_cache", ".ruff_cache",
           ".hypothesis", "node_modules", "tests", "bench-results.json"}


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


def docs_env(project: Path, **extra: str) -> dict[str, str]:
    """Environment that makes mkdocs import the copy's CLI, not the installed one, with no
    `SPEC_KITTY_*` variable of this process."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("SPEC_KITTY")}
    env.update({"PYTHONPATH": str(project / "src"), "NO_MKDOCS_2_WARNING": "1", **extra})
    return env


def build(project: Path) -> subprocess.CompletedProcess[str]:
    """Run `mkdocs build --strict` on the copy (never -v: it skips anchor validation)."""
    return subprocess.run(
        [str(BIN / "mkdocs"), "build", "--strict", "-f", str(project / "mkdocs.yml"),
         "-d", str(project / "site")],
        cwd=project, env=docs_env(project), capture_output=True, text=True, timeout=300)


def run_gate(root: Path, *args: str, timeout: float = 600,
             **env: str) -> subprocess.CompletedProcess:
    """Run `python -m scripts.docs_gate ARGS` in `root`, importing the CLI from `root/src`."""
    return subprocess.run([sys.executable, "-m", "scripts.docs_gate", *args], cwd=root,
                          env=docs_env(root, PYTHONDONTWRITEBYTECODE="1", **env),
                          capture_output=True, text=True, timeout=timeout)


def _get(url: str) -> str | None:
    try:
        with urllib.request.urlopen(url, timeout=5) as response:  # noqa: S310 - loopback only
            return response.read().decode("utf-8")
    except (urllib.error.URLError, ConnectionError, TimeoutError):
        return None


def wait_for_page(url: str, needle: str, seconds: float) -> str:
    """Poll `url` until its page contains `needle` and return the page; a hang guard of
    `seconds`, not a timing assertion."""
    deadline = time.monotonic() + seconds
    last = ""
    while time.monotonic() < deadline:
        body = _get(url)
        if body is not None:
            last = body
            if needle in body:
                return body
        time.sleep(0.5)
    raise AssertionError(f"{needle!r} did not appear at {url} within {seconds} s "
                         f"(page had {len(last)} chars)")
