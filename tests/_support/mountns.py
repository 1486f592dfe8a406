"""A private mount namespace for disk-fault tests: a tiny tmpfs or a read-only bind mount.

We run as root, which ignores permission bits, so "read-only" and "disk full" are made real
with mounts: `unshare -m` creates a private mount namespace held open by a sleeping process,
commands run inside it with `nsenter -t PID -m`, and the test reads what they left through
`/proc/PID/root/...`. Nothing is mounted in the host namespace, so a failed test leaves no
mount behind. Tests skip when the machine does not allow `unshare -m`.
"""

from __future__ import annotations

import os
import select
import shlex
import shutil
import subprocess
from pathlib import Path

import pytest

from tests._support.procs import outer_env

MAX_FILL_BYTES = 64 * 1024 * 1024
"""`fill()` refuses to write more than this, and only onto a filesystem smaller than it."""


def available() -> bool:
    """Whether private mount namespaces work here."""
    if not (shutil.which("unshare") and shutil.which("nsenter")):
        return False
    probe = subprocess.run(["unshare", "-m", "true"], capture_output=True, timeout=10)
    return probe.returncode == 0


class PrivateMounts:
    """Mounts that exist only for the commands run through `run()`.

    Args:
        *setup: Shell commands run in the new namespace before it is held open.
    """

    def __init__(self, *setup: str) -> None:
        if not available():
            pytest.skip("private mount namespaces (unshare -m) are not available here")
        script = " && ".join([*setup, "echo ready", "exec sleep 600"])
        self.holder = subprocess.Popen(
            ["unshare", "-m", "--propagation", "private", "sh", "-c", script],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=outer_env())
        ready, _, _ = select.select([self.holder.stdout], [], [], 20)
        line = self.holder.stdout.readline() if ready else ""
        if line.strip() != "ready":
            self.close()
            pytest.skip(f"cannot set up the mounts: {self.holder.stderr.read()[:200]}")

    def run(self, argv: list[str], **kwargs) -> subprocess.CompletedProcess:
        """Run a command inside the namespace (arguments as for `subprocess.run`)."""
        kwargs.setdefault("capture_output", True)
        kwargs.setdefault("text", True)
        kwargs.setdefault("timeout", 60)
        kwargs.setdefault("env", outer_env())
        cwd = kwargs.pop("cwd", None)
        where = [f"--wd={cwd}"] if cwd is not None else []
        return subprocess.run(["nsenter", "-t", str(self.holder.pid), "-m", *where, *argv],
                              **kwargs)

    def python(self, code: str, **kwargs) -> str:
        """Run Python code inside the namespace (from the repository root); return stdout.

        SQLite resolves `/proc/PID/root` symlinks back to the host's view, so databases on
        the namespace's mounts must be opened from inside it.
        """
        import sys

        root = Path(__file__).resolve().parents[2]
        result = self.run([sys.executable, "-c", code], cwd=root, **kwargs)
        assert result.returncode == 0, result.stderr[-2000:]
        return result.stdout

    def path(self, path: Path) -> Path:
        """The same path as seen from inside the namespace."""
        return Path(f"/proc/{self.holder.pid}/root{Path(path).absolute()}")

    def fill(self, directory: Path) -> int:
        """Fill the (tiny) filesystem of `directory` in the namespace; return bytes written."""
        inside = self.path(directory)
        stat = os.statvfs(inside)
        size = stat.f_blocks * stat.f_frsize
        assert 0 < size <= MAX_FILL_BYTES, f"refusing to fill a {size}-byte filesystem"
        written = 0
        chunk = b"\0" * 65536
        with open(inside / "filler.bin", "wb", buffering=0) as handle:
            while written <= size:  # bounded: the filesystem is at most MAX_FILL_BYTES
                try:
                    written += handle.write(chunk)
                except OSError:
                    break
        # Fill the last partial block too.
        with open(inside / "filler2.bin", "wb", buffering=0) as handle:
            for _ in range(65536):
                try:
                    handle.write(b"\0" * 512)
                except OSError:
                    break
        return written

    def free(self, directory: Path) -> None:
        """Remove what `fill()` wrote."""
        for name in ("filler.bin", "filler2.bin"):
            (self.path(directory) / name).unlink(missing_ok=True)

    def close(self) -> None:
        """Let the namespace (and its mounts) go."""
        if self.holder.poll() is None:
            self.holder.kill()
        self.holder.communicate()

    def __enter__(self) -> PrivateMounts:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def tmpfs(path: Path, size: str) -> str:
    """Setup command: a tmpfs of `size` (such as `2m`) over `path`."""
    return f"mount -t tmpfs -o size={size},mode=0700 tmpfs {shlex.quote(str(path))}"


def read_only(path: Path) -> str:
    """Setup command: `path` bind-mounted read-only onto itself."""
    p = shlex.quote(str(path))
    return f"mount --bind {p} {p} && mount -o remount,bind,ro {p}"
