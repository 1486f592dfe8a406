"""`spec-kitty sync workspace`: rebase a work-package worktree onto its base branch, using
local git only.

The base branch is, in order: `git config branch.<branch>.spec-kitty-base`; the
`target_branch` in the feature's `meta.json` when the branch is named `NNN-slug-WPxx`; the
branch checked out in the repository's main worktree; `main`.
"""

from __future__ import annotations

import subprocess
from dataclasses import dataclass, field
from pathlib import Path

from specify_cli import _git
from specify_cli._git import git_reason
from specify_cli._text import plural
from specify_cli.errors import SpecKittyError
from specify_cli.tasks import model


class WorkspaceError(SpecKittyError):
    """The workspace cannot be rebased (not a worktree, dirty, a rebase in progress...)."""


@dataclass
class Worktree:
    """The git worktree the command runs in.

    Attributes:
        top: Its top-level directory.
        git_dir: Its private git directory.
        branch: The checked-out branch (during a rebase: the branch being rebased).
    """

    top: Path
    git_dir: Path
    branch: str


@dataclass
class WorkspaceResult:
    """The outcome of `sync workspace`.

    Attributes:
        ok: True when the worktree is rebased (or already up to date, or repaired).
        message: One line for the user.
        conflicts: Conflicted files, when the rebase stopped.
        details: Extra lines for `--verbose`.
    """

    ok: bool
    message: str
    conflicts: list[str] = field(default_factory=list)
    details: list[str] = field(default_factory=list)


def git(cwd: Path, *args: str, check: bool = False) -> subprocess.CompletedProcess:
    """Run `git ARGS` in `cwd` (see `specify_cli._git.git`); failures raise `WorkspaceError`.

    Args:
        cwd: Working directory.
        *args: git arguments.
        check: Raise `WorkspaceError` with git's message on a non-zero exit.
    """
    return _git.git(cwd, *args, check=check, error=WorkspaceError)


def current_worktree(cwd: Path) -> Worktree:
    """Describe the linked worktree containing `cwd`.

    Args:
        cwd: A directory inside the worktree.

    Raises:
        WorkspaceError: Not in a git repository, or in the main checkout rather than a
            linked worktree.
    """
    result = git(cwd, "rev-parse", "--show-toplevel", "--absolute-git-dir", "--git-common-dir")
    if result.returncode != 0:
        raise WorkspaceError(f"{cwd} is not inside a git repository; run this inside a "
                             "work-package worktree")
    top, git_dir, common = result.stdout.strip().splitlines()[:3]
    git_dir_path = Path(git_dir)
    common_path = (Path(top) / common) if not Path(common).is_absolute() else Path(common)
    if git_dir_path.resolve() == common_path.resolve():
        raise WorkspaceError(f"{top} is the main checkout, not a work-package worktree; run "
                             "this inside a worktree made with `git worktree add`")
    return Worktree(Path(top), git_dir_path, _branch(Path(top), git_dir_path))


def _branch(top: Path, git_dir: Path) -> str:
    for state in ("rebase-merge", "rebase-apply"):
        head = git_dir / state / "head-name"
        if head.exists():
            return head.read_text().strip().removeprefix("refs/heads/")
    result = git(top, "symbolic-ref", "--short", "-q", "HEAD")
    if result.returncode != 0:
        raise WorkspaceError(f"{top} has a detached HEAD; check out the work-package branch")
    return result.stdout.strip()


def rebase_in_progress(tree: Worktree) -> bool:
    """Return True when a rebase was started and not finished in the worktree.

    Args:
        tree: The worktree.
    """
    return any((tree.git_dir / d).exists() for d in ("rebase-merge", "rebase-apply"))


def conflicts(tree: Worktree) -> list[str]:
    """Return the files with unresolved conflicts.

    Args:
        tree: The worktree.
    """
    result = git(tree.top, "diff", "--name-only", "--diff-filter=U")
    return [line for line in result.stdout.splitlines() if line.strip()]


def base_branch(tree: Worktree) -> str:
    """Return the branch the worktree's branch is based on (see the module docs).

    Args:
        tree: The worktree.
    """
    configured = git(tree.top, "config", "--get", f"branch.{tree.branch}.spec-kitty-base")
    if configured.returncode == 0 and configured.stdout.strip():
        return configured.stdout.strip()
    work_package = model.split_branch_name(tree.branch)
    if work_package:
        feature_dir = tree.top / model.SPECS_DIR / work_package[0]
        try:
            target = model.read_meta(feature_dir / model.META_FILE).get("target_branch")
        except model.TasksError:
            target = None  # an unreadable meta.json: the next rule decides
        if isinstance(target, str) and target:
            return target
    listing = git(tree.top, "worktree", "list", "--porcelain").stdout
    for line in listing.splitlines():
        if line.startswith("branch "):
            name = line.split(" ", 1)[1].removeprefix("refs/heads/")
            if name != tree.branch:
                return name
        if not line.strip():
            break  # only the first (main) worktree
    return "main"


def sync_workspace(cwd: Path, repair: bool = False) -> WorkspaceResult:
    """Rebase the worktree's branch onto its base branch (or abort a half-done rebase).

    Args:
        cwd: A directory inside the worktree.
        repair: Abort an unfinished rebase instead of rebasing.

    Returns:
        The result; `ok` is False when the rebase stopped on conflicts.

    Raises:
        WorkspaceError: Not in a worktree, uncommitted changes, unknown base, a rebase
            already in progress (without `repair`).
    """
    tree = current_worktree(cwd)
    details = [f"worktree: {tree.top}", f"branch: {tree.branch}"]
    if repair:
        if not rebase_in_progress(tree):
            return WorkspaceResult(True, f"Nothing to repair: no rebase in progress in "
                                   f"{tree.top}.", details=details)
        git(tree.top, "rebase", "--abort", check=True)
        return WorkspaceResult(True, f"Aborted the unfinished rebase; {tree.branch} is back "
                               "where it was before.", details=details)
    if rebase_in_progress(tree):
        files = conflicts(tree)
        listed = f" (conflicts: {', '.join(files)})" if files else ""
        raise WorkspaceError(f"a rebase is already in progress in {tree.top}{listed}; resolve "
                             "and run `git rebase --continue`, or run `spec-kitty sync "
                             "workspace --repair` to abort it")
    dirty = git(tree.top, "status", "--porcelain", "--untracked-files=no").stdout.strip()
    if dirty:
        raise WorkspaceError(f"{tree.top} has uncommitted changes; commit or stash them first")
    base = base_branch(tree)
    details.append(f"base: {base}")
    if git(tree.top, "rev-parse", "--verify", "-q", f"{base}^{{commit}}").returncode != 0:
        raise WorkspaceError(f"the base branch {base!r} of {tree.branch} does not exist; set "
                             f"it with `git config branch.{tree.branch}.spec-kitty-base BRANCH`")
    if git(tree.top, "merge-base", "--is-ancestor", base, "HEAD").returncode == 0:
        return WorkspaceResult(True, f"{tree.branch} is already up to date with {base}.",
                               details=details)
    ahead = git(tree.top, "rev-list", "--count", f"{base}..HEAD").stdout.strip()
    result = git(tree.top, "rebase", base)
    if result.returncode == 0:
        replayed = plural(int(ahead) if ahead.isdigit() else 0, "commit")
        return WorkspaceResult(True, f"Rebased {tree.branch} onto {base} ({replayed} "
                               "replayed).", details=details)
    files = conflicts(tree)
    if not files:
        # Not a conflict (no git identity, a hook failed...): undo and show git's reason.
        if rebase_in_progress(tree):
            git(tree.top, "rebase", "--abort")
        raise WorkspaceError(f"git rebase failed and was undone: {git_reason(result)}")
    return WorkspaceResult(
        False, f"Rebasing {tree.branch} onto {base} stopped on conflicts in "
        f"{plural(len(files), 'file')}; resolve them and run `git rebase --continue`, or run "
        "`spec-kitty sync workspace --repair` to abort.", conflicts=files, details=details)
