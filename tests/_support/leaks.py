"""The no-secret-leak check: every output of the suite is scanned for every known secret.

A per-process `REGISTRY` learns secrets (fixture passwords, the server's signing key, tokens
read from every credentials file the CLI writes, tokens and ws-tokens the security tests get
from the API) and collects outputs (stdout/stderr of every CLI and server command run through
`tests/_support/procs.py`, every server log file, output captured by pytest, and whatever a
test records itself). At the end of the session (per pytest-xdist worker, see
`tests/_support/suite_report.py`) `find_leaks()` reports any secret found in any output, plus
anything that looks like a JWT, whether or not it was registered.
"""

from __future__ import annotations

import json
import re
import threading
from dataclasses import dataclass
from pathlib import Path

MIN_SECRET_LENGTH = 6
"""Shorter registered values are ignored (they would match ordinary words)."""

JWT_PATTERN = re.compile(r"eyJ[A-Za-z0-9_-]{6,}\.eyJ[A-Za-z0-9_-]{6,}\.[A-Za-z0-9_-]{10,}")
"""Anything shaped like a signed JWT counts as a leaked token."""


@dataclass(frozen=True)
class Leak:
    """One secret found in one output.

    Attributes:
        where: Which output (a command line, a log file, a test id).
        kind: What leaked (`password`, `access token`, `jwt-shaped string`, ...).
        context: The surrounding text with the secret masked.
    """

    where: str
    kind: str
    context: str

    def describe(self) -> str:
        """One line for the terminal (the secret itself is masked)."""
        return f"{self.kind} in {self.where}: ...{self.context}..."


class Registry:
    """Secrets known so far and the outputs to scan for them."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.secrets: dict[str, str] = {}
        self.outputs: list[tuple[str, str]] = []
        self.log_files: set[Path] = set()

    def secret(self, value: object, kind: str) -> None:
        """Register a value that must never appear in any output."""
        if isinstance(value, str) and len(value) >= MIN_SECRET_LENGTH:
            with self._lock:
                self.secrets.setdefault(value, kind)

    def output(self, where: str, text: object) -> None:
        """Record an output to scan at the end of the session."""
        if isinstance(text, bytes):
            text = text.decode("utf-8", "replace")
        if isinstance(text, str) and text:
            with self._lock:
                self.outputs.append((where, text))

    def log_file(self, path: Path) -> None:
        """Record a log file to read and scan at the end of the session."""
        with self._lock:
            self.log_files.add(Path(path))

    def credentials_file(self, path: Path) -> None:
        """Register the tokens of a credentials file, if there is a readable one."""
        try:
            data = json.loads(Path(path).read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return
        if isinstance(data, dict):
            self.secret(data.get("access_token"), "access token")
            self.secret(data.get("refresh_token"), "refresh token")

    def token_response(self, data: object) -> None:
        """Register the tokens of a token or ws-token response body."""
        if isinstance(data, dict):
            self.secret(data.get("access"), "access token")
            self.secret(data.get("refresh"), "refresh token")
            self.secret(data.get("ws_token"), "ws-token")

    def observe_cli(self, home, argv, result) -> None:
        """`procs.OBSERVERS` hook: record a command's output and learn its account's tokens."""
        where = " ".join(str(a) for a in argv)[:160]
        self.output(f"`{where}` stdout", getattr(result, "stdout", ""))
        self.output(f"`{where}` stderr", getattr(result, "stderr", ""))
        if home is not None:
            self.credentials_file(Path(home) / "credentials.json")

    def find_leaks(self) -> tuple[list[Leak], int]:
        """Scan every output and log file; return the leaks and the number of outputs scanned."""
        with self._lock:
            outputs = list(self.outputs)
            secrets = dict(self.secrets)
            logs = sorted(self.log_files)
        for path in logs:
            try:
                outputs.append((f"server log {path.name}", path.read_text("utf-8", "replace")))
            except OSError:
                continue
        leaks: list[Leak] = []
        for where, text in outputs:
            for value, kind in secrets.items():
                index = text.find(value)
                if index >= 0:
                    leaks.append(Leak(where, kind, _context(text, index, len(value), kind)))
            for match in JWT_PATTERN.finditer(text):
                if match.group(0) not in secrets:
                    leaks.append(Leak(where, "jwt-shaped string",
                                      _context(text, match.start(), len(match.group(0)), "jwt")))
        return leaks, len(outputs)


SERVER_500 = re.compile(r"\b(?:GET|POST|PUT|PATCH|DELETE|HEAD|OPTIONS|WEBSOCKET|WS)\s+\S+\s+500\b")
"""An access-log line of the reference server answering 500."""


def server_log_health(paths) -> tuple[int, int]:
    """Count HTTP 500 answers and tracebacks in reference-server log files."""
    errors = tracebacks = 0
    for path in paths:
        try:
            text = Path(path).read_text("utf-8", "replace")
        except OSError:
            continue
        errors += len(SERVER_500.findall(text))
        tracebacks += text.count("Traceback (most recent call last)")
    return errors, tracebacks


def _context(text: str, index: int, length: int, kind: str) -> str:
    before = text[max(0, index - 40):index]
    after = text[index + length:index + length + 40]
    return " ".join(f"{before}<{kind}>{after}".split())


def scan_text(text: str, secrets: dict[str, str]) -> list[str]:
    """Return the kinds of the `secrets` (value -> kind) and JWT shapes found in `text`."""
    found = [kind for value, kind in secrets.items() if value in text]
    found += ["jwt-shaped string"] * len(JWT_PATTERN.findall(text))
    return found


REGISTRY = Registry()
"""The registry of this process (one per pytest-xdist worker)."""
