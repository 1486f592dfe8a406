"""Check 2: linkchecker over the built site, served on loopback, with anchors checked.

linkchecker runs as `nobody` when started as root and then silently drops output files it
cannot write, so the site is served over HTTP (no file permissions involved), the config file
is world-readable, and the report is read from stdout (CSV, every URL logged). The server
sends a `LinkChecker` header so `maxrequestspersecond` applies instead of the per-host
throttle. External links are listed and syntax-checked only, unless `--external`.
"""

from __future__ import annotations

import csv
import io
import os
import re
import subprocess
import tempfile
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
)
from scripts.docs_gate._serve import serve

_CONFIG = """\
[checking]
threads={threads}
maxrequestspersecond=1000
recursionlevel=-1
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


def _page_of(url: str, base: str, site: Path) -> str:
    """Map a served URL back to its file in site/ for messages."""
    if not url.startswith(base):
        return url
    path = urlsplit(url).path.lstrip("/")
    if path == "" or path.endswith("/"):
        path += "index.html"
    return f"site/{path}" if (site / path).exists() else f"site/{path}"


def _source_hint(parent_file: str, site: Path) -> str:
    """Name the Markdown source of a built page when there is an obvious one."""
    if not parent_file.startswith("site/"):
        return ""
    page = parent_file[len("site/"):]
    page = re.sub(r"(^|/)index\.html$", "", page).strip("/")
    candidates = [f"docs/{page}.md", f"docs/{page}/index.md", f"docs/{page}/README.md"] if page \
        else ["docs/index.md", "docs/README.md"]
    for candidate in candidates:
        if (ROOT / candidate).is_file():
            return candidate
    return ""


_SAME_PAGE = re.compile(r"""\shref=["']#([^"']*)["']""")
_IDS = re.compile(r"""\s(?:id|name)=["']([^"']+)["']""")


def same_page_anchors(site: Path) -> tuple[int, list[Problem]]:
    """Check every `href="#x"` against the ids of its own page, one parse per page."""
    count, problems = 0, []
    for page in sorted(site.rglob("*.html")):
        markup = page.read_text(encoding="utf-8", errors="replace")
        targets = set(_IDS.findall(markup))
        for match in _SAME_PAGE.finditer(markup):
            anchor = unquote(match.group(1))
            count += 1
            if anchor and anchor not in targets:
                line = markup.count("\n", 0, match.start()) + 1
                where = f"site/{page.relative_to(site)}:{line}"
                source = _source_hint(f"site/{page.relative_to(site)}", site)
                if source:
                    where += f" (from {source})"
                problems.append(Problem(where, f"link #{anchor}: no such anchor on the same page;"
                                        " fix the link or the heading"))
    return count, problems


def run(options: Options) -> Result:
    """Run linkchecker over the served site and fail on any error or warning."""
    result = Result("links", unit="urls")
    site = options.site_dir
    if not (site / "index.html").is_file():
        result.problems.append(Problem("site/", "no built site; run the build check first"))
        return result
    same_page, result.problems = same_page_anchors(site)
    config = _write_config(threads=int(os.environ.get("DOCS_GATE_LINK_THREADS", "8")),
                           external=options.external)
    try:
        with serve(site, hide_same_page_anchors=True) as base:
            starts = [base] + [base + str(p.relative_to(site)) for p in sorted(site.rglob("*.html"))
                               if p.name == "404.html"]
            cmd = [str(BIN / "linkchecker"), "-f", str(config), "--no-status", "-o", "csv",
                   "--verbose", "--timeout", "20", *starts]
            proc = subprocess.run(cmd, cwd=tempfile.gettempdir(), env=subprocess_env(),
                                  capture_output=True, text=True, timeout=1200)
    finally:
        config.unlink(missing_ok=True)
    rows = _rows(proc.stdout)
    if not rows:
        result.problems.append(Problem("", f"linkchecker produced no report (exit "
                                       f"{proc.returncode})", proc.stderr[-2000:]))
        return result
    external: set[str] = set()
    internal = 0
    for row in rows:
        url = row.get("url") or row.get("urlname", "")
        parent = row.get("parentname", "")
        valid = row.get("valid", "True") == "True"
        warning = (row.get("warningstring") or "").strip()
        info = (row.get("infostring") or "").strip()
        is_external = not url.startswith(base) and urlsplit(url).scheme in ("http", "https",
                                                                                "mailto", "ftp")
        if is_external:
            external.add(url)
        else:
            internal += 1
        if valid and not warning:
            continue
        where = _page_of(parent, base, site) if parent else ""
        source = _source_hint(where, site)
        line = row.get("line", "")
        location = f"{where}:{line}" if where and line else where
        if source:
            location += f" (from {source})"
        text = row.get("result", "") if not valid else warning
        text = re.sub(r"Available anchors: (.{160}).*", r"Available anchors: \1...", text,
                      flags=re.S)
        what = f"link {row.get('urlname') or url}: {' '.join(text.split())}"
        if is_external and not options.external and valid:
            continue
        result.problems.append(Problem(location, what + "; fix the link or the target",
                                       info if info and not valid else ""))
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
    if proc.returncode not in (0, 1):
        result.problems.append(Problem("", f"linkchecker exited {proc.returncode}",
                                       proc.stderr[-2000:]))
    elif proc.returncode == 1 and not result.problems:
        result.problems.append(Problem("", "linkchecker reported a failure that the report does not"
                                       " show", proc.stderr[-2000:]))
    return result
