"""Login rate limiting, per client address and per user at that address.

Every check of a password is counted *before* the slow hash runs (a reservation), so a burst
of concurrent attempts cannot slip past the limit while earlier attempts are still being
hashed. A successful login gives its reservation back and forgets the user's failures at
that address. Counting per address and user means a stranger's wrong guesses never lock a
user out at their own address. The API token endpoint and the browser login form share one
`LoginLimiter`, so switching between them does not reset the count. State is in memory: a
restart forgets it.
"""

from __future__ import annotations

import math
import time
from collections import deque
from dataclasses import dataclass


@dataclass(frozen=True)
class Reservation:
    """One counted login attempt, given back by `LoginLimiter.succeeded`.

    Attributes:
        keys: The counters it was added to.
        stamp: When it was counted.
    """

    keys: tuple[str, ...]
    stamp: float


class LoginLimiter:
    """Counts login attempts that were not successful, in a sliding window.

    Args:
        per_user: Attempts allowed per user at one address within the window.
        per_ip: Attempts allowed per client address (all users) within the window.
        window: The window, in seconds.
    """

    def __init__(self, per_user: int, per_ip: int, window: int) -> None:
        self.per_user = per_user
        self.per_ip = per_ip
        self.window = window
        self._failures: dict[str, deque[float]] = {}

    def _keys(self, username: str, ip: str) -> tuple[tuple[str, int], ...]:
        return ((f"u:{ip}|{username.lower()}", self.per_user), (f"ip:{ip}", self.per_ip))

    def reserve(self, username: str, ip: str) -> Reservation | int:
        """Count an attempt before its password is checked, unless the limit is reached.

        Args:
            username: The username tried.
            ip: The client address.

        Returns:
            The reservation, or the whole seconds to wait when limited.
        """
        now = time.monotonic()
        wait = 0.0
        keys = self._keys(username, ip)
        for key, limit in keys:
            times = self._prune(key, now)
            if len(times) >= limit:
                wait = max(wait, times[len(times) - limit] + self.window - now)
        if wait > 0:
            return max(1, math.ceil(wait))
        if len(self._failures) > 100_000:
            for key in list(self._failures):
                self._prune(key, now)
        for key, _ in keys:
            self._failures.setdefault(key, deque(maxlen=1000)).append(now)
        return Reservation(tuple(key for key, _ in keys), now)

    def succeeded(self, reservation: Reservation) -> None:
        """Give a reservation back after a successful login, and forget the user's failures.

        Args:
            reservation: The attempt's reservation.
        """
        user_key, *others = reservation.keys
        self._failures.pop(user_key, None)
        self.release(Reservation(tuple(others), reservation.stamp))

    def release(self, reservation: Reservation) -> None:
        """Give a reservation back without a verdict (the check itself failed).

        Args:
            reservation: The attempt's reservation.
        """
        for key in reservation.keys:
            times = self._failures.get(key)
            if times is not None and reservation.stamp in times:
                times.remove(reservation.stamp)
                if not times:
                    del self._failures[key]

    def _prune(self, key: str, now: float) -> deque[float]:
        times = self._failures.get(key)
        if times is None:
            return deque()
        while times and times[0] <= now - self.window:
            times.popleft()
        if not times:
            del self._failures[key]
        return times
