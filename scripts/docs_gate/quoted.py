"""Check: facts the prose quotes from the code are inserted from it, or checked against it.

Two kinds of drift pass every other check, because nothing runs them:

- **Numbers typed by hand** in prose: an exit status, a limit, an interval or a lifetime
  ("exits 3", "every 300 seconds", "at most 1,000 events"). Such a number must be written
  as `{{ fact:NAME }}` (scripts/docs_gen/facts.py), so it comes from the code. Numbers in
  code blocks and inline code are not prose: executed examples check the former.
- **CLI messages quoted** in headings (`### error: invalid username or password`) or in
  inline code (`` `error: cannot reach the server at URL` ``) must be a message the code can
  print: each is matched against the string literals of `src/specify_cli` (f-string fields
  and concatenated non-literals match any text, words in capitals in the docs stand for
  them, and a quote may stop before the end of the message). When the matching message
  links to a docs topic (`+ see("topic")`), the heading's `{ #anchor }` must be the anchor
  `specify_cli.docs_links.TOPICS[topic]` points to.
"""

from __future__ import annotations

import ast
import importlib
import re
from dataclasses import dataclass, field
from pathlib import Path

from scripts.docs_gate._common import DOCS_DIR, SRC_DIR, Options, Problem, Result, rel

_NUM = r"\d[\d,]*(?:\.\d+)?"
NUMBER_PATTERNS: tuple[re.Pattern[str], ...] = tuple(re.compile(p, re.I) for p in (
    r"\bexit(?:s|ing)?(?: with)?(?: (?:status|code)(?:es)?)?(?: is| of)? ([1-9]\d*)\b",
    rf"\b({_NUM})[ -](?:seconds?|minutes?|hours?|days?|ms|milliseconds?)\b",
    rf"\b({_NUM}) ?(?:KiB|MiB|GiB|bytes)\b",
    rf"\b(?:every|at most|up to|within|after) ({_NUM})\b",
    rf"\b({_NUM}) (?:events|batches|attempts|requests|retries|failures|work packages)\b",
))
"""A number that describes behaviour, as prose states it. Exit status 0 is success by
convention, not a fact of this code, and may be written as is."""

_FENCE = re.compile(r"^\s*(`{3,}|~{3,})")
_INLINE = re.compile(r"(`+)(.+?)\1")
_PLACEHOLDER = re.compile(r"\\?\{\{[^}]*\}\}|<!--.*?-->|\]\([^)]*\)|<[^>]+>|\{\s*#[^}]*\}")
_HEADING_MSG = re.compile(r"^#{2,6}\s+(error|warning):\s+(.+?)\s*(?:\{\s*#([\w-]+)[^}]*\})?\s*$")
_INLINE_MSG = re.compile(r"^(error|warning):\s+(.+)$")
_CAPS = re.compile(r"\b[A-Z][A-Z_]+\b")


@dataclass
class Template:
    """A message the code can print: literal parts and `None` for any text."""

    parts: list[str | None]
    where: str
    topics: list[str] = field(default_factory=list)


def _parts(node: ast.AST) -> list[str | None] | None:
    """Literal text and wildcards of a string expression; None when it is not one."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return [node.value]
    if isinstance(node, ast.JoinedStr):
        out: list[str | None] = []
        for value in node.values:
            out.extend([value.value] if isinstance(value, ast.Constant) else [None])
        return out
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Add):
        left, right = _parts(node.left), _parts(node.right)
        if left is None and right is None:
            return None
        return (left or [None]) + (right or [None])
    return None


def _topics(node: ast.AST) -> list[str]:
    found = []
    for sub in ast.walk(node):
        if isinstance(sub, ast.Call) and sub.args and isinstance(sub.args[0], ast.Constant):
            func = sub.func
            name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")
            if name == "see" and isinstance(sub.args[0].value, str):
                found.append(sub.args[0].value)
    return found


def code_messages(src: Path = SRC_DIR / "specify_cli") -> list[Template]:
    """Every string expression of the CLI's source (docstrings excepted)."""
    templates: list[Template] = []
    for path in sorted(src.rglob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        docstrings = {id(n.value) for n in ast.walk(tree) if isinstance(n, ast.Expr)}
        for node in ast.walk(tree):
            if id(node) in docstrings or not isinstance(
                    node, ast.Constant | ast.JoinedStr | ast.BinOp):
                continue
            parts = _parts(node)
            if parts and any(isinstance(p, str) and len(p) > 3 for p in parts):
                templates.append(Template(parts, f"{rel(path)}:{node.lineno}", _topics(node)))
    return templates


def matches(quoted: str, parts: list[str | None]) -> bool:
    """True when `quoted` is the message (or its start) with any text for each wildcard.

    Args:
        quoted: The message as the docs quote it.
        parts: Literal parts and `None` wildcards of a code message.
    """
    merged: list[str | None] = []
    for part in parts:
        if part is None and merged and merged[-1] is None:
            continue
        if isinstance(part, str) and merged and isinstance(merged[-1], str):
            merged[-1] += part
        else:
            merged.append(part)

    def go(text: str, i: int) -> bool:
        if not text:
            return True  # the quote may stop early
        if i == len(merged):
            return False
        part = merged[i]
        if part is None:
            if i == len(merged) - 1:
                return True
            # Not the whole rest: what follows the value must be quoted too.
            return any(go(text[k:], i + 1) for k in range(1, len(text)))
        if text.startswith(part):
            return go(text[len(part):], i + 1)
        return part.startswith(text)

    return bool(merged) and go(quoted, 0)


def _prose_lines(text: str):
    """(line number, prose text) outside fenced blocks, with code and placeholders removed."""
    fence = None
    for number, line in enumerate(text.splitlines(), 1):
        found = _FENCE.match(line)
        if found:
            marker = found.group(1)
            if fence is None:
                fence = marker[0] * 3
            elif marker.startswith(fence):
                fence = None
            continue
        if fence is None:
            yield number, line


def hand_typed_numbers(text: str) -> list[tuple[int, str]]:
    """(line, phrase) for each behaviour number stated by hand in a page's prose."""
    found = []
    for number, line in _prose_lines(text):
        prose = _PLACEHOLDER.sub(" ", _INLINE.sub(" ", line))
        seen: set[int] = set()
        for pattern in NUMBER_PATTERNS:
            for match in pattern.finditer(prose):
                if match.start(1) not in seen:
                    seen.add(match.start(1))
                    found.append((number, match.group(0)))
    return found


def quoted_messages(text: str) -> list[tuple[int, str, str | None]]:
    """(line, message, heading anchor) for each CLI message a page quotes."""
    out: list[tuple[int, str, str | None]] = []
    for number, line in _prose_lines(text):
        heading = _HEADING_MSG.match(line)
        if heading:
            message = re.sub(r"`([^`]*)`", r"`\1`", heading.group(2))
            out.append((number, message, heading.group(3)))
            continue
        for span in _INLINE.finditer(line):
            inline = _INLINE_MSG.match(span.group(2).strip())
            if inline:
                out.append((number, inline.group(2), None))
    return out


def _matching(message: str, templates: list[Template]) -> list[Template]:
    # Words in capitals stand for values: try the literal text first, then as wildcards
    # (each one any text, a value the code fills in included), on a prefix of the message.
    hits = [t for t in templates if matches(message, t.parts)]
    if hits or not _CAPS.search(message):
        return hits
    regex = re.compile("".join(".+?" if i % 2 else re.escape(piece)
                               for i, piece in enumerate(re.split(f"({_CAPS.pattern})",
                                                                  message))), re.S)
    return [t for t in templates
            if regex.match("".join("\0" if p is None else p for p in t.parts))]


def run(options: Options) -> Result:  # noqa: ARG001 - every check takes the options
    """Find hand-typed behaviour numbers and quoted messages the code cannot print."""
    result = Result("quoted", unit="facts and messages")
    templates = code_messages()
    topics: dict[str, str] = importlib.import_module("specify_cli.docs_links").TOPICS
    for path in sorted(DOCS_DIR.rglob("*.md")):
        text = path.read_text(encoding="utf-8")
        where = rel(path)
        for line, phrase in hand_typed_numbers(text):
            result.count += 1
            result.problems.append(Problem(
                f"{where}:{line}", f"a number stated by hand: \"{phrase}\"; insert it from the "
                "code with {{ fact:NAME }} (scripts/docs_gen/facts.py), or reword it"))
        for line, message, anchor in quoted_messages(text):
            result.count += 1
            hits = _matching(message, templates)
            if not hits:
                result.problems.append(Problem(
                    f"{where}:{line}", f"the CLI prints no message like \"{message}\"; quote "
                    "the message as src/specify_cli writes it (capitals stand for values)"))
                continue
            linked = sorted({t for h in hits for t in h.topics})
            if anchor and linked and not any(topics.get(t, "").endswith("#" + anchor)
                                             for t in linked):
                result.problems.append(Problem(
                    f"{where}:{line}", f"the heading's anchor #{anchor} is not where the "
                    f"message links to: topic {', '.join(linked)} in "
                    "src/specify_cli/docs_links.py points to "
                    f"{', '.join(topics.get(t, '?') for t in linked)}"))
    return result
