"""kill -9 of an emitting process and of the server; four emitters racing a sync loop."""

from __future__ import annotations

import json
import random
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

from tests._support import figures, seed
from tests._support.leaks import REGISTRY
from tests._support.logins import PASSWORD, fast_login
from tests._support.procs import add_user, finish, manual_sync_env, run_cli, spawn, start_server

ROOT = Path(__file__).resolve().parents[2]


def _emitter(home: Path, project: Path, count: int, prefix: str = "note",
             out: Path | None = None, pace: float = 0.0) -> subprocess.Popen:
    """Start an emitter; with `out`, its stdout and stderr go to files (no pipe to fill)."""
    streams = {"stdout": subprocess.PIPE, "stderr": subprocess.PIPE}
    if out is not None:
        streams = {"stdout": open(out, "w"), "stderr": open(out.with_suffix(".err"), "w")}
    try:
        return subprocess.Popen([sys.executable, "-m", "tests._support.emitter_child",
                                 str(project), str(count), prefix], cwd=ROOT, text=True,
                                env=manual_sync_env(home, EMIT_PACE_SECONDS=str(pace)), **streams)
    finally:
        if out is not None:
            streams["stdout"].close()
            streams["stderr"].close()


def _project(tmp_path: Path, name: str) -> Path:
    root = tmp_path / name
    root.mkdir()
    return root


def _queue_rows(path: Path) -> list[tuple[str, int, str]]:
    """The queued events (id, Lamport value, node); none when the emitter died before it
    created the queue (its schema is created in one transaction, so it is all or nothing)."""
    if not path.exists():
        return []
    conn = sqlite3.connect(path)
    try:
        assert conn.execute("PRAGMA quick_check").fetchone()[0] == "ok"
        if not conn.execute("SELECT 1 FROM sqlite_master WHERE name = 'queue'").fetchone():
            return []
        return [(r[0], json.loads(r[1])["lamport_clock"], json.loads(r[1])["node_id"])
                for r in conn.execute("SELECT event_id, body FROM queue ORDER BY id")]
    finally:
        conn.close()


def _clock(path: Path) -> dict[str, int]:
    conn = sqlite3.connect(path)
    try:
        return dict(conn.execute("SELECT node_id, value FROM clock").fetchall())
    finally:
        conn.close()


def test_kill9_of_an_emitter_keeps_queue_and_clock_consistent(tmp_path, home):
    project = _project(tmp_path, "emitter-proj")
    queue = home / "queues" / "local.sqlite3"
    rng = random.Random()
    trials = 8
    committed: set[str] = set()
    lost = 0
    for trial in range(trials):
        proc = _emitter(home, project, 1_000_000)
        assert proc.stdout.readline().strip() == "ready"
        # Kill at a random moment *after* the first event is stored, however slow the
        # machine: a kill before any emit would test nothing.
        first = proc.stdout.readline()
        assert first.startswith("ok "), first
        time.sleep(rng.uniform(0.0, 0.5))
        proc.send_signal(signal.SIGKILL)
        out, err = finish(proc, f"emitter (trial {trial})")
        assert proc.returncode == -signal.SIGKILL
        committed |= {line.split()[1] for line in (first + out).splitlines()
                      if line.startswith("ok ")}
        rows = _queue_rows(queue)
        ids = [r[0] for r in rows]
        if not rows:  # killed before the first event: nothing may have been reported
            assert not committed
            continue
        (node,) = {r[2] for r in rows}
        # Every event the emitter reported as stored is in the queue ...
        lost = len(committed - set(ids))
        assert lost == 0
        # ... each once, with Lamport values unique and rising in queue order, and the
        # clock at or above the highest: a kill between the machine and the queue commit
        # skips a value (a gap), it never hands one out twice.
        assert len(ids) == len(set(ids))
        in_order = [r[1] for r in rows]
        assert len(set(in_order)) == len(in_order), trial
        assert in_order == sorted(in_order), trial
        assert _clock(queue)[node] >= max(in_order)
    assert committed  # the emitters did emit before dying
    figures.add("kill_trials", trials)
    figures.add("events_lost", lost)
    print(f"kill -9 of an emitter: {trials} trials, {len(committed)} committed events, "
          "queue and clock consistent")


def test_kill9_of_the_server_during_ingest(tmp_path, home):
    db = tmp_path / "server.sqlite3"
    add_user(db, "alice", PASSWORD, "acme")
    srv = start_server(tmp_path, db=db)
    port = int(srv.url.rsplit(":", 1)[1])
    rng = random.Random()
    template = tmp_path / "template.sqlite3"
    template_ids = seed.seed_many(template, 10_000)
    trials = 2
    lost = doubled = interrupted = 0
    try:
        fast_login(home, srv.url)
        queue = seed.queue_file(home, srv.url)
        for trial in range(trials):
            code = seed.append_clone(template, queue, 100 + trial)
            expected = set(seed.trial_ids(template_ids, code))
            proc = spawn(home, "sync", "now")
            time.sleep(rng.uniform(0.2, 0.6))
            interrupted += proc.poll() is None
            srv.kill()  # SIGKILL
            out, err = finish(proc, f"sync now (server killed, trial {trial})")
            if proc.returncode != 0:  # it noticed: one clear line, the rest stays queued
                errors = [line for line in err.splitlines() if line.startswith("error:")]
                assert len(errors) == 1 and "Traceback" not in err, err
            conn = sqlite3.connect(db)
            try:
                assert conn.execute("PRAGMA quick_check").fetchone()[0] == "ok"
            finally:
                conn.close()
            stored = set(seed.server_ids(db, "substr(event_id, 2, 2) = ?", (code,)))
            assert expected <= stored | set(seed.queued_ids(queue))
            srv = start_server(tmp_path, port=port, db=db)  # same URL: the client retries
            rerun = run_cli(home, "sync", "now", env=manual_sync_env(home))
            assert rerun.returncode == 0, rerun.stderr
            rows = seed.server_ids(db, "substr(event_id, 2, 2) = ?", (code,))
            lost += len(expected - set(rows))
            doubled += len(rows) - len(set(rows))
            assert len(rows) == len(set(rows)) and set(rows) == expected
            assert seed.queued_ids(queue) == []
        figures.add("kill_trials", trials)
        figures.add("events_lost", lost)
        figures.add("events_doubled", doubled)
        figures.fault_kind("server killed mid-ingest")
        print(f"kill -9 of the server: {trials} trials, {interrupted} while `sync now` was "
              f"running; lost {lost}, doubled {doubled}")
    finally:
        srv.stop()


def test_four_emitters_and_a_sync_loop(tmp_path, home):
    db = tmp_path / "server.sqlite3"
    add_user(db, "alice", PASSWORD, "acme")
    srv = start_server(tmp_path, db=db)
    try:
        fast_login(home, srv.url)
        project = _project(tmp_path, "concurrency-proj")
        # Create the identity once, so the four processes start on the same project.
        warm = _emitter(home, project, 0)
        finish(warm, "emitter warm-up")
        logs = [tmp_path / f"emitter-{i}.out" for i in range(4)]
        emitters = [_emitter(home, project, 2500, f"p{i}", logs[i], pace=0.0005)
                    for i in range(4)]
        outputs: list[str] = []
        syncs = failures = 0
        deadline = time.monotonic() + 150
        while any(p.poll() is None for p in emitters) and time.monotonic() < deadline:
            r = run_cli(home, "sync", "now", env=manual_sync_env(home), timeout=120)
            syncs += 1
            failures += r.returncode != 0
            outputs += [r.stdout, r.stderr]
        for proc in emitters:
            proc.wait(60)
        results = [(log.read_text(), log.with_suffix(".err").read_text()) for log in logs]
        for i, (out, err) in enumerate(results):
            REGISTRY.output(f"emitter {i} stdout", out)
            REGISTRY.output(f"emitter {i} stderr", err)
        final = run_cli(home, "sync", "now", env=manual_sync_env(home), timeout=120)
        outputs += [final.stdout, final.stderr] + [o + e for o, e in results]
        assert final.returncode == 0, final.stderr
        for (out, err), proc in zip(results, emitters, strict=True):
            assert proc.returncode == 0, err
            assert out.strip().splitlines()[-1] == "done 2500 0", err[-500:]
        text = "\n".join(outputs)
        assert "database is locked" not in text
        assert "Traceback" not in text
        assert failures == 0, text[-2000:]
        events = seed.server_rows(db, "project_slug = 'concurrency-proj'")
        ids = {e["event_id"] for e in events}
        contents = {e["payload"]["entry_content"] for e in events}
        per_node: dict[str, list[int]] = {}
        for e in events:
            per_node.setdefault(e["node_id"], []).append(e["lamport_clock"])
        lost = 10_000 - len(contents)
        doubled = len(events) - len(ids) + len(ids) - len(contents)
        figures.add("concurrent_processes", len(emitters) + 1)
        figures.add("events_lost", max(lost, 0))
        figures.add("events_doubled", max(doubled, 0))
        print(f"4 emitters x 2,500 + sync loop ({syncs} syncs): {len(ids)} distinct events, "
              f"lamport unique per node: "
              f"{all(len(v) == len(set(v)) for v in per_node.values())}")
        assert len(events) == len(ids) == len(contents) == 10_000
        for values in per_node.values():
            assert len(values) == len(set(values))
        assert seed.queued_ids(seed.queue_file(home, srv.url)) == []
    finally:
        srv.stop()
