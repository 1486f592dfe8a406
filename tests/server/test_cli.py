"""The `spec-kitty-server` command: serve, signals, TLS, key file, users, teams and demo."""

from __future__ import annotations

import os
import re
import shutil
import signal
import ssl
import stat
import subprocess
from pathlib import Path

import httpx
import pytest

from tests._support.events import make_event
from tests._support.logins import PASSWORD
from tests._support.procs import SERVER, free_port, start_server
from tests._support.server_api import tokens_for


def run(*args: str, input: str | None = None, env: dict | None = None):
    return subprocess.run([SERVER, *args], input=input, capture_output=True, text=True,
                          timeout=60, env=env)


def test_user_and_team_commands(tmp_path):
    db = str(tmp_path / "s.sqlite3")
    r = run("user", "add", "alice", "--team", "acme", "--password-stdin", "--db", db,
            input=PASSWORD + "\n")
    assert r.returncode == 0 and r.stdout.strip() == "Added user alice to team acme."
    assert PASSWORD not in r.stdout + r.stderr
    run("user", "add", "bob", "--team", "other", "--password-stdin", "--db", db,
        input=PASSWORD + "\n")
    listing = run("user", "list", "--db", db).stdout
    assert re.search(r"^alice\s+acme\s+active", listing, re.M)
    assert re.search(r"^bob\s+other\s+active", listing, re.M)
    teams = run("team", "list", "--db", db).stdout
    assert re.search(r"^acme\s+1\s+0$", teams, re.M) and re.search(r"^other\s+1\s+0$", teams,
                                                                    re.M)
    r = run("user", "disable", "bob", "--db", db)
    assert r.returncode == 0 and "disabled" in run("user", "list", "--db", db).stdout
    # Mistakes: one line, exit 1 (2 for usage), no traceback.
    cases = [
        (["user", "add", "alice", "--team", "acme", "--password-stdin"], PASSWORD + "\n",
         "already exists"),
        (["user", "add", "carol", "--team", "Bad Team", "--password-stdin"], PASSWORD + "\n",
         "team slug"),
        (["user", "add", "c a", "--team", "acme", "--password-stdin"], PASSWORD + "\n",
         "user name"),
        (["user", "add", "carol", "--team", "acme", "--password-stdin"], "short\n",
         "at least 8"),
        (["user", "add", "carol", "--team", "acme"], "", "--password-stdin"),
        (["user", "disable", "nobody"], None, "no user named"),
    ]
    for args, stdin, message in cases:
        r = run(*args, "--db", db, input=stdin)
        assert r.returncode == 1, (args, r.stderr)
        assert r.stderr.startswith("error: ") and message in r.stderr
        assert len(r.stderr.strip().splitlines()) == 1 and "Traceback" not in r.stderr
    r = run("user", "add", "--db", db)
    assert r.returncode == 2 and "Traceback" not in r.stderr


def test_db_from_environment_and_unwritable_path(tmp_path):
    env = {**os.environ, "SPEC_KITTY_SERVER_DB": str(tmp_path / "env.sqlite3")}
    r = run("user", "add", "alice", "--team", "acme", "--password-stdin", env=env,
            input=PASSWORD + "\n")
    assert r.returncode == 0 and (tmp_path / "env.sqlite3").exists()
    assert re.search(r"^acme\s+1\s+0$", run("team", "list", env=env).stdout, re.M)
    (tmp_path / "file").write_text("x")
    r = run("user", "add", "bob", "--team", "acme", "--password-stdin",
            "--db", str(tmp_path / "file" / "db.sqlite3"), input=PASSWORD + "\n")
    assert r.returncode == 1 and r.stderr.startswith("error: cannot open database")
    (tmp_path / "garbage.sqlite3").write_bytes(b"not a database" * 100)
    r = run("user", "list", "--db", str(tmp_path / "garbage.sqlite3"))
    assert r.returncode == 1 and r.stderr.startswith("error: ")


def test_demo_fills_once(tmp_path):
    db = str(tmp_path / "demo.sqlite3")
    first = run("demo", "--db", db)
    assert first.returncode == 0, first.stderr
    added = int(re.search(r"Added (\d+) demo events", first.stdout).group(1))
    assert 200 <= added <= 600
    assert "demo-password-not-secret" in first.stdout
    second = run("demo", "--db", db)
    assert second.returncode == 0 and "already filled" in second.stdout
    assert "password" not in second.stdout
    teams = run("team", "list", "--db", db).stdout
    assert re.search(rf"^demo\s+1\s+{added}$", teams, re.M)
    custom = run("demo", "--db", str(tmp_path / "d2.sqlite3"), "--password-stdin",
                 input="my-own-demo-pass\n")
    assert custom.returncode == 0 and "my-own-demo-pass" not in custom.stdout


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM])
def test_serve_prints_url_and_stops_cleanly(tmp_path, sig):
    srv = start_server(tmp_path)
    assert re.fullmatch(r"http://127\.0\.0\.1:\d+", srv.url)
    assert int(srv.url.rsplit(":", 1)[1]) > 0
    assert srv.log.read_text().splitlines()[0] == f"Serving on {srv.url}"
    srv.proc.send_signal(sig)
    assert srv.proc.wait(10) == 0
    log = srv.log.read_text()
    assert "Traceback" not in log and log.rstrip().endswith("Stopped.")


def test_ctrl_c_the_moment_serving_on_is_printed_stops_cleanly(tmp_path):
    # "Serving on" promises a server that answers and stops cleanly on Ctrl-C: a signal sent
    # as soon as the line is read must get the graceful stop, not an interrupted start-up.
    env = {**os.environ, "SPEC_KITTY_SERVER_SECRET": "s" * 40}
    with subprocess.Popen([SERVER, "serve", "--port", "0", "--db", str(tmp_path / "c.sqlite3")],
                          env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                          text=True) as proc:
        line = proc.stdout.readline()
        assert line.startswith("Serving on http://127.0.0.1:")
        proc.send_signal(signal.SIGINT)
        rest = proc.stdout.read()
        assert proc.wait(30) == 0, rest
    assert "Traceback" not in rest and rest.rstrip().endswith("Stopped.")


def test_serve_fixed_port_and_port_in_use(tmp_path):
    port = free_port()
    srv = start_server(tmp_path, port=port)
    try:
        assert srv.url == f"http://127.0.0.1:{port}"
        r = run("serve", "--port", str(port), "--db", str(tmp_path / "x.sqlite3"),
                env={**os.environ, "SPEC_KITTY_SERVER_SECRET": "s" * 40})
        assert r.returncode == 1 and r.stderr.startswith("error: cannot listen on")
    finally:
        srv.stop()


def test_key_file_created_0600_and_reused(tmp_path):
    db = tmp_path / "k.sqlite3"
    env = {k: v for k, v in os.environ.items() if k != "SPEC_KITTY_SERVER_SECRET"}
    with subprocess.Popen([SERVER, "serve", "--port", "0", "--db", str(db)], env=env,
                          stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True) as proc:
        try:
            line = proc.stdout.readline()
            assert line.startswith("Serving on http://127.0.0.1:")
            key = Path(str(db) + ".key")
            assert stat.S_IMODE(key.stat().st_mode) == 0o600
            assert len(key.read_text().strip()) >= 32
        finally:
            proc.send_signal(signal.SIGINT)
            proc.wait(10)
    os.chmod(key, 0o644)
    r = run("serve", "--port", "0", "--db", str(db), env=env)
    assert r.returncode == 1 and "readable by others" in r.stderr
    r = run("serve", "--port", "0", "--db", str(db),
            env={**env, "SPEC_KITTY_SERVER_SECRET": "short"})
    assert r.returncode == 1 and "at least 32" in r.stderr


def test_bad_tls_options(tmp_path):
    env = {**os.environ, "SPEC_KITTY_SERVER_SECRET": "s" * 40}
    db = str(tmp_path / "t.sqlite3")
    r = run("serve", "--port", "0", "--db", db, "--certfile", "nope.pem", env=env)
    assert r.returncode == 1 and "go together" in r.stderr
    r = run("serve", "--port", "0", "--db", db, "--certfile", "nope.pem", "--keyfile",
            "nope.key", env=env)
    assert r.returncode == 1 and r.stderr.startswith("error: cannot load the TLS")


@pytest.mark.skipif(shutil.which("openssl") is None, reason="needs the openssl binary to make "
                                                           "a self-signed certificate")
def test_tls_serving_and_secure_cookies(tmp_path):
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
                    "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1",
                    "-keyout", str(key), "-out", str(cert)], check=True, capture_output=True)
    from tests._support.procs import add_user

    db = tmp_path / "tls.sqlite3"
    add_user(db, "alice", PASSWORD, "acme")
    srv = start_server(tmp_path, "--certfile", str(cert), "--keyfile", str(key), db=db)
    try:
        assert srv.url.startswith("https://127.0.0.1:")
        context = ssl.create_default_context(cafile=str(cert))
        with httpx.Client(base_url=srv.url, verify=context, timeout=10) as web:
            assert web.get("/api/v1/sync/health/").json()["status"] == "ok"
            page = web.get("/login/")
            assert "Secure" in page.headers["set-cookie"]
            tokens = web.post("/api/v1/token/", json={"username": "alice",
                                                      "password": PASSWORD}).json()
            r = web.post("/api/v1/events/batch/", json={"events": [make_event()]},
                         headers={"Authorization": f"Bearer {tokens['access']}"})
            assert r.json()["results"][0]["status"] == "success"
        with pytest.raises(httpx.HTTPError):
            httpx.get(f"{srv.url}/api/v1/sync/health/", timeout=5)  # not trusted by default
    finally:
        srv.stop()


def test_stop_while_websocket_open(tmp_path):
    from websockets.sync.client import connect

    from tests._support.procs import add_user

    db = tmp_path / "w.sqlite3"
    add_user(db, "alice", PASSWORD, "acme")
    srv = start_server(tmp_path, db=db)
    pair = tokens_for(srv.url, "alice")
    ws_token = httpx.post(f"{srv.url}/api/v1/ws-token/",
                          headers={"Authorization": f"Bearer {pair['access']}"}).json()
    with connect(srv.url.replace("http", "ws") + "/ws/v1/events/?token="
                 + ws_token["ws_token"]) as ws:
        ws.recv(timeout=5)
        srv.proc.send_signal(signal.SIGTERM)
        assert srv.proc.wait(60) == 0  # a hang guard, not a timing claim
    assert "Traceback" not in srv.log.read_text()
