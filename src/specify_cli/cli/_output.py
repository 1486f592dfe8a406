"""Console output helpers: one style for errors, warnings and success lines.

Messages go through Rich only when stderr/stdout is a terminal and `NO_COLOR` is unset,
so piped output and docs examples are plain text.
"""

from __future__ import annotations

import os
import sys

import typer


def _color(stream) -> bool:
    return not os.environ.get("NO_COLOR") and stream.isatty()


def error(message: str) -> None:
    """Print `error: message` on stderr as one line."""
    prefix = typer.style("error:", fg="red", bold=True) if _color(sys.stderr) else "error:"
    typer.echo(f"{prefix} {_one_line(message)}", err=True)


def warn(message: str) -> None:
    """Print `warning: message` on stderr as one line."""
    prefix = typer.style("warning:", fg="yellow", bold=True) if _color(sys.stderr) else "warning:"
    typer.echo(f"{prefix} {_one_line(message)}", err=True)


def info(message: str) -> None:
    """Print a line on stdout."""
    typer.echo(message)


def _one_line(message: str) -> str:
    return " ".join(message.split())
