"""Proof that the gate bites: each drift, applied to a copy of the project, fails the gate
with a message that names it. Only the checks needed for each drift run (`--only`).

A gate run that needs the site builds it (the most expensive step), so the drifts that fail
the same site checks are applied together to one copy, and each test looks for its own
message in that one run (as tests/site/test_build.py does for the build's drifts): a drift
the gate stopped seeing still fails its test. A drift that leaves the built site as it is
(netlify.toml) is checked against the site built once per run (`built_site`). Each shared
copy is made once per run, whichever xdist worker asks first (`once_per_run`).
"""

from __future__ import annotations

import re
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest

from tests._support.docs_project import copy_project, drift, run_gate
from tests._support.once import once_per_run

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


def _shared_gate_run(factory: pytest.TempPathFactory, name: str,
                     drift_and_run: Callable[[Path], subprocess.CompletedProcess],
                     ) -> tuple[subprocess.CompletedProcess, Path]:
    """Copy the project, drift it and run the gate on it, once per test run."""

    def make(folder: Path) -> dict:
        proc = drift_and_run(copy_project(folder / "project"))
        return {"args": [str(a) for a in proc.args], "returncode": proc.returncode,
                "stdout": proc.stdout, "stderr": proc.stderr}

    folder, saved = once_per_run(factory, name, make)
    return subprocess.CompletedProcess(saved["args"], saved["returncode"], saved["stdout"],
                                       saved["stderr"]), folder / "project"


@pytest.fixture(scope="module")
def site_drifts(tmp_path_factory: pytest.TempPathFactory) -> subprocess.CompletedProcess:
    """One copy with every drift the site checks must catch; the gate run once on it."""
    return _shared_gate_run(tmp_path_factory, "site-drifts", _site_drifts)[0]


def _site_drifts(project: Path) -> subprocess.CompletedProcess:
    # cli-links: the heading an error message links to loses its anchor.
    drift(project / "docs/how-to/authenticate.md", "{ #invalid-username-or-password }",
          "{ #wrong-credentials }")
    # completeness: a command no page mentions.
    path = project / "src/specify_cli/cli/commands/sync.py"
    path.write_text(path.read_text(encoding="utf-8") + '''

@app.command("purge")
def purge() -> None:
    """Delete every queued event.

    Example: `spec-kitty sync purge`
    """
''', encoding="utf-8")
    # completeness: a config key the reference leaves out.
    drift(project / "scripts/docs_gen/config_ref.py", "for s in config.SETTINGS:",
          'for s in [x for x in config.SETTINGS if x.key != "sync.queue_cap"]:', count=-1)
    # completeness: an upstream variable in the mapping column, and one in prose.
    page = project / "docs/explanations/coming-from-spec-kitty-2.md"
    drift(page, "| `SPEC_KITTY_ENABLE_SAAS_SYNC=1` | not needed |",
          "| `SPEC_KITTY_LEGACY_QUEUE=1` | not needed |\n"
          "| `SPEC_KITTY_ENABLE_SAAS_SYNC=1` | not needed |")
    drift(page, "## Wire-format choices",
          "Set `SPEC_KITTY_UPSTREAM_ONLY=1` to turn sync on.\n\n## Wire-format choices")
    # llms: a page left out of llms.txt.
    drift(project / "mkdocs.yml", "        Contributing:\n          - contributing/*.md\n", "")
    return run_gate(project, "--only", "cli-links,completeness,llms")


@pytest.fixture(scope="module")
def example_drifts(tmp_path_factory: pytest.TempPathFactory) -> subprocess.CompletedProcess:
    """One copy with a changed default and a changed message; the tutorials' examples run
    once on it (every step of a page runs and is judged, a differing one does not stop it)."""
    return _shared_gate_run(tmp_path_factory, "example-drifts", _example_drifts)[0]


def _example_drifts(project: Path) -> subprocess.CompletedProcess:
    drift(project / "src/specify_cli/config.py", "DEFAULT_QUEUE_CAP = 100_000",
          "DEFAULT_QUEUE_CAP = 50_000")
    drift(project / "src/specify_cli/cli/commands/sync.py", 'f"Server set to {',
          'f"Server is now {')
    return run_gate(project, "--only", "examples", DOCS_GATE_PAGES="tutorials/*")


@pytest.fixture(scope="module")
def code_drifts(tmp_path_factory: pytest.TempPathFactory) -> tuple[
        subprocess.CompletedProcess, Path]:
    """One copy with two constants changed in code, built (and its prose checked) once."""
    proc, project = _shared_gate_run(tmp_path_factory, "code-drifts", _code_drifts)
    return proc, project / "site"


def _code_drifts(project: Path) -> subprocess.CompletedProcess:
    drift(project / "src/specify_cli/config.py", "DEFAULT_SYNC_INTERVAL_SECONDS = 300",
          "DEFAULT_SYNC_INTERVAL_SECONDS = 420")
    drift(project / "src/specify_cli/cli/commands/sync_status.py", "UNREACHABLE: 3,",
          "UNREACHABLE: 4,")
    return run_gate(project, "--only", "build,quoted")


def test_renamed_option_fails_the_mentions(project):
    drift(project / "src/specify_cli/cli/commands/sync.py", '"--dry-run"', '"--simulate"')
    proc = run_gate(project, "--only", "mentions")
    out = _fails(proc, "No such option: --dry-run", "docs/how-to/sync-to-server.md:")
    assert re.search(r"FAIL mentions", out)


def test_changed_default_fails_the_examples(example_drifts):
    out = _fails(example_drifts, "docs/tutorials/server-connection.md:")
    assert re.search(r"^\s*-Cap:\s+0 of 100,000", out, re.M), out[-3000:]
    assert re.search(r"^\s*\+Cap:\s+0 of 50,000", out, re.M), out[-3000:]


def test_changed_message_fails_the_examples(example_drifts):
    _fails(example_drifts, "docs/tutorials/server-connection.md:",
           "-Server set to http://127.0.0.1:8000", "+Server is now http://127.0.0.1:8000")


def test_broken_anchor_fails_build_and_cli_links(site_drifts):
    out = _fails(site_drifts, "invalid-username-or-password", "src/specify_cli/docs_links.py:")
    # The other drifts of this copy fail other checks: this one's problem is cli-links' own.
    assert re.search(r"^FAIL cli-links", out, re.M), out[-3000:]
    assert re.search(r"src/specify_cli/docs_links\.py:\d+: .* has no anchor "
                     r"#invalid-username-or-password", out), out[-3000:]


def test_undocumented_command_fails_completeness(site_drifts):
    _fails(site_drifts, "`spec-kitty sync purge` appears in no tutorial or how-to page")


def test_config_key_missing_from_docs_fails_completeness(site_drifts):
    _fails(site_drifts, "config key sync.queue_cap is not documented")


def test_redirect_to_nothing_fails_netlify(project, built_site):
    drift(project / "netlify.toml", 'to = "/how-to/authenticate/"',
          'to = "/how-to/authentication/"')
    site, _problems = built_site  # mkdocs never reads netlify.toml: the copy's site is this one
    proc = run_gate(project, "--only", "netlify", "--skip", "build", "--site-dir", str(site))
    _fails(proc, "redirect /how-to/authenticate.html -> /how-to/authentication/",
           "not in the built site")


def test_number_typed_by_hand_fails_quoted(project):
    drift(project / "docs/how-to/sync-to-server.md",
          "(exit status {{ fact:exit.unreachable }})", "(exit status 3)")
    proc = run_gate(project, "--only", "quoted")
    _fails(proc, "docs/how-to/sync-to-server.md:", 'a number stated by hand: "exit status 3"')


def test_changed_exit_status_reaches_the_page(code_drifts):
    proc, site = code_drifts
    assert proc.returncode == 0, (proc.stdout + proc.stderr)[-4000:]
    html = (site / "how-to/sync-to-server/index.html").read_text(encoding="utf-8")
    assert "(exit status 4)" in html and "(exit status 3)" not in html


def test_changing_a_default_in_code_changes_the_pages(code_drifts):
    proc, site = code_drifts
    assert proc.returncode == 0, (proc.stdout + proc.stderr)[-4000:]
    index = " ".join((site / "index.html").read_text(encoding="utf-8").split())
    assert "every 7 minutes" in index and "every 5 minutes" not in index
    reference = (site / "reference" / "configuration" / "index.html").read_text(encoding="utf-8")
    assert "<td><code>420</code></td>" in reference


def test_changed_cli_message_fails_quoted(project):
    drift(project / "src/specify_cli/account/credentials.py", '"invalid username or password"',
          '"wrong username or password"')
    proc = run_gate(project, "--only", "quoted")
    _fails(proc, "docs/how-to/authenticate.md:",
           'the CLI prints no message like "invalid username or password"')


def test_heading_anchor_must_be_where_the_message_links(project):
    drift(project / "docs/how-to/authenticate.md", "{ #invalid-username-or-password }",
          "{ #wrong-credentials }")
    proc = run_gate(project, "--only", "quoted")
    _fails(proc, "the heading's anchor #wrong-credentials is not where the message links to",
           "how-to/authenticate/#invalid-username-or-password")


def test_upstream_name_passes_in_the_mapping_column_only(site_drifts):
    out = _fails(site_drifts,
                 "SPEC_KITTY_UPSTREAM_ONLY is not an environment variable the code reads")
    assert "SPEC_KITTY_LEGACY_QUEUE" not in out, out[-3000:]


def test_page_left_out_of_llms_txt_fails_llms(site_drifts):
    _fails(site_drifts, "contributing/docs/index.md: this page has no Markdown copy")
