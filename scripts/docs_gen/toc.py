"""Turn the docfx-style toc/ files into an MkDocs nav, and report every problem with file:line.

Format (every file is a YAML list):

    - name: Connect to a server          # a page: href relative to docs/
      href: tutorials/server-connection.md
    - name: How-to guides                # another toc file: href relative to this file
      href: how-to/toc.yml
    - name: Python API                   # a sub-section written inline
      items:
        - name: config
          href: reference/api/config.md
    - name: GitHub                       # an external link
      href: https://github.com/...

The root is toc/toc.yml; its entries become the tabs.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml


@dataclass
class Problem:
    """One thing wrong with the toc, located at a file and line."""

    path: str
    line: int
    message: str

    def __str__(self) -> str:
        return f"{self.path}:{self.line}: {self.message}"


@dataclass
class Toc:
    """The result of reading toc/: the nav, the pages it lists, and what is wrong."""

    nav: list[Any] = field(default_factory=list)
    pages: dict[str, str] = field(default_factory=dict)  # docs-relative path -> "file:line"
    problems: list[Problem] = field(default_factory=list)


def _rel(path: Path, root: Path) -> str:
    try:
        return path.relative_to(root).as_posix()
    except ValueError:
        return path.as_posix()


def _scalar(node: yaml.Node) -> str | None:
    if isinstance(node, yaml.ScalarNode):
        return str(node.value)
    return None


def load_toc(toc_dir: Path, docs_dir: Path, project_dir: Path) -> Toc:
    """Read toc/toc.yml (and the files it references) into a nav.

    Args:
        toc_dir: The toc/ directory.
        docs_dir: The docs/ directory; page hrefs are relative to it.
        project_dir: The project root, used to print short file names.

    Returns:
        The nav for MkDocs, the pages listed with where, and the problems found.
    """
    toc = Toc()
    root = toc_dir / "toc.yml"
    if not root.is_file():
        toc.problems.append(Problem(_rel(root, project_dir), 1, "the root toc file is missing"))
        return toc
    seen_files: dict[Path, str] = {}
    toc.nav = _read_file(root, toc, docs_dir, project_dir, seen_files, where="(root):1")
    for path in sorted(toc_dir.rglob("*.yml")):
        if path.resolve() not in seen_files:
            toc.problems.append(Problem(_rel(path, project_dir), 1,
                                        "toc file is not referenced from toc/toc.yml"))
    return toc


def _read_file(path: Path, toc: Toc, docs_dir: Path, project_dir: Path,
               seen_files: dict[Path, str], where: str) -> list[Any]:
    name = _rel(path, project_dir)
    key = path.resolve()
    if key in seen_files:
        file, _, line = where.rpartition(":")
        toc.problems.append(Problem(file, int(line), f"duplicate entry: {name} is already "
                                    f"included at {seen_files[key]}"))
        return []
    seen_files[key] = where
    try:
        node = yaml.compose(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = mark.line + 1 if mark else 1
        toc.problems.append(Problem(name, line, f"not valid YAML: {exc}"))
        return []
    if node is None:
        toc.problems.append(Problem(name, 1, "toc file is empty"))
        return []
    return _read_list(node, path, name, toc, docs_dir, project_dir, seen_files)


def _read_list(node: yaml.Node, path: Path, name: str, toc: Toc, docs_dir: Path,
               project_dir: Path, seen_files: dict[Path, str]) -> list[Any]:
    if not isinstance(node, yaml.SequenceNode):
        toc.problems.append(Problem(name, node.start_mark.line + 1,
                                    "expected a list of `- name: ... href: ...` entries"))
        return []
    nav: list[Any] = []
    for item in node.value:
        line = item.start_mark.line + 1
        here = f"{name}:{line}"
        if not isinstance(item, yaml.MappingNode):
            toc.problems.append(Problem(name, line, "entry must be a mapping with name and href"))
            continue
        fields = {(_scalar(k) or ""): v for k, v in item.value}
        unknown = sorted(set(fields) - {"name", "href", "items"})
        if unknown:
            toc.problems.append(Problem(name, line, f"unknown key(s) {', '.join(unknown)}; "
                                        "use name, href or items"))
        title = _scalar(fields["name"]) if "name" in fields else None
        if not title:
            toc.problems.append(Problem(name, line, "entry has no name"))
            continue
        if "items" in fields:
            children = _read_list(fields["items"], path, name, toc, docs_dir, project_dir,
                                  seen_files)
            if "href" in fields:
                toc.problems.append(Problem(name, line, "an entry has either href or items"))
            nav.append({title: children})
            continue
        href = _scalar(fields["href"]) if "href" in fields else None
        if not href:
            toc.problems.append(Problem(name, line, f"entry {title!r} has no href"))
            continue
        if "://" in href or href.startswith("mailto:"):
            nav.append({title: href})
            continue
        if href.endswith(".yml") or href.endswith(".yaml"):
            target = (path.parent / href)
            if not target.is_file():
                toc.problems.append(Problem(name, line, f"broken href {href!r}: "
                                            f"{_rel(target, project_dir)} does not exist"))
                continue
            nav.append({title: _read_file(target, toc, docs_dir, project_dir, seen_files,
                                          here)})
            continue
        page = href[2:] if href.startswith("./") else href
        if "#" in page:
            toc.problems.append(Problem(name, line, f"href {href!r} has an anchor; "
                                        "toc entries name whole pages"))
            continue
        if not page.endswith(".md"):
            toc.problems.append(Problem(name, line, f"href {href!r} is not a .md page "
                                        "under docs/ or a toc .yml file"))
            continue
        if not (docs_dir / page).is_file():
            toc.problems.append(Problem(name, line, f"broken href {href!r}: "
                                        f"docs/{page} does not exist"))
            continue
        if page in toc.pages:
            toc.problems.append(Problem(name, line, f"duplicate entry {href!r}: already "
                                        f"listed at {toc.pages[page]}"))
            continue
        toc.pages[page] = here
        nav.append({title: page})
    return nav
