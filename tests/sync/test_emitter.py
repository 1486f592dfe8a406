"""The emitter: never raises, validates, injects identity and team, groups by causation."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from specify_cli.sync import emitter as emitter_mod
from specify_cli.sync.emitter import EventEmitter, action
from specify_cli.sync.queue import OfflineQueue

MOVE = {"wp_id": "WP01", "from_lane": "planned", "to_lane": "in_progress", "actor": "alice",
        "feature_slug": "001-demo"}


@pytest.fixture
def project(tmp_path, home):
    root = tmp_path / "proj"
    (root / ".kittify").mkdir(parents=True)
    return root


def test_emit_stamps_identity_and_local_team_and_queues(project, home):
    em = EventEmitter(project, start_runtime=False)
    event = em.emit("WPStatusChanged", MOVE)
    assert event["team_slug"] == "local"
    assert event["project_slug"] == "proj" and event["lamport_clock"] == 1
    assert event["aggregate_type"] == "WorkPackage" and event["causation_id"] is None
    queue = OfflineQueue(home / "queues" / "local.sqlite3")
    assert json.loads(queue.read_batch()[0].body) == event


def test_invalid_event_is_dropped_with_one_warning_line(project, home, capsys):
    em = EventEmitter(project, start_runtime=False)
    assert em.emit("WPStatusChanged", {"wp_id": "bad"}) is None
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("warning: dropped an invalid WPStatusChanged")
    assert em.dropped == 1 and OfflineQueue(home / "queues" / "local.sqlite3").pending_count() == 0


def test_emit_never_raises_even_when_the_queue_is_unusable(project, home, capsys):
    (home / "queues").mkdir(parents=True)
    (home / "queues" / "local.sqlite3").write_bytes(b"garbage" * 1000)
    em = EventEmitter(project, start_runtime=False)
    assert em.emit("WPStatusChanged", MOVE) is None
    assert "could not record a WPStatusChanged event" in capsys.readouterr().err


def test_events_in_one_action_share_a_causation_id(project, home):
    em = EventEmitter(project, start_runtime=False)
    with action() as cid:
        a = em.emit("WPStatusChanged", MOVE)
        with action() as inner:
            b = em.emit("WPStatusChanged", MOVE)
    c = em.emit("WPStatusChanged", MOVE)
    assert a["causation_id"] == b["causation_id"] == cid == inner
    assert c["causation_id"] is None


def test_at_the_cap_every_emit_warns_and_status_counts_refusals(project, home, capsys):
    (home).mkdir(parents=True, exist_ok=True)
    (home / "config.toml").write_text("[sync]\nqueue_cap = 3\n")
    em = EventEmitter(project, start_runtime=False)
    results = [em.emit("WPStatusChanged", MOVE) for _ in range(5)]
    assert [r is not None for r in results] == [True, True, True, False, False]
    err = capsys.readouterr().err
    assert err.count("NOT recorded") == 2 and "queue is full (3 of 3 events)" in err
    assert "2 refused since the last successful push" in err
    stats = OfflineQueue(home / "queues" / "local.sqlite3").stats()
    assert stats.pending == 3 and stats.refused == 2


def test_module_level_emitter_is_a_lazy_singleton(monkeypatch):
    monkeypatch.setattr(emitter_mod, "_emitter", None)
    assert emitter_mod.get_emitter() is emitter_mod.get_emitter()


_EMIT = """
import sys
from pathlib import Path
from specify_cli.sync.emitter import EventEmitter
em = EventEmitter(Path(sys.argv[1]), start_runtime=False)
payload = {"wp_id": "WP01", "from_lane": "planned", "to_lane": "in_progress", "actor": "a",
           "feature_slug": "001-demo"}
for _ in range(int(sys.argv[2])):
    assert em.emit("WPStatusChanged", payload) is not None
"""


def test_four_processes_emitting_at_once_get_unique_lamport_values_and_lose_nothing(
        project, home):
    from specify_cli.project.identity import ensure_identity

    ensure_identity(project)
    per_process = 400
    procs = [subprocess.Popen([sys.executable, "-c", _EMIT, str(project), str(per_process)],
                              stderr=subprocess.PIPE, text=True) for _ in range(4)]
    for proc in procs:
        _, err = proc.communicate(timeout=120)
        assert proc.returncode == 0, err
        assert "locked" not in err and "warning" not in err
    queue = OfflineQueue(home / "queues" / "local.sqlite3")
    bodies = [json.loads(r.body) for r in queue.read_batch(0, 10_000)]
    lamports = [b["lamport_clock"] for b in bodies]
    assert len(bodies) == 4 * per_process
    assert len({b["event_id"] for b in bodies}) == len(bodies)
    # Unique and rising in FIFO order (Lamport order on one node). A process's reserved
    # block ends when another process reserves: its rest is skipped, never handed out.
    assert len(set(lamports)) == len(lamports)
    assert lamports == sorted(lamports)


def test_an_oversized_event_is_dropped_with_a_warning(project, home, capsys):
    em = EventEmitter(project, start_runtime=False)
    payload = {"error_type": "runtime", "error_message": "m", "stack_trace": "é" * 40000,
               "feature_slug": "001-demo"}
    assert em.emit("ErrorLogged", payload) is None
    assert "over 64 KiB" in capsys.readouterr().err
    assert OfflineQueue(home / "queues" / "local.sqlite3").pending_count() == 0
