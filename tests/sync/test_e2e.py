"""End to end: the real CLI in subprocesses against the real reference server."""

from __future__ import annotations

import json
import os
import subprocess
import time
from pathlib import Path

import pytest

from spec_kitty_protocol import build_event
from spec_kitty_server.validation import TEAM_MISMATCH
from specify_cli.cli.commands import sync_now as _now
from tests._support.events import PROJECT_UUID, sample_events
from tests._support.logins import fast_login
from tests._support.procs import SPEC_KITTY, manual_sync_env
from tests._support.procs import run_cli_manual_sync as sk
from tests._support.project import make_two_wp_project
from tests._support.server_api import server_events


def open_queue(home: Path, monkeypatch):
    from specify_cli.account import credentials as auth
    from specify_cli.account.scope import queue_path
    from specify_cli.sync.queue import OfflineQueue

    monkeypatch.setenv("SPEC_KITTY_HOME", str(home))
    return OfflineQueue(queue_path(auth.load_credentials().scope))


@pytest.fixture
def alice(tmp_path, shared_server):
    home = tmp_path / "alice" / ".spec-kitty"
    home.parent.mkdir()
    fast_login(home, shared_server.url, "alice")
    return home


def test_tasks_events_reach_the_server_once_with_a_shared_causation(tmp_path, alice,
                                                                    shared_server):
    project = make_two_wp_project(tmp_path / "proj")
    before = {e["event_id"] for e in server_events(shared_server.url)}
    for args in (("tasks", "finalize"), ("tasks", "move", "WP01", "--to", "done"),
                 ("tasks", "history", "WP02", "ready"), ("tasks", "assign", "WP02",
                                                          "--agent", "bot")):
        result = sk(alice, *args, cwd=project)
        assert result.returncode == 0, result.stderr
    result = sk(alice, "sync", "now")
    assert result.returncode == 0, result.stderr
    assert "Batch 1: 7 sent, 7 stored, 0 duplicates, 0 rejected" in result.stdout
    assert "7 new, 0 duplicates, 0 rejected" in result.stdout
    mine = [e for e in server_events(shared_server.url) if e["event_id"] not in before]
    types = [e["event_type"] for e in mine]
    assert types == ["FeatureCreated", "WPCreated", "WPCreated", "WPStatusChanged",
                     "DependencyResolved", "HistoryAdded", "WPAssigned"]
    assert len({e["causation_id"] for e in mine[:3]}) == 1
    assert mine[3]["causation_id"] == mine[4]["causation_id"] != mine[0]["causation_id"]
    assert all(e["team_slug"] == "acme" for e in mine)
    lamports = [e["lamport_clock"] for e in mine]
    assert lamports == sorted(lamports) and len(set(lamports)) == 7
    again = sk(alice, "sync", "now")
    assert "Pushed 0 events in 0 batches" in again.stdout and again.returncode == 0
    # The last line states the end state, whatever the counts above it were.
    assert again.stdout.splitlines()[-1] == _now.UP_TO_DATE


def test_dry_run_sends_nothing_and_report_and_strict_cover_rejections(alice, shared_server,
                                                                      monkeypatch, tmp_path):
    queue = open_queue(alice, monkeypatch)
    good = sample_events(3, node="abcdefabcdef")
    bad = sample_events(2, team="other", node="abcdefabcdef")
    for event in good + bad:
        queue.append(event)
    before = len(server_events(shared_server.url))
    dry = sk(alice, "sync", "now", "--dry-run")
    assert dry.returncode == 0 and "would push 5 events in 1 batch" in dry.stdout
    assert len(server_events(shared_server.url)) == before and queue.pending_count() == 5
    report = tmp_path / "report.json"
    result = sk(alice, "sync", "now", "--report", str(report))
    assert result.returncode == 1
    assert "3 new, 0 duplicates, 2 rejected" in result.stdout
    assert f"rejected 2: {TEAM_MISMATCH}" in result.stdout
    data = json.loads(report.read_text())
    assert sorted(f["event_id"] for f in data["failures"]) == sorted(e["event_id"] for e in bad)
    assert all(f["error"] == TEAM_MISMATCH and f["retry_count"] == 1 for f in data["failures"])
    lenient = sk(alice, "sync", "now", "--no-strict")
    assert lenient.returncode == 0 and "2 rejected" in lenient.stdout
    assert queue.pending_count() == 2
    status = json.loads(sk(alice, "sync", "status", "--json").stdout)
    assert status["queue"]["pending"] == 2 and status["queue"]["errors"] == {TEAM_MISMATCH: 2}
    assert status["queue"]["retry_buckets"]["1-2"] == 2


def test_two_concurrent_sync_now_push_each_event_once(alice, shared_server, monkeypatch):
    queue = open_queue(alice, monkeypatch)
    events = sample_events(3000, node="aaaabbbbcccc")
    for event in events:
        queue.append(event)
    procs = [subprocess.Popen([SPEC_KITTY, "sync", "now"], env=manual_sync_env(alice),
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
             for _ in range(2)]
    outs = [p.communicate(timeout=120) for p in procs]
    assert [p.returncode for p in procs] == [0, 0], outs
    on_server = [e["event_id"] for e in server_events(shared_server.url)
                 if e["node_id"] == "aaaabbbbcccc"]
    assert sorted(on_server) == sorted(e["event_id"] for e in events)
    assert queue.pending_count() == 0


def test_sync_now_waits_for_a_sync_holding_the_lock(alice, monkeypatch):
    from specify_cli.sync import sync_lock

    queue = open_queue(alice, monkeypatch)
    queue.append(sample_events(1, node="1010abab1010")[0])
    with sync_lock(queue.path) as held:
        assert held
        proc = subprocess.Popen([SPEC_KITTY, "sync", "now"], env=manual_sync_env(alice),
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        # Its first line says it waits (however long a busy machine takes to start it) ...
        first = proc.stdout.readline()
        assert first == f"Waiting for another sync (pid {os.getpid()}) to finish...\n", first
        assert proc.poll() is None  # ... and it still waits: nothing pushed under the lock
        assert queue.pending_count() == 1
    out, err = proc.communicate(timeout=120)
    assert proc.returncode == 0, err
    assert "1 new" in out and queue.pending_count() == 0


def test_not_logged_in_and_no_server_are_one_line_errors(tmp_path):
    home = tmp_path / "h" / ".spec-kitty"
    home.parent.mkdir()
    result = sk(home, "sync", "now")
    assert result.returncode == 1 and result.stderr.startswith("error: no server configured")
    assert result.stderr.count("\n") == 1
    assert sk(home, "sync", "server", "http://127.0.0.1:9").returncode == 0
    result = sk(home, "sync", "now")
    assert result.returncode == 1 and result.stderr.startswith("error: not logged in")


def _project_events(url: str, project: Path) -> list[dict]:
    import yaml

    uuid = yaml.safe_load((project / ".kittify" / "config.yaml").read_text())["project"]["uuid"]
    return [e for e in server_events(url) if e["project_uuid"] == uuid]


def _wait_until(predicate, seconds: float = 90.0) -> bool:
    """Poll (bounded): a busy machine is slow, not wrong."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.1)
    return predicate()


def test_a_command_with_auto_start_hands_its_event_to_a_detached_flush(tmp_path, alice,
                                                                      shared_server):
    project = make_two_wp_project(tmp_path / "proj")
    result = sk(alice, "tasks", "move", "WP01", "--to", "doing", cwd=project,
                SPEC_KITTY_SYNC_AUTO_START="1")
    assert result.returncode == 0, result.stderr
    assert _wait_until(lambda: len(_project_events(shared_server.url, project)) == 1)
    assert _wait_until(lambda: json.loads(sk(alice, "sync", "status", "--json").stdout)
                       ["queue"]["pending"] == 0)


def test_the_exit_push_runs_after_the_command_has_exited(tmp_path, alice, shared_server,
                                                         monkeypatch):
    """The command does not push on its way out: a detached flush does, once it may."""
    from specify_cli.sync import sync_lock

    project = make_two_wp_project(tmp_path / "proj")
    queue = open_queue(alice, monkeypatch)
    with sync_lock(queue.path) as held:  # as if a `sync now` were running
        assert held
        result = sk(alice, "tasks", "move", "WP01", "--to", "doing", cwd=project,
                    SPEC_KITTY_SYNC_AUTO_START="1")
        assert result.returncode == 0, result.stderr
        # The command has exited; its event is queued and not on the server yet.
        assert queue.pending_count() == 1
        assert _project_events(shared_server.url, project) == []
    # The flush was waiting for the lock: now it pushes.
    assert _wait_until(lambda: len(_project_events(shared_server.url, project)) == 1)
    assert _wait_until(lambda: queue.pending_count() == 0)


def test_no_second_flush_starts_while_one_holds_the_flush_lock(tmp_path, alice, monkeypatch):
    from specify_cli import file_lock
    from specify_cli.sync import flush

    queue = open_queue(alice, monkeypatch)
    queue.append(sample_events(1, node="0123456789ab")[0])
    with file_lock(flush.lock_path(queue.path)):
        assert flush.running(queue.path)
        assert not flush.spawn(queue.path, "http://127.0.0.1:9", "0123456789ab")
    assert not flush.running(queue.path)
    assert queue.pending_count() == 1


def test_status_check_is_connected_against_the_real_server(alice):
    result = sk(alice, "sync", "status", "--check")
    assert result.returncode == 0, result.stdout
    assert "Check:        Connected" in result.stdout


def test_event_built_for_another_team_is_rejected_by_the_real_server(alice, shared_server,
                                                                     monkeypatch):
    queue = open_queue(alice, monkeypatch)
    event = build_event("ErrorLogged", {"error_type": "runtime", "error_message": "y",
                                        "feature_slug": "001-p"},
                        node_id="0123456789ab", team_slug="other",
                        project_uuid=PROJECT_UUID, project_slug="p")
    queue.append(event)
    result = sk(alice, "sync", "now", "--no-strict")
    assert "rejected 1: invalid team_slug: team mismatch" in result.stdout


def test_a_flush_pushes_everything_unless_another_flush_holds_the_lock(alice, shared_server,
                                                                       monkeypatch):
    from specify_cli import file_lock
    from specify_cli.sync import flush

    queue = open_queue(alice, monkeypatch)
    events = sample_events(3, node="0123456789ab")
    for event in events:
        queue.append(event)
    with file_lock(flush.lock_path(queue.path)):  # another flush is running
        flush.flush(queue.path, shared_server.url, "0123456789ab")
        assert queue.pending_count() == 3
    flush.flush(queue.path, shared_server.url, "0123456789ab")
    assert queue.pending_count() == 0
    stored = {e["event_id"] for e in server_events(shared_server.url)}
    assert {e["event_id"] for e in events} <= stored
