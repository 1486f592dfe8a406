"""Pytest plugin: the end-of-run figures table and the suite-wide no-secret-leak check.

Registered from `tests/conftest.py` (`pytest_plugins`), so it is active in the pytest-xdist
controller and in every worker. Each worker scans its own outputs for secrets at the end of
its session (`leaks.REGISTRY`) and sends its findings and figures to the controller through
`config.workeroutput`; the controller merges them, prints one table, and fails the run if any
secret leaked. Without xdist the same process does both.
"""

from __future__ import annotations

import pytest

from tests._support import figures, leaks, logins, procs

_SIGNING_KEY = "test-secret-" + "x" * 32  # what procs.start_server gives the server


def pytest_configure(config: pytest.Config) -> None:
    config._sk_snapshots = []  # type: ignore[attr-defined]
    config._sk_leaks = []  # type: ignore[attr-defined]
    config._sk_scanned = 0  # type: ignore[attr-defined]
    config._sk_logs = 0  # type: ignore[attr-defined]
    config._sk_tracebacks = 0  # type: ignore[attr-defined]
    if leaks.REGISTRY.observe_cli not in procs.OBSERVERS:
        procs.OBSERVERS.append(leaks.REGISTRY.observe_cli)
        procs.LOG_OBSERVERS.append(leaks.REGISTRY.log_file)


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    if report.when != "teardown":  # the teardown report carries every phase's captures
        return
    for name, content in report.sections:
        if name.startswith("Captured"):
            leaks.REGISTRY.output(f"{report.nodeid} {name}", content)


def _scan(config: pytest.Config) -> dict:
    leaks.REGISTRY.secret(logins.PASSWORD, "password")
    leaks.REGISTRY.secret(_SIGNING_KEY, "server signing key")
    found, scanned = leaks.REGISTRY.find_leaks()
    figures.add("secret_leaks", len(found))
    errors, tracebacks = leaks.server_log_health(leaks.REGISTRY.log_files)
    figures.add("http_500", errors)
    return {"leaks": [leak.describe() for leak in found], "scanned": scanned,
            "figures": figures.snapshot(), "logs": len(leaks.REGISTRY.log_files),
            "tracebacks": tracebacks}


@pytest.hookimpl(tryfirst=True)
def pytest_sessionfinish(session: pytest.Session) -> None:
    config = session.config
    result = _scan(config)
    workeroutput = getattr(config, "workeroutput", None)
    if workeroutput is not None:  # an xdist worker: report to the controller
        workeroutput["sk_report"] = result
        return
    _collect(config, result)
    if config._sk_leaks and session.exitstatus == 0:  # type: ignore[attr-defined]
        session.exitstatus = pytest.ExitCode.TESTS_FAILED


def _collect(config: pytest.Config, result: dict) -> None:
    config._sk_snapshots.append(result["figures"])  # type: ignore[attr-defined]
    config._sk_leaks.extend(result["leaks"])  # type: ignore[attr-defined]
    config._sk_scanned += result["scanned"]  # type: ignore[attr-defined]
    config._sk_logs += result.get("logs", 0)  # type: ignore[attr-defined]
    config._sk_tracebacks += result.get("tracebacks", 0)  # type: ignore[attr-defined]


@pytest.hookimpl(optionalhook=True)
def pytest_testnodedown(node, error) -> None:
    report = getattr(node, "workeroutput", {}).get("sk_report")
    if report:
        _collect(node.config, report)


def pytest_terminal_summary(terminalreporter, config: pytest.Config) -> None:
    if getattr(config, "workeroutput", None) is not None:
        return
    counts, kinds, touched = figures.merge(config._sk_snapshots)  # type: ignore[attr-defined]
    found = config._sk_leaks  # type: ignore[attr-defined]
    tr = terminalreporter
    if touched - {"secret_leaks", "http_500"}:
        tr.write_sep("=", "reliability & security figures (measured)")
        width = max(len(label) for _, label in figures.ROWS)
        for key, label in figures.ROWS:
            value = counts.get(key, 0) if key in touched else "not run"
            tr.write_line(f"  {label:<{width}} {value}")
        if kinds:
            tr.write_line(f"  fault kinds: {', '.join(kinds)}")
    measured = figures.merge_lines(config._sk_snapshots)  # type: ignore[attr-defined]
    if measured:
        tr.write_sep("=", "server under hostile load (measured)")
        for text in measured:
            tr.write_line(f"  {text}")
    tr.write_line(f"secret leak check: {config._sk_scanned} outputs scanned, "  # type: ignore[attr-defined]
                  f"{len(found)} leaks found; server logs: "
                  f"{config._sk_logs} read, {counts.get('http_500', 0)} HTTP 500, "  # type: ignore[attr-defined]
                  f"{config._sk_tracebacks} tracebacks")
    for line in found[:50]:
        tr.write_line(f"  LEAK: {line}", red=True)
