"""Facts stated in the prose, inserted from the code at build time.

A page writes `{{ fact:sync.interval }}` (or `{{ fact:sync.interval | duration }}`, or
`{{ fact:specify_cli.config:DEFAULT_QUEUE_CAP | number }}`) and the hook replaces it with the
value imported from the code, so changing a default in the code changes every page that
states it. An unknown fact, a missing attribute or an unknown filter is a build warning,
which fails the strict build. Write `\\{{ fact:... }}` to show the syntax literally.
"""

from __future__ import annotations

import importlib
import re
from collections.abc import Callable
from typing import Any

FACTS: dict[str, tuple[str, str]] = {
    # name: (module, attribute)
    "version": ("specify_cli", "__version__"),
    "sync.interval": ("specify_cli.config", "DEFAULT_SYNC_INTERVAL_SECONDS"),
    "queue.cap": ("specify_cli.config", "DEFAULT_QUEUE_CAP"),
    "http.timeout": ("specify_cli.config", "DEFAULT_HTTP_TIMEOUT_SECONDS"),
    "home.default": ("specify_cli.config", "DEFAULT_HOME"),
    "config.filename": ("specify_cli.config", "CONFIG_FILENAME"),
    "env.home": ("specify_cli.config", "HOME_ENV"),
    "env.server_url": ("specify_cli.config", "SERVER_URL_ENV"),
    "queue.local_scope": ("specify_cli.account.scope", "LOCAL_SCOPE"),
    "credentials.filename": ("specify_cli.account.credentials", "CREDENTIALS_FILENAME"),
    "auth.refresh_margin": ("specify_cli.account.credentials", "REFRESH_MARGIN_SECONDS"),
    "project.dir": ("specify_cli.project.config", "KITTIFY_DIR"),
    "project.config_name": ("specify_cli.project.config", "CONFIG_NAME"),
    "env.auto_start": ("specify_cli.project.config", "AUTO_START_ENV"),
    "batch.size": ("specify_cli.sync.batch", "BATCH_SIZE"),
    "batch.max_bytes": ("specify_cli.sync.batch", "MAX_BATCH_BYTES"),
    "pull.page_size": ("specify_cli.sync.pull", "PAGE_SIZE"),
    "backoff.start": ("specify_cli.sync.background", "BACKOFF_START_SECONDS"),
    "backoff.max": ("specify_cli.sync.background", "BACKOFF_MAX_SECONDS"),
    "ws.reconnect_start": ("specify_cli.sync.websocket", "RECONNECT_START_SECONDS"),
    "ws.reconnect_max": ("specify_cli.sync.websocket", "RECONNECT_MAX_SECONDS"),
    "ws.max_failures": ("specify_cli.sync.websocket", "MAX_FAILURES"),
    "flush.wait": ("specify_cli.sync.flush", "FLUSH_WAIT_SECONDS"),
    "event.max_bytes": ("spec_kitty_protocol", "MAX_EVENT_BYTES"),
    "event.schema_version": ("spec_kitty_protocol", "CURRENT_SCHEMA_VERSION"),
    "event.types": ("spec_kitty_protocol", "EVENT_TYPES"),
    "event.lanes": ("spec_kitty_protocol", "LANES"),
    "token.access_lifetime": ("spec_kitty_server.settings", "DEFAULT_ACCESS_LIFETIME"),
    "token.refresh_lifetime": ("spec_kitty_server.settings", "DEFAULT_REFRESH_LIFETIME"),
    "ws_token.lifetime": ("spec_kitty_server.settings", "WS_TOKEN_LIFETIME"),
    "ws.ping_interval": ("spec_kitty_server.settings", "DEFAULT_WS_PING_INTERVAL"),
    "server.session_lifetime": ("spec_kitty_server.settings", "SESSION_LIFETIME"),
    "server.default_db": ("spec_kitty_server.settings", "DEFAULT_DB"),
    "env.server_db": ("spec_kitty_server.settings", "DB_ENV"),
    "env.server_secret": ("spec_kitty_server.settings", "SECRET_ENV"),
    "server.max_events": ("spec_kitty_protocol", "MAX_BATCH_EVENTS"),
    "server.max_body_bytes": ("spec_kitty_protocol", "MAX_BODY_BYTES"),
    "server.max_event_bytes": ("spec_kitty_protocol", "MAX_EVENT_BYTES"),
    "server.pull_limit_default": ("spec_kitty_server.api", "DEFAULT_LIMIT"),
    "server.pull_limit_max": ("spec_kitty_server.api", "MAX_LIMIT"),
    "dashboard.page_size": ("spec_kitty_server.dashboards", "PAGE_SIZE"),
    "ws.missed_pongs": ("spec_kitty_server.ws", "MISSED_PONGS_LIMIT"),
    "board.refresh": ("spec_kitty_server.dashboards", "BOARD_REFRESH_SECONDS"),
    "exit.failure": ("specify_cli.errors", "SpecKittyError.exit_code"),
    "exit.usage": ("specify_cli.errors", "UsageError.exit_code"),
    "exit.unreachable": ("specify_cli.cli.commands.sync_status", "CHECK_EXIT_CODES.Unreachable"),
}
"""Short names for the facts the pages state most."""

FACT_RE = re.compile(r"(\\?)\{\{\s*fact:\s*([^}|\\\s]+)\s*(?:\\?\|\s*([a-z_]+)\s*)?\}\}")
"""`{{ fact:NAME }}` or `{{ fact:NAME | FILTER }}` (`\\|` inside a table); a leading
backslash escapes the whole fact."""

ALLOWED_PACKAGES = ("spec_kitty_protocol", "specify_cli", "spec_kitty_server")


class FactError(Exception):
    """A fact cannot be resolved; the message says why."""


def _duration(value: Any) -> str:
    if isinstance(value, float) and not value.is_integer():
        return f"{value:g} seconds"
    seconds = int(value)
    for unit, size in (("day", 86400), ("hour", 3600), ("minute", 60)):
        if seconds >= size and seconds % size == 0:
            n = seconds // size
            return f"{n} {unit}{'s' if n != 1 else ''}"
    return f"{seconds} second{'s' if seconds != 1 else ''}"


def _plain(value: Any) -> str:
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def _number(value: Any) -> str:
    return f"{value:,}" if isinstance(value, int) else _plain(value)


def _bytes(value: Any) -> str:
    size = int(value)
    for unit, factor in (("MiB", 1024 * 1024), ("KiB", 1024)):
        if size >= factor and size % factor == 0:
            return f"{size // factor} {unit}"
    return f"{size} bytes"


_NUMBER_WORDS = ("zero", "one", "two", "three", "four", "five", "six", "seven", "eight",
                 "nine", "ten", "eleven", "twelve")


def _count(value: Any) -> str:
    n = len(value)
    return _NUMBER_WORDS[n] if n < len(_NUMBER_WORDS) else str(n)


FILTERS: dict[str, Callable[[Any], str]] = {
    "bytes": _bytes,
    "count": _count,
    "plain": _plain,
    "number": _number,
    "duration": _duration,
    "code": lambda v: f"`{_plain(v)}`",
}
"""How a value can be written: `plain` (default), `number` (100,000), `duration` (5 minutes),
`code` (in backticks), `bytes` (64 KiB), `count` (the number of items, in words)."""


def lookup(name: str) -> Any:
    """Import the value a fact names.

    Args:
        name: A short name from `FACTS`, or `package.module:ATTRIBUTE` inside the project.

    Returns:
        The value.

    Raises:
        FactError: The name is unknown or the value cannot be imported.
    """
    if name in FACTS:
        module_name, attr = FACTS[name]
    elif ":" in name:
        module_name, _, attr = name.partition(":")
        if module_name.split(".")[0] not in ALLOWED_PACKAGES:
            raise FactError(f"unknown fact {name!r}: modules must be in "
                            f"{' or '.join(ALLOWED_PACKAGES)}")
    else:
        import difflib

        close = difflib.get_close_matches(name, FACTS, n=3)
        hint = f"did you mean {', '.join(close)}? " if close else ""
        raise FactError(f"unknown fact {name!r}; {hint}facts are listed in "
                        "scripts/docs_gen/facts.py (FACTS), or write MODULE:ATTRIBUTE")
    try:
        module = importlib.import_module(module_name)
    except ImportError as exc:
        raise FactError(f"fact {name!r}: cannot import {module_name} ({exc})") from None
    value: Any = module
    for part in attr.split("."):
        if isinstance(value, dict) and part in value:
            value = value[part]  # a key of a dict constant: `CHECK_EXIT_CODES.Unreachable`
            continue
        if not hasattr(value, part):
            raise FactError(f"fact {name!r}: {module_name} has no attribute {attr!r}")
        value = getattr(value, part)
    return value


def render(name: str, filter_name: str | None = None) -> str:
    """Return the text of a fact, formatted with a filter.

    Raises:
        FactError: Unknown fact or filter, or the value cannot be imported.
    """
    value = lookup(name)
    fmt = FILTERS.get(filter_name or "plain")
    if fmt is None:
        raise FactError(f"unknown filter {filter_name!r} for fact {name!r}; "
                        f"use one of {', '.join(FILTERS)}")
    try:
        return fmt(value)
    except (TypeError, ValueError) as exc:
        raise FactError(f"fact {name!r} cannot be shown as {filter_name}: {exc}") from None


def substitute(markdown: str) -> tuple[str, list[tuple[int, str]]]:
    """Replace every fact in a page.

    Returns:
        The new Markdown, and (line, message) for each fact that failed.
    """
    problems: list[tuple[int, str]] = []

    def _one(match: re.Match[str]) -> str:
        if match.group(1):
            return match.group(0)[1:]
        try:
            return render(match.group(2), match.group(3))
        except FactError as exc:
            line = markdown.count("\n", 0, match.start()) + 1
            problems.append((line, str(exc)))
            return match.group(0)

    return FACT_RE.sub(_one, markdown), problems
