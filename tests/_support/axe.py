"""axe-core, the accessibility engine the site tests inject into Chromium.

It is an npm package, never assumed present: the first use fetches the pinned tarball with
`npm pack` into `.cache/axe-core/`, checks it against the pinned sha512 and unpacks only
`axe.min.js`; later runs (and the other xdist worker, behind a lock) reuse that file.
"""

from __future__ import annotations

import base64
import fcntl
import hashlib
import shutil
import subprocess
import tarfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
VERSION = "4.14.1"
INTEGRITY = ("sha512-FHfa+lmNjQZfJz1q8wKqIDwC6DExcHt/pkjNQb09a3NPjCKg2rhu5qb2S4r76ASyFNNtuFooJpZe"
             "37OgudVGtQ==")
"""The registry's `dist.integrity` of axe-core@VERSION (`npm view axe-core@VERSION dist`)."""
CACHE = ROOT / ".cache" / "axe-core"

WCAG_TAGS = ("wcag2a", "wcag2aa", "wcag21a", "wcag21aa")
"""The rule sets the site must pass: WCAG 2.0 and 2.1, levels A and AA."""


class AxeUnavailable(RuntimeError):
    """axe-core could not be fetched (no npm, or the registry refused it)."""


def axe_script(cache: Path = CACHE) -> str:
    """Return the source of axe.min.js at the pinned version, fetching it on first use.

    Args:
        cache: Folder that keeps the verified script between runs.

    Returns:
        The JavaScript source, to evaluate in a page (it defines `window.axe`).

    Raises:
        AxeUnavailable: npm is missing, or the download failed or did not match INTEGRITY.
    """
    script = cache / f"axe-{VERSION}.min.js"
    cache.mkdir(parents=True, exist_ok=True)
    with open(cache / "lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not script.is_file():
            _fetch(cache, script)
    return script.read_text(encoding="utf-8")


def _fetch(cache: Path, script: Path) -> None:
    npm = shutil.which("npm")
    if npm is None:
        raise AxeUnavailable("npm is not installed (./scripts/test installs it); it fetches "
                             f"axe-core@{VERSION} for the accessibility tests")
    proc = subprocess.run([npm, "pack", f"axe-core@{VERSION}", "--pack-destination", str(cache),
                           "--silent"], cwd=cache, capture_output=True, text=True, timeout=300)
    tarball = cache / f"axe-core-{VERSION}.tgz"
    if proc.returncode != 0 or not tarball.is_file():
        raise AxeUnavailable(f"npm pack axe-core@{VERSION} failed: {proc.stderr.strip()[-500:]}")
    algorithm, _, expected = INTEGRITY.partition("-")
    digest = base64.b64encode(hashlib.new(algorithm, tarball.read_bytes()).digest()).decode()
    if digest != expected:
        tarball.unlink()
        raise AxeUnavailable(f"axe-core-{VERSION}.tgz does not match its pinned {algorithm}")
    with tarfile.open(tarball) as archive:
        member = archive.extractfile("package/axe.min.js")
        if member is None:
            raise AxeUnavailable(f"axe-core-{VERSION}.tgz has no package/axe.min.js")
        partial = script.with_suffix(".partial")
        partial.write_bytes(member.read())
    partial.replace(script)  # atomic: a cut-off run never leaves half a script behind
    tarball.unlink()
