"""A spec-kitty project on disk: `kitty-specs/<NNN-slug>/` with `tasks.md` and WP files."""

from __future__ import annotations

from pathlib import Path

WP = """---
work_package_id: {id}
title: Part {id}
lane: {lane}
dependencies: {deps}
history: []
---

Body of {id}.
"""


def make_feature(root: Path, slug: str = "001-login-flow",
                 wps: dict[str, tuple[str, str]] | None = None,
                 tasks_md: str = "# Tasks\n") -> Path:
    """Write a feature directory under `root` and return it.

    `wps` maps a WP id to (lane, dependencies as YAML), by default one planned WP01.
    """
    feature = root / "kitty-specs" / slug
    (feature / "tasks").mkdir(parents=True)
    (feature / "tasks.md").write_text(tasks_md)
    for wp, (lane, deps) in (wps or {"WP01": ("planned", "[]")}).items():
        (feature / "tasks" / f"{wp}.md").write_text(WP.format(id=wp, lane=lane, deps=deps))
    return feature


def make_two_wp_project(root: Path) -> Path:
    """A project with one feature of two planned work packages, WP02 depending on WP01."""
    make_feature(root, wps={"WP01": ("planned", "[]"), "WP02": ("planned", "[WP01]")})
    return root
