"""The real CLI over HTTPS: a server with a self-signed certificate the client trusts through
`SSL_CERT_FILE`, the way a team serves other machines (plain http is loopback-only)."""

from __future__ import annotations

import json

import pytest
from tests._support import tls
from tests._support.logins import PASSWORD
from tests._support.procs import add_user, cli_env, run_cli, start_server
from tests._support.project import make_feature

pytestmark = pytest.mark.skipif(not tls.AVAILABLE,
                                reason="needs the openssl binary to make a certificate")


def test_login_emit_and_sync_over_https(tmp_path, home):
    cert, key = tls.self_signed(tmp_path)
    db = tmp_path / "tls.sqlite3"
    add_user(db, "alice", PASSWORD, "acme")
    srv = start_server(tmp_path, "--certfile", str(cert), "--keyfile", str(key), db=db)
    try:
        url = srv.url
        assert url.startswith("https://")
        untrusted = cli_env(home)
        trusted = cli_env(home, SSL_CERT_FILE=str(cert), SPEC_KITTY_SYNC_AUTO_START="0")
        assert run_cli(home, "sync", "server", url, env=trusted).returncode == 0
        # Without trusting the certificate the login fails cleanly, in one line.
        r = run_cli(home, "auth", "login", "-u", "alice", "--password-stdin",
                    input=PASSWORD + "\n", env=untrusted)
        assert r.returncode == 1 and r.stderr.count("\n") == 1
        assert r.stderr.startswith(f"error: the TLS certificate of {url} is not trusted")
        assert "Traceback" not in r.stderr
        r = run_cli(home, "auth", "login", "-u", "alice", "--password-stdin",
                    input=PASSWORD + "\n", env=trusted)
        assert r.returncode == 0, r.stderr
        project = tmp_path / "p"
        make_feature(project, "001-tls")
        assert run_cli(home, "tasks", "finalize", cwd=project, env=trusted).returncode == 0
        r = run_cli(home, "sync", "now", env=trusted)
        assert r.returncode == 0, r.stderr
        assert "Pushed 2 events" in r.stdout
        r = run_cli(home, "sync", "status", "--check", "--json", env=trusted)
        assert json.loads(r.stdout)["check"]["result"] == "Connected", r.stdout
    finally:
        srv.stop()
