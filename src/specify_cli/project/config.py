"""The project-level configuration file, `.kittify/config.yaml`.

It holds the project's identity (under `project:`) and project sync options (under `sync:`,
such as `auto_start`). This module finds the project root, reads the file and rewrites it
atomically; `identity` decides what goes under `project:`.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from specify_cli._files import atomic_write, read_config_text
from specify_cli.errors import ConfigError

KITTIFY_DIR = ".kittify"
"""Directory of spec-kitty's per-project files."""

CONFIG_NAME = "config.yaml"
"""Name of the project configuration file inside `.kittify/`."""

AUTO_START_ENV = "SPEC_KITTY_SYNC_AUTO_START"
"""Environment variable (`0`/`false` or `1`/`true`) that overrides `sync.auto_start`."""

KEYS: dict[str, str] = {
    "project.uuid": "The project's UUID (uuid4), stamped on every event as `project_uuid`; "
                    "created with the first event and never changed.",
    "project.slug": "The project's normalised name, stamped on every event as `project_slug`; "
                    "derived from the git remote or the directory name.",
    "project.node_id": "Node id of the machine and user that created the identity "
                       "(informational; events carry the emitting machine's own node id).",
    "sync.auto_start": "Start the background sync and the WebSocket on the first event of a "
                       "command (boolean, default true).",
}
"""Every key of `.kittify/config.yaml` (dotted), for the configuration reference."""

MARKERS = (KITTIFY_DIR, "kitty-specs", ".git")
"""What marks a project root, most telling first (searched from the current directory up)."""


def find_project_root(start: Path | None = None) -> Path:
    """Return the project root: the nearest directory holding `.kittify/`; failing that, the
    nearest holding `kitty-specs/`; then the nearest holding `.git`.

    Args:
        start: Where to start looking; the current directory by default.

    Returns:
        The root, or `start` itself when no marker is found above it.
    """
    here = (start or Path.cwd()).resolve()
    for marker in MARKERS:
        for directory in (here, *here.parents):
            if (directory / marker).exists():
                return directory
    return here


def config_file(root: Path) -> Path:
    """Return the path of `.kittify/config.yaml` under a project root.

    Args:
        root: The project root.
    """
    return root / KITTIFY_DIR / CONFIG_NAME


def read(root: Path) -> dict[str, Any]:
    """Read `.kittify/config.yaml` (an empty dict when it does not exist).

    Args:
        root: The project root.

    Raises:
        ConfigError: The file cannot be read or is not a YAML mapping.
    """
    import yaml  # lazily: PyYAML costs start-up time; only reading or writing needs it

    path = config_file(root)
    text = read_config_text(path)
    if text is None:
        return {}
    try:
        loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
        data = yaml.load(text, Loader=loader)  # noqa: S506 - a safe loader
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" (line {mark.line + 1})" if mark is not None else ""
        raise ConfigError(f"{path} is not valid YAML{where}") from None
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise ConfigError(f"{path} must be a YAML mapping")
    return data


def write(root: Path, data: dict[str, Any]) -> Path:
    """Rewrite `.kittify/config.yaml` atomically (temp file, fsync, rename).

    Comments in the file are not kept. The caller holds the config lock.

    Args:
        root: The project root.
        data: The whole new content.

    Returns:
        The path written.

    Raises:
        OSError: The file or its directory cannot be written.
    """
    import yaml  # lazily: PyYAML costs start-up time; only reading or writing needs it

    path = config_file(root)
    path.parent.mkdir(parents=True, exist_ok=True)
    text = yaml.safe_dump(data, sort_keys=False, default_flow_style=False, allow_unicode=True)
    atomic_write(path, text, mode=0o644)
    return path


def lock_path(root: Path) -> Path:
    """Return the lock file that serialises writers of `.kittify/config.yaml`.

    Args:
        root: The project root.
    """
    return root / KITTIFY_DIR / ".config.yaml.lock"


def _truthy(value: str) -> bool | None:
    lowered = value.strip().lower()
    if lowered in ("1", "true", "yes", "on"):
        return True
    if lowered in ("0", "false", "no", "off"):
        return False
    return None


def auto_start(root: Path | None = None) -> bool:
    """Return whether the background sync (and WebSocket) should start on the first emit.

    `SPEC_KITTY_SYNC_AUTO_START` wins; then `sync.auto_start` in `.kittify/config.yaml`;
    the default is True. An unreadable file counts as the default.

    Args:
        root: The project root; found from the current directory by default.
    """
    env = _truthy(os.environ.get(AUTO_START_ENV, ""))
    if env is not None:
        return env
    root = root or find_project_root()
    try:
        if "auto_start" not in config_file(root).read_text(encoding="utf-8"):
            return True  # the common case, decided without importing yaml (start-up time)
    except (OSError, UnicodeDecodeError):
        return True
    try:
        data = read(root)
    except ConfigError:
        return True
    sync = data.get("sync")
    if isinstance(sync, dict) and isinstance(sync.get("auto_start"), bool):
        return sync["auto_start"]
    return True
