"""Copy-and-run: what the copy button of each tutorial code block puts on the clipboard is
the commands only (no `$ ` prompts, no output), and run in order in a shell session against
a real reference server, those commands print the output the page documents.

The clipboard text comes from clicking Material's copy button in headless Chromium; the
commands then run in the docs gate's sandbox session (temporary HOME, the page's own
`spec-kitty-server serve` on a free loopback port), and each command's output is compared
with the lines the page shows under it.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from scripts.docs_gate._markdown import parse_page
from scripts.docs_gate._serve import serve
from scripts.docs_gate.examples import RUN_LANGS, Session, Step, _judge, parse_block, plan

from tests._support.docs_project import ROOT

pytestmark = [pytest.mark.browser, pytest.mark.slow]

CHROMIUM = "/usr/bin/chromium"
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--no-first-run", "--disable-dev-shm-usage"]
TUTORIAL = ROOT / "docs" / "tutorials" / "server-connection.md"


def _copied_blocks(site: Path, url_path: str) -> list[str]:
    """Click the copy button of every code block of a page; return the clipboard texts."""
    if not Path(CHROMIUM).exists() or shutil.which("chromium") is None:
        pytest.skip("Debian's chromium is not installed (./scripts/test installs it)")
    sync_api = pytest.importorskip("playwright.sync_api")
    texts: list[str] = []
    with serve(site) as base, sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=ARGS,
                                             headless=True)
        context = browser.new_context(viewport={"width": 1280, "height": 900})
        context.grant_permissions(["clipboard-read", "clipboard-write"],
                                  origin=base.rstrip("/"))
        page = context.new_page()
        page.set_default_timeout(15000)
        page.goto(base + url_path)
        blocks = page.locator("article div.highlight pre")
        for i in range(blocks.count()):
            block = blocks.nth(i)
            block.scroll_into_view_if_needed()
            block.hover()
            page.evaluate("navigator.clipboard.writeText('')")
            block.locator("button[data-md-type=copy]").click()
            texts.append(page.evaluate("navigator.clipboard.readText()"))
        context.close()
        browser.close()
    return texts


def _commands(copied: str) -> list[str]:
    """Split pasted text into command lines, as a shell reads them (`\\` continues a line)."""
    commands: list[str] = []
    pending = ""
    for line in copied.splitlines():
        if not line.strip() and not pending:
            continue
        if line.rstrip().endswith("\\"):
            pending += line.rstrip()[:-1] + "\n"
            continue
        commands.append(pending + line)
        pending = ""
    if pending:
        commands.append(pending)
    return commands


def test_tutorial_copy_gives_commands_that_print_the_documented_output(built_site):
    site, _problems = built_site  # the strict build itself is tests/docs/test_gate_checks.py
    page = parse_page(TUTORIAL)
    copied = _copied_blocks(site, "tutorials/server-connection/")
    assert len(copied) == len(page.blocks), (len(copied), len(page.blocks))
    steps: list[Step] = []
    for block, text in zip(page.blocks, copied, strict=True):
        documented = parse_block(block, check_output=block.lang in RUN_LANGS)
        if block.lang not in RUN_LANGS and not any(d.word == "run" for d in block.directives):
            continue  # a block the page does not ask the reader to run here
        got = _commands(text)
        assert not any(c.startswith("$ ") for c in got), text
        assert [c.replace("\n> ", "\n") for c in got] == [s.command for s in documented], text
        for cmd, step in zip(got, documented, strict=True):
            steps.append(Step(block, step.line, cmd, step.expected, step.first_out,
                              step.end_out, step.check_output))
    assert plan(page).problems == []
    assert any(s.check_output for s in steps), "the tutorial has no console example"
    text = page.text
    session = Session(page, uses_own_server="spec-kitty-server serve" in text,
                      creates_users="spec-kitty-server user add" in text)
    try:
        for step in steps:
            outcome = session.run(step)
            _judge(outcome)
            assert outcome.problem is None, outcome.problem.render()
    finally:
        session.close()
