"""`python -m scripts.docs_gate [--update] [--external] [--only CHECK[,CHECK]]`.

Runs the checks in order, prints one line per check (status, count, time), then every problem
as `file:line: what is wrong; what to do`, and a final summary line that says where the site is.
Exits 1 when any blocking check fails, 2 on a usage error.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor

from scripts.docs_gate._common import ROOT, Options, Problem, Result, ensure_src_on_path, rel


def _checks() -> dict[str, tuple[Callable[[Options], Result], bool]]:
    """Check name -> (function, needs the built site). Imported lazily: fast `--help`."""
    from scripts.docs_gate import (
        build,
        cli_links,
        completeness,
        examples,
        links,
        llms,
        mentions,
        netlify,
        portability,
        quoted,
    )

    return {
        "build": (build.run, False),
        "links": (links.run, True),
        "examples": (examples.run, False),
        "mentions": (mentions.run, False),
        "cli-links": (cli_links.run, True),
        "completeness": (completeness.run, True),
        "quoted": (quoted.run, False),
        "llms": (llms.run, True),
        "netlify": (netlify.run, True),
        "portability": (portability.run, False),
    }


NAMES = ("build", "links", "examples", "mentions", "cli-links", "completeness", "quoted",
         "llms", "netlify", "portability")


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


def _timed(name: str, func: Callable[[Options], Result], options: Options) -> Result:
    """Run one check; a crash becomes a failed result with its reason."""
    begin = time.perf_counter()
    try:
        result = func(options)
    except Exception as exc:  # a crashed check is a failed check, with its reason
        import traceback

        result = Result(name, problems=[Problem(
            "scripts/docs_gate", f"the {name} check crashed: {exc!r}",
            traceback.format_exc(limit=6))])
    result.seconds = time.perf_counter() - begin
    return result


def main(argv: list[str] | None = None) -> int:
    """Run the selected checks and return the exit status."""
    args = _parse(sys.argv[1:] if argv is None else argv)
    os.environ.setdefault("NO_MKDOCS_2_WARNING", "1")
    ensure_src_on_path()
    only = [n.strip() for n in args.only.split(",") if n.strip()]
    skip = [n.strip() for n in args.skip.split(",") if n.strip()]
    unknown = [n for n in only + skip if n not in NAMES]
    if unknown:
        print(f"error: unknown check {unknown[0]!r}; choose from {', '.join(NAMES)}",
              file=sys.stderr)
        return 2
    checks = _checks()
    selected = [n for n in NAMES if (not only or n in only) and n not in skip]
    if any(checks[n][1] for n in selected) and "build" not in selected and "build" not in skip:
        selected.insert(0, "build")
    options = Options(update=args.update, external=args.external)
    if args.site_dir:
        from pathlib import Path

        options.site_dir = Path(args.site_dir).resolve()
    started = time.perf_counter()
    results: list[Result] = []
    site_ok = True
    # The executed examples need no site and spend much of their time waiting on the CLI and
    # server subprocesses: run them alongside the build and the link check; their line still
    # prints in order. (The non-blocking Zensical build stays last: it would only slow the
    # blocking checks down on a 2-core machine.)
    early: dict[str, Future[Result]] = {}
    pool = ThreadPoolExecutor(max_workers=1)
    if "examples" in selected and len(selected) > 1 and not options.update:
        early["examples"] = pool.submit(_timed, "examples", checks["examples"][0], options)
    for name in selected:
        func, needs_site = checks[name]
        if name in early:
            result = early[name].result()
        elif needs_site and not site_ok:
            result = Result(name, skipped="the build produced no site; fix it first")
        else:
            result = _timed(name, func, options)
        if name == "build":
            # A strict build that fails on warnings still writes the site: keep checking it,
            # so one run names every problem. No site at all: the site checks are skipped.
            site_ok = (options.site_dir / "index.html").is_file()
        results.append(result)
        print(_line(result), flush=True)
        for note in result.notes:
            print(f"       {note}", flush=True)
        for problem in result.problems:
            print("    " + problem.render().replace("\n", "\n    "), flush=True)
    pool.shutdown()
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
