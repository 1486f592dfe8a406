"""`spec-kitty docs`: print (or open) the documentation URL for a topic."""

from __future__ import annotations

import typer


def docs_command(
    topic: str = typer.Argument(None, help="A topic such as `login`; omit for the home page."),
) -> None:
    """Print the URL of the documentation for a topic.

    Example: `spec-kitty docs login`
    """
    typer.echo("https://spec-kitty-sync.netlify.app/")
