"""Fixtures of the reliability tests: a logged-in CLI home against a real server."""

from __future__ import annotations

import subprocess
from pathlib import Path

from tests._support.leaks import REGISTRY
from tests._support.procs import SPEC_KITTY, cli_env, run_cli
from tests.conftest import PASSWORD


def login(home: Path, url: str, user: str = "alice") -> None:
    """Point the CLI at `url` and log in as `user` (the real commands)."""
    assert run_cli(home, "sync", "server", url).returncode == 0
    r = run_cli(home, "auth", "login", "-u", user, "--password-stdin", "--force",
                input=PASSWORD + "\n")
    assert r.returncode == 0, r.stderr


def env(home: Path, **extra: str) -> dict[str, str]:
    """The CLI environment with background sync off (tests drive syncs explicitly)."""
    return cli_env(home, SPEC_KITTY_SYNC_AUTO_START="0", **extra)


def spawn(home: Path, *args: str, **extra: str) -> subprocess.Popen:
    """Start `spec-kitty ARGS` without waiting (to kill it); unbuffered output."""
    return subprocess.Popen([SPEC_KITTY, *args], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True,
                            env=env(home, PYTHONUNBUFFERED="1", **extra))


def finish(proc: subprocess.Popen, what: str, timeout: float = 60) -> tuple[str, str]:
    """Wait for a spawned process and record its output for the leak check."""
    try:
        out, err = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        out, err = proc.communicate()
    REGISTRY.output(f"{what} stdout", out)
    REGISTRY.output(f"{what} stderr", err)
    return out, err
