"""The events reference, rendered from the wire contract (`spec_kitty_protocol`)."""

from __future__ import annotations

import json
from typing import Any

from scripts.docs_gen.schema_md import code, fields_table


def _protocol() -> Any:
    import spec_kitty_protocol

    return spec_kitty_protocol


def load_schema() -> dict[str, Any]:
    """The event schema, as the CLI and the server validate with it."""
    return _protocol().schema()


def schema_text() -> str:
    """The event schema as the JSON document the site publishes."""
    return json.dumps(load_schema(), indent=2, ensure_ascii=False) + "\n"


def render_envelope() -> str:
    """The envelope: every field every event carries, required or not."""
    schema = load_schema()
    lines = [schema.get("description", ""), ""]
    lines += fields_table(schema)
    return "\n".join(lines) + "\n"


def render_event_types() -> str:
    """One section per known event type: what it means and its payload fields."""
    p = _protocol()
    schema = load_schema()
    definitions = schema["definitions"]
    lines = [f"There are {len(p.EVENT_TYPES)} event types this project interprets:", ""]
    for name in p.EVENT_TYPES:
        lines.append(f"- [`{name}`](#{name.lower()}): {definitions[name]['description']}")
    lines.append("")
    for name, aggregate in p.EVENT_TYPES.items():
        payload = definitions[name]
        lines += [f"### {name}", "", payload["description"], ""]
        about = (f"`aggregate_type` is {code(json.dumps(aggregate))}"
                 if name != "ErrorLogged" else
                 "`aggregate_type` is `\"WorkPackage\"` when `wp_id` is set, else "
                 "`\"Feature\"`")
        lines += [f"`event_type` is {code(json.dumps(name))}; {about}. The `payload` object "
                  "holds:", ""]
        lines += fields_table(payload)
        lines.append("")
    return "\n".join(lines)


def render_compatibility() -> str:
    """What a reader accepts beyond what this project writes (the 2.x wire format)."""
    p = _protocol()
    aliases = ", ".join(f"`{old}` (read as `{new}`)" for old, new in p.LANE_ALIASES.items())
    return "\n".join([
        f"- **Lanes.** The lanes are {', '.join(f'`{lane}`' for lane in p.LANES)}, as in "
        f"spec-kitty 2.x. Also accepted on input: {aliases}; this CLI never writes it.",
        f"- **`schema_version`** may be missing (it then means "
        f"`{p.CURRENT_SCHEMA_VERSION}`); any `1.x` is accepted.",
        "- **Unknown fields**, in the envelope or in a payload, are valid: the server stores "
        "them and returns them unchanged on pull. The 2.x fields `git_branch`, "
        "`head_commit_sha`, `repo_slug`, `correlation_id` and `policy_metadata` are such "
        "fields: stored, typed above, not interpreted.",
        "- **Unknown event types** (such as 2.x's `MissionDossierArtifactIndexed`) are valid "
        "when their envelope is: stored, acknowledged `success`, returned on pull and listed "
        "in the activity feed by type. The board ignores them.",
        "- **Event ids** may be ULIDs (what this CLI writes) or UUIDs in canonical form.",
        "- **Work-package ids** may have 2 to 4 digits; stock 2.x clients accept only two "
        "(`WP01` to `WP99`), so a project that syncs with them keeps to those.",
        "- **Work packages** are named `<feature>/<WP>` in `aggregate_id` by this CLI, and "
        "every work-package payload it writes carries `feature_slug`. A stock 2.x event that "
        "names only a bare id such as `WP01` moves a card on the board only when exactly one "
        "feature of the project has that work package.",
        "- **Rejected** are events that are really malformed: no or a bad id, a known type "
        "missing a required payload field, a value of the wrong type, another team's "
        f"`team_slug`, or more than {p.MAX_EVENT_BYTES // 1024} KiB. Each rejection names the "
        "field and starts with `invalid`, which stock 2.x clients report as "
        "`schema_mismatch`.",
        "",
    ])


EXAMPLE_PAYLOAD = {"wp_id": "WP01", "from_lane": "planned", "to_lane": "in_progress",
                   "actor": "alice", "feature_slug": "001-login-flow"}


def render_example() -> str:
    """A complete event, built by the shared builder and validated by the shared validator."""
    p = _protocol()
    event = p.build_event(
        "WPStatusChanged", dict(EXAMPLE_PAYLOAD), node_id="0a1b2c3d4e5f",
        team_slug="acme", project_uuid="3f2b8c1e-5d4a-4e6f-9a7b-1c2d3e4f5a6b",
        project_slug="kitty-web", lamport_clock=7)
    p.validate(event)
    return "```json\n" + json.dumps(event, indent=2) + "\n```\n"


def render_schema() -> str:
    """The whole schema as a collapsed JSON code block."""
    body = "".join(f"    {line}" if line.strip() else line
                   for line in ("```json\n" + schema_text() + "```\n").splitlines(True))
    return '??? note "events-1.0.json"\n\n' + body


def schema_id() -> str:
    """The schema's `$id`."""
    return str(load_schema().get("$id", ""))
