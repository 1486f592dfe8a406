"""Throughput figures, each next to its baseline measured in the same run.

The figures are printed (`-s`), never asserted: timing belongs to the bench
(`./scripts/bench`); the assertions here are about correctness only.
"""

from __future__ import annotations

import gzip
import json
import sqlite3
import time
from pathlib import Path

from specify_cli.account import credentials as auth
from specify_cli.account.scope import queue_path
from specify_cli.account.session import Session
from specify_cli.sync.batch import push
from specify_cli.sync.emitter import EventEmitter
from specify_cli.sync.queue import OfflineQueue
from tests._support.events import sample_events
from tests._support.logins import fast_login

MOVE = {"wp_id": "WP01", "from_lane": "planned", "to_lane": "in_progress", "actor": "alice",
        "feature_slug": "001-demo"}


def bare_sqlite_rate(path: Path, n: int, body: str) -> float:
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=NORMAL")
    conn.execute("CREATE TABLE t (id INTEGER PRIMARY KEY, body TEXT)")
    started = time.perf_counter()
    for _ in range(n):
        conn.execute("BEGIN IMMEDIATE")
        conn.execute("INSERT INTO t(body) VALUES (?)", (body,))
        conn.execute("COMMIT")
    rate = n / (time.perf_counter() - started)
    conn.close()
    return rate


def test_emit_rate_against_a_bare_sqlite_insert_commit_loop(tmp_path, home):
    (tmp_path / "p" / ".kittify").mkdir(parents=True)
    emitter = EventEmitter(tmp_path / "p", start_runtime=False)
    first = emitter.emit("WPStatusChanged", MOVE)
    n = 3000
    started = time.perf_counter()
    for _ in range(n):
        emitter.emit("WPStatusChanged", MOVE)
    emit_rate = n / (time.perf_counter() - started)
    bare = bare_sqlite_rate(tmp_path / "bare.sqlite3", n, json.dumps(first))
    print(f"\nFIGURE emit: {emit_rate:,.0f} events/s; bare SQLite insert+commit: {bare:,.0f}/s "
          f"(ratio {emit_rate / bare:.2f})")
    assert emitter.emitted == n + 1


def test_push_rate_against_a_json_gzip_baseline(home, shared_server):
    fast_login(home, shared_server.url, "erin")
    queue = OfflineQueue(queue_path(auth.load_credentials().scope))
    events = sample_events(10_000, node="0badc0ffee00")
    started = time.perf_counter()
    for i in range(0, len(events), 1000):
        gzip.compress(json.dumps({"events": events[i:i + 1000]}).encode())
    baseline = len(events) / (time.perf_counter() - started)
    for event in events:
        queue.append(event)
    with Session(shared_server.url) as session:
        started = time.perf_counter()
        report = push(queue, session)
        rate = len(events) / (time.perf_counter() - started)
    print(f"\nFIGURE push: {rate:,.0f} events/s to the loopback server; json.dumps+gzip of the "
          f"same events: {baseline:,.0f}/s (ratio {rate / baseline:.2f})")
    assert report.pushed == len(events) and queue.pending_count() == 0
