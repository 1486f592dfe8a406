"""The configuration reference, rendered from the code's own models of each file."""

from __future__ import annotations

import importlib
from typing import Any

from scripts.docs_gen.schema_md import cell, code


def _toml(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return repr(value)
    return '"' + str(value).replace("\\", "\\\\").replace('"', '\\"') + '"'


def render_settings() -> str:
    """Every `config.toml` key: table, type, default, overriding variable, meaning."""
    config = importlib.import_module("specify_cli.config")
    lines = ["| Key | Type | Default | Overridden by | Description |",
             "| --- | --- | --- | --- | --- |"]
    for s in config.SETTINGS:
        default = code(_toml(s.default)) if s.default is not None else "(none)"
        env = code(s.env) if s.env else " "
        lines.append(f"| {code(s.key)} | {s.type.__name__} | {default} | {env} | "
                     f"{cell(s.help)} |")
    lines += ["", f"An example `{config.CONFIG_FILENAME}` with every key "
              "(a key left out takes its default):", "", "```toml"]
    tables: dict[str, list[Any]] = {}
    for s in config.SETTINGS:
        tables.setdefault(s.table, []).append(s)
    first = True
    for table, settings in tables.items():
        if not first:
            lines.append("")
        first = False
        lines.append(f"[{table}]")
        for s in settings:
            value = s.default if s.default is not None else _example(s)
            lines.append(f"{s.name} = {_toml(value)}")
    lines.append("```")
    return "\n".join(lines) + "\n"


def _example(setting: Any) -> Any:
    if setting.key == "server.url":
        return "https://sync.example.com"
    return setting.type()


def render_environment() -> str:
    """Every environment variable the CLI reads."""
    config = importlib.import_module("specify_cli.config")
    lines = ["| Variable | Effect |", "| --- | --- |"]
    for name, help_text in config.ENVIRONMENT.items():
        lines.append(f"| {code(name)} | {cell(help_text)} |")
    return "\n".join(lines) + "\n"
