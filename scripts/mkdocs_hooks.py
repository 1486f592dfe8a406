"""MkDocs hooks: navigation from toc/, facts and references from the code, fresh CLI imports.

- on_config: put the project's `src/` and root first on sys.path (a copy of the project, as the
  tests and the bench build, imports its own code, not the venv's editable install).
- on_pre_build: drop cached `specify_cli` / `spec_kitty_server` / `scripts.docs_gen` modules,
  so `mkdocs serve` re-imports the CLI after a source edit (mkdocs-click imports it once).
- on_files: read toc/ into the nav; a broken href, a duplicate entry or a docs page missing
  from toc/ is a WARNING (strict turns it into a failure) naming file:line.
- on_pre_build / on_post_build under ./scripts/serve (`DOCS_PREVIEW=1`): collect the
  build's warnings and show them in a banner on every page (scripts/docs_preview.py).
- on_config also makes mkdocs-llmstxt convert a page's HTML to Markdown once per distinct
  HTML, so a `mkdocs serve` rebuild after one edit converts only the pages that changed.
- on_page_markdown: replace `{{ fact:NAME }}` and `{{ reference:NAME }}` with values and
  tables rendered from the code; an unknown name is a WARNING; every page needs a See Also.
"""

from __future__ import annotations

import functools
import importlib
import inspect
import json
import logging
import posixpath
import re
import sys
from pathlib import Path
from typing import Any

log = logging.getLogger("mkdocs.hooks.spec_kitty")

ROOT = Path(__file__).resolve().parent.parent
FRESH_PACKAGES = ("specify_cli", "spec_kitty_server", "scripts.docs_gen")
REFERENCE_RE = re.compile(r"^\{\{\s*reference:\s*([\w.-]+)\s*\}\}\s*$", re.MULTILINE)
SEE_ALSO_RE = re.compile(r"^## See [Aa]lso\s*$", re.MULTILINE)


def _project_dir(config: Any) -> Path:
    return Path(config.config_file_path).resolve().parent


LLMS_MEMO_PAGES = 512
"""Most page conversions `_memoize_llms_markdown` keeps (all of them are dropped past it)."""


def _memoize_llms_markdown() -> None:
    """Reuse mkdocs-llmstxt's Markdown of a page whose HTML has not changed since a build.

    The plugin converts every page's HTML to Markdown on every build (an HTML parse,
    markdownify and mdformat): about two fifths of a build's CPU. After one page is edited
    under `mkdocs serve`, every other page renders to the same HTML, and the conversion is a
    function of its arguments (a `preprocess` module, which could change, is not cached).
    This hooks module is reloaded with the config on every rebuild, so the cache lives on the
    plugin's module, which stays imported. `tests/site/test_units.py` fails if the plugin's
    function moves (mkdocs-llmstxt is pinned in uv.lock).
    """
    plugin = importlib.import_module("mkdocs_llmstxt._internal.plugin")
    convert = getattr(plugin, "_generate_page_markdown", None)
    if convert is None or getattr(convert, "memo", None) is not None:
        return
    memo: dict[tuple[Any, ...], str] = {}

    @functools.wraps(convert)
    def converted(html: str, **kwargs: Any) -> str:
        if kwargs.get("preprocess"):
            return convert(html, **kwargs)
        key = (html, *sorted(kwargs.items()))
        if key not in memo:
            if len(memo) >= LLMS_MEMO_PAGES:
                memo.clear()
            memo[key] = convert(html, **kwargs)
        return memo[key]

    converted.memo = memo  # type: ignore[attr-defined]
    plugin._generate_page_markdown = converted


def on_config(config: Any) -> Any:
    _memoize_llms_markdown()
    project = _project_dir(config)
    for path in (project / "src", project):
        if str(path) in sys.path:
            sys.path.remove(str(path))
        sys.path.insert(0, str(path))
    # mkdocs.yml's `scripts.docs_gen.cli_intros` was loaded while the config was read, maybe
    # from the venv's install of another tree: let pages import this project's copy.
    loaded = getattr(sys.modules.get("scripts"), "__file__", None)
    if loaded and Path(loaded).resolve().parent != project / "scripts":
        for name in [n for n in sys.modules if n == "scripts" or n.startswith("scripts.docs_gen")]:
            del sys.modules[name]
    return config


def on_pre_build(config: Any) -> None:
    preview = importlib.import_module("scripts.docs_preview")
    if preview.active():
        preview.start()
    dropped = [name for name in sys.modules
               if any(name == pkg or name.startswith(pkg + ".") for pkg in FRESH_PACKAGES)]
    for name in dropped:
        del sys.modules[name]
    importlib.invalidate_caches()


def on_files(files: Any, config: Any) -> Any:
    toc_mod = importlib.import_module("scripts.docs_gen.toc")
    project = _project_dir(config)
    docs_dir = Path(config.docs_dir)
    toc = toc_mod.load_toc(project / "toc", docs_dir, project)
    for problem in toc.problems:
        log.warning("%s", problem)
    for file in files.documentation_pages():
        if file.src_uri not in toc.pages:
            # The one message for an orphan page (mkdocs.yml sets `omitted_files: ignore`).
            log.warning("docs/%s:1: page is not listed in toc/; add `- name: ...` with "
                        "`href: %s` to the toc file of its section", file.src_uri, file.src_uri)
    config.nav = toc.nav
    _publish_schema(files, config)
    _check_api_pages(files, project)
    return files


API_PACKAGES = ("account", "project", "sync")
"""Packages of `specify_cli` whose every public module has a Python API page."""


def _check_api_pages(files: Any, project: Path) -> None:
    """Every public module of the account, the project and the sync engine has its API page."""
    documented = {line[4:].strip() for file in files.documentation_pages()
                  if file.src_uri.startswith("reference/api/")
                  for line in file.content_string.splitlines() if line.startswith("::: ")}
    for package in API_PACKAGES:
        for module in sorted((project / "src" / "specify_cli" / package).glob("[!_]*.py")):
            name = f"specify_cli.{package}.{module.stem}"
            if name not in documented:
                log.warning("%s:1: public module %s has no API page; add a page under "
                            "docs/reference/api/ (`::: %s`) and list it in "
                            "toc/reference/toc.yml", module.relative_to(project).as_posix(),
                            name, name)


def _publish_schema(files: Any, config: Any) -> None:
    """Serve the shipped event schema at the path of its `$id` (e.g. schemas/events-1.0.json)."""
    from urllib.parse import urlsplit

    from mkdocs.structure.files import File

    events = importlib.import_module("scripts.docs_gen.events_ref")
    try:
        text = events.schema_text()
        path = urlsplit(json.loads(text).get("$id", "")).path.lstrip("/")
    except Exception as exc:  # noqa: BLE001 - report any failure as a build warning
        log.warning("src/spec_kitty_protocol/schema.py: cannot publish the event schema: %s", exc)
        return
    if path and files.get_file_from_path(path) is None:
        files.append(File.generated(config, path, content=text))


def _references() -> dict[str, Any]:
    events = importlib.import_module("scripts.docs_gen.events_ref")
    config_ref = importlib.import_module("scripts.docs_gen.config_ref")
    openapi = importlib.import_module("scripts.docs_gen.openapi_ref")
    sync_states = importlib.import_module("scripts.docs_gen.sync_states")
    docs_topics = importlib.import_module("scripts.docs_gen.docs_topics")
    server_help = importlib.import_module("scripts.docs_gen.server_help")
    return {
        "events.envelope": events.render_envelope,
        "events.types": events.render_event_types,
        "events.example": events.render_example,
        "events.compatibility": events.render_compatibility,
        "events.schema": events.render_schema,
        "config.settings": config_ref.render_settings,
        "config.environment": config_ref.render_environment,
        "server.environment": config_ref.render_server_environment,
        "config.project": config_ref.render_project,
        "config.credentials": config_ref.render_credentials,
        "server.api": openapi.render,
        "sync.check-states": sync_states.render,
        "cli.docs-topics": docs_topics.render,
        "server.cli-help": server_help.render,
    }


def on_page_markdown(markdown: str, page: Any, config: Any, files: Any) -> str:
    path = f"docs/{page.file.src_uri}"
    importlib.import_module("scripts.docs_gen.cli_intros").CURRENT_PAGE["path"] = path
    renderers = _references()

    def _reference(match: re.Match[str]) -> str:
        name = match.group(1)
        line = markdown.count("\n", 0, match.start()) + 1
        render = renderers.get(name)
        if render is None:
            log.warning("%s:%d: unknown reference %r; known: %s", path, line, name,
                        ", ".join(sorted(renderers)))
            return match.group(0)
        try:
            if "page_dir" in inspect.signature(render).parameters:
                return render(page_dir=posixpath.dirname(page.file.src_uri))
            return render()
        except Exception as exc:  # noqa: BLE001 - any failure must name the page and line
            log.warning("%s:%d: reference %r failed: %s: %s", path, line, name,
                        type(exc).__name__, exc)
            return ""

    facts = importlib.import_module("scripts.docs_gen.facts")
    markdown, problems = facts.substitute(markdown)
    for line, message in problems:
        log.warning("%s:%d: %s", path, line, message)
    markdown = REFERENCE_RE.sub(_reference, markdown)
    if not SEE_ALSO_RE.search(markdown):
        log.warning("%s: every page ends with a `## See Also` section", path)
    return markdown


def on_post_build(config: Any) -> None:
    preview = importlib.import_module("scripts.docs_preview")
    if preview.active():
        preview.finish(config.site_dir)
