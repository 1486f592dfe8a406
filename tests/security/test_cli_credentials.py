"""CLI-side secrets: file modes of the credentials, plain HTTP refused, and the refresh token
never leaving for a host other than the one that issued it.
"""

from __future__ import annotations

import json
import stat
import subprocess
import uuid
from pathlib import Path

import pytest

from tests._support.fake_server import FakeServer, Reply, token_reply
from tests._support.leaks import REGISTRY
from tests._support.logins import PASSWORD, fast_login
from tests._support.procs import SPEC_KITTY, add_user, cli_env, start_server


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def _run_umask(home: Path, *args: str, input: str | None = None,
               env: dict | None = None) -> subprocess.CompletedProcess:
    """Run the CLI under umask 000, the most permissive a user could have."""
    result = subprocess.run(["sh", "-c", 'umask 000; exec "$@"', "sh", SPEC_KITTY, *args],
                            input=input, capture_output=True, text=True, timeout=60,
                            env=env or cli_env(home))
    REGISTRY.observe_cli(home, [SPEC_KITTY, *args], result)
    return result


def _assert_private(home: Path) -> None:
    assert _mode(home) == 0o700, oct(_mode(home))
    creds = home / "credentials.json"
    if creds.exists():
        assert _mode(creds) == 0o600, oct(_mode(creds))
    for path in home.rglob("*"):
        if path.is_dir():
            assert _mode(path) & 0o077 == 0, (path, oct(_mode(path)))
        elif path.suffix in (".json", ".sqlite3", ".lock") or "credentials" in path.name:
            assert _mode(path) & 0o077 == 0, (path, oct(_mode(path)))


def test_credentials_stay_private_through_login_refresh_and_logout(tmp_path, home):
    db = tmp_path / "s.sqlite3"
    add_user(db, "alice", PASSWORD, "acme")
    srv = start_server(tmp_path, "--access-lifetime", "5", db=db)  # < refresh margin
    try:
        home.mkdir(mode=0o755)
        home.chmod(0o755)  # a home left world-readable by an older tool
        assert _run_umask(home, "sync", "server", srv.url).returncode == 0
        r = _run_umask(home, "auth", "login", "-u", "alice", "--password-stdin",
                       input=PASSWORD + "\n")
        assert r.returncode == 0, r.stderr
        _assert_private(home)
        before = json.loads((home / "credentials.json").read_text())

        r = _run_umask(home, "sync", "status", "--check")  # forces a silent refresh
        assert r.returncode == 0, r.stdout + r.stderr
        after = json.loads((home / "credentials.json").read_text())
        assert after["refresh_token"] != before["refresh_token"], "no refresh happened"
        _assert_private(home)

        r = _run_umask(home, "sync", "now")
        assert r.returncode == 0, r.stdout + r.stderr
        _assert_private(home)

        r = _run_umask(home, "auth", "logout")
        assert r.returncode == 0
        assert not (home / "credentials.json").exists()
        _assert_private(home)
        leftovers = [p.name for p in home.iterdir() if p.name.startswith(".credentials.json")]
        assert leftovers == [], "a temporary copy of the tokens was left behind"
    finally:
        srv.stop()


@pytest.mark.parametrize("url", [
    "http://example.com", "http://sync.example.com:8000", "http://10.0.0.1:8000",
    "http://localhost.evil.example", "http://127.0.0.1.nip.io", "http://0.0.0.0:8000",
    "http://[::ffff:8.8.8.8]:80", "http://2130706433/", "HTTP://EXAMPLE.COM",
])
def test_plain_http_is_refused_for_remote_hosts(cli, home, url):
    r = cli("sync", "server", url)
    assert r.returncode == 2, r.stdout + r.stderr
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), r.stderr
    assert "Traceback" not in r.stderr
    assert not (home / "config.toml").exists() or url not in (
        home / "config.toml").read_text()


@pytest.mark.parametrize("url", ["http://127.0.0.1:8000", "http://localhost:8000",
                                 "http://[::1]:8000", "https://sync.example.com"])
def test_loopback_http_and_https_are_accepted(cli, url):
    r = cli("sync", "server", url)
    assert r.returncode == 0, r.stderr


def test_plain_http_from_env_or_config_file_is_refused(cli, home):
    from tests._support.procs import run_cli

    env = cli_env(home, SPEC_KITTY_SERVER_URL="http://sync.example.com")
    r = run_cli(home, "auth", "login", "-u", "alice", "--password-stdin",
                input=PASSWORD + "\n", env=env)
    assert r.returncode != 0
    assert len(r.stderr.strip().splitlines()) == 1 and "http" in r.stderr
    home.mkdir(parents=True, exist_ok=True)
    (home / "config.toml").write_text('[server]\nurl = "http://sync.example.com"\n')
    for args in (("auth", "login", "-u", "alice", "--password-stdin"), ("sync", "now"),
                 ("sync", "status", "--check")):
        r = cli(*args, input=PASSWORD + "\n")
        assert r.returncode != 0, args
        assert len(r.stderr.strip().splitlines()) == 1, (args, r.stderr)
        assert "Traceback" not in r.stderr
    assert not (home / "credentials.json").exists()


def _tokens() -> tuple[str, str]:
    access, refresh = f"acc-{uuid.uuid4().hex}", f"ref-{uuid.uuid4().hex}"
    REGISTRY.secret(access, "access token")
    REGISTRY.secret(refresh, "refresh token")
    return access, refresh


def _leaked_to(server: FakeServer, *secrets: str) -> list[str]:
    hits = []
    for rec in server.requests:
        blob = rec.path + json.dumps(rec.headers) + rec.body.decode("utf-8", "replace")
        hits += [f"{rec.method} {rec.path}" for s in secrets if s in blob]
    return hits


def _login_at(home: Path, issuer: FakeServer, access_lifetime: int = 1) -> tuple[str, str]:
    """Log in at `issuer` in-process, by the code `sync server` and `auth login` run (each has
    its own tests; here the commands that come after a login are tested)."""
    access, refresh = _tokens()
    issuer.routes[("POST", "/api/v1/token/")] = token_reply(
        access=access, refresh=refresh, access_lifetime=access_lifetime)
    fast_login(home, issuer.url)
    return access, refresh


def test_tokens_never_follow_a_server_change(cli, home):
    with FakeServer() as issuer, FakeServer() as other:
        access, refresh = _login_at(home, issuer)
        issuer.requests.clear()
        for route in (("GET", "/api/v1/sync/health/"), ("GET", "/api/v1/events/"),
                      ("POST", "/api/v1/events/batch/"), ("POST", "/api/v1/token/refresh/")):
            other.routes[route] = Reply(200, {"status": "ok", "events": [], "results": []})
        # 1. The configured server changes.
        assert cli("sync", "server", other.url).returncode == 0
        for args in (("sync", "status", "--check"), ("sync", "now")):
            r = cli(*args)
            assert "Traceback" not in r.stderr
        # 2. The environment points elsewhere.
        assert cli("sync", "server", issuer.url).returncode == 0
        env = cli_env(home, SPEC_KITTY_SERVER_URL=other.url)
        from tests._support.procs import run_cli

        for args in (("sync", "status", "--check"), ("sync", "now")):
            run_cli(home, *args, env=env)
        assert _leaked_to(other, access, refresh) == []
        assert not [r for r in issuer.requests if r.path.startswith("/api/v1/token/refresh")]


@pytest.mark.parametrize("redirect_status", [302, 307])
def test_redirects_never_carry_tokens_to_another_host(cli, home, redirect_status):
    with FakeServer() as issuer, FakeServer() as other:
        access, refresh = _login_at(home, issuer)
        for method, path in (("POST", "/api/v1/token/refresh/"), ("GET", "/api/v1/sync/health/"),
                             ("POST", "/api/v1/events/batch/"), ("GET", "/api/v1/events/")):
            issuer.routes[(method, path)] = Reply(redirect_status, b"",
                                                  {"Location": f"{other.url}{path}"})
            other.routes[(method, path)] = token_reply(access="x" * 12, refresh="y" * 12)
        for args in (("sync", "status", "--check"), ("sync", "now")):
            r = cli(*args)
            assert r.returncode != 0
            assert "Traceback" not in r.stderr
            assert len(r.stderr.strip().splitlines()) <= 2, r.stderr
        assert other.requests == [], [(r.method, r.path) for r in other.requests]
        assert _leaked_to(other, access, refresh) == []
        refreshes = [r for r in issuer.requests if r.path == "/api/v1/token/refresh/"]
        assert refreshes, "the expired access token should have been refreshed at the issuer"


def test_refresh_goes_to_the_issuer_only(cli, home):
    with FakeServer() as issuer:
        access, refresh = _login_at(home, issuer)
        new_access, new_refresh = _tokens()
        issuer.routes[("POST", "/api/v1/token/refresh/")] = token_reply(
            access=new_access, refresh=new_refresh)
        issuer.routes[("GET", "/api/v1/sync/health/")] = Reply(
            200, {"status": "ok", "version": "1", "authenticated": True, "token_status": "valid"})
        r = cli("sync", "status", "--check")
        assert r.returncode == 0, r.stdout + r.stderr
        (ref,) = [rec for rec in issuer.requests if rec.path == "/api/v1/token/refresh/"]
        assert json.loads(ref.body) == {"refresh": refresh}
        assert "authorization" not in {k.lower() for k in ref.headers}
        health = [rec for rec in issuer.requests if rec.path.startswith("/api/v1/sync/health")]
        assert health[-1].headers.get("Authorization") == f"Bearer {new_access}"
        stored = json.loads((home / "credentials.json").read_text())
        assert stored["refresh_token"] == new_refresh
