# Sourced by the scripts in this folder: cd to the repo and make .venv match uv.lock.
# Fast path: a stamp of the lock and pyproject hashes; nothing runs when they are unchanged.
# Dependencies are compiled to bytecode once, here: uv does not do it by default, and with
# PYTHONDONTWRITEBYTECODE set (as on our machines) every CLI, server and test process then
# recompiled httpx, rich, starlette and the rest from source (about 30% of the suite's CPU).
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
export NO_MKDOCS_2_WARNING=1   # Material 9.8 prints an end-of-life banner on stderr otherwise.
UV_VERSION=0.13.8               # keep equal to the `tools` group in pyproject.toml

bootstrap() {
  local want stamp=.venv/.spec-kitty-lock-stamp
  want="$( (cat uv.lock pyproject.toml; echo compile-bytecode) | sha256sum | cut -c1-32)"
  if [ -x .venv/bin/python ] && [ -x .venv/bin/spec-kitty ] && [ "$(cat "$stamp" 2>/dev/null)" = "$want" ]; then
    return 0
  fi
  local py
  py="$(command -v python3.11 || command -v python3)"
  if ! "$py" -c 'import sys; sys.exit(sys.version_info[:2] != (3, 11))'; then
    echo "error: Python 3.11 is required (found $("$py" --version 2>&1) at $py)" >&2
    exit 2
  fi
  if [ ! -x .venv/bin/uv ]; then
    echo "bootstrap: creating .venv with uv $UV_VERSION" >&2
    "$py" -m venv .venv
    .venv/bin/python -m pip install --quiet --disable-pip-version-check "uv==$UV_VERSION"
  fi
  echo "bootstrap: syncing .venv from uv.lock" >&2
  UV_PROJECT_ENVIRONMENT="$ROOT/.venv" .venv/bin/uv sync --frozen --all-extras --quiet --compile-bytecode
  echo "$want" > "$stamp"
}
bootstrap
export PATH="$ROOT/.venv/bin:$PATH"
