"""`spec-kitty tasks`: work-package commands that emit sync events."""

from __future__ import annotations

from pathlib import Path

import typer

from spec_kitty_protocol.constants import LANES
from specify_cli.cli._output import info

app = typer.Typer(
    help=("Work on a feature's work packages; each action emits a sync event.\n\n"
          "A feature is a directory `kitty-specs/NNN-name/` with a `tasks.md` and one "
          "`tasks/WPxx.md` per work package. Without `--feature`, the commands use the only "
          "feature directory, or the highest-numbered one when there are several.\n\n"
          "Example: `spec-kitty tasks move WP01 --to in_progress --feature 001-login-flow`"),
    no_args_is_help=True,
)

FEATURE_HELP = ("Feature directory name under kitty-specs/, such as 001-login-flow "
                "(default: the only or highest-numbered feature).")


def _root() -> Path:
    from specify_cli.sync.project_config import find_project_root

    return find_project_root()


def _feature_option() -> str | None:
    return typer.Option(None, "--feature", "-f", metavar="SLUG", help=FEATURE_HELP)


@app.command("finalize")
def finalize(feature: str = _feature_option()) -> None:
    """Register a feature and emit its FeatureCreated and WPCreated events.

    Writes `meta.json` in the feature directory. Running it again on a registered
    feature changes nothing and emits nothing.

    Example: `spec-kitty tasks finalize --feature 001-login-flow`
    """
    from specify_cli.tasks import actions

    info(actions.finalize(_root(), feature).message)


@app.command("move")
def move(
    wp_id: str = typer.Argument(..., metavar="WP_ID", help="Work-package id, such as WP01."),
    to: str = typer.Option(..., "--to", "-t", metavar="LANE",
                           help=f"New lane: {', '.join(LANES)} (`doing` is read as "
                                "in_progress)."),
    feature: str = _feature_option(),
) -> None:
    """Move a work package to another lane; emits WPStatusChanged.

    Moving to `done` also emits DependencyResolved for each work package whose last open
    dependency it was, and FeatureCompleted when every work package is done.

    Example: `spec-kitty tasks move WP01 --to in_progress`
    """
    from specify_cli.tasks import actions

    info(actions.move(_root(), wp_id, to, feature).message)


@app.command("history")
def history(
    wp_id: str = typer.Argument(..., metavar="WP_ID", help="Work-package id, such as WP01."),
    message: str = typer.Argument(..., help="The note to add."),
    feature: str = _feature_option(),
) -> None:
    """Add a note to a work package's history; emits HistoryAdded.

    Example: `spec-kitty tasks history WP01 "Blocked on the API review"`
    """
    from specify_cli.tasks import actions

    info(actions.add_history(_root(), wp_id, message, feature).message)


@app.command("assign")
def assign(
    wp_id: str = typer.Argument(..., metavar="WP_ID", help="Work-package id, such as WP01."),
    agent: str = typer.Option(..., "--agent", "-a", metavar="NAME",
                              help="The agent or person assigned."),
    phase: str = typer.Option("implementation", "--phase", "-p", metavar="PHASE",
                              help="implementation or review."),
    feature: str = _feature_option(),
) -> None:
    """Assign a work package to an agent; emits WPAssigned.

    Assigning a work package again in the same phase counts as a retry (`retry_count`).

    Example: `spec-kitty tasks assign WP01 --agent claude --phase review`
    """
    from specify_cli.tasks import actions

    info(actions.assign(_root(), wp_id, agent, phase, feature).message)


@app.command("status")
def status(feature: str = _feature_option()) -> None:
    """Show the feature's board: its work packages by lane. Emits nothing.

    Example: `spec-kitty tasks status`
    """
    from specify_cli.tasks import actions

    info(actions.board(_root(), feature))
