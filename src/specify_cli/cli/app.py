"""The root `spec-kitty` command: wires the command groups and turns errors into one line.

Start-up cost matters (`--help` is measured against `import typer`), so this module and the
command modules import only Typer at load time; httpx, SQLite and the sync engine are
imported inside the commands that use them.
"""

from __future__ import annotations

import os
import sys

import typer

from specify_cli import __version__
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
)
app.add_typer(auth.app, name="auth")
app.add_typer(sync.app, name="sync")
for _name in ("init", "implement", "accept", "merge"):
    app.command(name=_name)(getattr(workflow, _name))
app.add_typer(agent.app, name="agent")
app.add_typer(agent.legacy_app, name="tasks", hidden=True)
app.command(name="docs")(docs.docs_command)


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


command = typer.main.get_command(app)
"""The click command tree, for mkdocs-click and for the docs gate's command checks."""


def _plain_help(cmd) -> None:
    # Sub-apps keep their own markup mode; force plain help on the whole tree in one place.
    cmd.rich_markup_mode = None
    for sub in getattr(cmd, "commands", {}).values():
        _plain_help(sub)


_plain_help(command)


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
