"""The troubleshooting headings of the auth how-to quote messages the CLI really prints.

Each heading is `error: <message>`, with capitalised placeholders (URL, N, PATH, ...) for
the parts that vary. Every literal fragment between placeholders must occur in the CLI's
source, so a reworded message cannot leave a stale heading behind.
"""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PAGE = ROOT / "docs" / "how-to" / "authenticate.md"
PLACEHOLDER = re.compile(r"\b(?:URL|N|PATH|REASON|USER|DETAIL|NAME)\b")
HEADING = re.compile(r"^### error: (.+?)(?: \{ #[\w-]+ \})?$", re.MULTILINE)


def _source() -> str:
    text = "\n".join(p.read_text(encoding="utf-8")
                     for p in (ROOT / "src" / "specify_cli").rglob("*.py"))
    # Adjacent string literals ("a " "b") are one message at run time.
    text = re.sub(r"\"\s*\n\s*(?:f|rf|fr)?\"", "", text)
    # `{plural(n, 'unsynced event')}` prints "N unsynced events" (the heading's N).
    text = re.sub(r"\{plural\(\w+, '([^']+)'\)\}", r"N \1s", text)
    # f-string fields naming config constants print their values.
    from specify_cli import config

    return re.sub(r"\{config\.([A-Z_]+)\}", lambda m: str(getattr(config, m.group(1), m.group(0))),
                  text)


def test_every_troubleshooting_heading_quotes_a_real_message() -> None:
    source = _source()
    headings = HEADING.findall(PAGE.read_text(encoding="utf-8"))
    assert len(headings) >= 10
    missing = []
    for message in headings:
        message = message.replace("`", "")
        for fragment in PLACEHOLDER.split(message):
            fragment = fragment.strip(" ;:()")
            if len(fragment) >= 4 and fragment not in source.replace("`", ""):
                missing.append(f"{message!r}: {fragment!r}")
    assert not missing, "headings quote text the CLI no longer prints:\n" + "\n".join(missing)
