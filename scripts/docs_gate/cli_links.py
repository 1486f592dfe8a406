"""Check 5: every docs URL the CLI prints resolves to a page and anchor of the built site.

Sources: `specify_cli.docs_links.TOPICS` (what `spec-kitty docs TOPIC` and error messages
use), calls such as `docs_links.see("topic")` in the source (the topic must exist), and any
URL under `DOCS_BASE_URL` written literally in a string under src/.
"""

from __future__ import annotations

import ast
import importlib
import re
from pathlib import Path

from scripts.docs_gate._cli import PROG
from scripts.docs_gate._common import SRC_DIR, Options, Problem, Result, rel
from scripts.docs_gate._site import ids, page_file

_HELPERS = {"url", "see"}


def _resolve(site: Path, path: str) -> str | None:
    """None when `path` (relative, maybe with #anchor) exists in `site`, else the reason."""
    page = page_file(site, path)
    if page is None:
        return f"no page {path.split('#')[0] or '/'} in the built site"
    if "#" in path:
        anchor = path.split("#", 1)[1]
        if anchor and anchor not in ids(page):
            return f"page {path.split('#')[0] or '/'} has no anchor #{anchor}"
    return None


def _topic_calls(tree: ast.AST) -> list[tuple[int, str]]:
    out = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and node.args and isinstance(node.args[0], ast.Constant) \
                and isinstance(node.args[0].value, str):
            func = node.func
            name = func.attr if isinstance(func, ast.Attribute) else \
                func.id if isinstance(func, ast.Name) else ""
            owner = func.value.id if isinstance(func, ast.Attribute) and \
                isinstance(func.value, ast.Name) else ""
            if name in _HELPERS and owner in ("docs_links", ""):
                if owner or name == "see":
                    out.append((node.lineno, node.args[0].value))
    return out


def run(options: Options) -> Result:
    """Resolve every CLI docs link against site/."""
    result = Result("cli-links", unit="urls")
    try:
        docs_links = importlib.import_module("specify_cli.docs_links")
    except ImportError as exc:
        result.problems.append(Problem("src/specify_cli/docs_links.py",
                                       f"cannot import the docs link registry: {exc}"))
        return result
    base: str = docs_links.DOCS_BASE_URL
    topics: dict[str, str] = docs_links.TOPICS
    registry = rel(Path(docs_links.__file__))
    source = Path(docs_links.__file__).read_text(encoding="utf-8").splitlines()
    checked = 0
    for topic, path in topics.items():
        checked += 1
        reason = _resolve(options.site_dir, path)
        if reason:
            line = next((i for i, text in enumerate(source, 1) if f'"{topic}"' in text), 0)
            result.problems.append(Problem(f"{registry}:{line}", f"topic {topic!r} -> {base}{path}:"
                                           f" {reason}; fix the path or the docs heading"))
    url_re = re.compile(re.escape(base) + r"[^\s'\"`<>)\]]*")
    for file in sorted(SRC_DIR.rglob("*.py")):
        text = file.read_text(encoding="utf-8")
        try:
            tree = ast.parse(text)
        except SyntaxError:
            continue
        for lineno, topic in _topic_calls(tree):
            checked += 1
            if topic not in topics:
                result.problems.append(Problem(f"{rel(file)}:{lineno}", f"docs topic {topic!r} is "
                                               f"not in docs_links.TOPICS; add it or fix the name"))
        if file.resolve() == Path(docs_links.__file__).resolve():
            continue
        for number, line in enumerate(text.splitlines(), 1):
            for match in url_re.finditer(line):
                checked += 1
                path = match.group(0)[len(base):].rstrip(".,;:")
                reason = _resolve(options.site_dir, path)
                if reason:
                    result.problems.append(Problem(f"{rel(file)}:{number}", f"{match.group(0)}: "
                                                   f"{reason}; fix the URL or the docs"))
    checked += _check_docs_topics(topics, result)
    result.count = checked
    return result


def _check_docs_topics(topics: dict[str, str], result: Result) -> int:
    """`spec-kitty docs TOPIC` in the docs or the CLI's messages must name a real topic."""
    from scripts.docs_gate._cli import PLACEHOLDER, CommandChecker, load_command
    from scripts.docs_gate.mentions import docs_mentions, source_mentions

    paths = {p for p in CommandChecker(load_command()).paths if p}
    count = 0
    for mention in docs_mentions({PROG: paths}) + source_mentions("specify_cli", PROG, paths):
        words = [w for w in mention.text.split() if not w.startswith("-")]
        if words[:2] != [PROG, "docs"] or len(words) < 3:
            continue
        topic = words[2].strip("`'\".,;:")
        count += 1
        if not PLACEHOLDER.match(topic) and topic not in topics:
            result.problems.append(Problem(mention.where, f"`{mention.text}`: {topic!r} is not a "
                                           "docs topic (see docs_links.TOPICS)"))
    return count
