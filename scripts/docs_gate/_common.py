"""Shared types and paths of the docs gate: results, problems, the project root and its site."""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
"""The project being checked: the tree that holds this copy of the gate."""

BIN = Path(sys.executable).parent
"""Directory of the running interpreter's console scripts (mkdocs, linkchecker, spec-kitty, uv)."""

DOCS_DIR = ROOT / "docs"
SRC_DIR = ROOT / "src"
CACHE_DIR = ROOT / ".cache" / "docs_gate"
PYCACHE = CACHE_DIR / "pycache"
"""Bytecode cache of the Python processes the checks start (`PYTHONPYCACHEPREFIX`)."""


@dataclass
class Problem:
    """One thing the gate found wrong: where it is, what is wrong, and what to do."""

    where: str
    message: str
    detail: str = ""

    def render(self) -> str:
        """Format as `file:line: message`, followed by an indented detail block if any."""
        head = f"{self.where}: {self.message}" if self.where else self.message
        if not self.detail:
            return head
        body = "\n".join("      " + line for line in self.detail.rstrip("\n").splitlines())
        return f"{head}\n{body}"


@dataclass
class Result:
    """The outcome of one check."""

    name: str
    count: int = 0
    unit: str = "items"
    problems: list[Problem] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    seconds: float = 0.0
    skipped: str = ""
    blocking: bool = True
    summary: str = ""

    @property
    def failed(self) -> bool:
        """True when the check found problems (non-blocking checks never fail the gate)."""
        return bool(self.problems)


@dataclass
class Options:
    """Command-line options shared by every check."""

    update: bool = False
    external: bool = False
    site_dir: Path = field(default_factory=lambda: ROOT / "site")


def rel(path: Path | str) -> str:
    """Return `path` relative to the project root when it is inside it."""
    path = Path(path)
    try:
        return str(path.resolve().relative_to(ROOT))
    except ValueError:
        return str(path)


def subprocess_env(**extra: str) -> dict[str, str]:
    """Environment for child processes: the checked tree's `src` and root (its `scripts`, which
    mkdocs.yml loads a Markdown extension from) first on the import path."""
    env = dict(os.environ)
    paths = [str(SRC_DIR), str(ROOT)] + [p for p in env.get("PYTHONPATH", "").split(os.pathsep)
                                         if p]
    env["PYTHONPATH"] = os.pathsep.join(dict.fromkeys(paths))
    env["NO_MKDOCS_2_WARNING"] = "1"
    env.update(extra)
    return env


def with_bytecode_cache(env: dict[str, str]) -> dict[str, str]:
    """`env` with Python's bytecode cache on, kept in `PYCACHE`.

    Without a cache (`PYTHONDONTWRITEBYTECODE` in the caller's environment) every Python
    process compiles each module it imports again: for the hundred CLI and server processes
    of the executed examples that was half their CPU. A reader's Python keeps a cache too.
    The cache lives under .cache/, so neither src/ nor the venv is written to. The strict
    build does not use it: it runs as a bare `mkdocs build` would for the caller.

    Args:
        env: The environment to copy.
    """
    env = dict(env)
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    env["PYTHONPYCACHEPREFIX"] = str(PYCACHE)
    return env


def ensure_src_on_path() -> None:
    """Import `specify_cli` and `spec_kitty_server` from the checked tree, not the venv's copy."""
    src = str(SRC_DIR)
    if src in sys.path:
        sys.path.remove(src)
    sys.path.insert(0, src)
