"""Console output helpers: one style for errors, warnings and success lines.

Messages go through Rich only when stderr/stdout is a terminal and `NO_COLOR` is unset,
so piped output and docs examples are plain text. Every message is passed through
`_text.printable` first: the CLI's own styling is the only escape sequence that reaches a
terminal, whatever a server or a file put into the message.
"""

from __future__ import annotations

import os
import sys

import typer

from specify_cli._text import printable


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
    """Print a line (or lines) on stdout, without control characters."""
    typer.echo(printable(message))


def _one_line(message: str) -> str:
    return " ".join(printable(message).split())
