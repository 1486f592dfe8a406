"""The JSON Schema of a sync event, built from `constants` so it cannot disagree with them.

The schema is what a *reader* accepts: the 2.x wire format, tolerantly. Unknown envelope and
payload fields are allowed (and kept), `schema_version` may be missing, and an event type
this project does not interpret is valid as long as its envelope is. The payload rules of
the known types are the stock 2.1 client's own (`_PAYLOAD_RULES`), widened only where this
project's earlier releases wrote something else (`doing`, `WP0001`, a numeric duration).
The docs publish this schema at its `$id`.
"""

from __future__ import annotations

import copy
import functools
from typing import Any

from spec_kitty_protocol import constants as c

SCHEMA_ID = "https://spec-kitty-sync.netlify.app/schemas/events-1.0.json"
"""The schema's `$id`, where the docs site publishes it."""


def _string(description: str, *, pattern: str | None = None, max_length: int | None = None,
            min_length: int | None = None, nullable: bool = False) -> dict[str, Any]:
    rule: dict[str, Any] = {"type": "string"}
    if pattern:
        rule["pattern"] = pattern
    if min_length is not None:
        rule["minLength"] = min_length
    if max_length is not None:
        rule["maxLength"] = max_length
    if nullable:
        return {"anyOf": [rule, {"type": "null"}], "description": description}
    return {**rule, "description": description}


def _enum(values: tuple[str, ...] | list[str], description: str) -> dict[str, Any]:
    return {"type": "string", "enum": list(values), "description": description}


def _count(description: str) -> dict[str, Any]:
    return {"type": "integer", "minimum": 0, "maximum": c.MAX_LAMPORT,
            "description": description}


def _wp_id(description: str = "Work-package id, such as `WP01`.") -> dict[str, Any]:
    return _string(description, pattern=c.WP_ID_PATTERN)


def _feature(description: str = "Feature directory name under `kitty-specs/`, such as "
             "`001-login-flow`.", *, nullable: bool = False) -> dict[str, Any]:
    return _string(description, pattern=c.FEATURE_SLUG_PATTERN, max_length=100,
                   nullable=nullable)


def _payload(description: str, required: list[str], properties: dict[str, Any]
             ) -> dict[str, Any]:
    return {"type": "object", "description": description, "required": required,
            "properties": properties}


_LANES_IN = [*c.LANES, *c.LANE_ALIASES]

_PAYLOADS: dict[str, dict[str, Any]] = {
    "WPStatusChanged": _payload("A work package moved from one lane to another.",
                                ["wp_id", "from_lane", "to_lane"], {
        "wp_id": _wp_id(),
        "from_lane": _enum(_LANES_IN, "The lane it left (`doing` means `in_progress`)."),
        "to_lane": _enum(_LANES_IN, "The lane it entered (`doing` means `in_progress`)."),
        "actor": _string("Who moved it (user or agent).", max_length=200, nullable=True),
        "feature_slug": _feature(nullable=True),
        "policy_metadata": {"type": ["object", "null"],
                            "description": "Policy data of the 2.x workflow; stored, not read."},
    }),
    "WPCreated": _payload("A work package was registered.",
                          ["wp_id", "title", "feature_slug"], {
        "wp_id": _wp_id(),
        "title": _string("The work package's title.", min_length=1, max_length=500),
        "dependencies": {"type": "array", "items": _wp_id(), "maxItems": 200,
                         "description": "Ids of the work packages it depends on."},
        "feature_slug": _feature(),
    }),
    "WPAssigned": _payload("A work package was assigned to an agent.",
                           ["wp_id", "agent_id", "phase"], {
        "wp_id": _wp_id(),
        "agent_id": _string("The agent or person assigned.", min_length=1, max_length=200),
        "phase": _enum(c.PHASES, "The phase of work."),
        "retry_count": _count("Earlier assignments of this work package in the same phase."),
        "feature_slug": _feature("The work package's feature; written by this CLI, absent "
                                 "from stock 2.x events.", nullable=True),
    }),
    "FeatureCreated": _payload("A feature was registered (`spec-kitty agent feature "
                               "finalize-tasks`).",
                               ["feature_slug", "feature_number", "target_branch",
                                "wp_count"], {
        "feature_slug": _feature(),
        "feature_number": _string("The feature's three-digit number.", pattern=r"^[0-9]{3}$"),
        "target_branch": _string("The git branch the feature merges into.", min_length=1,
                                 max_length=250),
        "wp_count": _count("Number of work packages."),
        "created_at": _string("When the feature was created (UTC).",
                              pattern=c.TIMESTAMP_PATTERN),
    }),
    "FeatureCompleted": _payload("The last work package of a feature reached `done`.",
                                 ["feature_slug", "total_wps"], {
        "feature_slug": _feature(),
        "total_wps": _count("Number of work packages."),
        "completed_at": _string("When the last work package reached `done` (UTC).",
                                pattern=c.TIMESTAMP_PATTERN),
        "total_duration": {"anyOf": [{"type": "string", "maxLength": 100},
                                     {"type": "number", "minimum": 0}, {"type": "null"}],
                           "description": "Time from the feature's creation to its "
                                          "completion, as an ISO-8601 duration such as "
                                          "`PT3600S` (earlier releases wrote seconds)."},
    }),
    "HistoryAdded": _payload("A history entry was added to a work package.",
                             ["wp_id", "entry_type", "entry_content"], {
        "wp_id": _wp_id(),
        "entry_type": _enum(c.HISTORY_ENTRY_TYPES, "Kind of entry."),
        "entry_content": _string("The entry text.", min_length=1, max_length=10000),
        "author": _string("Who wrote the entry.", max_length=200, nullable=True),
        "feature_slug": _feature("The work package's feature; written by this CLI, absent "
                                 "from stock 2.x events.", nullable=True),
    }),
    "ErrorLogged": _payload("A command failed after it had started.",
                            ["error_type", "error_message"], {
        "error_type": _enum(c.ERROR_TYPES, "The class of error."),
        "error_message": _string("The one-line message shown to the user.", min_length=1,
                                 max_length=10000),
        "wp_id": _string("The work package concerned, if any.", pattern=c.WP_ID_PATTERN,
                         nullable=True),
        "stack_trace": _string("A stack trace, if any.", max_length=50000, nullable=True),
        "agent_id": _string("The agent concerned, if any.", max_length=200, nullable=True),
        "feature_slug": _feature("The feature concerned; written by this CLI, absent from "
                                 "stock 2.x events.", nullable=True),
    }),
    "DependencyResolved": _payload("A work package's dependency was resolved.",
                                   ["wp_id", "dependency_wp_id", "resolution_type"], {
        "wp_id": _wp_id(),
        "dependency_wp_id": _wp_id("The dependency that was resolved."),
        "resolution_type": _enum(c.DEPENDENCY_RESOLUTIONS, "How the dependency was resolved."),
        "feature_slug": _feature("The work packages' feature; written by this CLI, absent "
                                 "from stock 2.x events.", nullable=True),
    }),
}

_EVENT_ID = f"{c.ULID_PATTERN}|{c.UUID_PATTERN}"

_ENVELOPE: dict[str, Any] = {
    "event_id": _string("Id of the event: a ULID (what this CLI writes) or a UUID; unique "
                        "within a team.", pattern=_EVENT_ID),
    "event_type": _string("What happened: one of the event types below, or another type "
                          "(stored and returned, not interpreted).",
                          pattern=c.EVENT_TYPE_PATTERN),
    "aggregate_id": _string("Id of the thing the event is about: `<feature>/<WP>` for a work "
                            "package (a bare WP id from stock 2.x clients), the feature slug "
                            "for a feature.", min_length=1, max_length=200),
    "aggregate_type": _string("Kind of thing `aggregate_id` names, such as `WorkPackage` or "
                              "`Feature`.", pattern=r"^[A-Z][A-Za-z0-9]{0,63}$"),
    "payload": {"type": "object", "description": "Fields of the event type (see the event "
                                                 "types)."},
    "node_id": _string("Stable id of the machine and user that emitted the event.",
                       pattern=c.NODE_ID_PATTERN),
    "lamport_clock": {"type": "integer", "minimum": 0, "maximum": c.MAX_LAMPORT,
                      "description": "Lamport clock value on the emitting node."},
    "causation_id": _string("Id shared by the events of one user action, or null.",
                            pattern=_EVENT_ID, nullable=True),
    "timestamp": _string("When the event was emitted (UTC, ISO-8601). Shown, never used for "
                         "ordering.", pattern=c.TIMESTAMP_PATTERN),
    "team_slug": _string("Team the event belongs to.", pattern=c.TEAM_SLUG_PATTERN),
    "project_uuid": _string("The project's UUID (uuid4).", pattern=c.UUID4_PATTERN),
    "project_slug": _string("The project's normalised name.", pattern=c.PROJECT_SLUG_PATTERN),
    "schema_version": _string("Version of this schema; missing means "
                              f"`{c.CURRENT_SCHEMA_VERSION}`. Any `1.x` is accepted.",
                              pattern=r"^1\.[0-9]{1,4}$"),
    "correlation_id": _string("Id correlating events across actions (2.x), or null.",
                              pattern=_EVENT_ID, nullable=True),
    "git_branch": _string("The git branch the event was emitted on (2.x), or null.",
                          max_length=500, nullable=True),
    "head_commit_sha": _string("The commit checked out when the event was emitted (2.x), "
                               "or null.", max_length=100, nullable=True),
    "repo_slug": _string("The repository as `owner/name` (2.x), or null.", max_length=500,
                         nullable=True),
}

_REQUIRED = ["event_id", "event_type", "aggregate_id", "aggregate_type", "payload", "node_id",
             "lamport_clock", "timestamp", "team_slug", "project_uuid", "project_slug"]


@functools.cache
def _build() -> dict[str, Any]:
    return {
        "$schema": "http://json-schema.org/draft-07/schema#",
        "$id": SCHEMA_ID,
        "title": "spec-kitty sync event",
        "description": "The envelope every sync event shares; `payload` depends on "
                       "`event_type`. Fields not listed here are allowed, stored and returned "
                       "unchanged.",
        "type": "object",
        "required": _REQUIRED,
        "properties": _ENVELOPE,
        "allOf": [{"if": {"properties": {"event_type": {"const": name}}},
                   "then": {"properties": {"payload": {"$ref": f"#/definitions/{name}"}}}}
                  for name in c.EVENT_TYPES],
        "definitions": _PAYLOADS,
    }


def schema() -> dict[str, Any]:
    """Return the event JSON Schema (a fresh copy the caller may change)."""
    return copy.deepcopy(_build())


def envelope_schema() -> dict[str, Any]:
    """Return the schema of the envelope alone (no payload rules), shared, not to be changed."""
    return {k: v for k, v in _build().items() if k not in ("allOf", "definitions")}


def payload_schema(event_type: str) -> dict[str, Any] | None:
    """Return the payload schema of a known event type, or None for any other type.

    Args:
        event_type: The event's `event_type`.
    """
    found = _PAYLOADS.get(event_type)
    return None if found is None else {"$schema": _build()["$schema"], **found}
