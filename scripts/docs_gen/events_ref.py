"""The events reference, rendered from the shipped JSON Schema of sync events."""

from __future__ import annotations

import importlib
import json
from importlib import resources
from typing import Any

from scripts.docs_gen.schema_md import code, fields_table

SCHEMA_PACKAGE = "specify_cli.sync"
SCHEMA_RESOURCE = "schema/events.schema.json"


def schema_text() -> str:
    """The event schema file as shipped (package resource, as the CLI and server read it)."""
    return (resources.files(SCHEMA_PACKAGE) / SCHEMA_RESOURCE).read_text(encoding="utf-8")


def load_schema() -> dict[str, Any]:
    """Read the event schema the way the CLI and the server do (package resource)."""
    return json.loads(schema_text())


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
        aggregate = _aggregate_types().get(name)
        about = f"; `aggregate_type` is {code(json.dumps(aggregate))}" if aggregate else ""
        lines += [f"`event_type` is {code(json.dumps(name))}{about}. The `payload` object "
                  "holds:", ""]
        lines += fields_table(payload)
        if payload.get("additionalProperties") is False:
            lines += ["", "No other payload field is allowed."]
        lines.append("")
    return "\n".join(lines)


def schema_id() -> str:
    """The schema's `$id`."""
    return str(load_schema().get("$id", ""))


def _aggregate_types() -> dict[str, str]:
    """Event type -> default aggregate type, from the CLI's event builder (if it exists)."""
    try:
        events = importlib.import_module("specify_cli.sync.events")
    except ImportError:
        return {}
    return dict(getattr(events, "EVENT_TYPES", {}))


EXAMPLE_PAYLOAD = {"wp_id": "WP01", "from_lane": "planned", "to_lane": "doing",
                   "actor": "alice", "feature_slug": "001-login-flow"}


def render_example() -> str:
    """A complete event, built by the CLI's own builder and validated against the schema."""
    events = importlib.import_module("specify_cli.sync.events")
    event = events.build_event(
        "WPStatusChanged", dict(EXAMPLE_PAYLOAD), aggregate_id="WP01", node_id="0a1b2c3d4e5f",
        team_slug="acme", project_uuid="3f2b8c1e-5d4a-4e6f-9a7b-1c2d3e4f5a6b",
        project_slug="kitty-web", lamport_clock=7)
    events.validate(event)
    return "```json\n" + json.dumps(event, indent=2) + "\n```\n"
