"""Batch push against a fault-injecting loopback server: the queue survives every fault."""

from __future__ import annotations

import gzip
import json
import time

import pytest

from specify_cli.account import credentials as auth
from specify_cli.account.scope import queue_path
from specify_cli.errors import NotAuthenticatedError
from specify_cli.sync import sync_once
from specify_cli.sync.queue import OfflineQueue
from tests._support.events import sample_events
from tests._support.fake_server import Reply, token_reply
from tests._support.procs import run_cli

BATCH = "/api/v1/events/batch/"
EVENTS = "/api/v1/events/"


@pytest.fixture
def fake(fake_server):
    fake_server.routes.clear()
    fake_server.requests.clear()
    fake_server.routes[("GET", EVENTS)] = Reply(200, {"events": [], "next_cursor": None,
                                                      "has_more": False})
    return fake_server


@pytest.fixture
def account(home, fake):
    now = time.time()
    creds = auth.Credentials(server_url=fake.url, username="alice", team_slug="acme",
                             access_expires_at=now + 900, refresh_expires_at=now + 3600,
                             access_token="acc-1", refresh_token="ref-1")
    auth.save_credentials(creds)
    queue = OfflineQueue(queue_path(creds.scope))
    yield queue
    queue.close()


def fill(queue, n):
    for event in sample_events(n):
        queue.append(event)


def answer_all(status="success", only=None):
    def route(rec):
        events = json.loads(gzip.decompress(rec.body))["events"]
        if only is not None:
            events = events[:only]
        return Reply(200, {"results": [{"event_id": e["event_id"], "status": status,
                                        "error": None} for e in events]})
    return route


def intact(queue, n, error):
    stats = queue.stats()
    assert stats.pending == n
    assert stats.errors == {error: min(n, 1000)}


@pytest.mark.parametrize("status", [500, 502, 503])
def test_5xx_keeps_the_batch_queued_and_stops(fake, account, status):
    fill(account, 3500)
    fake.routes[("POST", BATCH)] = Reply(status, {"detail": "down"})
    report = sync_once(account, fake.url, node_id=None)
    assert "temporarily unavailable" in report.error and f"HTTP {status}" in report.error
    # No new batch after the failure: at most the pipelined one was already on its way.
    sent = len([r for r in fake.requests if r.path == BATCH])
    assert 1 <= sent <= 2
    stats = account.stats()
    assert stats.pending == 3500 and stats.errors == {f"HTTP {status}": 1000 * sent}
    assert account.get_state()["last_sync_result"].startswith("failed:")


@pytest.mark.parametrize("body", ["<html>oops</html>", {"results": "x"},
                                  {"results": [{"event_id": 1}]}, [1, 2],
                                  {"results": [{"event_id": "A", "status": "maybe"}]}])
def test_garbage_and_wrong_shapes_keep_the_batch_queued(fake, account, body):
    fill(account, 10)
    fake.routes[("POST", BATCH)] = Reply(200, body)
    report = sync_once(account, fake.url, node_id=None)
    assert "unexpected response" in report.error
    intact(account, 10, "unexpected response")


def test_a_stall_past_the_timeout_keeps_the_batch_queued(fake, account):
    fill(account, 10)
    fake.routes[("POST", BATCH)] = Reply(200, {"results": []}, delay=1.5)
    report = sync_once(account, fake.url, node_id=None, timeout=0.3)
    assert "did not answer in time" in report.error
    intact(account, 10, "the server at " + fake.url + " did not answer in time")


def test_unreachable_server_keeps_everything_queued(home, account):
    fill(account, 5)
    report = sync_once(account, "http://127.0.0.1:9", node_id=None)
    assert "cannot reach" in report.error and account.pending_count() == 5


def test_401_refreshes_once_and_retries_with_the_new_token(fake, account):
    fill(account, 20)
    calls = []

    def batch(rec):
        calls.append(rec.headers["Authorization"])
        if len(calls) == 1:
            return Reply(401, {"detail": "expired"})
        return answer_all()(rec)

    fake.routes[("POST", BATCH)] = batch
    fake.routes[("POST", "/api/v1/token/refresh/")] = token_reply(access="acc-2",
                                                                  refresh="ref-2")
    report = sync_once(account, fake.url, node_id=None)
    assert report.ok and report.push.pushed == 20
    assert calls == ["Bearer acc-1", "Bearer acc-2"]
    assert account.pending_count() == 0


def test_401_after_the_refresh_raises_and_keeps_the_queue(fake, account):
    fill(account, 20)
    fake.routes[("POST", BATCH)] = Reply(401, {"detail": "no"})
    fake.routes[("POST", "/api/v1/token/refresh/")] = token_reply(access="acc-2")
    with pytest.raises(NotAuthenticatedError):
        sync_once(account, fake.url, node_id=None)
    assert account.pending_count() == 20


def test_401_in_the_middle_of_a_drain_keeps_the_rest(fake, account):
    fill(account, 2500)
    calls = []

    def batch(rec):
        calls.append(1)
        return answer_all()(rec) if len(calls) == 1 else Reply(401, {"detail": "no"})

    fake.routes[("POST", BATCH)] = batch
    fake.routes[("POST", "/api/v1/token/refresh/")] = Reply(401, {"detail": "dead"})
    with pytest.raises(NotAuthenticatedError):
        sync_once(account, fake.url, node_id=None)
    assert account.pending_count() == 1500


def test_batches_are_gzip_at_most_1000_events_in_fifo_order(fake, account):
    fill(account, 2500)
    expected = [r.event_id for r in account.read_batch(0, 5000)]
    fake.routes[("POST", BATCH)] = answer_all()
    report = sync_once(account, fake.url, node_id=None)
    posts = [r for r in fake.requests if r.path == BATCH]
    assert [len(json.loads(gzip.decompress(r.body))["events"]) for r in posts] == [1000, 1000, 500]
    assert all(r.headers["Content-Encoding"] == "gzip" for r in posts)
    sent = [e["event_id"] for r in posts for e in json.loads(gzip.decompress(r.body))["events"]]
    assert sent == expected
    assert [b.sent for b in report.push.batches] == [1000, 1000, 500]
    assert account.pending_count() == 0


def test_duplicates_leave_rejected_stay_and_unanswered_stay(fake, account):
    fill(account, 6)
    rows = account.read_batch()

    def batch(rec):
        return Reply(200, {"results": [
            {"event_id": rows[0].event_id, "status": "success", "error": None},
            {"event_id": rows[1].event_id, "status": "duplicate", "error": None},
            {"event_id": rows[2].event_id, "status": "rejected", "error": "team mismatch"},
            {"event_id": rows[3].event_id, "status": "rejected", "error": "too big"},
        ]})

    fake.routes[("POST", BATCH)] = batch
    report = sync_once(account, fake.url, node_id=None)
    assert (report.push.pushed, report.push.duplicates, report.push.rejected) == (1, 1, 2)
    assert dict(report.push.rejected_reasons) == {"team mismatch": 1, "too big": 1}
    left = [r.id for r in account.read_batch()]
    assert left == [rows[2].id, rows[3].id, rows[4].id, rows[5].id]
    assert [f["error"] for f in account.failures()] == ["team mismatch", "too big"]


def test_413_halves_the_batch_and_continues(fake, account):
    fill(account, 40)

    def batch(rec):
        events = json.loads(gzip.decompress(rec.body))["events"]
        if len(events) > 10:
            return Reply(413, {"detail": "too many"})
        return answer_all()(rec)

    fake.routes[("POST", BATCH)] = batch
    report = sync_once(account, fake.url, node_id=None)
    assert report.ok and account.pending_count() == 0 and report.push.pushed == 40


def test_pull_pages_until_has_more_is_false_and_persists_the_cursor(fake, account):
    events = [dict(e, server_seq=i + 1) for i, e in enumerate(sample_events(5))]
    pages = {None: (events[:2], "2", True), "2": (events[2:4], "4", True),
             "4": (events[4:], "5", False), "5": ([], "5", False)}
    seen = []

    def feed(rec):
        after = rec.path.partition("after=")[2].split("&")[0] or None
        seen.append(after)
        chunk, cursor, more = pages[after]
        return Reply(200, {"events": chunk, "next_cursor": cursor, "has_more": more})

    fake.routes[("GET", EVENTS)] = feed
    report = sync_once(account, fake.url, node_id="0123456789ab")
    assert report.pull.pulled == 5 and seen == [None, "2", "4"]
    assert account.get_state()["pull_cursor"] == "5"
    assert account.clock_value("0123456789ab") == 5
    sync_once(account, fake.url, node_id="0123456789ab")
    assert seen[-1] == "5"  # resumes from the persisted cursor
    # Every page asks the server to leave this node's own events out.
    gets = [r.path for r in fake.requests if r.method == "GET"]
    assert gets and all("exclude_node=0123456789ab" in p for p in gets)


def test_sync_now_cli_on_a_failing_server_exits_1_with_one_line_and_keeps_the_queue(
        fake, account, home):
    fill(account, 3)
    fake.routes[("POST", BATCH)] = Reply(503, {"detail": "down"})
    result = run_cli(home, "sync", "now")
    assert result.returncode == 1
    assert result.stderr.count("\n") == 1 and "3 events remain queued" in result.stderr
    assert "Traceback" not in result.stderr and account.pending_count() == 3


def test_background_sync_counts_http_failures_as_failures(fake, account):
    from specify_cli.sync.runtime import SyncRuntime

    fill(account, 3)
    fake.routes[("POST", BATCH)] = Reply(503, {"detail": "down"})
    runtime = SyncRuntime(account, fake.url, None, auto_start=False)
    assert runtime._background_sync() is False
    fake.routes[("POST", BATCH)] = answer_all()
    assert runtime._background_sync() is True and account.pending_count() == 0


def test_a_failed_batch_between_good_ones_keeps_only_its_own_events(fake, account):
    fill(account, 3000)
    rows = account.read_batch(0, 5000)
    calls = []

    def batch(rec):
        calls.append(1)
        return Reply(503, {"detail": "x"}) if len(calls) == 2 else answer_all()(rec)

    fake.routes[("POST", BATCH)] = batch
    report = sync_once(account, fake.url, node_id=None)
    assert report.error and report.push.pushed in (1000, 2000)
    left = [r.id for r in account.read_batch(0, 5000)]
    assert left[:1000] == [r.id for r in rows[1000:2000]]  # the failed batch, intact
    assert len(left) == 3000 - report.push.pushed


def _run_in_pty(home, *args):
    import os
    import pty
    import subprocess

    from tests._support.procs import SPEC_KITTY, cli_env

    master, slave = pty.openpty()
    env = cli_env(home)
    env.pop("NO_COLOR", None)
    env["TERM"] = "xterm"
    proc = subprocess.Popen([SPEC_KITTY, *args], stdout=slave, stderr=slave, env=env)
    os.close(slave)
    chunks = []
    while True:
        try:
            data = os.read(master, 65536)
        except OSError:
            break
        if not data:
            break
        chunks.append(data)
    proc.wait(60)
    os.close(master)
    return proc.returncode, b"".join(chunks).decode("utf-8", "replace")


def test_progress_bar_only_on_a_terminal_with_more_than_one_batch(fake, account, home):
    fake.routes[("POST", BATCH)] = answer_all()
    fill(account, 1500)
    code, out = _run_in_pty(home, "sync", "now")
    assert code == 0 and "Pushing" in out and "Batch 2: 500 sent" in out
    fill(account, 1500)
    piped = run_cli(home, "sync", "now")
    assert piped.returncode == 0 and "Pushing" not in piped.stdout
    assert "Batch 2: 500 sent" in piped.stdout
    fill(account, 10)
    code, out = _run_in_pty(home, "sync", "now")
    assert code == 0 and "Pushing" not in out and "Batch 1: 10 sent" in out


def test_a_failed_pull_after_a_good_push_is_reported(fake, account, home):
    fill(account, 2)
    fake.routes[("POST", BATCH)] = answer_all()
    fake.routes[("GET", EVENTS)] = Reply(502, {"detail": "bad gateway"})
    result = run_cli(home, "sync", "now")
    assert result.returncode == 1
    assert "pushed everything, but the pull failed" in result.stderr
    assert account.pending_count() == 0 and "pull_cursor" not in account.get_state()


def test_unanswered_events_are_reported_as_a_failure(fake, account):
    fill(account, 3)
    rows = account.read_batch()
    fake.routes[("POST", BATCH)] = Reply(200, {"results": [
        {"event_id": rows[0].event_id, "status": "success", "error": None}]})
    report = sync_once(account, fake.url, node_id=None)
    assert report.error and "did not answer for 2 events" in report.error
    assert [r.id for r in account.read_batch()] == [rows[1].id, rows[2].id]
