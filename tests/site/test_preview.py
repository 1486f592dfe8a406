"""`./scripts/serve`'s preview keeps answering after an edit breaks a link, and shows the
problem in a banner on the page instead of only in the terminal."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

from tests._support.docs_project import ROOT, docs_env, wait_for_page
from tests._support.procs import free_port

BROKEN = "[a page that is not there](no-such-page.md)"


def test_preview_serves_a_broken_build_with_the_problem_in_a_banner(project: Path,
                                                                    tmp_path: Path) -> None:
    port = free_port()
    env = docs_env(project)
    env["SERVE_ADDR"] = f"127.0.0.1:{port}"
    env.pop("DOCS_PREVIEW", None)
    log = (tmp_path / "serve.log").open("w")
    # The real script, run in the copy against this project's venv: with the same lock
    # files its bootstrap finds the venv up to date and changes nothing.
    (project / ".venv").symlink_to(ROOT / ".venv")
    for name in ("uv.lock", "pyproject.toml"):
        shutil.copy2(ROOT / name, project / name)
    for name in ("serve", "_bootstrap.sh"):
        assert (project / "scripts" / name).exists()
    proc = subprocess.Popen([str(project / "scripts" / "serve")], cwd=project, env=env,
                            stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        url = f"http://127.0.0.1:{port}/how-to/authenticate/"
        wait_for_page(url, "How to authenticate", 180)
        page = project / "docs" / "how-to" / "authenticate.md"
        page.write_text(page.read_text(encoding="utf-8") + f"\n{BROKEN}\n", encoding="utf-8")
        body = wait_for_page(url, "docs-preview-problems", 180)
        assert "no-such-page.md" in body
        assert "How to authenticate" in body  # the page itself is still served
    finally:
        os.killpg(proc.pid, 15)
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, 9)
            proc.wait(timeout=15)
        log.close()
