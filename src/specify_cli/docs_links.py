"""Links from the CLI to its documentation.

Every URL the CLI prints (error messages, help epilogs, `spec-kitty docs TOPIC`) is built
here from `DOCS_BASE_URL` and a path in `TOPICS`. The docs gate checks that each one resolves
to a page and anchor of the built site, so a renamed heading cannot leave the CLI pointing
at nothing.
"""

from __future__ import annotations

DOCS_BASE_URL = "https://spec-kitty-sync.netlify.app/"
"""Where the documentation is published (the `site_url` of `mkdocs.yml`)."""

TOPICS: dict[str, str] = {
    "home": "",
    "tutorial": "tutorials/server-connection/",
    "login": "how-to/authenticate/",
    "logout": "how-to/authenticate/#log-out",
    "auth-status": "how-to/authenticate/#check-your-session",
    "invalid-credentials": "how-to/authenticate/#invalid-username-or-password",
    "unreachable": "how-to/authenticate/#cannot-reach-the-server",
    "untrusted-certificate": "how-to/authenticate/#the-certificate-is-not-trusted",
    "server-unavailable": "how-to/authenticate/#the-server-is-temporarily-unavailable",
    "timeout": "how-to/authenticate/#the-server-did-not-answer-in-time",
    "ssl-cert-file": "how-to/authenticate/#ssl-cert-file-cannot-be-used",
    "no-sync-api": "how-to/authenticate/#no-sync-api",
    "unexpected-response": "how-to/authenticate/#the-server-sent-an-unexpected-response",
    "credentials-not-writable": "how-to/authenticate/#cannot-save-credentials",
    "rate-limited": "how-to/authenticate/#too-many-failed-login-attempts",
    "unsynced-events": "how-to/authenticate/#unsynced-events-of-another-account",
    "session-expired": "how-to/authenticate/#session-expired",
    "sync": "how-to/sync-to-server/",
    "workspace": "how-to/sync-workspaces/",
    "dashboard": "how-to/use-saas-dashboard/",
    "local-server": "how-to/run-local-server/",
    "architecture": "explanations/sync-architecture/",
    "cli": "reference/cli/",
    "config": "reference/configuration/",
    "events": "reference/events/",
}
"""Topic name -> path (and anchor) relative to `DOCS_BASE_URL`."""


def url(topic: str) -> str:
    """Return the absolute documentation URL of a topic.

    Args:
        topic: A key of `TOPICS`.

    Raises:
        KeyError: The topic is unknown.
    """
    return DOCS_BASE_URL + TOPICS[topic]


def see(topic: str) -> str:
    """Return ` (see URL)`, the suffix error messages use to point at the docs."""
    return f" (see {url(topic)})"
