"""Placeholder."""

from scripts.docs_gate._common import Options, Result


def run(options: Options) -> Result:
    """Not written yet."""
    return Result("completeness", skipped="not implemented yet")
