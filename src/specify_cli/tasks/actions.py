"""The work-package actions behind `spec-kitty agent tasks|feature`, each emitting its sync events.

Every action validates all input first (nothing is written and nothing is emitted on bad
input), then writes the files, then emits its events under one causation id. If a write
fails after the action has started, one `ErrorLogged` event is emitted and the error is
raised as one line.
"""

from __future__ import annotations

import functools
import getpass
import json
import re
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from spec_kitty_protocol import iso_duration, utc_timestamp
from specify_cli._files import atomic_write
from specify_cli._git import git_value
from specify_cli._text import plural
from specify_cli.account.credentials import load_credentials
from specify_cli.errors import UsageError
from specify_cli.project import config as project_config
from specify_cli.tasks.model import (
    LANES,
    PHASES,
    Feature,
    TasksError,
    check_lane,
    check_wp_id,
    load_feature,
    select_feature,
    split_frontmatter,
)

Emit = Callable[..., Any]


@dataclass
class ActionResult:
    """What an action did, for the command's output.

    Attributes:
        message: One line for the user.
        events: Event types emitted, in order.
    """

    message: str
    events: list[str] = field(default_factory=list)


def actor() -> str:
    """Return who is acting: the logged-in user, else the local user name."""
    creds = load_credentials()
    if creds is not None and creds.username:
        return creds.username
    try:
        return getpass.getuser() or "unknown"
    except (KeyError, OSError):
        return "unknown"


def _default_emit(event_type: str, payload: dict[str, Any], **kw: Any) -> Any:
    # lazily: the sync engine (SQLite, the queue) only for commands that emit.
    from specify_cli.sync.emitter import emit

    return emit(event_type, payload, **kw)


class _Context:
    def __init__(self, root: Path, feature_slug: str | None, emit: Emit | None) -> None:
        self.root = root
        self.feature: Feature = load_feature(root, select_feature(root, feature_slug))
        project_config.read(root)  # a malformed .kittify/config.yaml fails before any write
        self._emit = emit or _default_emit
        self.emitted: list[str] = []

    def emit(self, event_type: str, payload: dict[str, Any]) -> None:
        # Every event names its feature, so the server knows which WP01 it is about.
        self._emit(event_type, {**payload, "feature_slug": self.feature.slug})
        self.emitted.append(event_type)

    @contextmanager
    def started(self, path: Path, wp_id: str | None = None) -> Iterator[None]:
        """Writes inside this block that fail emit one ErrorLogged and become one line."""
        try:
            yield
        except OSError as exc:
            message = f"cannot write {path}: {exc.strerror or exc}"
            self.emit("ErrorLogged", {"error_type": "runtime",
                                      "error_message": f"{type(exc).__name__}: {message}",
                                      "wp_id": wp_id, "stack_trace": None, "agent_id": None})
            raise TasksError(message) from None


def one_action(fn):
    """Decorate an action so all its events share one causation id.

    The emitter is imported only when the action runs, so bad input never loads the sync
    engine. Actions that call other actions (`implement` calls `move`) keep the outer id.

    Args:
        fn: The action.
    """

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> ActionResult:
        # lazily: as in _default_emit.
        from specify_cli.sync.emitter import action

        with action():
            return fn(*args, **kwargs)

    return wrapper


def _target_branch(root: Path, feature: Feature) -> str:
    branch = feature.meta.get("target_branch")
    if isinstance(branch, str) and branch:
        return branch
    try:
        data, _ = split_frontmatter(feature.tasks_md.read_text(encoding="utf-8"),
                                    feature.tasks_md)
        if isinstance(data.get("target_branch"), str) and data["target_branch"]:
            return data["target_branch"]
    except (OSError, UnicodeDecodeError, TasksError):
        pass
    head = git_value(root, "symbolic-ref", "--short", "HEAD")
    if head:
        return head
    return "main"


@one_action
def finalize(root: Path, feature_slug: str | None = None, emit: Emit | None = None
             ) -> ActionResult:
    """Register a feature: write `meta.json`, emit FeatureCreated and one WPCreated per WP.

    A feature that is already registered is left alone and nothing is emitted.

    Args:
        root: The project root.
        feature_slug: The feature; see `select_feature` for the default.
        emit: Event sink (the sync emitter by default).

    Raises:
        TasksError: A file is missing or malformed.
    """
    ctx = _Context(root, feature_slug, emit)
    feature = ctx.feature
    if feature.meta.get("finalized_at"):
        return ActionResult(f"Feature {feature.slug} is already finalized "
                            f"({feature.meta['finalized_at']}); nothing emitted.")
    branch = _target_branch(root, feature)
    meta = dict(feature.meta)
    meta.update({"feature_number": feature.number, "slug": feature.slug,
                 "target_branch": branch, "finalized_at": utc_timestamp(),
                 "finalized_epoch": time.time()})
    with ctx.started(feature.meta_path):
        atomic_write(feature.meta_path, json.dumps(meta, indent=2) + "\n", mode=0o644)
    ctx.emit("FeatureCreated", {"feature_slug": feature.slug, "feature_number": feature.number,
                                "target_branch": branch,
                                "wp_count": len(feature.work_packages)})
    for wp in feature.work_packages.values():
        ctx.emit("WPCreated", {"wp_id": wp.id, "title": wp.title[:500],
                               "dependencies": wp.dependencies})
    count = plural(len(feature.work_packages), "work package")
    return ActionResult(f"Finalized {feature.slug}: {count}, target branch {branch}.",
                        ctx.emitted)


@one_action
def move(root: Path, wp_id: str, lane: str, feature_slug: str | None = None,
         emit: Emit | None = None) -> ActionResult:
    """Move a work package to another lane and record it in its history.

    Emits WPStatusChanged; moving to `done` also emits DependencyResolved for each work
    package whose last open dependency this was, and FeatureCompleted when every work
    package is done.

    Args:
        root: The project root.
        wp_id: The work package.
        lane: The new lane.
        feature_slug: The feature; see `select_feature` for the default.
        emit: Event sink (the sync emitter by default).

    Raises:
        UsageError: Bad id or lane.
        TasksError: Unknown work package, or a malformed file.
    """
    check_wp_id(wp_id)
    lane = check_lane(lane)
    ctx = _Context(root, feature_slug, emit)
    feature = ctx.feature
    wp = feature.get(wp_id)
    if wp.lane == lane:
        return ActionResult(f"{wp_id} is already in {lane}; nothing to do.")
    who = actor()
    previous = wp.lane
    wp.lane = lane
    wp.history().append({"at": utc_timestamp(), "lane": lane, "actor": who,
                         "action": f"moved from {previous} to {lane}"})
    with ctx.started(wp.path, wp_id):
        atomic_write(wp.path, wp.text(), mode=0o644)
    ctx.emit("WPStatusChanged", {"wp_id": wp_id, "from_lane": previous, "to_lane": lane,
                                 "actor": who})
    if lane == "done":
        for other in feature.work_packages.values():
            if wp_id in other.dependencies and all(
                    feature.work_packages[d].lane == "done" for d in other.dependencies):
                ctx.emit("DependencyResolved", {"wp_id": other.id, "dependency_wp_id": wp_id,
                                                "resolution_type": "completed"})
        if all(w.lane == "done" for w in feature.work_packages.values()):
            started = feature.meta.get("finalized_epoch")
            now = time.time()
            duration = max(0.0, now - started) if isinstance(started, (int, float)) else 0.0
            ctx.emit("FeatureCompleted", {"feature_slug": feature.slug,
                                          "total_wps": len(feature.work_packages),
                                          "completed_at": utc_timestamp(now),
                                          "total_duration": iso_duration(duration)})
    return ActionResult(f"Moved {wp_id} from {previous} to {lane}.", ctx.emitted)


@one_action
def add_history(root: Path, wp_id: str, message: str, feature_slug: str | None = None,
                emit: Emit | None = None) -> ActionResult:
    """Append a note to a work package's history; emits HistoryAdded.

    Args:
        root: The project root.
        wp_id: The work package.
        message: The note (1 to 10,000 characters).
        feature_slug: The feature; see `select_feature` for the default.
        emit: Event sink (the sync emitter by default).

    Raises:
        UsageError: Bad id or an empty or too long message.
        TasksError: Unknown work package, or a malformed file.
    """
    check_wp_id(wp_id)
    if not message.strip():
        raise UsageError("the history message is empty")
    if len(message) > 10_000:
        raise UsageError("the history message is longer than 10,000 characters")
    ctx = _Context(root, feature_slug, emit)
    wp = ctx.feature.get(wp_id)
    who = actor()
    wp.history().append({"at": utc_timestamp(), "lane": wp.lane, "actor": who,
                         "action": "note", "note": message})
    with ctx.started(wp.path, wp_id):
        atomic_write(wp.path, wp.text(), mode=0o644)
    ctx.emit("HistoryAdded", {"wp_id": wp_id, "entry_type": "note", "entry_content": message,
                              "author": who})
    return ActionResult(f"Added a history entry to {wp_id}.", ctx.emitted)


@one_action
def assign(root: Path, wp_id: str, agent: str, phase: str = "implementation",
           feature_slug: str | None = None, emit: Emit | None = None) -> ActionResult:
    """Assign a work package to an agent for a phase; emits WPAssigned.

    Each earlier assignment of the same work package in the same phase counts as a retry.

    Args:
        root: The project root.
        wp_id: The work package.
        agent: The agent or person (1 to 200 characters).
        phase: `implementation` or `review`.
        feature_slug: The feature; see `select_feature` for the default.
        emit: Event sink (the sync emitter by default).

    Raises:
        UsageError: Bad id, agent or phase.
        TasksError: Unknown work package, or a malformed file.
    """
    check_wp_id(wp_id)
    if phase not in PHASES:
        raise UsageError(f"unknown phase {phase!r}: use implementation or review")
    agent = agent.strip()
    if not agent or len(agent) > 200:
        raise UsageError("the agent name must be 1 to 200 characters")
    ctx = _Context(root, feature_slug, emit)
    wp = ctx.feature.get(wp_id)
    assignments = wp.data.get("assignments")
    if assignments is None:
        assignments = wp.data["assignments"] = []
    if not isinstance(assignments, list):
        raise TasksError(f"{wp.path}: assignments must be a list")
    retries = sum(1 for a in assignments if isinstance(a, dict) and a.get("phase") == phase)
    assignments.append({"agent": agent, "phase": phase, "at": utc_timestamp()})
    wp.history().append({"at": utc_timestamp(), "lane": wp.lane, "actor": actor(),
                         "action": f"assigned to {agent} for {phase}"})
    with ctx.started(wp.path, wp_id):
        atomic_write(wp.path, wp.text(), mode=0o644)
    ctx.emit("WPAssigned", {"wp_id": wp_id, "agent_id": agent, "phase": phase,
                            "retry_count": retries})
    again = f" (retry {retries})" if retries else ""
    return ActionResult(f"Assigned {wp_id} to {agent} for {phase}{again}.", ctx.emitted)


SUBTASK_ID = re.compile(r"^T[0-9]{3,4}\Z")
"""Pattern of a subtask id in `tasks.md`, such as `T001`."""

SUBTASK_STATES = ("done", "pending")
"""What `mark-status` can mark a subtask."""

_SUBTASK_LINE = re.compile(r"^(\s*[-*]\s*\[)([ xX])(\]\s*)(T[0-9]{3,4})\b")
_HEADING = re.compile(r"^#{1,6}\s(?:.*\b(WP[0-9]{2,4})\b)?")


def _subtask_owners(lines: list[str], feature: Feature) -> dict[str, tuple[int, str | None]]:
    """Map each subtask id to its line index and its work package.

    The owner is the work package named in the nearest heading above the line (`## Work
    Package WP01: ...`), else the one whose frontmatter lists it under `subtasks`.

    Args:
        lines: The lines of `tasks.md`.
        feature: The feature.
    """
    listed = {t: wp.id for wp in feature.work_packages.values()
              for t in (wp.data.get("subtasks") or []) if isinstance(t, str)}
    found: dict[str, tuple[int, str | None]] = {}
    owner: str | None = None
    for index, line in enumerate(lines):
        heading = _HEADING.match(line)
        if heading:  # a heading without a work package ends the previous one's section
            owner = heading.group(1) if heading.group(1) in feature.work_packages else None
            continue
        item = _SUBTASK_LINE.match(line)
        if item and item.group(4) not in found:
            found[item.group(4)] = (index, owner or listed.get(item.group(4)))
    return found


@one_action
def mark_status(root: Path, task_ids: list[str], status: str,
                feature_slug: str | None = None, emit: Emit | None = None) -> ActionResult:
    """Tick (`done`) or untick (`pending`) subtasks in `tasks.md`; emits HistoryAdded.

    A subtask is not a lane change, so no WPStatusChanged: each work package whose subtasks
    changed gets one history note (written to its file and emitted as HistoryAdded).
    Subtasks already in that state change nothing and emit nothing.

    Args:
        root: The project root.
        task_ids: Subtask ids, such as `T001`.
        status: `done` or `pending`.
        feature_slug: The feature; see `select_feature` for the default.
        emit: Event sink (the sync emitter by default).

    Raises:
        UsageError: No ids, a bad id, or a bad status.
        TasksError: A subtask is not in `tasks.md` or not under a work package.
    """
    if not task_ids:
        raise UsageError("name at least one subtask, such as T001")
    for task_id in task_ids:
        if not SUBTASK_ID.match(task_id or ""):
            raise UsageError(f"invalid subtask id {task_id!r}: expected T001, T002, ...")
    if status not in SUBTASK_STATES:
        raise UsageError(f"unknown status {status!r}: use done or pending")
    ctx = _Context(root, feature_slug, emit)
    feature = ctx.feature
    try:
        lines = feature.tasks_md.read_text(encoding="utf-8").splitlines(keepends=True)
    except (OSError, UnicodeDecodeError) as exc:
        raise TasksError(f"cannot read {feature.tasks_md}: {exc}") from None
    owners = _subtask_owners(lines, feature)
    mark = "x" if status == "done" else " "
    changed: dict[str, list[str]] = {}
    for task_id in dict.fromkeys(task_ids):
        if task_id not in owners:
            raise TasksError(f"{feature.tasks_md}: no subtask {task_id} (expected a line "
                             f"like `- [ ] {task_id} ...`)")
        index, owner = owners[task_id]
        if owner is None:
            raise TasksError(f"{feature.tasks_md}: subtask {task_id} is not under a work "
                             "package heading such as `## Work Package WP01`")
        item = _SUBTASK_LINE.match(lines[index])
        if item and item.group(2).lower() != mark:
            lines[index] = f"{item.group(1)}{mark}{lines[index][item.end(2):]}"
            changed.setdefault(owner, []).append(task_id)
    if not changed:
        return ActionResult(f"{', '.join(task_ids)} already {status}; nothing to do.")
    with ctx.started(feature.tasks_md):
        atomic_write(feature.tasks_md, "".join(lines), mode=0o644)
    who = actor()
    for wp_id, ids in changed.items():
        wp = feature.get(wp_id)
        note = f"Subtasks {', '.join(ids)} marked {status}"
        wp.history().append({"at": utc_timestamp(), "lane": wp.lane, "actor": who,
                             "action": "note", "note": note})
        with ctx.started(wp.path, wp_id):
            atomic_write(wp.path, wp.text(), mode=0o644)
        ctx.emit("HistoryAdded", {"wp_id": wp_id, "entry_type": "note",
                                  "entry_content": note, "author": who})
    marked = [t for ids in changed.values() for t in ids]
    return ActionResult(f"Marked {', '.join(marked)} {status}.", ctx.emitted)


_ALWAYS_SHOWN = ("planned", "in_progress", "for_review", "done")
"""Lanes `agent tasks status` always lists; the others only when they hold a work package."""


def board(root: Path, feature_slug: str | None = None) -> str:
    """Return the feature's board as text: one section per lane. Emits nothing.

    Args:
        root: The project root.
        feature_slug: The feature; see `select_feature` for the default.

    Raises:
        TasksError: A file is missing or malformed.
    """
    feature = load_feature(root, select_feature(root, feature_slug))
    wps = feature.work_packages.values()
    done = sum(1 for w in wps if w.lane == "done")
    state = "finalized" if feature.meta.get("finalized_at") else "not finalized"
    lines = [f"Feature {feature.slug} ({state}): {done} of "
             f"{plural(len(wps), 'work package')} done"]
    for lane in LANES:
        in_lane = [w for w in wps if w.lane == lane]
        if not in_lane and lane not in _ALWAYS_SHOWN:
            continue
        lines.append("")
        lines.append(f"{lane} ({len(in_lane)})")
        for wp in in_lane:
            deps = f"  [after {', '.join(wp.dependencies)}]" if wp.dependencies else ""
            lines.append(f"  {wp.id}  {wp.title}{deps}")
    return "\n".join(lines)

