"""Splice hand-written intros into the mkdocs-click reference, under each command's heading.

Registered in mkdocs.yml's `markdown_extensions` as `scripts.docs_gen.cli_intros`. In the
page, after the `::: mkdocs-click` block, write:

    <!-- cli-intro: spec-kitty auth -->
    What the group is for, and usage examples.
    <!-- /cli-intro -->

This preprocessor runs after mkdocs-click has expanded its block. It moves each intro to just
below the generated heading of that command (found by its full-path id, `#spec-kitty-auth`).
An intro for a command that does not exist is a build warning, so a renamed command cannot
keep a stale intro.
"""

from __future__ import annotations

import logging
import re
from typing import Any

from markdown import Extension
from markdown.preprocessors import Preprocessor

log = logging.getLogger("mkdocs.hooks.spec_kitty")

START = re.compile(r"^<!--\s*cli-intro:\s*(.+?)\s*-->\s*$")
END = re.compile(r"^<!--\s*/cli-intro\s*-->\s*$")
HEADING_ID = re.compile(r"^#{1,6} .*\{ *#([A-Za-z0-9_-]+)\b")

CURRENT_PAGE = {"path": "?"}
"""The page being rendered (set by the hook), so a warning can name its file."""


def _slug(text: str) -> str:
    from markdown.extensions.toc import slugify

    return slugify(text, "-")


class CliIntroPreprocessor(Preprocessor):
    """Move `cli-intro` blocks under the headings mkdocs-click generated."""

    def run(self, lines: list[str]) -> list[str]:
        intros: dict[str, list[str]] = {}
        where: dict[str, int] = {}
        out: list[str] = []
        i = 0
        while i < len(lines):
            match = START.match(lines[i])
            if not match:
                out.append(lines[i])
                i += 1
                continue
            start = i
            body: list[str] = []
            i += 1
            while i < len(lines) and not END.match(lines[i]):
                body.append(lines[i])
                i += 1
            if i == len(lines):
                log.warning("%s: cli-intro for %r is not closed with <!-- /cli-intro -->",
                            CURRENT_PAGE["path"], match.group(1))
            i += 1
            key = _slug(match.group(1))
            intros[key] = body
            where[key] = start
        if not intros:
            return lines
        result: list[str] = []
        for line in out:
            result.append(line)
            heading = HEADING_ID.match(line)
            if heading and heading.group(1) in intros:
                result += [""] + intros.pop(heading.group(1)) + [""]
        for key in intros:
            log.warning("%s: cli-intro names %r, but the CLI reference has no such command "
                        "(heading #%s)", CURRENT_PAGE["path"], key.replace("-", " "), key)
        return result


class CliIntroExtension(Extension):
    """Register the preprocessor after mkdocs-click (priority 141)."""

    def extendMarkdown(self, md: Any) -> None:  # noqa: N802 - Markdown's API
        md.preprocessors.register(CliIntroPreprocessor(md), "spec_kitty_cli_intro", 135)


def makeExtension(**kwargs: Any) -> CliIntroExtension:  # noqa: N802 - Markdown's API
    """The extension, as Markdown loads it by module name from mkdocs.yml.

    Args:
        **kwargs: Extension settings (none are defined).
    """
    return CliIntroExtension(**kwargs)
