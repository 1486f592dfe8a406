"""Describe JSON Schema fragments in Markdown: a type, its constraints, a table of fields."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

Resolver = Callable[[str], dict[str, Any]]


_CODE_SPAN = re.compile(r"(`+)(?:.+?)\1")


def cell(text: str) -> str:
    """Make text safe inside a Markdown table cell: one line, pipes outside code escaped.

    Python-Markdown's tables do not split on a pipe inside a code span, and would show a
    backslash there literally, so only the pipes outside code spans are escaped.
    """
    text = " ".join(str(text).split())
    out, last = [], 0
    for match in _CODE_SPAN.finditer(text):
        out.append(text[last:match.start()].replace("|", "\\|"))
        out.append(match.group(0))
        last = match.end()
    out.append(text[last:].replace("|", "\\|"))
    return "".join(out)


def code(text: Any) -> str:
    """Wrap text in a code span that survives a table cell."""
    text = str(text)
    ticks = "``" if "`" in text else "`"
    pad = " " if ticks == "``" else ""
    return f"{ticks}{pad}{text}{pad}{ticks}"


def type_of(schema: dict[str, Any], resolve: Resolver | None = None) -> str:
    """Return a short human type for a schema: `string`, `integer`, `array of string`, ..."""
    if "$ref" in schema and resolve is not None:
        ref = schema["$ref"]
        return f"[{ref.rsplit('/', 1)[-1]}](#{anchor(ref.rsplit('/', 1)[-1])})"
    if "const" in schema:
        return code(_json(schema["const"]))
    if "enum" in schema:
        return " or ".join(code(_json(v)) for v in schema["enum"])
    for key in ("anyOf", "oneOf"):
        if key in schema:
            return " or ".join(type_of(s, resolve) for s in schema[key])
    kind = schema.get("type")
    if isinstance(kind, list):
        return " or ".join(type_of({**schema, "type": k}, resolve) for k in kind)
    if kind == "array":
        items = schema.get("items")
        return f"array of {type_of(items, resolve)}" if isinstance(items, dict) else "array"
    if kind is None:
        return "any"
    if kind == "string" and schema.get("format"):
        return f"string ({schema['format']})"
    return str(kind)


def constraints(schema: dict[str, Any]) -> str:
    """Return the validation rules of a schema as short text."""
    parts: list[str] = []
    for key in ("anyOf", "oneOf"):
        for sub in schema.get(key, []):
            sub_rules = constraints(sub)
            if sub_rules:
                parts.append(sub_rules)
    if "pattern" in schema:
        parts.append(f"matches {code(schema['pattern'])}")
    for key, word in (("minLength", "min length"), ("maxLength", "max length"),
                      ("minimum", "min"), ("maximum", "max"), ("minItems", "min items"),
                      ("maxItems", "max items")):
        if key in schema:
            parts.append(f"{word} {schema[key]}")
    if schema.get("uniqueItems"):
        parts.append("unique items")
    items = schema.get("items")
    if isinstance(items, dict):
        inner = constraints(items)
        if inner:
            parts.append(f"each item: {inner}")
    if "default" in schema:
        parts.append(f"default {code(_json(schema['default']))}")
    return "; ".join(parts)


def fields_table(schema: dict[str, Any], resolve: Resolver | None = None) -> list[str]:
    """Return a Markdown table of an object schema's properties."""
    props: dict[str, Any] = schema.get("properties", {})
    if not props:
        return []
    required = set(schema.get("required", []))
    lines = ["| Field | Type | Required | Description | Rules |",
             "| --- | --- | --- | --- | --- |"]
    for name, sub in props.items():
        lines.append(
            f"| {code(name)} | {cell(type_of(sub, resolve))} | "
            f"{'yes' if name in required else 'no'} | "
            f"{cell(sub.get('description', '') or sub.get('title', ''))} | "
            f"{cell(constraints(sub)) or ' '} |"
        )
    return lines


def anchor(name: str) -> str:
    """Return the id the toc extension gives a heading with this text."""
    from markdown.extensions.toc import slugify

    return slugify(name, "-")


def _json(value: Any) -> str:
    import json

    return json.dumps(value)
