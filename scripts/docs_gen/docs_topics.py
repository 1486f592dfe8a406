"""The `spec-kitty docs TOPIC` table, rendered from `specify_cli.docs_links.TOPICS`.

Each topic becomes a relative link to its page and anchor, so MkDocs' own link and anchor
validation checks, at build time, that every URL the CLI prints points at something real.
"""

from __future__ import annotations

import importlib


def md_target(path: str, page_dir: str) -> str:
    """Turn a site path such as `how-to/authenticate/#log-out` into a relative .md link.

    Args:
        path: The path in `TOPICS`, relative to the site root.
        page_dir: Directory of the page that holds the link, relative to docs/.
    """
    import posixpath

    page, _, anchor = path.partition("#")
    page = page.strip("/")
    source = "index.md" if not page else f"{page}.md"
    rel = posixpath.relpath(source, page_dir or ".")
    return rel + (f"#{anchor}" if anchor else "")


def render(page_dir: str = "reference") -> str:
    """A table of every docs topic and the page it opens."""
    links = importlib.import_module("specify_cli.docs_links")
    lines = ["| Topic | Opens |", "| --- | --- |"]
    for topic, path in links.TOPICS.items():
        target = md_target(path, page_dir)
        lines.append(f"| `{topic}` | [{links.DOCS_BASE_URL}{path}]({target}) |")
    return "\n".join(lines) + "\n"
