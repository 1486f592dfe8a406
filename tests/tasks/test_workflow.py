"""`init`, `implement`, `accept`, `merge`, `agent …`: real git repositories, the real server."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from spec_kitty_server import board as board_tables
from spec_kitty_server import events as event_log
from spec_kitty_server.store import open_database
from specify_cli.errors import UsageError
from specify_cli.tasks import actions
from specify_cli.tasks.model import TasksError
from tests._support.procs import cli_env, run_cli
from tests._support.project import make_feature

FEATURE = "001-login-flow"
IDENTITY = {"GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@x", "GIT_COMMITTER_NAME": "t",
            "GIT_COMMITTER_EMAIL": "t@x"}
TASKS_MD = """# Tasks

## Work Package WP01: Form

- [ ] T001 Build the form
- [ ] T002 Validate it

## Work Package WP02: API

- [ ] T003 Call the API

## Later

- [ ] T099 Not under any work package?
"""


def git(cwd: Path, *args: str) -> str:
    env = {**IDENTITY, "PATH": "/usr/bin:/bin", "HOME": str(cwd)}
    return subprocess.run(["git", *args], cwd=cwd, check=True, capture_output=True, text=True,
                          env=env).stdout.strip()


def commit(cwd: Path, name: str, text: str) -> None:
    (cwd / name).write_text(text)
    git(cwd, "add", name)
    git(cwd, "commit", "-q", "-m", f"{name}: {text[:10]}")


@pytest.fixture
def project(tmp_path, home):
    """A git repository after `spec-kitty init` with feature 001-login-flow committed on main.

    WP01 and WP03 have no dependencies; WP02 depends on WP01.
    """
    root = tmp_path / "proj"
    root.mkdir()
    git(root, "init", "-q", "-b", "main")
    assert sk(home, root, "init").returncode == 0
    make_feature(root, FEATURE, {"WP01": ("planned", "[]"), "WP02": ("planned", "[WP01]"),
                                 "WP03": ("planned", "[]")}, tasks_md=TASKS_MD)
    commit(root, "app.txt", "v1\n")
    git(root, "add", "-A")
    git(root, "commit", "-q", "-m", "feature")
    return root


def sk(home: Path, cwd: Path, *args: str) -> subprocess.CompletedProcess:
    return run_cli(home, *args, cwd=cwd,
                   env=cli_env(home, SPEC_KITTY_SYNC_AUTO_START="0", **IDENTITY))


def ok(result: subprocess.CompletedProcess) -> str:
    assert result.returncode == 0, result.stderr
    return result.stdout


def refused(result: subprocess.CompletedProcess, fragment: str) -> str:
    assert result.returncode != 0
    assert result.stderr.startswith("error: ") and result.stderr.count("\n") == 1, result.stderr
    assert fragment in result.stderr, result.stderr
    return result.stderr


def server_events(server) -> list[dict]:
    conn = open_database(server.db)
    try:
        return event_log.events_after(conn, "acme", 0, 10_000)[0]
    finally:
        conn.close()


def board(server) -> tuple[list[dict], list[dict]]:
    conn = open_database(server.db)
    try:
        return board_tables.work_packages(conn, "acme"), board_tables.features(conn, "acme")
    finally:
        conn.close()


def test_init_creates_the_identity_and_specs_dir_once(tmp_path, home):
    root = tmp_path / "fresh"
    out = ok(sk(home, tmp_path, "init", str(root)))
    assert "created .kittify/config.yaml (project fresh" in out and "created kitty-specs/" in out
    import yaml

    project = yaml.safe_load((root / ".kittify" / "config.yaml").read_text())["project"]
    assert project["slug"] == "fresh" and len(project["uuid"]) == 36 and project["node_id"]
    before = (root / ".kittify" / "config.yaml").read_text()
    again = ok(sk(home, root, "init"))
    assert again == f"{root} is already a spec-kitty project (fresh); nothing to do.\n"
    assert (root / ".kittify" / "config.yaml").read_text() == before


def test_implement_wp01_emits_exactly_one_status_change_on_the_server(project, home,
                                                                     logged_in):
    ok(sk(home, project, "agent", "feature", "finalize-tasks"))
    ok(sk(home, project, "sync", "now"))
    before = len(server_events(logged_in))
    out = ok(sk(home, project, "implement", "WP01"))
    assert out == (f"Created worktree .worktrees/{FEATURE}-WP01 on branch {FEATURE}-WP01 "
                   "(from main).\nMoved WP01 from planned to in_progress.\n")
    ok(sk(home, project, "sync", "now"))
    new = server_events(logged_in)[before:]
    assert [(e["event_type"], e["payload"]["wp_id"], e["payload"]["from_lane"],
             e["payload"]["to_lane"]) for e in new] == [
        ("WPStatusChanged", "WP01", "planned", "in_progress")]
    assert new[0]["payload"]["feature_slug"] == FEATURE
    wt = project / ".worktrees" / f"{FEATURE}-WP01"
    assert git(wt, "symbolic-ref", "--short", "HEAD") == f"{FEATURE}-WP01"
    assert git(project, "config", f"branch.{FEATURE}-WP01.spec-kitty-base") == "main"
    wps, _ = board(logged_in)
    assert {w["wp_id"]: w["lane"] for w in wps} == {
        "WP01": "in_progress", "WP02": "planned", "WP03": "planned"}


def test_implement_with_base_starts_on_the_base_branch(project, home):
    ok(sk(home, project, "agent", "feature", "finalize-tasks"))
    ok(sk(home, project, "implement", "WP01"))
    wp01 = project / ".worktrees" / f"{FEATURE}-WP01"
    commit(wp01, "form.txt", "form\n")
    refused(sk(home, project, "implement", "WP01"), "already exists")
    refused(sk(home, project, "implement", "WP02"),
            "WP02 depends on work that is not done (WP01 is in_progress)")
    assert not (project / ".worktrees" / f"{FEATURE}-WP02").exists()
    refused(sk(home, project, "implement", "WP02", "--base", "WP03"),
            "WP01 is in_progress")

    out = ok(sk(home, project, "implement", "WP02", "--base", "WP01"))
    assert f"(from {FEATURE}-WP01)" in out
    wp02 = project / ".worktrees" / f"{FEATURE}-WP02"
    assert git(wp02, "rev-parse", "HEAD") == git(project, "rev-parse", f"{FEATURE}-WP01")
    assert (wp02 / "form.txt").read_text() == "form\n"
    # `sync workspace` in WP02's worktree rebases onto WP01's branch.
    rebase = ok(sk(home, wp02, "sync", "workspace", "--verbose"))
    assert f"base: {FEATURE}-WP01" in rebase


def test_accept_on_an_unfinished_feature_is_refused_and_emits_nothing(project, home,
                                                                      logged_in):
    ok(sk(home, project, "agent", "feature", "finalize-tasks"))
    ok(sk(home, project, "implement", "WP01"))
    ok(sk(home, project, "agent", "tasks", "move-task", "WP02", "--to", "for_review"))
    ok(sk(home, project, "sync", "now"))
    before = len(server_events(logged_in))
    files = {p: p.read_text() for p in (project / "kitty-specs").rglob("*") if p.is_file()}
    refused(sk(home, project, "accept"),
            "not ready to accept (WP01 is in_progress, WP03 is planned)")
    ok(sk(home, project, "sync", "now"))
    assert len(server_events(logged_in)) == before
    assert {p: p.read_text() for p in (project / "kitty-specs").rglob("*") if p.is_file()} \
        == files
    refused(sk(home, project, "merge"), "is not accepted; run `spec-kitty accept")


def test_the_full_flow_ends_with_every_wp_done_and_the_feature_completed(project, home,
                                                                         logged_in):
    ok(sk(home, project, "agent", "feature", "finalize-tasks"))
    ok(sk(home, project, "agent", "tasks", "assign", "WP01", "--agent", "claude"))
    ok(sk(home, project, "implement", "WP01"))
    commit(project / ".worktrees" / f"{FEATURE}-WP01", "form.txt", "form\n")
    ok(sk(home, project, "agent", "tasks", "mark-status", "T001", "T002", "--status", "done"))
    # Run inside the worktree, it changes the main checkout's files, not the branch's copy.
    wp01 = project / ".worktrees" / f"{FEATURE}-WP01"
    ok(sk(home, wp01, "agent", "tasks", "move-task", "WP01", "--to", "for_review"))
    assert "lane: planned" in (wp01 / "kitty-specs" / FEATURE / "tasks" / "WP01.md").read_text()
    main_copy = project / "kitty-specs" / FEATURE / "tasks" / "WP01.md"
    assert "lane: for_review" in main_copy.read_text()
    ok(sk(home, project, "implement", "WP02", "--base", "WP01"))
    commit(project / ".worktrees" / f"{FEATURE}-WP02", "api.txt", "api\n")
    ok(sk(home, project, "agent", "tasks", "add-history", "WP02", "API done"))
    ok(sk(home, project, "agent", "tasks", "move-task", "WP02", "--to", "for_review"))
    ok(sk(home, project, "implement", "WP03"))
    commit(project / ".worktrees" / f"{FEATURE}-WP03", "docs.txt", "docs\n")
    ok(sk(home, project, "agent", "tasks", "move-task", "WP03", "--to", "doing"))  # no-op
    ok(sk(home, project, "agent", "tasks", "move-task", "WP03", "--to", "for_review"))
    assert ok(sk(home, project, "accept")) == (
        f"Accepted {FEATURE}; moved WP01, WP02, WP03 to done.\n")
    ok(sk(home, project, "sync", "now"))
    accepted = len(server_events(logged_in))
    assert ok(sk(home, project, "merge")) == (
        "Merged WP01, WP03, WP02 into main and removed their worktrees.\n")
    ok(sk(home, project, "sync", "now"))

    events = server_events(logged_in)
    assert len(events) == accepted  # merge changes no lane: nothing to emit
    flow = sorted(events, key=lambda e: e["lamport_clock"])
    clocks = [e["lamport_clock"] for e in flow]
    assert clocks == sorted(set(clocks))  # strictly increasing, one value per event
    status = [(e["payload"]["wp_id"], e["payload"]["from_lane"], e["payload"]["to_lane"])
              for e in flow if e["event_type"] == "WPStatusChanged"]
    assert status == [("WP01", "planned", "in_progress"), ("WP01", "in_progress", "for_review"),
                      ("WP02", "planned", "in_progress"), ("WP02", "in_progress", "for_review"),
                      ("WP03", "planned", "in_progress"), ("WP03", "in_progress", "for_review"),
                      ("WP01", "for_review", "done"), ("WP02", "for_review", "done"),
                      ("WP03", "for_review", "done")]
    assert [e["event_type"] for e in flow if e["event_type"] != "WPStatusChanged"] == [
        "FeatureCreated", "WPCreated", "WPCreated", "WPCreated", "WPAssigned",
        "HistoryAdded", "HistoryAdded", "DependencyResolved", "FeatureCompleted"]
    assert flow[-1]["event_type"] == "FeatureCompleted"

    wps, features = board(logged_in)
    assert {w["wp_id"]: w["lane"] for w in wps} == {"WP01": "done", "WP02": "done",
                                                    "WP03": "done"}
    assert [(f["feature_slug"], f["wp_count"]) for f in features] == [(FEATURE, 3)]
    assert features[0]["completed_at"]

    assert git(project, "symbolic-ref", "--short", "HEAD") == "main"
    assert all((project / name).exists() for name in ("form.txt", "api.txt", "docs.txt"))
    assert not (project / ".worktrees" / f"{FEATURE}-WP01").exists()
    assert git(project, "branch", "--list", f"{FEATURE}-*") == ""
    meta = json.loads((project / "kitty-specs" / FEATURE / "meta.json").read_text())
    assert meta["accepted_at"] and meta["merged_at"]
    assert "already accepted" in ok(sk(home, project, "accept"))


def test_a_merge_conflict_leaves_the_repository_as_it_was(project, home):
    ok(sk(home, project, "agent", "feature", "finalize-tasks"))
    for wp, text in (("WP01", "form\n"), ("WP03", "docs\n")):
        ok(sk(home, project, "implement", wp))
        commit(project / ".worktrees" / f"{FEATURE}-{wp}", "app.txt", text)
        ok(sk(home, project, "agent", "tasks", "move-task", wp, "--to", "done"))
    ok(sk(home, project, "implement", "WP02"))
    ok(sk(home, project, "agent", "tasks", "move-task", "WP02", "--to", "done"))
    ok(sk(home, project, "accept"))
    head = git(project, "rev-parse", "HEAD")
    status = git(project, "status", "--porcelain")
    branches = git(project, "branch", "--list")
    meta = (project / "kitty-specs" / FEATURE / "meta.json").read_text()

    refused(sk(home, project, "merge"),
            f"merging {FEATURE}-WP03 into main conflicts in app.txt; nothing was merged")
    assert git(project, "rev-parse", "HEAD") == head
    assert git(project, "status", "--porcelain") == status
    assert git(project, "branch", "--list") == branches
    assert (project / ".worktrees" / f"{FEATURE}-WP03").is_dir()
    assert (project / "kitty-specs" / FEATURE / "meta.json").read_text() == meta
    assert (project / "app.txt").read_text() == "v1\n"


def test_accept_and_merge_refuse_uncommitted_work_in_a_worktree(project, home):
    ok(sk(home, project, "agent", "feature", "finalize-tasks"))
    ok(sk(home, project, "implement", "WP01"))
    (project / ".worktrees" / f"{FEATURE}-WP01" / "wip.txt").write_text("wip\n")
    for wp in ("WP01", "WP02", "WP03"):
        ok(sk(home, project, "agent", "tasks", "move-task", wp, "--to", "for_review"))
    refused(sk(home, project, "accept"),
            f"uncommitted changes in .worktrees/{FEATURE}-WP01; commit them first")


class Sink:
    def __init__(self):
        self.events = []

    def __call__(self, event_type, payload, **kw):
        self.events.append((event_type, payload))


@pytest.fixture
def feature_dir(tmp_path, home):
    make_feature(tmp_path, FEATURE, {"WP01": ("planned", "[]"), "WP02": ("planned", "[WP01]")},
                 tasks_md=TASKS_MD)
    return tmp_path


def test_mark_status_ticks_boxes_and_notes_each_work_package_once(feature_dir):
    sink = Sink()
    result = actions.mark_status(feature_dir, ["T001", "T003", "T002"], "done", emit=sink)
    assert result.message == "Marked T001, T002, T003 done."
    text = (feature_dir / "kitty-specs" / FEATURE / "tasks.md").read_text()
    assert "- [x] T001 Build" in text and "- [x] T002" in text and "- [x] T003" in text
    assert [(t, p["wp_id"], p["entry_content"]) for t, p in sink.events] == [
        ("HistoryAdded", "WP01", "Subtasks T001, T002 marked done"),
        ("HistoryAdded", "WP02", "Subtasks T003 marked done")]
    again = Sink()
    assert "nothing to do" in actions.mark_status(feature_dir, ["T001"], "done", emit=again).message
    assert again.events == []
    back = Sink()
    actions.mark_status(feature_dir, ["T001"], "pending", emit=back)
    assert "- [ ] T001 Build" in (feature_dir / "kitty-specs" / FEATURE / "tasks.md").read_text()
    assert [p["wp_id"] for _, p in back.events] == ["WP01"]


@pytest.mark.parametrize("ids, status, error, fragment", [
    (["T1"], "done", UsageError, "invalid subtask id"),
    (["T001"], "finished", UsageError, "unknown status"),
    (["T042"], "done", TasksError, "no subtask T042"),
    (["T099"], "done", TasksError, "not under a work package heading"),
    (["T001", "T042"], "done", TasksError, "no subtask T042"),
])
def test_mark_status_bad_input_changes_nothing(feature_dir, ids, status, error, fragment):
    before = {p: p.read_text() for p in feature_dir.rglob("*.md")}
    sink = Sink()
    with pytest.raises(error, match=fragment):
        actions.mark_status(feature_dir, ids, status, emit=sink)
    assert sink.events == []
    assert {p: p.read_text() for p in feature_dir.rglob("*.md")} == before


def test_the_hidden_tasks_names_run_the_agent_commands():
    from specify_cli.cli.app import command
    from specify_cli.cli.commands import agent

    assert command.commands["tasks"].hidden
    old = {c.name: c.callback for c in agent.legacy_app.registered_commands}
    new = {c.name: c.callback for app in (agent.tasks_app, agent.feature_app)
           for c in app.registered_commands}
    assert old == {"finalize": new["finalize-tasks"], "move": new["move-task"],
                   "history": new["add-history"], "assign": new["assign"],
                   "status": new["status"]}
