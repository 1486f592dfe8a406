"""The CLI's exception hierarchy.

Every error a user can cause or meet is a `SpecKittyError` with a message written for a
human; the CLI prints it as one line and exits with its `exit_code`. Anything else is a bug.
"""

from __future__ import annotations


class SpecKittyError(Exception):
    """Base class for errors shown to the user as one line.

    Attributes:
        exit_code: The process exit status the CLI uses for this error.
    """

    exit_code: int = 1


class UsageError(SpecKittyError):
    """The user asked for something malformed (a bad URL, a bad value)."""

    exit_code = 2


class ConfigError(SpecKittyError):
    """A configuration file cannot be read, parsed or written."""


class AuthError(SpecKittyError):
    """Logging in, refreshing or using credentials failed."""


class NotAuthenticatedError(AuthError):
    """No usable credentials: the user must log in."""


class ServerError(SpecKittyError):
    """The server could not be reached or answered something unusable.

    Args:
        message: The one line shown to the user.
        status: The HTTP status the server answered, if that is the failure.

    Attributes:
        status: The HTTP status the server answered, or None when it did not answer (or
            answered a body that is not the protocol's).
    """

    def __init__(self, message: str, status: int | None = None) -> None:
        super().__init__(message)
        self.status = status


class QueueError(SpecKittyError):
    """The offline queue cannot be opened or written."""
