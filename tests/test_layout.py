"""The package layout holds: the sync engine imports no CLI module, and no module imports a
private `_module` of another package.

Every module under `src/` is parsed with `ast` (imports at any depth: module level, inside
functions, under `if TYPE_CHECKING:`). The docs generators and other scripts under
`scripts/` are held to the second rule too; they also name modules in strings
(`importlib.import_module("...")`, the facts table), so a string that is exactly the dotted
path of a module under `src/` counts as an import.

A private module belongs to the package that contains it and to that package's subpackages:
`specify_cli._text` may be imported anywhere in `specify_cli`, `specify_cli.sync._db` only
inside `specify_cli.sync`. What other packages need is exported by a public module or by
the package's `__init__`.

The tests hold to one more rule: no module imports a `conftest` module or a test module. A
conftest holds fixtures and hooks, which pytest finds by itself, and a test module holds
tests; helpers that tests import live in `tests/_support`.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
ENGINE = "specify_cli.sync"
CLI = "specify_cli.cli"
_DOTTED = re.compile(r"(?:specify_cli|spec_kitty_server|spec_kitty_protocol)(?:\.\w+)+")


def _module_name(path: Path, base: Path) -> str:
    parts = list(path.relative_to(base).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _is_module(src: Path, dotted: str) -> bool:
    path = src.joinpath(*dotted.split("."))
    return path.with_suffix(".py").is_file() or (path / "__init__.py").is_file()


def _imports(tree: ast.Module, importer: str, is_package: bool, src: Path,
             strings: bool) -> list[tuple[int, str]]:
    """Every module a parsed file imports, with the line of the import."""
    found: list[tuple[int, str]] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = importer.split(".")
                anchor = anchor[:len(anchor) - node.level + (1 if is_package else 0)]
                base = ".".join(anchor + ([base] if base else []))
            for alias in node.names:
                full = f"{base}.{alias.name}"
                found.append((node.lineno, full if _is_module(src, full) else base))
        elif (strings and isinstance(node, ast.Constant) and isinstance(node.value, str)
              and _DOTTED.fullmatch(node.value) and _is_module(src, node.value)):
            found.append((node.lineno, node.value))
    return found


def _private_owner(module: str) -> str | None:
    """The package a private module belongs to, or None when the module is public."""
    parts = module.split(".")
    for index, part in enumerate(parts):
        if part.startswith("_") and not (part.startswith("__") and part.endswith("__")):
            return ".".join(parts[:index]) or None
    return None


def _within(importer: str, package: str) -> bool:
    return importer == package or importer.startswith(package + ".")


def layout_problems(src: Path, scripts: Path | None = None) -> list[str]:
    """Return one line per import that breaks the layout rules (empty when it holds).

    Args:
        src: The `src/` directory whose packages are checked.
        scripts: A tree of scripts held to the private-module rule, or None.
    """
    problems = []
    trees = [(src, src, False)] + ([(scripts, scripts.parent, True)] if scripts else [])
    for top, base, strings in trees:
        for path in sorted(top.rglob("*.py")):
            if ".venv" in path.parts:
                continue
            importer = _module_name(path, base)
            tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
            where = path.relative_to(top.parent).as_posix()
            found = _imports(tree, importer, path.name == "__init__.py", src, strings)
            for line, module in sorted(set(found)):
                if not _is_module(src, module.split(".")[0]):
                    continue  # another project's module: its layout is not ours
                if _within(importer, ENGINE) and _within(module, CLI):
                    problems.append(f"{where}:{line}: the sync engine imports the CLI "
                                    f"module {module}")
                owner = _private_owner(module)
                if owner and _within(module, owner) and not _within(importer, owner):
                    problems.append(f"{where}:{line}: imports {module}, private to {owner}; "
                                    "import what it exports instead")
    return problems


def test_engine_imports_no_cli_and_no_private_module_is_imported_across_packages():
    problems = layout_problems(ROOT / "src", ROOT / "scripts")
    assert not problems, "\n".join(problems)


def conftest_imports(*trees: Path) -> list[str]:
    """Return one line per import of a `conftest` or `test_*` module under `trees`.

    Args:
        trees: Directories whose Python files are checked, named relative to their parent.
    """
    problems = []
    for top in trees:
        for path in sorted(top.rglob("*.py")):
            tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
            where = path.relative_to(top.parent).as_posix()
            for node in ast.walk(tree):
                if isinstance(node, ast.Import):
                    names = [alias.name for alias in node.names]
                elif isinstance(node, ast.ImportFrom):
                    names = [f"{node.module or ''}.{alias.name}" for alias in node.names]
                else:
                    continue
                for name in names:
                    parts = name.split(".")
                    what = ("a conftest" if "conftest" in parts else
                            "a test module" if any(p.startswith("test_") for p in parts)
                            else None)
                    if what:
                        problems.append(f"{where}:{node.lineno}: imports from {what} "
                                        f"({name.lstrip('.')}); move what it needs to "
                                        "tests/_support")
    return problems


def test_no_module_imports_a_conftest():
    problems = conftest_imports(ROOT / "tests", ROOT / "scripts")
    assert not problems, "\n".join(problems)


def test_the_conftest_check_reports_every_form_of_import(tmp_path):
    cf = "conftest"  # spelled apart: a grep of the tree for such imports must find none
    tests = tmp_path / "tests"
    _write(tests, {
        "conftest.py": "PASSWORD = 'x'\n",
        "reliability/conftest.py": "from tests._support.procs import run_cli\n",
        "reliability/test_a.py": f"from tests.{cf} import PASSWORD\n",
        "reliability/test_b.py": f"def f():\n    from .{cf} import login\n",
        "reliability/test_c.py": "import tests.reliability.conftest\n",
        "reliability/test_d.py": "from tests import conftest\n",
        "reliability/test_e.py": "from tests._support.procs import run_cli\n",
        "sync/test_f.py": "from tests.sync.test_e2e import make_project\n",
    })
    assert conftest_imports(tests) == [
        "tests/reliability/test_a.py:1: imports from a conftest (tests.conftest.PASSWORD); "
        "move what it needs to tests/_support",
        "tests/reliability/test_b.py:2: imports from a conftest (conftest.login); "
        "move what it needs to tests/_support",
        "tests/reliability/test_c.py:1: imports from a conftest (tests.reliability.conftest); "
        "move what it needs to tests/_support",
        "tests/reliability/test_d.py:1: imports from a conftest (tests.conftest); "
        "move what it needs to tests/_support",
        "tests/sync/test_f.py:1: imports from a test module "
        "(tests.sync.test_e2e.make_project); move what it needs to tests/_support",
    ]


def _write(root: Path, files: dict[str, str]) -> None:
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")


def test_the_check_reports_what_the_old_layout_did(tmp_path):
    src, scripts = tmp_path / "src", tmp_path / "scripts"
    _write(src, {
        "specify_cli/__init__.py": "",
        "specify_cli/_text.py": "",
        "specify_cli/cli/__init__.py": "",
        "specify_cli/cli/_output.py": "from specify_cli._text import plural\n",
        "specify_cli/cli/commands/__init__.py": "",
        "specify_cli/cli/commands/auth.py": (
            "from specify_cli.cli._output import info\n"
            "def f():\n    from specify_cli.sync._scope import queue_path\n"),
        "specify_cli/sync/__init__.py": "",
        "specify_cli/sync/_scope.py": "",
        "specify_cli/sync/_status.py": "",
        "specify_cli/sync/queue.py": "from specify_cli.sync import _scope\n",
        "specify_cli/sync/_now.py": (
            "from typing import TYPE_CHECKING\n"
            "if TYPE_CHECKING:\n    from specify_cli.cli._output import info\n"),
    })
    _write(scripts, {
        "docs_gen/facts.py": 'FACTS = {"x": ("specify_cli.sync._scope", "LOCAL_SCOPE")}\n',
        "docs_gen/sync_states.py": (
            "import importlib\nimportlib.import_module('specify_cli.sync._status')\n"),
    })
    assert layout_problems(src, scripts) == [
        "src/specify_cli/cli/commands/auth.py:3: imports specify_cli.sync._scope, private to "
        "specify_cli.sync; import what it exports instead",
        "src/specify_cli/sync/_now.py:3: the sync engine imports the CLI module "
        "specify_cli.cli._output",
        "src/specify_cli/sync/_now.py:3: imports specify_cli.cli._output, private to "
        "specify_cli.cli; import what it exports instead",
        "scripts/docs_gen/facts.py:1: imports specify_cli.sync._scope, private to "
        "specify_cli.sync; import what it exports instead",
        "scripts/docs_gen/sync_states.py:2: imports specify_cli.sync._status, private to "
        "specify_cli.sync; import what it exports instead",
    ]


COMMAND_LAYER = ("specify_cli.cli", "spec_kitty_server.cli")
"""Where imports are deferred freely: each command imports what only it needs."""


def deferred_imports(src: Path) -> list[str]:
    """Return one line per import inside a function, outside the command layer, that does not
    say why it is deferred: `lazily:` in a comment on its line or just above its block.

    Args:
        src: The `src/` directory whose packages are checked.
    """
    problems = []
    for path in sorted(src.rglob("*.py")):
        module = _module_name(path, src)
        if any(_within(module, layer) for layer in COMMAND_LAYER):
            continue
        text = path.read_text(encoding="utf-8")
        lines = text.splitlines()
        for func in ast.walk(ast.parse(text, str(path))):
            if not isinstance(func, ast.FunctionDef | ast.AsyncFunctionDef):
                continue
            for node in ast.walk(func):
                if isinstance(node, ast.Import | ast.ImportFrom) and not _says_why(lines, node):
                    names = node.module if isinstance(node, ast.ImportFrom) else \
                        node.names[0].name
                    problems.append(f"{path.relative_to(src.parent).as_posix()}:{node.lineno}: "
                                    f"{func.name}() imports {names} inside the function; "
                                    "import it at the top, or say why not (# lazily: ...)")
    return problems


def _says_why(lines: list[str], node: ast.stmt) -> bool:
    """`lazily:` on the import's line, or in the comment just above its block of imports
    (blank lines and other imports between them; a reason may take several lines)."""
    if "lazily:" in lines[node.lineno - 1]:
        return True
    index = node.lineno - 2
    while index >= 0 and (not lines[index].strip()
                          or lines[index].strip().startswith(("import ", "from "))):
        index -= 1
    while index >= 0 and lines[index].strip().startswith("#"):
        if "lazily:" in lines[index]:
            return True
        index -= 1
    return False


def test_every_deferred_import_outside_the_command_layer_says_why():
    problems = deferred_imports(ROOT / "src")
    assert not problems, "\n".join(problems)


def test_the_deferred_import_check_reports_an_unexplained_import(tmp_path):
    _write(tmp_path / "src", {
        "specify_cli/__init__.py": "",
        "specify_cli/cli/app.py": "def main():\n    import typer\n",
        "specify_cli/sync/queue.py": (
            "def a():\n    import sqlite3  # lazily: start-up\n"
            "def b():\n    # lazily: the engine brings httpx\n"
            "    from specify_cli.sync import _engine\n\n    import json\n"
            "def c():\n    x = 1\n    import json\n"
            "def d():\n    # a comment that gives no reason\n    import gzip\n"),
    })
    assert deferred_imports(tmp_path / "src") == [
        "src/specify_cli/sync/queue.py:10: c() imports json inside the function; import it "
        "at the top, or say why not (# lazily: ...)",
        "src/specify_cli/sync/queue.py:13: d() imports gzip inside the function; import it "
        "at the top, or say why not (# lazily: ...)",
    ]
