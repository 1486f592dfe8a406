"""The one way the CLI runs git: captured text output, a time limit, no editor, C locale.

`sync workspace` and the workflow commands (`implement`, `merge`) drive git through it, and
the identity and feature code read single values with `git_value`.
"""

from __future__ import annotations

import os
import re
import subprocess
from pathlib import Path

from specify_cli.errors import SpecKittyError

TIMEOUT = 120
"""Seconds a git command may run before it is reported as hung."""


class GitError(SpecKittyError):
    """git is missing, hung, or failed where the caller asked for success."""


def git(cwd: Path, *args: str, check: bool = False,
        error: type[SpecKittyError] = GitError) -> subprocess.CompletedProcess:
    """Run `git ARGS` in `cwd` and return the result (output captured as text).

    Args:
        cwd: Working directory.
        *args: git arguments.
        check: Raise `error` with git's last message line on a non-zero exit.
        error: The exception class raised (so each command keeps its own error type).

    Raises:
        SpecKittyError: git is not installed, did not finish in time, or (with `check`)
            failed; of class `error`.
    """
    try:
        result = subprocess.run(["git", *args], cwd=cwd, capture_output=True, text=True,
                                timeout=TIMEOUT, check=False, env=_env())
    except FileNotFoundError:
        raise error("git is not installed or not on PATH") from None
    except subprocess.TimeoutExpired:
        raise error(f"git {args[0]} did not finish in {TIMEOUT} s") from None
    if check and result.returncode != 0:
        raise error(f"git {args[0]} failed: {git_reason(result)}")
    return result


_PROGRESS = re.compile(r"^(Rebasing \(\d+/\d+\)|Successfully rebased|Auto-merging |hint: )")
"""Lines of git's output that report progress, not what went wrong."""

_IDENTITY_FIX = ("; set it with `git config --global user.name \"Your Name\"` and "
                 "`git config --global user.email you@example.com`")


def git_reason(result: subprocess.CompletedProcess) -> str:
    """Return the line of a failed git command's output that says why it failed.

    git mixes progress (`Rebasing (1/1)`, ended by a carriage return, not a newline) with
    the reason; the reason is the first line that is not progress, and a missing identity
    gets the command that fixes it.

    Args:
        result: The finished git command.
    """
    text = (result.stderr or "") + "\n" + (result.stdout or "")
    lines = [line.strip() for line in re.split(r"[\r\n]+", text)]
    lines = [line for line in lines if line and not _PROGRESS.match(line)]
    reason = lines[0] if lines else "no output"
    if "identity unknown" in reason or "tell me who you are" in text:
        reason = reason.rstrip(".") + _IDENTITY_FIX
    return reason


def git_value(cwd: Path, *args: str) -> str | None:
    """Return the first output line of `git ARGS`, or None when git fails or prints nothing.

    Args:
        cwd: Working directory.
        *args: git arguments.
    """
    try:
        result = git(cwd, *args)
    except SpecKittyError:
        return None
    lines = result.stdout.strip().splitlines()
    return lines[0].strip() if result.returncode == 0 and lines else None


def _env() -> dict[str, str]:
    env = dict(os.environ)
    env.setdefault("GIT_EDITOR", "true")  # never open an editor (rebase --continue, merge)
    env["LC_ALL"] = "C"
    return env
