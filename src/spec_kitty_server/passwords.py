"""Password hashing with scrypt, a slow memory-hard KDF from the standard library.

Hashes are stored as `scrypt$N$r$p$salt$hash` (salt and hash in URL-safe base64) so the cost
parameters can be raised later without breaking existing users.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets

_N = 2**14
_R = 8
_P = 1
_DKLEN = 32
_MAXMEM = 64 * 1024 * 1024

_DUMMY_HASH: str | None = None


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode("ascii").rstrip("=")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def hash_password(password: str) -> str:
    """Hash a password with a fresh random salt.

    Args:
        password: The clear-text password.

    Returns:
        The encoded hash, safe to store.
    """
    salt = secrets.token_bytes(16)
    digest = hashlib.scrypt(password.encode("utf-8"), salt=salt, n=_N, r=_R, p=_P,
                            maxmem=_MAXMEM, dklen=_DKLEN)
    return f"scrypt${_N}${_R}${_P}${_b64(salt)}${_b64(digest)}"


def verify_password(password: str, encoded: str | None) -> bool:
    """Check a password against a stored hash in constant time.

    When `encoded` is `None` (unknown user) a dummy hash is checked anyway, so the answer
    takes as long as for a real user.

    Args:
        password: The clear-text password to check.
        encoded: The stored hash, or `None` for an unknown user.

    Returns:
        Whether the password matches.
    """
    global _DUMMY_HASH
    if encoded is None:
        if _DUMMY_HASH is None:
            _DUMMY_HASH = hash_password(secrets.token_hex(16))
        verify_password(password, _DUMMY_HASH)
        return False
    try:
        scheme, n, r, p, salt, digest = encoded.split("$")
        if scheme != "scrypt":
            return False
        expected = _unb64(digest)
        actual = hashlib.scrypt(password.encode("utf-8", "surrogatepass"), salt=_unb64(salt),
                                n=int(n), r=int(r), p=int(p), maxmem=_MAXMEM,
                                dklen=len(expected))
    except (ValueError, TypeError):
        return False
    return hmac.compare_digest(actual, expected)
