"""Where things are: the project, its venv, the runtime-only bench venv, and tool discovery.

Start-up figures run the CLI from `.cache/bench-venv`, a venv with only the CLI's locked
runtime dependencies (`uv export --no-default-groups --no-dev`) and the project installed
editable. The main venv also holds the docs toolchain (click, mkdocs...), which makes httpx
import its own CLI module and slows every import; users do not have that.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
MAIN_BIN = ROOT / ".venv" / "bin"
BENCH_VENV = ROOT / ".cache" / "bench-venv"
BENCH_BIN = BENCH_VENV / "bin"
SERVER_SECRET = "bench-secret-" + "k" * 40
_STAMP = BENCH_VENV / ".bench-stamp"
_T0 = time.monotonic()


def log(message: str) -> None:
    """Progress line on stderr, with the seconds since the bench started."""
    print(f"[bench {time.monotonic() - _T0:6.1f}s] {message}", file=sys.stderr, flush=True)


def _lock_hash() -> str:
    digest = hashlib.sha256()
    for name in ("uv.lock", "pyproject.toml"):
        digest.update((ROOT / name).read_bytes())
    return digest.hexdigest()[:32]


def _uv() -> str:
    found = MAIN_BIN / "uv"
    if found.exists():
        return str(found)
    which = shutil.which("uv")
    if which is None:
        raise RuntimeError("uv is not installed in .venv; run ./scripts/test or ./scripts/build "
                           "once to bootstrap it")
    return which


def ensure_bench_venv() -> Path:
    """Create (or reuse) the runtime-only venv and return its bin directory.

    It is rebuilt only when uv.lock or pyproject.toml change. The project is installed
    editable, so source edits need no rebuild.
    """
    want = _lock_hash()
    if (BENCH_BIN / "spec-kitty").exists() and _STAMP.exists() and _STAMP.read_text() == want:
        return BENCH_BIN
    log("creating the runtime-only bench venv in .cache/bench-venv")
    uv = _uv()
    shutil.rmtree(BENCH_VENV, ignore_errors=True)
    BENCH_VENV.parent.mkdir(parents=True, exist_ok=True)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("UV_PROJECT", "VIRTUAL_ENV"))}
    run = dict(cwd=ROOT, env=env, check=True, capture_output=True, text=True, timeout=600)
    subprocess.run([uv, "venv", "-q", "--python", str(MAIN_BIN / "python"), str(BENCH_VENV)],
                   **run)
    requirements = subprocess.run(
        [uv, "export", "--frozen", "--no-default-groups", "--no-dev", "--no-hashes",
         "--no-emit-project", "-q"], **run).stdout
    req_file = BENCH_VENV / "requirements.txt"
    req_file.write_text(requirements)
    python = str(BENCH_BIN / "python")
    for args in (["-r", str(req_file)], ["--no-deps", "-e", "."]):
        try:  # the wheels are in uv's cache after ./scripts/test: no index needed
            subprocess.run([uv, "pip", "install", "-q", "--offline", "--python", python, *args],
                           **run)
        except subprocess.CalledProcessError:
            subprocess.run([uv, "pip", "install", "-q", "--python", python, *args], **run)
    _STAMP.write_text(want)
    return BENCH_BIN


def hyperfine() -> str | None:
    """Path of hyperfine, or None (then the harness times its own loop)."""
    return shutil.which("hyperfine")


def cli_env(home: Path, **extra: str) -> dict[str, str]:
    """Environment of a CLI child: isolated SPEC_KITTY_HOME, no colour, fixed width."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("SPEC_KITTY")}
    env.update({"SPEC_KITTY_HOME": str(home), "NO_COLOR": "1", "COLUMNS": "100",
                "HOME": str(home.parent)})
    env.pop("PYTHONPATH", None)
    env.pop("PYTHONDONTWRITEBYTECODE", None)  # start-up figures need the bytecode cache
    env.update(extra)
    return env


def server_env(**extra: str) -> dict[str, str]:
    """Environment of the reference server child (fixed JWT secret, so restarts keep tokens)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("SPEC_KITTY")}
    env["SPEC_KITTY_SERVER_SECRET"] = SERVER_SECRET
    env.update(extra)
    return env


def snapshot_tree(dest: Path) -> Path:
    """Copy the project (without venvs, caches, site and git) to `dest` for the docs figures.

    The docs gate, MkDocs and the hooks locate the project from their own files, so the copy
    builds and checks itself. It also keeps the figures stable while the tree is being edited.
    """
    skip = {".venv", ".cache", "site", ".git", "__pycache__", ".pytest_cache", ".ruff_cache",
            ".hypothesis", "bench-results.json", "node_modules"}

    def ignore(_dir: str, names: list[str]) -> set[str]:
        return {n for n in names if n in skip or n.endswith(".egg-info")}

    shutil.copytree(ROOT, dest, ignore=ignore, symlinks=True)
    return dest
