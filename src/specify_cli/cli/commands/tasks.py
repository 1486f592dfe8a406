"""`spec-kitty tasks`: work-package commands that emit sync events."""

from __future__ import annotations

import typer

app = typer.Typer(help="Work on a feature's work packages; each action emits a sync event.",
                  no_args_is_help=True)
