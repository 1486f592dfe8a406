"""Shared fixtures: an isolated spec-kitty home, the real CLI and the real reference server,
and the docs site built once per run (for tests/docs and tests/site)."""

from __future__ import annotations

import signal
from pathlib import Path

import pytest

from tests._support.logins import PASSWORD
from tests._support.once import once_per_run
from tests._support.procs import ServerProcess, add_user, run_cli, start_server


def pytest_configure(config):
    # A shell without job control starts background commands with SIGINT ignored, and an
    # ignored signal stays ignored in every child: the CLI and server processes the tests
    # stop with Ctrl-C would then never see it (two tests hung so, in a run started with
    # `... &`). Children of a process with a handler start with the default again.
    if signal.getsignal(signal.SIGINT) == signal.SIG_IGN:
        signal.signal(signal.SIGINT, signal.default_int_handler)


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An isolated spec-kitty home (not created: the CLI creates it).

    In-process code finds it through `SPEC_KITTY_HOME`, with no server URL from the
    environment and background sync off. CLI subprocesses get it through `procs.cli_env`,
    which builds their environment without this process's `SPEC_KITTY_*` variables: they
    run exactly as they would without those settings.
    """
    home = tmp_path / "home" / ".spec-kitty"
    home.parent.mkdir()
    monkeypatch.setenv("SPEC_KITTY_HOME", str(home))
    monkeypatch.delenv("SPEC_KITTY_SERVER_URL", raising=False)
    monkeypatch.setenv("SPEC_KITTY_SYNC_AUTO_START", "0")
    return home


@pytest.fixture
def cli(home: Path):
    """Call as cli("auth", "status") -> CompletedProcess, with SPEC_KITTY_HOME isolated."""

    def _run(*args: str, **kw):
        return run_cli(home, *args, **kw)

    return _run


@pytest.fixture
def server(tmp_path: Path):
    """A fresh reference server on 127.0.0.1 with users alice (team acme) and bob (team other)."""
    db = tmp_path / "server.sqlite3"
    add_user(db, "alice", PASSWORD, "acme")
    add_user(db, "bob", PASSWORD, "other")
    proc: ServerProcess = start_server(tmp_path, db=db)
    yield proc
    proc.stop()


@pytest.fixture
def logged_in(cli, server):
    """alice logged in against the fresh server."""
    assert cli("sync", "server", server.url).returncode == 0
    result = cli("auth", "login", "-u", "alice", "--password-stdin", input=PASSWORD + "\n")
    assert result.returncode == 0, result.stderr
    return server


@pytest.fixture(scope="session")
def built_site(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list[str]]:
    """The site, built once per test run by the gate's own build check (shared by xdist
    workers, `once_per_run`): its folder and the build's problems, rendered.

    Tests that only read the site of the unmodified tree use it; a test that drifts the
    docs or the code builds its own copy (tests/_support/docs_project.py)."""
    from scripts.docs_gate import build
    from scripts.docs_gate._common import Options

    def make(folder: Path) -> list[str]:
        return [p.render() for p in build.run(Options(site_dir=folder / "site")).problems]

    shared, problems = once_per_run(tmp_path_factory, "docs-site", make)
    return shared / "site", problems


# The suite-wide figures table and no-secret-leak check (tests/_support/suite_report.py).
pytest_plugins = ["tests._support.suite_report"]

# The fast tier (`./scripts/test --fast`, `-m "not slow"`) is for edit-and-test, within a minute
# on two cores: unit tests, in-process server tests and single CLI runs. These suites start many
# servers, browsers, kill loops or the docs gate, so they are slow by nature and run in the full
# suite only.
SLOW_DIRS = ("reliability", "security", "docs", "site", "bench", "conformance")
# End-to-end modules elsewhere: each test drives several CLI processes against a server (or a
# fake one), a git repository or a TLS set-up. Together they were 85% of the fast tier's time.
SLOW_MODULES = frozenset({
    "cli/test_auth_e2e.py", "cli/test_auth_fake_server.py", "cli/test_hostile_inputs.py",
    "cli/test_tls_e2e.py",
    "server/test_api.py", "server/test_cli.py", "server/test_consistency.py",
    "server/test_dashboards.py", "server/test_fuzz.py", "server/test_ingest_rate.py",
    "server/test_perf.py", "server/test_trust.py", "server/test_ws.py",
    "sync/test_batch_faults.py", "sync/test_e2e.py", "sync/test_live_paths.py",
    "sync/test_perf.py", "sync/test_status.py", "sync/test_trust.py", "sync/test_websocket.py",
    "tasks/test_workflow.py",
})


def pytest_collection_modifyitems(config, items):
    for item in items:
        parts = Path(str(item.path)).relative_to(Path(__file__).parent).parts
        if parts and (parts[0] in SLOW_DIRS or "/".join(parts) in SLOW_MODULES):
            item.add_marker(pytest.mark.slow)
