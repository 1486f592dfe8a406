"""Who emits an event: the project's identity and this machine's node id.

A project is identified by a `project_uuid` (uuid4) and a `project_slug`, stored under
`project:` in `.kittify/config.yaml` together with the `node_id` that created them. The
identity is created (backfilled) the first time an event needs it. Concurrent first writers
serialise on a lock file and re-read under it, so they all converge on one identity. A
project whose file cannot be written gets an in-memory identity and one warning.

The `node_id` used in events is always this machine's: a hash of the machine id and the
user, so it is stable for one user on one machine and differs between users and machines
(which keeps Lamport values unique per node).
"""

from __future__ import annotations

import getpass
import hashlib
import os
import re
import socket
import sys
import threading
import uuid
from dataclasses import dataclass
from pathlib import Path

from specify_cli._files import file_lock
from specify_cli._git import git_value
from specify_cli._text import printable
from specify_cli.project import config as project_config

_UUID4 = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$")
_SLUG = re.compile(r"^[a-z0-9][a-z0-9-]{0,99}$")
_warned: set[str] = set()
_in_memory: dict[str, ProjectIdentity] = {}
_warn_lock = threading.Lock()


@dataclass(frozen=True)
class ProjectIdentity:
    """The identity stamped on every event of a project.

    Attributes:
        project_uuid: The project's UUID (uuid4, lower-case text).
        project_slug: The project's normalised name.
        node_id: This machine-and-user's node id (12 hex digits).
        persisted: False when the identity lives only in memory (read-only project).
    """

    project_uuid: str
    project_slug: str
    node_id: str
    persisted: bool = True


def _machine_id() -> str:
    for candidate in ("/etc/machine-id", "/var/lib/dbus/machine-id"):
        try:
            value = Path(candidate).read_text(encoding="ascii").strip()
        except (OSError, UnicodeDecodeError):
            continue
        if value:
            return value
    return socket.gethostname()


def machine_node_id() -> str:
    """Return this machine-and-user's node id: sha256(machine id, uid, user name), 12 hex digits."""
    try:
        user = getpass.getuser()
    except (KeyError, OSError):
        user = ""
    key = f"{_machine_id()}\n{os.getuid()}\n{user}".encode()
    return hashlib.sha256(key).hexdigest()[:12]


def normalise_slug(name: str) -> str:
    """Turn a repository or directory name into a valid project slug.

    Lower-case; every run of characters other than letters and digits becomes one `-`;
    at most 100 characters. An empty result becomes `project`.

    Args:
        name: The raw name.
    """
    slug = re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")[:100].strip("-")
    return slug or "project"


def _origin_name(root: Path) -> str | None:
    url = (git_value(root, "config", "--get", "remote.origin.url") or "").rstrip("/")
    if not url:
        return None
    name = re.split(r"[/:]", url)[-1]
    return name[:-4] if name.endswith(".git") else name


def derive_slug(root: Path) -> str:
    """Return the slug for a project: its git origin's repository name, else its directory name.

    Args:
        root: The project root.
    """
    return normalise_slug(_origin_name(root) or root.resolve().name)


def _valid(section: object) -> tuple[str, str] | None:
    if not isinstance(section, dict):
        return None
    pid, slug = section.get("uuid"), section.get("slug")
    if isinstance(pid, str) and _UUID4.match(pid) and isinstance(slug, str) and _SLUG.match(slug):
        return pid, slug
    return None


def load_identity(root: Path) -> ProjectIdentity | None:
    """Return the stored identity of a project, or None when it has none (or an invalid one).

    Args:
        root: The project root.

    Raises:
        ConfigError: `.kittify/config.yaml` cannot be read or parsed.
    """
    found = _valid(project_config.read(root).get("project"))
    if found is None:
        return None
    return ProjectIdentity(found[0], found[1], machine_node_id())


def _warn_once(key: str, message: str) -> None:
    with _warn_lock:
        if key in _warned:
            return
        _warned.add(key)
    print(f"warning: {' '.join(printable(message).split())}", file=sys.stderr)


def ensure_identity(root: Path | None = None) -> ProjectIdentity:
    """Return the project's identity, creating and storing it the first time.

    Writers serialise on `.kittify/.config.yaml.lock` and re-read the file under it, so
    concurrent first calls all return the identity the first writer stored. When the file
    cannot be written, an in-memory identity is returned and one warning is printed.

    Args:
        root: The project root; found from the current directory by default.

    Raises:
        ConfigError: `.kittify/config.yaml` exists but is not valid YAML.
    """
    root = root or project_config.find_project_root()
    if str(root) in _in_memory:
        return _in_memory[str(root)]
    node = machine_node_id()
    existing = load_identity(root)
    if existing is not None:
        return existing
    fresh = ProjectIdentity(str(uuid.uuid4()), derive_slug(root), node)
    path = project_config.config_file(root)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        with file_lock(project_config.lock_path(root)):
            data = project_config.read(root)
            found = _valid(data.get("project"))
            if found is not None:
                return ProjectIdentity(found[0], found[1], node)
            section = data.get("project") if isinstance(data.get("project"), dict) else {}
            section.update({"uuid": fresh.project_uuid, "slug": fresh.project_slug,
                            "node_id": node})
            data["project"] = section
            project_config.write(root, data)
    except OSError as exc:
        _warn_once(str(root), f"cannot write {path} ({exc.strerror}); using a temporary "
                   "project identity for this run")
        return _in_memory.setdefault(str(root), ProjectIdentity(
            fresh.project_uuid, fresh.project_slug, node, persisted=False))
    return fresh

