"""Minimal ULID encoding (Crockford base32), for demo data and tests."""

from __future__ import annotations

import random
import time

_ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"


def ulid(ms: int | None = None, rng: random.Random | None = None) -> str:
    """Build a ULID.

    Args:
        ms: Milliseconds since the epoch (now when omitted).
        rng: Source of the 80 random bits (the `secrets`-grade system source when omitted).

    Returns:
        The 26-character ULID.
    """
    if ms is None:
        ms = int(time.time() * 1000)
    bits = (rng or random.SystemRandom()).getrandbits(80)
    value = (ms << 80) | bits
    chars = []
    for _ in range(26):
        chars.append(_ALPHABET[value & 31])
        value >>= 5
    return "".join(reversed(chars))
