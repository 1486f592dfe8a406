"""The root group builds each command on first use, and what it builds is Typer's eager tree."""

from __future__ import annotations

import copy
import subprocess
import sys
import threading

import typer

from specify_cli.cli import app as cli_app
from specify_cli.cli._lazy import LazyGroup

_FIELDS = ("name", "help", "short_help", "epilog", "hidden", "deprecated", "no_args_is_help",
           "context_settings", "rich_markup_mode", "options_metavar", "add_help_option",
           "invoke_without_command", "subcommand_metavar", "suggest_commands")
_PARAM_FIELDS = ("name", "opts", "secondary_opts", "default", "required", "help", "hidden",
                 "is_flag", "multiple", "nargs", "metavar", "envvar", "show_default",
                 "is_eager", "expose_value", "count")


def _describe(cmd) -> dict:
    """Everything a user or the docs see of a command, recursively."""
    params = [{f: getattr(p, f, None) for f in _PARAM_FIELDS} | {"type": repr(p.type)
                                                               if not hasattr(p.type, "name")
                                                               else p.type.name}
              for p in cmd.params]
    subs = getattr(cmd, "commands", None) or {}
    return {f: getattr(cmd, f, None) for f in _FIELDS} | {
        "class": type(cmd).__name__ if not isinstance(cmd, LazyGroup) else "TyperGroup",
        "params": params,
        "commands": [(name, _describe(sub)) for name, sub in subs.items()],
    }


def _eager_tree():
    """The tree `typer.main.get_command` builds when the commands sit on the root app."""
    eager = copy.copy(cli_app.app)
    eager.info = copy.copy(cli_app.app.info)
    eager.info.cls = typer.core.TyperGroup
    eager.registered_commands = list(cli_app._commands.registered_commands)
    eager.registered_groups = list(cli_app._commands.registered_groups)
    tree = typer.main.get_command(eager)

    def plain(cmd):
        cmd.rich_markup_mode = None
        for sub in getattr(cmd, "commands", {}).values():
            plain(sub)

    plain(tree)
    return tree


def test_the_lazy_tree_is_the_eager_tree():
    assert _describe(cli_app.command) == _describe(_eager_tree())


def test_listing_builds_nothing_and_keeps_the_order():
    group = cli_app._tree(cli_app.app, cli_app._commands)
    ctx = typer.Context(group, info_name="spec-kitty")
    names = group.list_commands(ctx)
    assert group._built == {}
    assert names == list(group.commands)


def test_a_command_line_builds_only_its_branch():
    # A fresh interpreter: `auth status` must convert the auth group and nothing else.
    code = ("import sys\n"
            "from specify_cli.cli import app\n"
            "sys.argv = ['spec-kitty', 'auth', '--help']\n"
            "try:\n"
            "    app.main()\n"
            "except SystemExit:\n"
            "    pass\n"
            "print(sorted(app.command._built), file=sys.stderr)\n")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=120, check=False)
    assert proc.stderr.strip().splitlines()[-1] == "['auth']", proc.stderr
    assert "status" in proc.stdout


def test_a_reader_waits_for_a_command_another_thread_is_building():
    # The docs gate's checks read one tree from several threads: reading `commands` while
    # another thread builds a subcommand must give the whole tree, not a KeyError.
    group = LazyGroup(name="root")
    building, release = threading.Event(), threading.Event()

    def slow_build():
        building.set()
        assert release.wait(60)
        return typer.core.TyperCommand(name="slow")

    group.defer("slow", slow_build)
    group.defer("quick", lambda: typer.core.TyperCommand(name="quick"))
    ctx = typer.Context(group, info_name="root")
    builder = threading.Thread(target=group.get_command, args=(ctx, "slow"))
    builder.start()
    assert building.wait(60)
    seen: list = []
    reader = threading.Thread(target=lambda: seen.append(sorted(group.commands)))
    reader.start()
    release.set()
    builder.join(60)
    reader.join(60)
    assert seen == [["quick", "slow"]]


def test_a_copy_of_the_tree_is_the_whole_tree():
    # The docs gate deep-copies the tree before it hides options: the copy must hold every
    # command, built, and work on its own.
    fresh = cli_app._tree(cli_app.app, cli_app._commands)
    copied = copy.deepcopy(fresh)
    assert _describe(copied) == _describe(_eager_tree())
    ctx = typer.Context(copied, info_name="spec-kitty")
    assert copied.get_command(ctx, "auth").name == "auth"
