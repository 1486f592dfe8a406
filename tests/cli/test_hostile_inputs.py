"""Each hostile input found in issue 14, reproduced with the real CLI: one line, the fix named.

Bad trust settings, URLs and config values; server answers that are numbers no clock can
hold; a lock file that is a symbolic link; a URL that reaches some other web server; a
report path that cannot be written; usage mistakes; and plurals.

The commands under test run as real subprocesses; the set-up before them (the server URL, a
login) is done in-process by the same code (`config.set_value`, `fast_login`), one CLI start-up
less each: `sync server` and `auth login` have their own tests.
"""

from __future__ import annotations

import json
import math
import re
import time
import tomllib

import pytest
from tests._support import seed
from tests._support.fake_server import FakeServer, Reply, token_reply
from tests._support.logins import fast_login
from tests._support.procs import cli_env, run_cli

from specify_cli import config

PW = "pw-hostile-inputs"


def one_error(r, code: int, *fragments: str) -> str:
    """Assert exit `code` and exactly one stderr line, an `error:` holding `fragments`."""
    assert r.returncode == code, (r.returncode, r.stdout, r.stderr)
    assert "Traceback" not in r.stdout + r.stderr, r.stderr
    lines = [line for line in r.stderr.splitlines() if not line.startswith("warning: ")]
    assert len(lines) == 1 and lines[0].startswith("error: "), r.stderr
    for fragment in fragments:
        assert fragment in lines[0], (fragment, lines[0])
    return lines[0]


@pytest.fixture
def fake():
    with FakeServer() as srv:
        srv.routes[("POST", "/api/v1/token/")] = token_reply("acc-inputs-1", "ref-inputs-1")
        srv.routes[("POST", "/api/v1/token/refresh/")] = token_reply("acc-inputs-2",
                                                                     "ref-inputs-2")
        srv.routes[("GET", "/api/v1/events/")] = Reply(200, {"events": [], "has_more": False})
        srv.routes[("GET", "/api/v1/sync/health/")] = Reply(200, {
            "status": "ok", "authenticated": True, "token_status": "valid", "version": "1"})
        yield srv


# -- SSL_CERT_FILE ---------------------------------------------------------------------------

@pytest.mark.parametrize("kind", ["missing", "not PEM", "directory"])
def test_a_bad_ssl_cert_file_is_one_line(fake, home, tmp_path, kind):
    fast_login(home, fake.url)
    target = {"missing": tmp_path / "nope.pem", "directory": tmp_path}.get(kind)
    if target is None:
        target = tmp_path / "notes.txt"
        target.write_text("not a certificate\n")
    env = cli_env(home, SSL_CERT_FILE=str(target), SPEC_KITTY_SYNC_AUTO_START="0")
    for args, kw in ((("sync", "now"), {}), (("sync", "status", "--check"), {}),
                     (("auth", "login", "-u", "alice", "--password-stdin", "--force"),
                      {"input": PW + "\n"})):
        r = run_cli(home, *args, env=env, **kw)
        one_error(r, 1, f"SSL_CERT_FILE={target} cannot be used", "unset it",
                  "#ssl-cert-file-cannot-be-used")


# -- sync server: the saved string is the checked string ------------------------------------

@pytest.mark.parametrize(("url", "what"), [
    ("http://127.0.0.1:18431/x\ny", "a newline"), ("http://loc\talhost:18431", "a tab"),
    ("\x00http://127.0.0.1:18431", "a NUL byte"), ("http://127.0.0.1:1/\x1b[2J", "U+001B"),
    ("http://127.0.0.1:1/a b", "a space"),
])
def test_control_characters_in_a_server_url_are_refused(url, what, home):
    from specify_cli import config
    from specify_cli.errors import UsageError

    with pytest.raises(UsageError, match=re.escape(what)):
        config.validate_server_url(url)


def test_sync_server_refuses_a_newline_and_keeps_config_usable(cli, home):
    r = cli("sync", "server", "http://127.0.0.1:18431/x\ny")
    one_error(r, 2, "contains a newline")
    r = cli("sync", "server", "http://loc\talhost:18431")
    one_error(r, 2, "contains a tab")
    assert not (home / "config.toml").exists()
    assert cli("sync", "server", "http://127.0.0.1:18431").returncode == 0
    assert cli("sync", "server").stdout.strip() == "http://127.0.0.1:18431"


@pytest.mark.parametrize("value", ['a"b', "back\\slash", "tab\there", "del\x7f", "nl\nx",
                                   "\x00", "é ü", "'single'"])
def test_config_strings_are_toml_escaped(value, tmp_path, monkeypatch):
    """Whatever string is saved reads back the same (the writer escapes, tomllib agrees)."""
    from specify_cli import config

    assert tomllib.loads(f"k = {config._toml_value(value)}")["k"] == value


# -- config values: finite, in range, known names -------------------------------------------

@pytest.mark.parametrize(("text", "fragment"), [
    ("[server]\ntimeout_seconds = nan\n", "server.timeout_seconds must be a finite number"),
    ("[server]\ntimeout_seconds = inf\n", "server.timeout_seconds must be a finite number"),
    ("[server]\ntimeout_seconds = -inf\n", "server.timeout_seconds must be a finite number"),
    ("[server]\ntimeout_seconds = 1e300\n", "server.timeout_seconds must be at most 3600"),
    ("[sync]\ninterval_seconds = 99999999999999999\n", "sync.interval_seconds must be at most"),
    ("[syncc]\nqueue_cap = 5\n", "unknown table [syncc]; did you mean [sync]?"),
    ("[sync]\nqueue_capp = 5\n", "unknown key sync.queue_capp; did you mean sync.queue_cap?"),
    ("[zzz]\nx = 1\n", "unknown table [zzz]; the tables are [server], [sync]"),
])
def test_bad_config_values_name_the_file_and_key(cli, home, fake, text, fragment):
    home.mkdir(parents=True)
    (home / "config.toml").write_text(text)
    with open(home / "config.toml", "a") as handle:
        if "[server]" not in text:
            handle.write(f'\n[server]\nurl = "{fake.url}"\n')
        else:
            handle.write(f'url = "{fake.url}"\n')
    r = cli("auth", "login", "-u", "alice", "--password-stdin", input=PW + "\n")
    one_error(r, 1, "config.toml", fragment)
    assert not fake.requests


# -- answers no clock can hold ---------------------------------------------------------------

@pytest.mark.parametrize("lifetime", ["NaN", "Infinity", "1e400", "1" + "0" * 300, "-5"])
def test_absurd_token_lifetimes_are_an_unexpected_response(cli, home, fake, lifetime):
    fake.routes[("POST", "/api/v1/token/")] = Reply(200, (
        '{"access": "acc-x", "refresh": "ref-x", "access_lifetime": ' + lifetime
        + ', "team_slug": "acme"}').encode(), {"Content-Type": "application/json"})
    config.set_value("server.url", fake.url)
    r = cli("auth", "login", "-u", "alice", "--password-stdin", input=PW + "\n")
    one_error(r, 1, "sent an unexpected response")
    assert not (home / "credentials.json").exists()


def test_pulled_numbers_beyond_a_counter_are_skipped(tmp_path):
    from specify_cli.sync.queue import OfflineQueue

    queue = OfflineQueue(tmp_path / "q.sqlite3")
    try:
        events = [{"event_id": f"01E{n}", "server_seq": seq, "lamport_clock": lamport}
                  for n, (seq, lamport) in enumerate([
                      (10**30, 1), (1e300, 1), (math.inf, 1), (math.nan, 1), (1, 10**30),
                      (2, math.inf), (3, 1e300), ("4", -1), (5, 7)])]
        assert queue.store_pulled(events, "c1", "0123456789ab") == 1
        assert queue.clock_value("0123456789ab") == 7
        assert queue.get_state()["pull_cursor"] == "c1"
    finally:
        queue.close()


def test_deeply_nested_answers_are_an_unexpected_response(cli, home, fake):
    fake.routes[("POST", "/api/v1/token/")] = Reply(200, b"[" * 100_000 + b"]" * 100_000,
                                                    {"Content-Type": "application/json"})
    config.set_value("server.url", fake.url)
    r = cli("auth", "login", "-u", "alice", "--password-stdin", input=PW + "\n")
    one_error(r, 1, "sent an unexpected response")


# -- the credentials lock is not followed through a symbolic link ---------------------------

def test_a_symlinked_credentials_lock_is_refused(fake, home, tmp_path):
    fast_login(home, fake.url)
    creds = json.loads((home / "credentials.json").read_text())
    creds["access_expires_at"] = "2000-01-01T00:00:00Z"  # the next command must refresh
    (home / "credentials.json").write_text(json.dumps(creds))
    target = tmp_path / "created-by-the-lock"
    (home / ".credentials.lock").unlink(missing_ok=True)
    (home / ".credentials.lock").symlink_to(target)
    r = run_cli(home, "sync", "now", env=cli_env(home, SPEC_KITTY_SYNC_AUTO_START="0"))
    one_error(r, 1, ".credentials.lock", "symbolic link", "remove it")
    assert not target.exists() and not target.is_symlink()
    assert not [rec for rec in fake.requests if "refresh" in rec.path]


# -- a URL that reaches another web server --------------------------------------------------

def test_a_url_ending_in_api_v1_gets_the_fix(cli, fake):
    del fake.routes[("POST", "/api/v1/token/")]  # the path the CLI builds is now /api/v1/api/v1/...
    assert cli("sync", "server", fake.url + "/api/v1/").returncode == 0
    r = cli("auth", "login", "-u", "alice", "--password-stdin", input=PW + "\n")
    one_error(r, 1, "has no spec-kitty sync API (HTTP 404)", "drop `/api/v1`",
              f"`spec-kitty sync server {fake.url}`", "#no-sync-api")


def test_another_web_server_answering_501_is_not_called_temporary(cli, fake):
    fake.routes[("POST", "/api/v1/token/")] = Reply(501, "<h1>Not Implemented</h1>",
                                                    {"Content-Type": "text/html"})
    config.set_value("server.url", fake.url)
    r = cli("auth", "login", "-u", "alice", "--password-stdin", input=PW + "\n")
    line = one_error(r, 1, "has no spec-kitty sync API (HTTP 501)", "base URL")
    assert "temporarily" not in line and "try again later" not in line


# -- check before acting ---------------------------------------------------------------------

@pytest.mark.parametrize("where", ["missing dir", "a directory"])
def test_an_unwritable_report_path_fails_before_pushing(fake, home, tmp_path, where):
    fast_login(home, fake.url)
    queue = seed.queue_file(home, fake.url)
    seed.seed(queue, 3)
    fake.requests.clear()
    report = str(tmp_path / "nonexistent" / "dir" / "f.json") if where == "missing dir" \
        else str(tmp_path)
    r = run_cli(home, "sync", "now", "--report", report,
                env=cli_env(home, SPEC_KITTY_SYNC_AUTO_START="0"))
    one_error(r, 2, "--report", "nothing was pushed" if where == "missing dir" else
              "is a directory")
    assert not fake.requests  # nothing was sent
    assert len(seed.queued_ids(queue)) == 3


# -- usage mistakes are one line -------------------------------------------------------------

@pytest.mark.parametrize(("args", "fragment"), [
    (("tasks", "move", "WP01"), "Missing option '--to' / '-t'; see `spec-kitty tasks move --help`"),
    (("auth", "login", "--bogus"), "No such option: --bogus"),
    (("sync", "server", "a", "b"), "unexpected extra argument"),
    (("sync", "now", "--report"), "Option '--report' requires an argument"),
    (("nope",), "No such command 'nope'; see `spec-kitty --help`"),
])
def test_usage_mistakes_are_one_error_line(cli, args, fragment):
    r = cli(*args)
    one_error(r, 2, fragment)
    assert not r.stdout and "Usage:" not in r.stderr


# -- plurals ---------------------------------------------------------------------------------

def test_plural():
    from specify_cli._text import plural

    assert [plural(n, "batch", "batches") for n in (0, 1, 2)] == ["0 batches", "1 batch",
                                                                  "2 batches"]
    assert plural(1, "event") == "1 event" and plural(1500, "event", grouped=True) == \
        "1,500 events"


def test_sync_now_says_1_event_in_1_batch(fake, home):
    fast_login(home, fake.url)
    queue = seed.queue_file(home, fake.url)
    ids = seed.seed(queue, 1)
    fake.routes[("POST", "/api/v1/events/batch/")] = Reply(200, {"results": [
        {"event_id": ids[0], "status": "success"}]})
    env = cli_env(home, SPEC_KITTY_SYNC_AUTO_START="0")
    r = run_cli(home, "sync", "now", env=env)
    assert r.returncode == 0, r.stderr
    assert "Pushed 1 event in 1 batch: 1 new" in r.stdout and "Pulled 0 new events." in r.stdout


def test_dashboard_counts_take_the_singular():
    from spec_kitty_server.dashboards import environment

    lanes = {lane: 0 for lane in environment().globals["lanes"]}
    html = environment().get_template("overview.html").render(
        user=type("U", (), {"team_slug": "acme", "username": "alice"})(), csrf="", active="",
        data={"projects": 1, "features": 1, "work_packages": 1, "events": 1, "lanes": lanes,
              "recent": []})
    for word in ("project", "feature", "work package", "event"):
        assert f"</span> {word}</div>" in html, word


def test_garbled_timestamps_do_not_break_status(tmp_path, monkeypatch):
    """`sync status` reads timestamps a hand edit may have made text, NaN or infinite."""
    from specify_cli.cli.commands import sync_status as _status

    for value in ("abc", "nan", "inf", "-inf", "", None, "1e999"):
        assert _status._time(value) is None
    assert _status._time("1700000000.5") == 1700000000.5
    assert _status._time(time.time()) is not None


def test_lone_surrogates_in_server_json_are_replaced():
    from specify_cli._text import without_surrogates

    data = json.loads('{"a\\ud800": ["\\udfff", {"b": "\\ud83d\\ude00 ok \\ud800"}], "n": 1}')
    clean = without_surrogates(data)
    assert json.dumps(clean, ensure_ascii=False).encode()  # encodable now
    assert clean == {"a\ufffd": ["\ufffd", {"b": "\U0001F600 ok \ufffd"}], "n": 1}
