"""The work-package actions (`agent tasks|feature`): files, one event each, clean failures."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

from specify_cli.errors import UsageError
from specify_cli.tasks import actions
from specify_cli.tasks.model import TasksError, load_feature, select_feature
from tests._support.procs import cli_env, run_cli
from tests._support.project import WP
from tests._support.project import make_feature as write_feature


def make_feature(root: Path, slug="001-login-flow", wps=None) -> Path:
    wps = wps or {"WP01": ("planned", "[]"), "WP02": ("planned", "[WP01]"),
                  "WP03": ("planned", "[WP01, WP02]")}
    return write_feature(root, slug, wps,
                         tasks_md="---\ntarget_branch: develop\n---\n# Tasks\n")


class Sink:
    def __init__(self):
        self.events = []

    def __call__(self, event_type, payload, **kw):
        self.events.append((event_type, payload, kw))

    @property
    def types(self):
        return [e[0] for e in self.events]


@pytest.fixture
def project(tmp_path, home):
    make_feature(tmp_path)
    return tmp_path


def snapshot(root: Path) -> dict[str, str]:
    return {str(p): p.read_text() for p in sorted(root.rglob("*.md"))}


def test_finalize_emits_feature_and_one_wp_created_each_then_is_idempotent(project):
    sink = Sink()
    result = actions.finalize(project, emit=sink)
    assert sink.types == ["FeatureCreated", "WPCreated", "WPCreated", "WPCreated"]
    assert sink.events[0][1] == {"feature_slug": "001-login-flow", "feature_number": "001",
                                 "target_branch": "develop", "wp_count": 3}
    assert sink.events[3][1]["dependencies"] == ["WP01", "WP02"]
    assert "3 work packages" in result.message
    again = Sink()
    assert "already finalized" in actions.finalize(project, emit=again).message
    assert again.events == []


def test_move_updates_lane_and_history_and_emits_one_event(project):
    sink = Sink()
    actions.move(project, "WP01", "in_progress", emit=sink)
    assert sink.types == ["WPStatusChanged"]
    assert sink.events[0][1] == {"wp_id": "WP01", "from_lane": "planned",
                                 "to_lane": "in_progress", "actor": actions.actor(),
                                 "feature_slug": "001-login-flow"}
    wp = load_feature(project, "001-login-flow").work_packages["WP01"]
    assert wp.lane == "in_progress"
    assert wp.data["history"][-1]["action"] == "moved from planned to in_progress"
    assert wp.body == "\nBody of WP01.\n"
    same = Sink()
    assert "already in in_progress" in actions.move(project, "WP01", "doing", emit=same).message
    assert same.events == []


def test_the_old_lane_doing_is_read_and_written_as_in_progress(project):
    path = project / "kitty-specs" / "001-login-flow" / "tasks" / "WP02.md"
    path.write_text(WP.format(id="WP02", lane="doing", deps="[WP01]"))
    assert load_feature(project, "001-login-flow").work_packages["WP02"].lane == "in_progress"
    sink = Sink()
    actions.move(project, "WP02", "for_review", emit=sink)
    assert sink.events[0][1]["from_lane"] == "in_progress"
    assert yaml.safe_load(path.read_text().split("---")[1])["lane"] == "for_review"


def test_done_resolves_dependencies_and_the_last_one_completes_the_feature(project):
    actions.finalize(project, emit=Sink())
    first = Sink()
    actions.move(project, "WP01", "done", emit=first)
    # WP02's only dependency is done; WP03 still waits for WP02.
    assert first.types == ["WPStatusChanged", "DependencyResolved"]
    assert first.events[1][1] == {"wp_id": "WP02", "dependency_wp_id": "WP01",
                                  "resolution_type": "completed",
                                  "feature_slug": "001-login-flow"}
    second = Sink()
    actions.move(project, "WP02", "done", emit=second)
    assert second.types == ["WPStatusChanged", "DependencyResolved"]
    assert second.events[1][1]["wp_id"] == "WP03"
    last = Sink()
    actions.move(project, "WP03", "done", emit=last)
    assert last.types == ["WPStatusChanged", "FeatureCompleted"]
    assert last.events[1][1]["total_wps"] == 3
    assert re.fullmatch(r"PT[0-9.]+S", last.events[1][1]["total_duration"])


def test_history_and_assign_with_retry_count(project):
    sink = Sink()
    actions.add_history(project, "WP02", "waiting on review", emit=sink)
    actions.assign(project, "WP02", "claude", emit=sink)
    actions.assign(project, "WP02", "codex", emit=sink)
    actions.assign(project, "WP02", "claude", "review", emit=sink)
    assert sink.types == ["HistoryAdded", "WPAssigned", "WPAssigned", "WPAssigned"]
    assert [e[1]["retry_count"] for e in sink.events[1:]] == [0, 1, 0]
    assert sink.events[0][1]["entry_content"] == "waiting on review"
    data = load_feature(project, "001-login-flow").work_packages["WP02"].data
    assert [a["agent"] for a in data["assignments"]] == ["claude", "codex", "claude"]


@pytest.mark.parametrize("call, error, fragment", [
    (lambda p, s: actions.move(p, "WP09", "done", emit=s), TasksError, "no work package WP09"),
    (lambda p, s: actions.move(p, "WP01", "nowhere", emit=s), UsageError, "unknown lane"),
    (lambda p, s: actions.move(p, "../WP01", "done", emit=s), UsageError, "invalid work-package"),
    (lambda p, s: actions.move(p, "WP01", "done", "../../etc", emit=s), UsageError,
     "invalid feature"),
    (lambda p, s: actions.assign(p, "WP01", "x", "testing", emit=s), UsageError, "phase"),
    (lambda p, s: actions.add_history(p, "WP01", "  ", emit=s), UsageError, "empty"),
])
def test_bad_input_changes_nothing_and_emits_nothing(project, call, error, fragment):
    before = snapshot(project)
    sink = Sink()
    with pytest.raises(error, match=fragment):
        call(project, sink)
    assert sink.events == [] and snapshot(project) == before


@pytest.mark.parametrize("text, fragment", [
    ("no frontmatter\n", "missing YAML frontmatter"),
    ("---\ntitle: [unclosed\n---\n", "malformed YAML frontmatter"),
    ("---\nwork_package_id: WP02\ntitle: x\nlane: planned\n---\n", "does not match the file"),
    ("---\nwork_package_id: WP02\ntitle: x\nlane: sideways\n---\n", "lane 'sideways'"),
    ("---\nwork_package_id: WP02\ntitle: x\ndependencies: WP01\n---\n", "dependencies must"),
    ("---\nwork_package_id: WP02\ntitle: x\n", "no closing ---"),
])
def test_malformed_frontmatter_is_one_error_naming_the_file(project, text, fragment):
    path = project / "kitty-specs" / "001-login-flow" / "tasks" / "WP02.md"
    path.write_text(text.replace("WP02", "WP02") if "match" not in fragment else
                    text.replace("WP02", "WP07"))
    before = snapshot(project)
    sink = Sink()
    with pytest.raises(TasksError) as info:
        actions.move(project, "WP01", "doing", emit=sink)
    assert str(path) in str(info.value) and fragment in str(info.value)
    assert "\n" not in str(info.value) and sink.events == [] and snapshot(project) == before


def test_unknown_dependency_is_reported(project):
    path = project / "kitty-specs" / "001-login-flow" / "tasks" / "WP02.md"
    path.write_text(WP.format(id="WP02", lane="planned", deps="[WP77]"))
    with pytest.raises(TasksError, match="depends on WP77"):
        actions.finalize(project, emit=Sink())


@pytest.mark.skipif(shutil.which("chattr") is None, reason="needs chattr")
def test_a_write_failure_after_start_emits_one_error_logged(project):
    path = project / "kitty-specs" / "001-login-flow" / "tasks" / "WP01.md"
    tasks_dir = path.parent
    if subprocess.run(["chattr", "+i", str(tasks_dir)], capture_output=True).returncode:
        pytest.skip("no chattr +i here")
    sink = Sink()
    try:
        with pytest.raises(TasksError, match="cannot write .*WP01.md"):
            actions.move(project, "WP01", "in_progress", emit=sink)
    finally:
        subprocess.run(["chattr", "-i", str(tasks_dir)], check=True)
    assert sink.types == ["ErrorLogged"]
    payload = sink.events[0][1]
    assert (payload["wp_id"], payload["feature_slug"], payload["error_type"]) == (
        "WP01", "001-login-flow", "runtime")
    assert payload["error_message"].startswith("PermissionError: cannot write")
    assert yaml.safe_load(path.read_text().split("---")[1])["lane"] == "planned"


def test_feature_selection_defaults_to_the_highest_number(project):
    make_feature(project, "002-second", {"WP01": ("planned", "[]")})
    assert select_feature(project, None) == "002-second"
    assert select_feature(project, "001-login-flow") == "001-login-flow"
    with pytest.raises(TasksError, match="no feature directory"):
        select_feature(project, "003-missing")


def test_board_lists_lanes(project):
    actions.move(project, "WP01", "for_review", emit=Sink())
    board = actions.board(project)
    assert "Feature 001-login-flow (not finalized): 0 of 3 work packages done" in board
    assert "for_review (1)\n  WP01  Part WP01" in board


def test_cli_end_to_end_queues_real_events_locally(tmp_path):
    home = tmp_path / "h" / ".spec-kitty"
    home.parent.mkdir()
    make_feature(tmp_path / "proj")
    env = cli_env(home, SPEC_KITTY_SYNC_AUTO_START="0")
    cwd = tmp_path / "proj"

    def sk(*args):
        return run_cli(home, *args, cwd=cwd, env=env)

    assert sk("agent", "feature", "finalize-tasks").returncode == 0
    moved = sk("agent", "tasks", "move-task", "WP01", "--to", "doing")
    assert moved.returncode == 0 and moved.stdout == "Moved WP01 from planned to in_progress.\n"
    bad = sk("agent", "tasks", "move-task", "WP01", "--to", "sideways")
    assert bad.returncode == 2 and bad.stderr.startswith("error: unknown lane")
    missing = sk("agent", "tasks", "add-history", "WP42", "hello")
    assert missing.returncode == 1 and "WP42" in missing.stderr
    assert "Traceback" not in missing.stderr + bad.stderr
    status = sk("agent", "tasks", "status")
    assert "in_progress (1)" in status.stdout and "blocked" not in status.stdout
    from specify_cli.sync.queue import OfflineQueue

    queue = OfflineQueue(home / "queues" / "local.sqlite3")
    assert queue.pending_count() == 5  # FeatureCreated + 3 WPCreated + WPStatusChanged


def test_a_malformed_project_config_fails_before_anything_changes(project):
    (project / ".kittify").mkdir()
    (project / ".kittify" / "config.yaml").write_text("project: [unclosed\n")
    before = snapshot(project)
    from specify_cli.errors import ConfigError

    with pytest.raises(ConfigError, match=r"config.yaml is not valid YAML \(line 2\)"):
        actions.move(project, "WP01", "in_progress", emit=Sink())
    assert snapshot(project) == before
