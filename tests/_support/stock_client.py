"""The stock upstream client, `spec-kitty-cli` 2.1.3 from the package index, in its own venv.

It is our conformance reference, so it is never a dependency of this project: it is
installed with pip into a virtualenv outside `.venv` and outside `uv.lock`, in the user's
cache directory, and reused by later runs (a stamp file marks a complete install; a lock
makes concurrent test workers wait for one install instead of racing).
"""

from __future__ import annotations

import fcntl
import json
import os
import subprocess
import sys
from pathlib import Path

VERSION = "2.1.3"
"""The stock client release the conformance tests run."""

REQUIREMENTS = (f"spec-kitty-cli=={VERSION}",
                # 2.1.3 imports `click` but does not require it; Typer stopped bringing it
                # in 0.26 (it bundles its own copy), so a plain install fails at start-up.
                "typer<0.26")
"""What pip installs into the stock client's virtualenv."""


def venv_dir() -> Path:
    """Where the stock client's virtualenv lives (kept between runs)."""
    cache = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    return cache / "spec-kitty-sync-tests" / f"stock-spec-kitty-cli-{VERSION}"


def ensure_installed() -> Path:
    """Install the stock client once (about a minute), then return its venv's `bin`.

    Raises:
        RuntimeError: pip failed; the message holds pip's last lines.
    """
    root = venv_dir()
    stamp = root / ".complete"
    root.parent.mkdir(parents=True, exist_ok=True)
    with open(root.parent / f".{root.name}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if stamp.exists() and stamp.read_text().split() == list(REQUIREMENTS):
            return root / "bin"
        subprocess.run([sys.executable, "-m", "venv", "--clear", str(root)], check=True,
                       capture_output=True)
        pip = subprocess.run(
            [str(root / "bin" / "python"), "-m", "pip", "install", "--quiet",
             "--disable-pip-version-check", *REQUIREMENTS],
            capture_output=True, text=True, timeout=900, check=False)
        if pip.returncode != 0:
            raise RuntimeError(f"installing {' '.join(REQUIREMENTS)} failed:\n"
                               + "\n".join((pip.stdout + pip.stderr).splitlines()[-20:]))
        stamp.write_text("\n".join(REQUIREMENTS) + "\n")
    return root / "bin"


def stock_env(bin_dir: Path, home: Path, cert: Path) -> dict[str, str]:
    """The environment of a stock-client process: its own HOME, sync on, our CA trusted."""
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("SPEC_KITTY", "VIRTUAL_ENV", "PYTHON"))}
    env.update({
        "HOME": str(home), "PATH": f"{bin_dir}{os.pathsep}{env.get('PATH', '')}",
        "SPEC_KITTY_ENABLE_SAAS_SYNC": "1", "NO_COLOR": "1", "COLUMNS": "120",
        # httpx reads SSL_CERT_FILE; requests reads REQUESTS_CA_BUNDLE (set machine-wide here).
        "SSL_CERT_FILE": str(cert), "REQUESTS_CA_BUNDLE": str(cert),
        "CURL_CA_BUNDLE": str(cert),
    })
    return env


VALIDATE = """
import json, sys
from specify_cli.sync.emitter import EventEmitter
emitter = EventEmitter()
verdicts = [emitter._validate_event(dict(event)) for event in json.load(sys.stdin)]
print(json.dumps(verdicts))
"""
"""Runs the stock client's own event validation (`EventEmitter._validate_event`: the
`spec_kitty_events` model plus `_PAYLOAD_RULES`) on a JSON list of events from stdin."""


def stock_verdicts(bin_dir: Path, home: Path, cert: Path, events: list[dict]
                   ) -> tuple[list[bool], str]:
    """The stock client's verdict on each event, and what it printed about the invalid ones."""
    result = subprocess.run([str(bin_dir / "python"), "-c", VALIDATE],
                            input=json.dumps(events), capture_output=True, text=True,
                            env=stock_env(bin_dir, home, cert), timeout=120, check=True)
    return json.loads(result.stdout.splitlines()[-1]), result.stderr
