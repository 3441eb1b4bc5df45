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

# WITH_BROWSER=1 (make test): headless Chromium for the browser tests (tests/support/browser.py).
# Debian's build, which Playwright launches by path: `playwright install` downloads a browser of its
# own, which cannot be fetched here. The Noto CJK fonts make Chinese text render as text, not boxes.
if [ "${WITH_BROWSER:-0}" = "1" ]; then
  have_browser() {
    { command -v chromium >/dev/null 2>&1 || [ -x /usr/bin/chromium ]; } &&
      { [ -f /usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc ] ||
        fc-list 2>/dev/null | grep -qi "Noto Sans CJK"; }
  }
  if ! have_browser; then
    apt=(env DEBIAN_FRONTEND=noninteractive apt-get)
    if [ "$(id -u)" != 0 ]; then
      if ! command -v sudo >/dev/null 2>&1; then
        echo "bootstrap: chromium and fonts-noto-cjk are missing; install them as root (apt-get)" >&2; exit 1
      fi
      apt=(sudo "${apt[@]}")
    fi
    echo "bootstrap: apt-get install chromium fonts-noto-cjk" >&2
    apt_quiet() {  # prints apt-get's output only when it fails
      local log; log=$(mktemp)
      if "${apt[@]}" "$@" >"$log" 2>&1; then rm -f "$log"; else cat "$log" >&2; rm -f "$log"; return 1; fi
    }
    apt_quiet install -y chromium fonts-noto-cjk ||
      { apt_quiet update && apt_quiet install -y chromium fonts-noto-cjk; }
    have_browser || { echo "bootstrap: chromium or the Noto CJK fonts are still missing" >&2; exit 1; }
  fi
fi

want=$(stamp_of package.json package-lock.json)
if [ "$(cat node_modules/.stamp 2>/dev/null)" != "$want" ]; then
  if [ -f package-lock.json ]; then npm ci --no-audit --no-fund --loglevel=error; else npm install --no-audit --no-fund --loglevel=error; fi
  echo "$want" > node_modules/.stamp
fi
