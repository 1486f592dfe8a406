"""Docs figures: the full gate, the bare build, the link check, scale, and `mkdocs serve`.

Everything runs in a snapshot of the tree under the work dir (the gate, MkDocs and the hooks
find the project from their own files), so the figures do not race other edits and the
real site/ is not touched.

- gate: `python -m scripts.docs_gate` (what `./scripts/build` runs after its no-op
  bootstrap); its per-check times are kept in the JSON.
- link check: `python -m scripts.docs_gate --only links` (the strict build, then the link
  check, nothing running alongside); its two per-check times are the figure and baseline.
- bare build: `mkdocs build --no-strict -q` of the same config: no gate checks, no strict.
- scale: the snapshot plus 100 (and with `--scale` 500) synthetic pages listed in the nav,
  each run with `python -m scripts.docs_gate --only links` (strict build + link check). The
  linearity of a step is (time growth) / (page-count growth): 1.0 is linear, below 1 is
  better, above 1.5 misses the goal.
- serve: `mkdocs serve` (strict, as `./scripts/serve`); a page is edited and the page URL
  polled every 20 ms until the edit is served; the next edit waits for the rebuild to end.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import time
import uuid
from itertools import pairwise
from pathlib import Path

from scripts.bench_suite._context import Bench
from scripts.bench_suite._env import MAIN_BIN, log, snapshot_tree
from scripts.bench_suite._model import Figure, Goal, Sample, at_most
from scripts.bench_suite._procs import free_port, run_timed

_CHECK_LINE = re.compile(r"^(ok|FAIL|warn|skip)\s+(\S+)\s+.*\((\d+(?:\.\d+)?)s\)\s*$", re.M)
FIGURES = (("docs-gate", "full docs gate (`./scripts/build`)"),
           ("docs-links", "link check with anchors (gate `links` check)"),
           ("docs-scale-build", "scale: strict build"),
           ("docs-scale-links", "scale: link check"),
           ("docs-serve", "`mkdocs serve`: page edit to fresh HTML served"))


def skip_all(b: Bench, reason: str) -> None:
    """Add every docs figure as skipped."""
    for fid, name in FIGURES:
        b.add(Figure(fid, name).skip(reason))


def _env() -> dict[str, str]:
    env = dict(os.environ)
    env["NO_MKDOCS_2_WARNING"] = "1"
    env.pop("PYTHONPATH", None)
    return env


def _gate(tree: Path, *args: str) -> tuple[float, dict[str, float], str, int]:
    """Run the gate in `tree`; return wall seconds, check -> seconds, summary line, exit."""
    timed = run_timed([str(MAIN_BIN / "python"), "-m", "scripts.docs_gate", *args], cwd=tree,
                      env=_env(), timeout=1800)
    checks = {m.group(2): float(m.group(3)) for m in _CHECK_LINE.finditer(timed.stdout)
              if m.group(1) in ("ok", "FAIL", "warn")}
    summary = next((line for line in reversed(timed.stdout.splitlines())
                    if line.startswith("docs gate:")), timed.stderr.strip()[-200:])
    return timed.seconds, checks, summary, timed.returncode


def _reps_left(first: float, want: int, budget: float) -> int:
    """How many more runs after a first one of `first` seconds fit in `budget` (≥ 0)."""
    if first <= 0:
        return want - 1
    return max(0, min(want - 1, int((budget - first) // first)))


def _page_count(site: Path) -> int:
    return sum(1 for p in site.rglob("index.html")) if site.is_dir() else 0


def _fail_gate_figures(b: Bench, reason: str) -> None:
    for fid, name in FIGURES[:2]:
        b.add(Figure(fid, name).fail(reason))


def run(b: Bench) -> None:
    """Add the docs figures."""
    base = snapshot_tree(b.work / "docs-base")
    if not (base / "mkdocs.yml").is_file() or not (base / "scripts" / "docs_gate").is_dir():
        skip_all(b, "no mkdocs.yml or scripts/docs_gate yet")
        return
    quick = b.options.quick
    gate_runs: list[tuple[float, dict[str, float], str, int]] = []
    log("docs: full gate, run 1")
    gate_runs.append(_gate(base))
    for i in range(_reps_left(gate_runs[0][0], b.reps(3), 150 if not quick else 0)):
        log(f"docs: full gate, run {i + 2}")
        gate_runs.append(_gate(base))
    bare = []
    log("docs: bare mkdocs build")
    for i in range(b.reps(3)):
        timed = run_timed([str(MAIN_BIN / "mkdocs"), "build", "--no-strict", "-q", "--site-dir",
                           str(b.work / f"bare-site-{i}")], cwd=base, env=_env(), timeout=900)
        if timed.returncode != 0:
            tail = " | ".join(timed.stderr.strip().splitlines()[-2:])
            bare = []
            bare_error = f"bare mkdocs build exited {timed.returncode}: {tail[:300]}"
            break
        bare.append(timed.seconds)
        if i == 0 and _reps_left(timed.seconds, b.reps(3), 60) < 2:
            break
    gate_status = [r[3] for r in gate_runs]
    gate_note = (f"the gate itself {'passed' if not any(gate_status) else 'FAILED'} "
                 f"({gate_runs[-1][2][:160]})")
    fig = Figure("docs-gate", "full docs gate (`./scripts/build`)",
                 baseline_name="bare `mkdocs build` (not strict, no checks)", goal=at_most(3))
    fig.value = Sample([r[0] for r in gate_runs], "s")
    if bare:
        fig.baseline = Sample(bare, "s")
        fig.notes.append(gate_note)
        checks = {}
        for _, per_check, _, _ in gate_runs:
            for name, seconds in per_check.items():
                checks.setdefault(name, []).append(seconds)
        fig.extra = {"checks_seconds": checks}
        if checks:
            fig.notes.append("median per check (`examples` and `portability` run beside "
                             "the build: the times overlap): " + ", ".join(
                f"{k} {sorted(v)[len(v) // 2]:.1f}s" for k, v in checks.items()))
        b.add(fig.finish())
    else:
        b.add(fig.fail(bare_error))
    # The full gate runs its `examples` and `portability` checks beside the build, so
    # their times there include that contention: time them in isolation, as the scale
    # figures do (`--only links` = the strict build, then the link check).
    builds, links, isolated_note = [], [], ""
    for i in range(b.reps(3)):
        log(f"docs: strict build + link check in isolation, run {i + 1}")
        seconds, checks, summary, status = _gate(base, "--only", "links")
        if "build" not in checks or "links" not in checks:
            isolated_note = summary[:200]
            break
        builds.append(checks["build"])
        links.append(checks["links"])
        if status != 0:
            isolated_note = summary[:200]
        if i == 0 and _reps_left(seconds, b.reps(3), 60) < 2:
            break
    fig = Figure("docs-links", "link check with anchors (gate `links` check)",
                 baseline_name="the strict build (gate `build` check, same runs)",
                 goal=at_most(2))
    if builds and links:
        fig.value, fig.baseline = Sample(links, "s"), Sample(builds, "s")
        fig.notes.append("`python -m scripts.docs_gate --only links` (strict build, then "
                         "linkchecker over loopback HTTP with AnchorCheck; same-page anchors "
                         "are checked by the gate itself), per-check times")
        if isolated_note:
            fig.notes.append(isolated_note)
        b.add(fig.finish())
    else:
        b.add(fig.fail(f"the gate did not run its build and links checks "
                       f"({isolated_note or gate_note})"))
    strict_build = Sample(builds, "s") if builds else None
    if quick and b.options.only is not None:
        b.add(Figure("docs-scale-build", "scale: strict build").skip("skipped in --quick mode"))
        b.add(Figure("docs-scale-links", "scale: link check").skip("skipped in --quick mode"))
    else:
        _scale(b, base, builds, links)
    _serve(b, base, strict_build)


# -- scale -------------------------------------------------------------------------------------

_PAGE = """# Synthetic page {n}

This page was generated by the benchmark suite to measure how the docs build and the link
check grow with the number of pages. It links to its neighbours, with anchors, like a real
how-to guide does: see [the previous page](page-{prev:04d}.md#section-2) and
[the next page](page-{next:04d}.md#section-3).

{sections}

## See also

- [Home](../index.md)
- [Synthetic page {next}](page-{next:04d}.md)
"""

_SECTION = """## Section {s}

Paragraph {s} of page {n}. The queue holds events until the server acknowledges them; a
push sends them in batches of a thousand, compressed, oldest first. Lorem ipsum text is
avoided so that search indexing sees ordinary English words of ordinary lengths.

| setting | default | meaning |
|---|---|---|
| `sync.interval_seconds` | 300 | how often the background sync runs |
| `sync.queue_cap` | 100000 | how many events the queue holds |

```python
def example_{s}(events):
    return [event for event in events if event["event_type"] == "WPStatusChanged"]
```

!!! note "Note {s}"
    Jump back to [section 1](#section-1) of this page.
"""


def add_synthetic_pages(tree: Path, count: int) -> None:
    """Add `count` pages under docs/bench/, listed in a new `Bench` tab of the nav."""
    pages = tree / "docs" / "bench"
    pages.mkdir(parents=True)
    entries = []
    for n in range(1, count + 1):
        prev = count if n == 1 else n - 1
        nxt = 1 if n == count else n + 1
        sections = "\n".join(_SECTION.format(s=s, n=n) for s in range(1, 5))
        (pages / f"page-{n:04d}.md").write_text(
            _PAGE.format(n=n, prev=prev, next=nxt, sections=sections))
        entries.append(f"- name: Synthetic page {n}\n  href: bench/page-{n:04d}.md\n")
    toc = tree / "toc" / "bench"
    toc.mkdir(parents=True)
    (toc / "toc.yml").write_text("".join(entries))
    with open(tree / "toc" / "toc.yml", "a") as handle:
        handle.write("- name: Bench\n  href: bench/toc.yml\n")


SCALE_DEFER_SECONDS = 90
"""Without --scale, the +100-page figures are deferred when the base link check is slower."""


def _scale(b: Bench, base: Path, builds: list[float], links: list[float]) -> None:
    sizes = [100, 500] if b.options.scale else [100]
    if not b.options.scale and links and sorted(links)[len(links) // 2] > SCALE_DEFER_SECONDS:
        reason = (f"deferred to `./scripts/bench --scale`: the base link check alone took "
                  f"{sorted(links)[len(links) // 2]:.0f} s, so +100 pages would push this run "
                  "past its 10-minute budget")
        b.add(Figure("docs-scale-build", "scale: strict build, site + 100 pages").skip(reason))
        b.add(Figure("docs-scale-links", "scale: link check, site + 100 pages").skip(reason))
        return
    base_pages = _page_count(base / "site")
    curve = [{"extra_pages": 0, "pages": base_pages, "build_s": builds, "links_s": links}]
    problems = []
    for extra in sizes:
        tree = snapshot_tree(b.work / f"docs-scale-{extra}")
        add_synthetic_pages(tree, extra)
        runs = []
        want = 1 if extra >= 500 else b.reps(2)
        for i in range(want):
            log(f"docs: scale +{extra} pages, run {i + 1}/{want}")
            seconds, checks, summary, status = _gate(tree, "--only", "links")
            if "build" not in checks or "links" not in checks:
                problems.append(f"+{extra} pages: {summary[:200]}")
                break
            if status != 0:  # timed all the same; say that the checks found problems
                problems.append(f"+{extra} pages, run {i + 1}: {summary[:160]}")
            runs.append(checks)
            if i == 0 and seconds > 120:
                break
        if not runs:
            break
        curve.append({"extra_pages": extra, "pages": _page_count(tree / "site"),
                      "build_s": [r["build"] for r in runs],
                      "links_s": [r["links"] for r in runs]})
        if not b.options.keep:
            shutil.rmtree(tree / "site", ignore_errors=True)
    for key, fid, label in (("build_s", "docs-scale-build", "strict build"),
                            ("links_s", "docs-scale-links", "link check")):
        fig = Figure(fid, f"scale: {label}, site + {' / + '.join(map(str, sizes))} pages",
                     goal=Goal("every step ≤ 1.5× linear",
                               lambda f: max(f.extra["linearity"]) <= 1.5))
        points = [(p["pages"], sorted(p[key])[len(p[key]) // 2]) for p in curve if p[key]]
        if len(points) < 2:
            b.add(fig.fail("; ".join(problems) or "no base measurement"))
            continue
        linearity = [(t1 / t0) / (n1 / n0) for (n0, t0), (n1, t1) in pairwise(points)]
        fig.value = Sample(linearity, "× linear")
        fig.extra = {"curve": [{"pages": n, "seconds": t} for n, t in points],
                     "linearity": linearity}
        fig.notes.append("growth: " + " → ".join(f"{n} pages {t:.1f}s" for n, t in points)
                         + "; value = per-step (time growth / page growth)")
        if problems:
            fig.notes.append("; ".join(problems))
        b.add(fig.finish())


# -- serve -------------------------------------------------------------------------------------


def _serve(b: Bench, base: Path, strict_build: Sample | None) -> None:
    import httpx

    fig = Figure("docs-serve", "`mkdocs serve`: page edit to fresh HTML served",
                 baseline_name="the strict build (gate `build` check, in isolation)",
                 goal=at_most(1))
    page = next((p for p in ("docs/how-to/authenticate.md", "docs/index.md")
                 if (base / p).is_file()), None)
    if page is None or strict_build is None:
        b.add(fig.fail("no page to edit" if page is None else "no strict build time measured"))
        return
    url_path = "/" if page == "docs/index.md" else "/" + page[len("docs/"):-len(".md")] + "/"
    port = free_port()
    log_path = b.work / "mkdocs-serve.log"
    handle = open(log_path, "w")
    proc = subprocess.Popen([str(MAIN_BIN / "mkdocs"), "serve", "--dev-addr",
                             f"127.0.0.1:{port}"], cwd=base, env=_env(), stdout=handle,
                            stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
    handle.close()
    url = f"http://127.0.0.1:{port}{url_path}"
    times: list[float] = []
    try:
        deadline = time.monotonic() + 300
        with httpx.Client(timeout=5) as client:
            while time.monotonic() < deadline:
                if proc.poll() is not None:
                    raise RuntimeError(f"mkdocs serve exited {proc.returncode}: "
                                       + " | ".join(log_path.read_text().splitlines()[-3:]))
                try:
                    if client.get(url).status_code == 200:
                        break
                except httpx.HTTPError:
                    pass
                time.sleep(0.1)
            else:
                raise RuntimeError("mkdocs serve did not serve the page within 300 s")
            source = base / page
            for i in range(b.reps(5)):
                built = log_path.read_text().count("Documentation built in")
                marker = f"bench-edit-{uuid.uuid4().hex}"
                with open(source, "a") as out:
                    out.write(f"\n\n{marker}\n")
                start = time.perf_counter()
                while True:
                    if time.perf_counter() - start > 120:
                        raise RuntimeError("the edit was not served within 120 s: "
                                           + " | ".join(log_path.read_text()
                                                        .splitlines()[-3:]))
                    try:
                        if marker in client.get(url).text:
                            break
                    except httpx.HTTPError:
                        pass
                    time.sleep(0.02)
                times.append(time.perf_counter() - start)
                settle = time.monotonic() + 120
                while (log_path.read_text().count("Documentation built in") <= built
                       and time.monotonic() < settle):
                    time.sleep(0.05)
                if i == 0 and times[0] > 30:
                    break
    except RuntimeError as exc:
        b.add(fig.fail(str(exc)))
        return
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
    rebuilds = re.findall(r"Documentation built in ([0-9.]+) seconds", log_path.read_text())
    fig.value, fig.baseline = Sample(times, "s"), strict_build
    fig.notes.append(f"edited {page}, polled {url_path} every 20 ms; mkdocs' own rebuild "
                     f"times: {', '.join(rebuilds[1:]) or 'n/a'} s")
    b.add(fig.finish())
