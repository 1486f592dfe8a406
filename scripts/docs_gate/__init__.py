"""The docs gate: proves the published docs agree with the CLI, the server and Netlify.

Each check lives in its own module as `run(options) -> Result`. Two callers run the same
functions: `python -m scripts.docs_gate` (`./scripts/build`: one line per check) and the
tests in tests/docs/test_gate_checks.py (`./scripts/test`), which share one built site.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from scripts.docs_gate._common import Options, Result

NAMES = ("build", "links", "examples", "mentions", "cli-links", "completeness", "quoted",
         "llms", "netlify", "portability")
"""Every check, in the order the gate prints them."""

NEEDS_SITE = frozenset({"links", "cli-links", "completeness", "llms", "netlify"})
"""The checks that read the built site (the others read the sources, or build their own)."""


def check(name: str) -> Callable[[Options], Result]:
    """The `run` function of the check called `name` (one of `NAMES`)."""
    return importlib.import_module(f"scripts.docs_gate.{name.replace('-', '_')}").run
