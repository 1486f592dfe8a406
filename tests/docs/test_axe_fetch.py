"""tests/_support/axe.py without the registry: a stand-in `npm` on PATH hands out a tarball
made here, to check the pinned-hash check, the cache and the errors."""

from __future__ import annotations

import base64
import hashlib
import io
import os
import tarfile
from pathlib import Path

import pytest

from tests._support import axe

FAKE_NPM = """#!/bin/sh
# npm pack axe-core@V --pack-destination DIR --silent
echo "$*" >> "$FAKE_NPM_LOG"
cp "$FAKE_TGZ" "$4/axe-core-{version}.tgz"
"""


def tarball(path: Path, script: bytes) -> str:
    """Write an npm-style tarball holding package/axe.min.js; return its sha512 integrity."""
    with tarfile.open(path, "w:gz") as archive:
        info = tarfile.TarInfo("package/axe.min.js")
        info.size = len(script)
        archive.addfile(info, io.BytesIO(script))
    digest = hashlib.sha512(path.read_bytes()).digest()
    return "sha512-" + base64.b64encode(digest).decode()


@pytest.fixture
def fake_npm(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    npm = bin_dir / "npm"
    npm.write_text(FAKE_NPM.format(version=axe.VERSION), encoding="utf-8")
    npm.chmod(0o755)
    log = tmp_path / "npm.log"
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{os.environ['PATH']}")
    monkeypatch.setenv("FAKE_NPM_LOG", str(log))
    monkeypatch.setenv("FAKE_TGZ", str(tmp_path / "upstream.tgz"))
    return log


def test_fetches_once_then_reuses_the_verified_script(tmp_path, fake_npm, monkeypatch):
    integrity = tarball(tmp_path / "upstream.tgz", b"window.axe = {};")
    monkeypatch.setattr(axe, "INTEGRITY", integrity)
    cache = tmp_path / "cache"
    assert axe.axe_script(cache) == "window.axe = {};"
    assert axe.axe_script(cache) == "window.axe = {};"
    assert fake_npm.read_text().splitlines() == [
        f"pack axe-core@{axe.VERSION} --pack-destination {cache} --silent"]
    assert not list(cache.glob("*.tgz")), "the tarball is removed once unpacked"


def test_a_tarball_that_does_not_match_the_pinned_hash_is_refused(tmp_path, fake_npm):
    tarball(tmp_path / "upstream.tgz", b"window.axe = 'tampered';")
    cache = tmp_path / "cache"
    with pytest.raises(axe.AxeUnavailable, match="does not match its pinned sha512"):
        axe.axe_script(cache)
    assert not list(cache.glob("axe-*")), "nothing unverified is kept"


def test_without_npm_the_error_says_what_is_missing(tmp_path, monkeypatch):
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(axe.AxeUnavailable, match="npm is not installed"):
        axe.axe_script(tmp_path / "cache")
