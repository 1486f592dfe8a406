"""The preview's error banner: `./scripts/serve` builds without strict, so a broken link
does not stop the preview (MkDocs' strict serve aborts the build and page requests wait for
a good one); instead each warning of the build is shown at the top of every page.

Active only when `DOCS_PREVIEW=1` (set by ./scripts/serve): the strict build of the gate is
untouched.
"""

from __future__ import annotations

import html
import logging
import os
from pathlib import Path

BANNER_ID = "docs-preview-problems"


class _Collector(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.messages.append(record.getMessage())


_collector = _Collector()


def active() -> bool:
    """True when the build is the preview's (`DOCS_PREVIEW=1`)."""
    return os.environ.get("DOCS_PREVIEW") == "1"


def start() -> None:
    """Collect the warnings of the build that starts now."""
    _collector.messages.clear()
    logger = logging.getLogger("mkdocs")
    if _collector not in logger.handlers:
        logger.addHandler(_collector)


def finish(site_dir: str | Path) -> int:
    """Put a banner listing the build's warnings at the top of every page; return how many.

    Args:
        site_dir: The directory the build wrote.
    """
    messages = list(dict.fromkeys(_collector.messages))
    if not messages:
        return 0
    items = "".join(f"<li><code>{html.escape(m)}</code></li>" for m in messages)
    banner = (f'<div id="{BANNER_ID}" role="alert" style="background:#b00020;color:#fff;'
              f'padding:.6rem 1rem;font:14px/1.4 sans-serif;position:relative;z-index:10">'
              f"<strong>This build has {len(messages)} problem(s); ./scripts/build would "
              f"fail.</strong> Fix them, and the preview rebuilds:<ul>{items}</ul></div>")
    for page in Path(site_dir).rglob("*.html"):
        text = page.read_text(encoding="utf-8")
        at = text.find(">", text.find("<body")) + 1
        if at > 0:
            page.write_text(text[:at] + banner + text[at:], encoding="utf-8")
    return len(messages)
