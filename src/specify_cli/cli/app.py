"""The root `spec-kitty` command: wires the command groups and turns errors into one line.

Start-up cost matters (`--help` is measured against `import typer`), so this module and the
command modules import only Typer at load time; httpx, SQLite and the sync engine are
imported inside the commands that use them, and each command is converted to Click only
when a command line reaches it (`cli._lazy`).
"""

from __future__ import annotations

import functools
import os
import sys

import typer

from specify_cli import __version__
from specify_cli.cli._lazy import LazyGroup
from specify_cli.cli.commands import agent, auth, docs, sync, workflow

app = typer.Typer(
    name="spec-kitty",
    help=(
        "Sync spec-kitty work with a shared team server.\n\n"
        "Log in with `spec-kitty auth login`, then run `spec-kitty sync now`."
    ),
    # Plain click help: Rich's help renderer costs ~250 ms of imports on every `--help`,
    # and help text written in Markdown reads well both in a terminal and on the docs page.
    rich_markup_mode=None,
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    context_settings={"help_option_names": ["--help", "-h"]},
    cls=LazyGroup,
)
"""The root: its own options only. The commands are registered on `_commands` and built into
`command` on first use."""

_commands = typer.Typer()
for _name in ("init", "implement", "accept", "merge"):
    _commands.command(name=_name)(getattr(workflow, _name))
_commands.command(name="docs")(docs.docs_command)
_commands.add_typer(auth.app, name="auth")
_commands.add_typer(sync.app, name="sync")
_commands.add_typer(agent.app, name="agent")
_commands.add_typer(agent.legacy_app, name="tasks", hidden=True)


def _version_callback(value: bool) -> None:
    if value:
        typer.echo(f"spec-kitty {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: bool = typer.Option(
        False, "--version", "-V", callback=_version_callback, is_eager=True,
        help="Show the version and exit.",
    ),
) -> None:
    """Sync spec-kitty work with a shared team server.

    Example: `spec-kitty auth login --username alice`
    """


def _plain_help(cmd):
    cmd.rich_markup_mode = None
    for sub in getattr(cmd, "commands", {}).values():
        _plain_help(sub)
    return cmd


def _tree(root: typer.Typer, children: typer.Typer) -> LazyGroup:
    """The root group with `children`'s commands and groups deferred, converted by Typer's
    own calls with the root's settings, as an eager `typer.main.get_command` would."""
    group = typer.main.get_command(root)
    for info in children.registered_commands:
        group.defer(info.name or typer.main.get_command_name(info.callback.__name__),
                    functools.partial(_convert, typer.main.get_command_from_info, info,
                                      pretty_exceptions_short=root.pretty_exceptions_short,
                                      rich_markup_mode=root.rich_markup_mode))
    for info in children.registered_groups:
        group.defer(info.name,
                    functools.partial(_convert, typer.main.get_group_from_info, info,
                                      pretty_exceptions_short=root.pretty_exceptions_short,
                                      rich_markup_mode=root.rich_markup_mode,
                                      suggest_commands=root.suggest_commands))
    group.rich_markup_mode = None
    return group


def _convert(convert, info, **settings):
    # Sub-apps keep their own markup mode; plain help on every command the tree builds.
    return _plain_help(convert(info, **settings))


command = _tree(app, _commands)
"""The click command tree, for mkdocs-click and for the docs gate's command checks (each
command is built when first used; reading `command.commands` builds them all)."""


def main() -> None:
    """Run the CLI; every error becomes one `error:` line on stderr and a non-zero exit.

    A `SpecKittyError` exits with its own code; a usage mistake Click detects (an unknown
    option, a missing argument) exits 2, naming the `--help` to read.
    """
    from typer import Abort
    from typer._click import exceptions as click_errors

    from specify_cli.cli._output import error
    from specify_cli.errors import SpecKittyError

    if os.environ.get("NO_COLOR"):
        os.environ.setdefault("TERM", "dumb")
    try:
        code = command.main(prog_name="spec-kitty", standalone_mode=False)
    except SpecKittyError as exc:
        error(str(exc))
        sys.exit(exc.exit_code)
    except click_errors.NoArgsIsHelpError as exc:
        exc.show()  # `spec-kitty auth` alone: the help is the answer
        sys.exit(exc.exit_code)
    except click_errors.UsageError as exc:
        where = exc.ctx.command_path if exc.ctx is not None else "spec-kitty"
        error(f"{exc.format_message().rstrip('.')}; see `{where} --help`")
        sys.exit(exc.exit_code)
    except click_errors.ClickException as exc:
        error(exc.format_message())
        sys.exit(exc.exit_code)
    except Abort:
        error("aborted")
        sys.exit(1)
    sys.exit(code if isinstance(code, int) else 0)


if __name__ == "__main__":  # pragma: no cover
    main()
