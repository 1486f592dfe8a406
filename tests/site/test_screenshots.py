"""The dashboard screenshot script runs end to end and writes the three views."""

from __future__ import annotations

import shutil
import struct
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.browser
@pytest.mark.slow
@pytest.mark.skipif(shutil.which("chromium") is None, reason="Debian's chromium is not installed")
def test_screenshot_script_writes_three_pngs(tmp_path: Path) -> None:
    result = subprocess.run([sys.executable, "-m", "scripts.screenshots", "--out",
                             str(tmp_path)], cwd=ROOT, capture_output=True, text=True,
                            timeout=240)
    assert result.returncode == 0, result.stdout + result.stderr
    for name in ("overview", "board", "activity"):
        png = (tmp_path / f"{name}.png").read_bytes()
        assert png[:8] == b"\x89PNG\r\n\x1a\n"
        width, height = struct.unpack(">II", png[16:24])
        assert (width, height) == (1280, 800)
        assert len(png) > 20_000, f"{name}.png looks empty"
