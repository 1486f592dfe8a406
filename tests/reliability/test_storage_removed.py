"""The database file is deleted or replaced under a running server.

Health reports it (503, `"storage": "missing"` / `"replaced"`) and every write is refused with
503, so nothing is acknowledged into a file that no longer exists; reads go on answering.
"""

from __future__ import annotations

import shutil
import sqlite3

import httpx
import pytest

from tests._support import figures, seed
from tests._support.logins import PASSWORD, api_login
from tests._support.procs import add_user, start_server
from tests._support.server_api import bearer


def _remove(db, tmp_path) -> None:
    for suffix in ("", "-wal", "-shm"):
        path = db.with_name(db.name + suffix)
        if path.exists():
            path.unlink()


def _replace(db, tmp_path) -> None:
    other = tmp_path / "other.sqlite3"
    sqlite3.connect(other).close()
    _remove(db, tmp_path)
    shutil.move(other, db)


@pytest.mark.parametrize("change, state", [(_remove, "missing"), (_replace, "replaced")])
def test_a_vanished_database_is_reported_and_writes_are_refused(tmp_path, change, state):
    db = tmp_path / "s.sqlite3"
    add_user(db, "alice", PASSWORD, "acme")
    srv = start_server(tmp_path, db=db)
    try:
        url = srv.url
        tokens = api_login(url, "alice")
        auth = bearer(tokens["access"])
        ok = httpx.post(f"{url}/api/v1/events/batch/", json={"events": [seed.event(n=1)]},
                        headers=auth, timeout=30)
        assert ok.status_code == 200
        health = httpx.get(f"{url}/api/v1/sync/health/", timeout=30).json()
        assert health["status"] == "ok" and health["storage"] == "ok"
        change(db, tmp_path)
        health = httpx.get(f"{url}/api/v1/sync/health/", timeout=30)
        assert health.status_code == 503 and health.json()["storage"] == state
        assert health.json()["status"] != "ok" and int(health.headers["Retry-After"]) > 0
        pushed = [seed.event(n=2), seed.event(n=3)]
        refused = httpx.post(f"{url}/api/v1/events/batch/", json={"events": pushed},
                             headers=auth, timeout=30)
        assert refused.status_code == 503 and int(refused.headers["Retry-After"]) > 0
        assert "success" not in refused.text
        login = httpx.post(f"{url}/api/v1/token/",
                           json={"username": "alice", "password": PASSWORD}, timeout=30)
        assert login.status_code in (401, 503)  # a replaced file may not know alice at all
        assert "access" not in login.text
    finally:
        srv.stop()
    figures.line(f"storage-{state}", f"database file {state} under a running server: health "
                                     f"{health.status_code} ({state}), push "
                                     f"{refused.status_code}, login {login.status_code}")
