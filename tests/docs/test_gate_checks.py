"""The unmodified tree passes every check of the docs gate: the same functions `./scripts/build`
runs, here on one site built once per test run (`built_site`); netlify.toml matches the site."""

from __future__ import annotations

import re
import tomllib

import pytest
from scripts.docs_gate import NAMES, NEEDS_SITE, check, netlify
from scripts.docs_gate._common import Options, Result

from tests._support.docs_project import ROOT, run_gate

BLOCKING = [name for name in NAMES if name not in ("build", "portability", "links")]
"""The checks that must pass here. `links` passes on the tree in
tests/docs/test_gate_units.py::test_link_check_catches_broken_links_in_content: that run, on a
copy of the site with a few links broken on purpose, must report those and nothing else, so
it checks every link of the tree too, with one link check instead of two (14 s each)."""


def _problems(result: Result) -> str:
    return "\n".join(p.render() for p in result.problems)


def test_build_is_strict_and_clean(built_site):
    site, problems = built_site
    assert problems == []
    assert (site / "index.html").is_file()


@pytest.mark.parametrize("name", BLOCKING)
def test_check_passes_on_the_tree(name, request):
    options = Options()
    if name in NEEDS_SITE:
        options.site_dir = request.getfixturevalue("built_site")[0]
    result = check(name)(options)
    assert result.blocking
    assert not result.problems, _problems(result)
    assert result.count > 0, result


def test_portability_is_reported_and_never_blocks():
    result = check("portability")(Options())
    assert not result.blocking
    assert result.skipped or result.count > 0, _problems(result)


def test_the_gate_prints_one_line_per_check(built_site):
    site, _problems = built_site
    proc = run_gate(ROOT, "--only", "llms,netlify", "--skip", "build", "--site-dir", str(site))
    assert proc.returncode == 0, proc.stdout + proc.stderr
    lines = proc.stdout.splitlines()
    assert re.match(r"^ok\s+llms\s+\d+ links \(\d+\.\ds\)$", lines[0]), lines
    assert re.match(r"^ok\s+netlify\s+.*\(\d+\.\ds\)$", lines[1]), lines
    assert lines[-1].startswith("docs gate: passed 2 checks") and "site in" in lines[-1]


def test_netlify_toml_redirects_and_headers(built_site):
    site, _problems = built_site
    data = tomllib.loads((ROOT / "netlify.toml").read_text(encoding="utf-8"))
    assert data["build"]["publish"] == "site"
    assert data["build"]["environment"]["PYTHON_VERSION"].startswith("3.11")
    assert "DEPLOY_PRIME_URL" in data["context"]["deploy-preview"]["command"]
    for rule in data["redirects"]:
        target = rule["to"].replace(":splat", "").lstrip("/")
        assert (site / target).exists(), f"redirect {rule['from']} -> {rule['to']} goes nowhere"
    values = next(h["values"] for h in data["headers"] if h["for"] == "/*")
    csp = netlify.parse_csp(values["Content-Security-Policy"])
    assert csp["frame-ancestors"] == ["'none'"] and csp["object-src"] == ["'none'"]
    assert "'unsafe-inline'" not in csp["script-src"] + csp["style-src"]
    assert values["X-Content-Type-Options"] == "nosniff"
    assert int(re.search(r"max-age=(\d+)", values["Strict-Transport-Security"]).group(1)) \
        >= 31536000


def test_netlify_check_catches_a_wrong_csp(built_site):
    site, _problems = built_site
    text = (ROOT / "netlify.toml").read_text(encoding="utf-8")
    broken = re.sub(r"'sha256-[^']+' ", "", text, count=1)
    assert broken != text
    result = Result("netlify")
    netlify._check_headers(tomllib.loads(broken), broken, site, result)
    assert any("script-src" in p.message and "1 missing" in p.message for p in result.problems)
