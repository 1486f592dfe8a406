"""Find fenced code blocks, inline code and `docs-gate` directives in the Markdown sources."""

from __future__ import annotations

import re
import shlex
from dataclasses import dataclass, field
from pathlib import Path

from scripts.docs_gate._common import DOCS_DIR

_FENCE = re.compile(
    r"^(?P<indent>[ \t]*)(?P<fence>`{3,}|~{3,})\s*\{?\s*\.?(?P<lang>[\w+-]*)(?P<rest>.*)$")
_DIRECTIVE = re.compile(r"<!--\s*docs-gate:\s*(?P<body>.*?)\s*-->", re.S)
_INLINE = re.compile(r"(?<!`)`(?!`)([^`\n]+)`(?!`)")


@dataclass
class Directive:
    """A `<!-- docs-gate: WORD key="value" ... -->` comment."""

    line: int
    word: str
    attrs: dict[str, str]
    text: str


@dataclass
class Block:
    """A fenced code block: its language, its content lines and where they start."""

    path: Path
    lang: str
    start: int  # 1-based line number of the first content line
    indent: str
    lines: list[str]
    directives: list[Directive] = field(default_factory=list)
    fence_line: int = 0
    end_line: int = 0  # 1-based line number of the closing fence


@dataclass
class Page:
    """One Markdown source file, split into blocks, inline code and page-level directives."""

    path: Path
    text: str
    blocks: list[Block]
    inline: list[tuple[int, str]]
    directives: list[Directive]


def parse_directive(body: str, line: int) -> Directive:
    """Parse the body of a directive comment into a word and `key="value"` attributes."""
    word, _, rest = body.partition(" ")
    if word.rstrip(":") == "hidden":
        return Directive(line=line, word="hidden", attrs={}, text=rest.strip())
    attrs: dict[str, str] = {}
    try:
        tokens = shlex.split(rest)
    except ValueError:
        tokens = rest.split()
    for token in tokens:
        key, sep, value = token.partition("=")
        attrs[key] = value if sep else ""
    return Directive(line=line, word=word.strip().rstrip(":"), attrs=attrs, text=rest.strip())


def parse_page(path: Path) -> Page:
    """Split one Markdown file into fenced blocks, inline code spans and directives."""
    text = path.read_text(encoding="utf-8")
    lines = text.splitlines()
    blocks: list[Block] = []
    inline: list[tuple[int, str]] = []
    directives: list[Directive] = []
    pending: list[Directive] = []
    hidden: list[Directive] = []
    i = 0
    while i < len(lines):
        line = lines[i]
        match = _FENCE.match(line)
        if match:
            indent, fence = match["indent"], match["fence"]
            block = Block(path, match["lang"].lower(), i + 2, indent, [], hidden + pending,
                          fence_line=i + 1)
            pending, hidden = [], []
            i += 1
            while i < len(lines):
                inner = lines[i]
                stripped = inner.strip()
                if stripped.startswith(fence[0] * len(fence)) and set(stripped) <= {fence[0]}:
                    break
                block.lines.append(inner[len(indent):] if inner.startswith(indent)
                                   else inner.lstrip())
                i += 1
            block.end_line = i + 1
            blocks.append(block)
            i += 1
            continue
        for found in _DIRECTIVE.finditer(line):
            directive = parse_directive(found["body"], i + 1)
            directives.append(directive)
            # `hidden` commands run before the next block even with prose in between;
            # `skip`/`run` must sit right before their block.
            (hidden if directive.word == "hidden" else pending).append(directive)
        if line.strip() and not _DIRECTIVE.fullmatch(line.strip()):
            pending = []
        for found in _INLINE.finditer(line):
            inline.append((i + 1, found.group(1)))
        i += 1
    return Page(path, text, blocks, inline, directives)


def iter_pages(docs_dir: Path = DOCS_DIR) -> list[Page]:
    """Parse every Markdown page under `docs_dir`, in path order."""
    if not docs_dir.is_dir():
        return []
    return [parse_page(p) for p in sorted(docs_dir.rglob("*.md"))]
