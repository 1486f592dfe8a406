"""The CLI against a hostile server: thousands of generated answers it cannot take at face value.

One real HTTP + WebSocket server on 127.0.0.1 (`tests/_support/fake_server.py`) serves
answers from `tests/_support/hostile.py` for login, refresh, push, pull, the health check and
the socket. Two ways in, over the same code:

- `CLI_LANES` x `CLI_RUNS` real `spec-kitty` subprocesses (`auth login`, `sync now`,
  `sync status --check`, and `auth status` / `sync status` after a login that stored what
  the server said);
- in-process calls of the functions those commands run (`auth.request_tokens`,
  `auth.get_access_token`, `sync.sync_once`, `sync_status.probe`, and the real
  `WebSocketClient` thread), because thousands of subprocesses would take too long.

What must hold for every answer: no traceback (in-process: no exception but a
`SpecKittyError`); every failure is one `error:` line (exit 1 for the CLI); no control
character reaches the output; the queue holds the same events, byte for byte; no pull runs
past `pull.MAX_PAGES` requests.
"""

from __future__ import annotations

import contextlib
import random
import re
import sqlite3
import threading
import time
import traceback
from pathlib import Path

import pytest

from tests._support import figures, hostile, seed
from tests._support.fake_server import FakeServer, Reply, token_reply
from tests._support.leaks import REGISTRY
from tests._support.procs import manual_sync_env, run_cli

CLI_LANES = 3
"""Independent runs of the CLI test (own server, home and seed), so pytest-xdist spreads them."""

CLI_RUNS = 20
"""Real CLI subprocesses per lane (plus an `auth status` and a `sync status` after each login
that worked). Each costs 0.5-3 s on a busy machine, so the rest runs in-process."""

IN_PROCESS_CALLS = 800
"""In-process calls of the same code paths, spread over login, refresh, sync and status."""

WS_SESSIONS = 200
"""WebSocket sessions served to the real client thread (in-process)."""

MIN_ANSWERS = 1000
"""The least number of answers each in-process test (HTTP calls; the socket) must serve, so
that the suite serves well over 2,000 with the CLI runs."""

UNSAFE = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069\ud800-\udfff]")
QUEUED = 5
ACCESS, REFRESH = "acc-hostile-0123456789", "ref-hostile-0123456789"


def _snapshot(path: Path) -> list[tuple[str, str]]:
    conn = sqlite3.connect(path)
    try:
        return conn.execute("SELECT event_id, body FROM queue ORDER BY id").fetchall()
    finally:
        conn.close()


def _sane(srv: FakeServer, ids: list[str]) -> None:
    """Every endpoint answers sensibly; a test then makes one of them hostile."""
    srv.routes[hostile.ENDPOINTS["login"]] = token_reply(ACCESS, REFRESH)
    srv.routes[hostile.ENDPOINTS["refresh"]] = token_reply(ACCESS, REFRESH)
    srv.routes[hostile.ENDPOINTS["push"]] = Reply(200, {"results": [
        {"event_id": i, "status": "rejected", "error": "not today"} for i in ids]})
    srv.routes[hostile.ENDPOINTS["pull"]] = Reply(200, {"events": [], "next_cursor": "0",
                                                        "has_more": False})
    srv.routes[hostile.ENDPOINTS["status"]] = Reply(200, {
        "status": "ok", "authenticated": True, "token_status": "valid", "version": "1"})
    srv.routes[hostile.ENDPOINTS["ws-token"]] = Reply(200, {"ws_token": "wstok"})


_saved: dict[tuple[Path, bool], str] = {}


def _save_login(home: Path, url: str, *, access_expired: bool, monkeypatch) -> None:
    """Store alice's session as `auth login` would (the refresh token is valid).

    The file is rewritten only when the last call changed it (a refresh or a login did).
    """
    from specify_cli.account import credentials as auth

    monkeypatch.setenv("SPEC_KITTY_HOME", str(home))
    path = auth.credentials_path()
    text = _saved.get((home, access_expired))
    with contextlib.suppress(OSError):
        if text is not None and path.read_text() == text:
            return
    now = time.time()
    auth.save_credentials(auth.Credentials(
        server_url=url, username="alice", team_slug="acme", access_token=ACCESS,
        refresh_token=REFRESH, access_expires_at=now - 60 if access_expired else now + 3600,
        refresh_expires_at=now + 86400))
    _saved[(home, access_expired)] = path.read_text()


STALL_TIMEOUT = 0.1
"""The client's timeout (the least the config allows) when the next answer is a stall:
short, so the stalls cost little. The stall itself lasts longer than any timeout used here."""

ANSWER_TIMEOUT = 10.0
"""The client's timeout for every other answer: generous, so that on a busy machine a slow
answer is still read and judged rather than mistaken for a hung server. (One 0.5 s timeout
for all answers made the 26 stalls of the in-process test 13 s of waiting.)"""


def _home(root: Path, url: str, timeout: float = 0.5) -> tuple[Path, Path, list[str]]:
    """A home whose server answers within `timeout` seconds or count as hung."""
    home = root / ".spec-kitty"
    home.mkdir(parents=True)
    _set_timeout(home, url, timeout)
    queue = seed.queue_file(home, url)
    ids = seed.seed(queue, QUEUED)
    return home, queue, ids


def _set_timeout(home: Path, url: str, timeout: float) -> None:
    (home / "config.toml").write_text(
        f'[server]\nurl = "{url}"\ntimeout_seconds = {timeout}\n')


def _expect(home: Path, url: str, kind: str) -> None:
    """Set the client's timeout for the next answer, of kind `kind` (see STALL_TIMEOUT)."""
    assert hostile.STALL_DELAY > 2 * STALL_TIMEOUT
    _set_timeout(home, url, STALL_TIMEOUT if kind == hostile.STALL else ANSWER_TIMEOUT)


def _check_output(what: str, text: str) -> None:
    assert "Traceback" not in text, (what, text[-2000:])
    bad = UNSAFE.search(text)
    assert bad is None, (what, repr(text[max(0, bad.start() - 80):bad.end() + 80]))


def _one_error(what: str, stderr: str) -> None:
    lines = [line for line in stderr.splitlines() if line.strip()]
    errors = [line for line in lines if line.startswith("error: ")]
    others = [line for line in lines if not line.startswith(("error: ", "warning: "))]
    assert len(errors) == 1 and not others, (what, stderr[-2000:])


@pytest.fixture
def hostile_server():
    with FakeServer() as srv:
        REGISTRY.secret(ACCESS, "access token")
        REGISTRY.secret(REFRESH, "refresh token")
        yield srv


@pytest.mark.parametrize("lane", range(CLI_LANES))
def test_cli_against_a_hostile_server(hostile_server, tmp_path, monkeypatch, lane):
    """Real `spec-kitty` subprocesses, each meeting one hostile answer."""
    from specify_cli.sync.pull import MAX_PAGES

    srv = hostile_server
    home, queue, ids = _home(tmp_path / "cli", srv.url)
    before = _snapshot(queue)
    rng = random.Random(1400 + lane)
    plan = [("login", "login"), ("now", "push"), ("now", "pull"), ("now", "refresh"),
            ("check", "status"), ("check", "refresh")]
    runs = 0
    for n in range(CLI_RUNS):
        command, endpoint = plan[(n + lane) % len(plan)]
        _sane(srv, ids)
        kind, reply = hostile.answer(rng, endpoint, ids)
        srv.routes[hostile.ENDPOINTS[endpoint]] = reply
        figures.fault_kind(f"hostile: {kind}")
        _expect(home, srv.url, kind)
        _save_login(home, srv.url, access_expired=endpoint == "refresh", monkeypatch=monkeypatch)
        srv.requests.clear()
        what = f"run {n}: {command} / {endpoint} / {kind}"
        if command == "login":
            r = run_cli(home, "auth", "login", "-u", "alice", "--password-stdin", "--force",
                        input="pw-hostile\n", env=manual_sync_env(home))
        elif command == "now":
            r = run_cli(home, "sync", "now", "--no-strict", env=manual_sync_env(home))
        else:
            r = run_cli(home, "sync", "status", "--check", env=manual_sync_env(home))
        runs += 1
        _check_output(what, r.stdout + r.stderr)
        if command == "check":
            assert r.returncode in (0, 1, 3) and "Check:" in r.stdout, (what, r.stdout,
                                                                         r.stderr)
            assert r.stderr.count("error:") <= 1, (what, r.stderr)
        elif r.returncode != 0:
            assert r.returncode == 1, (what, r.returncode, r.stderr)
            _one_error(what, r.stderr)
        if command == "login" and r.returncode == 0:
            # What the server said is now stored: it must print safely everywhere.
            for args in (("auth", "status"), ("sync", "status")):
                shown = run_cli(home, *args, env=manual_sync_env(home))
                runs += 1
                _check_output(f"{what} then {' '.join(args)}", shown.stdout + shown.stderr)
                assert shown.returncode in (0, 1), (what, args, shown.stderr)
        pulls = sum(1 for rec in srv.requests if rec.path.startswith("/api/v1/events/?"))
        assert pulls <= MAX_PAGES, (what, pulls)
        assert _snapshot(queue) == before, what
    assert srv.answers >= CLI_RUNS
    figures.add("hostile_cli_runs", runs)
    figures.add("hostile_answers", srv.answers)
    figures.add("tracebacks", 0)
    figures.add("events_lost", 0)


def test_a_pull_that_never_ends_stops_at_the_stated_bound(hostile_server, tmp_path,
                                                          monkeypatch):
    """`has_more` forever, with a new cursor each time: `sync now` stops at MAX_PAGES."""
    from specify_cli.sync.pull import MAX_PAGES

    srv = hostile_server
    # Nothing here hangs: a generous timeout, so a busy machine's slow page is not mistaken
    # for a hung server (at 0.5 s a loaded run stopped after 18 pages).
    home, queue, ids = _home(tmp_path / "endless", srv.url, timeout=30)
    _sane(srv, ids)
    pages = {"n": 0}
    lock = threading.Lock()

    def endless(rec) -> Reply:
        with lock:
            pages["n"] += 1
            n = pages["n"]
        return Reply(200, {"events": [{"event_id": f"01ENDLESS{n:017d}", "server_seq": n,
                                       "lamport_clock": 1, "event_type": "HistoryAdded"}],
                           "next_cursor": f"c{n}", "has_more": True})

    srv.routes[hostile.ENDPOINTS["pull"]] = endless
    _save_login(home, srv.url, access_expired=False, monkeypatch=monkeypatch)
    before = _snapshot(queue)
    r = run_cli(home, "sync", "now", "--no-strict", env=manual_sync_env(home), timeout=300)
    _check_output("endless pull", r.stdout + r.stderr)
    assert pages["n"] == MAX_PAGES, pages
    figures.add("pull_requests_max", pages["n"])
    assert r.returncode == 0 and f"Pulled {MAX_PAGES} new events" in r.stdout, r.stdout
    assert _snapshot(queue) == before
    # The same cursor twice is stopped at once, with one error line.
    srv.routes[hostile.ENDPOINTS["pull"]] = Reply(200, {
        "events": [{"event_id": "01SAME", "server_seq": 1, "lamport_clock": 1}],
        "next_cursor": "same", "has_more": True})
    srv.requests.clear()
    r = run_cli(home, "sync", "now", "--no-strict", env=manual_sync_env(home))
    assert r.returncode == 1 and "sent a cursor it had sent before" in r.stderr, r.stderr
    _one_error("repeated cursor", r.stderr)
    assert sum(1 for rec in srv.requests if rec.path.startswith("/api/v1/events/?")) == 2
    figures.fault_kind("pull: has_more forever")
    figures.add("hostile_answers", srv.answers)


class _Outcome:
    """Counts in-process results; any exception but a SpecKittyError is a traceback."""

    def __init__(self) -> None:
        self.calls = 0
        self.tracebacks: list[str] = []

    @contextlib.contextmanager
    def call(self, what: str, capsys):
        from specify_cli.cli import error
        from specify_cli.errors import SpecKittyError

        self.calls += 1
        try:
            yield
        except SpecKittyError as exc:
            error(str(exc))
            captured = capsys.readouterr()
            _check_output(what, captured.out + captured.err)
            last = captured.err.splitlines()[-1]
            assert last.startswith("error: ") and captured.err.count("error:") == 1, (
                what, captured.err)
        except Exception:  # noqa: BLE001 - that is what the test counts
            self.tracebacks.append(f"{what}\n{traceback.format_exc()}")


def test_in_process_calls_against_a_hostile_server(hostile_server, tmp_path, monkeypatch,
                                                   capsys):
    """The functions behind login, refresh, sync now and status --check, called directly."""
    from specify_cli.account import credentials as auth
    from specify_cli.cli import info
    from specify_cli.cli.commands import sync_status as _status
    from specify_cli.sync import sync_once
    from specify_cli.sync.queue import OfflineQueue

    srv = hostile_server
    home, queue_file, ids = _home(tmp_path / "inproc", srv.url)
    monkeypatch.setenv("SPEC_KITTY_HOME", str(home))
    before = _snapshot(queue_file)
    rng = random.Random(1414)
    outcome = _Outcome()
    endpoints = ["login", "refresh", "push", "pull", "status"]
    for n in range(IN_PROCESS_CALLS):
        endpoint = endpoints[n % len(endpoints)]
        _sane(srv, ids)
        kind, reply = hostile.answer(rng, endpoint, ids)
        srv.routes[hostile.ENDPOINTS[endpoint]] = reply
        figures.fault_kind(f"hostile: {kind}")
        _expect(home, srv.url, kind)
        _save_login(home, srv.url, access_expired=endpoint == "refresh",
                    monkeypatch=monkeypatch)
        what = f"call {n}: {endpoint} / {kind}"
        with outcome.call(what, capsys):
            if endpoint == "login":
                creds = auth.request_tokens(srv.url, "alice", "pw-hostile")
                auth.save_credentials(creds)
                stored = auth.load_credentials()
                info(f"Logged in as {stored.username} on {srv.url} (team {stored.team_slug}).")
            elif endpoint == "refresh":
                auth.get_access_token()
            elif endpoint == "status":
                check = _status.probe(srv.url)
                info(f"Check:        {check.result}: {check.detail}")
            else:
                queue = OfflineQueue(queue_file)
                try:
                    report = sync_once(queue, srv.url, node_id="0123456789ab")
                finally:
                    queue.close()
                for reason in report.push.rejected_reasons:
                    info(f"  rejected: {reason}")
                if report.error:
                    from specify_cli.cli import error
                    error(report.error)
        out = capsys.readouterr()
        _check_output(what, out.out + out.err)
        assert out.err.count("error:") <= 1, (what, out.err)
        assert _snapshot(queue_file) == before, what
    assert not outcome.tracebacks, "\n".join(outcome.tracebacks[:3])
    assert srv.answers >= MIN_ANSWERS, srv.answers
    figures.add("hostile_in_process_calls", outcome.calls)
    figures.add("hostile_answers", srv.answers)
    figures.add("tracebacks", len(outcome.tracebacks))


def test_websocket_client_against_hostile_sessions(hostile_server, tmp_path, monkeypatch):
    """The real WebSocket client thread meets `WS_SESSIONS` hostile sessions in a row."""
    from specify_cli.sync import websocket
    from specify_cli.sync.queue import OfflineQueue

    srv = hostile_server
    home, queue_file, ids = _home(tmp_path / "ws", srv.url)
    _sane(srv, ids)
    _save_login(home, srv.url, access_expired=False, monkeypatch=monkeypatch)
    before = _snapshot(queue_file)
    rng = random.Random(41)
    rng_lock = threading.Lock()
    sessions = {"n": 0}

    def ws_token(rec) -> Reply:
        with rng_lock:
            if rng.random() < 0.8:
                return Reply(200, {"ws_token": "wstok"})
            return hostile.answer(rng, "ws-token", ids)[1]

    def socket(rec) -> Reply:
        with rng_lock:
            sessions["n"] += 1
            return hostile.answer(rng, "socket", ids)[1]

    srv.routes[hostile.ENDPOINTS["ws-token"]] = ws_token
    srv.routes[hostile.ENDPOINTS["socket"]] = socket
    # Reconnect at once: the backoff is not what this test is about, the answers are.
    monkeypatch.setattr(websocket, "reconnect_delay", lambda failures, rng=None: 0.01)
    errors: list[str] = []
    monkeypatch.setattr(threading, "excepthook",
                        lambda args: errors.append("".join(traceback.format_exception(
                            args.exc_type, args.exc_value, args.exc_traceback))))
    queue = OfflineQueue(queue_file)
    deadline = time.monotonic() + 240
    clients = 0
    try:
        while sessions["n"] < WS_SESSIONS and time.monotonic() < deadline:
            client = websocket.WebSocketClient(srv.url, queue, node_id="0123456789ab",
                                               max_failures=10_000)
            clients += 1
            client.start()
            while (sessions["n"] < WS_SESSIONS and client._thread.is_alive()
                   and time.monotonic() < deadline):
                time.sleep(0.05)
            client.stop(timeout=5)
            assert not client._thread.is_alive()
    finally:
        queue.close()
    assert sessions["n"] >= WS_SESSIONS, sessions
    assert srv.answers >= MIN_ANSWERS, srv.answers
    assert not errors, errors[:2]
    assert _snapshot(queue_file) == before
    figures.fault_kind("hostile socket sessions")
    figures.add("hostile_ws_sessions", sessions["n"])
    figures.add("hostile_answers", srv.answers)
    figures.add("tracebacks", len(errors))


def test_the_hostile_answers_add_up():
    """Sanity of the generator: every endpoint gets answers, and none acknowledges a real id."""
    rng = random.Random(7)
    ids = ["01REALID"]
    for endpoint in hostile.ENDPOINTS:
        for _ in range(200):
            kind, reply = hostile.answer(rng, endpoint, ids)
            body = reply.encoded() if reply.raw is None and reply.ws_frames is None else b""
            assert b'"event_id": "01REALID", "status": "success"' not in body
