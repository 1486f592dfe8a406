"""Config file, URL rules and `sync server`."""

from __future__ import annotations

import pytest

from specify_cli import config
from specify_cli.errors import ConfigError, UsageError

pytestmark = pytest.mark.usefixtures("home")


@pytest.mark.parametrize("url", [
    "https://sync.example.com", "https://sync.example.com:8443/", "http://127.0.0.1:8000",
    "http://localhost:9", "http://[::1]:8000", "http://127.3.4.5",
])
def test_accepted_urls(url):
    assert config.validate_server_url(url) == url.rstrip("/")


@pytest.mark.parametrize("url,fragment", [
    ("http://sync.example.com", "refusing plain http"),
    ("http://10.0.0.1:8000", "refusing plain http"),
    ("http://127.0.0.1.example.com", "refusing plain http"),
    ("ftp://sync.example.com", "use https://"),
    ("sync.example.com", "use https://"),
    ("https://", "use https://"),
    ("", "use https://"),
    ("https://host:99999", "malformed"),
    ("https://user:pw@host", "do not put credentials"),
    ("https://host/?q=1", "query"),
])
def test_rejected_urls(url, fragment):
    with pytest.raises(UsageError, match=fragment):
        config.validate_server_url(url)


def test_set_and_get_roundtrip_keeps_other_keys(tmp_path):
    config.set_value("sync.queue_cap", 5)
    config.set_value("server.url", "https://a.example")
    assert config.get("sync.queue_cap") == 5
    assert config.get("server.url") == "https://a.example"
    assert config.get("sync.interval_seconds") == config.DEFAULT_SYNC_INTERVAL_SECONDS
    assert (config.config_path().stat().st_mode & 0o777) == 0o600


def test_env_overrides_file(monkeypatch):
    config.set_value("server.url", "https://a.example")
    monkeypatch.setenv("SPEC_KITTY_SERVER_URL", "https://b.example/")
    assert config.server_url() == "https://b.example"


def test_invalid_url_in_env_names_the_source(monkeypatch):
    monkeypatch.setenv("SPEC_KITTY_SERVER_URL", "http://evil.example")
    with pytest.raises(ConfigError, match="SPEC_KITTY_SERVER_URL"):
        config.server_url()


def test_malformed_toml_names_file_and_line():
    config.ensure_home()
    config.config_path().write_text('[server]\nurl = "https://x"\n\nbroken = = 1\n')
    with pytest.raises(ConfigError, match=r"config\.toml is not valid TOML.*line 4"):
        config.read_config()


def test_wrong_type_is_reported():
    config.ensure_home()
    config.config_path().write_text("[sync]\nqueue_cap = \"many\"\n")
    with pytest.raises(ConfigError, match="sync.queue_cap must be int"):
        config.get("sync.queue_cap")


def test_home_is_0700():
    home = config.ensure_home()
    assert (home.stat().st_mode & 0o777) == 0o700


def test_cli_sync_server_set_show_and_reject(cli, home):
    r = cli("sync", "server")
    assert r.returncode == 1 and "No server configured" in r.stdout
    r = cli("sync", "server", "http://example.com")
    assert r.returncode == 2
    assert r.stderr.startswith("error: refusing plain http") and r.stderr.count("\n") == 1
    assert not (home / "config.toml").exists()
    r = cli("sync", "server", "https://sync.example.com/")
    assert r.returncode == 0, r.stderr
    assert cli("sync", "server").stdout.strip() == "https://sync.example.com"


def test_cli_malformed_config_is_one_line(cli, home):
    home.mkdir(parents=True)
    (home / "config.toml").write_text("[server\nurl='x'\n")
    r = cli("sync", "server")
    assert r.returncode == 1
    assert "config.toml is not valid TOML" in r.stderr and "line 1" in r.stderr
    assert "Traceback" not in r.stderr and r.stderr.count("\n") == 1


def test_version_and_help_do_not_import_httpx(home):
    import subprocess
    import sys

    from tests._support.procs import cli_env
    code = ("import sys; sys.argv=['spec-kitty','--help']\n"
            "from specify_cli.cli.app import main\n"
            "try:\n    main()\nexcept SystemExit:\n    pass\n"
            "bad=[m for m in ('httpx','sqlite3','websockets','yaml') if m in sys.modules]\n"
            "print('HEAVY', bad)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         env=cli_env(home)).stdout
    assert "HEAVY []" in out


def test_version(cli):
    from specify_cli import __version__
    r = cli("--version")
    assert r.returncode == 0 and r.stdout.strip() == f"spec-kitty {__version__}"


def test_no_color_means_no_escape_codes(cli):
    r = cli("--help")
    assert "\x1b[" not in r.stdout
    r = cli("sync", "server", "bogus")
    assert "\x1b[" not in r.stderr


def test_negative_cap_is_rejected():
    config.ensure_home()
    config.config_path().write_text("[sync]\nqueue_cap = -5\n")
    with pytest.raises(ConfigError, match="sync.queue_cap must be at least 1, not -5"):
        config.get("sync.queue_cap")


def test_credential_timestamps_roundtrip_without_datetime():
    import random
    from datetime import datetime, timezone

    from specify_cli.account.credentials import _iso, _parse_iso
    rng = random.Random(7)
    for t in [0, 951782400, 4102444799] + [rng.randint(0, 4102444800) for _ in range(2000)]:
        text = _iso(t)
        assert text == datetime.fromtimestamp(t, timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
        assert _parse_iso(text) == t
    for bad in ["2026-13-01T00:00:00Z", "yesterday", "2026-01-01 00:00:00Z", ""]:
        with pytest.raises(ValueError):
            _parse_iso(bad)
