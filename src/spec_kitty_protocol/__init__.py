"""The spec-kitty 2.x sync wire contract, shared by the CLI and the reference server.

Everything both sides must agree on lives here and nowhere else: the event JSON Schema and
its one validator, the envelope builder (with the rule that picks each event's
`aggregate_id`), event ids, lanes and phases, slug patterns, size limits and endpoint paths.
This package imports neither `specify_cli` nor `spec_kitty_server`, so either can depend on
it without depending on the other.

The contract is the one the stock `spec-kitty-cli` 2.1 client speaks. Readers are tolerant
(a missing `schema_version`, unknown envelope or payload fields and unknown event types are
all valid); writers in this project emit only what the stock client's own rules accept.
"""

from spec_kitty_protocol.constants import (
    BATCH_PATH,
    CURRENT_SCHEMA_VERSION,
    DEPENDENCY_RESOLUTIONS,
    ERROR_TYPES,
    EVENT_TYPES,
    EVENTS_PATH,
    HEALTH_PATH,
    HISTORY_ENTRY_TYPES,
    LANE_ALIASES,
    LANES,
    MAX_BATCH_EVENTS,
    MAX_BODY_BYTES,
    MAX_EVENT_BYTES,
    MAX_LAMPORT,
    MAX_LAMPORT_STEP,
    MAX_PAGE_SIZE,
    PHASES,
    REFRESH_GRACE_SECONDS,
    REFRESH_PATH,
    TOKEN_PATH,
    WS_PATH,
    WS_TOKEN_PATH,
    canonical_lane,
)
from spec_kitty_protocol.events import (
    InvalidEventError,
    build_event,
    check_size,
    encode,
    iso_duration,
    new_event_id,
    utc_timestamp,
    validate,
    work_package_of,
)
from spec_kitty_protocol.schema import schema

__all__ = [
    "BATCH_PATH",
    "CURRENT_SCHEMA_VERSION",
    "DEPENDENCY_RESOLUTIONS",
    "ERROR_TYPES",
    "EVENTS_PATH",
    "EVENT_TYPES",
    "HEALTH_PATH",
    "HISTORY_ENTRY_TYPES",
    "InvalidEventError",
    "LANES",
    "LANE_ALIASES",
    "MAX_BATCH_EVENTS",
    "MAX_BODY_BYTES",
    "MAX_EVENT_BYTES",
    "MAX_LAMPORT",
    "MAX_LAMPORT_STEP",
    "MAX_PAGE_SIZE",
    "PHASES",
    "REFRESH_GRACE_SECONDS",
    "REFRESH_PATH",
    "TOKEN_PATH",
    "WS_PATH",
    "WS_TOKEN_PATH",
    "build_event",
    "canonical_lane",
    "check_size",
    "encode",
    "iso_duration",
    "new_event_id",
    "schema",
    "utc_timestamp",
    "validate",
    "work_package_of",
]
