"""Ruff over the whole tree: style, bugs, and docstrings on everything public (pydocstyle D1xx,
D417), which griffe does not flag when a docstring is missing altogether."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_ruff_is_clean():
    ruff = Path(sys.executable).parent / "ruff"
    r = subprocess.run([str(ruff), "check", "--output-format", "concise", "src", "scripts",
                        "tests"], cwd=ROOT, capture_output=True, text=True)
    assert r.returncode == 0, r.stdout + r.stderr
