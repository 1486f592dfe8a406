"""The `sync status --check` results table: states and exit codes from the code, advice here.

The states and their exit statuses come from
`specify_cli.cli.commands.sync_status.CHECK_EXIT_CODES`.
The meaning and advice for each are written here, keyed by the state's label; a state the
code has and this table lacks (or the reverse) fails the build, so the table cannot drift.
"""

from __future__ import annotations

import importlib

ADVICE: dict[str, tuple[str, str]] = {
    "Connected": ("The server is reachable and accepts your session.", "Nothing."),
    "Not authenticated": ("No session is stored, or it is for another server.",
                          "`spec-kitty auth login`"),
    "Session expired": ("The server refused the stored session and it cannot be refreshed.",
                        "`spec-kitty auth login`; see "
                        "[session expired](authenticate.md#session-expired)."),
    "Forbidden": ("The session is valid, but the account is disabled or no longer in the "
                  "team.", "Ask the server administrator."),
    "Unreachable": ("Nothing answered at the server URL, or it did not answer in time.",
                    "See [the server is unreachable](#the-server-is-unreachable)."),
    "Server error": ("The server answered with an HTTP error (shown as `Server error "
                     "(HTTP n)`).", "Wait and retry; if it persists, tell the server "
                     "administrator."),
}


def render() -> str:
    """A table of every `--check` result with its exit status, meaning and advice.

    Raises:
        ValueError: The code and `ADVICE` disagree on the set of states.
    """
    status = importlib.import_module("specify_cli.cli.commands.sync_status")
    codes: dict[str, int] = status.CHECK_EXIT_CODES
    missing = [s for s in codes if s not in ADVICE]
    stale = [s for s in ADVICE if s not in codes]
    if missing or stale:
        raise ValueError(f"sync status --check states changed: undocumented {missing}, "
                         f"no longer in the code {stale}; update scripts/docs_gen/"
                         "sync_states.py")
    lines = ["| Result | Exit status | Meaning | What to do |", "| --- | --- | --- | --- |"]
    for state, code in codes.items():
        meaning, advice = ADVICE[state]
        lines.append(f"| **{state}** | {code} | {meaning} | {advice} |")
    return "\n".join(lines) + "\n"
