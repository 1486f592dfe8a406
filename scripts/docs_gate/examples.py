"""Check 3: console examples in the docs are run for real and their output compared.

Format (see README.md in this folder): in a ```console block, a line starting with `$ ` is a
command (a trailing backslash continues it on the next line), the lines after it up to the
next `$ ` line are its expected output. Each page runs as one session, in order, in a
sandbox: a temporary HOME and SPEC_KITTY_HOME, the temporary home as working directory, and a
fresh reference server on a free loopback port with demo users (unless the page starts its
own with `spec-kitty-server serve`). Output is compared after normalising what must vary
(times, ULIDs, ports, temporary paths, durations, token lifetimes). `--update` rewrites the
expected output in place. A block opts out only with a visible, non-empty reason:
`<!-- docs-gate: skip reason="..." -->` right before it.
"""

from __future__ import annotations

import difflib
import fnmatch
import os
import re
import shlex
import shutil
import signal
import subprocess
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

from scripts.docs_gate._common import (
    BIN,
    SRC_DIR,
    Options,
    Problem,
    Result,
    rel,
    subprocess_env,
    with_bytecode_cache,
)
from scripts.docs_gate._markdown import Block, Page, iter_pages
from scripts.docs_gate._shell import split_commands

DOC_PORT = 8000
"""The port the docs show for the reference server; the sandbox's real port replaces it."""

CLOSED_PORT = 9
"""Where the docs' port points before a page has started its server (discard: refused)."""

DEMO_USERS = (("alice", "acme"), ("bob", "other"))
DEMO_PASSWORD = "correct-horse-battery"
"""Password of the demo users the sandbox creates (the docs use it in their examples)."""

ALLOWED = {"spec-kitty", "spec-kitty-server", "cd", "mkdir", "export", "echo", "printf", "cat",
           "touch", "git", "ls", "true", "unset", "sleep"}
"""Commands an executed example may run; anything else needs a skip reason."""

HIDDEN_SETUP = ("hidden", "setup")
"""Former directives that ran setup the reader could not see; the gate now refuses them."""

COMMAND_TIMEOUT = 60
RUN_LANGS = {"console", "shell-session"}


@dataclass
class Step:
    """One `$ ` command of a console block and the output the docs expect from it."""

    block: Block
    line: int
    command: str
    expected: list[str]
    first_out: int  # index in block.lines of the first expected-output line
    end_out: int  # index after the last one
    check_output: bool = True


@dataclass
class Outcome:
    """What running one step produced."""

    step: Step
    output: list[str]
    exit_code: int
    problem: Problem | None = None
    replacement: list[str] | None = None
    seconds: float = 0.0


def parse_block(block: Block, check_output: bool = True) -> list[Step]:
    """Split a console block into steps; a bash block run with `run` has no expected output."""
    steps: list[Step] = []
    i = 0
    lines = block.lines
    while i < len(lines):
        raw = lines[i]
        if check_output and not raw.startswith("$ ") and raw.strip() != "$":
            if steps:
                steps[-1].expected.append(raw)
                steps[-1].end_out = i + 1
            i += 1
            continue
        command = raw[2:] if raw.startswith("$ ") else raw
        start = i
        while command.rstrip().endswith("\\") and i + 1 < len(lines):
            i += 1
            nxt = lines[i]
            command = command.rstrip()[:-1] + "\n" + (nxt[2:] if nxt.startswith("> ") else nxt)
        if command.strip():
            steps.append(Step(block, block.start + start, command, [], i + 1, i + 1, check_output))
        i += 1
    return steps


# --- normalisation ------------------------------------------------------------------------

_NORMALISERS: list[tuple[re.Pattern[str], str]] = [
    (re.compile(r"(?:/home/[\w.-]+|/Users/[\w.-]+|/root)(?=/|\b)"), "~"),
    (re.compile(r"\b(?:127\.0\.0\.1|localhost):\d+"), "127.0.0.1:PORT"),
    (re.compile(r"\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?(?:Z|[+-]\d{2}:?\d{2}|"
                r" ?UTC)?"), "<TIME>"),
    (re.compile(r"\b\d{2}:\d{2}:\d{2}\b"), "<TIME>"),
    (re.compile(r"\b[0-9A-HJKMNP-TV-Z]{26}\b"), "<ULID>"),
    (re.compile(r"\b[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\b"), "<UUID>"),
    (re.compile(r"\b(?=[0-9a-f]*\d)(?=[0-9a-f]*[a-f])[0-9a-f]{7,64}\b"), "<HEX>"),
    (re.compile(r"queues/[^/\s)]+\.sqlite3"), "queues/QUEUE.sqlite3"),
    (re.compile(r"\b(?:\d+[dhms] ?)+(?=(?:left|ago|remaining)\b)"), "<DUR> "),
    (re.compile(r"\b\d+ (?:seconds?|minutes?|hours?|days?) (?=ago\b)"), "<DUR> "),
    (re.compile(r"\b\d+(?:\.\d+)? ?(?:ms|µs)\b"), "<DUR>"),
    (re.compile(r"\b\d+\.\d+ ?(?:s|sec|seconds)\b"), "<DUR>"),
]


def normalise(line: str) -> str:
    """Replace what legitimately varies between runs by stable tokens."""
    for pattern, replacement in _NORMALISERS:
        line = pattern.sub(replacement, line)
    return line.rstrip()


def matches(expected: list[str], actual: list[str]) -> bool:
    """Compare normalised lines; an expected line `...` matches any number of lines."""
    exp = [normalise(x) for x in expected]
    act = [normalise(x) for x in actual]
    while exp and not exp[-1]:
        exp.pop()
    while act and not act[-1]:
        act.pop()

    def match(i: int, j: int) -> bool:
        while i < len(exp):
            if exp[i] == "...":
                return any(match(i + 1, k) for k in range(j, len(act) + 1))
            if j >= len(act) or exp[i] != act[j]:
                return False
            i, j = i + 1, j + 1
        return j == len(act)

    return match(0, 0)


# --- the sandbox session --------------------------------------------------------------------


class Session:
    """One page's sandbox: home, working directory, environment and a reference server."""

    def __init__(self, page: Page, uses_own_server: bool, creates_users: bool) -> None:
        self.page = page
        self.tmp = Path(tempfile.mkdtemp(prefix="docs-gate-ex-"))
        self.home = self.tmp / "home"
        self.home.mkdir()
        self.state = self.tmp / "state"
        self.state.mkdir()
        self.cwd = self.home
        self.port: int | None = None
        self.servers: list[subprocess.Popen] = []
        self.uses_own_server = uses_own_server
        self.creates_users = creates_users
        gitconfig = self.tmp / "gitconfig"
        gitconfig.write_text("[user]\n\tname = Alice\n\temail = alice@example.com\n"
                             "[init]\n\tdefaultBranch = master\n", encoding="utf-8")
        env = with_bytecode_cache(subprocess_env())
        env.update({
            "HOME": str(self.home),
            "SPEC_KITTY_HOME": str(self.home / ".spec-kitty"),
            "PATH": f"{BIN}{os.pathsep}{os.environ.get('PATH', '/usr/bin:/bin')}",
            "NO_COLOR": "1", "TERM": "dumb", "COLUMNS": "80", "TZ": "UTC", "LC_ALL": "C.UTF-8",
            "PYTHONUNBUFFERED": "1", "PYTHONPATH": str(SRC_DIR),
            "SPEC_KITTY_SERVER_SECRET": "docs-gate-secret-" + "x" * 32,
            "GIT_CONFIG_GLOBAL": str(gitconfig), "GIT_CONFIG_NOSYSTEM": "1",
        })
        for name in [k for k in env if k.startswith("SPEC_KITTY_") and k not in
                     ("SPEC_KITTY_HOME", "SPEC_KITTY_SERVER_SECRET")]:
            del env[name]
        self.env = env
        (self.state / "env").write_text("", encoding="utf-8")

    # The docs show port 8000; the sandbox server listens elsewhere.
    def to_sandbox(self, command: str) -> str:
        """Rewrite the docs' server address to the sandbox server's (before the page has
        started one: to a closed port, never to whatever listens on the real port 8000)."""
        port = self.port if self.port is not None else CLOSED_PORT
        return re.sub(rf"\b(127\.0\.0\.1|localhost):{DOC_PORT}\b", f"127.0.0.1:{port}",
                      command)

    def to_docs(self, text: str) -> str:
        """Rewrite sandbox paths and ports in output to what a reader would see."""
        text = text.replace(str(self.home), "~").replace(str(self.tmp), "/tmp")
        for port in {self.port, CLOSED_PORT} - {None}:
            text = re.sub(rf"\b(127\.0\.0\.1|localhost):{port}\b", rf"\1:{DOC_PORT}", text)
        return text

    def start_default_server(self) -> None:
        """Start the sandbox server with the demo users (pages that do not start their own)."""
        db = self.tmp / "server.sqlite3"
        if not self.creates_users:
            template = _demo_database(self.env)
            for source in template.parent.glob(template.name + "*"):
                shutil.copy2(source, self.tmp / source.name.replace(template.name, db.name))
        self._serve([str(BIN / "spec-kitty-server"), "serve", "--host", "127.0.0.1", "--port", "0",
                     "--db", str(db)], cwd=self.tmp)

    def _serve(self, argv: list[str] | str, cwd: Path) -> list[str]:
        log = self.tmp / f"server-{len(self.servers)}.log"
        with open(log, "w") as handle:
            proc = subprocess.Popen(argv, cwd=cwd, env=self.env, stdout=handle,
                                    stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                    shell=isinstance(argv, str), start_new_session=True,
                                    executable="/bin/bash" if isinstance(argv, str) else None)
        self.servers.append(proc)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            text = log.read_text(encoding="utf-8", errors="replace")
            match = re.search(r"Serving on https?://[\w.\[\]:-]+:(\d+)", text)
            if match:
                self.port = int(match.group(1))
                lines = text[:match.end()].splitlines()
                return lines
            if proc.poll() is not None:
                raise RuntimeError(f"server exited {proc.returncode}: {text[-500:]}")
            time.sleep(0.05)
        raise RuntimeError("server did not print `Serving on ...` within 30 s")

    def run(self, step: Step) -> Outcome:
        """Run one step's command line in the sandbox."""
        command = self.to_sandbox(step.command)
        for words in split_commands(command.replace("\n", " ")):
            if words[0] not in ALLOWED:
                return Outcome(step, [], 0, Problem(
                    f"{rel(step.block.path)}:{step.line}",
                    f"`{words[0]}` may not run in an executed example (allowed: "
                    f"{', '.join(sorted(ALLOWED))}); use them, or put "
                    '<!-- docs-gate: skip reason="..." --> right before the block'))
        serve = _serve_command(command)
        if serve is not None:
            if self.port is not None and not self.uses_own_server:
                return Outcome(step, [], 0)
            script = f"source {shlex.quote(str(self.state / 'env'))} >/dev/null 2>&1; " \
                     f"cd {shlex.quote(str(self.cwd))} && exec {serve}"
            try:
                lines = self._serve(script, cwd=self.cwd)
            except RuntimeError as exc:
                return Outcome(step, [], 1, Problem(f"{rel(step.block.path)}:{step.line}",
                                                    f"`{step.command}` failed: {exc}"))
            return Outcome(step, [self.to_docs(x) for x in lines], 0)
        if self.port is None and not self.uses_own_server:
            self.start_default_server()
            command = self.to_sandbox(step.command)
        env_file = shlex.quote(str(self.state / "env"))
        cwd_file = shlex.quote(str(self.state / "cwd"))
        script = (f"source {env_file} >/dev/null 2>&1; cd {shlex.quote(str(self.cwd))} || exit 97\n"
                  f"{{\n{command}\n}} 2>&1 </dev/null\n__rc=$?\n"
                  f"export -p > {env_file}; pwd > {cwd_file}; exit $__rc\n")
        try:
            proc = subprocess.run(["/bin/bash", "--noprofile", "--norc", "-c", script],
                                  env=self.env, cwd=self.cwd, capture_output=True, text=True,
                                  timeout=COMMAND_TIMEOUT)
        except subprocess.TimeoutExpired:
            return Outcome(step, [], -1, Problem(f"{rel(step.block.path)}:{step.line}",
                                                 f"`{step.command}` did not finish in "
                                                 f"{COMMAND_TIMEOUT} s (does it prompt?)"))
        try:
            self.cwd = Path((self.state / "cwd").read_text(encoding="utf-8").strip() or self.cwd)
        except OSError:
            pass
        output = self.to_docs(proc.stdout + proc.stderr).splitlines()
        return Outcome(step, output, proc.returncode)

    def close(self) -> None:
        """Stop the servers this session started and delete the sandbox."""
        for proc in self.servers:
            if proc.poll() is None:
                try:
                    os.killpg(proc.pid, signal.SIGINT)
                    proc.wait(10)
                except (ProcessLookupError, subprocess.TimeoutExpired):
                    try:
                        os.killpg(proc.pid, signal.SIGKILL)
                    except ProcessLookupError:
                        pass
                    proc.wait(5)
        shutil.rmtree(self.tmp, ignore_errors=True)


_TEMPLATE_LOCK = threading.Lock()
_TEMPLATE: dict[str, Path] = {}


def _demo_database(env: dict[str, str]) -> Path:
    """A database with the demo users, made once per run (password hashing is slow on
    purpose) and copied into each page's sandbox."""
    with _TEMPLATE_LOCK:
        if "db" not in _TEMPLATE:
            folder = Path(tempfile.mkdtemp(prefix="docs-gate-demo-db-"))
            db = folder / "server.sqlite3"
            for user, team in DEMO_USERS:
                subprocess.run([str(BIN / "spec-kitty-server"), "user", "add", user, "--team", team,
                                "--password-stdin", "--db", str(db)], input=DEMO_PASSWORD + "\n",
                               env=env, capture_output=True, text=True, check=True,
                               timeout=COMMAND_TIMEOUT)
            _TEMPLATE["db"] = db
        return _TEMPLATE["db"]


def _drop_demo_database() -> None:
    with _TEMPLATE_LOCK:
        db = _TEMPLATE.pop("db", None)
        if db is not None:
            shutil.rmtree(db.parent, ignore_errors=True)


def _serve_command(command: str) -> str | None:
    """`spec-kitty-server serve ...` rewritten to listen on a free port, or None."""
    for words in split_commands(command.replace("\n", " ")):
        if words[:2] == ["spec-kitty-server", "serve"]:
            args = words[2:]
            out: list[str] = []
            skip = False
            for index, word in enumerate(args):
                if skip:
                    skip = False
                    continue
                if word == "--port":
                    skip = True
                    continue
                if word.startswith("--port="):
                    continue
                if word == "--host" and index + 1 < len(args):
                    skip = True
                    continue
                out.append(word)
            return shlex.join(["spec-kitty-server", "serve", "--host", "127.0.0.1", "--port", "0",
                               *out])
    return None


# --- pages ------------------------------------------------------------------------------------


@dataclass
class PagePlan:
    """The steps of one page and the blocks it skips."""

    page: Page
    steps: list[Step] = field(default_factory=list)
    skipped: int = 0
    problems: list[Problem] = field(default_factory=list)


def plan(page: Page) -> PagePlan:
    """Collect the runnable steps of a page, honouring skip/run directives."""
    result = PagePlan(page)
    for directive in page.directives:
        if directive.word in HIDDEN_SETUP:
            result.problems.append(Problem(
                f"{rel(page.path)}:{directive.line}",
                f"`docs-gate: {directive.word}` is setup the reader cannot see: show it on "
                "the page as a console block (a collapsible `??? example` is fine)"))
    for block in page.blocks:
        words = {d.word: d for d in block.directives}
        if "skip" in words:
            reason = words["skip"].attrs.get("reason", "").strip()
            if not reason:
                result.problems.append(Problem(
                    f"{rel(page.path)}:{words['skip'].line}",
                    "a docs-gate skip needs a visible reason: "
                    '<!-- docs-gate: skip reason="why" -->'))
            result.skipped += 1
            continue
        if block.lang in RUN_LANGS:
            result.steps.extend(parse_block(block))
        elif "run" in words:
            result.steps.extend(parse_block(block, check_output=False))
        elif _looks_like_console(block):
            result.problems.append(Problem(
                f"{rel(page.path)}:{block.fence_line}",
                f"a ```{block.lang or 'text'} block with `$ ` commands and their output is a "
                "console example that does not run: make it ```console, or put "
                '<!-- docs-gate: skip reason="..." --> right before it'))
    return result


def _looks_like_console(block: Block) -> bool:
    prompts = [line for line in block.lines if line.startswith("$ ")]
    output = [line for line in block.lines if line.strip() and not line.startswith(("$ ", "> "))]
    return bool(prompts) and bool(output) and block.lang in {"", "text", "txt", "bash", "sh",
                                                             "shell", "zsh"}


def _run_page(item: PagePlan) -> tuple[PagePlan, list[Outcome]]:
    text = item.page.text
    own = "spec-kitty-server serve" in text
    creates = "spec-kitty-server user add" in text
    session = Session(item.page, uses_own_server=own, creates_users=creates)
    outcomes: list[Outcome] = []
    try:
        if any(d.word in HIDDEN_SETUP for d in item.page.directives):
            return item, outcomes  # plan() reported it; the page cannot run as a reader would
        for step in item.steps:
            began = time.perf_counter()
            outcome = session.run(step)
            outcome.seconds = time.perf_counter() - began
            outcomes.append(outcome)
            if outcome.problem is not None:
                break
    except Exception as exc:  # a broken sandbox is a failed page, with its reason
        item.problems.append(Problem(rel(item.page.path), f"the example session failed: {exc}"))
    finally:
        session.close()
    return item, outcomes


def _judge(outcome: Outcome) -> None:
    step = outcome.step
    where = f"{rel(step.block.path)}:{step.line}"
    if outcome.problem is not None:
        return
    shows_error = any(x.lstrip().startswith(("error:", "Error:")) for x in step.expected)
    if not step.check_output:
        if outcome.exit_code != 0:
            outcome.problem = Problem(where, f"`{step.command}` exited {outcome.exit_code}; fix "
                                      "the example", "\n".join(outcome.output[-10:]))
        return
    if not matches(step.expected, outcome.output):
        outcome.replacement = outcome.output
        diff = "\n".join(difflib.unified_diff(step.expected, outcome.output,
                                              fromfile=f"{where} (docs)", tofile="actual output",
                                              lineterm="", n=2))
        outcome.problem = Problem(where, f"output of `{step.command.splitlines()[0]}` differs; "
                                  "fix the docs (or run ./scripts/build --update) or the CLI",
                                  diff)
    elif outcome.exit_code != 0 and not shows_error:
        outcome.problem = Problem(where, f"`{step.command}` exited {outcome.exit_code} but the "
                                  "docs show no `error:` line; fix the example")


def _rewrite(outcomes: list[Outcome]) -> int:
    """Write actual output over the expected output of differing steps; returns how many."""
    by_file: dict[Path, list[Outcome]] = {}
    for outcome in outcomes:
        if outcome.replacement is not None and outcome.step.check_output:
            by_file.setdefault(outcome.step.block.path, []).append(outcome)
    changed = 0
    for path, items in by_file.items():
        lines = path.read_text(encoding="utf-8").split("\n")
        for outcome in sorted(items, key=lambda o: o.step.line, reverse=True):
            step = outcome.step
            base = step.block.start - 1
            new = [step.block.indent + x if x else x for x in outcome.replacement or []]
            lines[base + step.first_out:base + step.end_out] = new
            changed += 1
        path.write_text("\n".join(lines), encoding="utf-8")
    return changed


def run(options: Options) -> Result:
    """Run every page's examples as a session, compare, and optionally update."""
    result = Result("examples", unit="commands")
    only = [g.strip() for g in os.environ.get("DOCS_GATE_PAGES", "").split(",") if g.strip()]
    pages = [p for p in iter_pages()
             if not only or any(fnmatch.fnmatch(rel(p.path), f"docs/{g}") for g in only)]
    plans = [plan(page) for page in pages]
    plans = [p for p in plans if p.steps or p.problems or p.skipped]
    runnable = [p for p in plans if p.steps]
    # Every page at once by default: a page is a chain of short subprocesses, and the slowest
    # page bounds the check, so none should wait for a slot (longest first when capped).
    workers = max(1, min(int(os.environ.get("DOCS_GATE_EXAMPLE_WORKERS", "8")), len(runnable)))
    all_outcomes: list[Outcome] = []
    try:
        with ThreadPoolExecutor(max_workers=workers) as pool:
            started = {id(item): pool.submit(_run_page, item)
                       for item in sorted(runnable, key=lambda p: -len(p.steps))}
            for item in runnable:
                _item, outcomes = started[id(item)].result()
                for outcome in outcomes:
                    _judge(outcome)
                all_outcomes.extend(outcomes)
    finally:
        _drop_demo_database()
    for item in plans:
        result.problems.extend(item.problems)
    if options.update:
        changed = _rewrite(all_outcomes)
        if changed:
            result.notes.append(f"updated the expected output of {changed} example(s)")
        for outcome in all_outcomes:
            if outcome.problem and outcome.replacement is None:
                result.problems.append(outcome.problem)
    else:
        result.problems.extend(o.problem for o in all_outcomes if o.problem is not None)
    skipped = sum(p.skipped for p in plans)
    per_page: dict[str, float] = {}
    for outcome in all_outcomes:
        name = rel(outcome.step.block.path)
        per_page[name] = per_page.get(name, 0.0) + outcome.seconds
    if per_page:
        slow = sorted(all_outcomes, key=lambda o: -o.seconds)[:3]
        result.notes.append("per page: " + ", ".join(
            f"{name.removeprefix('docs/')} {sec:.1f}s" for name, sec in
            sorted(per_page.items(), key=lambda kv: -kv[1])))
        result.notes.append("slowest: " + ", ".join(
            f"{rel(o.step.block.path)}:{o.step.line} {o.seconds:.1f}s" for o in slow))
    result.count = len(all_outcomes)
    result.summary = f"{result.count} commands on {len(runnable)} pages run" + \
        (f", {skipped} blocks skipped with a reason" if skipped else "")
    return result
