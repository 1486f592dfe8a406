"""`python -m scripts.bench_suite [--quick] [--scale] [--only GROUP[,GROUP]] [--json PATH]`.

Groups run in this order: startup, emit, push (seeds 100k events, `sync now`, memory),
pull (`sync now` pulling 1M events, memory), ingest (batch endpoint, server memory),
dashboard, scale (the dashboards with a million events stored), docs (gate, build, links,
scale, serve).
Prints the markdown table on stdout, progress on stderr, and writes bench-results.json.
Exit status 0 even when goals are missed (a benchmark, not a test); 1 when a figure could
not be measured; 2 on a usage error.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
import traceback
from pathlib import Path

from scripts.bench_suite import _report
from scripts.bench_suite._context import Bench, Options
from scripts.bench_suite._env import ROOT, log

GROUPS = ("startup", "emit", "push", "pull", "ingest", "dashboard", "scale", "docs")


def _parse(argv: list[str]) -> Options:
    parser = argparse.ArgumentParser(
        prog="./scripts/bench",
        description="Measure every speed goal as a ratio against a baseline from the same run.")
    parser.add_argument("--quick", action="store_true",
                        help="tiny sizes and single runs (the smoke test); docs figures are "
                             "skipped unless named in --only")
    parser.add_argument("--scale", action="store_true",
                        help="also build and link-check the site plus 500 synthetic pages "
                             "(several minutes longer)")
    parser.add_argument("--only", metavar="GROUP[,GROUP]", default="",
                        help=f"run only these groups ({', '.join(GROUPS)})")
    parser.add_argument("--json", metavar="PATH", default=str(ROOT / "bench-results.json"),
                        help="where to write the results (default: bench-results.json)")
    parser.add_argument("--keep", action="store_true", help="keep the temporary work dir")
    args = parser.parse_args(argv)
    only = {g.strip() for g in args.only.split(",") if g.strip()} or None
    unknown = sorted((only or set()) - set(GROUPS))
    if unknown:
        parser.exit(2, f"error: unknown group {unknown[0]!r}; choose from {', '.join(GROUPS)}\n")
    return Options(quick=args.quick, scale=args.scale, only=only, json_path=Path(args.json),
                   keep=args.keep)


def _runners():
    from scripts.bench_suite import docs, emit, pull, scale, server, startup

    return {"startup": startup.run, "emit": emit.run, "push": server.run_push, "pull": pull.run,
            "ingest": server.run_ingest, "dashboard": server.run_dashboard, "scale": scale.run,
            "docs": docs.run}


def main(argv: list[str] | None = None) -> int:
    """Run the selected groups and report."""
    options = _parse(sys.argv[1:] if argv is None else argv)
    os.environ.setdefault("NO_MKDOCS_2_WARNING", "1")
    started = time.time()
    bench = Bench(options)
    runners = _runners()
    try:
        for group in GROUPS:
            if options.only is not None and group not in options.only:
                continue
            if group == "docs" and options.quick and options.only is None:
                from scripts.bench_suite import docs

                docs.skip_all(bench, "skipped in --quick mode")
                continue
            try:
                runners[group](bench)
            except Exception as exc:  # one broken group must not lose the other figures
                log(f"group {group} crashed: {exc!r}")
                traceback.print_exc(limit=4, file=sys.stderr)
                from scripts.bench_suite._model import Figure

                bench.add(Figure(f"{group}-crash", f"{group} figures").fail(
                    f"the {group} group crashed: {exc}"))
    finally:
        bench.close()
    meta = _report.meta(started, options)
    _report.write_json(options.json_path, bench.figures, meta)
    print(_report.table(bench.figures))
    print()
    print(_report.notes(bench.figures))
    print(f"\nbench: {len(bench.figures)} figures in {meta['seconds']:.0f}s; "
          f"{sum(f.status == 'miss' for f in bench.figures)} goals missed, "
          f"{sum(f.status == 'error' for f in bench.figures)} not measured; "
          f"results in {options.json_path}")
    return 1 if any(f.status == "error" for f in bench.figures) else 0


if __name__ == "__main__":
    os.chdir(ROOT)
    sys.exit(main())
