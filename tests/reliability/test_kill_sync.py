"""kill -9 of `spec-kitty sync now` at random moments during a push of 20,000 events.

One real server, one logged-in CLI home. Each trial tops the queue up to 20,000 events with
fresh ones (copied from a queue seeded once through `OfflineQueue.append`, with new ids), starts
`sync now`, kills it with SIGKILL at a random moment of its own tenth of the measured push
time (trial k in the k-th tenth), and then checks every event of every unfinished trial: still
queued, or stored on the server exactly once (and never stored twice under another id). The
next trial's `sync now` is the rerun of the previous one; a final uninterrupted run must finish
the whole job.
"""

from __future__ import annotations

import random
import signal
import sqlite3
import time
from pathlib import Path

import pytest

from tests._support import figures, seed
from tests._support.logins import PASSWORD, fast_login
from tests._support.procs import add_user, finish, spawn, start_server

EVENTS = 20_000
TRIALS = 10
"""Kill points are stratified, not drawn 25 times from the whole push: trial k is killed at a
random moment of the k-th tenth of the measured push time, so one run kills during start-up and
the first batch, mid-push and during the last batches, and within its tenth each kill still
lands at a random point of a batch (sending, the server storing, the queue marking). With 25
uniform draws a given tenth still went unkilled in 7% of runs (0.9**25); these 10 reach each."""


def _server_state(db: Path, codes: list[str]) -> tuple[set[str], int]:
    """Ids stored for these trial codes, and how many were stored twice (by content)."""
    if not codes:
        return set(), 0
    marks = ",".join("?" * len(codes))
    conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=30)
    try:
        rows = conn.execute(
            f"SELECT event_id, substr(event_id, 2, 2), "
            f"json_extract(body, '$.payload.entry_content') FROM events "
            f"WHERE project_slug = 'reliability' AND substr(event_id, 2, 2) IN ({marks})",
            codes).fetchall()
    finally:
        conn.close()
    ids = {r[0] for r in rows}
    by_content = {(r[1], r[2]) for r in rows}
    doubled = (len(rows) - len(ids)) + (len(rows) - len(by_content))
    return ids, doubled


def _pending(queue: Path) -> int:
    from specify_cli.sync.queue import OfflineQueue

    q = OfflineQueue(queue, cap=10_000_000)
    try:
        return q.pending_count()
    finally:
        q.close()


def _skip_pull(db: Path, queue: Path) -> None:
    """Move the pull cursor to the server's newest event: these trials test the push, and
    pulling back the 20,000 events of every earlier trial would only cost time."""
    from specify_cli.sync.queue import OfflineQueue

    conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=30)
    try:
        newest = conn.execute("SELECT coalesce(max(seq), 0) FROM events").fetchone()[0]
    finally:
        conn.close()
    q = OfflineQueue(queue, cap=10_000_000)
    try:
        q.set_state(pull_cursor=str(newest))
    finally:
        q.close()


@pytest.mark.timeout(1200)  # 11 pushes of 20,000 events: a hang guard sized for a busy machine
def test_kill9_of_sync_now_loses_and_doubles_nothing(tmp_path, home):
    rng = random.Random()
    db = tmp_path / "server.sqlite3"
    add_user(db, "alice", PASSWORD, "acme")
    srv = start_server(tmp_path, db=db)
    try:
        fast_login(home, srv.url)
        queue = seed.queue_file(home, srv.url)
        template = tmp_path / "template.sqlite3"
        template_ids = seed.seed_many(template, EVENTS)
        assert len(set(template_ids)) == EVENTS

        # Trial 0 is uninterrupted: it measures how long pushing 20,000 events takes.
        code = seed.append_clone(template, queue, 0)
        proc = spawn(home, "sync", "now")
        start, last_batch = time.monotonic(), None
        for line in proc.stdout:
            if line.startswith("Batch "):
                last_batch = time.monotonic() - start
        out, err = finish(proc, "sync now (uncut)")
        assert proc.returncode == 0, err
        push_seconds = last_batch or 1.0
        ids, doubled = _server_state(db, [code])
        assert ids == set(seed.trial_ids(template_ids, code)) and doubled == 0

        outstanding: dict[str, set[str]] = {}
        lost_total = doubled_total = killed = 0
        delays = []
        added = [EVENTS]
        for trial in range(1, TRIALS + 1):
            fresh = EVENTS - _pending(queue)
            code = seed.append_clone(template, queue, trial, fresh)
            outstanding[code] = set(seed.trial_ids(template_ids[:fresh], code))
            added.append(fresh)
            _skip_pull(db, queue)
            proc = spawn(home, "sync", "now")
            low, high = push_seconds * (trial - 1) / TRIALS, push_seconds * trial / TRIALS
            delay = max(0.05, rng.uniform(low, high))
            delays.append(round(delay, 2))
            time.sleep(delay)
            if proc.poll() is None:
                proc.send_signal(signal.SIGKILL)
                killed += 1
            finish(proc, f"sync now (trial {trial})")

            queued = set(seed.queued_ids(queue))
            stored, doubled = _server_state(db, list(outstanding))
            doubled_total += doubled
            for c in list(outstanding):
                missing = outstanding[c] - queued - stored
                lost_total += len(missing)
                if outstanding[c] <= stored:
                    del outstanding[c]
            check = sqlite3.connect(queue)
            try:
                assert check.execute("PRAGMA quick_check").fetchone()[0] == "ok"
            finally:
                check.close()
            assert lost_total == 0 and doubled_total == 0, (trial, lost_total, doubled_total)

        # The rerun finishes the job: queue empty, every event of every trial stored once.
        _skip_pull(db, queue)
        rerun = spawn(home, "sync", "now")
        out, err = finish(rerun, "sync now (rerun)", timeout=120)
        assert rerun.returncode == 0, err
        assert seed.queued_ids(queue) == []
        codes = [seed.trial_code(t) for t in range(TRIALS + 1)]
        stored, doubled = _server_state(db, codes)
        expected = set()
        for c, n in zip(codes, added, strict=True):
            expected |= set(seed.trial_ids(template_ids[:n], c))
        lost_total += len(expected - stored)
        doubled_total += doubled
        figures.add("kill_trials", killed)
        figures.add("events_lost", lost_total)
        figures.add("events_doubled", doubled_total)
        print(f"kill -9 of sync now: {killed} of {TRIALS} trials killed mid-run "
              f"(push of {EVENTS} took {push_seconds:.2f}s; delays {delays}); "
              f"lost {lost_total}, doubled {doubled_total}, stored {len(stored)}")
        assert stored == expected
        assert lost_total == 0 and doubled_total == 0
        assert killed >= TRIALS * 0.8, "most trials must actually kill a running sync"
    finally:
        srv.stop()
