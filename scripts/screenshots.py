"""Take the dashboard screenshots of the docs: overview, board and activity.

Run `./scripts/screenshots` (or `.venv/bin/python -m scripts.screenshots`).
It creates a demo database in a temporary directory (`spec-kitty-server demo`), starts
`spec-kitty-server serve` on a free 127.0.0.1 port, logs in as the demo user with headless
Chromium (Debian's `/usr/bin/chromium`, driven by Playwright) and writes
docs/assets/screenshots/*.png.
Rerunning it replaces the images. Nothing is fetched from outside the machine.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "docs" / "assets" / "screenshots"
BIN = Path(sys.executable).parent
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--no-first-run"]
DEMO_USER = "demo"


def _demo_password() -> str:
    """The documented demo password, read from the server package (never typed here)."""
    import importlib

    sys.path.insert(0, str(ROOT / "src"))
    for module in ("spec_kitty_server.demo", "spec_kitty_server.cli"):
        value = getattr(importlib.import_module(module), "DEMO_PASSWORD", None)
        if value:
            return str(value)
    raise SystemExit("error: spec_kitty_server exposes no DEMO_PASSWORD")


def _env() -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT / "src"), env.get("PYTHONPATH", "")])
    env.pop("SPEC_KITTY_SERVER_SECRET", None)
    return env


def _start_server(db: Path) -> tuple[subprocess.Popen[str], str]:
    proc = subprocess.Popen(
        [str(BIN / "spec-kitty-server"), "serve", "--port", "0", "--db", str(db)],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=_env())
    assert proc.stdout is not None
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        line = proc.stdout.readline()
        if not line:
            break
        match = re.search(r"Serving on (http://127\.0\.0\.1:\d+)", line)
        if match:
            return proc, match.group(1)
    proc.kill()
    raise SystemExit("error: spec-kitty-server serve did not print its URL within 30 s")


def _chromium() -> str:
    path = shutil.which("chromium") or "/usr/bin/chromium"
    if not Path(path).exists():
        raise SystemExit("error: Chromium is missing; install it with `apt-get install chromium`")
    return path


def take(out: Path = OUT, width: int = 1280, height: int = 800) -> list[Path]:
    """Start a demo server, log in and capture the three dashboard views.

    Args:
        out: Directory for the PNG files.
        width: Viewport width in CSS pixels.
        height: Viewport height in CSS pixels.

    Returns:
        The files written.
    """
    from playwright.sync_api import sync_playwright

    out.mkdir(parents=True, exist_ok=True)
    written: list[Path] = []
    with tempfile.TemporaryDirectory(prefix="sk-screenshots-") as tmp:
        db = Path(tmp) / "demo.sqlite3"
        subprocess.run([str(BIN / "spec-kitty-server"), "demo", "--db", str(db)], check=True,
                       env=_env(), capture_output=True, text=True, timeout=120)
        proc, base = _start_server(db)
        try:
            with sync_playwright() as pw:
                browser = pw.chromium.launch(executable_path=_chromium(), headless=True,
                                             args=CHROMIUM_ARGS)
                page = browser.new_page(viewport={"width": width, "height": height},
                                        device_scale_factor=1)
                outside: list[str] = []
                page.on("request", lambda r: outside.append(r.url)
                        if not r.url.startswith(base) and not r.url.startswith("data:")
                        else None)
                page.goto(f"{base}/login/")
                page.fill("#username", DEMO_USER)
                page.fill("#password", _demo_password())
                page.click("button[type=submit]")
                page.wait_for_url(re.compile(r".*/a/[^/]+/dashboards/.*"), timeout=15000)
                team = re.search(r"/a/([^/]+)/dashboards/", page.url).group(1)
                views = {
                    "overview": f"{base}/a/{team}/dashboards/",
                    "board": f"{base}/a/{team}/dashboards/board/",
                    "activity": f"{base}/a/{team}/dashboards/activity/",
                }
                for name, url in views.items():
                    page.goto(url)
                    page.wait_for_load_state("networkidle")
                    target = out / f"{name}.png"
                    page.screenshot(path=str(target), full_page=False)
                    written.append(target)
                browser.close()
                if outside:
                    raise SystemExit(f"error: the dashboards requested other hosts: {outside}")
        finally:
            proc.terminate()
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
    return written


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=OUT, help="output directory")
    args = parser.parse_args()
    for path in take(args.out):
        print(f"wrote {path.relative_to(ROOT) if path.is_relative_to(ROOT) else path}")


if __name__ == "__main__":
    main()
