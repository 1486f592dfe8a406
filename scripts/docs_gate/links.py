"""Check 2: every link of the built site leads somewhere, anchors included.

Reads the files of site/ directly, each page once: its tags give its ids and every `href` /
`src` / `srcset` (script and style bodies and comments are not markup, and a link quoted in a
code block is escaped text, so neither counts). A link into the site must name a built file
(`page/` is `page/index.html`) and, with `#anchor` on an HTML page, one of that page's ids;
stylesheets' `url(...)` must name files too. Every page is read, also those no other page
links to; each distinct target is resolved once, so the work grows with the site's size.
External links are listed and syntax-checked only, unless `--external` (then fetched).
"""

from __future__ import annotations

import html
import re
from concurrent.futures import ThreadPoolExecutor
from functools import lru_cache
from pathlib import Path
from urllib.parse import unquote, urljoin, urlsplit

from scripts.docs_gate._common import CACHE_DIR, ROOT, Options, Problem, Result, rel
from scripts.docs_gate._site import page_file

_BASE = "http://site.invalid/"
"""Where the site's files are taken to live while resolving relative links."""

_NOT_MARKUP = re.compile(r"<!--.*?-->|(?<=<script)\b[^>]*>.*?(?=</script>)|"
                         r"(?<=<style)\b[^>]*>.*?(?=</style>)", re.S | re.I)
_TAG = re.compile(r"""<[a-zA-Z](?:"[^"]*"|'[^']*'|[^'">])*>""")
_ATTR = re.compile(r"""\s(id|name|href|src|srcset)\s*=\s*(?:"([^"]*)"|'([^']*)'|([^\s"'>]+))""",
                   re.I)
_CSS_URL = re.compile(r"""url\(\s*["']?([^"')]+)["']?\s*\)""")
_SKIPPED_SCHEMES = {"data", "javascript", "mailto", "tel", "blob"}


def _blank(match: re.Match[str]) -> str:
    """Comments and script/style bodies as spaces (a script tag keeps its attributes)."""
    text = match.group(0)
    if text.startswith("<!--"):
        return " " * len(text)
    head, _, body = text.partition(">")
    return head + ">" + " " * len(body)


def _scan(markup: str) -> tuple[set[str], list[tuple[int, str]]]:
    """The ids of a page and its links as (offset, link)."""
    markup = _NOT_MARKUP.sub(_blank, markup)
    ids: set[str] = set()
    links: list[tuple[int, str]] = []
    for tag in _TAG.finditer(markup):
        for attr in _ATTR.finditer(tag.group(0)):
            name = attr.group(1).lower()
            value = html.unescape(next(v for v in attr.groups()[1:] if v is not None))
            if name in ("id", "name"):
                ids.add(value)
            elif name == "srcset":
                links += [(tag.start(), part.split()[0]) for part in value.split(",")
                          if part.strip()]
            else:
                links.append((tag.start(), value.strip()))
    return ids, links


def source_hint(built: str) -> str:
    """Name the Markdown source of a built page (`site/x/index.html`) when there is one."""
    page = re.sub(r"(^|/)index\.html$", "", built.removeprefix("site/")).strip("/")
    candidates = [f"docs/{page}.md", f"docs/{page}/index.md"] if page else ["docs/index.md"]
    return next((c for c in candidates if (ROOT / c).is_file()), "")


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
    texts = {page: page.read_text(encoding="utf-8", errors="replace")
             for page in sorted(site.rglob("*.html")) + sorted(site.rglob("*.css"))}
    ids: dict[Path, set[str]] = {}
    links: list[tuple[Path, int, str]] = []
    for page, text in texts.items():
        if page.suffix == ".css":
            links += [(page, m.start(), m.group(1).strip()) for m in _CSS_URL.finditer(text)]
        else:
            ids[page], found = _scan(text)
            links += [(page, offset, link) for offset, link in found]
    target_of = lru_cache(maxsize=None)(lambda path: page_file(site, unquote(path)))

    def where(page: Path, offset: int) -> str:
        built = f"site/{page.relative_to(site).as_posix()}"
        source = source_hint(built)
        line = texts[page].count("\n", 0, offset) + 1
        return f"{built}:{line}" + (f" (from {source})" if source else "")

    external: dict[str, tuple[Path, int]] = {}
    internal = same_page = 0
    for page, offset, link in links:
        url = urljoin(_BASE + page.relative_to(site).as_posix(), link)
        parts = urlsplit(url)
        if parts.scheme in _SKIPPED_SCHEMES or link == "":
            continue
        if not url.startswith(_BASE):
            if parts.scheme not in ("http", "https") or not parts.netloc:
                result.problems.append(Problem(where(page, offset), f"link {link}: not a URL"))
            else:
                external.setdefault(url.split("#", 1)[0], (page, offset))
            continue
        same_page += link.startswith("#")
        internal += not link.startswith("#")
        target = target_of(parts.path)
        if target is None:
            result.problems.append(Problem(where(page, offset), f"link {link}: no such file in "
                                           "the built site; fix the link or the target"))
        elif parts.fragment and target.suffix == ".html" and target in ids \
                and unquote(parts.fragment) not in ids[target]:
            anchor = unquote(parts.fragment)
            what = ("no such anchor on the same page" if link.startswith("#") else
                    f"{target.relative_to(site).as_posix()} has no anchor #{anchor}")
            result.problems.append(Problem(where(page, offset), f"link {link}: {what}; fix the "
                                           "link or the heading"))
    if options.external:
        for url, why in sorted(_check_external(sorted(external)).items()):
            result.problems.append(Problem(where(*external[url]), f"link {url}: {why}"))
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
                      f"on {len(ids)} pages, {len(external)} external "
                      f"{'checked' if options.external else 'listed'}")
    return result
