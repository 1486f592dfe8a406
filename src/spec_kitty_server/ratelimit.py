"""Login failure rate limiting, per username and per client address.

The API token endpoint and the browser login form share one `LoginLimiter`, so switching
between them does not reset the count. State is in memory: a restart forgets it.
"""

from __future__ import annotations

import math
import time
from collections import deque


class LoginLimiter:
    """Counts failed logins in a sliding window.

    Args:
        per_user: Failures allowed per username within the window.
        per_ip: Failures allowed per client address within the window.
        window: The window, in seconds.
    """

    def __init__(self, per_user: int, per_ip: int, window: int) -> None:
        self.per_user = per_user
        self.per_ip = per_ip
        self.window = window
        self._failures: dict[str, deque[float]] = {}

    def retry_after(self, username: str, ip: str) -> int:
        """Seconds until a login may be tried again; 0 when it may be tried now.

        Args:
            username: The username tried.
            ip: The client address.

        Returns:
            The wait in whole seconds.
        """
        now = time.monotonic()
        wait = 0.0
        for key, limit in ((f"u:{username.lower()}", self.per_user), (f"ip:{ip}", self.per_ip)):
            times = self._prune(key, now)
            if len(times) >= limit:
                wait = max(wait, times[len(times) - limit] + self.window - now)
        return math.ceil(wait) if wait > 0 else 0

    def failed(self, username: str, ip: str) -> None:
        """Record a failed login.

        Args:
            username: The username tried.
            ip: The client address.
        """
        now = time.monotonic()
        if len(self._failures) > 100_000:
            for key in list(self._failures):
                self._prune(key, now)
        for key in (f"u:{username.lower()}", f"ip:{ip}"):
            self._failures.setdefault(key, deque(maxlen=1000)).append(now)

    def succeeded(self, username: str) -> None:
        """Forget a user's failures after a successful login.

        Args:
            username: The user who logged in.
        """
        self._failures.pop(f"u:{username.lower()}", None)

    def _prune(self, key: str, now: float) -> deque[float]:
        times = self._failures.get(key)
        if times is None:
            return deque()
        while times and times[0] <= now - self.window:
            times.popleft()
        if not times:
            del self._failures[key]
        return times
