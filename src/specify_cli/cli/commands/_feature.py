"""What the feature commands share: the project root and the `--feature` option."""

from __future__ import annotations

from pathlib import Path

import typer

FEATURE_HELP = ("Feature directory name under kitty-specs/, such as 001-login-flow "
                "(default: the only or highest-numbered feature).")


def root() -> Path:
    """Return the project root found from the current directory.

    Inside a work-package worktree (`.worktrees/<feature>-<WP>/`) it is the main checkout
    around it: the lanes and `meta.json` that count are the main checkout's, not the copy
    committed on the work-package branch.
    """
    from specify_cli.project.config import find_project_root
    from specify_cli.tasks.workflow import WORKTREES_DIR

    found = find_project_root()
    if found.parent.name == WORKTREES_DIR:
        return find_project_root(found.parent.parent)
    return found


def feature_option() -> str | None:
    """Return the `--feature/-f SLUG` option."""
    return typer.Option(None, "--feature", "-f", metavar="SLUG", help=FEATURE_HELP)


def wp_argument() -> str:
    """Return the `WP_ID` argument."""
    return typer.Argument(..., metavar="WP_ID", help="Work-package id, such as WP01.")
