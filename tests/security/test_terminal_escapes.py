"""No escape sequence from a server or a file reaches a real terminal.

The CLI runs under a real pseudo-terminal (`script`), where `isatty()` is true and the CLI
colours its own `error:`/`warning:` prefixes. The server sends escape sequences in every
string the CLI may print (team, user name, error detail, server version, rejection reason),
and the credentials file and the queue database hold some too. The only escape sequences
allowed in the output are the CLI's own colour codes around those prefixes.
"""

from __future__ import annotations

import json
import re
import shlex
import shutil
import sqlite3
import subprocess

import pytest

from tests._support import seed
from tests._support.fake_server import FakeServer, Reply, token_reply
from tests._support.procs import SPEC_KITTY, cli_env, run_cli

pytestmark = pytest.mark.skipif(shutil.which("script") is None, reason="needs script(1)")

EVIL = "\x1b[2J\x1b[H\x1b]0;pwned\x07\x1b[31m\x9b1m\u202e\x07\x00"
"""Clear screen, cursor home, window title (OSC), colour, C1 CSI, bidi override, BEL, NUL."""

OWN_PREFIX = re.compile(r"(?:\x1b\[[0-9;]*m)+(?:error:|warning:)\x1b\[0m")
"""The CLI's own styling of its prefixes (`typer.style`), the one escape it may print."""


def _under_tty(home, *args: str, color: bool) -> str:
    """Run `spec-kitty ARGS` under a pseudo-terminal and return what the terminal received."""
    env = cli_env(home, SPEC_KITTY_SYNC_AUTO_START="0", TERM="xterm-256color")
    if color:
        env.pop("NO_COLOR", None)
    result = subprocess.run(["script", "-q", "-e", "-c", shlex.join([SPEC_KITTY, *args]),
                             "/dev/null"], capture_output=True, env=env, timeout=60,
                            stdin=subprocess.DEVNULL)
    return result.stdout.decode("utf-8", "replace")


def _assert_clean(text: str, what: str) -> None:
    rest = OWN_PREFIX.sub("", text)
    bad = re.search("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\u202a-\u202e]", rest)
    assert bad is None, (what, repr(rest[max(0, bad.start() - 60):bad.end() + 60]))


@pytest.fixture
def evil_server():
    with FakeServer() as srv:
        srv.routes[("POST", "/api/v1/token/")] = token_reply(
            "acc-escape-0123", "ref-escape-0123", team=f"acme{EVIL}")
        srv.routes[("GET", "/api/v1/sync/health/")] = Reply(200, {
            "status": "ok", "authenticated": True, "token_status": "valid",
            "version": f"9{EVIL}"})
        yield srv


@pytest.mark.parametrize("color", [True, False], ids=["colour", "NO_COLOR"])
def test_server_and_file_strings_are_stripped_under_a_pty(evil_server, home, color):
    srv = evil_server
    assert run_cli(home, "sync", "server", srv.url).returncode == 0
    seen = {}
    user = "alice" + EVIL.replace("\x00", "")  # argv cannot hold a NUL
    seen["login"] = _under_tty(home, "auth", "login", "-u", user, "-p", "pw", color=color)
    assert "Logged in as alice" in seen["login"], seen["login"]
    seen["auth status"] = _under_tty(home, "auth", "status", color=color)
    assert "Team:           acme" in seen["auth status"], seen["auth status"]
    seen["sync status --check"] = _under_tty(home, "sync", "status", "--check",
                                             color=color)
    assert "Connected" in seen["sync status --check"]
    # A rejection reason and an error detail with escapes, stored in the queue on the way.
    creds = json.loads((home / "credentials.json").read_text())
    queue = seed.queue_file(home, srv.url, creds["username"], creds["team_slug"])
    ids = seed.seed(queue, 2)
    srv.routes[("POST", "/api/v1/events/batch/")] = Reply(200, {"results": [
        {"event_id": i, "status": "rejected", "error": f"bad{EVIL}"} for i in ids]})
    srv.routes[("GET", "/api/v1/events/")] = Reply(400, {"detail": f"nope{EVIL}"})
    seen["sync now"] = _under_tty(home, "sync", "now", "--verbose", color=color)
    assert "rejected 2: bad" in seen["sync now"] and "nope" in seen["sync now"]
    seen["sync status"] = _under_tty(home, "sync", "status", color=color)
    assert "last error of 2 events: bad" in seen["sync status"]
    # A hand-edited (or planted) credentials file and queue state.
    creds["team_slug"] = f"planted{EVIL}"
    (home / "credentials.json").write_text(json.dumps(creds))
    conn = sqlite3.connect(queue)
    conn.execute("INSERT OR REPLACE INTO state(key, value) VALUES ('ws_state', ?)",
                 (f"weird{EVIL}",))
    conn.commit()
    conn.close()
    seen["auth status (planted)"] = _under_tty(home, "auth", "status", color=color)
    assert "planted" in seen["auth status (planted)"]
    for what, text in seen.items():
        _assert_clean(text, what)
    if color:  # the CLI's own colours still work on a terminal
        assert OWN_PREFIX.search(seen["sync now"]), seen["sync now"]
