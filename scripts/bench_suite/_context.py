"""The state one bench run shares between figure groups: options, work dir, server account."""

from __future__ import annotations

import shutil
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from scripts.bench_suite._env import BENCH_BIN, ROOT, cli_env, ensure_bench_venv, log
from scripts.bench_suite._model import Figure
from scripts.bench_suite._procs import Server, free_port, run_timed, server_cmd

USERNAME = "bench"
TEAM = "bench"
PASSWORD = "bench-password-123"


@dataclass
class Options:
    """Command-line options."""

    quick: bool = False
    scale: bool = False
    only: set[str] | None = None
    json_path: Path = ROOT / "bench-results.json"
    keep: bool = False


@dataclass
class Account:
    """A logged-in CLI home and project, and the server DB that knows the user (pristine)."""

    home: Path
    project: Path
    pristine_db_dir: Path
    scope_queue: Path | None = None


@dataclass
class Bench:
    """One run of the suite."""

    options: Options
    work: Path = field(default_factory=lambda: Path(tempfile.mkdtemp(prefix="spec-kitty-bench-")))
    figures: list[Figure] = field(default_factory=list)
    port: int = field(default_factory=free_port)
    _account: Account | None = None
    _bin: Path | None = None
    servers: list[Server] = field(default_factory=list)
    shared: dict = field(default_factory=dict)
    _quick_server: Server | None = None

    def reps(self, full: int, quick: int = 1) -> int:
        """Number of repetitions for this mode."""
        return quick if self.options.quick else full

    def runs_within(self, first: float, want: int, budget: float) -> int:
        """Total runs (≥ 1, ≤ `want`) when the first took `first` s and all should fit `budget`.

        Quick mode always does one run.
        """
        if self.options.quick or first <= 0:
            return 1 if self.options.quick else want
        return max(1, min(want, int(budget // first)))

    @property
    def bin(self) -> Path:
        """The bench venv's bin directory (created on first use)."""
        if self._bin is None:
            self._bin = ensure_bench_venv()
        return self._bin

    def add(self, figure: Figure) -> Figure:
        """Record a finished figure and log it."""
        self.figures.append(figure)
        value = f"{figure.value.median:,.4g} {figure.value.unit}" if figure.value else "-"
        ratio = f", ratio {figure.ratio:.2f}" if figure.ratio is not None else ""
        log(f"{figure.status:<7} {figure.name}: {value}{ratio}"
            + (f" ({'; '.join(figure.notes)[:200]})" if figure.status == "error" else ""))
        return figure

    def cli(self, *args: str, home: Path, cwd: Path | None = None, input: str | None = None,
            what: str = ""):
        """Run the bench venv's `spec-kitty ARGS` and fail on a non-zero exit."""
        return run_timed([str(self.bin / "spec-kitty"), *args], env=cli_env(home), cwd=cwd,
                         input=input).check(what or "spec-kitty " + " ".join(args))

    def fresh_server(self, name: str) -> Server:
        """Start the server on the run's port with a fresh copy of the pristine DB.

        In quick mode every figure shares the setup's server (its events never collide: each
        has a fresh ULID), which saves a server start per figure.
        """
        account = self.account()
        if self._quick_server is not None:
            return self._quick_server
        target = self.work / name
        shutil.copytree(account.pristine_db_dir, target)
        server = Server(target / "server.sqlite3", self.port, self.work / f"{name}.log").start()
        self.servers.append(server)
        return server

    def account(self) -> Account:
        """Create the server user, log the CLI in once, and keep the DB as the pristine copy."""
        if self._account is not None:
            return self._account
        log(f"setting up the server account on 127.0.0.1:{self.port}")
        db_dir = self.work / "server-setup"
        db_dir.mkdir()
        db = db_dir / "server.sqlite3"
        server_cmd(db, "user", "add", USERNAME, "--team", TEAM, "--password-stdin",
                   input=PASSWORD + "\n")
        home = self.work / "cli" / "home"
        project = self.work / "cli" / "project"
        project.mkdir(parents=True)
        (project / ".kittify").mkdir()
        server = Server(db, self.port, self.work / "server-setup.log").start()
        try:
            self.cli("sync", "server", server.url, home=home, cwd=project)
            self.cli("auth", "login", "-u", USERNAME, "--password-stdin", home=home, cwd=project,
                     input=PASSWORD + "\n")
        finally:
            if self.options.quick:
                self._quick_server = _SharedServer(server)
                self.servers.append(server)
            else:
                server.stop()
        pristine = self.work / "server-pristine"
        shutil.copytree(db_dir, pristine, ignore=shutil.ignore_patterns("*.log"))
        self._account = Account(home, project, pristine)
        return self._account

    def close(self) -> None:
        """Stop every server and remove the work dir (unless --keep)."""
        for server in self.servers:
            server.stop()
        if self.options.keep:
            log(f"kept the work dir {self.work}")
        else:
            shutil.rmtree(self.work, ignore_errors=True)


class _SharedServer(Server):
    """The quick mode's one server: figures may `stop()` it; `Bench.close` really does."""

    def __init__(self, server: Server) -> None:
        super().__init__(server.db, server.port, server.log_path)
        self.proc = server.proc

    def stop(self) -> None:
        """Keep running (the bench stops it at the end)."""


BENCH_PYTHON = BENCH_BIN / "python"
