"""`spec-kitty sync`: the server URL, queue status, pushing and pulling, and workspace rebases."""

from __future__ import annotations

import json
from pathlib import Path

import typer

from specify_cli._text import duration, plural
from specify_cli.cli._output import info
from specify_cli.errors import SpecKittyError

app = typer.Typer(help="Sync events with the team server, and rebase local workspaces.",
                  no_args_is_help=True)


@app.command("server")
def server(
    url: str = typer.Argument(None, help="New server URL; omit it to show the current one."),
) -> None:
    """Show or set the sync server URL.

    `https://` is required, except for loopback hosts (`localhost`, 127.0.0.0/8, `[::1]`),
    which may use `http://`. The URL is stored as `server.url` in `config.toml`;
    `SPEC_KITTY_SERVER_URL` overrides it.

    Example: `spec-kitty sync server https://sync.example.com`
    """
    from specify_cli import config

    if url is None:
        current = config.server_url()
        if current is None:
            info("No server configured. Set one with: spec-kitty sync server URL")
            raise typer.Exit(1)
        info(current)
        return
    value = config.validate_server_url(url)
    path = config.set_value("server.url", value)
    info(f"Server set to {value} (saved in {path})")


@app.command("status")
def status(
    check: bool = typer.Option(False, "--check", "-c",
                               help="Also probe the server's health with your real token."),
    as_json: bool = typer.Option(False, "--json", help="Print a machine-readable object."),
) -> None:
    """Show the server, session, offline queue, last sync and background sync state.

    Without `--check` nothing is sent over the network and the exit status is 0.
    With `--check` the server's health endpoint is called with your token and the result
    is exactly one of: Connected (exit 0); Not authenticated, Session expired or
    Forbidden (exit 1); Unreachable or Server error (HTTP n) (exit 3).

    Example: `spec-kitty sync status --check`
    """
    from specify_cli.cli.commands import sync_status

    data = sync_status.collect()
    code = 0
    if check:
        outcome = sync_status.probe(data["server_url"])
        data["check"] = {"result": outcome.result, "detail": outcome.detail}
        code = outcome.exit_code
    if as_json:
        info(json.dumps(data, indent=2, sort_keys=True))
    else:
        for line in _status_lines(data):
            info(line)
    if code:
        raise typer.Exit(code)


def _status_lines(data: dict) -> list[str]:
    auth = data["auth"]
    if auth["state"] == "not logged in":
        who = "not logged in (run `spec-kitty auth login`)"
    else:
        who = (f"{auth['username']} in team {auth['team']} on {auth['server']} "
               f"(access token {auth['access_token']})")
        if auth["state"] == "session expired":
            who = f"session expired for {auth['username']}; log in again"
        elif auth["state"] == "other server":
            who = (f"{auth['username']} is logged in to {auth['server']}, not to this server; "
                   "run `spec-kitty auth login`")
    queue = data["queue"]
    oldest = (f", oldest {duration(queue['oldest_age_seconds'])} old"
              if queue["oldest_age_seconds"] is not None else "")
    buckets = ", ".join(f"{k}: {v}" for k, v in queue["retry_buckets"].items()) or "none"
    cap = f"{queue['pending']:,} of {queue['cap']:,} ({queue['cap_used_percent']}%)"
    if queue["full"]:
        cap += (f"; FULL: new events are refused ({queue['refused']:,} refused since the last "
                "successful push); run `spec-kitty sync now`")
    last = data["last_sync"]
    last_line = "never"
    if last["at"]:
        last_line = f"{duration(last['age_seconds'])} ago: {last['result']}"
    bg = data["background"]
    background = (f"on, every {bg['interval_seconds']} s while a command runs ({bg['source']})"
                  if bg["auto_start"] else f"off ({bg['source']}); run `spec-kitty sync now`")
    ws = data["websocket"]
    ws_line = ws["state"]
    if ws["detail"]:
        ws_line += f" ({ws['detail']})"
    if ws["age_seconds"] is not None:
        ws_line += f", {duration(ws['age_seconds'])} ago"
    if ws["state"] == "batch fallback":
        ws_line += "; events are sent in batches"
    lines = [
        f"Server:       {data['server_url'] or 'not configured (spec-kitty sync server URL)'}",
        f"Config file:  {data['config_file']}",
        f"Auth:         {who}",
        f"Queue:        {plural(queue['pending'], 'event', grouped=True)} waiting{oldest} "
        f"({queue['path']})",
        f"Retries:      {buckets}",
        f"Cap:          {cap}",
        f"Last sync:    {last_line}",
        f"Background:   {background}",
        f"WebSocket:    {ws_line}",
    ]
    for reason, count in queue["errors"].items():
        lines.append(f"  last error of {plural(count, 'event', grouped=True)}: {reason}")
    for other in data["other_queues"]:
        fate = ("events recorded while logged out are never pushed"
                if other["account"] == "logged-out work"
                else "they are pushed after a login as that account")
        lines.append(f"Also queued:  {plural(other['pending'], 'event', grouped=True)} of "
                     f"{other['account']} "
                     f"({other['path']}); {fate}")
    if "check" in data:
        lines.append(f"Check:        {data['check']['result']}: {data['check']['detail']}")
    return lines


@app.command("now")
def now(
    verbose: bool = typer.Option(False, "--verbose", "-v",
                                 help="Also name the server and the queue first, and list "
                                 "each rejected event with its reason."),
    dry_run: bool = typer.Option(False, "--dry-run", "-n",
                                 help="Show what would be pushed; send nothing."),
    report: str = typer.Option(None, "--report", metavar="FILE",
                               help="Write the events that failed, as JSON, to FILE."),
    strict: bool = typer.Option(True, "--strict/--no-strict",
                                help="Exit 1 when the server rejected events."),
) -> None:
    """Push every queued event to the server, then pull the team's new events.

    Pushes in batches of up to 1000 (one line per batch; a progress bar on a terminal when
    there is more than one). Rejected events stay queued with their reason. If another
    sync of the same account is running, this waits for it (up to 2 minutes). Exit status:
    0 on success; 1 when not logged in, when the server failed (the events stay queued), or
    when events were rejected and `--strict` is on (the default).

    Example: `spec-kitty sync now --report failures.json`
    """
    from specify_cli.cli.commands import sync_now

    raise typer.Exit(sync_now.run(verbose=verbose, dry_run=dry_run, report=report,
                                   strict=strict))


@app.command("workspace")
def workspace(
    repair: bool = typer.Option(False, "--repair", "-r",
                                help="Abort a half-done rebase instead of rebasing."),
    verbose: bool = typer.Option(False, "--verbose", "-v",
                                 help="Show the worktree, branch and base."),
) -> None:
    """Rebase the current work-package worktree onto its base branch, using local git only.

    Run it inside a worktree made with `git worktree add`. The base branch is
    `git config branch.BRANCH.spec-kitty-base` if set, else the feature's `target_branch`,
    else the branch of the main checkout. Conflicts are listed and the exit status is 1;
    `--repair` aborts the unfinished rebase. Nothing is sent to the server.

    Example: `spec-kitty sync workspace --verbose`
    """
    from specify_cli.workspace import sync_workspace

    result = sync_workspace(Path.cwd(), repair=repair)
    if verbose:
        for line in result.details:
            info(line)
    info(result.message)
    if result.conflicts:
        info("Conflicts:")
    for name in result.conflicts:
        info(f"  {name}")
    if not result.ok:
        raise typer.Exit(SpecKittyError.exit_code)
