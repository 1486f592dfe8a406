"""Feature directories and work-package files: reading, validating and rewriting them.

A feature lives in `kitty-specs/<NNN-slug>/` with a `tasks.md` and one `tasks/WPxx.md` per
work package. Each work-package file starts with YAML frontmatter between `---` lines
(`work_package_id`, `title`, `lane`, `dependencies`, `history`); the Markdown body below is
kept byte for byte when the frontmatter is rewritten. Every check happens before anything
is written, and each error is one line naming the file.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from spec_kitty_protocol.constants import LANE_ALIASES, LANES, PHASES, canonical_lane
from specify_cli.errors import SpecKittyError, UsageError

__all__ = ["LANES", "PHASES"]  # re-exported: the lanes and phases are the wire contract's

SPECS_DIR = "kitty-specs"
"""Directory of the feature directories, at the project root."""

FEATURE_SLUG = re.compile(r"^(?=.{5,100}\Z)[0-9]{3}-[a-z0-9]+(-[a-z0-9]+)*\Z")
"""Pattern of a feature directory name, such as `001-login-flow`."""

WP_ID = re.compile(r"^WP[0-9]{2,4}\Z")
"""Pattern of a work-package id, such as `WP01`."""

META_FILE = "meta.json"
"""File in the feature directory that records its registration (`agent feature finalize-tasks`)."""


class TasksError(SpecKittyError):
    """A feature or work-package file is missing or malformed; the message names the file."""


def check_feature_slug(slug: str) -> str:
    """Return `slug` if it is a valid feature directory name.

    Args:
        slug: The name the user gave.

    Raises:
        UsageError: It is not `NNN-words` (this also rejects `../` and other path tricks).
    """
    if not FEATURE_SLUG.match(slug or ""):
        raise UsageError(f"invalid feature {slug!r}: expected a directory name like "
                         "001-login-flow")
    return slug


def check_wp_id(wp_id: str) -> str:
    """Return `wp_id` if it is a valid work-package id.

    Args:
        wp_id: The id the user gave.

    Raises:
        UsageError: It is not `WP` followed by 2 to 4 digits.
    """
    if not WP_ID.match(wp_id or ""):
        raise UsageError(f"invalid work-package id {wp_id!r}: expected WP01, WP02, ...")
    return wp_id


def check_lane(lane: str) -> str:
    """Return the lane `lane` names: one of `LANES`, or an older spelling such as `doing`.

    Args:
        lane: The lane the user gave.

    Returns:
        The lane as written to files and events (`doing` becomes `in_progress`).

    Raises:
        UsageError: Unknown lane.
    """
    found = canonical_lane(lane)
    if found is None:
        raise UsageError(f"unknown lane {lane!r}: use one of {', '.join(LANES)}")
    return found


def branch_name(feature_slug: str, wp_id: str) -> str:
    """Return the branch (and worktree directory name) of a work package: `<feature>-<WP>`.

    Args:
        feature_slug: The feature, such as `001-login-flow`.
        wp_id: The work package, such as `WP01`.
    """
    return f"{feature_slug}-{wp_id}"


def split_branch_name(branch: str) -> tuple[str, str] | None:
    """Return the feature and the work package of a work-package branch, or None.

    The inverse of `branch_name`: `001-login-flow-WP02` gives `("001-login-flow", "WP02")`.

    Args:
        branch: A branch name.
    """
    feature_slug, _, wp_id = branch.rpartition("-")
    if FEATURE_SLUG.match(feature_slug) and WP_ID.match(wp_id):
        return feature_slug, wp_id
    return None


def split_frontmatter(text: str, path: Path) -> tuple[dict[str, Any], str]:
    """Split a Markdown file into its YAML frontmatter (a dict) and its body.

    Args:
        text: The file's content.
        path: The file (named in errors).

    Raises:
        TasksError: The frontmatter is missing, unterminated, not YAML or not a mapping.
    """
    import yaml  # lazily: PyYAML costs start-up time; only reading or writing needs it

    if not text.startswith("---"):
        raise TasksError(f"{path}: missing YAML frontmatter (the file must start with ---)")
    lines = text.splitlines(keepends=True)
    end = next((i for i in range(1, len(lines)) if lines[i].rstrip() == "---"), None)
    if end is None:
        raise TasksError(f"{path}: the YAML frontmatter has no closing ---")
    try:
        loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
        data = yaml.load("".join(lines[1:end]), Loader=loader)  # noqa: S506 - a safe loader
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 2}" if mark is not None else ""
        raise TasksError(f"{path}: malformed YAML frontmatter{where}") from None
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise TasksError(f"{path}: the frontmatter must be a YAML mapping")
    return data, "".join(lines[end + 1:])


def join_frontmatter(data: dict[str, Any], body: str) -> str:
    """Return a Markdown file's text from frontmatter and body.

    Args:
        data: The frontmatter.
        body: The Markdown below it.
    """
    import yaml  # lazily: PyYAML costs start-up time; only reading or writing needs it

    front = yaml.safe_dump(data, sort_keys=False, default_flow_style=False, allow_unicode=True)
    return f"---\n{front}---\n{body}"


@dataclass
class WorkPackage:
    """One `tasks/WPxx.md` file.

    Attributes:
        path: The file.
        id: The work-package id.
        title: Its title.
        lane: Its lane.
        dependencies: Ids it depends on.
        data: The whole frontmatter (rewritten on save).
        body: The Markdown body (kept as is).
    """

    path: Path
    id: str
    title: str
    lane: str
    dependencies: list[str]
    data: dict[str, Any]
    body: str

    def history(self) -> list[dict[str, Any]]:
        """Return the history list of the frontmatter (created empty if absent)."""
        return self.data.setdefault("history", [])

    def text(self) -> str:
        """Return the file's new text from the current frontmatter and the body."""
        self.data["lane"] = self.lane
        return join_frontmatter(self.data, self.body)


def load_work_package(path: Path) -> WorkPackage:
    """Read and validate one work-package file.

    Args:
        path: The `tasks/WPxx.md` file.

    Raises:
        TasksError: The file cannot be read or its frontmatter is invalid.
    """
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise TasksError(f"cannot read {path}: {exc}") from None
    data, body = split_frontmatter(text, path)
    wp_id = data.get("work_package_id")
    if not isinstance(wp_id, str) or not WP_ID.match(wp_id):
        raise TasksError(f"{path}: work_package_id must be like WP01, not {wp_id!r}")
    if not path.stem.split("-", 1)[0] == wp_id:
        raise TasksError(f"{path}: work_package_id {wp_id} does not match the file name")
    title = data.get("title")
    if not isinstance(title, str) or not title.strip():
        raise TasksError(f"{path}: title must be a non-empty string")
    written = data.get("lane", "planned")
    lane = canonical_lane(written) if isinstance(written, str) else None
    if lane is None:
        raise TasksError(f"{path}: lane {written!r} is not one of "
                         f"{', '.join([*LANES, *LANE_ALIASES])}")
    deps = data.get("dependencies") or []
    if not isinstance(deps, list) or not all(isinstance(d, str) and WP_ID.match(d) for d in deps):
        raise TasksError(f"{path}: dependencies must be a list of ids like WP01")
    history = data.get("history")
    if history is not None and not isinstance(history, list):
        raise TasksError(f"{path}: history must be a list")
    return WorkPackage(path, wp_id, title.strip(), lane, list(dict.fromkeys(deps)), data, body)


@dataclass
class Feature:
    """A feature directory with its work packages.

    Attributes:
        path: The directory `kitty-specs/<slug>/`.
        slug: The directory name.
        work_packages: Work packages by id, in id order.
        meta: The content of `meta.json` (empty before `agent feature finalize-tasks`).
    """

    path: Path
    slug: str
    work_packages: dict[str, WorkPackage] = field(default_factory=dict)
    meta: dict[str, Any] = field(default_factory=dict)

    @property
    def number(self) -> str:
        """The three-digit feature number."""
        return self.slug[:3]

    @property
    def tasks_md(self) -> Path:
        """The feature's `tasks.md`."""
        return self.path / "tasks.md"

    @property
    def meta_path(self) -> Path:
        """The feature's `meta.json`."""
        return self.path / META_FILE

    def get(self, wp_id: str) -> WorkPackage:
        """Return a work package by id.

        Args:
            wp_id: The id.

        Raises:
            TasksError: No such work package in this feature.
        """
        check_wp_id(wp_id)
        try:
            return self.work_packages[wp_id]
        except KeyError:
            raise TasksError(f"{self.path / 'tasks'}: no work package {wp_id} "
                             f"(known: {', '.join(self.work_packages) or 'none'})") from None


def list_features(root: Path) -> list[str]:
    """Return the feature directory names under `kitty-specs/`, sorted.

    Args:
        root: The project root.
    """
    specs = root / SPECS_DIR
    if not specs.is_dir():
        return []
    return sorted(p.name for p in specs.iterdir() if p.is_dir() and FEATURE_SLUG.match(p.name))


def select_feature(root: Path, slug: str | None) -> str:
    """Return the feature to work on: `slug`, else the only one, else the highest-numbered.

    Args:
        root: The project root.
        slug: The `--feature` value, if given.

    Raises:
        UsageError: `slug` is not a valid feature name.
        TasksError: There is no such feature, or no feature at all.
    """
    if slug is not None:
        check_feature_slug(slug)
        if not (root / SPECS_DIR / slug).is_dir():
            raise TasksError(f"no feature directory {root / SPECS_DIR / slug}")
        return slug
    features = list_features(root)
    if not features:
        raise TasksError(f"no feature directory under {root / SPECS_DIR} "
                         "(expected kitty-specs/NNN-name/)")
    return features[-1]


def load_feature(root: Path, slug: str) -> Feature:
    """Read and validate a feature directory and all its work packages.

    Args:
        root: The project root.
        slug: The feature directory name.

    Raises:
        TasksError: A file is missing or malformed, or two files claim one id.
    """
    check_feature_slug(slug)
    path = root / SPECS_DIR / slug
    feature = Feature(path, slug)
    if not feature.tasks_md.is_file():
        raise TasksError(f"{feature.tasks_md}: missing (a feature needs a tasks.md)")
    tasks_dir = path / "tasks"
    files = sorted(tasks_dir.glob("WP*.md")) if tasks_dir.is_dir() else []
    for wp_path in files:
        wp = load_work_package(wp_path)
        if wp.id in feature.work_packages:
            raise TasksError(f"{wp_path}: {wp.id} is also defined in "
                             f"{feature.work_packages[wp.id].path.name}")
        feature.work_packages[wp.id] = wp
    for wp in feature.work_packages.values():
        for dep in wp.dependencies:
            if dep not in feature.work_packages:
                raise TasksError(f"{wp.path}: depends on {dep}, which does not exist")
            if dep == wp.id:
                raise TasksError(f"{wp.path}: a work package cannot depend on itself")
    feature.meta = read_meta(feature.meta_path)
    return feature


def read_meta(path: Path) -> dict[str, Any]:
    """Read a feature's `meta.json` (empty when the file does not exist).

    Args:
        path: The file, `Feature.meta_path`.

    Raises:
        TasksError: The file cannot be read, is not JSON, or is not a JSON object.
    """
    if not path.exists():
        return {}
    try:
        meta = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise TasksError(f"{path}: not valid JSON ({exc})") from None
    if not isinstance(meta, dict):
        raise TasksError(f"{path}: must be a JSON object")
    return meta
