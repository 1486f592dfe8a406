"""Crash-safe file writes and inter-process locks, shared by every module that persists state."""

from __future__ import annotations

import contextlib
import errno
import fcntl
import os
from collections.abc import Iterator
from pathlib import Path

from specify_cli.errors import ConfigError


def read_config_text(path: Path) -> str | None:
    """Return a config file's text, or None when it does not exist.

    Raises:
        ConfigError: The file exists but cannot be read or is not UTF-8.
    """
    try:
        return path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"cannot read {path}: {exc}") from None


def atomic_write(path: Path, text: str, *, mode: int = 0o600) -> None:
    """Write `text` to `path` so readers see the old or the new file, never a torn one.

    Writes a temporary file in the same directory with `mode`, fsyncs it, renames it over
    `path`, then fsyncs the directory.

    Args:
        path: The destination file.
        text: The full new content.
        mode: Permission bits of the new file.

    Raises:
        OSError: The file cannot be written; the old file is left untouched.
    """
    import tempfile  # lazily: it pulls in shutil, bz2 and lzma, costly at start-up

    directory = path.parent
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=directory)
    try:
        os.fchmod(fd, mode)
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
    with contextlib.suppress(OSError):
        dir_fd = os.open(directory, os.O_RDONLY)
        try:
            os.fsync(dir_fd)
        finally:
            os.close(dir_fd)


@contextlib.contextmanager
def file_lock(path: Path, *, blocking: bool = True) -> Iterator[bool]:
    """Hold an exclusive `flock` on `path` (created 0600 if missing) for the block.

    Args:
        path: The lock file.
        blocking: Wait for the lock when True; otherwise yield False at once if it is held.

    Yields:
        True when the lock is held, False when `blocking` is False and another process has it.

    Raises:
        OSError: The lock file cannot be opened; a symbolic link at `path` is refused (it
            could make the lock create or truncate a file elsewhere), with a `strerror`
            that says so.
    """
    try:
        fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW, 0o600)
    except OSError as exc:
        if exc.errno != errno.ELOOP:
            raise
        raise OSError(errno.ELOOP, "it is a symbolic link, which a lock file must not be; "
                      "remove it", str(path)) from None
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | (0 if blocking else fcntl.LOCK_NB))
        except BlockingIOError:
            yield False
            return
        try:
            yield True
        finally:
            fcntl.flock(fd, fcntl.LOCK_UN)
    finally:
        os.close(fd)
