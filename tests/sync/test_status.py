"""`sync status` and `--check`: every result, exit codes, and no network without --check."""

from __future__ import annotations

import json
import subprocess
import sys
import time

import pytest

from specify_cli.account import credentials as auth
from tests._support.fake_server import Reply, token_reply
from tests._support.procs import cli_env, run_cli

HEALTH = "/api/v1/sync/health/"


@pytest.fixture
def fake(fake_server):
    fake_server.routes.clear()
    fake_server.requests.clear()
    return fake_server


def save(url, access_left=900.0, refresh_left=3600.0):
    now = time.time()
    auth.save_credentials(auth.Credentials(
        server_url=url, username="alice", team_slug="acme", access_expires_at=now + access_left,
        refresh_expires_at=now + refresh_left, access_token="acc-1", refresh_token="ref-1"))


def check(home):
    result = run_cli(home, "sync", "status", "--check", "--json")
    assert "Traceback" not in result.stderr
    return result.returncode, json.loads(result.stdout)["check"]["result"]


def healthy(authenticated=True, token_status="valid"):
    return Reply(200, {"status": "ok", "version": "1", "authenticated": authenticated,
                       "token_status": token_status})


def test_connected(fake, home):
    save(fake.url)
    fake.routes[("GET", HEALTH)] = healthy()
    assert check(home) == (0, "Connected")
    assert fake.requests[0].headers["Authorization"] == "Bearer acc-1"


def test_not_authenticated(home):
    assert check(home) == (1, "Not authenticated")


@pytest.mark.parametrize("status", [500, 502, 503, 404])
def test_server_errors_are_never_green(fake, home, status):
    save(fake.url)
    fake.routes[("GET", HEALTH)] = Reply(status, {"detail": "x"})
    assert check(home) == (3, f"Server error (HTTP {status})")


def test_garbage_health_is_a_server_error(fake, home):
    save(fake.url)
    fake.routes[("GET", HEALTH)] = Reply(200, "<html>")
    assert check(home) == (3, "Server error (HTTP 200)")


def test_unreachable(home):
    save("http://127.0.0.1:9")
    assert check(home) == (3, "Unreachable")


def test_forbidden(fake, home):
    save(fake.url)
    fake.routes[("GET", HEALTH)] = Reply(403, {"detail": "disabled"})
    assert check(home) == (1, "Forbidden")


def test_session_expired_when_the_server_refuses_and_refresh_fails(fake, home):
    save(fake.url)
    fake.routes[("GET", HEALTH)] = healthy(False, "invalid")
    fake.routes[("POST", "/api/v1/token/refresh/")] = Reply(401, {"detail": "dead"})
    assert check(home) == (1, "Session expired")


def test_expired_token_refreshes_then_connects(fake, home):
    save(fake.url, access_left=-10)
    fake.routes[("POST", "/api/v1/token/refresh/")] = token_reply(access="acc-2")
    fake.routes[("GET", HEALTH)] = lambda rec: (
        healthy() if rec.headers["Authorization"] == "Bearer acc-2" else healthy(False, "expired"))
    assert check(home) == (0, "Connected")


def test_refresh_token_expired_is_session_expired(fake, home):
    save(fake.url, access_left=-10, refresh_left=-5)
    assert check(home) == (1, "Session expired")
    assert fake.requests == []


def test_status_text_shows_every_section_and_sends_nothing(fake, home):
    save(fake.url)
    result = run_cli(home, "sync", "status")
    assert result.returncode == 0
    for label in ("Server:", "Config file:", "Auth:", "Queue:", "Retries:", "Cap:",
                  "Last sync:", "Background:", "WebSocket:"):
        assert label in result.stdout
    assert "alice in team acme" in result.stdout and fake.requests == []


def test_status_json_shows_a_full_queue(home, tmp_path):
    from specify_cli.account.scope import LOCAL_SCOPE, queue_path
    from specify_cli.sync.queue import OfflineQueue, QueueFullError
    from tests._support.events import sample_events

    home.mkdir(parents=True, exist_ok=True)
    (home / "config.toml").write_text("[sync]\nqueue_cap = 2\n")
    queue = OfflineQueue(queue_path(LOCAL_SCOPE))
    events = sample_events(3)
    queue.append(events[0])
    queue.append(events[1])
    with pytest.raises(QueueFullError):
        queue.append(events[2])
    queue.note_refused()
    data = json.loads(run_cli(home, "sync", "status", "--json").stdout)
    assert data["queue"]["full"] is True and data["queue"]["refused"] == 1
    assert data["queue"]["cap_used_percent"] == 100.0
    text = run_cli(home, "sync", "status").stdout
    assert "FULL: new events are refused (1 refused" in text


def test_status_does_not_import_httpx_without_check(home):
    code = ("import sys; sys.argv=['spec-kitty','sync','status'];"
            "from specify_cli.cli.app import command\n"
            "try:\n command.main(prog_name='spec-kitty')\n"
            "except SystemExit: pass\n"
            "print('HTTPX' if 'httpx' in sys.modules else 'NOHTTPX', file=sys.stderr)")
    env = {"SPEC_KITTY_HOME": str(home), "PATH": "/usr/bin:/bin"}
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            env=env, timeout=60)
    assert "NOHTTPX" in result.stderr, result.stderr


def test_a_command_never_hangs_on_exit_when_the_server_stalls(fake, home, tmp_path):
    from tests._support.procs import cli_env
    from tests._support.project import make_feature

    save(fake.url)
    for route in (("POST", "/api/v1/ws-token/"), ("POST", "/api/v1/events/batch/"),
                  ("GET", "/api/v1/events/")):
        fake.routes[route] = Reply(200, {}, delay=600)
    make_feature(tmp_path / "proj")
    env = cli_env(home, SPEC_KITTY_SYNC_AUTO_START="1")
    # The server never answers in time: a command that waited for it would hit run_cli's
    # timeout (TimeoutExpired fails the test); one that keeps its exit-flush budget returns.
    result = run_cli(home, "tasks", "move", "WP01", "--to", "doing", cwd=tmp_path / "proj",
                     env=env, timeout=120)
    assert result.returncode == 0, result.stderr
    from specify_cli.account.scope import queue_path
    from specify_cli.sync.queue import OfflineQueue

    assert OfflineQueue(queue_path(auth.load_credentials().scope)).pending_count() == 1


def test_status_names_other_accounts_queues_after_logout(tmp_path):
    """Events left in another account's queue stay visible, with the account named."""
    import json as _json

    from tests._support.logins import PASSWORD
    from tests._support.procs import add_user, cli_env, run_cli, start_server
    from tests._support.project import make_feature

    home = tmp_path / "home" / ".spec-kitty"
    home.parent.mkdir()
    db = tmp_path / "s.sqlite3"
    add_user(db, "alice", PASSWORD, "acme")
    srv = start_server(tmp_path, db=db)
    try:
        env = cli_env(home, SPEC_KITTY_SYNC_AUTO_START="0")
        assert run_cli(home, "sync", "server", srv.url, env=env).returncode == 0
        assert run_cli(home, "auth", "login", "-u", "alice", "--password-stdin",
                       input=PASSWORD + "\n", env=env).returncode == 0
        project = tmp_path / "p"
        make_feature(project, "001-demo")
        r = run_cli(home, "tasks", "finalize", cwd=project, env=env)
        assert r.returncode == 0, r.stderr
        # Stop the server so nothing drains, then log out.
        srv.stop()
        assert run_cli(home, "auth", "logout", env=env).returncode == 0
        r = run_cli(home, "sync", "status", env=env)
        assert "Also queued:  2 events of alice in team acme on " + srv.url in r.stdout
        data = _json.loads(run_cli(home, "sync", "status", "--json", env=env).stdout)
        assert data["other_queues"][0]["pending"] == 2
    finally:
        srv.stop()


@pytest.mark.parametrize(("server", "usable", "state", "access"), [
    ("http://127.0.0.1:9", False, "other server", "expired, log in again"),
    (None, True, "logged in", "valid, 14m left"),
])
def test_auth_status_and_sync_status_judge_the_session_alike(home, server, usable, state,
                                                             access):
    """One check decides: a session issued by another server than the configured one is
    unusable for both commands (sync status used to call it logged in)."""
    save("http://127.0.0.1:8", access_left=899.0)
    env = cli_env(home, **({"SPEC_KITTY_SERVER_URL": server} if server else {}))
    who = run_cli(home, "auth", "status", "--json", env=env)
    status = run_cli(home, "sync", "status", "--json", env=env)
    assert who.returncode == (0 if usable else 1), who.stderr
    assert json.loads(who.stdout)["usable"] is usable
    assert json.loads(status.stdout)["auth"]["state"] == state
    assert json.loads(status.stdout)["auth"]["access_token"] == access


def test_a_server_error_carries_its_status():
    """Callers read the HTTP status from the error, never from its message."""
    import httpx

    from specify_cli import http_client

    for code in (404, 418, 503):
        error = http_client.status_error("http://127.0.0.1:8", httpx.Response(code))
        assert error.status == code
    assert http_client.unexpected_response("http://127.0.0.1:8").status is None
