"""Helpers for the sync tests: log in, read the server's events."""

from __future__ import annotations

from pathlib import Path

import httpx

from tests._support.procs import cli_env, run_cli

PASSWORD = "correct-horse-battery"


def login(home: Path, url: str, user: str = "alice") -> None:
    assert run_cli(home, "sync", "server", url).returncode == 0
    result = run_cli(home, "auth", "login", "-u", user, "--password-stdin", input=PASSWORD + "\n")
    assert result.returncode == 0, result.stderr


def token(url: str, user: str = "alice") -> str:
    response = httpx.post(f"{url}/api/v1/token/", json={"username": user, "password": PASSWORD})
    response.raise_for_status()
    return response.json()["access"]


def server_events(url: str, user: str = "alice") -> list[dict]:
    """Every event of the user's team on the server, in server order."""
    headers = {"Authorization": f"Bearer {token(url, user)}"}
    events: list[dict] = []
    cursor = None
    for _ in range(10_000):
        params = {"limit": 1000, **({"after": cursor} if cursor else {})}
        body = httpx.get(f"{url}/api/v1/events/", params=params, headers=headers,
                         timeout=30).json()
        events += body["events"]
        cursor = body["next_cursor"]
        if not body["has_more"]:
            return events
    raise AssertionError("too many pages")


def env_for(home: Path, **extra: str) -> dict[str, str]:
    env = cli_env(home, **extra)
    env.setdefault("SPEC_KITTY_SYNC_AUTO_START", "0")
    return env



def fast_login(home: Path, url: str, user: str = "alice") -> None:
    """Log in without a subprocess: same files as `auth login`, written by the same code."""
    import os

    from specify_cli import config
    from specify_cli.account import credentials as auth

    old = os.environ.get("SPEC_KITTY_HOME")
    os.environ["SPEC_KITTY_HOME"] = str(home)
    try:
        config.set_value("server.url", url)
        auth.save_credentials(auth.request_tokens(url, user, PASSWORD))
    finally:
        if old is None:
            del os.environ["SPEC_KITTY_HOME"]
        else:
            os.environ["SPEC_KITTY_HOME"] = old
