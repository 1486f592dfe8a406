"""The configuration reference, rendered from the code's own models of each file."""

from __future__ import annotations

import importlib
from typing import Any

from scripts.docs_gen.schema_md import cell, code

_TOML_TYPES = {str: "string", int: "integer", float: "float", bool: "boolean"}


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
        kind = _TOML_TYPES.get(s.type, s.type.__name__)
        lines.append(f"| {code(s.key)} | {kind} | {default} | {env} | "
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


def env_constants(package: str) -> dict[str, str]:
    """Every `*_ENV` string constant of a package, value -> its docstring (static analysis).

    Args:
        package: A package under src/, such as `specify_cli`.
    """
    import griffe

    src = str(importlib.import_module(package).__path__[0]).rsplit("/", 1)[0]
    root = griffe.load(package, search_paths=[src], resolve_aliases=False)
    found: dict[str, str] = {}

    def walk(module: griffe.Module) -> None:
        for member in module.members.values():
            if member.is_alias:
                continue
            if member.is_module:
                walk(member)  # type: ignore[arg-type]
            elif member.is_attribute and member.name.endswith("_ENV"):
                value = str(member.value or "").strip("'\"")
                if value:
                    found[value] = member.docstring.value if member.docstring else ""

    walk(root)
    return found


def render_environment() -> str:
    """Every environment variable the CLI reads: `ENVIRONMENT`, plus any `*_ENV` constant."""
    config = importlib.import_module("specify_cli.config")
    rows = dict(config.ENVIRONMENT)
    for name, doc in env_constants("specify_cli").items():
        rows.setdefault(name, doc)
    lines = ["| Variable | Effect |", "| --- | --- |"]
    for name, help_text in rows.items():
        lines.append(f"| {code(name)} | {cell(help_text)} |")
    return "\n".join(lines) + "\n"


def render_server_environment() -> str:
    """Every environment variable the reference server reads (its `*_ENV` constants)."""
    rows = env_constants("spec_kitty_server")
    lines = ["| Variable | Effect |", "| --- | --- |"]
    for name, help_text in rows.items():
        lines.append(f"| {code(name)} | {cell(help_text)} |")
    return "\n".join(lines) + "\n"


_YAML_EXAMPLES = {"uuid": "3f2b8c1e-5d4a-4e6f-9a7b-1c2d3e4f5a6b", "slug": "kitty-web",
                  "node_id": "0a1b2c3d4e5f", "auto_start": "true"}


def render_project() -> str:
    """The keys of `.kittify/config.yaml`, from `specify_cli.project.config`."""
    pc = importlib.import_module("specify_cli.project.config")
    path = f"{pc.KITTIFY_DIR}/{pc.CONFIG_NAME}"
    keys: dict[str, str] = pc.KEYS
    markers = [f"`{m}`" for m in pc.MARKERS]
    lines = [f"The file is `{path}` at the project root: the nearest directory, from the "
             f"current one upwards, that holds {markers[0]}; if none does, the nearest that "
             f"holds {markers[1]}; then {', then '.join(markers[2:])}"
             if len(markers) > 2 else
             f"The file is `{path}` at the project root (the nearest directory, from the "
             f"current one upwards, that holds {' or '.join(markers)})", ""]
    lines[0] += ". It is YAML, written atomically; comments in it are not kept."
    lines += ["| Key | Meaning |", "| --- | --- |"]
    for key, help_text in keys.items():
        lines.append(f"| {code(key)} | {cell(help_text)} |")
    lines += ["", "For example (the values are illustrations):", "", "```yaml"]
    tables: dict[str, list[str]] = {}
    for key in keys:
        table, _, name = key.partition(".")
        tables.setdefault(table, []).append(name)
    for table, names in tables.items():
        lines.append(f"{table}:")
        lines += [f"  {name}: {_YAML_EXAMPLES.get(name, '...')}" for name in names]
    lines += ["```", ""]
    lines += [f"`{pc.AUTO_START_ENV}` (`1`/`true` or `0`/`false`) overrides "
              "`sync.auto_start`.", ""]
    return "\n".join(lines) + "\n"


def _placeholder(key: str) -> str:
    if key.endswith("_token"):
        return "<secret>"
    if key.endswith("_at"):
        return "2026-01-01T12:00:00Z"
    return {"server_url": "https://sync.example.com", "username": "alice",
            "team_slug": "acme"}.get(key, "...")


def render_credentials() -> str:
    """The credentials file: where it lives, its mode and every key (values are placeholders)."""
    import json

    auth = importlib.import_module("specify_cli.account.credentials")
    config = importlib.import_module("specify_cli.config")
    name = auth.CREDENTIALS_FILENAME
    lines = [f"`{name}` lives in the spec-kitty home (`{config.DEFAULT_HOME}/{name}`, or "
             f"`${config.HOME_ENV}/{name}`). The CLI writes it atomically with mode 0600 under "
             "a file lock; never edit it by hand, and never share it: it holds tokens. "
             "`spec-kitty auth logout` deletes it.", "",
             "| Key | Meaning |", "| --- | --- |"]
    for key, help_text in auth.CREDENTIAL_FIELDS.items():
        lines.append(f"| {code(key)} | {cell(help_text)} |")
    example = {key: _placeholder(key) for key in auth.CREDENTIAL_FIELDS}
    lines += ["", "Its shape (placeholders, not real values):", "", "```json",
              json.dumps(example, indent=2), "```"]
    return "\n".join(lines) + "\n"
