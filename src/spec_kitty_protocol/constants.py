"""The names, patterns, limits and paths of the wire contract, each stated once.

The schema (`spec_kitty_protocol.schema`) is built from these values, the CLI checks its
input against them, the server enforces them and the docs quote them, so none of them can
drift from another copy.
"""

from __future__ import annotations

CURRENT_SCHEMA_VERSION = "1.0"
"""The `schema_version` this project writes. A missing value means this version; any `1.x`
is accepted on input."""

EVENT_TYPES: dict[str, str] = {
    "WPStatusChanged": "WorkPackage",
    "WPCreated": "WorkPackage",
    "WPAssigned": "WorkPackage",
    "FeatureCreated": "Feature",
    "FeatureCompleted": "Feature",
    "HistoryAdded": "WorkPackage",
    "ErrorLogged": "Feature",
    "DependencyResolved": "WorkPackage",
}
"""The event types this project interprets, with the `aggregate_type` each is written with.
`ErrorLogged` is about a `WorkPackage` when its payload names one, else about the `Feature`.
Other event types (the 2.x `MissionDossier…` family, for example) are valid, stored and
returned, but not interpreted."""

LANES: tuple[str, ...] = ("planned", "claimed", "in_progress", "for_review", "approved",
                          "done", "blocked", "canceled")
"""The work-package lanes of spec-kitty 2.x, in board order."""

LANE_ALIASES: dict[str, str] = {"doing": "in_progress"}
"""Older spellings accepted on input, and the lane each means. Never written."""

PHASES: tuple[str, ...] = ("implementation", "review")
"""The phases a work package is assigned for (`WPAssigned.phase`)."""

HISTORY_ENTRY_TYPES: tuple[str, ...] = ("note", "review", "error", "comment")
"""The kinds of history entry (`HistoryAdded.entry_type`)."""

ERROR_TYPES: tuple[str, ...] = ("validation", "runtime", "network", "auth", "unknown")
"""The classes of error (`ErrorLogged.error_type`)."""

DEPENDENCY_RESOLUTIONS: tuple[str, ...] = ("completed", "skipped", "merged")
"""How a dependency was resolved (`DependencyResolved.resolution_type`)."""

ULID_PATTERN = r"^[0-9A-HJKMNP-TV-Z]{26}$"
"""A ULID in canonical (upper-case Crockford base32) form."""

UUID_PATTERN = r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$"
"""A UUID in canonical (lower-case, hyphenated) form; 2.x clients may use one as an event id."""

UUID4_PATTERN = r"^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$"
"""A version-4 UUID (project ids)."""

WP_ID_PATTERN = r"^WP[0-9]{2,4}$"
"""A work-package id such as `WP01`. Stock 2.x clients accept two digits only (`WP01`-`WP99`)."""

FEATURE_SLUG_PATTERN = r"^[0-9]{3}-[a-z0-9]+(-[a-z0-9]+)*$"
"""A feature directory name such as `001-login-flow`."""

PROJECT_SLUG_PATTERN = r"^[a-z0-9][a-z0-9-]{0,99}$"
"""A project's normalised name."""

TEAM_SLUG_PATTERN = r"^[a-z0-9][a-z0-9-]{0,62}$"
"""A team's slug (`local` before any login)."""

NODE_ID_PATTERN = r"^[0-9a-f]{12}$"
"""The id of an emitting machine and user: 12 hex digits."""

EVENT_TYPE_PATTERN = r"^[A-Z][A-Za-z0-9]{0,99}$"
"""The shape of any event type name, known or not."""

TIMESTAMP_PATTERN = (r"^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}"
                     r"(\.[0-9]{1,6})?(Z|\+00:00)$")
"""An ISO-8601 UTC timestamp (`Z` or `+00:00`)."""

MAX_LAMPORT = 2**53 - 1
"""Largest Lamport clock value: the largest integer every JSON reader keeps exactly."""

MAX_LAMPORT_STEP = 1_000_000
"""Largest jump of a team's Lamport clock: the server refuses an event whose clock is more
than this above the highest clock among the team's stored events, and a client never adopts a
received clock more than this above the highest it already trusts. One hostile event can then
move nobody's clock near `MAX_LAMPORT`."""

REFRESH_GRACE_SECONDS = 60
"""For this long after a refresh token was exchanged, presenting it again returns the same
new token pair (an answer lost to a timeout or a killed client); a reuse after that is
treated as theft and revokes every refresh token descended from the same login."""

MAX_EVENT_BYTES = 64 * 1024
"""Largest event, measured as compact UTF-8 JSON."""

MAX_BATCH_EVENTS = 1000
"""Most events in one batch push."""

MAX_BODY_BYTES = 10 * 1024 * 1024
"""Largest batch body, after decompression."""

MAX_PAGE_SIZE = 1000
"""Most events one page of `GET /api/v1/events/` returns."""

TOKEN_PATH = "/api/v1/token/"
"""Exchange a user name and password for a token pair."""

REFRESH_PATH = "/api/v1/token/refresh/"
"""Exchange a refresh token for a new token pair."""

WS_TOKEN_PATH = "/api/v1/ws-token/"
"""Exchange an access token for a one-use WebSocket token."""

HEALTH_PATH = "/api/v1/sync/health/"
"""Server health and, with a token, whether the token is valid."""

BATCH_PATH = "/api/v1/events/batch/"
"""Push a batch of events."""

EVENTS_PATH = "/api/v1/events/"
"""List the team's events after a cursor (pull)."""

WS_PATH = "/ws/v1/events/"
"""The live event WebSocket."""


_CANONICAL = {**{lane: lane for lane in LANES},
              **{alias: lane for alias, lane in LANE_ALIASES.items() if lane in LANES}}
"""Every lane name `canonical_lane` knows, with the lane it names (one look-up per call)."""


def canonical_lane(lane: str) -> str | None:
    """Return the lane `lane` names (resolving `LANE_ALIASES`), or None if it names none.

    Args:
        lane: A lane as written by a user, a file or an event.
    """
    return _CANONICAL.get(lane)
