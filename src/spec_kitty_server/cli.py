"""The `spec-kitty-server` command: run the server and manage its users and demo data.

Only Typer and the standard library are imported at load time; the server stack is imported
inside the commands that need it.
"""

from __future__ import annotations

import sys

import typer

from spec_kitty_server import __version__
from spec_kitty_server.settings import (
    DEFAULT_ACCESS_LIFETIME,
    DEFAULT_BODY_TIMEOUT,
    DEFAULT_HEADER_TIMEOUT,
    DEFAULT_REFRESH_LIFETIME,
    DEFAULT_WRITE_TIMEOUT,
    DEFAULT_WS_PING_INTERVAL,
)

app = typer.Typer(
    name="spec-kitty-server",
    help="The spec-kitty reference sync server: HTTP and WebSocket API, and team dashboards.",
    # Plain click help and errors, like `spec-kitty`: Rich boxes cut long defaults and differ
    # from what the generated reference shows.
    rich_markup_mode=None,
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    context_settings={"help_option_names": ["--help", "-h"]},
)
user_app = typer.Typer(help="Add, list, disable and enable user accounts.", no_args_is_help=True)
team_app = typer.Typer(help="List teams.", no_args_is_help=True)
app.add_typer(user_app, name="user")
app.add_typer(team_app, name="team")

# Worded so that the default path never wraps at its hyphens in an 80-column `--help`.
DB_HELP = ("SQLite file: `./spec-kitty-server.sqlite3` unless set here or in "
           "`SPEC_KITTY_SERVER_DB`.")
DEMO_PASSWORD = "demo-password-not-secret"
"""The documented password of the demo user when `demo` is run without `--password-stdin`."""


EXIT_OK = 0
"""Exit status of a command that did what it was asked."""

EXIT_ERROR = 1
"""Exit status after an `error: ...` line: a bad value, a missing database, a busy file."""

EXIT_USAGE = 2
"""Exit status of a usage mistake: an unknown option or command, a missing argument."""

EXIT_INTERRUPTED = 130
"""Exit status when interrupted with Ctrl-C before `serve` started serving."""


class CliError(Exception):
    """A user mistake; printed as one `error:` line with exit code 1."""


def _db_option() -> typer.models.OptionInfo:
    return typer.Option(None, "--db", metavar="PATH", help=DB_HELP,
                        envvar="SPEC_KITTY_SERVER_DB", show_envvar=False)


def _database(db: str | None, create: bool = False):
    from spec_kitty_server.settings import resolve_db_path
    from spec_kitty_server.store import open_database

    path = resolve_db_path(db)
    if not create and not path.is_file():
        raise CliError(f"no database at {path}; give --db the server's database file")
    return open_database(path)


def _read_password(password_stdin: bool, confirm: bool = True) -> str:
    if password_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
    elif sys.stdin.isatty():
        password = typer.prompt("Password", hide_input=True, confirmation_prompt=confirm)
    else:
        raise CliError("no terminal to prompt for a password; pass --password-stdin")
    if len(password) < 8:
        raise CliError("the password must be at least 8 characters")
    if len(password) > 1024:
        raise CliError("the password must be at most 1024 characters")
    return password


def _version(value: bool) -> None:
    if value:
        typer.echo(f"spec-kitty-server {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: bool = typer.Option(False, "--version", "-V", callback=_version, is_eager=True,
                                 help="Show the version and exit."),
) -> None:
    """The spec-kitty reference sync server.

    Example: `spec-kitty-server serve --port 8000`
    """


@app.command()
def serve(
    host: str = typer.Option("127.0.0.1", metavar="HOST", help="Address to listen on."),
    port: int = typer.Option(8000, min=0, max=65535,
                             help="Port to listen on; `0` picks a free one."),
    db: str | None = _db_option(),
    certfile: str | None = typer.Option(None, metavar="FILE",
                                           help="TLS certificate (PEM); serves HTTPS."),
    keyfile: str | None = typer.Option(None, metavar="FILE",
                                          help="TLS private key (PEM) for `--certfile`."),
    access_lifetime: int = typer.Option(DEFAULT_ACCESS_LIFETIME, min=1,
                                        help="Seconds an access token is valid."),
    refresh_lifetime: int = typer.Option(DEFAULT_REFRESH_LIFETIME, min=1,
                                         help="Seconds a refresh token is valid."),
    ws_ping_interval: float = typer.Option(DEFAULT_WS_PING_INTERVAL, min=0.05,
                                           help="Seconds between WebSocket pings."),
    header_timeout: float = typer.Option(
        DEFAULT_HEADER_TIMEOUT, min=0.1,
        help="Seconds a client has to send a request's headers; then 408 and closed."),
    body_timeout: float = typer.Option(
        DEFAULT_BODY_TIMEOUT, min=0.1,
        help="Seconds a client has to send a request's body; then 408 and closed."),
    write_timeout: float = typer.Option(
        DEFAULT_WRITE_TIMEOUT, min=0.1,
        help="Seconds a write waits for a locked database; then 503 with Retry-After."),
) -> None:
    """Run the server until Ctrl-C (SIGINT) or SIGTERM.

    It prints `Serving on http://HOST:PORT` once it listens. The database and the
    signing-key file beside it (`DB.key`, mode 0600) are created on first start unless
    `SPEC_KITTY_SERVER_SECRET` holds the key.

    Example: `spec-kitty-server serve --port 8000 --db team.sqlite3`
    """
    from spec_kitty_server import _runner
    from spec_kitty_server.settings import ServerSettings, load_secret, resolve_db_path

    if (certfile is None) != (keyfile is None):
        raise CliError("--certfile and --keyfile go together")
    path = resolve_db_path(db)
    settings = ServerSettings(db_path=path, secret=load_secret(path),
                              access_lifetime=access_lifetime,
                              refresh_lifetime=refresh_lifetime,
                              ws_ping_interval=ws_ping_interval, tls=certfile is not None,
                              header_timeout=header_timeout, body_timeout=body_timeout,
                              write_timeout=write_timeout)
    _runner.serve(settings, host, port, certfile, keyfile)


@user_app.command("add")
def user_add(
    name: str = typer.Argument(..., metavar="NAME", help="Login name (letters, digits, `._@+-`)."),
    team: str = typer.Option(..., "--team", metavar="SLUG", help="Team slug; created if new."),
    password_stdin: bool = typer.Option(False, "--password-stdin",
                                        help="Read the password from the first line of stdin."),
    db: str | None = _db_option(),
) -> None:
    """Add a user to a team, asking for the password at a hidden prompt.

    Example: `spec-kitty-server user add alice --team acme`
    """
    import re

    from spec_kitty_server.passwords import hash_password

    if not re.fullmatch(r"[A-Za-z0-9._@+-]{1,150}", name):
        raise CliError("the user name may hold only letters, digits and ._@+- (1-150 chars)")
    if not re.fullmatch(r"[a-z0-9][a-z0-9-]{0,62}", team):
        raise CliError("the team slug must be lowercase letters, digits and dashes")
    password = _read_password(password_stdin)
    from spec_kitty_server.accounts import add_user

    add_user(_database(db, create=True), name, team, hash_password(password))
    typer.echo(f"Added user {name} to team {team}.")


@user_app.command("list")
def user_list(db: str | None = _db_option()) -> None:
    """List users with their team and state.

    Example: `spec-kitty-server user list`
    """
    from spec_kitty_server.accounts import list_users

    users = list_users(_database(db))
    if not users:
        typer.echo("No users.")
        return
    typer.echo(f"{'USER':<24} {'TEAM':<20} {'STATE':<9} CREATED")
    for user in users:
        state = "disabled" if user.disabled else "active"
        typer.echo(f"{user.username:<24} {user.team_slug:<20} {state:<9} {user.created_at}")


def _set_disabled(name: str, db: str | None, disabled: bool) -> None:
    from spec_kitty_server.accounts import set_disabled

    if not set_disabled(_database(db), name, disabled):
        raise CliError(f"no user named {name!r}")
    typer.echo(f"User {name} {'disabled' if disabled else 'enabled'}.")


@user_app.command("disable")
def user_disable(name: str = typer.Argument(..., metavar="NAME", help="Login name."),
                 db: str | None = _db_option()) -> None:
    """Disable a user: its tokens and sessions stop working at once.

    Example: `spec-kitty-server user disable alice`
    """
    _set_disabled(name, db, True)


@user_app.command("enable")
def user_enable(name: str = typer.Argument(..., metavar="NAME", help="Login name."),
                db: str | None = _db_option()) -> None:
    """Enable a disabled user again.

    Example: `spec-kitty-server user enable alice`
    """
    _set_disabled(name, db, False)


@team_app.command("list")
def team_list(db: str | None = _db_option()) -> None:
    """List teams with their user and event counts.

    Example: `spec-kitty-server team list`
    """
    from spec_kitty_server.accounts import list_teams

    teams = list_teams(_database(db))
    if not teams:
        typer.echo("No teams.")
        return
    typer.echo(f"{'TEAM':<20} {'USERS':>5} {'EVENTS':>8}")
    for slug, users, events in teams:
        typer.echo(f"{slug:<20} {users:>5} {events:>8}")


@app.command()
def demo(
    db: str | None = _db_option(),
    password_stdin: bool = typer.Option(
        False, "--password-stdin",
        help="Read the demo user's password from stdin instead of using the documented one."),
) -> None:
    """Fill a database with the `demo` team: 2 projects, features, work packages and events.

    The user `demo` gets the documented demo password `demo-password-not-secret` unless
    `--password-stdin` gives another. Running it again changes nothing.

    Example: `spec-kitty-server demo --db demo.sqlite3`
    """
    from spec_kitty_server import demo as demo_data
    from spec_kitty_server.accounts import add_user, get_user
    from spec_kitty_server.passwords import hash_password
    from spec_kitty_server.settings import resolve_db_path

    conn = _database(db, create=True)
    existing = get_user(conn, "demo")
    password = None
    if existing is None:
        password = _read_password(True) if password_stdin else DEMO_PASSWORD
        add_user(conn, "demo", demo_data.TEAM, hash_password(password))
    elif existing.team_slug != demo_data.TEAM:
        raise CliError(f"user 'demo' exists in team {existing.team_slug!r}; use another --db")
    added, total = demo_data.fill(conn)
    if added == 0:
        typer.echo(f"The demo team is already filled ({total} events); nothing to do.")
    else:
        typer.echo(f"Added {added} demo events to team {demo_data.TEAM} in {resolve_db_path(db)}.")
    if existing is None and not password_stdin:
        typer.echo(f"Log in as demo / {DEMO_PASSWORD} (a public demo credential).")
    elif existing is None:
        typer.echo("Log in as demo with the password you gave.")


command = typer.main.get_command(app)
"""The click command tree, for the generated reference."""


def _plain_help(cmd) -> None:
    # Sub-apps keep their own markup mode; force plain help on the whole tree in one place.
    cmd.rich_markup_mode = None
    for sub in getattr(cmd, "commands", {}).values():
        _plain_help(sub)


_plain_help(command)


def main() -> None:
    """Run the command; user mistakes become one `error:` line and exit code 1."""
    from spec_kitty_server.settings import SettingsError
    from spec_kitty_server.store import StorageError

    try:
        command.main(prog_name="spec-kitty-server")
    except (CliError, SettingsError, StorageError) as exc:
        typer.echo(f"error: {' '.join(str(exc).split())}", err=True)
        sys.exit(EXIT_ERROR)
    except KeyboardInterrupt:
        sys.exit(EXIT_INTERRUPTED)


if __name__ == "__main__":  # pragma: no cover
    main()
