"""How the strict build and the link check grow with the site: `python -m scripts.docs_gate.scale`.

Copies the project to a temporary directory, adds N synthetic pages to the nav (a `toc/`
section; each page has headings, a code block, and links to anchors of its neighbours),
and times the `build` and `links` checks for each N. Prints one line per N and the growth
per page, so the link check can be compared with the build (goal: at most 2x, and no step
worse than linear by more than 1.5x).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from scripts.docs_gate._common import ROOT

_SKIP = {".venv", "site", ".cache", ".git", "__pycache__", "tests", ".pytest_cache"}

PAGE = """# Synthetic page {i}

Intro paragraph for page {i}; see [the next page](page-{nxt}.md#section-2) and
[the previous one](page-{prv}.md#section-3).

## Section 1

Text {i}. Run `spec-kitty sync now` to push.

```python
def synthetic_{i}():
    return {i}
```

## Section 2

More text with a [same-page link](#section-1).

## Section 3

| a | b |
|---|---|
| {i} | {nxt} |

## See Also

- [Home](../index.md)
"""


def make_copy(pages: int, dest: Path) -> Path:
    """A copy of the project with `pages` synthetic pages in the nav."""
    for entry in ROOT.iterdir():
        if entry.name in _SKIP:
            continue
        if entry.is_dir():
            shutil.copytree(entry, dest / entry.name,
                            ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
        else:
            shutil.copy2(entry, dest / entry.name)
    if pages:
        folder = dest / "docs" / "synthetic"
        folder.mkdir()
        for i in range(pages):
            folder.joinpath(f"page-{i}.md").write_text(PAGE.format(
                i=i, nxt=(i + 1) % pages, prv=(i - 1) % pages), encoding="utf-8")
        (dest / "toc" / "synthetic").mkdir()
        (dest / "toc" / "synthetic" / "toc.yml").write_text("".join(
            f"- name: Synthetic {i}\n  href: synthetic/page-{i}.md\n" for i in range(pages)),
            encoding="utf-8")
        with open(dest / "toc" / "toc.yml", "a", encoding="utf-8") as handle:
            handle.write("- name: Synthetic\n  href: synthetic/toc.yml\n")
    return dest


def measure(root: Path) -> dict[str, float]:
    """Seconds of the build and links checks in `root` (from the gate's own lines)."""
    env = dict(os.environ, PYTHONPATH=str(root / "src"), NO_MKDOCS_2_WARNING="1")
    proc = subprocess.run([sys.executable, "-m", "scripts.docs_gate", "--only", "links"],
                          cwd=root, env=env, capture_output=True, text=True, timeout=3600)
    times = {m.group(2): float(m.group(3)) for m in re.finditer(
        r"^(ok|FAIL)\s+(build|links)\s.*\((\d+\.\d)s\)$", proc.stdout, re.M)}
    if proc.returncode != 0:
        times["failed"] = 1.0
        sys.stderr.write(proc.stdout[-3000:])
    return times


def main() -> int:
    """Time the build and the link check at each size and print the growth."""
    parser = argparse.ArgumentParser(prog="python -m scripts.docs_gate.scale")
    parser.add_argument("sizes", nargs="*", type=int, default=[0, 100, 500])
    args = parser.parse_args()
    rows = []
    for size in args.sizes:
        with tempfile.TemporaryDirectory(prefix="docs-gate-scale-") as tmp:
            times = measure(make_copy(size, Path(tmp)))
        pages = size
        rows.append({"synthetic_pages": pages, **times})
        ratio = times.get("links", 0) / times["build"] if times.get("build") else 0
        print(f"+{pages:<4} pages: build {times.get('build', 0):6.1f}s  links "
              f"{times.get('links', 0):6.1f}s  links/build {ratio:4.2f}", flush=True)
    base = rows[0]
    for row in rows[1:]:
        added = row["synthetic_pages"] - base["synthetic_pages"]
        if added > 0:
            print(f"per added page: build {(row['build'] - base['build']) / added * 1000:.0f} ms,"
                  f" links {(row['links'] - base['links']) / added * 1000:.0f} ms")
    print(json.dumps(rows))
    return 0


if __name__ == "__main__":
    sys.exit(main())
