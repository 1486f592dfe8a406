"""`spec-kitty sync now` against a fault-injecting server on 127.0.0.1.

For every fault the real CLI must exit with the documented status (1: "the server failed,
the events stay queued"), print one clear `error:` line and no traceback, and leave every
queued event in the queue, byte for byte.
"""

from __future__ import annotations

import gzip
import json
import sqlite3
import threading
from pathlib import Path

import pytest

from tests._support import figures, seed
from tests._support.fake_server import FakeServer, Recorded, Reply, token_reply
from tests._support.leaks import REGISTRY
from tests._support.logins import PASSWORD
from tests._support.procs import manual_sync_env, run_cli


def _queue_snapshot(path: Path) -> list[tuple[str, str]]:
    conn = sqlite3.connect(path)
    try:
        return conn.execute("SELECT event_id, body FROM queue ORDER BY id").fetchall()
    finally:
        conn.close()


def _ids_in(rec: Recorded) -> list[str]:
    body = gzip.decompress(rec.body) if rec.headers.get("Content-Encoding") == "gzip" else rec.body
    return [e["event_id"] for e in json.loads(body)["events"]]


def _success(rec: Recorded) -> Reply:
    return Reply(200, {"results": [{"event_id": i, "status": "success", "error": None}
                                   for i in _ids_in(rec)]})


FAULTS: dict[str, Reply] = {
    "HTTP 500": Reply(500, {"detail": "boom"}),
    "HTTP 502": Reply(502, "<html>Bad Gateway</html>", {"Content-Type": "text/html"}),
    "HTTP 503": Reply(503, "", {"Retry-After": "30"}),
    "stall past the timeout": Reply(200, {"results": []}, delay=4.0),
    "truncated gzip": Reply(200, gzip.compress(b'{"results": []}' * 50)[:-20],
                            {"Content-Encoding": "gzip", "Content-Type": "application/json"}),
    "non-JSON body": Reply(200, "<html>hello</html>", {"Content-Type": "text/html"}),
    "wrong shape: list": Reply(200, []),
    "wrong shape: results not a list": Reply(200, {"results": "all good"}),
    "wrong shape: ids not strings": Reply(200, {"results": [{"event_id": 7,
                                                             "status": "success"}]}),
    "wrong shape: unknown status": Reply(200, {"results": [{"event_id": "x",
                                                            "status": "stored"}]}),
    "HTTP 413": Reply(413, {"detail": "too large"}),
    "HTTP 400 with garbage": Reply(400, b"\xff\xfe\x00garbage"),
}


@pytest.fixture
def faulty(home):
    """A logged-in CLI home whose server is a FakeServer, with 60 events queued."""
    with FakeServer() as srv:
        srv.routes[("POST", "/api/v1/token/")] = token_reply(access="acc-fault-0123456789",
                                                             refresh="ref-fault-0123456789")
        REGISTRY.secret("acc-fault-0123456789", "access token")
        REGISTRY.secret("ref-fault-0123456789", "refresh token")
        srv.routes[("GET", "/api/v1/events/")] = Reply(200, {"events": [], "next_cursor": "0",
                                                             "has_more": False})
        assert run_cli(home, "sync", "server", srv.url).returncode == 0
        with open(home / "config.toml", "a") as handle:
            handle.write("timeout_seconds = 1.5\n")  # the [server] table is the last one
        r = run_cli(home, "auth", "login", "-u", "alice", "--password-stdin",
                    input=PASSWORD + "\n")
        assert r.returncode == 0, r.stderr
        queue = seed.queue_file(home, srv.url)
        seed.seed(queue, 60)
        yield srv, queue


def test_every_server_fault_keeps_the_queue_and_says_so(faulty, home):
    srv, queue = faulty
    before = _queue_snapshot(queue)
    assert "[server]" in (home / "config.toml").read_text()
    for kind, reply in FAULTS.items():
        srv.routes[("POST", "/api/v1/events/batch/")] = reply
        r = run_cli(home, "sync", "now", env=manual_sync_env(home), timeout=60)
        figures.fault_kind(kind)
        assert r.returncode == 1, (kind, r.returncode, r.stdout, r.stderr)
        errors = [line for line in r.stderr.splitlines() if line.startswith("error:")]
        assert len(errors) == 1, (kind, r.stderr)
        assert "Traceback" not in r.stderr + r.stdout, kind
        assert "queued" in errors[0] or "server" in errors[0], (kind, errors[0])
        assert _queue_snapshot(queue) == before, kind
    assert not [rec for rec in srv.requests if rec.path.startswith("/api/v1/token/refresh")]


def test_connection_refused_keeps_the_queue(faulty, home):
    srv, queue = faulty
    before = _queue_snapshot(queue)
    srv.httpd.shutdown()
    srv.httpd.server_close()
    srv.httpd.shutdown = lambda: None  # the fixture's exit shuts it down again
    r = run_cli(home, "sync", "now", env=manual_sync_env(home))
    figures.fault_kind("connection refused")
    assert r.returncode == 1
    assert r.stderr.count("error:") == 1 and "Traceback" not in r.stderr
    assert "cannot reach" in r.stderr
    assert _queue_snapshot(queue) == before


def test_401_in_the_middle_of_a_drain(home):
    """Batch 1 is stored, then the server refuses the session: batch 1 leaves the queue,
    everything else stays, the user is told to log in again."""
    with FakeServer() as srv:
        srv.routes[("POST", "/api/v1/token/")] = token_reply(access="acc-drain-0123456789",
                                                             refresh="ref-drain-0123456789")
        srv.routes[("POST", "/api/v1/token/refresh/")] = Reply(401, {"detail": "expired"})
        REGISTRY.secret("acc-drain-0123456789", "access token")
        REGISTRY.secret("ref-drain-0123456789", "refresh token")
        calls = {"n": 0}
        lock = threading.Lock()

        def batch(rec: Recorded) -> Reply:
            with lock:
                calls["n"] += 1
                first = calls["n"] == 1
            return _success(rec) if first else Reply(401, {"detail": "token revoked"})

        srv.routes[("POST", "/api/v1/events/batch/")] = batch
        assert run_cli(home, "sync", "server", srv.url).returncode == 0
        assert run_cli(home, "auth", "login", "-u", "alice", "--password-stdin",
                       input=PASSWORD + "\n").returncode == 0
        queue = seed.queue_file(home, srv.url)
        ids = seed.seed(queue, 2500)
        r = run_cli(home, "sync", "now", env=manual_sync_env(home))
        figures.fault_kind("401 in the middle of a drain")
        assert r.returncode == 1, r.stdout + r.stderr
        errors = [line for line in r.stderr.splitlines() if line.startswith("error:")]
        assert len(errors) == 1 and "log in" in errors[0], r.stderr
        assert "Traceback" not in r.stderr
        assert seed.queued_ids(queue) == ids[1000:]
        # The session is gone; the queue waits for the same account to log in again.
        assert run_cli(home, "auth", "login", "-u", "alice", "--password-stdin",
                       input=PASSWORD + "\n").returncode == 0
        status = run_cli(home, "sync", "status", env=manual_sync_env(home))
        assert "1,500" in status.stdout or "1500" in status.stdout, status.stdout
