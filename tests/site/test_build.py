"""The strict build passes on the real tree (the site built once per run, `built_site`), and
fails (naming file and line) on each drift.

The drifts are applied together to one copy and built once (MkDocs logs every warning before
strict mode aborts), so each test below checks that its own message is in that one output.
The xdist workers share that one build (`once_per_run`).
"""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest

from tests._support.docs_project import build, copy_project
from tests._support.once import once_per_run


@pytest.fixture(scope="module")
def broken(tmp_path_factory: pytest.TempPathFactory) -> tuple[subprocess.CompletedProcess[str],
                                                               dict[str, int]]:
    """One copy with every drift applied, built once; returns the result and line numbers."""
    _folder, saved = once_per_run(tmp_path_factory, "site-build-drifts", _drift_and_build)
    result = subprocess.CompletedProcess(saved["args"], saved["returncode"], saved["stdout"],
                                         saved["stderr"])
    return result, saved["lines"]


def _drift_and_build(folder: Path) -> dict:
    project = copy_project(folder / "project")
    lines: dict[str, int] = {}

    # A docs page that no toc file lists.
    (project / "docs" / "how-to" / "orphan.md").write_text(
        "# Orphan\n\nNot listed.\n\n## See Also\n\n- [Home](../index.md)\n", encoding="utf-8")

    # A toc entry pointing at a page that does not exist.
    toc = project / "toc" / "how-to" / "toc.yml"
    entries = toc.read_text(encoding="utf-8").splitlines()
    entries += ["- name: Gone", "  href: how-to/does-not-exist.md"]
    toc.write_text("\n".join(entries) + "\n", encoding="utf-8")
    lines["broken href"] = len(entries) - 1

    # A toc entry pointing at a toc file that does not exist.
    root = project / "toc" / "toc.yml"
    root.write_text(root.read_text(encoding="utf-8") + "- name: Extra\n  href: extra/toc.yml\n",
                    encoding="utf-8")

    # The same page listed twice.
    reference = project / "toc" / "reference" / "toc.yml"
    reference.write_text(reference.read_text(encoding="utf-8")
                         + "- name: CLI again\n  href: reference/cli.md\n", encoding="utf-8")

    # A misspelt fact, and a fact naming a constant the code does not have.
    index = project / "docs" / "index.md"
    text = index.read_text(encoding="utf-8")
    lines["unknown fact"] = text[: text.index("## Install")].count("\n") + 1
    text = text.replace("## Install", "Queue: {{ fact:queue.capp }}.\n\n## Install", 1)
    index.write_text(text + "\n{{ fact:specify_cli.config:NOPE }}\n", encoding="utf-8")

    # An unknown generated reference.
    events = project / "docs" / "reference" / "events.md"
    events.write_text(events.read_text(encoding="utf-8") + "\n{{ reference:events.nope }}\n",
                      encoding="utf-8")

    # A page without its See Also section.
    workspaces = project / "docs" / "how-to" / "sync-workspaces.md"
    text = workspaces.read_text(encoding="utf-8")
    workspaces.write_text(text[: text.index("## See Also")], encoding="utf-8")

    # A CLI intro for a command that does not exist (as after a rename).
    cli = project / "docs" / "reference" / "cli.md"
    cli.write_text(cli.read_text(encoding="utf-8").replace(
        "<!-- cli-intro: spec-kitty auth -->", "<!-- cli-intro: spec-kitty authx -->"),
        encoding="utf-8")

    # A new public sync module without its Python API page.
    (project / "src" / "specify_cli" / "sync" / "newthing.py").write_text(
        '"""A module that landed without docs."""\n', encoding="utf-8")

    result = build(project)
    return {"args": [str(a) for a in result.args], "returncode": result.returncode,
            "stdout": result.stdout, "stderr": result.stderr, "lines": lines}


def _assert_failed_with(broken: tuple[subprocess.CompletedProcess[str], dict[str, int]],
                        pattern: str) -> None:
    result, _ = broken
    output = result.stdout + result.stderr
    assert result.returncode != 0, f"build passed but should have failed:\n{output[-3000:]}"
    assert re.search(pattern, output), f"expected {pattern!r} in:\n{output[-4000:]}"


def test_unmodified_tree_builds_strictly(built_site: tuple[Path, list[str]]) -> None:
    site, problems = built_site  # the gate's strict build: every WARNING line is a problem
    assert problems == [], "\n".join(problems)[-4000:]
    cli = (site / "reference" / "cli" / "index.html").read_text(encoding="utf-8")
    for anchor in ("spec-kitty-auth-login", "spec-kitty-sync-now", "spec-kitty-sync-server"):
        assert f'id="{anchor}"' in cli
    assert cli.count("<h1") == 1
    for page in ("index.html", "tutorials/server-connection/index.html",
                 "how-to/authenticate/index.html", "how-to/sync-to-server/index.html",
                 "how-to/sync-workspaces/index.html", "how-to/use-saas-dashboard/index.html",
                 "how-to/run-local-server/index.html",
                 "explanations/sync-architecture/index.html", "contributing/docs/index.html"):
        assert (site / page).is_file(), page


def test_page_missing_from_toc_fails_with_one_message(broken) -> None:
    _assert_failed_with(broken, r"docs/how-to/orphan\.md:1: page is not listed in toc/")
    output = broken[0].stdout + broken[0].stderr
    mentions = [line for line in output.splitlines() if "orphan.md" in line]
    assert len(mentions) == 1, mentions  # not also MkDocs' own "not included in nav" list


def test_broken_toc_href_fails(broken) -> None:
    line = broken[1]["broken href"]
    _assert_failed_with(broken, rf"toc/how-to/toc\.yml:{line}: broken href "
                                r"'how-to/does-not-exist\.md'")


def test_broken_toc_file_href_fails(broken) -> None:
    _assert_failed_with(broken, r"toc/toc\.yml:\d+: broken href 'extra/toc\.yml'")


def test_duplicate_toc_entry_fails(broken) -> None:
    _assert_failed_with(broken, r"toc/reference/toc\.yml:\d+: duplicate entry "
                                r"'reference/cli\.md': already listed at toc/reference/toc\.yml:1")


def test_unknown_fact_fails(broken) -> None:
    line = broken[1]["unknown fact"]
    _assert_failed_with(broken, rf"docs/index\.md:{line}: unknown fact 'queue\.capp'; "
                                r"did you mean queue\.cap")


def test_fact_of_removed_constant_fails(broken) -> None:
    _assert_failed_with(broken, r"docs/index\.md:\d+: fact 'specify_cli\.config:NOPE': "
                                r"specify_cli\.config has no attribute 'NOPE'")


def test_unknown_reference_fails(broken) -> None:
    _assert_failed_with(broken, r"docs/reference/events\.md:\d+: unknown reference "
                                r"'events\.nope'")


def test_page_without_see_also_fails(broken) -> None:
    _assert_failed_with(broken, r"docs/how-to/sync-workspaces\.md: every page ends with a "
                                r"`## See Also` section")


def test_cli_intro_for_missing_command_fails(broken) -> None:
    _assert_failed_with(broken, r"docs/reference/cli\.md: cli-intro names 'spec kitty authx'")


def test_public_module_without_api_page_fails(broken) -> None:
    _assert_failed_with(broken, r"src/specify_cli/sync/newthing\.py:1: public module "
                                r"specify_cli\.sync\.newthing has no API page")
