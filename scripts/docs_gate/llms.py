"""Check: `/llms.txt` and the Markdown copy of every page (for coding agents) are complete and
their links work, like the HTML's.

The mkdocs-llmstxt plugin writes `llms.txt`, `llms-full.txt` and `page/index.md` next to each
`page/index.html`. Every built page must have its Markdown copy and be listed in `llms.txt`;
every link in `llms.txt` and in the copies that points into the site (under `site_url`, or
relative) must name a file of the built site and, with `#anchor`, an id of that page.
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from urllib.parse import urlsplit

from scripts.docs_gate._common import Options, Problem, Result
from scripts.docs_gate._site import ids, page_file

_LINK = re.compile(r"\]\(([^)\s]+)\)")


def _base_path() -> tuple[str, str]:
    from specify_cli import docs_links

    parts = urlsplit(os.environ.get("SITE_URL") or docs_links.DOCS_BASE_URL)
    return parts.netloc, parts.path.rstrip("/") + "/"


def _target(link: str, source: Path, site: Path, host: str, base: str) -> str | None:
    """The site-relative path a link names, or None when it points outside the site."""
    parts = urlsplit(link)
    if parts.scheme in ("http", "https"):
        if parts.netloc != host or not parts.path.startswith(base):
            return None
        path = parts.path[len(base):]
    elif parts.scheme or link.startswith(("mailto:", "#")):
        return None
    else:
        path = (source.parent / parts.path).resolve().relative_to(site.resolve()).as_posix()
    return path + (f"#{parts.fragment}" if parts.fragment else "")


def _check_link(path: str, site: Path) -> str | None:
    page = page_file(site, path)
    if page is None:
        return f"no file {path.split('#')[0]} in the built site"
    if "#" in path and page.suffix == ".html":
        anchor = path.split("#", 1)[1]
        if anchor and anchor not in ids(page):
            return f"{path.split('#')[0]} has no anchor #{anchor}"
    return None


def run(options: Options) -> Result:
    """Check llms.txt, llms-full.txt and the Markdown copies against the built site."""
    result = Result("llms", unit="links")
    site = options.site_dir
    llms = site / "llms.txt"
    for name in ("llms.txt", "llms-full.txt"):
        if not (site / name).is_file():
            result.problems.append(Problem(name, "not built; is the llmstxt plugin in "
                                           "mkdocs.yml?"))
    if result.problems:
        return result
    host, base = _base_path()
    listed = llms.read_text(encoding="utf-8")
    for page in sorted(site.rglob("index.html")):
        copy = page.with_suffix(".md")
        rel = copy.relative_to(site).as_posix()
        if not copy.is_file() or not copy.read_text(encoding="utf-8").strip():
            result.problems.append(Problem(rel, "this page has no Markdown copy; add it to the "
                                           "llmstxt sections in mkdocs.yml"))
        elif f"{base}{rel}" not in listed:
            result.problems.append(Problem(rel, "not listed in llms.txt; add it to the llmstxt "
                                           "sections in mkdocs.yml"))
    for source in [llms, *sorted(site.rglob("index.md"))]:
        for link in _LINK.findall(source.read_text(encoding="utf-8")):
            target = _target(link, source, site, host, base)
            if target is None:
                continue
            result.count += 1
            reason = _check_link(target, site)
            if reason:
                result.problems.append(Problem(source.relative_to(site).as_posix(),
                                               f"broken link {link}: {reason}"))
    return result
