"""Check 1: `mkdocs build --strict` into site/ with zero warnings.

Never run with `-v`: MkDocs 1.6.1 skips anchor validation in verbose mode. Every WARNING line
is a problem, even when MkDocs would still exit 0, and each names its docs file and line when
the message quotes a link we can find in the source.
"""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

from scripts.docs_gate._common import (
    BIN,
    DOCS_DIR,
    ROOT,
    Options,
    Problem,
    Result,
    rel,
    subprocess_env,
)

_LEVEL = re.compile(r"^(WARNING|ERROR|CRITICAL)\s*-\s*(.*)$")
_DOCFILE = re.compile(r"(?:[Dd]oc file|in|file) '([^']+\.md)'")
_QUOTED = re.compile(r"'([^']+)'")
_PREFIXED = re.compile(r"^[\w./-]+:\d+: ")


def _locate(message: str) -> str:
    """Best-effort `docs/x.md:LINE` for a MkDocs warning that names a page and a link."""
    if _PREFIXED.match(message):  # the message already starts with file:line (our hooks)
        return ""
    match = _DOCFILE.search(message)
    if not match:
        return "mkdocs.yml" if "mkdocs.yml" in message or "nav" in message.lower() else ""
    page = DOCS_DIR / match.group(1)
    if not page.is_file():
        return rel(page)
    quoted = [q for q in _QUOTED.findall(message) if q != match.group(1)]
    lines = page.read_text(encoding="utf-8").splitlines()
    for needle in quoted:
        for number, text in enumerate(lines, 1):
            if needle in text:
                return f"{rel(page)}:{number}"
        anchor = needle.rpartition("#")[2]
        if anchor and anchor != needle:
            for number, text in enumerate(lines, 1):
                if f"#{anchor}" in text:
                    return f"{rel(page)}:{number}"
    return rel(page)


def _count_pages(site: Path) -> int:
    return sum(1 for _ in site.rglob("*.html")) if site.is_dir() else 0


def run(options: Options) -> Result:
    """Build the site strictly and turn every warning into a problem."""
    result = Result("build", unit="pages")
    config = ROOT / "mkdocs.yml"
    if not config.is_file():
        result.problems.append(Problem("mkdocs.yml", "missing; the docs site has no config yet"))
        return result
    cmd = [str(BIN / "mkdocs"), "build", "--strict", "--clean", "--site-dir", str(options.site_dir),
           "--config-file", str(config)]
    proc = subprocess.run(cmd, cwd=ROOT, env=subprocess_env(), capture_output=True, text=True,
                          timeout=600)
    output = (proc.stderr or "") + (proc.stdout or "")
    seen: set[str] = set()
    for line in output.splitlines():
        match = _LEVEL.match(line.strip())
        if match and match.group(2) not in seen:
            seen.add(match.group(2))
            result.problems.append(Problem(_locate(match.group(2)),
                                           f"mkdocs {match.group(1).lower()}: {match.group(2)}"))
    if proc.returncode != 0 and not result.problems:
        tail = "\n".join(output.strip().splitlines()[-15:])
        result.problems.append(Problem("mkdocs.yml", f"mkdocs build --strict exited "
                                       f"{proc.returncode}", tail))
    if proc.returncode != 0 and result.problems:
        result.problems[-1].message += "  (fix the docs; `mkdocs build --strict` must be clean)"
    result.count = _count_pages(options.site_dir)
    return result
