"""The install the README and the docs' Install section show works in a fresh environment:
`uv tool install --python 3.11 ".[server]"` from the checkout, with an empty HOME, tool
directory and cache, gives working `spec-kitty` and `spec-kitty-server` commands."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests._support.docs_project import ROOT

pytestmark = pytest.mark.slow

INSTALL = 'uv tool install --python 3.11 ".[server]"'


def test_readme_and_install_page_show_the_same_install():
    for page in (ROOT / "README.md", ROOT / "docs" / "index.md"):
        text = page.read_text(encoding="utf-8")
        assert INSTALL in text, page
        assert "externally-managed-environment" in text, page
    readme = (ROOT / "README.md").read_text(encoding="utf-8").splitlines()
    assert readme[3].startswith("./scripts/build") and readme[4].startswith("./scripts/test")


def test_uv_tool_install_in_a_fresh_environment(tmp_path: Path):
    uv = Path(sys.executable).parent / "uv"
    if not uv.exists():
        uv = Path(shutil.which("uv") or "uv")
    home = tmp_path / "home"
    home.mkdir()
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("SPEC_KITTY", "VIRTUAL_ENV", "UV_", "PYTHONPATH"))}
    env.update(HOME=str(home), UV_TOOL_DIR=str(tmp_path / "tools"),
               UV_TOOL_BIN_DIR=str(tmp_path / "bin"), UV_CACHE_DIR=str(tmp_path / "cache"))
    checkout = tmp_path / "checkout"
    shutil.copytree(ROOT, checkout, ignore=shutil.ignore_patterns(
        ".venv", "site", ".cache", ".git", "__pycache__", "node_modules", "tests"))
    args = [str(uv), *INSTALL.split()[1:-1], ".[server]"]
    proc = subprocess.run(args, cwd=checkout, env=env, capture_output=True, text=True,
                          timeout=900)
    assert proc.returncode == 0, proc.stderr[-3000:]
    version = subprocess.run([str(tmp_path / "bin" / "spec-kitty"), "--version"], env=env,
                             capture_output=True, text=True, timeout=120)
    assert version.returncode == 0 and version.stdout.startswith("spec-kitty "), version
    server = subprocess.run([str(tmp_path / "bin" / "spec-kitty-server"), "--help"], env=env,
                            capture_output=True, text=True, timeout=120)
    assert server.returncode == 0 and "serve" in server.stdout, server
