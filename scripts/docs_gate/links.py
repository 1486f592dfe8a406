"""Check 2: every link of the built site leads somewhere, anchors included.

Reads the files of site/ directly: each page is parsed once (Python's HTML parser, so a link
quoted in a code block is text, not a link), which gives its ids and every `href` / `src` /
`srcset`. A link into the site must name a built file (`page/` is `page/index.html`) and, with
`#anchor` on an HTML page, one of that page's ids; stylesheets' `url(...)` must name files too.
Every page is read, also those no other page links to. External links are listed and
syntax-checked only, unless `--external` (then fetched, which needs a network).
"""

from __future__ import annotations

import re
from concurrent.futures import ThreadPoolExecutor
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import unquote, urljoin, urlsplit

from scripts.docs_gate._common import CACHE_DIR, ROOT, Options, Problem, Result, rel
from scripts.docs_gate._site import page_file

_BASE = "http://site.invalid/"
"""Where the site's files are taken to live while resolving relative links."""

_CSS_URL = re.compile(r"""url\(\s*["']?([^"')]+)["']?\s*\)""")
_SKIPPED_SCHEMES = {"data", "javascript", "mailto", "tel", "blob"}


class _Page(HTMLParser):
    """The ids and links of one HTML page (with line numbers)."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.ids: set[str] = set()
        self.links: list[tuple[int, str]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        line = self.getpos()[0]
        for name, value in attrs:
            if value is None:
                continue
            if name in ("id", "name"):
                self.ids.add(value)
            elif name in ("href", "src"):
                self.links.append((line, value.strip()))
            elif name == "srcset":
                self.links += [(line, part.split()[0]) for part in value.split(",")
                               if part.strip()]


def source_hint(built: str) -> str:
    """Name the Markdown source of a built page (`site/x/index.html`) when there is one."""
    page = re.sub(r"(^|/)index\.html$", "", built.removeprefix("site/")).strip("/")
    candidates = [f"docs/{page}.md", f"docs/{page}/index.md"] if page else ["docs/index.md"]
    return next((c for c in candidates if (ROOT / c).is_file()), "")


def _where(site: Path, page: Path, line: int) -> str:
    built = f"site/{page.relative_to(site).as_posix()}"
    source = source_hint(built)
    return f"{built}:{line}" + (f" (from {source})" if source else "")


def _parse(page: Path) -> _Page:
    parsed = _Page()
    parsed.feed(page.read_text(encoding="utf-8", errors="replace"))
    parsed.close()
    return parsed


def _check_external(urls: list[str]) -> dict[str, str]:
    """Fetch external URLs (only with `--external`); returns url -> what failed."""
    import httpx

    def fetch(url: str) -> tuple[str, str]:
        try:
            with httpx.Client(follow_redirects=True, timeout=20) as client:
                status = client.get(url).status_code
            return url, "" if status < 400 else f"HTTP {status}"
        except httpx.HTTPError as exc:
            return url, type(exc).__name__
    with ThreadPoolExecutor(max_workers=8) as pool:
        return {url: why for url, why in pool.map(fetch, urls) if why}


def run(options: Options) -> Result:
    """Check every link and anchor of the built site against its files."""
    result = Result("links", unit="urls")
    site = options.site_dir
    if not (site / "index.html").is_file():
        result.problems.append(Problem("site/", "no built site; run the build check first"))
        return result
    pages = {page: _parse(page) for page in sorted(site.rglob("*.html"))}
    links = [(page, line, link) for page, parsed in pages.items() for line, link in parsed.links]
    for sheet in sorted(site.rglob("*.css")):
        text = sheet.read_text(encoding="utf-8", errors="replace")
        links += [(sheet, text.count("\n", 0, m.start()) + 1, m.group(1).strip())
                  for m in _CSS_URL.finditer(text)]
    external: dict[str, str] = {}
    internal = same_page = 0
    for page, line, link in links:
        base = _BASE + page.relative_to(site).as_posix()
        url = urljoin(base, link)
        parts = urlsplit(url)
        if parts.scheme in _SKIPPED_SCHEMES or link == "":
            continue
        where = _where(site, page, line)
        if not url.startswith(_BASE):
            if parts.scheme not in ("http", "https") or not parts.netloc:
                result.problems.append(Problem(where, f"link {link}: not a valid URL"))
            else:
                external.setdefault(url.split("#", 1)[0], where)
            continue
        target = page_file(site, unquote(parts.path))
        if link.startswith("#"):
            same_page += 1
        else:
            internal += 1
        if target is None:
            result.problems.append(Problem(where, f"link {link}: no such file in the built "
                                           "site; fix the link or the target"))
        elif parts.fragment and target.suffix == ".html":
            anchor = unquote(parts.fragment)
            if anchor not in (pages.get(target) or _parse(target)).ids:
                what = ("no such anchor on the same page" if link.startswith("#")
                        else f"{target.relative_to(site).as_posix()} has no anchor #{anchor}")
                result.problems.append(Problem(where, f"link {link}: {what}; fix the link or "
                                               "the heading"))
    if options.external:
        for url, why in sorted(_check_external(sorted(external)).items()):
            result.problems.append(Problem(external[url], f"link {url}: {why}"))
    listing = CACHE_DIR / "external-links.txt"
    listing.parent.mkdir(parents=True, exist_ok=True)
    listing.write_text("".join(f"{url}\n" for url in sorted(external)), encoding="utf-8")
    hosts: dict[str, int] = {}
    for url in external:
        hosts[urlsplit(url).netloc] = hosts.get(urlsplit(url).netloc, 0) + 1
    mode = "checked" if options.external else "syntax-checked only"
    result.notes.append(f"external links ({mode}), full list in {rel(listing)}: "
                        + ", ".join(f"{host} x{n}" for host, n in sorted(hosts.items())))
    result.count = internal + same_page
    result.summary = (f"{internal} links and cross-page anchors, {same_page} same-page anchors "
                      f"on {len(pages)} pages, {len(external)} external "
                      f"{'checked' if options.external else 'listed'}")
    return result
