"""Read the built site: which pages exist, their ids, their text."""

from __future__ import annotations

import html
import re
from functools import lru_cache
from pathlib import Path

_ID = re.compile(r"""\bid=["']([^"']+)["']""")
_TAG = re.compile(r"<[^>]+>")
_SCRIPT = re.compile(r"<(script|style)\b.*?</\1>", re.S | re.I)


def page_file(site: Path, url_path: str) -> Path | None:
    """The file in `site` that serves `url_path` (a path relative to the site root)."""
    path = url_path.split("#", 1)[0].split("?", 1)[0].lstrip("/")
    candidates = [site / path / "index.html"] if path == "" or path.endswith("/") \
        else [site / path, site / path / "index.html"]
    for candidate in candidates:
        if candidate.is_file():
            return candidate
    return None


@lru_cache(maxsize=512)
def _read(path: Path, mtime: float) -> str:
    return path.read_text(encoding="utf-8", errors="replace")


def read(path: Path) -> str:
    """The HTML of a built page (cached while the file is unchanged)."""
    return _read(path, path.stat().st_mtime)


def ids(path: Path) -> set[str]:
    """Every `id` attribute of a built page."""
    return set(_ID.findall(read(path)))


def text_of(markup: str) -> str:
    """Visible text of an HTML fragment, whitespace collapsed."""
    markup = _SCRIPT.sub(" ", markup)
    return " ".join(html.unescape(_TAG.sub(" ", markup)).split())
