"""The detached exit flush: `python -m specify_cli.sync.flush QUEUE SERVER NODE`.

A command that queued events while logged in does not push them itself on the way out
(that cost every command about half a second of CPU): `spawn()` starts this module in a
new session, detached from the terminal and the caller's pipes, and the command exits at
once. The child pushes the queue under the sync lock and exits. The queue is durable, so a
flush that never runs, or dies, loses nothing: the next command, the background sync or
`sync now` pushes the events.

A second lock, the flush lock, keeps concurrent commands from starting a crowd of flushes:
a command does not start one while a flush holds the lock, and a flush that releases the
lock looks at the queue once more, so an event queued while it ran still leaves with it.
"""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
from pathlib import Path

from specify_cli._files import file_lock

FLUSH_WAIT_SECONDS = 30.0
"""Longest a detached flush waits for another sync of the same queue (a `sync now`, a
running command's background sync) to finish before it gives up."""

FLUSH_ROUNDS = 5
"""Most pushes one detached flush makes (it stops early when a push makes no progress)."""


def lock_path(queue_path: Path) -> Path:
    """Return the flush lock file of a queue database.

    Args:
        queue_path: The scope database.
    """
    return queue_path.with_name(queue_path.name + ".flush.lock")


def running(queue_path: Path) -> bool:
    """Return True when a detached flush of this queue holds its lock right now.

    Args:
        queue_path: The scope database.
    """
    try:
        with file_lock(lock_path(queue_path), blocking=False) as held:
            return not held
    except OSError:
        return False


def spawn(queue_path: Path, server_url: str, node_id: str | None) -> bool:
    """Start a detached flush of the queue unless one is running; True when one was started.

    Args:
        queue_path: The scope database.
        server_url: The account's server.
        node_id: This node.
    """
    if running(queue_path):
        return False  # it looks at the queue again after it lets go of its lock
    try:
        subprocess.Popen(
            [sys.executable, "-m", "specify_cli.sync.flush", str(queue_path), server_url,
             node_id or ""],
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
            start_new_session=True, close_fds=True, cwd=os.path.dirname(str(queue_path)))
    except OSError:
        return False  # the events stay queued for the next sync
    return True


def flush(queue_path: Path, server_url: str, node_id: str | None) -> None:
    """Push the queue until it is empty, a push makes no progress, or `FLUSH_ROUNDS`.

    Args:
        queue_path: The scope database.
        server_url: The account's server.
        node_id: This node.
    """
    # lazily: this runs in the detached child; the emitting command imports only spawn().
    from specify_cli.sync._engine import sync_lock, sync_once
    from specify_cli.sync.queue import OfflineQueue

    queue = OfflineQueue(queue_path)
    try:
        for _ in range(FLUSH_ROUNDS):  # each round ends by letting go of the lock
            if queue.pending_count() == 0:
                return
            with file_lock(lock_path(queue_path), blocking=False) as held:
                if not held:
                    return  # another flush holds it, and looks again when it lets go
                with sync_lock(queue_path, wait_seconds=FLUSH_WAIT_SECONDS) as synced:
                    if not synced:
                        return
                    while (pending := queue.pending_count()) > 0:
                        report = sync_once(queue, server_url, node_id=node_id,
                                           pull_after=False)
                        if not report.ok or queue.pending_count() >= pending:
                            return  # unreachable or rejected: the queue keeps them
    finally:
        queue.close()


def main(argv: list[str]) -> int:
    """Run one detached flush; errors end it quietly (the queue keeps the events).

    Args:
        argv: The queue file, the server URL and the node id (may be empty).
    """
    if len(argv) != 3:
        print("usage: python -m specify_cli.sync.flush QUEUE SERVER NODE", file=sys.stderr)
        return 2
    with contextlib.suppress(Exception):
        flush(Path(argv[0]), argv[1], argv[2] or None)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
