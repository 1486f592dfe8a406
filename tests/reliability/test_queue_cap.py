"""The queue cap: filling the queue to its cap drops nothing silently.

At the cap a new event is refused, with a warning on every emit, the count of refused
events shows in `spec-kitty sync status`, and nothing already queued is dropped.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from tests._support import figures, seed
from tests._support.leaks import REGISTRY
from tests._support.logins import fast_login
from tests._support.procs import manual_sync_env, run_cli

ROOT = Path(__file__).resolve().parents[2]


def test_filling_the_queue_to_its_cap(tmp_path, home, server):
    fast_login(home, server.url)
    with open(home / "config.toml", "a") as handle:
        handle.write("\n[sync]\nqueue_cap = 20\n")
    project = tmp_path / "cap-proj"
    project.mkdir()
    r = subprocess.run([sys.executable, "-m", "tests._support.emitter_child", str(project),
                        "25"], cwd=ROOT, capture_output=True, text=True, env=manual_sync_env(home),
                       timeout=60)
    REGISTRY.output("cap emitter stdout", r.stdout)
    REGISTRY.output("cap emitter stderr", r.stderr)
    figures.fault_kind("queue at its cap")
    assert r.returncode == 0 and r.stdout.strip().splitlines()[-1] == "done 20 5", r.stderr
    warnings = [line for line in r.stderr.splitlines() if line.startswith("warning:")]
    assert len(warnings) == 5 and all("NOT recorded" in w for w in warnings), r.stderr
    assert "Traceback" not in r.stderr
    queue = seed.queue_file(home, server.url)
    queued = seed.queued_ids(queue)
    assert len(queued) == 20  # the first 20 are all still there

    status = run_cli(home, "sync", "status", env=manual_sync_env(home))
    assert "20 of 20" in status.stdout and "FULL" in status.stdout, status.stdout
    assert "5 refused" in status.stdout, status.stdout

    r = run_cli(home, "sync", "now", env=manual_sync_env(home))
    assert r.returncode == 0, r.stderr
    status = run_cli(home, "sync", "status", env=manual_sync_env(home))
    assert "0 of 20" in status.stdout and "FULL" not in status.stdout, status.stdout
    stored = seed.server_ids(server.db, "project_slug = 'cap-proj'")
    assert sorted(stored) == sorted(queued)
