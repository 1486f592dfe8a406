"""Fast checks of the docs generators, without a full MkDocs build."""

from __future__ import annotations

from pathlib import Path

from scripts.docs_gen import facts, toc
from scripts.docs_gen.docs_topics import md_target
from scripts.docs_gen.schema_md import cell


def _write(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")


def test_toc_builds_nested_nav_and_reports_problems_with_lines(tmp_path: Path) -> None:
    docs, tocs = tmp_path / "docs", tmp_path / "toc"
    _write(docs / "index.md", "# Home\n")
    _write(docs / "a" / "one.md", "# One\n")
    _write(tocs / "toc.yml", "- name: Home\n  href: index.md\n- name: A\n  href: a/toc.yml\n")
    _write(tocs / "a" / "toc.yml",
           "- name: Group\n  items:\n    - name: One\n      href: a/one.md\n"
           "- name: Again\n  href: a/one.md\n"
           "- name: Missing\n  href: a/two.md\n"
           "- name: Web\n  href: https://example.com/\n")
    _write(tocs / "stray.yml", "- name: X\n  href: index.md\n")
    result = toc.load_toc(tocs, docs, tmp_path)
    assert result.nav == [{"Home": "index.md"},
                          {"A": [{"Group": [{"One": "a/one.md"}]},
                                 {"Web": "https://example.com/"}]}]
    messages = [str(p) for p in result.problems]
    assert "toc/a/toc.yml:5: duplicate entry 'a/one.md': already listed at toc/a/toc.yml:3" \
        in messages
    assert any(m.startswith("toc/a/toc.yml:7: broken href 'a/two.md'") for m in messages)
    assert "toc/stray.yml:1: toc file is not referenced from toc/toc.yml" in messages


def test_toc_reports_invalid_yaml(tmp_path: Path) -> None:
    _write(tmp_path / "toc" / "toc.yml", "- name: [unclosed\n")
    result = toc.load_toc(tmp_path / "toc", tmp_path, tmp_path)
    assert result.problems and "not valid YAML" in result.problems[0].message


def test_fact_filters_and_escape() -> None:
    text, problems = facts.substitute(
        "{{ fact:queue.cap | number }} / {{ fact:sync.interval | duration }} / "
        "\\{{ fact:literal }} / {{ fact:nope }} / {{ fact:queue.cap | bogus }}")
    assert text.startswith("100,000 / 5 minutes / {{ fact:literal }} / ")
    assert [line for line, _ in problems] == [1, 1]
    assert "unknown fact 'nope'" in problems[0][1]
    assert "unknown filter 'bogus'" in problems[1][1]
    assert facts.FILTERS["bytes"](64 * 1024) == "64 KiB"
    assert facts.FILTERS["duration"](0.5) == "0.5 seconds"
    assert facts.FILTERS["duration"](7 * 24 * 3600) == "7 days"


def test_fact_outside_the_project_is_refused() -> None:
    _, problems = facts.substitute("{{ fact:os:environ }}")
    assert ("modules must be in spec_kitty_protocol or specify_cli or spec_kitty_server"
            in problems[0][1])


def test_table_cells_keep_code_pipes_and_escape_others() -> None:
    assert cell("a | b `x|y`") == "a \\| b `x|y`"


def test_docs_topic_paths_become_relative_md_links() -> None:
    assert md_target("", "reference") == "../index.md"
    assert md_target("how-to/authenticate/#log-out", "reference") == \
        "../how-to/authenticate.md#log-out"


def test_llms_markdown_is_converted_once_per_distinct_page() -> None:
    from mkdocs_llmstxt._internal import plugin
    from scripts import mkdocs_hooks

    original = plugin._generate_page_markdown
    try:
        mkdocs_hooks._memoize_llms_markdown()
        memoized = plugin._generate_page_markdown
        assert memoized is not original and memoized.memo == {}
        args = {"should_autoclean": True, "preprocess": None, "path": "/site/a/index.md",
                "base_uri": "https://docs.example/", "page_uri": "a/index.html"}
        html = "<h1>Title</h1><p>Some <a href='../b/'>link</a>.</p>"
        first = memoized(html, **args)
        assert first == original(html, **args)
        assert memoized(html, **args) is first  # the same page again: not converted again
        edited = memoized(html.replace("Some", "Other"), **args)
        assert edited == original(html.replace("Some", "Other"), **args) != first
        assert len(memoized.memo) == 2
        mkdocs_hooks._memoize_llms_markdown()  # the next rebuild keeps the memo
        assert plugin._generate_page_markdown is memoized
    finally:
        plugin._generate_page_markdown = original
