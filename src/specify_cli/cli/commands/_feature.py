"""What the feature commands share: the project root and the `--feature` option."""

from __future__ import annotations

from pathlib import Path

import typer

FEATURE_HELP = ("Feature directory name under kitty-specs/, such as 001-login-flow "
                "(default: the only or highest-numbered feature).")


def root() -> Path:
    """Return the project root found from the current directory."""
    from specify_cli.sync.project_config import find_project_root

    return find_project_root()


def feature_option() -> str | None:
    """Return the `--feature/-f SLUG` option."""
    return typer.Option(None, "--feature", "-f", metavar="SLUG", help=FEATURE_HELP)


def wp_argument() -> str:
    """Return the `WP_ID` argument."""
    return typer.Argument(..., metavar="WP_ID", help="Work-package id, such as WP01.")
