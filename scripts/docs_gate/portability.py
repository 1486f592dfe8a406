"""Check 8 (non-blocking): build the same mkdocs.yml with Zensical, Material's successor.

Zensical lives in its own venv (created on first use with uv, pinned to 0.0.73, the newest
that installs here), so the project's lock stays clean. A `.pth` file lets that venv import
the project's Markdown extensions and packages (mkdocs-click, mkdocstrings, specify_cli) from
the main venv; the venv sits in the user's cache, one per main venv, so copies of the tree
(the tests', the bench's) reuse it instead of installing it inside the gate. The build runs
on a copy of the config whose `site_dir` points under `.cache/`, so site/ is never touched.
The result is reported, never fatal: "skipped: reason" when Zensical cannot be installed.
"""

from __future__ import annotations

import fcntl
import hashlib
import os
import re
import shutil
import subprocess
import sys
import sysconfig
from pathlib import Path

from scripts.docs_gate._common import (
    BIN,
    CACHE_DIR,
    ROOT,
    Options,
    Problem,
    Result,
    with_bytecode_cache,
)

VERSION = "0.0.73"
_PURELIB = Path(sysconfig.get_paths()["purelib"])
VENV = (Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "spec-kitty-docs-gate"
        / f"zensical-{VERSION}-{hashlib.sha256(str(_PURELIB).encode()).hexdigest()[:12]}")
_NOT_COPIED = {"site", "tests", "uv.lock", "node_modules"}


def _ensure_venv() -> str:
    """Create the Zensical venv if needed; returns an empty string or why it cannot."""
    VENV.parent.mkdir(parents=True, exist_ok=True)
    with open(VENV.parent / f"{VENV.name}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # copies of the tree may start it at the same time
        return _create_venv()


def _create_venv() -> str:
    zensical = VENV / "bin" / "zensical"
    stamp = VENV / ".docs-gate-version"
    if zensical.is_file() and stamp.is_file() and stamp.read_text() == VERSION:
        return ""
    uv = BIN / "uv"
    if not uv.is_file():
        return "uv is not in the venv"
    try:
        subprocess.run([str(uv), "venv", "-q", "--clear", str(VENV), "--python", sys.executable],
                       check=True, capture_output=True, text=True, timeout=300)
        subprocess.run([str(uv), "pip", "install", "-q", "--python", str(VENV / "bin" / "python"),
                        f"zensical=={VERSION}"], check=True, capture_output=True, text=True,
                       timeout=600)
    except subprocess.CalledProcessError as exc:
        last = (exc.stderr or exc.stdout or "").strip().splitlines()[-1:] or ["unknown error"]
        return f"cannot install zensical=={VERSION}: {last[0]}"
    except subprocess.TimeoutExpired:
        return f"installing zensical=={VERSION} timed out"
    site_packages = next((VENV / "lib").glob("python*/site-packages"))
    (site_packages / "docs_gate_main_venv.pth").write_text(f"{_PURELIB}\n", encoding="utf-8")
    stamp.write_text(VERSION)
    return ""


def run(options: Options) -> Result:
    """Build with Zensical into .cache/ and report warnings and errors (non-blocking)."""
    result = Result("portability", unit="pages", blocking=False)
    reason = _ensure_venv()
    if reason:
        result.skipped = reason
        return result
    work = CACHE_DIR / "zensical"
    out = work / "site"
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    # Zensical wants docs_dir, custom_dir... inside its project root: copy the small parts.
    for entry in ROOT.iterdir():
        if entry.name in _NOT_COPIED or entry.name.startswith("."):
            continue
        if entry.name == "src":
            (work / "src").symlink_to(entry)
        elif entry.is_dir():
            shutil.copytree(entry, work / entry.name,
                            ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
        elif entry.name != "mkdocs.yml":
            shutil.copy2(entry, work / entry.name)
    config = (ROOT / "mkdocs.yml").read_text(encoding="utf-8")
    config = re.sub(r"^site_dir:.*$", "", config, flags=re.M) + "\nsite_dir: site\n"
    (work / "mkdocs.yml").write_text(config, encoding="utf-8")
    # The project root too: mkdocs.yml loads `scripts.docs_gen.cli_intros`.
    env = with_bytecode_cache(os.environ)
    env.update(PYTHONPATH=os.pathsep.join([str(ROOT / "src"), str(ROOT)]),
               NO_MKDOCS_2_WARNING="1")
    try:
        proc = subprocess.run([str(VENV / "bin" / "zensical"), "build", "--strict", "--clean",
                               "-f", "mkdocs.yml"], cwd=work, env=env, capture_output=True,
                              text=True, timeout=600)
    except subprocess.TimeoutExpired:
        result.problems.append(Problem("mkdocs.yml", "zensical build timed out"))
        return result
    output = re.sub(r"\x1b\[[0-9;]*m", "", proc.stdout + proc.stderr).strip()
    if "Traceback" in output:  # keep the messages, drop Zensical's own stack
        head, _, tail = output.partition("Traceback")
        output = head + "\n" + tail.strip().splitlines()[-1]
    pages = sum(1 for _ in out.rglob("*.html")) if out.is_dir() else 0
    result.count = pages
    if proc.returncode != 0:
        lines = [x.rstrip() for x in output.splitlines() if x.strip()]
        result.problems.append(Problem("mkdocs.yml", f"zensical {VERSION} build --strict exited "
                                       f"{proc.returncode} (non-blocking)", "\n".join(lines[:20])))
    result.summary = f"zensical {VERSION}: {pages} pages built into {out.relative_to(ROOT)}"
    return result
