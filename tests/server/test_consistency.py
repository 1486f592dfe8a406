"""Concurrent pushes and a kill -9 during ingest: no event lost, none stored twice."""

from __future__ import annotations

import json
import sqlite3
import threading
import time

import httpx

from tests._support.events import make_event
from tests._support.procs import start_server
from tests._support.server_api import client, push, start_with_users, tokens_for


def _all_ids(url: str, access: str) -> list[str]:
    ids: list[str] = []
    cursor = None
    with client(url, access) as api:
        for _ in range(10_000):
            params = {"limit": 1000, **({"after": cursor} if cursor else {})}
            page = api.get("/api/v1/events/", params=params).json()
            ids += [e["event_id"] for e in page["events"]]
            cursor = page["next_cursor"]
            if not page["has_more"]:
                break
    return ids


def test_concurrent_batches_from_threads(tmp_path):
    srv = start_with_users(tmp_path, [("alice", "acme"), ("alice2", "acme")])
    try:
        tokens = [tokens_for(srv.url, "alice")["access"], tokens_for(srv.url, "alice2")["access"]]
        shared = [make_event(wp=f"WP{(i % 90) + 10:02d}") for i in range(300)]
        per_thread = [[make_event(wp=f"WP{(i % 90) + 10:02d}") for i in range(600)]
                      for _ in range(4)]
        outcomes: list[dict] = []
        errors: list[BaseException] = []

        def worker(index: int) -> None:
            try:
                with client(srv.url, tokens[index % 2]) as api:
                    mine = per_thread[index]
                    for start in range(0, len(mine), 300):
                        # every thread also re-sends the shared events: only one wins each
                        r = push(api, mine[start:start + 300] + shared[start // 4:][:75])
                        assert r.status_code == 200
                        outcomes.extend(r.json()["results"])
            except BaseException as exc:  # noqa: BLE001 - reported below
                errors.append(exc)

        threads = [threading.Thread(target=worker, args=(i,)) for i in range(4)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(60)
        assert not errors
        expected = {e["event_id"] for batch in per_thread for e in batch}
        expected |= {r["event_id"] for r in outcomes if r["event_id"] in
                     {e["event_id"] for e in shared}}
        successes = [r["event_id"] for r in outcomes if r["status"] == "success"]
        assert len(successes) == len(set(successes)) == len(expected)
        stored = _all_ids(srv.url, tokens[0])
        assert len(stored) == len(set(stored)) == len(expected)
        assert set(stored) == expected
    finally:
        srv.stop()


def test_kill_9_mid_batch_then_restart(tmp_path):
    srv = start_with_users(tmp_path, [("alice", "acme")])
    batches = [[make_event(wp=f"WP{(i % 60) + 10:02d}", to_lane="done") for i in range(500)]
               for _ in range(16)]
    bodies = [json.dumps({"events": b}).encode() for b in batches]
    acknowledged: set[str] = set()
    access = tokens_for(srv.url, "alice")["access"]
    stop = threading.Event()

    def pusher() -> None:
        with client(srv.url, access) as api:
            for body in bodies:
                if stop.is_set():
                    return
                try:
                    r = api.post("/api/v1/events/batch/", content=body,
                                 headers={"Content-Type": "application/json"})
                except httpx.HTTPError:
                    return
                acknowledged.update(x["event_id"] for x in r.json()["results"]
                                    if x["status"] == "success")

    thread = threading.Thread(target=pusher)
    thread.start()
    deadline = time.monotonic() + 20
    while len(acknowledged) < 1500 and time.monotonic() < deadline:
        time.sleep(0.01)
    srv.kill()  # SIGKILL while batches are in flight
    stop.set()
    thread.join(30)
    assert 1500 <= len(acknowledged) < 8000

    conn = sqlite3.connect(srv.db)
    assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    stored = {row[0] for row in conn.execute("SELECT event_id FROM events")}
    conn.close()
    assert acknowledged <= stored  # nothing acknowledged is lost
    for batch in batches:  # each batch is all-or-nothing
        present = sum(e["event_id"] in stored for e in batch)
        assert present in (0, len(batch))

    # Restart on the same database; the client retries everything.
    srv2 = start_server(tmp_path, db=srv.db)
    try:
        access = tokens_for(srv2.url, "alice")["access"]
        with client(srv2.url, access) as api:
            statuses = []
            for body in bodies:
                r = api.post("/api/v1/events/batch/", content=body,
                             headers={"Content-Type": "application/json"})
                statuses += [x["status"] for x in r.json()["results"]]
        assert statuses.count("duplicate") == len(stored)
        assert statuses.count("success") == 8000 - len(stored)
        ids = _all_ids(srv2.url, access)
        assert len(ids) == len(set(ids)) == 8000
        with client(srv2.url, access) as api:
            assert api.get("/api/v1/sync/health/").json()["token_status"] == "valid"
    finally:
        srv2.stop()
    conn = sqlite3.connect(srv.db)
    lanes = conn.execute("SELECT DISTINCT lane FROM work_packages").fetchall()
    conn.close()
    assert lanes == [("done",)]
