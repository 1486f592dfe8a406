"""`spec-kitty agent tasks|feature`: the agent-facing commands, one sync event per change.

The names are spec-kitty 2.x's; each command is a thin wrapper of one action in
`specify_cli.tasks.actions`.
"""

from __future__ import annotations

import typer

from spec_kitty_protocol.constants import LANES
from specify_cli.cli._output import info
from specify_cli.cli.commands._feature import feature_option, root, wp_argument

app = typer.Typer(
    help=("Commands coding agents (and people) run on a feature's work packages; each "
          "change emits one sync event.\n\n"
          "A feature is a directory `kitty-specs/NNN-name/` with a `tasks.md` and one "
          "`tasks/WPxx.md` per work package. Without `--feature`, the commands use the only "
          "feature directory, or the highest-numbered one when there are several.\n\n"
          "Example: `spec-kitty agent tasks move-task WP01 --to for_review`"),
    no_args_is_help=True,
)
tasks_app = typer.Typer(help="Change a work package: lane, history, assignment, subtasks.",
                        no_args_is_help=True)
feature_app = typer.Typer(help="Register a feature with the team server.", no_args_is_help=True)
app.add_typer(tasks_app, name="tasks")
app.add_typer(feature_app, name="feature")


@feature_app.command("finalize-tasks")
def finalize_tasks(feature: str = feature_option()) -> None:
    """Register a feature and emit its FeatureCreated and WPCreated events.

    Writes `meta.json` in the feature directory (with the target branch: `target_branch`
    in the frontmatter of `tasks.md`, else the branch checked out). Running it again on a
    registered feature changes nothing and emits nothing.

    Example: `spec-kitty agent feature finalize-tasks --feature 001-login-flow`
    """
    from specify_cli.tasks import actions

    info(actions.finalize(root(), feature).message)


@tasks_app.command("move-task")
def move_task(
    wp_id: str = wp_argument(),
    to: str = typer.Option(..., "--to", "-t", metavar="LANE",
                           help=f"New lane: {', '.join(LANES)} (`doing` is read as "
                                "in_progress)."),
    feature: str = feature_option(),
) -> None:
    """Move a work package to another lane; emits WPStatusChanged.

    Moving to `done` also emits DependencyResolved for each work package whose last open
    dependency it was, and FeatureCompleted when every work package is done.

    Example: `spec-kitty agent tasks move-task WP01 --to for_review`
    """
    from specify_cli.tasks import actions

    info(actions.move(root(), wp_id, to, feature).message)


@tasks_app.command("add-history")
def add_history(
    wp_id: str = wp_argument(),
    message: str = typer.Argument(..., help="The note to add."),
    feature: str = feature_option(),
) -> None:
    """Add a note to a work package's history; emits HistoryAdded.

    Example: `spec-kitty agent tasks add-history WP01 "Blocked on the API review"`
    """
    from specify_cli.tasks import actions

    info(actions.add_history(root(), wp_id, message, feature).message)


@tasks_app.command("assign")
def assign(
    wp_id: str = wp_argument(),
    agent: str = typer.Option(..., "--agent", "-a", metavar="NAME",
                              help="The agent or person assigned."),
    phase: str = typer.Option("implementation", "--phase", "-p", metavar="PHASE",
                              help="implementation or review."),
    feature: str = feature_option(),
) -> None:
    """Assign a work package to an agent; emits WPAssigned.

    Assigning a work package again in the same phase counts as a retry (`retry_count`).

    Example: `spec-kitty agent tasks assign WP01 --agent claude --phase review`
    """
    from specify_cli.tasks import actions

    info(actions.assign(root(), wp_id, agent, phase, feature).message)


_TASK_IDS = typer.Argument(..., metavar="TASK_ID...", help="Subtask ids in tasks.md, such as T001.")


@tasks_app.command("mark-status")
def mark_status(
    task_ids: list[str] = _TASK_IDS,
    status: str = typer.Option(..., "--status", "-s", metavar="STATUS",
                               help="done (tick the box) or pending (untick it)."),
    feature: str = feature_option(),
) -> None:
    """Tick or untick subtasks in the feature's tasks.md; emits HistoryAdded.

    A subtask is a checklist item of `tasks.md` that starts with its id (T001); it belongs
    to the work package named in the heading above it (Work Package WP01). Marking
    subtasks changes no lane, so it emits no WPStatusChanged: each work package whose
    subtasks changed gets one history note and one HistoryAdded.

    Example: `spec-kitty agent tasks mark-status T001 T002 --status done`
    """
    from specify_cli.tasks import actions

    info(actions.mark_status(root(), task_ids, status, feature).message)


@tasks_app.command("status")
def status(feature: str = feature_option()) -> None:
    """Show the feature's board: its work packages by lane. Emits nothing.

    Example: `spec-kitty agent tasks status`
    """
    from specify_cli.tasks import actions

    info(actions.board(root(), feature))


legacy_app = typer.Typer(help="Older names of the `agent` commands (hidden; same code).",
                         no_args_is_help=True)
"""`spec-kitty tasks finalize|move|history|assign|status`: the names before `agent`.

Hidden from help and the docs, kept so scripts written for them keep working; each is the
very same function as its `agent` command, so the two names cannot drift apart.
"""
for _name, _fn in (("finalize", finalize_tasks), ("move", move_task), ("history", add_history),
                   ("assign", assign), ("status", status)):
    legacy_app.command(_name)(_fn)
