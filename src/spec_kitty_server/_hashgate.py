"""At most a few password hashes at once, whatever the burst of logins.

scrypt is slow and memory-hard on purpose (about 16 MiB and tens of milliseconds per check).
Unbounded, a burst of logins from many addresses would occupy every worker thread and all the
CPU. The gate lets `MAX_CONCURRENT_HASHES` checks run at once and `MAX_WAITING_HASHES` wait;
a check beyond that is refused at once (answered 503 with `Retry-After`) instead of queueing.
It also remembers the most checks that ever ran at once, which the server logs when it stops.
"""

from __future__ import annotations

import asyncio

from starlette.concurrency import run_in_threadpool

from spec_kitty_server.passwords import verify_password

MAX_CONCURRENT_HASHES = 2
"""Password checks that may run at the same time (one per core of a small machine)."""

MAX_WAITING_HASHES = 64
"""Password checks that may wait for a free slot; more are refused with 503."""

HASH_RETRY_AFTER = 1
"""`Retry-After` seconds sent when a password check is refused because too many wait."""


class HashGateFull(Exception):
    """Too many password checks are waiting already."""


class HashGate:
    """A bounded semaphore around `verify_password`, with a cap on waiters.

    Args:
        limit: Checks that may run at once.
        waiting: Checks that may wait.
    """

    def __init__(self, limit: int = MAX_CONCURRENT_HASHES,
                 waiting: int = MAX_WAITING_HASHES) -> None:
        self.limit = limit
        self.max_waiting = waiting
        self._semaphore = asyncio.BoundedSemaphore(limit)
        self._waiting = 0
        self.running = 0
        self.peak = 0
        self.checks = 0
        self.refused = 0

    async def verify(self, password: str, encoded: str | None) -> bool:
        """Check a password in a worker thread once a slot is free.

        Args:
            password: The clear-text password.
            encoded: The stored hash, or `None` for an unknown user.

        Returns:
            Whether it matches.

        Raises:
            HashGateFull: Too many checks are waiting.
        """
        if self._waiting >= self.max_waiting:
            self.refused += 1
            raise HashGateFull()
        self._waiting += 1
        try:
            await self._semaphore.acquire()
        finally:
            self._waiting -= 1
        try:
            self.running += 1
            self.peak = max(self.peak, self.running)
            self.checks += 1
            return await run_in_threadpool(verify_password, password, encoded)
        finally:
            self.running -= 1
            self._semaphore.release()

    def summary(self) -> str:
        """One log line: how many checks ran, and the most at once.

        Returns:
            The line.
        """
        return (f"password checks: {self.checks} run, at most {self.peak} at once "
                f"(limit {self.limit}), {self.refused} refused as too many waiting")
