"""The root command group, which turns each command into Click only when it is used.

Why: Typer converts a command to Click by inspecting its signature and building every
option, and doing that for the whole tree cost ~15 ms of every command's start-up (about a
tenth of `spec-kitty auth status`), while a command line uses one branch. The conversion is
Typer's own (`get_group_from_info`, `get_command_from_info`, the same calls an eager tree
makes), so a command built here is the one an eager tree holds. Whoever reads `commands` (help
for the whole tree, mkdocs-click, the docs gate) gets every command built.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, MutableMapping

from typer import core
from typer._click import Command, Context


class LazyGroup(core.TyperGroup):
    """A `TyperGroup` whose subcommands are built on first use (`defer`).

    Threads may share it (the docs gate's checks read the tree at once): a subcommand is
    built under a lock, so a reader never sees one that another thread is still building.
    """

    def __init__(self, *args, **kwargs) -> None:
        self._lock = threading.RLock()
        self._pending: dict[str, Callable[[], Command]] = {}
        self._order: list[str] = []
        self._built: dict[str, Command] = {}
        super().__init__(*args, **kwargs)

    def __getstate__(self) -> dict:
        # A copy (the docs gate deep-copies the tree) is of the whole tree, without the lock.
        with self._lock:
            for name in list(self._pending):
                self._build(name)
            state = self.__dict__.copy()
        del state["_lock"]
        return state

    def __setstate__(self, state: dict) -> None:
        self.__dict__.update(state)
        self._lock = threading.RLock()

    @property  # type: ignore[override]
    def commands(self) -> MutableMapping[str, Command]:
        """Every subcommand, built, in registration order."""
        with self._lock:
            for name in list(self._pending):
                self._build(name)
            return {name: self._built[name] for name in self._order}

    @commands.setter
    def commands(self, value: MutableMapping[str, Command]) -> None:
        for name, cmd in value.items():
            self.add_command(cmd, name)

    def add_command(self, cmd: Command, name: str | None = None) -> None:
        """Add a built subcommand (Click's API)."""
        name = name or cmd.name
        if name is None:
            raise TypeError("Command has no name.")
        with self._lock:
            self._pending.pop(name, None)
            if name not in self._built:
                self._order.append(name)
            self._built[name] = cmd

    def defer(self, name: str, build: Callable[[], Command]) -> None:
        """Add a subcommand that `build` makes when it is first asked for.

        Args:
            name: The subcommand's name on the command line.
            build: Returns the subcommand.
        """
        with self._lock:
            if name not in self._built and name not in self._pending:
                self._order.append(name)
            self._built.pop(name, None)
            self._pending[name] = build

    def _build(self, name: str) -> Command | None:
        with self._lock:
            build = self._pending.get(name)
            if build is not None:
                self._built[name] = build()
                del self._pending[name]
            return self._built.get(name)

    def get_command(self, ctx: Context, cmd_name: str) -> Command | None:
        """Return one subcommand, building only it (Click's API)."""
        return self._build(cmd_name)

    def list_commands(self, ctx: Context) -> list[str]:
        """Return the subcommand names in registration order, building none (Click's API)."""
        return list(self._order)
