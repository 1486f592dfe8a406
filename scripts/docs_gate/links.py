"""Check 2: linkchecker over the built site, served on loopback, with anchors checked.

linkchecker is the link checker; the gate only serves the site and reads its report. It runs
as `nobody` when started as root and then silently drops output files it cannot write, so the
site is served over HTTP (no file permissions involved), the config file is world-readable,
and the report is read from stdout (CSV, every URL logged). The server sends a `LinkChecker`
header so `maxrequestspersecond` applies instead of the per-host throttle. Every built page and
stylesheet (the files linkchecker reads links from) is a start URL, so a page no other page
links to is checked too, and one level of recursion checks every link they hold: deeper
levels would only parse again the pages that `page/#anchor` links fetch (linkchecker fetches
a page once per anchor asked about), a third of its time. The start URLs are shared between
two linkchecker processes (one runs on one core). Same-page anchors (`href="#x"`) are
checked here, in one pass per page, and hidden from linkchecker, which would refetch the page
once per anchor. Any error or warning fails the check. External links are listed and
syntax-checked only, unless `--external`.
"""

from __future__ import annotations

import csv
import io
import os
import re
import subprocess
import tempfile
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from urllib.parse import unquote, urlsplit

from scripts.docs_gate._common import (
    BIN,
    CACHE_DIR,
    ROOT,
    Options,
    Problem,
    Result,
    rel,
    subprocess_env,
    with_bytecode_cache,
)
from scripts.docs_gate._serve import serve

_CONFIG = """\
[checking]
threads={threads}
maxrequestspersecond=1000
recursionlevel=1
timeout=20
robotstxt=0
[filtering]
checkextern={extern}
# The docs' example server (http://127.0.0.1:8000/, the reader's own): syntax only, always.
ignore=
  ^https?://(127\\.0\\.0\\.1|localhost):8000(/|$)
[output]
status=0
warnings=1
[csv]
separator=;
[AnchorCheck]
"""


def _write_config(threads: int, external: bool) -> Path:
    """Write the linkchecker config where `nobody` can read it."""
    fd, name = tempfile.mkstemp(prefix="docs-gate-linkcheckerrc-", suffix=".ini")
    with os.fdopen(fd, "w") as handle:
        handle.write(_CONFIG.format(threads=threads, extern=int(external)))
    os.chmod(name, 0o644)
    return Path(name)


def _rows(stdout: str) -> list[dict[str, str]]:
    lines = [line for line in stdout.splitlines() if line and not line.startswith("#")]
    return list(csv.DictReader(io.StringIO("\n".join(lines)), delimiter=";"))


def _url_path(page: Path, site: Path) -> str:
    """The URL path that serves a built file, as the site's own links name it (`x/` for
    `x/index.html`): linkchecker caches by URL, so a start URL spelled as the links spell it
    is fetched once."""
    path = page.relative_to(site).as_posix()
    return path.removesuffix("index.html") if path.rsplit("/", 1)[-1] == "index.html" else path


def _page_of(url: str, base: str) -> str:
    """Map a served URL back to its file in site/ for messages."""
    if not url.startswith(base):
        return url
    path = unquote(urlsplit(url).path).lstrip("/")
    return f"site/{path}index.html" if path == "" or path.endswith("/") else f"site/{path}"


def source_hint(built: str) -> str:
    """Name the Markdown source of a built page (`site/x/index.html`) when there is one.

    Args:
        built: The built page, as `site/<path>`.

    Returns:
        The source as `docs/<path>.md` (or `.../index.md`), or "" when there is none.
    """
    page = re.sub(r"(^|/)index\.html$", "", built.removeprefix("site/")).strip("/")
    candidates = [f"docs/{page}.md", f"docs/{page}/index.md"] if page else ["docs/index.md"]
    return next((c for c in candidates if (ROOT / c).is_file()), "")


def _where(built: str, line: str | int) -> str:
    """`site/page:line (from docs/page.md)`."""
    source = source_hint(built) if built.startswith("site/") else ""
    where = f"{built}:{line}" if built and line else built
    return where + (f" (from {source})" if source else "")


_SAME_PAGE = re.compile(r"""\shref=["']#([^"']*)["']""")
_IDS = re.compile(r"""\s(?:id|name)=["']([^"']+)["']""")


def same_page_anchors(site: Path) -> tuple[int, list[Problem]]:
    """Check every `href="#x"` against the ids of its own page, one parse per page.

    Args:
        site: The built site.

    Returns:
        How many same-page anchors were checked, and a problem for each that names no id.
    """
    count, problems = 0, []
    for page in sorted(site.rglob("*.html")):
        markup = page.read_text(encoding="utf-8", errors="replace")
        targets = set(_IDS.findall(markup))
        for match in _SAME_PAGE.finditer(markup):
            anchor = unquote(match.group(1))
            count += 1
            if anchor and anchor not in targets:
                line = markup.count("\n", 0, match.start()) + 1
                problems.append(Problem(
                    _where(f"site/{page.relative_to(site).as_posix()}", line),
                    f"link #{anchor}: no such anchor on the same page; fix the link or the "
                    "heading"))
    return count, problems


PROCESSES = 2
"""linkchecker processes sharing the start URLs (each is bound to one core by its GIL)."""

_PARSED = ("*.html", "*.css")
"""The files linkchecker reads links from: each is a start URL."""


def _shares(site: Path, base: str, count: int) -> list[list[str]]:
    """The start URLs, in `count` shares of about the same bytes to parse."""
    files = sorted((f for pattern in _PARSED for f in site.rglob(pattern)),
                   key=lambda f: (-f.stat().st_size, f.as_posix()))
    shares: list[list[str]] = [[] for _ in range(max(1, count))]
    sizes = [0] * len(shares)
    for file in files:
        lightest = sizes.index(min(sizes))
        shares[lightest].append(base + _url_path(file, site))
        sizes[lightest] += file.stat().st_size
    return [share for share in shares if share]


def _linkchecker(site: Path, external: bool) -> tuple[list[dict[str, str]], int, str, str]:
    """Run linkchecker over the served site from every page and stylesheet.

    Returns:
        The report's rows (one per URL, first report kept when two processes checked it),
        the worst exit status, linkchecker's stderr, and the base URL it checked.
    """
    config = _write_config(threads=int(os.environ.get("DOCS_GATE_LINK_THREADS", "8")),
                           external=external)
    env = with_bytecode_cache(subprocess_env())
    try:
        with serve(site, hide_same_page_anchors=True) as base:
            def check(starts: list[str]) -> subprocess.CompletedProcess[str]:
                cmd = [str(BIN / "linkchecker"), "-f", str(config), "--no-status", "-o", "csv",
                       "--verbose", "--timeout", "20", *starts]
                return subprocess.run(cmd, cwd=tempfile.gettempdir(), env=env,
                                      capture_output=True, text=True, timeout=1200)

            shares = _shares(site, base, PROCESSES)
            with ThreadPoolExecutor(max_workers=len(shares)) as pool:
                procs = list(pool.map(check, shares))
    finally:
        config.unlink(missing_ok=True)
    rows: dict[str, dict[str, str]] = {}
    for proc in procs:
        for row in _rows(proc.stdout):
            rows.setdefault(row.get("url") or row.get("urlname", ""), row)
    codes = [proc.returncode for proc in procs]
    status = next((c for c in codes if c not in (0, 1)), max(codes))
    return list(rows.values()), status, "".join(proc.stderr for proc in procs), base


def _message(row: dict[str, str], valid: bool) -> str:
    """What linkchecker found wrong with one URL, on one line.

    A missing anchor's warning lists every anchor of the target page; that list is dropped
    (the page's headings are the place to look), so the message is whole, never cut.
    """
    text = row.get("result", "") if not valid else row.get("warningstring") or ""
    text = " ".join(text.split())
    text = re.sub(r"\s*Available anchors:.*", "", text).rstrip(".")
    return f"link {row.get('urlname') or row.get('url', '')}: {text}"


def run(options: Options) -> Result:
    """Run linkchecker over the served site and fail on any error or warning.

    Args:
        options: The gate's options (`site_dir`; `external` to fetch external links).

    Returns:
        The check's result: one problem per broken link or anchor.
    """
    result = Result("links", unit="urls")
    site = options.site_dir
    if not (site / "index.html").is_file():
        result.problems.append(Problem("site/", "no built site; run the build check first"))
        return result
    same_page, result.problems = same_page_anchors(site)
    rows, status, stderr, base = _linkchecker(site, options.external)
    if not rows:
        result.problems.append(Problem("", f"linkchecker produced no report (exit {status})",
                                       stderr[-2000:]))
        return result
    external: set[str] = set()
    internal = 0
    for row in rows:
        url = row.get("url") or row.get("urlname", "")
        valid = row.get("valid", "True") == "True"
        warning = (row.get("warningstring") or "").strip()
        info = (row.get("infostring") or "").strip()
        is_external = not url.startswith(base) and urlsplit(url).scheme in ("http", "https",
                                                                                "mailto", "ftp")
        if is_external:
            external.add(url)
        else:
            internal += 1
        if (valid and not warning) or (is_external and valid and not options.external):
            continue
        parent = row.get("parentname", "")
        built = _page_of(parent, base) if parent else ""
        # linkchecker counts a stylesheet's lines after removing its comments: name the file.
        where = _where(built, "" if built.endswith(".css") else row.get("line", ""))
        result.problems.append(Problem(where, _message(row, valid) + "; fix the link or the "
                                       "target", info if info and not valid else ""))
    result.count = internal + same_page
    mode = "checked" if options.external else "syntax-checked only"
    listing = CACHE_DIR / "external-links.txt"
    listing.parent.mkdir(parents=True, exist_ok=True)
    listing.write_text("".join(f"{url}\n" for url in sorted(external)), encoding="utf-8")
    hosts: dict[str, int] = {}
    for url in external:
        host = urlsplit(url).netloc or urlsplit(url).scheme
        hosts[host] = hosts.get(host, 0) + 1
    result.notes.append(f"external links ({mode}), full list in {rel(listing)}: "
                        + ", ".join(f"{host} x{n}" for host, n in sorted(hosts.items())))
    result.summary = (f"{internal} internal urls and cross-page anchors (linkchecker), "
                      f"{same_page} same-page anchors, {len(external)} external "
                      f"{'checked' if options.external else 'listed'}")
    if status not in (0, 1):
        result.problems.append(Problem("", f"linkchecker exited {status}", stderr[-2000:]))
    elif status == 1 and not result.problems:
        result.problems.append(Problem("", "linkchecker reported a failure that the report does not"
                                       " show", stderr[-2000:]))
    return result
