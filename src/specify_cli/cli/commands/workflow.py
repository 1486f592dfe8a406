"""`spec-kitty init|implement|accept|merge`: a feature's life in git, with its sync events."""

from __future__ import annotations

from pathlib import Path

import typer

from specify_cli.cli._output import info
from specify_cli.cli.commands._feature import feature_option, root, wp_argument

_DIRECTORY = typer.Argument(Path("."), metavar="[DIRECTORY]", file_okay=False,
                            help="The project directory (default: the current one).")


def init(path: Path = _DIRECTORY) -> None:
    """Make a directory a spec-kitty project.

    Creates `.kittify/config.yaml` with the project identity (uuid, slug, node id) stamped
    on every event, and the `kitty-specs/` directory for features. Running it again
    changes nothing. Emits nothing.

    Example: `spec-kitty init`
    """
    from specify_cli.tasks import workflow

    info(workflow.init(path.resolve()))


def implement(
    wp_id: str = wp_argument(),
    base: str = typer.Option(None, "--base", "-b", metavar="WP_ID",
                             help="Start from this work package's branch instead of the "
                                  "feature's target branch."),
    feature: str = feature_option(),
) -> None:
    """Start a work package in its own git worktree; emits WPStatusChanged.

    Creates `.worktrees/<feature>-<WP>` on branch `<feature>-<WP>` (the names `spec-kitty
    sync workspace` uses), from the target branch or from the `--base` work package's
    branch, and moves the work package to in_progress. Refuses when a dependency is not
    done and `--base` does not name it, or when the worktree exists.

    Example: `spec-kitty implement WP02 --base WP01`
    """
    from specify_cli.tasks import workflow

    info(workflow.implement(root(), wp_id, base, feature).message)


def accept(feature: str = feature_option()) -> None:
    """Accept a reviewed feature: its for_review work packages move to done.

    Every work package must be in for_review, approved or done, and no worktree may have
    uncommitted changes. Emits one WPStatusChanged per work package moved, and the
    feature's one FeatureCompleted; records `accepted_at` in `meta.json`.

    Example: `spec-kitty accept --feature 001-login-flow`
    """
    from specify_cli.tasks import workflow

    info(workflow.accept(root(), feature).message)


def merge(feature: str = feature_option()) -> None:
    """Merge an accepted feature's work-package branches into its target branch.

    Merges in dependency order, then removes the worktrees and branches. On a conflict the
    repository is left as it was and the error names the files. Run it in the main
    checkout, on the target branch. Emits nothing (the board already shows the feature
    done).

    Example: `spec-kitty merge --feature 001-login-flow`
    """
    from specify_cli.tasks import workflow

    info(workflow.merge(root(), feature).message)
