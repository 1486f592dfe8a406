"""`spec-kitty sync`: the server URL, queue status, pushing and pulling, and workspace rebases."""

from __future__ import annotations

import typer

from specify_cli.cli._output import info

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
