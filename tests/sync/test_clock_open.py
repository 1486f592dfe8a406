"""Opening the machine clock while other processes open or hold it.

The clock file is shared by every process of every account on the machine, so it is often
opened by several at once, the first time included (when it is created and switched to WAL).
A lock held by another process is never a damaged file: the clock is moved aside only when
SQLite says the file is not a database, never because it was busy.
"""

from __future__ import annotations

import os
import sqlite3
import sys

import pytest

from specify_cli.sync import _db
from specify_cli.sync.clock import open_clock
from tests._support.procs import released_together

_OPENER = """
import sys
from pathlib import Path
from specify_cli.sync.clock import open_clock
path = Path(sys.argv[1])
print("ready", flush=True)
sys.stdin.readline()  # open together
conn = open_clock(path)
conn.execute("BEGIN IMMEDIATE")
conn.execute("INSERT INTO clock(node_id, value) VALUES ('n', 1) "
             "ON CONFLICT(node_id) DO UPDATE SET value = value + 1")
conn.execute("COMMIT")
conn.close()
"""

PROCESSES = 6
ROUNDS = 6


def test_processes_creating_one_clock_at_once_all_use_the_same_file(tmp_path):
    """Six processes open a clock file that does not exist yet, at the same moment, six times
    over: every one of them opens it, and every tick lands in the one file."""
    env = {**os.environ, "PYTHONPATH": os.getcwd()}
    for round_ in range(ROUNDS):
        path = tmp_path / f"round{round_}" / "clock.sqlite3"
        errors = []
        argvs = [[sys.executable, "-c", _OPENER, str(path)]] * PROCESSES
        with released_together(argvs, env) as procs:
            for proc in procs:
                _, err = proc.communicate(timeout=120)
                if proc.returncode:
                    errors.append(err.strip().splitlines()[-1])
        assert not errors, f"round {round_}: {errors}"
        assert sorted(p.name for p in path.parent.iterdir()
                      if "damaged" in p.name) == [], "a busy clock was moved aside"
        conn = sqlite3.connect(path)
        try:
            assert conn.execute("SELECT value FROM clock WHERE node_id = 'n'").fetchone() == (
                PROCESSES,)
        finally:
            conn.close()


def test_a_clock_held_past_the_busy_timeout_is_refused_and_kept(tmp_path, monkeypatch):
    """Another connection holds the clock exclusively for longer than the busy timeout: the
    open fails, and the file stays where it is with its value (it is not damaged)."""
    path = tmp_path / "clock.sqlite3"
    conn = open_clock(path)
    conn.execute("INSERT INTO clock(node_id, value) VALUES ('n', 41)")
    conn.close()
    holder = sqlite3.connect(path, isolation_level=None)
    holder.execute("PRAGMA locking_mode = EXCLUSIVE")
    holder.execute("BEGIN IMMEDIATE")
    holder.execute("UPDATE clock SET value = 42")
    holder.execute("COMMIT")  # exclusive locking mode: the lock is kept after the commit
    monkeypatch.setattr(_db, "BUSY_TIMEOUT_MS", 200)
    try:
        with pytest.raises(sqlite3.OperationalError, match="locked"):
            open_clock(path)
        assert sorted(p.name for p in tmp_path.iterdir() if "damaged" in p.name) == []
    finally:
        holder.close()
    conn = sqlite3.connect(path)
    try:
        assert conn.execute("SELECT value FROM clock").fetchone() == (42,)
    finally:
        conn.close()


def test_a_new_clock_whose_writer_is_busy_is_not_moved_aside(tmp_path, monkeypatch):
    """A clock file another process has just created (WAL, no table yet) and is writing to:
    creating the table waits for it and, past the busy timeout, fails; the file is the other
    process's and stays where it is."""
    path = tmp_path / "clock.sqlite3"
    holder = sqlite3.connect(path, isolation_level=None)
    holder.execute("PRAGMA journal_mode = WAL")
    holder.execute("BEGIN IMMEDIATE")
    holder.execute("CREATE TABLE other (x)")
    monkeypatch.setattr(_db, "BUSY_TIMEOUT_MS", 200)
    try:
        with pytest.raises(sqlite3.OperationalError, match="locked"):
            open_clock(path)
        assert sorted(p.name for p in tmp_path.iterdir() if "damaged" in p.name) == []
        holder.execute("COMMIT")
    finally:
        holder.close()
    conn = open_clock(path)  # the holder is gone: the table is created in the same file
    try:
        assert {row[0] for row in conn.execute("SELECT name FROM sqlite_master")} >= {
            "clock", "other"}
    finally:
        conn.close()


def test_a_clock_that_is_not_a_database_is_moved_aside_and_started_afresh(tmp_path):
    path = tmp_path / "clock.sqlite3"
    path.write_bytes(b"this is not a database" * 100)
    conn = open_clock(path)
    try:
        assert conn.execute("SELECT count(*) FROM clock").fetchone() == (0,)
    finally:
        conn.close()
    aside = [p for p in tmp_path.iterdir() if p.name.startswith("clock.sqlite3.damaged-")]
    assert len(aside) == 1 and aside[0].read_bytes() == b"this is not a database" * 100
