"""`spec-kitty auth`: log in to the sync server, log out, and show the session."""

from __future__ import annotations

import json
import sys
import time
from typing import TYPE_CHECKING

import typer

from specify_cli._text import duration, plural
from specify_cli.cli._output import info, warn
from specify_cli.docs_links import see
from specify_cli.errors import AuthError, SpecKittyError, UsageError

if TYPE_CHECKING:
    from specify_cli.account.credentials import Credentials, SessionCheck

app = typer.Typer(help="Log in to the sync server, log out, and show the session.",
                  no_args_is_help=True)


def _server_url() -> str:
    from specify_cli import config

    url = config.server_url()
    if url is None:
        raise UsageError("no server configured; run `spec-kitty sync server URL` first")
    return url


def _read_password(password: str | None, password_stdin: bool) -> str:
    if password_stdin:
        line = sys.stdin.readline()
        if not line.strip():
            raise UsageError("--password-stdin was given but standard input is empty")
        return line.rstrip("\r\n")
    if password is not None:
        warn("a password given with --password lands in your shell history; "
             "prefer --password-stdin")
        if not password:
            raise UsageError("the password is empty")
        return password
    if not sys.stdin.isatty():
        raise UsageError("no password given and no terminal to ask on; use --password-stdin")
    return typer.prompt("Password", hide_input=True)


@app.command("login")
def login(
    username: str = typer.Option(None, "--username", "-u", metavar="NAME",
                                 help="Your user name on the server; prompted for when omitted."),
    password: str = typer.Option(None, "--password", "-p", metavar="PASSWORD",
                                 help="Your password. It lands in shell history: prefer "
                                 "`--password-stdin` or the prompt."),
    password_stdin: bool = typer.Option(False, "--password-stdin",
                                        help="Read the password from the first line of "
                                        "standard input."),
    force: bool = typer.Option(False, "--force", "-f", help="Log in again even when already "
                               "logged in, and switch accounts even while the previous account "
                               "still has unsynced events (they stay queued for it)."),
    adopt: bool = typer.Option(None, "--adopt/--no-adopt", help="Adopt the events recorded "
                               "while logged out into this account and push them (asked on a "
                               "terminal; left in the local queue without a terminal)."),
) -> None:
    """Log in to the sync server and store the session for later commands.

    The password is prompted for (hidden) unless `--password-stdin` or `--password` gives
    it. The tokens are stored in the credentials file, readable only by you.

    Example: `spec-kitty auth login -u alice --password-stdin < password.txt`
    """
    from specify_cli.account import credentials

    if password is not None and password_stdin:
        raise UsageError("give the password with --password or --password-stdin, not both")
    server_url = _server_url()
    previous = credentials.load_credentials()
    # Credentials given on the command line are always checked: "Already logged in" after
    # a wrong password would look like a successful login.
    named = username is not None or password is not None or password_stdin
    if (previous and previous.refresh_valid() and previous.server_url == server_url
            and not force and not named):
        info(f"Already logged in as {previous.username} on {server_url} "
             f"(team {previous.team_slug}). Give --username to log in again or as someone "
             "else.")
        if adopt:
            _after_login(previous, adopt)
        return
    if username is None:
        if not sys.stdin.isatty() or password_stdin:
            raise UsageError("no username given; use --username NAME")
        username = typer.prompt("Username")
    username = username.strip()
    if not username:
        raise UsageError("the username is empty")
    secret = _read_password(password, password_stdin)
    creds = credentials.request_tokens(server_url, username, secret)
    if previous and previous.scope != creds.scope:
        from specify_cli.account.scope import pending_events

        pending = pending_events(previous)
        if pending and not force:
            raise AuthError(
                f"{previous.username} still has {plural(pending, 'unsynced event')} on "
                f"{previous.server_url}; run `spec-kitty sync now` as {previous.username} "
                "first, or use --force (the events stay queued for that account)"
                + see("unsynced-events"))
        if pending:
            verb = "stays" if pending == 1 else "stay"
            warn(f"{plural(pending, 'unsynced event')} of {previous.username} {verb} queued "
                 f"until you log in as {previous.username} again")
    credentials.save_credentials(creds)
    info(f"Logged in as {creds.username} on {server_url} (team {creds.team_slug}).")
    _after_login(creds, adopt)


def _after_login(creds, adopt: bool | None) -> None:
    """Recover the clock from the server, then offer to adopt and push logged-out work."""
    from specify_cli.account import adopt as adoption
    from specify_cli.account.scope import open_queue
    from specify_cli.project.identity import machine_node_id
    from specify_cli.sync import summary, sync_lock, sync_once

    queue = open_queue(creds)
    node = machine_node_id()
    try:
        adoption.recover_clock(queue, creds, node)
    except SpecKittyError as exc:
        warn(f"could not read this machine's clock from the server ({exc}); it is read "
             "again at the next `spec-kitty sync now`")
    waiting = adoption.local_pending()
    if not waiting:
        return
    if adopt is None:
        if not sys.stdin.isatty():
            info(f"{plural(waiting, 'event')} recorded while logged out wait in the local "
                 "queue; run `spec-kitty auth login --adopt` to push them as this account.")
            return
        adopt = typer.confirm(f"{plural(waiting, 'event')} recorded while logged out. Adopt them "
                              f"into {creds.username} (team {creds.team_slug}) and push them?",
                              default=True)
    if not adopt:
        info(f"{plural(waiting, 'event')} recorded while logged out stay in the local queue.")
        return
    count = adoption.adopt_local(queue, creds.team_slug)
    info(f"Adopted {plural(count, 'event')} recorded while logged out into {creds.username} "
         f"(team {creds.team_slug}); pushing them.")
    with sync_lock(queue.path, 30.0) as held:
        if not held:
            info("Another sync is running; it pushes them.")
            return
        report = sync_once(queue, creds.server_url, node_id=node)
    info(f"Sync {summary(report)}.")


@app.command("logout")
def logout() -> None:
    """Log out: delete the stored session.

    Events still queued for the account stay on disk and are pushed after the next
    login as the same user.

    Example: `spec-kitty auth logout`
    """
    from specify_cli.account import credentials

    creds = credentials.clear_credentials()
    if creds is None:
        info("Not logged in.")
        return
    info(f"Logged out {creds.username} from {creds.server_url}.")
    from specify_cli.account.scope import pending_events

    pending = pending_events(creds)
    if pending:
        verb = "remains" if pending == 1 else "remain"
        info(f"{plural(pending, 'queued event')} {verb} unsynced until you log in as "
             f"{creds.username} again.")
    else:
        info("No queued events remain unsynced.")


def access_text(creds: Credentials, check: SessionCheck, now: float) -> str:
    """Describe the access token, as `auth status` and `sync status` both show it.

    Args:
        creds: The stored session.
        check: What `credentials.check_session` said of it.
        now: The time the check was made at.
    """
    if check.access_ok:
        return f"valid, {duration(creds.access_expires_at - now)} left"
    return "expired, will refresh on next use" if check.usable else "expired, log in again"


def _token_state(valid: bool, expires_at: float, now: float, text: str) -> dict:
    return {
        "state": "valid" if valid else "expired",
        "expires_at": expires_at,
        "seconds_left": max(0, int(expires_at - now)),
        "text": text,
    }


@app.command("status")
def status(
    as_json: bool = typer.Option(False, "--json", help="Print a machine-readable JSON object."),
) -> None:
    """Show who is logged in, on which server, and how long the tokens last.

    Exits 0 when the stored session is usable (a valid access token, or a refresh token
    that can renew it) and 1 when you need to log in. It does not contact the server; use
    `spec-kitty sync status --check` for that.

    Example: `spec-kitty auth status --json`
    """
    from specify_cli.account import credentials

    now = time.time()
    creds = credentials.load_credentials()
    path = str(credentials.credentials_path())
    if creds is None:
        if as_json:
            info(json.dumps({"logged_in": False, "usable": False, "credentials_file": path}))
        else:
            info("Not logged in. Run: spec-kitty auth login")
        raise typer.Exit(SpecKittyError.exit_code)
    check = credentials.check_session(creds, now)
    configured, elsewhere = check.configured_server, check.elsewhere
    refresh_ok, access_ok = check.usable, check.access_ok
    access = _token_state(access_ok, creds.access_expires_at, now,
                          access_text(creds, check, now))
    refresh = _token_state(refresh_ok, creds.refresh_expires_at, now,
                           f"valid, {duration(creds.refresh_expires_at - now)} left"
                           if refresh_ok else "expired, log in again")
    if as_json:
        info(json.dumps({
            "logged_in": True, "usable": refresh_ok, "username": creds.username,
            "server_url": creds.server_url, "team_slug": creds.team_slug,
            "credentials_file": path, "configured_server_url": configured,
            "access": {k: v for k, v in access.items() if k != "text"},
            "refresh": {k: v for k, v in refresh.items() if k != "text"},
        }, sort_keys=True))
    else:
        if elsewhere:
            headline = (f"Logged in as {creds.username} on {creds.server_url}, but the server "
                        f"is now {configured}. Run: spec-kitty auth login")
        elif access_ok:
            headline = f"Logged in as {creds.username}."
        elif refresh_ok:
            headline = f"Logged in as {creds.username}; the access token will be renewed."
        else:
            headline = f"Session of {creds.username} expired. Run: spec-kitty auth login"
        info(headline)
        info(f"  Username:       {creds.username}")
        info(f"  Server:         {creds.server_url}")
        info(f"  Team:           {creds.team_slug}")
        info(f"  Access token:   {access['text']}")
        info(f"  Refresh token:  {refresh['text']}")
    if not refresh_ok:
        raise typer.Exit(SpecKittyError.exit_code)
