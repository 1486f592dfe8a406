"""Start the real reference server and the real CLI as subprocesses, for tests.

Every child's environment is built here (`child_env`, `cli_env`, `manual_sync_env`, and the
server's own) from this process's environment minus its `SPEC_KITTY_*` variables, so
settings a fixture makes for in-process code never leak into a child.
"""

from __future__ import annotations

import contextlib
import os
import re
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx

BIN = Path(sys.executable).parent
SPEC_KITTY = str(BIN / "spec-kitty")
SERVER = str(BIN / "spec-kitty-server")

# Observers (additive hook for tests/_support/leaks.py, which checks that no secret ever
# appears in any output): called as observer(home_or_None, argv, CompletedProcess) after every
# CLI / server command, and LOG_OBSERVERS as observer(log_path) for every server started.
OBSERVERS: list = []
LOG_OBSERVERS: list = []


def _observe(home, argv, result) -> None:
    for observer in OBSERVERS:
        observer(home, argv, result)


def outer_env() -> dict[str, str]:
    """This process's environment without its `SPEC_KITTY_*` variables: what every child
    starts from."""
    return {k: v for k, v in os.environ.items() if not k.startswith("SPEC_KITTY")}


def child_env(home: Path, **extra: str) -> dict[str, str]:
    """The environment of a child process using `home`: this process's environment without
    any `SPEC_KITTY_*` variable, then `SPEC_KITTY_HOME` and `extra`.

    Built explicitly, so what the `home` fixture sets in this process for in-process code
    (background sync off, no server URL) never reaches a child: a child that should run
    without background sync says so in `extra`.
    """
    env = outer_env()
    env["SPEC_KITTY_HOME"] = str(home)
    env.update(extra)
    return env


def cli_env(home: Path, **extra: str) -> dict[str, str]:
    """The environment of a CLI subprocess: `child_env`, plain output 100 columns wide, and
    `HOME` next to the spec-kitty home (so nothing reads the real user's files)."""
    return child_env(home, **{"NO_COLOR": "1", "COLUMNS": "100", "HOME": str(home.parent),
                              **extra})


def manual_sync_env(home: Path, **extra: str) -> dict[str, str]:
    """`cli_env` with background sync off unless `extra` says otherwise: the test drives
    every sync itself."""
    return cli_env(home, **{"SPEC_KITTY_SYNC_AUTO_START": "0", **extra})


def run_cli(home: Path, *args: str, input: str | None = None, cwd: Path | None = None,
            timeout: float = 60, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    """Run `spec-kitty ARGS` in a subprocess with an isolated home; never raises on exit code."""
    result = subprocess.run([SPEC_KITTY, *args], input=input, capture_output=True, text=True,
                            cwd=cwd, timeout=timeout, env=env or cli_env(home))
    _observe(home, [SPEC_KITTY, *args], result)
    return result


def spawn(home: Path, *args: str, **extra: str) -> subprocess.Popen:
    """Start `spec-kitty ARGS` without waiting (to kill it), background sync off, unbuffered
    output; `finish` waits for it."""
    return subprocess.Popen([SPEC_KITTY, *args], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True,
                            env=manual_sync_env(home, PYTHONUNBUFFERED="1", **extra))


def finish(proc: subprocess.Popen, what: str, timeout: float = 60) -> tuple[str, str]:
    """Wait for a spawned process (killing it after `timeout` seconds, a hang guard) and show
    its output to the observers as `what`; its stdout and stderr."""
    try:
        out, err = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        out, err = proc.communicate()
    _observe(None, [what], subprocess.CompletedProcess(proc.args, proc.returncode, out, err))
    return out, err


@contextlib.contextmanager
def released_together(argvs: list[list[str]],
                      env: dict[str, str]) -> Iterator[list[subprocess.Popen]]:
    """Start children that print `ready` and then wait for a line on stdin, and release them
    all at once (as close to simultaneous as a test gets); yields them, running.

    Whichever still runs when the block ends (a failed assertion, say) is killed; each is then
    reaped and its pipes closed: a child left behind would be reported as a `ResourceWarning`
    in whatever test runs next on this worker, and fail that one.
    """
    procs: list[subprocess.Popen] = []
    try:
        for argv in argvs:
            procs.append(subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                          stderr=subprocess.PIPE, text=True, env=env))
        for proc in procs:
            assert proc.stdout.readline().strip() == "ready", proc.args
        for proc in procs:
            proc.stdin.write("go\n")
            proc.stdin.flush()
        yield procs
    finally:
        for proc in procs:
            if proc.poll() is None:
                proc.kill()
            proc.communicate()


@dataclass
class ServerProcess:
    url: str
    db: Path
    proc: subprocess.Popen
    log: Path
    extra_args: list[str] = field(default_factory=list)

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()

    def kill(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()


def server_cmd(db: Path, *args: str, input: str | None = None) -> subprocess.CompletedProcess:
    """Run `spec-kitty-server ARGS --db DB` to completion."""
    result = subprocess.run([SERVER, *args, "--db", str(db)], input=input, capture_output=True,
                            text=True, timeout=120, env=outer_env())
    _observe(None, [SERVER, *args], result)
    result.check_returncode()
    return result


def add_user(db: Path, name: str, password: str, team: str) -> None:
    """Add a user to the server database `db` (created if new), in this process.

    What `spec-kitty-server user add` stores, written by the same functions without starting
    a process per user (a third of a second each; the command has its own tests in
    tests/server/test_cli.py)."""
    from spec_kitty_server.accounts import add_user as store_user
    from spec_kitty_server.passwords import hash_password
    from spec_kitty_server.store import open_database

    conn = open_database(db)
    try:
        store_user(conn, name, team, hash_password(password))
    finally:
        conn.close()


def start_server(workdir: Path, *args: str, port: int = 0, db: Path | None = None,
                 env: dict[str, str] | None = None) -> ServerProcess:
    """Start `spec-kitty-server serve` on 127.0.0.1 and wait until it answers health checks."""
    db = db or workdir / "server.sqlite3"
    log = workdir / f"server-{time.monotonic_ns()}.log"
    handle = open(log, "w")
    for observer in LOG_OBSERVERS:
        observer(log)
    proc = subprocess.Popen(
        [SERVER, "serve", "--host", "127.0.0.1", "--port", str(port), "--db", str(db), *args],
        stdout=handle, stderr=subprocess.STDOUT, text=True,
        env={**outer_env(), "SPEC_KITTY_SERVER_SECRET": "test-secret-" + "x" * 32, **(env or {})},
    )
    handle.close()  # the child holds its own copy of the descriptor
    deadline = time.monotonic() + 120  # a hang guard: at load 15 start-up took over 30 s
    url = None
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"server exited {proc.returncode}: {log.read_text()}")
        match = re.search(r"(https?://127\.0\.0\.1:\d+)", log.read_text())
        if match:
            url = match.group(1)
            try:
                verify = not url.startswith("https")
                health = httpx.get(f"{url}/api/v1/sync/health/", timeout=2, verify=verify)
                if health.status_code == 200:
                    return ServerProcess(url, db, proc, log, list(args))
            except httpx.HTTPError:
                pass
        time.sleep(0.05)
    proc.kill()
    raise RuntimeError(f"server did not become healthy at {url}: {log.read_text()}")


def free_port() -> int:
    """A TCP port on 127.0.0.1 that was free a moment ago, for a server that needs it known
    in advance."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_until(predicate, seconds: float = 60.0) -> None:
    """Poll `predicate` until it holds; a hang guard, not a timing assertion (a busy
    machine is slow, not wrong)."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.02)
    raise AssertionError("condition not reached")


def run_cli_manual_sync(home: Path, *args: str, cwd: Path | None = None, **env: str):
    """Run the CLI with background sync off (`manual_sync_env`): what it queues stays queued."""
    return run_cli(home, *args, cwd=cwd, env=manual_sync_env(home, **env))
