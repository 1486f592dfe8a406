"""Child processes: timed runs with their peak memory, and the reference server on loopback."""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from scripts.bench_suite._env import MAIN_BIN, server_env


def free_port() -> int:
    """A TCP port on 127.0.0.1 that is free right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass
class Timed:
    """The outcome of `run_timed`."""

    seconds: float
    returncode: int
    stdout: str
    stderr: str
    maxrss_mb: float

    def check(self, what: str) -> Timed:
        """Raise with the tail of the output when the child failed."""
        if self.returncode != 0:
            tail = " | ".join((self.stderr or self.stdout).strip().splitlines()[-3:])
            raise RuntimeError(f"{what} exited {self.returncode}: {tail[:400]}")
        return self


# A tiny launcher between the harness and the measured child. Linux copies the hiwater RSS
# of the exec'ing process into the child's ru_maxrss, so a child forked straight from this
# (large) harness would report the harness's size. The launcher (python -S, ~8 MB) spawns the
# command, waits for it and reports its wall time and ru_maxrss as JSON on the given fd.
_LAUNCHER = """
import os, sys, time, json
fd = int(sys.argv[1])
os.set_inheritable(fd, False)
start = time.perf_counter()
pid = os.posix_spawnp(sys.argv[2], sys.argv[2:], os.environ)
_, status, usage = os.wait4(pid, 0)
seconds = time.perf_counter() - start
with os.fdopen(fd, "w") as out:
    out.write(json.dumps({"seconds": seconds, "maxrss_kb": usage.ru_maxrss}))
sys.exit(os.waitstatus_to_exitcode(status) & 0xFF)
"""


def run_timed(cmd: list[str], *, env: dict[str, str] | None = None, cwd: Path | None = None,
              input: str | None = None, timeout: float = 600) -> Timed:
    """Run `cmd`; return its wall time and peak RSS (`wait4` rusage, through the launcher)."""
    import json
    import sys

    with tempfile.TemporaryFile("w+") as out, tempfile.TemporaryFile("w+") as err:
        read_fd, write_fd = os.pipe()
        stdin = subprocess.PIPE if input is not None else subprocess.DEVNULL
        try:
            proc = subprocess.Popen([sys.executable, "-S", "-c", _LAUNCHER, str(write_fd), *cmd],
                                    env=env, cwd=cwd, stdin=stdin, stdout=out, stderr=err,
                                    text=True, pass_fds=(write_fd,), start_new_session=True)
        finally:
            os.close(write_fd)
        if input is not None:
            proc.stdin.write(input)
            proc.stdin.close()
        try:
            proc.wait(timeout)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)  # the launcher and the measured command
            proc.wait()
        with os.fdopen(read_fd) as report:
            text = report.read()
        out.seek(0)
        err.seek(0)
        stdout, stderr = out.read(), err.read()
        if not text:
            return Timed(0.0, proc.returncode or 1, stdout, stderr + "\n(killed or timed out)",
                         0.0)
        data = json.loads(text)
        return Timed(data["seconds"], proc.returncode, stdout, stderr, data["maxrss_kb"] / 1024)


def proc_hwm_mb(pid: int) -> float | None:
    """Peak resident memory (VmHWM) of a live process, in MB, or None."""
    try:
        text = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return None
    match = re.search(r"^VmHWM:\s+(\d+) kB", text, re.M)
    return int(match.group(1)) / 1024 if match else None


class Server:
    """`spec-kitty-server serve` from the main venv, on a fixed loopback port."""

    def __init__(self, db: Path, port: int, log_path: Path) -> None:
        self.db = db
        self.port = port
        self.log_path = log_path
        self.url = f"http://127.0.0.1:{port}"
        self.proc: subprocess.Popen | None = None

    def start(self, timeout: float = 40) -> Server:
        """Start it and wait until `/api/v1/sync/health/` answers 200."""
        import httpx

        handle = open(self.log_path, "a")
        self.proc = subprocess.Popen(
            [str(MAIN_BIN / "spec-kitty-server"), "serve", "--host", "127.0.0.1", "--port",
             str(self.port), "--db", str(self.db), "--access-lifetime", "86400",
             "--refresh-lifetime", "172800"],
            stdout=handle, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, env=server_env())
        handle.close()
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"the server exited {self.proc.returncode}: "
                                   f"{self.log_path.read_text()[-400:]}")
            try:
                if httpx.get(self.url + "/api/v1/sync/health/", timeout=2).status_code == 200:
                    return self
            except httpx.HTTPError:
                pass
            time.sleep(0.05)
        self.stop()
        raise RuntimeError(f"the server did not answer on {self.url} within {timeout:.0f}s")

    def hwm_mb(self) -> float | None:
        """Peak RSS of the server process so far (MB)."""
        return proc_hwm_mb(self.proc.pid) if self.proc else None

    def stop(self) -> None:
        """Stop it (SIGINT, then SIGKILL after 10 s)."""
        if self.proc is None or self.proc.poll() is not None:
            return
        self.proc.send_signal(signal.SIGINT)
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()


def server_cmd(db: Path, *args: str, input: str | None = None) -> str:
    """Run `spec-kitty-server ARGS --db DB` and return its output."""
    proc = subprocess.run([str(MAIN_BIN / "spec-kitty-server"), *args, "--db", str(db)],
                          input=input, capture_output=True, text=True, timeout=120,
                          env=server_env())
    if proc.returncode != 0:
        raise RuntimeError(f"spec-kitty-server {' '.join(args)} exited {proc.returncode}: "
                           f"{proc.stderr.strip()[-300:]}")
    return proc.stdout
