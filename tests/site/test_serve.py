"""Under `mkdocs serve`, an edit to the CLI's help text in src/ shows up on the CLI page.

mkdocs-click imports the CLI once per process; without the hook's `on_pre_build`, which
drops the cached `specify_cli` modules, the served CLI reference would stay stale.
"""

from __future__ import annotations

import socket
import subprocess
import time
import urllib.error
import urllib.request
from pathlib import Path

from tests._support.docs_project import BIN, docs_env

OLD = "Log in to the sync server and store the session for later commands."
NEW = "Log in to the sync server (edited while serving) and keep the session."


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _get(url: str) -> str | None:
    try:
        with urllib.request.urlopen(url, timeout=5) as response:  # noqa: S310 - loopback only
            return response.read().decode("utf-8")
    except (urllib.error.URLError, ConnectionError, TimeoutError):
        return None


def _wait_for(url: str, needle: str, seconds: float) -> str:
    deadline = time.monotonic() + seconds
    last = ""
    while time.monotonic() < deadline:
        body = _get(url)
        if body is not None:
            last = body
            if needle in body:
                return body
        time.sleep(0.5)
    raise AssertionError(f"{needle!r} did not appear at {url} within {seconds} s "
                         f"(page had {len(last)} chars)")


def test_serve_rerenders_cli_page_after_help_text_edit(project: Path, tmp_path: Path) -> None:
    source = project / "src" / "specify_cli" / "cli" / "commands" / "auth.py"
    assert OLD in source.read_text(encoding="utf-8")
    port = _free_port()
    log = (tmp_path / "serve.log").open("w")
    proc = subprocess.Popen(
        [str(BIN / "mkdocs"), "serve", "--dev-addr", f"127.0.0.1:{port}",
         "-f", str(project / "mkdocs.yml")],
        cwd=project, env=docs_env(project), stdout=log, stderr=subprocess.STDOUT)
    try:
        url = f"http://127.0.0.1:{port}/reference/cli/"
        _wait_for(url, OLD, 120)
        source.write_text(source.read_text(encoding="utf-8").replace(OLD, NEW), encoding="utf-8")
        body = _wait_for(url, NEW, 120)
        assert OLD not in body
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=15)
        log.close()
