"""The git side of a feature's life: `init`, `implement`, `accept` and `merge`.

Lane changes go through `actions.move`, so each command emits exactly the events a move
emits (one WPStatusChanged per work package, plus DependencyResolved and FeatureCompleted
when they apply) and never a second copy. A work package is built in its own worktree,
`.worktrees/<feature>-<WP>` on branch `<feature>-<WP>`: the names `sync workspace` parses to
find the base branch. Every check runs before git or a file is touched.
"""

from __future__ import annotations

import json
from pathlib import Path

from spec_kitty_protocol import utc_timestamp
from specify_cli._files import atomic_write
from specify_cli._git import git, git_value
from specify_cli.errors import ConfigError, UsageError
from specify_cli.project import config as project_config
from specify_cli.project import identity
from specify_cli.tasks import actions
from specify_cli.tasks.actions import ActionResult, Emit, one_action
from specify_cli.tasks.model import (
    SPECS_DIR,
    Feature,
    TasksError,
    WorkPackage,
    branch_name,
    check_wp_id,
    load_feature,
    select_feature,
)

WORKTREES_DIR = ".worktrees"
"""Directory, at the project root, of the work-package worktrees."""

REVIEWED_LANES = ("for_review", "approved")
"""Lanes `accept` moves to `done`; with `done` itself, the lanes of a feature ready to accept."""


def worktree_path(root: Path, feature_slug: str, wp_id: str) -> Path:
    """Return the worktree directory of a work package.

    Args:
        root: The project root.
        feature_slug: The feature.
        wp_id: The work package.
    """
    return root / WORKTREES_DIR / branch_name(feature_slug, wp_id)


def init(root: Path) -> str:
    """Make `root` a spec-kitty project: `.kittify/config.yaml` with its identity, `kitty-specs/`.

    Running it again changes nothing and says so. Emits nothing: the identity is stamped on
    the events later commands emit.

    Args:
        root: The project directory (created if missing).

    Returns:
        Lines for the user saying what was created.

    Raises:
        ConfigError: The configuration exists but is not valid YAML, or cannot be written.
    """
    root.mkdir(parents=True, exist_ok=True)
    created: list[str] = []
    had = identity.load_identity(root)
    found = identity.ensure_identity(root)
    if not found.persisted:
        raise ConfigError(f"cannot write {project_config.config_file(root)}")
    if had is None:
        created.append(f"created {project_config.KITTIFY_DIR}/{project_config.CONFIG_NAME} "
                       f"(project {found.project_slug}, uuid {found.project_uuid})")
    specs = root / SPECS_DIR
    if not specs.is_dir():
        specs.mkdir()
        created.append(f"created {SPECS_DIR}/ (put features in {SPECS_DIR}/NNN-name/)")
    if not created:
        return f"{root} is already a spec-kitty project ({found.project_slug}); nothing to do."
    return "\n".join([f"Initialised spec-kitty project {found.project_slug} in {root}:",
                      *(f"  {line}" for line in created)])


def _finalized(root: Path, feature_slug: str | None) -> Feature:
    feature = load_feature(root, select_feature(root, feature_slug))
    if not feature.meta.get("finalized_at"):
        raise TasksError(f"feature {feature.slug} is not finalized; run `spec-kitty agent "
                         f"feature finalize-tasks --feature {feature.slug}` first")
    return feature


def _branch_exists(root: Path, branch: str) -> bool:
    return git(root, "rev-parse", "--verify", "-q", f"refs/heads/{branch}",
               error=TasksError).returncode == 0


def _dirty_worktrees(root: Path, feature: Feature) -> list[str]:
    dirty = []
    for wp_id in feature.work_packages:
        path = worktree_path(root, feature.slug, wp_id)
        if path.is_dir() and git(path, "status", "--porcelain", error=TasksError).stdout.strip():
            dirty.append(str(path.relative_to(root)))
    return dirty


def _write_meta(root: Path, feature: Feature, **fields: object) -> None:
    meta = load_feature(root, feature.slug).meta  # re-read: the moves before may have run
    meta.update(fields)
    atomic_write(feature.meta_path, json.dumps(meta, indent=2) + "\n", mode=0o644)


@one_action
def implement(root: Path, wp_id: str, base: str | None = None,
              feature_slug: str | None = None, emit: Emit | None = None) -> ActionResult:
    """Create a work package's worktree and move it to `in_progress`.

    The branch starts from the base work package's branch (`base`) or from the feature's
    target branch, and `git config branch.<branch>.spec-kitty-base` records that start so
    `sync workspace` rebases onto it. Emits one WPStatusChanged (none if the work package
    is already in progress).

    Args:
        root: The project root (the main checkout).
        wp_id: The work package.
        base: A work package whose branch to start from (it must have been implemented).
        feature_slug: The feature; see `select_feature` for the default.
        emit: Event sink (the sync emitter by default).

    Raises:
        UsageError: A bad id, or `base` is the work package itself.
        TasksError: Not finalized; a dependency not done and not the base; the worktree or
            branch exists; the start branch is missing; git failed.
    """
    check_wp_id(wp_id)
    if base is not None:
        check_wp_id(base)
        if base == wp_id:
            raise UsageError(f"{wp_id} cannot be its own base")
    feature = _finalized(root, feature_slug)
    wp = feature.get(wp_id)
    if base is not None:
        feature.get(base)
    if wp.lane in ("done", "canceled"):
        raise TasksError(f"{wp_id} is {wp.lane}; there is nothing to implement")
    waiting = [d for d in wp.dependencies
               if feature.work_packages[d].lane != "done" and d != base]
    if waiting:
        states = ", ".join(f"{d} is {feature.work_packages[d].lane}" for d in waiting)
        raise TasksError(f"{wp_id} depends on work that is not done ({states}); finish it, "
                         f"or build on its branch with `spec-kitty implement {wp_id} --base "
                         f"{waiting[0]}`")
    if git_value(root, "rev-parse", "--show-toplevel") is None:
        raise TasksError(f"{root} is not a git repository; run `git init` and commit first")
    start = branch_name(feature.slug, base) if base else str(feature.meta["target_branch"])
    if git(root, "rev-parse", "--verify", "-q", f"{start}^{{commit}}",
           error=TasksError).returncode != 0:
        hint = (f"run `spec-kitty implement {base}` first" if base
                else "commit something on it first")
        raise TasksError(f"the branch {start} to start {wp_id} from does not exist; {hint}")
    branch, path = branch_name(feature.slug, wp_id), worktree_path(root, feature.slug, wp_id)
    if path.exists():
        raise TasksError(f"the worktree {path.relative_to(root)} already exists; work there, "
                         "or remove it with `git worktree remove`")
    if _branch_exists(root, branch):
        raise TasksError(f"the branch {branch} already exists; remove it with `git branch -D "
                         f"{branch}` to start over")
    git(root, "worktree", "add", "-q", "-b", branch, str(path), start, check=True,
        error=TasksError)
    try:
        git(root, "config", f"branch.{branch}.spec-kitty-base", start, check=True,
            error=TasksError)
        moved = actions.move(root, wp_id, "in_progress", feature.slug, emit=emit)
    except BaseException:
        git(root, "worktree", "remove", "--force", str(path))  # as it was before
        git(root, "branch", "-D", branch)
        raise
    return ActionResult(f"Created worktree {path.relative_to(root)} on branch {branch} "
                        f"(from {start}).\n{moved.message}", moved.events)


@one_action
def accept(root: Path, feature_slug: str | None = None, emit: Emit | None = None
           ) -> ActionResult:
    """Accept a reviewed feature: move its reviewed work packages to `done`, record it.

    Every work package must be in `for_review`, `approved` or `done`, and no worktree may
    have uncommitted changes. Each reviewed work package is moved with `actions.move`:
    one WPStatusChanged each, and the last one emits the feature's single
    FeatureCompleted. Acceptance itself (`accepted_at`, `accepted_by` in `meta.json`) emits
    nothing more, so a feature whose work packages were already done emits nothing here.

    Args:
        root: The project root.
        feature_slug: The feature; see `select_feature` for the default.
        emit: Event sink (the sync emitter by default).

    Raises:
        TasksError: Not finalized, a work package still open, uncommitted changes.
    """
    feature = _finalized(root, feature_slug)
    if feature.meta.get("accepted_at"):
        return ActionResult(f"Feature {feature.slug} was already accepted "
                            f"({feature.meta['accepted_at']}); nothing emitted.")
    wps = list(feature.work_packages.values())
    if not wps:
        raise TasksError(f"feature {feature.slug} has no work packages to accept")
    open_wps = [w for w in wps if w.lane not in (*REVIEWED_LANES, "done")]
    if open_wps:
        states = ", ".join(f"{w.id} is {w.lane}" for w in open_wps)
        raise TasksError(f"feature {feature.slug} is not ready to accept ({states}); move "
                         "each work package to for_review or done first")
    dirty = _dirty_worktrees(root, feature)
    if dirty:
        raise TasksError(f"uncommitted changes in {', '.join(dirty)}; commit them first")
    events: list[str] = []
    reviewed = [w.id for w in wps if w.lane in REVIEWED_LANES]
    for wp_id in reviewed:
        events += actions.move(root, wp_id, "done", feature.slug, emit=emit).events
    _write_meta(root, feature, accepted_at=utc_timestamp(), accepted_by=actions.actor())
    moved = f"; moved {', '.join(reviewed)} to done" if reviewed else ""
    return ActionResult(f"Accepted {feature.slug}{moved}.", events)


def merge_order(feature: Feature) -> list[WorkPackage]:
    """Return the work packages with each one after its dependencies (ties in id order).

    Args:
        feature: The feature (its dependencies are known to exist).

    Raises:
        TasksError: The dependencies form a cycle.
    """
    placed: dict[str, WorkPackage] = {}
    remaining = dict(feature.work_packages)
    while remaining:
        ready = [w for w in remaining.values() if all(d in placed for d in w.dependencies)]
        if not ready:
            raise TasksError(f"the dependencies of {', '.join(remaining)} in "
                             f"{feature.slug} form a cycle")
        for wp in ready:
            placed[wp.id] = remaining.pop(wp.id)
    return list(placed.values())


def merge(root: Path, feature_slug: str | None = None) -> ActionResult:
    """Merge an accepted feature's work-package branches into its target branch.

    Branches are merged (`--no-ff`) in dependency order, then their worktrees and branches
    are removed and `merged_at` is recorded in `meta.json`. When a merge fails, the target
    branch is reset to where it was and nothing is removed. Emits nothing: the lanes
    already say done and the feature completed (at `accept`).

    Args:
        root: The project root (the main checkout, on the target branch).
        feature_slug: The feature; see `select_feature` for the default.

    Raises:
        TasksError: Not accepted, not on the target branch, uncommitted changes in a
            worktree, or a merge conflict (naming the files).
    """
    feature = _finalized(root, feature_slug)
    if feature.meta.get("merged_at"):
        return ActionResult(f"Feature {feature.slug} was already merged "
                            f"({feature.meta['merged_at']}); nothing to do.")
    if not feature.meta.get("accepted_at"):
        raise TasksError(f"feature {feature.slug} is not accepted; run `spec-kitty accept "
                         f"--feature {feature.slug}` first")
    target = str(feature.meta["target_branch"])
    head = git_value(root, "symbolic-ref", "--short", "HEAD")
    if head != target:
        raise TasksError(f"{root} is on {head or 'a detached HEAD'}, not on the target branch "
                         f"{target}; run `git checkout {target}` first")
    dirty = _dirty_worktrees(root, feature)
    if dirty:
        raise TasksError(f"uncommitted changes in {', '.join(dirty)}; commit them first")
    branches = [(w, branch_name(feature.slug, w.id)) for w in merge_order(feature)
                if _branch_exists(root, branch_name(feature.slug, w.id))]
    before = git(root, "rev-parse", "HEAD", check=True, error=TasksError).stdout.strip()
    for wp, branch in branches:
        result = git(root, "merge", "--no-ff", "--no-edit", "-m",
                     f"Merge {branch} ({wp.id}: {wp.title})", branch, error=TasksError)
        if result.returncode != 0:
            _undo_merge(root, before, branch, target, result)
    for _wp, branch in branches:
        path = root / WORKTREES_DIR / branch
        if path.exists():
            git(root, "worktree", "remove", str(path), check=True, error=TasksError)
        git(root, "branch", "-d", branch, check=True, error=TasksError)
    _write_meta(root, feature, merged_at=utc_timestamp())
    names = ", ".join(w.id for w, _ in branches) or "no work-package branches"
    return ActionResult(f"Merged {names} into {target} and removed their worktrees.")


def _undo_merge(root: Path, before: str, branch: str, target: str, result) -> None:
    """Put the target branch back where it was before `merge` and raise one line."""
    conflicted = [f for f in git(root, "diff", "--name-only", "--diff-filter=U",
                                 error=TasksError).stdout.splitlines() if f.strip()]
    git(root, "merge", "--abort", error=TasksError)
    # --keep moves the branch back but keeps uncommitted edits (lanes in kitty-specs/).
    git(root, "reset", "-q", "--keep", before, error=TasksError)
    if conflicted:
        raise TasksError(f"merging {branch} into {target} conflicts in "
                         f"{', '.join(conflicted)}; nothing was merged. Rebase the branch "
                         "in its worktree (`spec-kitty sync workspace`), resolve, commit, "
                         "and run `spec-kitty merge` again")
    lines = [line for line in (result.stderr or result.stdout).strip().splitlines()
             if line.strip() and not line.startswith("hint:")]
    reason = lines[0] if lines else "no output"
    raise TasksError(f"merging {branch} into {target} failed and was undone: {reason}")
