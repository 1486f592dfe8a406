"""The unmodified tree passes the whole docs gate; netlify.toml matches the built site."""

from __future__ import annotations

import re
import tomllib

from scripts.docs_gate import netlify
from scripts.docs_gate._common import Options, Result

from tests.docs.conftest import ROOT, run_gate


def test_the_tree_passes_the_gate(gate_run):
    proc, _site = gate_run
    assert proc.returncode == 0, proc.stdout[-6000:] + proc.stderr[-2000:]
    lines = proc.stdout.splitlines()
    for check in ("build", "links", "examples", "mentions", "cli-links", "completeness",
                  "quoted", "llms", "netlify"):
        line = next((x for x in lines if re.match(rf"^ok\s+{re.escape(check)}\s", x)), None)
        assert line is not None, f"no ok line for {check}:\n{proc.stdout}"
        assert re.search(r"\(\d+\.\ds\)$", line), line
    assert lines[-1].startswith("docs gate: passed") and "site in" in lines[-1]


def test_netlify_toml_redirects_and_headers(gate_run):
    _proc, site = gate_run
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
    result = netlify.run(Options(site_dir=site))
    assert not result.problems, "\n".join(p.render() for p in result.problems)


def test_netlify_check_catches_a_wrong_csp(gate_run, tmp_path, monkeypatch):
    _proc, site = gate_run
    text = (ROOT / "netlify.toml").read_text(encoding="utf-8")
    broken = re.sub(r"'sha256-[^']+' ", "", text, count=1)
    assert broken != text
    result = Result("netlify")
    netlify._check_headers(tomllib.loads(broken), broken, site, result)
    assert any("script-src" in p.message and "1 missing" in p.message for p in result.problems)


def test_portability_is_reported_and_never_blocks():
    proc = run_gate(ROOT, "--only", "portability")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    line = next(x for x in proc.stdout.splitlines() if "portability" in x)
    assert re.match(r"^(ok|warn|skip)\s+portability\s", line), line
    assert "zensical" in proc.stdout or "skipped:" in line
