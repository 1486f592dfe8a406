"""Under `mkdocs serve`, an edit to the CLI's help text in src/ shows up on the CLI page.

mkdocs-click imports the CLI once per process; without the hook's `on_pre_build`, which
drops the cached `specify_cli` modules, the served CLI reference would stay stale.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

from tests._support.docs_project import BIN, docs_env, wait_for_page
from tests._support.procs import free_port

OLD = "Log in to the sync server and store the session for later commands."
NEW = "Log in to the sync server (edited while serving) and keep the session."


def test_serve_rerenders_cli_page_after_help_text_edit(project: Path, tmp_path: Path) -> None:
    source = project / "src" / "specify_cli" / "cli" / "commands" / "auth.py"
    assert OLD in source.read_text(encoding="utf-8")
    port = free_port()
    log = (tmp_path / "serve.log").open("w")
    proc = subprocess.Popen(
        [str(BIN / "mkdocs"), "serve", "--dev-addr", f"127.0.0.1:{port}",
         "-f", str(project / "mkdocs.yml")],
        cwd=project, env=docs_env(project), stdout=log, stderr=subprocess.STDOUT)
    try:
        url = f"http://127.0.0.1:{port}/reference/cli/"
        wait_for_page(url, OLD, 120)
        source.write_text(source.read_text(encoding="utf-8").replace(OLD, NEW), encoding="utf-8")
        body = wait_for_page(url, NEW, 120)
        assert OLD not in body
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=15)
        log.close()
