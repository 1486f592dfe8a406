"""`spec-kitty auth`: log in to the sync server, log out, and show the session."""

from __future__ import annotations

import typer

app = typer.Typer(help="Log in to the sync server, log out, and show the session.",
                  no_args_is_help=True)
