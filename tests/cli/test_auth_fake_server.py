"""`spec-kitty auth` against a scripted loopback server: errors, storage, refresh.

The commands under test run as real subprocesses. Set-up that is not the test's subject is
done in-process by the same code, one CLI start-up less each: the server URL (`sync server`
has its own tests in tests/cli/test_config.py) and, where a test is about what follows a
login, the login itself (`fast_login`: the same request and credentials file as `auth login`,
whose own output and files the login tests here check).
"""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
from tests._support.fake_server import FakeServer, Reply, token_reply
from tests._support.logins import fast_login
from tests._support.procs import child_env

from specify_cli import __version__, config

PW = "s3cret-pass"


@pytest.fixture
def fake():
    with FakeServer() as srv:
        srv.routes[("POST", "/api/v1/token/")] = token_reply()
        yield srv


@pytest.fixture
def at(home, fake):
    """The fake server, set as the home's server (in-process, as `sync server` does)."""
    config.set_value("server.url", fake.url)
    return fake


def login(cli, *extra, pw=PW):
    return cli("auth", "login", "-u", "alice", "--password-stdin", *extra, input=pw + "\n")


def assert_one_line_error(r, code, fragment):
    assert r.returncode == code, (r.stdout, r.stderr)
    assert fragment in r.stderr, r.stderr
    assert r.stderr.startswith("error: ") and r.stderr.count("\n") == 1, r.stderr
    assert "Traceback" not in r.stderr


def test_login_stores_private_credentials(cli, at, home):
    r = login(cli)
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip() == f"Logged in as alice on {at.url} (team acme)."
    path = home / "credentials.json"
    assert path.stat().st_mode & 0o777 == 0o600
    assert home.stat().st_mode & 0o777 == 0o700
    data = json.loads(path.read_text())
    assert data["access_token"] == "acc-token-1" and data["team_slug"] == "acme"
    req = at.requests[0]
    assert json.loads(req.body) == {"username": "alice", "password": PW}
    assert req.headers["User-Agent"] == f"spec-kitty/{__version__}"
    assert "acc-token-1" not in r.stdout + r.stderr and PW not in r.stdout + r.stderr


def test_password_option_warns_about_history(cli, at):
    r = cli("auth", "login", "-u", "alice", "-p", PW)
    assert r.returncode == 0
    assert "shell history" in r.stderr and PW not in r.stderr + r.stdout


def test_no_password_without_terminal_is_usage_error(cli, at):
    r = cli("auth", "login", "-u", "alice", input="")
    assert_one_line_error(r, 2, "use --password-stdin")


def test_empty_stdin_password(cli, at):
    r = cli("auth", "login", "-u", "alice", "--password-stdin", input="\n")
    assert_one_line_error(r, 2, "standard input is empty")


def test_no_server_configured(cli):
    r = cli("auth", "login", "-u", "alice", "--password-stdin", input="x\n")
    assert_one_line_error(r, 2, "no server configured; run `spec-kitty sync server URL`")


def test_already_logged_in_keeps_the_session_when_no_credentials_are_named(cli, at):
    assert login(cli).returncode == 0
    r = cli("auth", "login", input="")
    assert r.returncode == 0 and "Already logged in as alice" in r.stdout
    logins = [r for r in at.requests if r.method == "POST"]  # (GETs recover the clock)
    assert len(logins) == 1
    at.routes[("POST", "/api/v1/token/")] = token_reply(access="acc-2")
    r = login(cli, "--force")
    assert r.returncode == 0 and len([r for r in at.requests if r.method == "POST"]) == 2


def test_named_credentials_are_checked_while_logged_in(cli, at, home):
    """`auth login -u alice -p WRONG` while logged in must not answer "Already logged in"."""
    assert login(cli).returncode == 0
    before = (home / "credentials.json").read_text()
    at.routes[("POST", "/api/v1/token/")] = Reply(401, {"detail": "No active account"})
    r = cli("auth", "login", "-u", "alice", "-p", "WRONG")
    assert r.returncode == 1 and "Already logged in" not in r.stdout
    assert r.stderr.splitlines()[-1].startswith("error: invalid username or password")
    assert len([r for r in at.requests if r.method == "POST"]) == 2  # + the clock GET
    assert (home / "credentials.json").read_text() == before  # the working session is kept
    at.routes[("POST", "/api/v1/token/")] = token_reply(access="acc-3")
    r = login(cli)
    posts = [q for q in at.requests if q.method == "POST"]
    assert r.returncode == 0 and "Logged in as alice" in r.stdout and len(posts) == 3


@pytest.mark.parametrize("reply,fragment", [
    (Reply(401, {"detail": "No active account"}), "invalid username or password"),
    (Reply(500, "boom"), "is temporarily unavailable (HTTP 500)"),
    (Reply(503, "down"), "is temporarily unavailable (HTTP 503)"),
    (Reply(200, "<html>not json</html>"), "sent an unexpected response"),
    (Reply(200, {"token": "x"}), "sent an unexpected response"),
    (Reply(200, ["access"]), "sent an unexpected response"),
    (Reply(429, {"detail": "slow down"}, {"Retry-After": "60"}), "try again in 60 seconds"),
])
def test_login_errors_are_one_line(cli, at, home, reply, fragment):
    at.routes[("POST", "/api/v1/token/")] = reply
    r = login(cli)
    assert_one_line_error(r, 1, fragment)
    assert "https://" in r.stderr  # points at the docs
    assert not (home / "credentials.json").exists()


def test_login_timeout(cli, at, home):
    (home / "config.toml").write_text(f'[server]\nurl = "{at.url}"\ntimeout_seconds = 0.5\n')
    # The server answers after 30 s: the CLI must give up on its 0.5 s timeout, not wait.
    # (No wall-clock assertion: the subprocess timeout of run_cli bounds the test.)
    at.routes[("POST", "/api/v1/token/")] = Reply(200, {}, delay=30)
    r = login(cli)
    assert_one_line_error(r, 1, "did not answer in time")


def test_login_unreachable_names_url(cli):
    import socket
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    assert cli("sync", "server", f"http://127.0.0.1:{port}").returncode == 0
    r = login(cli)
    assert_one_line_error(r, 1, f"cannot reach the server at http://127.0.0.1:{port}")


def test_credentials_not_writable(cli, at, home):
    # Root ignores permission bits, so make the path unwritable another way: a directory.
    (home / "credentials.json").mkdir()
    r = login(cli)
    assert r.returncode == 1
    warning, error = r.stderr.splitlines()
    assert warning.startswith("warning: cannot read") and "logged out" in warning
    assert error.startswith(f"error: cannot save credentials to {home / 'credentials.json'}")


def test_logout_and_status(cli, at, home):
    r = cli("auth", "logout")
    assert r.returncode == 0 and r.stdout.strip() == "Not logged in."
    r = cli("auth", "status")
    assert r.returncode == 1 and "Not logged in" in r.stdout
    assert login(cli).returncode == 0
    r = cli("auth", "status")
    assert r.returncode == 0, r.stderr
    assert "Logged in as alice." in r.stdout
    assert "Access token:   valid, 14m left" in r.stdout
    assert "Refresh token:  valid, 6d 23h left" in r.stdout
    assert "acc-token-1" not in r.stdout
    r = cli("auth", "logout")
    assert r.returncode == 0 and f"Logged out alice from {at.url}." in r.stdout
    assert not (home / "credentials.json").exists()
    assert home.stat().st_mode & 0o777 == 0o700


def test_status_with_expired_access_never_says_logged_in_plainly(cli, at, home):
    at.routes[("POST", "/api/v1/token/")] = token_reply(access_lifetime=5)
    fast_login(home, at.url)
    r = cli("auth", "status")
    assert r.returncode == 0
    assert "Logged in as alice." not in r.stdout
    assert "expired, will refresh on next use" in r.stdout
    data = json.loads(cli("auth", "status", "--json").stdout)
    assert data["access"]["state"] == "expired" and data["usable"] is True


def test_status_with_expired_refresh_exits_1(cli, at, home):
    at.routes[("POST", "/api/v1/token/")] = token_reply(access_lifetime=0, refresh_lifetime=0)
    fast_login(home, at.url)
    r = cli("auth", "status")
    assert r.returncode == 1 and "expired, log in again" in r.stdout
    data = json.loads(cli("auth", "status", "--json").stdout)
    assert data["usable"] is False and data["refresh"]["state"] == "expired"


def test_status_json_shape(cli, at, home):
    fast_login(home, at.url)
    data = json.loads(cli("auth", "status", "--json").stdout)
    assert set(data) == {"logged_in", "usable", "username", "server_url", "team_slug",
                         "credentials_file", "configured_server_url", "access", "refresh"}
    assert set(data["access"]) == {"state", "expires_at", "seconds_left"}
    assert data["credentials_file"] == str(home / "credentials.json")


def test_corrupt_credentials_count_as_logged_out(cli, at, home):
    fast_login(home, at.url)
    (home / "credentials.json").write_text("{not json")
    r = cli("auth", "status")
    assert r.returncode == 1 and "Not logged in" in r.stdout
    assert r.stderr.count("\n") == 1 and "is corrupt" in r.stderr


# --- refresh, in-process against the fake server -------------------------------------------

def _in_process(home, fake_url, code):
    env = child_env(home)
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env,
                          timeout=60)


GET_TOKEN = ("from specify_cli.account import credentials as auth\n"
             "from specify_cli.errors import SpecKittyError\n"
             "try:\n    print(auth.get_access_token())\n"
             "except SpecKittyError as e:\n    print('ERR', e)\n")


def test_expired_access_is_refreshed_once_across_processes(cli, at, home):
    at.routes[("POST", "/api/v1/token/")] = token_reply(access_lifetime=1)
    calls = []

    def refresh(rec):
        calls.append(json.loads(rec.body))
        return token_reply(access="acc-new", refresh="ref-new", access_lifetime=900)
    at.routes[("POST", "/api/v1/token/refresh/")] = refresh
    fast_login(home, at.url)
    env = child_env(home)
    procs = [subprocess.Popen([sys.executable, "-c", GET_TOKEN], stdout=subprocess.PIPE,
                              text=True, env=env) for _ in range(4)]
    outs = [p.communicate(timeout=60)[0].strip() for p in procs]
    assert outs == ["acc-new"] * 4
    assert calls == [{"refresh": "ref-token-1"}]
    data = json.loads((home / "credentials.json").read_text())
    assert data["refresh_token"] == "ref-new"
    assert (home / "credentials.json").stat().st_mode & 0o777 == 0o600


def test_refresh_rejected_clears_credentials(cli, at, home):
    at.routes[("POST", "/api/v1/token/")] = token_reply(access_lifetime=1)
    at.routes[("POST", "/api/v1/token/refresh/")] = Reply(401, {"detail": "Token is invalid"})
    fast_login(home, at.url)
    out = _in_process(home, at.url, GET_TOKEN).stdout
    assert out.startswith("ERR your session on") and "log in again" in out
    assert not (home / "credentials.json").exists()


def test_refresh_token_only_goes_to_its_issuer(cli, at, home):
    at.routes[("POST", "/api/v1/token/")] = token_reply(access_lifetime=1)
    fast_login(home, at.url)
    with FakeServer() as other:
        other.routes[("POST", "/api/v1/token/refresh/")] = token_reply()
        assert cli("sync", "server", other.url).returncode == 0
        out = _in_process(home, other.url, GET_TOKEN).stdout
        assert "you are logged in to" in out and other.url in out
        assert other.requests == []
    assert [r.path for r in at.requests if r.method == "POST"] == ["/api/v1/token/"]


def test_status_for_another_server_is_not_usable(cli, at, home):
    fast_login(home, at.url)
    assert cli("sync", "server", "https://elsewhere.example").returncode == 0
    r = cli("auth", "status")
    assert r.returncode == 1
    assert "but the server is now https://elsewhere.example" in r.stdout
    assert "valid," not in r.stdout
