"""One sync (push, then pull) under the account's sync lock, shared by every caller.

`spec-kitty sync now`, the background thread, the WebSocket's reconnect drain and the
exit flush all sync through `sync_once`, holding the same file lock, so two syncs of one
queue never run at once: a lock, not luck.
"""

from __future__ import annotations

import contextlib
import os
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from specify_cli._files import file_lock
from specify_cli.account.session import Session
from specify_cli.errors import NotAuthenticatedError, QueueError, SpecKittyError
from specify_cli.sync import batch, pull
from specify_cli.sync.batch import BatchResult, PushReport
from specify_cli.sync.pull import PullReport
from specify_cli.sync.queue import OfflineQueue


def lock_path(queue_path: Path) -> Path:
    """Return the sync lock file of a queue database.

    Args:
        queue_path: The scope database.
    """
    return queue_path.with_name(queue_path.name + ".sync.lock")


@contextlib.contextmanager
def sync_lock(queue_path: Path, wait_seconds: float = 0.0,
              on_wait: Callable[[], None] | None = None) -> Iterator[bool]:
    """Hold the sync lock of a queue, waiting up to `wait_seconds` for another sync to finish.

    Args:
        queue_path: The scope database.
        wait_seconds: How long to wait; 0 means try once.
        on_wait: Called once if the lock is busy and we start waiting.

    Yields:
        True when the lock is held, False when it stayed busy for the whole wait.
    """
    path = lock_path(queue_path)
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    deadline = time.monotonic() + wait_seconds
    told = False
    while True:
        with _opened(path) as held:
            if held:
                with contextlib.suppress(OSError):
                    path.write_text(str(os.getpid()))
                yield True
                return
        if time.monotonic() >= deadline:
            yield False
            return
        if not told and on_wait is not None:
            on_wait()
            told = True
        time.sleep(0.05)


@contextlib.contextmanager
def _opened(path: Path) -> Iterator[bool]:
    """`file_lock(path, blocking=False)`, with an unusable lock file as a `QueueError`."""
    with contextlib.ExitStack() as stack:
        try:
            held = stack.enter_context(file_lock(path, blocking=False))
        except OSError as exc:
            raise QueueError(f"cannot use the sync lock {path}: {exc.strerror}") from None
        yield held


def lock_holder(queue_path: Path) -> str:
    """Return the pid written by the process that last took the sync lock (or `?`).

    Args:
        queue_path: The scope database.
    """
    try:
        return lock_path(queue_path).read_text().strip() or "?"
    except OSError:
        return "?"


@dataclass
class SyncReport:
    """What one sync did.

    Attributes:
        push: The push report.
        pull: The pull report (None when the pull did not run).
        error: Why the sync failed (one line), or None.
    """

    push: PushReport = field(default_factory=PushReport)
    pull: PullReport | None = None
    error: str | None = None

    @property
    def ok(self) -> bool:
        """True when push and pull both completed."""
        return self.error is None


def summary(report: SyncReport) -> str:
    """Return the one-line result stored as `last_sync_result`.

    Args:
        report: A finished sync.
    """
    if report.error:
        return f"failed: {report.error.split(' (see ')[0]}"
    pulled = report.pull.pulled if report.pull else 0
    return (f"ok: pushed {report.push.pushed}, duplicates {report.push.duplicates}, "
            f"rejected {report.push.rejected}, pulled {pulled}")


def sync_once(queue: OfflineQueue, server_url: str, *, node_id: str | None,
              pull_after: bool = True,
              on_batch: Callable[[BatchResult], None] | None = None,
              timeout: float | None = None) -> SyncReport:
    """Push the queue, then pull new team events; record the outcome in the sync state.

    The caller holds the sync lock. Server and transport failures end up in
    `SyncReport.error` (the rest stays queued); they are not raised.

    Args:
        queue: The account's scope database.
        server_url: The account's server.
        node_id: This node (its clock receives pulled values).
        pull_after: Pull after a successful push.
        on_batch: Called after each answered push request.
        timeout: Seconds per request; the configured timeout by default.

    Returns:
        The report.

    Raises:
        NotAuthenticatedError: Not logged in, or the session expired.
    """
    report = SyncReport()
    try:
        with Session(server_url, timeout=timeout) as session:
            report.push = batch.push(queue, session, on_batch=on_batch)
            report.error = report.push.error
            if report.error is None and pull_after:
                report.pull = pull.pull(queue, session, node_id)
    except NotAuthenticatedError as exc:
        report.error = str(exc)
        _record(queue, report)
        raise
    except SpecKittyError as exc:
        report.error = str(exc)
    _record(queue, report)
    return report


def _record(queue: OfflineQueue, report: SyncReport) -> None:
    with contextlib.suppress(SpecKittyError):
        queue.set_state(last_sync_at=time.time(), last_sync_result=summary(report))
