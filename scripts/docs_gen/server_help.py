"""The server command reference: every command's `--help`, exactly as a terminal shows it.

Each command's help is produced by running the real command tree with `--help` at
`WIDTH` columns (the width click wraps help to at most), so the page and the terminal cannot
differ; `tests/server/test_cli_reference.py` runs the installed `spec-kitty-server` and
compares.
"""

from __future__ import annotations

import importlib

PROG = "spec-kitty-server"
WIDTH = 80
"""Terminal width the help is rendered at (click never wraps wider than 80)."""


def command_paths() -> list[tuple[str, ...]]:
    """Every command and group, root first, in the order `--help` lists them.

    Returns:
        The argument paths, e.g. `()`, `("serve",)`, `("user", "add")`.
    """
    root = importlib.import_module("spec_kitty_server.cli").command
    paths: list[tuple[str, ...]] = []

    def walk(cmd, path: tuple[str, ...]) -> None:
        paths.append(path)
        for name, sub in getattr(cmd, "commands", {}).items():
            walk(sub, (*path, name))

    walk(root, ())
    return paths


def help_text(path: tuple[str, ...]) -> str:
    """What `spec-kitty-server PATH --help` prints at `WIDTH` columns.

    Args:
        path: The command path.

    Returns:
        The help text.
    """
    import contextlib
    import io
    import os

    cli = importlib.import_module("spec_kitty_server.cli")
    out = io.StringIO()
    saved = {name: os.environ.get(name) for name in ("COLUMNS", "NO_COLOR")}
    os.environ.update(COLUMNS=str(WIDTH), NO_COLOR="1")
    try:
        with contextlib.redirect_stdout(out):
            cli.command.main(args=[*path, "--help"], prog_name=PROG, standalone_mode=False)
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
    return out.getvalue()


def anchor(path: tuple[str, ...]) -> str:
    """The heading id of a command (`spec-kitty-server-user-add`).

    Args:
        path: The command path.

    Returns:
        The id.
    """
    return "-".join((PROG, *path))


def render() -> str:
    """One section per command: its name as a heading and its `--help` in a code block.

    Returns:
        The Markdown.
    """
    out = []
    for path in command_paths():
        level = "#" * min(2 + max(len(path) - 1, 0), 4)
        title = " ".join((PROG, *path))
        out += [f"{level} `{title}` {{ #{anchor(path)} }}", "", "```text",
                help_text(path).rstrip("\n"), "```", ""]
    return "\n".join(out)
