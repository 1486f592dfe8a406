"""Fixtures for the docs-site tests: a throwaway copy of the project and a strict build of it."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
IGNORE = shutil.ignore_patterns(".venv", "site", ".git", "__pycache__", ".cache", "node_modules",
                                ".pytest_cache", "*.sqlite3", ".ruff_cache")
COPIED = ("mkdocs.yml", "docs", "toc", "scripts", "src")


def copy_project(dest: Path) -> Path:
    """Copy what the docs build reads (config, docs, toc, scripts, src) into `dest`."""
    dest.mkdir(parents=True, exist_ok=True)
    for name in COPIED:
        source = ROOT / name
        if source.is_dir():
            shutil.copytree(source, dest / name, ignore=IGNORE)
        else:
            shutil.copy2(source, dest / name)
    return dest


def docs_env(project: Path) -> dict[str, str]:
    """Environment that makes mkdocs import the copy's CLI, not the installed one."""
    env = dict(os.environ)
    env["PYTHONPATH"] = str(project / "src")
    env["NO_MKDOCS_2_WARNING"] = "1"
    env.pop("SPEC_KITTY_HOME", None)
    return env


def build(project: Path) -> subprocess.CompletedProcess[str]:
    """Run `mkdocs build --strict` on the copy (never -v: it skips anchor validation)."""
    return subprocess.run(
        [str(BIN / "mkdocs"), "build", "--strict", "-f", str(project / "mkdocs.yml"),
         "-d", str(project / "site")],
        cwd=project, env=docs_env(project), capture_output=True, text=True, timeout=300)


@pytest.fixture
def project(tmp_path: Path) -> Path:
    return copy_project(tmp_path / "project")
