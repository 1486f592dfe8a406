"""The live click tree of `spec-kitty` and a strict parser for command lines that mention it.

A mention such as `spec-kitty auth login -u alice --password-stdin` must parse: the command
path exists, every option exists, and the values have the right count and type. Capitalised
placeholders (`URL`, `NAME`, `<team>`) stand for any valid value. Parsing uses
`make_context` with `resilient_parsing` off on a deep copy of the tree in which prompts are
switched off, so nothing prompts, prints or runs.
"""

from __future__ import annotations

import contextlib
import copy
import importlib
import io
import re
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

PROG = "spec-kitty"
PLACEHOLDER = re.compile(r"^(<[^<>]+>|\[[A-Z][A-Z0-9_-]*\]|[A-Z][A-Z0-9_]*(?:[-.][A-Z0-9_]+)*|"
                         r"\{[^{}]*\}|\.\.\.|…)$")
HELP_FLAGS = {"--help", "-h"}


def load_command(module: str = "specify_cli.cli.app") -> Any:
    """Import the CLI module (from the checked tree) and return its click command."""
    return importlib.import_module(module).command


def is_group(cmd: Any) -> bool:
    """True for a command with subcommands."""
    return hasattr(cmd, "commands") and isinstance(getattr(cmd, "commands", None), dict)


def walk(cmd: Any, path: tuple[str, ...] = (PROG,)) -> Iterator[tuple[tuple[str, ...], Any]]:
    """Yield `(path, command)` for the root and every subcommand, depth first, sorted."""
    yield path, cmd
    if is_group(cmd):
        for name in sorted(cmd.commands):
            sub = cmd.commands[name]
            if getattr(sub, "hidden", False):
                continue
            yield from walk(sub, (*path, name))


def is_option(param: Any) -> bool:
    """True for an option (has `--names`), False for an argument."""
    return getattr(param, "param_type_name", "") == "option"


def _quiet_tree(cmd: Any) -> Any:
    tree = copy.deepcopy(cmd)
    for _, sub in walk(tree):
        for param in getattr(sub, "params", []):
            if getattr(param, "prompt", None):
                param.prompt = None
                param.required = False
        if is_group(sub):
            sub.no_args_is_help = False
    return tree


def _dummy(param: Any) -> str | None:
    """A value of the right type for `param`, used in place of a placeholder."""
    kind = getattr(param.type, "name", "")
    choices = getattr(param.type, "choices", None)
    if choices:
        first = list(choices)[0]
        return str(getattr(first, "value", first))
    if "integer" in kind:
        low = getattr(param.type, "min", None)
        return str(low if low is not None else 1)
    if "float" in kind:
        low = getattr(param.type, "min", None)
        return str(low if low is not None else 1.0)
    if kind == "boolean":
        return "true"
    if kind == "uuid":
        return str(uuid.UUID(int=1))
    if kind == "datetime":
        return "2026-01-01"
    if kind in ("path", "file", "filename"):
        return "."
    return None


@dataclass
class Mention:
    """A command line that mentions `spec-kitty`, and where it was found."""

    where: str
    text: str


class _Parsed(Exception):
    pass


class CommandChecker:
    """Parse mentions against a quiet copy of the live command tree."""

    def __init__(self, command: Any, prog: str = PROG) -> None:
        self.prog = prog
        self.root = _quiet_tree(command)
        self.paths = {" ".join(path[1:]) for path, _ in walk(self.root, (prog,))}

    def check(self, text: str) -> str | None:
        """Return None when `text` parses, else a one-line reason."""
        from scripts.docs_gate._shell import split_commands

        tokens = next((words for words in split_commands(text) if words[0] == self.prog), [])
        if not tokens:
            return f"does not start with {self.prog} (or its quotes do not close)"
        cmd, path, rest = self.root, [self.prog], tokens[1:]
        # Root options (such as --version) may come before the subcommand.
        while True:
            head_opts: list[str] = []
            while rest and rest[0].startswith("-") and rest[0] not in HELP_FLAGS:
                head_opts.append(rest.pop(0))
            if not is_group(cmd) or not rest or rest[0] in HELP_FLAGS:
                rest = head_opts + rest
                break
            name = rest[0]
            if PLACEHOLDER.match(name):
                return None if not head_opts else self._parse(cmd, path, head_opts)
            sub = cmd.commands.get(name)
            if sub is None:
                known = ", ".join(sorted(cmd.commands))
                return f"`{' '.join(path)}` has no command {name!r} (it has: {known})"
            if head_opts:
                problem = self._parse(cmd, path, head_opts, group_only=True)
                if problem:
                    return problem
            cmd, path, rest = sub, [*path, name], rest[1:]
        if any(t in HELP_FLAGS for t in rest):
            rest = [t for t in rest if t not in HELP_FLAGS]
            if not rest:
                return None
        return self._parse(cmd, path, rest)

    def _substitute(self, cmd: Any, tokens: list[str]) -> list[str]:
        """Replace placeholders by valid values of the parameter they stand for."""
        params = list(getattr(cmd, "params", []))
        by_opt: dict[str, Any] = {}
        for param in params:
            if is_option(param):
                for opt in [*param.opts, *getattr(param, "secondary_opts", [])]:
                    by_opt[opt] = param
        arguments = [p for p in params if not is_option(p)]
        out: list[str] = []
        positional: list[int] = []
        i = 0
        while i < len(tokens):
            token = tokens[i]
            if token.startswith("-") and len(token) > 1:
                name, eq, value = token.partition("=")
                param = by_opt.get(name)
                takes_value = param is not None and not getattr(param, "is_flag", False) \
                    and not getattr(param, "count", False)
                if eq and param is not None and PLACEHOLDER.match(value):
                    dummy = _dummy(param)
                    out.append(f"{name}={dummy}" if dummy is not None else token)
                elif takes_value and not eq and i + 1 < len(tokens):
                    out.append(token)
                    nargs = max(1, getattr(param, "nargs", 1))
                    for value in tokens[i + 1:i + 1 + nargs]:
                        dummy = _dummy(param) if PLACEHOLDER.match(value) else None
                        out.append(dummy if dummy is not None else value)
                    i += nargs
                else:
                    out.append(token)
            else:
                positional.append(len(out))
                out.append(token)
            i += 1
        slot = 0
        for argument in arguments:
            nargs = getattr(argument, "nargs", 1)
            take = len(positional) - slot if nargs == -1 else nargs
            for index in positional[slot:slot + take]:
                if PLACEHOLDER.match(out[index]):
                    dummy = _dummy(argument)
                    if dummy is not None:
                        out[index] = dummy
            slot += take
        return out

    def _parse(self, cmd: Any, path: list[str], tokens: list[str], group_only: bool = False) -> \
            str | None:
        args = self._substitute(cmd, tokens)
        sink = io.StringIO()
        try:
            with contextlib.redirect_stdout(sink), contextlib.redirect_stderr(sink):
                if group_only:
                    ctx = cmd.make_context(path[-1], args, resilient_parsing=False)
                else:
                    ctx = cmd.make_context(path[-1], args, resilient_parsing=False)
                    if is_group(cmd) and (ctx._protected_args or ctx.args):
                        extra = [*ctx._protected_args, *ctx.args]
                        return f"`{' '.join(path)}` has no command {extra[0]!r}"
        except SystemExit:
            return None
        except Exception as exc:  # click's UsageError family, and typer.Exit from eager options
            name = type(exc).__name__
            if name in ("Exit",):
                return None
            formatter = getattr(exc, "format_message", None)
            message = formatter() if callable(formatter) else str(exc)
            return f"`{' '.join(path)}`: {' '.join(str(message).split())}"
        return None


def _backtick(prog: str) -> re.Pattern[str]:
    return re.compile(rf"`({re.escape(prog)}(?:\s[^`]*)?)`")


def _bare(prog: str) -> re.Pattern[str]:
    return re.compile(rf"(?<![\w/.-]){re.escape(prog)}(?=\s)((?:\s+[^\s`]+)+)")
_VERBS = re.compile(r"(?:run|try|use|with|type|execute|:)\s*$", re.I)


def mentions_in_text(text: str, known: set[str], prog: str = PROG) -> list[str]:
    """Command lines mentioned in prose or a message.

    Backticked ones always count. A bare `spec-kitty WORD ...` counts when WORD is a top-level
    command or the mention follows a verb such as "run"; it extends over subcommand names,
    options, placeholders and values, and stops at the first plain word.

    Args:
        text: The prose or message.
        known: Every command path without the program name, such as `sync server`.
        prog: The program name (`spec-kitty` or `spec-kitty-server`).
    """
    firsts = {path.split()[0] for path in known if path}
    found: list[str] = []
    spans: list[tuple[int, int]] = []
    for match in _backtick(prog).finditer(text):
        found.append(match.group(1).strip())
        spans.append(match.span())
    for match in _bare(prog).finditer(text):
        if any(a <= match.start() < b for a, b in spans):
            continue
        words = match.group(1).split()
        first = words[0].rstrip(".,;:!?)")
        if first not in firsts and not _VERBS.search(text[:match.start()]):
            continue
        taken = [first]
        if first == words[0]:
            for word in words[1:]:
                clean = word.rstrip(".,;:!?)\"'")
                path = " ".join([*taken, clean])
                if path in known or word.startswith("-") or PLACEHOLDER.match(clean) \
                        or re.search(r"[/:=0-9@]", clean):
                    taken.append(clean)
                    if clean != word:
                        break
                else:
                    break
        found.append(prog + " " + " ".join(taken))
    return found
