"""Check 4: every `spec-kitty ...` the docs or the CLI tell a reader to run must parse.

Sources: every command line in a console/bash/shell/text code block of the docs, inline code
that starts with the program name, commands quoted in example output, and every command the
CLI source (string literals under src/specify_cli) tells users to run. Each is parsed against
the live click tree (see `_cli.CommandChecker`). `spec-kitty-server ...` lines are parsed
against the reference server's CLI the same way.
"""

from __future__ import annotations

import ast
import shlex

from scripts.docs_gate._cli import PROG, CommandChecker, Mention, load_command, mentions_in_text
from scripts.docs_gate._common import SRC_DIR, Options, Problem, Result, rel
from scripts.docs_gate._markdown import iter_pages
from scripts.docs_gate._shell import join_continuations, split_commands

SERVER_PROG = "spec-kitty-server"
SHELL_LANGS = {"console", "bash", "shell", "sh", "zsh", "shell-session", "text", "", "txt"}


def _from_block_line(text: str, is_console: bool, lang: str,
                     progs: tuple[str, ...]) -> tuple[list[str], bool]:
    """Command lines of one logical line, and whether the line is a command (not output)."""
    stripped = text.strip()
    if is_console:
        if not stripped.startswith("$ "):
            return [], False
        stripped = stripped[2:]
    elif stripped.startswith("$ "):
        stripped = stripped[2:]
    elif lang in ("text", "txt", "") and not stripped.startswith(tuple(p + " " for p in progs)):
        return [], False
    return [shlex.join(w) for w in split_commands(stripped) if w[0] in progs], True


def docs_mentions(known: dict[str, set[str]]) -> list[Mention]:
    """Every command line mentioning a program of `known` in the docs, with file:line."""
    progs = tuple(known)
    found: list[Mention] = []
    for page in iter_pages():
        where = rel(page.path)
        for block in page.blocks:
            if block.lang not in SHELL_LANGS:
                continue
            is_console = block.lang in ("console", "shell-session")
            for number, line in join_continuations(block.lines, block.start):
                commands, is_command = _from_block_line(line, is_console, block.lang, progs)
                found.extend(Mention(f"{where}:{number}", c) for c in commands)
                if not is_command:
                    for prog, paths in known.items():
                        found.extend(Mention(f"{where}:{number}", c)
                                     for c in mentions_in_text(line, paths, prog))
        for number, code in page.inline:
            if any(code == p or code.startswith(p + " ") for p in progs):
                found.append(Mention(f"{where}:{number}", code))
    return found


def _literal_strings(tree: ast.AST) -> list[tuple[int, str]]:
    out: list[tuple[int, str]] = []
    fstring_parts: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.JoinedStr):
            text = "".join(v.value if isinstance(v, ast.Constant) and isinstance(v.value, str)
                           else "VALUE" for v in node.values)
            out.append((node.lineno, text))
            fstring_parts.update(id(v) for v in node.values)
    for node in ast.walk(tree):
        if isinstance(node, ast.Constant) and isinstance(node.value, str) \
                and id(node) not in fstring_parts:
            out.append((node.lineno, node.value))
    return out


def source_mentions(package: str, prog: str, known: set[str]) -> list[Mention]:
    """Every command a package's source tells users to run, with file:line."""
    found: list[Mention] = []
    for path in sorted((SRC_DIR / package).rglob("*.py")):
        try:
            tree = ast.parse(path.read_text(encoding="utf-8"))
        except SyntaxError as exc:
            found.append(Mention(f"{rel(path)}:{exc.lineno}", f"<syntax error: {exc.msg}>"))
            continue
        for lineno, text in _literal_strings(tree):
            if prog not in text:
                continue
            for command in mentions_in_text(text, known, prog):
                words = command.split()
                if words[1:2] == ["VALUE"]:
                    continue
                line = lineno + text[:text.find(words[1]) if len(words) > 1 else 0].count("\n")
                found.append(Mention(f"{rel(path)}:{line}", command))
    return found


def run(options: Options) -> Result:
    """Parse every mention and report the ones that do not match the CLI."""
    result = Result("mentions", unit="command lines")
    checkers = {PROG: CommandChecker(load_command(), PROG)}
    try:
        checkers[SERVER_PROG] = CommandChecker(load_command("spec_kitty_server.cli"), SERVER_PROG)
    except (ImportError, AttributeError) as exc:
        result.notes.append(f"{SERVER_PROG} lines not parsed: its CLI does not import ({exc})")
    known = {prog: {p for p in checker.paths if p} for prog, checker in checkers.items()}
    mentions = docs_mentions(known) + source_mentions("specify_cli", PROG, known[PROG])
    if SERVER_PROG in known:
        mentions += source_mentions("spec_kitty_server", SERVER_PROG, known[SERVER_PROG])
    seen: set[tuple[str, str]] = set()
    for mention in mentions:
        key = (mention.where, mention.text)
        if key in seen:
            continue
        seen.add(key)
        if mention.text.startswith("<syntax error"):
            result.problems.append(Problem(mention.where, mention.text))
            continue
        prog = SERVER_PROG if mention.text.startswith(SERVER_PROG) else PROG
        reason = checkers[prog].check(mention.text)
        if reason:
            fix = "fix the command in the docs" if mention.where.startswith("docs/") \
                else "fix the message (or add the command)"
            result.problems.append(Problem(mention.where, f"`{mention.text}` does not parse: "
                                           f"{reason}; {fix}"))
    result.count = len(seen)
    return result
