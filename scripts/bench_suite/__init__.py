"""The benchmark suite behind `./scripts/bench`: every speed goal of the project as a ratio.

Machines here are noisy and shared, so each figure is measured together with a baseline in
the same run, repeated, and reported as median (min–max). Absolute times are reported and
never asserted: this is a benchmark, not a test. See `python -m scripts.bench_suite --help`.
"""
