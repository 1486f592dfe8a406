"""Disk full, read-only home and read-only project, made real with private mounts.

Each fault must give a one-line error (or a one-line warning where the command's own work
succeeded) and no traceback, and no event may silently disappear: every event is still
queued or stored on the server once, and a run after the fault is gone finishes the job.
"""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest

from tests._support import figures, seed
from tests._support.logins import PASSWORD, fast_login
from tests._support.mountns import PrivateMounts, read_only, tmpfs
from tests._support.procs import SPEC_KITTY, add_user, manual_sync_env, run_cli, start_server
from tests._support.project import make_feature


@pytest.fixture(scope="module")
def disk_server(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("disk")
    db = tmp / "server.sqlite3"
    add_user(db, "alice", PASSWORD, "acme")
    proc = start_server(tmp, db=db)
    yield proc
    proc.stop()


def _project(root: Path) -> Path:
    make_feature(root, "001-disk-faults")
    return root


def _lines(result, prefix: str) -> list[str]:
    return [line for line in result.stderr.splitlines() if line.startswith(prefix)]


def _clean(result) -> None:
    assert "Traceback" not in result.stdout + result.stderr, result.stderr[-1500:]


def _count(path: Path) -> int:
    conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        return conn.execute("SELECT count(*) FROM queue").fetchone()[0]
    finally:
        conn.close()


def test_disk_full_home(tmp_path, home, disk_server):
    home.mkdir(parents=True)
    project = _project(tmp_path / "proj")
    e = manual_sync_env(home)
    with PrivateMounts(tmpfs(home, "16m")) as ns:
        def cli(*args, **kw):
            result = ns.run([SPEC_KITTY, *args], env=e, **kw)
            from tests._support.leaks import REGISTRY

            REGISTRY.observe_cli(ns.path(home), [SPEC_KITTY, *args], result)
            return result

        assert cli("sync", "server", disk_server.url).returncode == 0
        r = cli("auth", "login", "-u", "alice", "--password-stdin", input=PASSWORD + "\n")
        assert r.returncode == 0, r.stderr
        queue = seed.queue_file(home, disk_server.url)
        ids = json.loads(ns.python(
            "import json; from pathlib import Path; from tests._support import seed; "
            f"print(json.dumps(seed.seed(Path({str(queue)!r}), 300, project='disk-full')))"))

        def queued() -> set[str]:
            return set(json.loads(ns.python(
                "import json; from pathlib import Path; from tests._support import seed; "
                f"print(json.dumps(seed.queued_ids(Path({str(queue)!r}))))")))
        ns.fill(home)
        figures.fault_kind("disk full")

        # Pushing works, but the queue cannot record it: one line, nothing lost.
        r = cli("sync", "now")
        _clean(r)
        assert r.returncode == 1 and len(_lines(r, "error:")) == 1, r.stdout + r.stderr
        messages = [r.stderr.strip()]

        # Emitting: the command's own work is done, and the lost event is announced.
        r = cli("tasks", "history", "WP01", "written while the disk is full", cwd=project)
        _clean(r)
        assert len(_lines(r, "warning:") + _lines(r, "error:")) >= 1, r.stderr
        messages.append(r.stderr.strip())

        # Logging in again cannot save the new session: one line, the old one is intact.
        before = ns.path(home / "credentials.json").read_bytes()
        r = cli("auth", "login", "-u", "alice", "--password-stdin", "--force",
                input=PASSWORD + "\n")
        _clean(r)
        assert r.returncode == 1 and len(_lines(r, "error:")) == 1, r.stderr
        assert ns.path(home / "credentials.json").read_bytes() == before
        messages.append(r.stderr.strip())
        print("disk full messages:", *messages, sep="\n  ")

        # Space comes back: nothing was lost, and the next run finishes the job.
        ns.free(home)
        on_server = set(seed.server_ids(disk_server.db, "project_slug = 'disk-full'"))
        assert set(ids) <= on_server | queued()
        r = cli("sync", "now")
        assert r.returncode == 0, r.stderr
        assert queued() == set()
        rows = seed.server_ids(disk_server.db, "project_slug = 'disk-full'")
        assert len(rows) == len(set(rows)) and set(ids) <= set(rows)


def test_read_only_home(tmp_path, home, disk_server):
    fast_login(home, disk_server.url)
    project = _project(tmp_path / "proj")
    queue = seed.queue_file(home, disk_server.url)
    ids = seed.seed(queue, 100, project="ro-home")
    e = manual_sync_env(home)
    with PrivateMounts(read_only(home)) as ns:
        figures.fault_kind("read-only home")
        outputs = {}
        for args in (("sync", "status"), ("sync", "now"), ("auth", "logout"),
                     ("auth", "login", "-u", "alice", "--password-stdin", "--force")):
            r = ns.run([SPEC_KITTY, *args], env=e, input=PASSWORD + "\n", cwd=project)
            outputs[args[:2]] = r
            _clean(r)
            if r.returncode != 0:
                assert len(_lines(r, "error:")) == 1, (args, r.stderr)
        r = ns.run([SPEC_KITTY, "tasks", "history", "WP01", "note on a read-only home"],
                   env=e, cwd=project)
        _clean(r)
        assert r.returncode != 0 or _lines(r, "warning:"), r.stderr  # never silent
        assert outputs[("auth", "logout")].returncode != 0  # it could not delete the session
    assert (home / "credentials.json").exists()
    assert set(ids) <= set(seed.queued_ids(queue)) | set(
        seed.server_ids(disk_server.db, "project_slug = 'ro-home'"))
    r = run_cli(home, "sync", "now", env=e)
    assert r.returncode == 0, r.stderr
    rows = seed.server_ids(disk_server.db, "project_slug = 'ro-home'")
    assert set(rows) == set(ids) and len(rows) == len(ids)


def test_read_only_project(tmp_path, home):
    project = _project(tmp_path / "proj")
    e = manual_sync_env(home)
    before = (project / "kitty-specs" / "001-disk-faults" / "tasks" / "WP01.md").read_text()
    with PrivateMounts(read_only(project)) as ns:
        figures.fault_kind("read-only project")
        r = ns.run([SPEC_KITTY, "tasks", "move", "WP01", "--to", "doing"], env=e, cwd=project)
        _clean(r)
        assert r.returncode != 0 and len(_lines(r, "error:")) == 1, r.stdout + r.stderr
        r = ns.run([SPEC_KITTY, "tasks", "status"], env=e, cwd=project)
        _clean(r)
        assert r.returncode == 0, r.stderr
    after = (project / "kitty-specs" / "001-disk-faults" / "tasks" / "WP01.md").read_text()
    assert after == before
    queue = home / "queues" / "local.sqlite3"
    if queue.exists():  # a failed move must not have recorded a status change
        conn = sqlite3.connect(queue)
        try:
            kinds = [r[0] for r in conn.execute("SELECT event_type FROM queue")]
        finally:
            conn.close()
        assert "WPStatusChanged" not in kinds
