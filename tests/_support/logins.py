"""Logging in as the suite's test users, in each way the tests need, and their password.

Every user a test creates has the one password `PASSWORD` (the leak check holds it as a
secret). `login` runs the CLI's own commands in a subprocess; `fast_login` writes the same
files in-process through the same code, for tests that log many homes in; `token` and
`api_login` ask the JSON API for tokens (`api_login` registers them with the leak check);
`browser_login` goes through the dashboards' login form.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

import httpx

from tests._support.leaks import REGISTRY
from tests._support.procs import run_cli

PASSWORD = "correct-horse-battery"

CSRF_FIELD = re.compile(r'name="csrf" value="([^"]*)"')


def login(home: Path, url: str, user: str = "alice") -> None:
    """Point the CLI at `url` and log in as `user` (the real commands)."""
    assert run_cli(home, "sync", "server", url).returncode == 0
    r = run_cli(home, "auth", "login", "-u", user, "--password-stdin", "--force",
                input=PASSWORD + "\n")
    assert r.returncode == 0, r.stderr


def fast_login(home: Path, url: str, user: str = "alice") -> None:
    """Log in without a subprocess: same files as `auth login`, written by the same code."""
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


def token(url: str, user: str = "alice") -> str:
    """An access token of `user`, from the JSON API."""
    response = httpx.post(f"{url}/api/v1/token/", json={"username": user, "password": PASSWORD})
    response.raise_for_status()
    return response.json()["access"]


def api_login(url: str, username: str, password: str = PASSWORD) -> dict:
    """POST /api/v1/token/ and return the token pair (registered as secrets)."""
    response = httpx.post(f"{url}/api/v1/token/",
                          json={"username": username, "password": password}, timeout=30)
    assert response.status_code == 200, response.text
    data = response.json()
    REGISTRY.token_response(data)
    return data


def browser_login(url: str, username: str, password: str = PASSWORD) -> httpx.Client:
    """A cookie-keeping client logged in to the dashboards through the real login form."""
    client = httpx.Client(base_url=url, timeout=30, follow_redirects=False)
    page = client.get("/login/")
    csrf = CSRF_FIELD.search(page.text).group(1)
    response = client.post("/login/", data={"csrf": csrf, "username": username,
                                            "password": password})
    assert response.status_code == 303, response.text
    REGISTRY.secret(client.cookies.get("sk_session"), "session cookie")
    return client


def page_csrf(client: httpx.Client, path: str) -> str:
    """The CSRF token of the forms on a page."""
    return CSRF_FIELD.search(client.get(path).text).group(1)
