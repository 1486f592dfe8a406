"""User configuration: the spec-kitty home, `config.toml` and environment variables.

This module is the single model of every user-level setting. The CLI reads settings only
through it, and the docs render the configuration reference from `SETTINGS` and
`ENVIRONMENT`, so a key cannot be documented without existing, or exist undocumented.
"""

from __future__ import annotations

import difflib
import ipaddress
import math
import os
import re
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from specify_cli._files import atomic_write, read_config_text
from specify_cli.docs_links import see
from specify_cli.errors import ConfigError, UsageError

HOME_ENV = "SPEC_KITTY_HOME"
"""Environment variable that moves the whole spec-kitty home directory."""

SERVER_URL_ENV = "SPEC_KITTY_SERVER_URL"
"""Environment variable that overrides the `server.url` setting."""

DEFAULT_HOME = "~/.spec-kitty"
"""Where the spec-kitty home lives when `SPEC_KITTY_HOME` is not set."""

CONFIG_FILENAME = "config.toml"
"""Name of the user configuration file inside the spec-kitty home."""


@dataclass(frozen=True)
class Setting:
    """One key of `config.toml`.

    Attributes:
        table: The TOML table that holds the key, such as `server`.
        name: The key inside its table, such as `url`.
        type: The Python type of the value.
        default: The value used when the key is absent (`None`: no default).
        help: One sentence saying what the key does.
        env: An environment variable that overrides the key, if any.
        minimum: The smallest accepted value of a number, if any.
        maximum: The largest accepted value of a number, if any.
    """

    table: str
    name: str
    type: type
    default: Any
    help: str
    env: str | None = None
    minimum: float | None = None
    maximum: float | None = None

    @property
    def key(self) -> str:
        """The dotted key, such as `server.url`."""
        return f"{self.table}.{self.name}"


DEFAULT_SYNC_INTERVAL_SECONDS = 300
"""Seconds between two background syncs."""

DEFAULT_QUEUE_CAP = 100_000
"""Events the offline queue holds before new events are refused."""

DEFAULT_HTTP_TIMEOUT_SECONDS = 10.0
"""Seconds the CLI waits for the server before it gives up on a request."""

SETTINGS: tuple[Setting, ...] = (
    Setting("server", "url", str, None, "URL of the spec-kitty sync server.", SERVER_URL_ENV),
    Setting("server", "timeout_seconds", float, DEFAULT_HTTP_TIMEOUT_SECONDS,
            "Seconds to wait for the server before a request fails.", minimum=0.1,
            maximum=3600),
    Setting("sync", "interval_seconds", int, DEFAULT_SYNC_INTERVAL_SECONDS,
            "Seconds between two background syncs.", minimum=1, maximum=7 * 24 * 3600),
    Setting("sync", "queue_cap", int, DEFAULT_QUEUE_CAP,
            "Events the offline queue holds before it refuses new ones.", minimum=1,
            maximum=1_000_000_000),
)
"""Every key `config.toml` may hold."""

ENVIRONMENT: dict[str, str] = {
    HOME_ENV: f"Directory of the spec-kitty home (default `{DEFAULT_HOME}`).",
    SERVER_URL_ENV: "Server URL; overrides `server.url` in `config.toml`.",
    "NO_COLOR": "When set to any value, output has no colour.",
    "SSL_CERT_FILE": "A PEM file of certificates to trust instead of the system's, for a "
                     "server with a self-signed or private-CA certificate.",
    "SPEC_KITTY_SYNC_AUTO_START": "`0`/`false` or `1`/`true`: overrides `sync.auto_start` in "
    "`.kittify/config.yaml` (whether a command that emits events starts the background sync "
    "and the WebSocket, and pushes what it queued before it exits).",
}
"""Every environment variable the CLI reads, with what it does."""


def home_dir() -> Path:
    """Return the spec-kitty home directory (`SPEC_KITTY_HOME` or `~/.spec-kitty`)."""
    return Path(os.environ.get(HOME_ENV) or os.path.expanduser(DEFAULT_HOME))


def config_path() -> Path:
    """Return the path of `config.toml` inside the spec-kitty home."""
    return home_dir() / CONFIG_FILENAME


def ensure_home() -> Path:
    """Create the spec-kitty home with mode 0700 if needed and return it.

    Raises:
        ConfigError: The directory cannot be created.
    """
    home = home_dir()
    try:
        home.mkdir(mode=0o700, parents=True, exist_ok=True)
    except OSError as exc:
        raise ConfigError(f"cannot create {home}: {exc.strerror}; set {HOME_ENV} to a writable "
                          "directory") from None
    return home


def _setting(key: str) -> Setting:
    for setting in SETTINGS:
        if setting.key == key:
            return setting
    raise KeyError(key)


def read_config() -> dict[str, Any]:
    """Read `config.toml` as a nested dict (empty when the file does not exist).

    Raises:
        ConfigError: The file is not valid TOML, names an unknown table or key, or a value
            has the wrong type or is out of range (NaN and infinities included).
    """
    path = config_path()
    text = read_config_text(path)
    if text is None:
        return {}
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        # tomllib's message ends with "(at line N, column M)": keep it, it names the line.
        raise ConfigError(f"{path} is not valid TOML: {exc}") from None
    for setting in SETTINGS:
        table = data.get(setting.table, {})
        if not isinstance(table, dict):
            raise ConfigError(f"{path}: [{setting.table}] must be a table")
        if setting.name in table:
            _check_value(path, setting, table[setting.name])
    _check_names(path, data)
    return data


def _check_value(path: Path, setting: Setting, value: Any) -> None:
    ok = isinstance(value, setting.type) or (setting.type is float and isinstance(value, int))
    if not ok or isinstance(value, bool):
        raise ConfigError(f"{path}: {setting.key} must be {setting.type.__name__}, "
                          f"not {value!r}")
    if isinstance(value, float) and not math.isfinite(value):
        raise ConfigError(f"{path}: {setting.key} must be a finite number, not {value!r}"
                          + _see_config())
    if setting.minimum is not None and value < setting.minimum:
        raise ConfigError(f"{path}: {setting.key} must be at least {setting.minimum:g}, "
                          f"not {value!r}" + _see_config())
    if setting.maximum is not None and value > setting.maximum:
        raise ConfigError(f"{path}: {setting.key} must be at most {setting.maximum:g}, "
                          f"not {value!r}" + _see_config())


def _check_names(path: Path, data: dict[str, Any]) -> None:
    """Refuse tables and keys that no setting uses: a typo would otherwise be ignored."""
    tables = {s.table: [t.name for t in SETTINGS if t.table == s.table] for s in SETTINGS}
    for name, value in data.items():
        if name not in tables:
            kind = f"table [{name}]" if isinstance(value, dict) else f"key {name!r}"
            close = difflib.get_close_matches(name, list(tables), n=1, cutoff=0.6)
            hint = f"; did you mean [{close[0]}]?" if close else (
                f"; the tables are {', '.join(f'[{t}]' for t in tables)}")
            raise ConfigError(f"{path}: unknown {kind}{hint}" + _see_config())
        for key in value:
            if key not in tables[name]:
                close = difflib.get_close_matches(key, tables[name], n=1, cutoff=0.6)
                hint = (f"; did you mean {name}.{close[0]}?" if close else
                        f"; [{name}] takes {', '.join(tables[name])}")
                raise ConfigError(f"{path}: unknown key {name}.{key}{hint}" + _see_config())


def _see_config() -> str:
    return see("config")


def get(key: str) -> Any:
    """Return the effective value of a setting: environment, then file, then default.

    Args:
        key: A dotted key from `SETTINGS`, such as `sync.queue_cap`.

    Returns:
        The value, or `None` when the setting is unset and has no default.
    """
    setting = _setting(key)
    if setting.env and os.environ.get(setting.env):
        return os.environ[setting.env]
    value = read_config().get(setting.table, {}).get(setting.name)
    return setting.default if value is None else value


def _toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return repr(value)
    # A TOML basic string: quote, backslash and control characters (but tab) escaped.
    escaped = "".join(
        "\\" + ch if ch in '"\\' else
        f"\\u{ord(ch):04x}" if (ord(ch) < 0x20 and ch != "\t") or ord(ch) == 0x7F else ch
        for ch in str(value))
    return f'"{escaped}"'


def set_value(key: str, value: Any) -> Path:
    """Write one setting to `config.toml`, keeping the others, atomically.

    Args:
        key: A dotted key from `SETTINGS`.
        value: The new value.

    Returns:
        The path of the file written.

    Raises:
        ConfigError: The file cannot be parsed or written.
    """
    setting = _setting(key)
    data = read_config()
    data.setdefault(setting.table, {})[setting.name] = value
    lines: list[str] = []
    for table, values in data.items():
        if not isinstance(values, dict):
            lines.append(f"{table} = {_toml_value(values)}")
    for table, values in data.items():
        if isinstance(values, dict):
            lines.append(f"\n[{table}]")
            lines += [f"{k} = {_toml_value(v)}" for k, v in values.items()]
    path = config_path()
    ensure_home()
    try:
        atomic_write(path, "\n".join(lines).lstrip("\n") + "\n", mode=0o600)
    except OSError as exc:
        raise ConfigError(f"cannot write {path}: {exc.strerror}") from None
    return path


LOOPBACK_NAMES = frozenset({"localhost"})


def is_loopback(host: str) -> bool:
    """Return True for `localhost`, 127.0.0.0/8 and ::1."""
    host = host.strip("[]").lower()
    if host in LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def validate_server_url(url: str) -> str:
    """Check a server URL and return it normalised (no trailing slash).

    `https://` with a host is accepted; `http://` only for loopback hosts, so that a local
    reference server works while tokens never cross a network in clear text.

    Args:
        url: The URL the user gave.

    Returns:
        The URL without a trailing slash.

    Raises:
        UsageError: The URL is malformed, has another scheme, or uses http for a remote host.
    """
    raw = url.strip(" ")
    bad = next((ch for ch in raw if not ch.isprintable() or ch.isspace()), None)
    if bad is not None:
        # Checked on the very string that is saved: urlsplit silently drops tabs and newlines.
        raise UsageError(f"invalid server URL {raw!r}: it contains {_char_name(bad)}; "
                         "type the URL again without it")
    try:
        parts = urlsplit(raw)
        host = parts.hostname or ""
        parts.port  # noqa: B018 - raises ValueError on a malformed port
    except ValueError:
        raise UsageError(f"invalid server URL {url!r}: malformed host or port") from None
    if parts.scheme not in ("http", "https") or not host:
        raise UsageError(f"invalid server URL {url!r}: use https://HOST "
                         "(or http://127.0.0.1:PORT for a local server)")
    if not re.fullmatch(r"[\w.-]+|[0-9a-fA-F:.]+", host):
        raise UsageError(f"invalid server URL {url!r}: the host name has invalid characters")
    if parts.username or parts.password:
        raise UsageError(f"invalid server URL {parts.scheme}://{host}: "
                         "do not put credentials in the URL; use `spec-kitty auth login`")
    if parts.query or parts.fragment:
        raise UsageError(f"invalid server URL {url!r}: remove the query or fragment")
    if parts.scheme == "http" and not is_loopback(host):
        raise UsageError(f"refusing plain http for {host}: use https:// "
                         "(http:// is allowed only for localhost, 127.0.0.0/8 and [::1])")
    return raw.rstrip("/")


def _char_name(ch: str) -> str:
    names = {"\n": "a newline", "\t": "a tab", "\r": "a carriage return", "\x00": "a NUL byte",
             " ": "a space"}
    return names.get(ch, f"the control character U+{ord(ch):04X}")


def server_url() -> str | None:
    """Return the configured server URL (`SPEC_KITTY_SERVER_URL` wins), validated.

    Raises:
        ConfigError: The configured URL is invalid.
    """
    value = get("server.url")
    if value is None:
        return None
    try:
        return validate_server_url(value)
    except UsageError as exc:
        source = SERVER_URL_ENV if os.environ.get(SERVER_URL_ENV) else str(config_path())
        raise ConfigError(f"{source}: {exc}") from None
