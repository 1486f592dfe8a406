"""Check 6: the reference pages cover everything the code has, and the docs name nothing else.

- CLI reference: every command (heading `#spec-kitty-<path>`), every option and argument name,
  its help and its default, in the section of that command.
- Configuration reference: every `config.SETTINGS` key with its default and env override, every
  `config.ENVIRONMENT` variable.
- Events reference: every event type of the shipped schema and every payload field.
- Server API reference: every path and method of `spec_kitty_server.openapi.OPENAPI`.
- Every leaf command appears on at least one tutorial or how-to page.
- The other way round: `toml` blocks may only use keys of `SETTINGS`, `SPEC_KITTY_*` names must
  be known to the code, and files named under `~/.spec-kitty/` must be files the code uses.
"""

from __future__ import annotations

import ast
import html
import importlib
import re
import tomllib
from pathlib import Path
from typing import Any

from scripts.docs_gate._cli import is_group, is_option, load_command, walk
from scripts.docs_gate._common import SRC_DIR, Options, Problem, Result, rel
from scripts.docs_gate._markdown import iter_pages
from scripts.docs_gate._site import page_file, read, text_of

PAGES = {
    "cli": "reference/cli/",
    "config": "reference/configuration/",
    "events": "reference/events/",
    "server": "reference/server-api/",
}
"""Where each generated reference page lives in the built site."""

_HEADING = re.compile(r"<h[1-6][^>]*\sid=\"(spec-kitty[^\"]*)\"", re.I)


def _where(site: Path, page: Path) -> str:
    """Name a built page by its Markdown source (the file to fix or regenerate)."""
    from scripts.docs_gate.links import source_hint

    built = f"site/{page.relative_to(site)}"
    source = source_hint(built)
    return f"{source} (built {built})" if source else built


def slug(path: tuple[str, ...]) -> str:
    """mkdocs-click's anchor for a command path (`spec-kitty-auth-login`)."""
    return re.sub(r"[^a-z0-9]+", "-", " ".join(path).lower()).strip("-")


def plain(markdown: str) -> str:
    """Help text as it reads on the page: Markdown marks dropped, whitespace collapsed."""
    text = re.sub(r"[`*]", "", markdown or "")
    text = re.sub(r"\[([^\]]+)\]\([^)]+\)", r"\1", text)
    return " ".join(text.split())


def _contains(haystack: str, needle: str) -> bool:
    return plain(needle) in plain(haystack)


def _sections(markup: str) -> dict[str, str]:
    """Command anchor -> visible text of its section (up to the next command heading)."""
    marks = [(m.start(), m.group(1)) for m in _HEADING.finditer(markup)]
    out = {}
    for index, (start, anchor) in enumerate(marks):
        end = marks[index + 1][0] if index + 1 < len(marks) else len(markup)
        out[anchor] = text_of(markup[start:end])
    return out


def default_text(param: Any) -> str | None:
    """How a parameter's default reads in `--help` (None: nothing to show)."""
    if getattr(param, "show_default", None) is False or not is_option(param):
        return None
    default = getattr(param, "default", None)
    if callable(default) or default is None or default in ("", (), []):
        return None
    if getattr(param, "is_flag", False):
        if getattr(param, "secondary_opts", None):
            names = param.opts if default else param.secondary_opts
            return names[0].lstrip("-") if names else None
        return None
    value = getattr(default, "value", default)
    if isinstance(value, (list, tuple)):
        value = ", ".join(map(str, value))
    return str(value)


def _help_first(cmd: Any) -> str:
    text = (getattr(cmd, "help", None) or getattr(cmd, "short_help", None) or "").strip()
    return text.split("\n\n")[0].split("\f")[0]


def check_cli(site: Path, result: Result) -> int:
    """Every command, option, argument, help and default in the CLI reference."""
    page = page_file(site, PAGES["cli"])
    if page is None:
        result.problems.append(Problem(f"site/{PAGES['cli']}", "no CLI reference page; "
                                       "add docs/reference/cli.md with mkdocs-click"))
        return 0
    where = _where(site, page)
    sections = _sections(read(page))
    count = 0
    for path, cmd in walk(load_command()):
        anchor = slug(path)
        name = " ".join(path)
        count += 1
        section = sections.get(anchor)
        if section is None:
            result.problems.append(Problem(where, f"`{name}` has no section #{anchor}; it is "
                                           "missing from the CLI reference (regenerate it)"))
            continue
        first = _help_first(cmd)
        if first and not _contains(section, first):
            result.problems.append(Problem(where, f"#{anchor}: the help of `{name}` is not shown "
                                           f"({plain(first)[:60]!r}...)"))
        for param in getattr(cmd, "params", []):
            if getattr(param, "hidden", False):
                continue
            count += 1
            label = "/".join(param.opts) if is_option(param) else (param.name or "").upper()
            names = [*param.opts, *getattr(param, "secondary_opts", [])] if is_option(param) \
                else [param.metavar or param.name or ""]
            for option in names:
                token = option.strip("[]").lower() if not is_option(param) else option
                if not re.search(rf"(?<![\w-]){re.escape(token)}(?![\w-])", section,
                                 re.I if not is_option(param) else 0):
                    result.problems.append(Problem(where, f"#{anchor}: `{name}` {option} is "
                                                   "missing from the CLI reference"))
            help_text = getattr(param, "help", None)
            if help_text and not _contains(section, help_text):
                result.problems.append(Problem(where, f"#{anchor}: the help of `{name}` {label} "
                                               f"is not shown ({plain(help_text)[:60]!r})"))
            shown = default_text(param)
            if shown is not None and f"default: {shown}" not in section:
                result.problems.append(Problem(where, f"#{anchor}: `{name}` {label} should show "
                                               f"[default: {shown}]"))
    return count


def _reference_text(site: Path, key: str, missing: str,
                    result: Result) -> tuple[str, str] | None:
    """The location and plain text of a reference page, or None (a problem is recorded)."""
    page = page_file(site, PAGES[key])
    if page is None:
        result.problems.append(Problem(f"site/{PAGES[key]}", missing))
        return None
    return _where(site, page), text_of(read(page))


def check_config(site: Path, result: Result) -> int:
    """Every settings key (with default and env var) and environment variable."""
    config = importlib.import_module("specify_cli.config")
    found = _reference_text(site, "config", "no configuration reference", result)
    if found is None:
        return 0
    where, text = found
    count = 0
    for setting in config.SETTINGS:
        count += 1
        if setting.key not in text and not (f"[{setting.table}]" in text and
                                            re.search(rf"\b{setting.name}\b", text)):
            result.problems.append(Problem(where, f"config key {setting.key} is not documented; "
                                           "add it to the configuration reference"))
            continue
        if setting.default is not None:
            shown = {str(setting.default), repr(setting.default)}
            if isinstance(setting.default, int) and not isinstance(setting.default, bool):
                shown |= {f"{setting.default:,}", f"{setting.default:_}"}
            if not any(s in text for s in shown):
                result.problems.append(Problem(where, f"config key {setting.key}: its default "
                                               f"{setting.default!r} is not shown"))
        if setting.env and setting.env not in text:
            result.problems.append(Problem(where, f"config key {setting.key}: its override "
                                           f"{setting.env} is not mentioned"))
    for name in config.ENVIRONMENT:
        count += 1
        if name not in text:
            result.problems.append(Problem(where, f"environment variable {name} is not "
                                           "documented; add it to the configuration reference"))
    return count


def check_events(site: Path, result: Result) -> int:
    """Every envelope field, every known event type and every payload field."""
    import spec_kitty_protocol

    schema = spec_kitty_protocol.schema()
    found = _reference_text(site, "events", "no events reference", result)
    if found is None:
        return 0
    where, text = found
    count = 0
    for field in schema.get("properties", {}):
        count += 1
        if field not in text:
            result.problems.append(Problem(where, f"envelope field {field} is not documented"))
    for event_type in spec_kitty_protocol.EVENT_TYPES:
        count += 1
        if event_type not in text:
            result.problems.append(Problem(where, f"event type {event_type} is not documented"))
            continue
        definition = schema.get("definitions", {}).get(event_type, {})
        for field in definition.get("properties", {}):
            count += 1
            if field not in text:
                result.problems.append(Problem(where, f"{event_type}.{field} is not documented"))
    return count


def check_server(site: Path, result: Result) -> int:
    """Every endpoint path and method of the server's OpenAPI document."""
    try:
        openapi = importlib.import_module("spec_kitty_server.openapi").OPENAPI
    except (ImportError, AttributeError) as exc:
        result.notes.append(f"server API: spec_kitty_server.openapi.OPENAPI not available ({exc})")
        return 0
    found = _reference_text(site, "server", "no server API reference", result)
    if found is None:
        return 0
    where, text = found
    count = 0
    for path, methods in openapi.get("paths", {}).items():
        for method in methods:
            if method.lower() not in ("get", "post", "put", "patch", "delete", "head", "options"):
                continue
            count += 1
            if path not in text:
                result.problems.append(Problem(where, f"endpoint {method.upper()} {path} is not "
                                               "documented"))
            elif not re.search(rf"\b{method.upper()}\b", text):
                result.problems.append(Problem(where, f"method {method.upper()} of {path} is not "
                                               "documented"))
    return count


def check_howto_coverage(site: Path, result: Result) -> int:
    """Every leaf command appears on a tutorial or how-to page."""
    texts = []
    for section in ("tutorials", "how-to"):
        for page in sorted((site / section).rglob("*.html")) if (site / section).is_dir() else []:
            texts.append(" ".join(html.unescape(text_of(read(page))).split()))
    blob = "\n".join(texts)
    count = 0
    for path, cmd in walk(load_command()):
        if is_group(cmd) or len(path) < 2:
            continue
        count += 1
        name = " ".join(path)
        if not re.search(rf"{re.escape(name)}(?![\w-])", blob):
            result.problems.append(Problem("docs/how-to/", f"`{name}` appears in no tutorial or "
                                           "how-to page; show how to use it"))
    return count


def _source_strings() -> set[str]:
    strings: set[str] = set()
    for path in SRC_DIR.rglob("*.py"):
        try:
            tree = ast.parse(path.read_text(encoding="utf-8"))
        except SyntaxError:
            continue
        for node in ast.walk(tree):
            if isinstance(node, ast.Constant) and isinstance(node.value, str):
                strings.add(node.value)
    return strings


UPSTREAM_MARKER = "<!-- docs-gate: upstream-names -->"
"""A page with this comment maps upstream names to ours in tables whose first column is
upstream's; `check_reverse` leaves that column alone."""


def check_reverse(result: Result) -> int:
    """Names the docs use must exist in the code: config keys, env vars, home files."""
    config = importlib.import_module("specify_cli.config")
    keys = {s.key for s in config.SETTINGS}
    tables = {s.table for s in config.SETTINGS}
    strings = _source_strings()
    blob = "\n".join(strings)
    count = 0
    for page in iter_pages():
        where = rel(page.path)
        for block in page.blocks:
            if block.lang != "toml":
                continue
            try:
                data = tomllib.loads("\n".join(block.lines))
            except tomllib.TOMLDecodeError:
                continue
            if not set(data) & tables:
                continue
            for table, values in data.items():
                if not isinstance(values, dict):
                    continue
                for key in values:
                    count += 1
                    if f"{table}.{key}" not in keys:
                        result.problems.append(Problem(
                            f"{where}:{block.start}", f"config.toml key {table}.{key} does not "
                            "exist in specify_cli.config.SETTINGS; fix the docs or add the key"))
        upstream = UPSTREAM_MARKER in page.text
        for number, line in enumerate(page.text.splitlines(), 1):
            if upstream and line.startswith("|"):
                # A mapping table: its first column quotes the upstream spec-kitty names on
                # purpose; the other columns must still name what exists here.
                line = line.split("|", 2)[-1]
            for name in re.findall(r"(?<![${])\bSPEC_KITTY_[A-Z0-9_]+\b", line):
                count += 1
                if name not in config.ENVIRONMENT and name not in strings and name not in blob:
                    result.problems.append(Problem(f"{where}:{number}", f"{name} is not an "
                                                   "environment variable the code reads"))
            for name in re.findall(r"\.spec-kitty/([\w.-]+\.[a-z0-9]+)\b", line):
                count += 1
                if name not in blob:
                    result.problems.append(Problem(f"{where}:{number}", f"~/.spec-kitty/{name} is "
                                                   "not a file the code uses; fix the name"))
    return count


def run(options: Options) -> Result:
    """Run every completeness check against the built site."""
    result = Result("completeness", unit="items")
    site = options.site_dir
    counts = {
        "cli": check_cli(site, result),
        "config": check_config(site, result),
        "events": check_events(site, result),
        "server": check_server(site, result),
        "how-to": check_howto_coverage(site, result),
        "reverse": check_reverse(result),
    }
    result.count = sum(counts.values())
    result.summary = ", ".join(f"{name} {n}" for name, n in counts.items()) + " items"
    return result
