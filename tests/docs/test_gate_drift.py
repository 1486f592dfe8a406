"""Proof that the gate bites: each drift, applied to a copy of the project, fails the gate
with a message that names it. Only the checks needed for each drift run (`--only`)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests.docs.conftest import copy_project, drift, run_gate

pytestmark = pytest.mark.slow


@pytest.fixture
def project(tmp_path: Path) -> Path:
    return copy_project(tmp_path / "project")


def _fails(proc, *needles: str) -> str:
    out = proc.stdout + proc.stderr
    assert proc.returncode == 1, out[-4000:]
    for needle in needles:
        assert needle in out, f"{needle!r} not in gate output:\n{out[-4000:]}"
    return out


def test_renamed_option_fails_the_mentions(project):
    drift(project / "src/specify_cli/cli/commands/sync.py", '"--dry-run"', '"--simulate"')
    proc = run_gate(project, "--only", "mentions")
    out = _fails(proc, "No such option: --dry-run", "docs/how-to/sync-to-server.md:")
    assert re.search(r"FAIL mentions", out)


def test_changed_default_fails_the_examples(project):
    drift(project / "src/specify_cli/config.py", "DEFAULT_QUEUE_CAP = 100_000",
          "DEFAULT_QUEUE_CAP = 50_000")
    proc = run_gate(project, "--only", "examples", DOCS_GATE_PAGES="tutorials/*")
    out = _fails(proc, "docs/tutorials/server-connection.md:")
    assert re.search(r"^\s*-Cap:\s+0 of 100,000", out, re.M), out[-3000:]
    assert re.search(r"^\s*\+Cap:\s+0 of 50,000", out, re.M), out[-3000:]


def test_changed_message_fails_the_examples(project):
    drift(project / "src/specify_cli/cli/commands/sync.py", 'f"Server set to {',
          'f"Server is now {')
    proc = run_gate(project, "--only", "examples", DOCS_GATE_PAGES="tutorials/*")
    _fails(proc, "docs/tutorials/server-connection.md:", "-Server set to http://127.0.0.1:8000",
           "+Server is now http://127.0.0.1:8000")


def test_broken_anchor_fails_build_and_cli_links(project):
    drift(project / "docs/how-to/authenticate.md", "{ #invalid-username-or-password }",
          "{ #wrong-credentials }")
    proc = run_gate(project, "--only", "cli-links")
    _fails(proc, "invalid-username-or-password", "src/specify_cli/docs_links.py:")


def test_undocumented_command_fails_completeness(project):
    path = project / "src/specify_cli/cli/commands/sync.py"
    path.write_text(path.read_text(encoding="utf-8") + '''

@app.command("purge")
def purge() -> None:
    """Delete every queued event.

    Example: `spec-kitty sync purge`
    """
''', encoding="utf-8")
    proc = run_gate(project, "--only", "completeness")
    _fails(proc, "`spec-kitty sync purge` appears in no tutorial or how-to page")


def test_config_key_missing_from_docs_fails_completeness(project):
    drift(project / "scripts/docs_gen/config_ref.py", "for s in config.SETTINGS:",
          'for s in [x for x in config.SETTINGS if x.key != "sync.queue_cap"]:', count=-1)
    proc = run_gate(project, "--only", "completeness")
    _fails(proc, "config key sync.queue_cap is not documented")


def test_redirect_to_nothing_fails_netlify(project):
    drift(project / "netlify.toml", 'to = "/how-to/authenticate/"',
          'to = "/how-to/authentication/"')
    proc = run_gate(project, "--only", "netlify")
    _fails(proc, "redirect /how-to/authenticate.html -> /how-to/authentication/",
           "not in the built site")
