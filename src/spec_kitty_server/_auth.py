"""Password checks with rate limiting, and Bearer-token authentication of API requests."""

from __future__ import annotations

from dataclasses import dataclass

from starlette.requests import HTTPConnection

from spec_kitty_server import tokens
from spec_kitty_server._errors import RequestError
from spec_kitty_server._hashgate import HASH_RETRY_AFTER, HashGateFull
from spec_kitty_server._state import AppState
from spec_kitty_server.accounts import User, get_user
from spec_kitty_server.ratelimit import Reservation

MAX_USERNAME = 150
MAX_PASSWORD = 1024


def unauthorized(detail: str) -> RequestError:
    """A 401 with the `WWW-Authenticate: Bearer` header.

    Args:
        detail: The human sentence.

    Returns:
        The error to raise.
    """
    return RequestError(401, detail, {"WWW-Authenticate": "Bearer"})


@dataclass
class LoginResult:
    """Outcome of a password check.

    Attributes:
        user: The user when the password is right.
        retry_after: Seconds to wait when rate-limited (then `user` is `None`).
    """

    user: User | None
    retry_after: int = 0


async def check_login(st: AppState, username: str, password: str, ip: str) -> LoginResult:
    """Check a username and password, counting the attempt per address and user first.

    The attempt is counted before the password is hashed, so concurrent attempts cannot
    exceed the limit; a successful login gives its count back.

    Args:
        st: The app state.
        username: The username given.
        password: The password given.
        ip: The client address.

    Returns:
        The user, or none with the wait when rate-limited.

    Raises:
        RequestError: 503 when too many password checks are waiting already.
    """
    reservation = st.limiter.reserve(username, ip)
    if not isinstance(reservation, Reservation):
        return LoginResult(None, reservation)
    try:
        user = await st.db.read(get_user, username)
        stored = user.password_hash if user and not user.disabled else None
        ok = await st.hashes.verify(password, stored)
    except HashGateFull:
        st.limiter.release(reservation)
        raise RequestError(503, "Too many logins are being checked; try again shortly.",
                       {"Retry-After": str(HASH_RETRY_AFTER)}) from None
    except BaseException:
        st.limiter.release(reservation)
        raise
    if not ok:
        return LoginResult(None)
    st.limiter.succeeded(reservation)
    return LoginResult(user)


def bearer_token(conn: HTTPConnection) -> str | None:
    """The Bearer token of a request's `Authorization` header.

    Args:
        conn: The request or WebSocket.

    Returns:
        The token, `""` for a malformed header, or `None` when there is none.
    """
    header = conn.headers.get("authorization")
    if header is None:
        return None
    scheme, _, value = header.partition(" ")
    if scheme.lower() != "bearer" or not value.strip():
        return ""
    return value.strip()


def is_active(user: User | None, claims: tokens.Claims) -> bool:
    """Whether verified claims still belong to an enabled user of the token's team.

    Args:
        user: The claims' user as stored, if any.
        claims: Verified token claims.

    Returns:
        True when the user exists, is enabled and is in the token's team.
    """
    return user is not None and not user.disabled and user.team_slug == claims.team


INACTIVE = "This account is disabled or no longer in that team."
"""The 403 sentence for a token whose user is disabled or moved."""


async def active_user(st: AppState, claims: tokens.Claims) -> User:
    """The user of verified claims, if still enabled and in the token's team.

    Args:
        st: The app state.
        claims: Verified token claims.

    Returns:
        The user.

    Raises:
        RequestError: 403 when disabled or moved to another team.
    """
    user = await st.db.read(get_user, claims.username)
    if not is_active(user, claims):
        raise RequestError(403, INACTIVE)
    assert user is not None
    return user


def access_claims(st: AppState, conn: HTTPConnection) -> tokens.Claims:
    """Verify a request's Bearer access token, without looking at the database.

    Args:
        st: The app state.
        conn: The request.

    Returns:
        The verified claims (whether the user is still active is the caller's next check).

    Raises:
        RequestError: 401 for a missing, malformed, forged or expired token.
    """
    token = bearer_token(conn)
    if token is None:
        raise unauthorized("Authentication required: send Authorization: Bearer <access token>.")
    try:
        return tokens.verify(st.settings.secret, token, "access")
    except tokens.TokenError as exc:
        raise unauthorized(f"The access token is {exc.status}.") from None


async def authenticate(st: AppState, conn: HTTPConnection) -> User:
    """Authenticate a request by its Bearer access token.

    Args:
        st: The app state.
        conn: The request.

    Returns:
        The user.

    Raises:
        RequestError: 401 for a missing, malformed, forged or expired token; 403 for a
            disabled user.
    """
    return await active_user(st, access_claims(st, conn))
