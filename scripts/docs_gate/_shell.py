"""Split shell command lines into simple commands (the parts between `|`, `&&`, `;`, `||`)."""

from __future__ import annotations

import re
import shlex

_ASSIGN = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*=")
OPERATORS = {"|", "||", "&&", ";", "&", "|&"}


def split_commands(line: str) -> list[list[str]]:
    """Return the simple commands of `line` as word lists (env assignments dropped)."""
    lexer = shlex.shlex(line, posix=True, punctuation_chars="|&;<>")
    lexer.whitespace_split = True
    lexer.commenters = "#"
    try:
        tokens = list(lexer)
    except ValueError:
        return []
    commands: list[list[str]] = [[]]
    skip_next = False
    for index, token in enumerate(tokens):
        if skip_next:
            skip_next = False
            continue
        if token in OPERATORS:
            commands.append([])
        elif set(token) <= set("<>&") and token:
            # A redirection (`<`, `>`, `>>`, `2>&1` arrives as `2`, `>&`, `1`): drop its target.
            if commands[-1] and commands[-1][-1].isdigit() and index > 0 and tokens[index - 1] \
                    == commands[-1][-1]:
                commands[-1].pop()
            skip_next = True
        else:
            commands[-1].append(token)
    result = []
    for words in commands:
        while words and _ASSIGN.match(words[0]):
            words = words[1:]
        if words:
            result.append(words)
    return result


def join_continuations(lines: list[str], start: int) -> list[tuple[int, str]]:
    """Join lines ending in a backslash; returns `(line number, logical line)` pairs."""
    out: list[tuple[int, str]] = []
    buffer, first = "", start
    for offset, line in enumerate(lines):
        if not buffer:
            first = start + offset
        if line.rstrip().endswith("\\"):
            buffer += line.rstrip()[:-1] + " "
            continue
        out.append((first, buffer + line))
        buffer = ""
    if buffer:
        out.append((first, buffer))
    return out
