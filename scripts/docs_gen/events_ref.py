"""The events reference, rendered from the shipped JSON Schema of sync events."""

from __future__ import annotations

import json
from importlib import resources
from typing import Any

from scripts.docs_gen.schema_md import code, fields_table

SCHEMA_PACKAGE = "specify_cli.sync"
SCHEMA_RESOURCE = "schema/events.schema.json"


def load_schema() -> dict[str, Any]:
    """Read the event schema the way the CLI and the server do (package resource)."""
    text = (resources.files(SCHEMA_PACKAGE) / SCHEMA_RESOURCE).read_text(encoding="utf-8")
    return json.loads(text)


def _event_types(schema: dict[str, Any]) -> list[str]:
    return list(schema["properties"]["event_type"]["enum"])


def render_envelope() -> str:
    """The envelope: every field every event carries."""
    schema = load_schema()
    lines = [schema.get("description", ""), ""]
    if schema.get("additionalProperties") is False:
        lines += ["No other field is allowed.", ""]
    lines += fields_table(schema)
    return "\n".join(lines) + "\n"


def render_event_types() -> str:
    """One section per event type: what it means and its payload fields."""
    schema = load_schema()
    definitions = schema.get("definitions") or schema.get("$defs") or {}
    types = _event_types(schema)
    lines = [f"There are {len(types)} event types:", ""]
    for name in types:
        desc = definitions.get(name, {}).get("description", "")
        lines.append(f"- [`{name}`](#{name.lower()}): {desc}")
    lines.append("")
    for name in types:
        payload = definitions.get(name)
        lines += [f"### {name}", ""]
        if payload is None:
            raise ValueError(f"event type {name} has no payload definition in the schema")
        lines += [payload.get("description", ""), ""]
        lines += [f"`event_type` is {code(json.dumps(name))}; the `payload` object holds:", ""]
        lines += fields_table(payload)
        if payload.get("additionalProperties") is False:
            lines += ["", "No other payload field is allowed."]
        lines.append("")
    return "\n".join(lines)


def schema_id() -> str:
    """The schema's `$id`."""
    return str(load_schema().get("$id", ""))
