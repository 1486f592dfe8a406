"""JSON Web Tokens (HS256): access, refresh and WebSocket tokens.

Claims: `sub` (username), `team`, `type` (`access`, `refresh` or `ws`), `jti`, `iat`, `exp`.
Refresh-token rotation and ws-token single use are enforced by the callers, which keep the
`jti` of live and used tokens in the database.
"""

from __future__ import annotations

import secrets
import time
from dataclasses import dataclass

import jwt

ALGORITHM = "HS256"
"""The only signing algorithm accepted."""


class TokenError(Exception):
    """A token failed verification.

    Attributes:
        status: `expired` or `invalid` (the health endpoint reports it).
    """

    def __init__(self, status: str) -> None:
        super().__init__(f"token {status}")
        self.status = status


@dataclass(frozen=True)
class Claims:
    """The verified claims of a token.

    Attributes:
        username: The `sub` claim.
        team: The team slug the token was issued for.
        type: `access`, `refresh` or `ws`.
        jti: The unique token id.
        exp: Expiry (Unix seconds).
    """

    username: str
    team: str
    type: str
    jti: str
    exp: int


def issue(secret: str, username: str, team: str, token_type: str,
          lifetime: int) -> tuple[str, Claims]:
    """Create a signed token.

    Args:
        secret: The signing key.
        username: Whom the token is for.
        team: The user's team slug.
        token_type: `access`, `refresh` or `ws`.
        lifetime: Seconds until it expires.

    Returns:
        The encoded token and its claims.
    """
    now = int(time.time())
    jti = secrets.token_urlsafe(16)
    claims = {"sub": username, "team": team, "type": token_type,
              "jti": jti, "iat": now, "exp": now + lifetime}
    return sign(secret, claims), Claims(username, team, token_type, jti, now + lifetime)


def sign(secret: str, claims: dict[str, object]) -> str:
    """Encode claims as a signed token. The same claims always give the same token, so a
    pair can be handed out again from its (non-secret) claims.

    Args:
        secret: The signing key.
        claims: The claims, as `issue` builds them.

    Returns:
        The encoded token.
    """
    return jwt.encode(claims, secret, algorithm=ALGORITHM)


def verify(secret: str, token: str, token_type: str) -> Claims:
    """Verify a token's signature, expiry and type.

    Args:
        secret: The signing key.
        token: The encoded token.
        token_type: The type it must have.

    Returns:
        Its claims.

    Raises:
        TokenError: Expired, forged, malformed or of another type.
    """
    if not token or len(token) > 4096 or not token.isascii():
        raise TokenError("invalid")
    try:
        data = jwt.decode(token, secret, algorithms=[ALGORITHM],
                          options={"require": ["exp", "iat", "sub", "jti"]})
    except jwt.ExpiredSignatureError:
        raise TokenError("expired") from None
    except jwt.InvalidTokenError:
        raise TokenError("invalid") from None
    fields = (data.get("sub"), data.get("team"), data.get("type"), data.get("jti"))
    if not all(isinstance(value, str) for value in fields) or data["type"] != token_type:
        raise TokenError("invalid")
    if not isinstance(data.get("exp"), int):
        raise TokenError("invalid")
    return Claims(data["sub"], data["team"], data["type"], data["jti"], data["exp"])

