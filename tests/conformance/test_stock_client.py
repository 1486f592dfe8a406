"""Conformance against the real stock client, spec-kitty-cli 2.1.3 from the package index.

The stock client logs in to our server over TLS, emits one event of each type through its own
Python API, pushes them with its own `sync now`, and our CLI pulls them; the board shows its
lane change. The other way round, every event our `tasks` commands emit passes the stock
client's own validation. Nothing here copies the stock client's shapes: it runs.
"""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path

import httpx
import pytest

from spec_kitty_server import board as board_tables
from spec_kitty_server import events as event_log
from spec_kitty_server.store import open_database
from tests._support import stock_client, tls
from tests._support.logins import PASSWORD
from tests._support.procs import add_user, cli_env, run_cli, start_server
from tests._support.project import make_feature

pytestmark = pytest.mark.slow

EMIT_ALL = """
from specify_cli.sync import events as e
f = "001-stock-demo"
e.emit_feature_created(f, "001", "main", 2)
e.emit_wp_created("WP01", "Login form", f)
e.emit_wp_assigned("WP01", "claude", "implementation")
e.emit_wp_status_changed("WP01", "planned", "in_progress", actor="claude", feature_slug=f)
e.emit_history_added("WP01", "note", "Started on the form", author="claude")
e.emit_dependency_resolved("WP02", "WP01", "completed")
e.emit_error_logged("runtime", "a test failed", wp_id="WP01")
e.emit_feature_completed(f, 2, total_duration="PT60S")
print("emitted")
"""


@pytest.fixture(scope="module")
def stock_bin() -> Path:
    return stock_client.ensure_installed()


@pytest.fixture
def tls_server(tmp_path):
    cert, key = tls.self_signed(tmp_path)
    db = tmp_path / "server.sqlite3"
    add_user(db, "alice", PASSWORD, "acme")
    srv = start_server(tmp_path, "--certfile", str(cert), "--keyfile", str(key), db=db)
    yield srv, cert, db
    srv.stop()


def _stock(bin_dir: Path, home: Path, cert: Path, *args: str, cwd: Path | None = None
           ) -> subprocess.CompletedProcess:
    return subprocess.run([str(bin_dir / "spec-kitty"), *args], capture_output=True, text=True,
                          env=stock_client.stock_env(bin_dir, home, cert), cwd=cwd,
                          timeout=120, check=False)


def _stock_project(path: Path) -> Path:
    path.mkdir(parents=True)
    subprocess.run(["git", "init", "-q", str(path)], check=True)
    (path / ".kittify").mkdir()
    # The stock runtime would otherwise push in the background; `sync now` is what we test.
    (path / ".kittify" / "config.yaml").write_text("sync:\n  auto_start: false\n")
    return path


def _board(url: str) -> str:
    with httpx.Client(base_url=url, verify=False, timeout=30) as web:
        page = web.get("/login/")
        csrf = re.search(r'name="csrf" value="([^"]+)"', page.text).group(1)
        done = web.post("/login/", data={"username": "alice", "password": PASSWORD,
                                         "csrf": csrf, "next": ""})
        assert done.status_code == 303, done.text
        return web.get("/a/acme/dashboards/board/").text


def test_the_stock_client_logs_in_pushes_and_our_cli_pulls(stock_bin, tls_server, tmp_path):
    srv, cert, db = tls_server
    home = tmp_path / "stock-home"
    (home / ".spec-kitty").mkdir(parents=True)
    (home / ".spec-kitty" / "config.toml").write_text(f'[sync]\nserver_url = "{srv.url}"\n')

    login = _stock(stock_bin, home, cert, "auth", "login", "-u", "alice", "-p", PASSWORD)
    assert login.returncode == 0 and "Login successful" in login.stdout, login.stdout
    status = _stock(stock_bin, home, cert, "auth", "status")
    assert status.returncode == 0 and "Authenticated" in status.stdout, status.stdout

    project = _stock_project(tmp_path / "stock-project")
    emitted = subprocess.run([str(stock_bin / "python"), "-c", EMIT_ALL], cwd=project,
                             capture_output=True, text=True, timeout=120, check=False,
                             env=stock_client.stock_env(stock_bin, home, cert))
    assert emitted.returncode == 0 and "emitted" in emitted.stdout, emitted.stderr
    assert "Warning" not in emitted.stdout + emitted.stderr, emitted.stdout + emitted.stderr

    pushed = _stock(stock_bin, home, cert, "sync", "now", cwd=project)
    assert pushed.returncode == 0, pushed.stdout + pushed.stderr
    assert re.search(r"Synced: 8\s+Duplicates: 0\s+Errors: 0", pushed.stdout), pushed.stdout
    conn = open_database(db)
    try:
        stored = event_log.events_after(conn, "acme", 0, 100)[0]
        assert sorted(e["event_type"] for e in stored) == sorted([
            "FeatureCreated", "WPCreated", "WPAssigned", "WPStatusChanged", "HistoryAdded",
            "DependencyResolved", "ErrorLogged", "FeatureCompleted"])
        # Stored as sent: the 2.x fields this server does not interpret come back unchanged.
        moved = next(e for e in stored if e["event_type"] == "WPStatusChanged")
        assert "git_branch" in moved and "schema_version" not in moved
        assert moved["payload"]["policy_metadata"] is None
        again = _stock(stock_bin, home, cert, "sync", "now", cwd=project)
        assert again.returncode == 0 and "nothing to sync" in again.stdout, again.stdout
        assert event_log.count_events(conn, "acme") == 8
        wps = board_tables.work_packages(conn, "acme")
        assert [(w["feature_slug"], w["wp_id"], w["lane"], w["assignee"]) for w in wps] == [
            ("001-stock-demo", "WP01", "in_progress", "claude")]
    finally:
        conn.close()
    sync_status = _stock(stock_bin, home, cert, "sync", "status", cwd=project)
    assert sync_status.returncode == 0, sync_status.stdout + sync_status.stderr
    assert srv.url in sync_status.stdout

    # Our CLI, as another member of the team, pulls what the stock client pushed.
    ours = tmp_path / "our-home" / ".spec-kitty"
    ours.parent.mkdir()
    env = cli_env(ours, SSL_CERT_FILE=str(cert), SPEC_KITTY_SYNC_AUTO_START="0")
    assert run_cli(ours, "sync", "server", srv.url, env=env).returncode == 0
    ours_login = run_cli(ours, "auth", "login", "-u", "alice", "--password-stdin",
                         input=PASSWORD + "\n", env=env)
    assert ours_login.returncode == 0, ours_login.stderr
    pulled = run_cli(ours, "sync", "now", env=env)
    assert pulled.returncode == 0, pulled.stderr
    assert "Pulled 8 new events" in pulled.stdout, pulled.stdout

    board = _board(srv.url)
    in_progress = board.split('data-lane="in_progress"')[1].split("</section>")[0]
    assert 'data-wp="WP01"' in in_progress and "Login form" in in_progress

    logout = _stock(stock_bin, home, cert, "auth", "logout")
    assert logout.returncode == 0 and "Logged out" in logout.stdout, logout.stdout


def _queued(home: Path) -> list[dict]:
    from specify_cli.sync.queue import OfflineQueue

    queue = OfflineQueue(home / "queues" / "local.sqlite3")
    return [json.loads(row.body) for row in queue.read_batch(0, 1000)]


def test_every_event_our_tasks_commands_emit_passes_the_stock_validation(
        stock_bin, tmp_path, monkeypatch):
    home = tmp_path / "home" / ".spec-kitty"
    home.parent.mkdir()
    project = tmp_path / "proj"
    make_feature(project, "001-login-flow",
                 {"WP01": ("planned", "[]"), "WP02": ("planned", "[WP01]")})
    env = cli_env(home, SPEC_KITTY_SYNC_AUTO_START="0")
    for args in (["tasks", "finalize"], ["tasks", "assign", "WP01", "--agent", "claude"],
                 ["tasks", "move", "WP01", "--to", "doing"],
                 ["tasks", "history", "WP01", "Started"],
                 ["tasks", "assign", "WP01", "--agent", "bob", "--phase", "review"],
                 ["tasks", "move", "WP01", "--to", "done"],
                 ["tasks", "move", "WP02", "--to", "done"]):
        result = run_cli(home, *args, cwd=project, env=env)
        assert result.returncode == 0, (args, result.stderr)

    # A write that fails after the action started emits ErrorLogged: same emitter, in-process.
    monkeypatch.setenv("SPEC_KITTY_HOME", str(home))
    monkeypatch.setenv("SPEC_KITTY_SYNC_AUTO_START", "0")
    monkeypatch.chdir(project)
    from specify_cli.errors import SpecKittyError
    from specify_cli.sync import emitter
    from specify_cli.tasks import actions

    monkeypatch.setattr(emitter, "_emitter", None)

    def refuse(*_args, **_kw):
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(actions, "atomic_write", refuse)
    with pytest.raises(SpecKittyError):
        actions.add_history(project, "WP02", "cannot be written")

    events = _queued(home)
    kinds = {e["event_type"] for e in events}
    assert kinds == {"FeatureCreated", "WPCreated", "WPAssigned", "WPStatusChanged",
                     "HistoryAdded", "DependencyResolved", "FeatureCompleted", "ErrorLogged"}
    verdicts, said = stock_client.stock_verdicts(stock_bin, tmp_path / "stock-home", Path("/"),
                                                 events)
    rejected = [e for e, ok in zip(events, verdicts, strict=True) if not ok]
    assert rejected == [], said
