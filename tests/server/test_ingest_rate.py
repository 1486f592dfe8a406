"""Ingest throughput through the batch endpoint on loopback (target: 20,000 events/s).

The figure is printed, never asserted: timing belongs to the bench (`./scripts/bench`).
"""

from __future__ import annotations

import json
import os
import threading
import time
from pathlib import Path

from tests._support.events import make_event
from tests._support.server_api import client, start_with_users, tokens_for

BATCHES = 30
PER_BATCH = 1000
THREADS = 2


def _cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process (Linux), so the figure survives a busy machine."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def test_ingest_rate(tmp_path, capsys):
    srv = start_with_users(tmp_path, [("alice", "acme")])
    try:
        access = tokens_for(srv.url, "alice")["access"]
        bodies = [json.dumps({"events": [make_event(wp=f"WP{(i % 80) + 10:02d}",
                                                    to_lane="for_review")
                                         for i in range(PER_BATCH)]}).encode()
                  for _ in range(BATCHES)]
        stored = []

        def worker(mine: list[bytes]) -> None:
            with client(srv.url, access) as api:
                for body in mine:
                    r = api.post("/api/v1/events/batch/", content=body,
                                 headers={"Content-Type": "application/json"})
                    stored.append(sum(x["status"] == "success" for x in r.json()["results"]))

        with client(srv.url, access) as api:  # warm-up: connection, validators, page cache
            api.post("/api/v1/events/batch/", json={"events": [make_event()]})
        threads = [threading.Thread(target=worker, args=(bodies[i::THREADS],))
                   for i in range(THREADS)]
        start = time.perf_counter()
        cpu_start = _cpu_seconds(srv.proc.pid)
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(120)
        elapsed = time.perf_counter() - start
        cpu = _cpu_seconds(srv.proc.pid) - cpu_start
        assert sum(stored) == BATCHES * PER_BATCH
        rate = BATCHES * PER_BATCH / elapsed
        with capsys.disabled():
            print(f"\ningest: {BATCHES * PER_BATCH} events in {elapsed:.2f} s = "
                  f"{rate:,.0f} events/s; server CPU {cpu:.2f} s = "
                  f"{BATCHES * PER_BATCH / cpu if cpu else 0:,.0f} events per CPU-second")
    finally:
        srv.stop()
