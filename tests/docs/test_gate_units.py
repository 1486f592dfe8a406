"""Small, fast tests of the gate's parts: normalisation, command parsing, example format."""

from __future__ import annotations

from pathlib import Path

import pytest
from scripts.docs_gate._cli import CommandChecker, load_command, mentions_in_text
from scripts.docs_gate._serve import netlify_pattern
from scripts.docs_gate._shell import split_commands
from scripts.docs_gate.examples import matches, normalise

from tests._support.docs_project import copy_project, run_gate


@pytest.fixture(scope="module")
def checker() -> CommandChecker:
    return CommandChecker(load_command())


@pytest.mark.parametrize("line", [
    "spec-kitty sync server URL",
    "spec-kitty sync server http://127.0.0.1:8000",
    "spec-kitty auth login --username NAME --password-stdin",
    "spec-kitty --version",
    "spec-kitty auth",
    "spec-kitty sync now --help",
])
def test_valid_mentions_parse(checker, line):
    assert checker.check(line) is None


@pytest.mark.parametrize(("line", "reason"), [
    ("spec-kitty sync nope", "has no command 'nope'"),
    ("spec-kitty auth login --bogus", "No such option: --bogus"),
    ("spec-kitty sync server a b", "unexpected extra argument"),
    ("spec-kitty nope", "has no command 'nope'"),
])
def test_invalid_mentions_are_named(checker, line, reason):
    assert reason in (checker.check(line) or "")


def test_server_mentions_parse():
    server = CommandChecker(load_command("spec_kitty_server.cli"), "spec-kitty-server")
    assert server.check("spec-kitty-server serve --port 8000 --db team.sqlite3") is None
    assert "No such option: --prot" in server.check("spec-kitty-server serve --prot 1")


def test_mentions_in_messages():
    known = {"auth", "auth login", "sync", "sync server", "tasks", "docs"}
    assert mentions_in_text("Set one with: spec-kitty sync server URL", known) == \
        ["spec-kitty sync server URL"]
    assert mentions_in_text("run `spec-kitty auth login --force` first", known) == \
        ["spec-kitty auth login --force"]
    assert mentions_in_text("a spec-kitty server for teams", known) == []


def test_shell_splitting_drops_redirections_and_assignments():
    assert split_commands("FOO=1 spec-kitty auth login -u a < pw.txt 2>&1 | tee x") == \
        [["spec-kitty", "auth", "login", "-u", "a"], ["tee", "x"]]


def test_normalisation_of_what_varies():
    actual = ["Logged in at 2026-11-22T01:02:03Z on http://127.0.0.1:41234 (14m left)",
              "event 01JD3ZQ0F5X3M2W8N7V6B5C4A1 in /root/.spec-kitty/queues/ab12cd.sqlite3",
              "done in 0.42s"]
    docs = ["Logged in at 2026-01-01T00:00:00Z on http://127.0.0.1:8000 (59m 58s left)",
            "event 01ARZ3NDEKTSV4RRFFQ69G5FAV in ~/.spec-kitty/queues/QUEUE.sqlite3",
            "done in 1.5 s"]
    assert [normalise(x) for x in actual] == [normalise(x) for x in docs]
    assert not matches(["Cap: 0 of 100,000"], ["Cap: 0 of 50,000"])
    assert matches(["first", "...", "last"], ["first", "a", "b", "last"])


def test_netlify_patterns():
    assert netlify_pattern("/assets/javascripts/bundle.*.min.js").match(
        "/assets/javascripts/bundle.a5f9d56c.min.js")
    assert netlify_pattern("/explanation/*").match("/explanation/x/").group("splat") == "x/"


def test_update_rewrites_expected_output_and_skip_needs_a_reason(tmp_path: Path):
    project = copy_project(tmp_path / "project")
    page = project / "docs" / "gate-scratch.md"
    page.write_text("# Scratch\n\n```console\n$ spec-kitty --version\nspec-kitty 0.0.0-wrong\n"
                    "```\n\n<!-- docs-gate: skip reason=\"\" -->\n```console\n$ pip install x\n"
                    "```\n", encoding="utf-8")
    env = {"DOCS_GATE_PAGES": "gate-scratch.md"}
    first = run_gate(project, "--only", "examples", **env)
    assert first.returncode == 1
    assert "docs/gate-scratch.md:4" in first.stdout and "-spec-kitty 0.0.0-wrong" in first.stdout
    assert "skip needs a visible reason" in first.stdout
    run_gate(project, "--only", "examples", "--update", **env)
    text = page.read_text(encoding="utf-8")
    assert "0.0.0-wrong" not in text and "$ spec-kitty --version\nspec-kitty " in text
    page.write_text(text.replace('reason=""', 'reason="installs packages"'), encoding="utf-8")
    again = run_gate(project, "--only", "examples", **env)
    assert again.returncode == 0, again.stdout
    assert "1 blocks skipped with a reason" in again.stdout


def test_link_check_catches_broken_links_in_content(built_site, tmp_path: Path):
    import shutil

    from scripts.docs_gate import links
    from scripts.docs_gate._common import Options

    site, _problems = built_site
    copy = tmp_path / "site"
    shutil.copytree(site, copy)
    page = copy / "how-to" / "sync-to-server" / "index.html"
    html = page.read_text(encoding="utf-8")
    marker = "</article>"
    assert marker in html
    line = html[:html.index(marker)].count("\n") + 1
    page.write_text(html.replace(marker, '<p><a href="../authenticate/#no-such-heading">x</a>'
                                 '<a href="#no-such-anchor">y</a>'
                                 '<a href="../no-such-page/">z</a><img src="nope.png">'
                                 '<code>&lt;a href="../quoted-only/"&gt;</code></p>' + marker, 1),
                    encoding="utf-8")
    # A page no other page links to, and a stylesheet's url(): checked too.
    (copy / "orphan").mkdir()
    (copy / "orphan" / "index.html").write_text(
        '<html><body><a href="../no-orphan-target/">o</a></body></html>', encoding="utf-8")
    css = copy / "assets" / "extra.css"
    css_text = css.read_text(encoding="utf-8")
    css.write_text(css_text + "\n.x { background: url(no-such-image.svg); }\n", encoding="utf-8")

    result = links.run(Options(site_dir=copy))
    assert result.blocking and result.count > 0, result
    text = "\n".join(p.render() for p in result.problems)
    found = {p.message.split(": ", 1)[0]: p for p in result.problems}
    here = f"site/how-to/sync-to-server/index.html:{line} (from docs/how-to/sync-to-server.md)"
    expected = {
        "link ../authenticate/#no-such-heading": (here, "not found"),
        "link #no-such-anchor": (here, "no such anchor on the same page"),
        "link ../no-such-page/": (here, "404"),
        "link nope.png": (here, "404"),
        "link ../no-orphan-target/": ("site/orphan/index.html:1", "404"),
        "link no-such-image.svg": ("site/assets/extra.css", "404"),
    }
    assert set(found) == set(expected), text
    for key, (where, what) in expected.items():
        assert found[key].where == where, text
        assert what in found[key].message, text
    assert "quoted-only" not in text  # a link shown in code is text, not a link
    # Nothing else: every other link of the site (the tree's own) passes, which is also the
    # test that `links` passes on the tree (tests/docs/test_gate_checks.py leaves it out).
    assert len(result.problems) == len(expected), text


def test_every_page_and_stylesheet_starts_the_link_check_once(tmp_path: Path):
    from scripts.docs_gate.links import _shares

    files = ["index.html", "a/index.html", "b/c.html", "assets/x.css", "assets/y.css"]
    for number, name in enumerate(files):
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text("x" * (number + 1) * 100, encoding="utf-8")
    (tmp_path / "assets" / "app.js").write_text("no links read from here", encoding="utf-8")
    shares = _shares(tmp_path, "http://h/", 2)
    assert len(shares) == 2
    starts = [url for share in shares for url in share]
    assert sorted(starts) == sorted(["http://h/", "http://h/a/", "http://h/b/c.html",
                                     "http://h/assets/x.css", "http://h/assets/y.css"])


def test_site_nav_is_stripped_for_the_link_checker_only():
    from scripts.docs_gate._serve import strip_site_nav

    page = (b'<body><nav class="md-tabs"><a href="x/">X</a></nav>'
            b'<nav class="md-nav md-nav--primary">\n<nav class="md-nav"><a href="y/">Y</a></nav>'
            b'</nav><article><a href="z/">Z</a></article></body>')
    # The nav's line breaks stay, so linkchecker's line numbers are those of the file.
    assert strip_site_nav(page) == b'<body>\n<article><a href="z/">Z</a></article></body>'


def test_disguised_console_examples_are_flagged(tmp_path: Path):
    from scripts.docs_gate._markdown import parse_page
    from scripts.docs_gate.examples import plan

    page = tmp_path / "page.md"
    page.write_text("# P\n\n```text\n$ spec-kitty --version\nspec-kitty 9\n```\n\n"
                    "```bash\nspec-kitty sync now\n```\n", encoding="utf-8")
    problems = plan(parse_page(page)).problems
    assert len(problems) == 1 and "console example that does not run" in problems[0].message
    assert problems[0].where.endswith(":3")


@pytest.mark.parametrize("directive", ["<!-- docs-gate: hidden spec-kitty tasks finalize -->",
                                       "<!-- docs-gate: setup login -->"])
def test_hidden_setup_is_refused(tmp_path, directive):
    from scripts.docs_gate._markdown import parse_page
    from scripts.docs_gate.examples import plan

    page = tmp_path / "page.md"
    page.write_text(f"# Page\n\n{directive}\n```console\n$ spec-kitty --version\n```\n",
                    encoding="utf-8")
    problems = plan(parse_page(page)).problems
    assert len(problems) == 1 and "setup the reader cannot see" in str(problems[0])
