"""`python -m scripts.docs_gate [--update] [--external] [--only CHECK[,CHECK]]`.

Runs the checks, prints one line per check (status, count, time) in a fixed order, then every
problem as `file:line: what is wrong; what to do`, and a final summary line that says where
the site is. Exits 1 when any blocking check fails, 2 on a usage error.

The checks that need no site start at once beside the build: the executed examples and the
Zensical build spend most of their time in subprocesses, so on two cores they overlap the
strict build instead of following it. They run at a lower CPU priority, because the strict
build and the link check after it are the gate's critical path: at equal priority the
examples' CLI processes took half the build's core (a 14 s build ran 28 s). The site checks
run once the build has written site/.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import sys
import threading
import time
import traceback
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path

from scripts.docs_gate import NAMES, NEEDS_SITE, check
from scripts.docs_gate._common import ROOT, Options, Problem, Result, ensure_src_on_path, rel


def _parse(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m scripts.docs_gate",
        description="Build the docs strictly and prove they agree with the CLI, the server "
                    "and Netlify.")
    parser.add_argument("--update", action="store_true",
                        help="rewrite the expected output of executed examples in place")
    parser.add_argument("--external", action="store_true",
                        help="check external links for real (needs a network)")
    parser.add_argument("--only", metavar="CHECK[,CHECK]", default="",
                        help=f"run only these checks ({', '.join(NAMES)}); the build runs first "
                             "when a selected check needs the site")
    parser.add_argument("--site-dir", metavar="DIR", default="",
                        help="build into and check DIR instead of site/")
    parser.add_argument("--skip", metavar="CHECK[,CHECK]", default="",
                        help="skip these checks")
    return parser.parse_args(argv)


def _line(result: Result) -> str:
    if result.skipped:
        status = "skip"
    elif result.failed:
        status = "FAIL" if result.blocking else "warn"
    else:
        status = "ok"
    what = result.summary or f"{result.count} {result.unit}"
    if result.skipped:
        what = f"skipped: {result.skipped}"
    elif result.problems:
        what += f", {len(result.problems)} problem{'s' if len(result.problems) != 1 else ''}"
    return f"{status:<4} {result.name:<13} {what} ({result.seconds:.1f}s)"


def _timed(name: str, options: Options) -> Result:
    """Run one check; a crash becomes a failed result with its reason."""
    begin = time.perf_counter()
    try:
        result = check(name)(options)
    except Exception as exc:  # a crashed check is a failed check, with its reason
        result = Result(name, problems=[Problem(
            "scripts/docs_gate", f"the {name} check crashed: {exc!r}",
            traceback.format_exc(limit=6))])
    result.seconds = time.perf_counter() - begin
    return result


def _names(arg: str) -> list[str]:
    return [n.strip() for n in arg.split(",") if n.strip()]


BESIDE_BUILD_NICE = 10
"""The nice increment of the checks that run beside the build, and of every process they start."""


def _beside_build() -> None:
    # Per thread on Linux, and inherited by the processes and threads it starts; a lowered
    # priority cannot be raised again, so these checks have threads of their own.
    if sys.platform == "linux":
        # Only the gate's speed depends on it: a refusal leaves the checks at full priority.
        with contextlib.suppress(OSError):
            os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), BESIDE_BUILD_NICE)


def _run_all(selected: list[str], options: Options) -> list[Future[Result]]:
    """Start every selected check; the site checks wait for the build to finish.

    With `--update` the examples rewrite pages that the other checks read: one at a time.
    """
    if options.update:
        return [_done(_timed(n, options)) for n in selected]
    pool = ThreadPoolExecutor(max_workers=len(selected))
    beside = [n for n in selected if n not in NEEDS_SITE and n != "build"]
    background = ThreadPoolExecutor(max_workers=max(1, len(beside)), initializer=_beside_build)
    futures = {n: background.submit(_timed, n, options) for n in beside}
    background.shutdown(wait=False)
    if "build" in selected:
        futures["build"] = pool.submit(_timed, "build", options)
        futures["build"].result()
    # A strict build that fails on warnings still writes the site: keep checking it, so one
    # run names every problem. No site at all: the site checks are skipped.
    site_ok = (options.site_dir / "index.html").is_file()
    for name in selected:
        if name in NEEDS_SITE:
            futures[name] = pool.submit(_timed, name, options) if site_ok else _done(
                Result(name, skipped="the build produced no site; fix it first"))
    pool.shutdown(wait=False)
    return [futures[n] for n in selected]


def _done(result: Result) -> Future[Result]:
    future: Future[Result] = Future()
    future.set_result(result)
    return future


def main(argv: list[str] | None = None) -> int:
    """Run the selected checks and return the exit status."""
    args = _parse(sys.argv[1:] if argv is None else argv)
    os.environ.setdefault("NO_MKDOCS_2_WARNING", "1")
    ensure_src_on_path()
    only, skip = _names(args.only), _names(args.skip)
    unknown = [n for n in only + skip if n not in NAMES]
    if unknown:
        print(f"error: unknown check {unknown[0]!r}; choose from {', '.join(NAMES)}",
              file=sys.stderr)
        return 2
    selected = [n for n in NAMES if (not only or n in only) and n not in skip]
    if NEEDS_SITE.intersection(selected) and "build" not in selected and "build" not in skip:
        selected.insert(0, "build")
    options = Options(update=args.update, external=args.external)
    if args.site_dir:
        options.site_dir = Path(args.site_dir).resolve()
    started = time.perf_counter()
    results: list[Result] = []
    for future in _run_all(selected, options):
        result = future.result()
        results.append(result)
        print(_line(result), flush=True)
        for note in result.notes:
            print(f"       {note}", flush=True)
        for problem in result.problems:
            print("    " + problem.render().replace("\n", "\n    "), flush=True)
    failed = [r.name for r in results if r.failed and r.blocking and not r.skipped]
    skipped = [r.name for r in results if r.skipped and r.blocking]
    total = time.perf_counter() - started
    site = rel(options.site_dir)
    if failed:
        print(f"docs gate: FAILED ({', '.join(failed)}) in {total:.1f}s; site in {site}/ "
              f"(not publishable)")
        return 1
    extra = f"; skipped: {', '.join(skipped)}" if skipped else ""
    print(f"docs gate: passed {len(results) - len(skipped)} checks in {total:.1f}s{extra}; "
          f"site in {site}/ (serve: python -m http.server -d {site} -b 127.0.0.1)")
    return 0


if __name__ == "__main__":
    os.chdir(ROOT)
    sys.exit(main())
