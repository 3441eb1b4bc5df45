#!/usr/bin/env bash
# Creates .venv (Python 3.13 where available) and installs what `make run` / `make test` need.
# Idempotent: re-installs only when a requirements file or package.json changed.
set -euo pipefail
cd "$(dirname "$0")/.."

find_python() {
  local c
  for c in python3.13 \
           "${PYENV_ROOT:-$HOME/.pyenv}"/versions/3.13*/bin/python3.13 \
           /usr/local/bin/python3.13 /usr/bin/python3.13; do
    if command -v "$c" >/dev/null 2>&1 && "$c" -c 'import sys; assert sys.version_info[:2] == (3, 13)' 2>/dev/null; then
      command -v "$c"; return
    fi
  done
  echo "bootstrap: Python 3.13 not found, falling back to python3 ($(python3 --version))" >&2
  command -v python3
}

stamp_of() { cat "$@" 2>/dev/null | sha256sum | cut -c1-16; }

if [ ! -x .venv/bin/python ]; then
  "$(find_python)" -m venv .venv
fi
want=$(stamp_of requirements-dev.txt layers/paygate/requirements.txt)
if [ "$(cat .venv/.stamp 2>/dev/null)" != "$want" ]; then
  .venv/bin/python -m pip install --quiet --disable-pip-version-check --upgrade pip
  .venv/bin/python -m pip install --quiet --disable-pip-version-check -r requirements-dev.txt
  echo "$want" > .venv/.stamp
fi

if [ "${WITH_SAM:-0}" = "1" ]; then
  if [ ! -x .venv-sam/bin/python ]; then
    "$(find_python)" -m venv .venv-sam
  fi
  want=$(stamp_of requirements-sam.txt)
  if [ "$(cat .venv-sam/.stamp 2>/dev/null)" != "$want" ]; then
    .venv-sam/bin/python -m pip install --quiet --disable-pip-version-check -r requirements-sam.txt
    echo "$want" > .venv-sam/.stamp
  fi
fi

want=$(stamp_of package.json package-lock.json)
if [ "$(cat node_modules/.stamp 2>/dev/null)" != "$want" ]; then
  if [ -f package-lock.json ]; then npm ci --no-audit --no-fund --loglevel=error; else npm install --no-audit --no-fund --loglevel=error; fi
  echo "$want" > node_modules/.stamp
fi
