#!/usr/bin/env bash
# Set up everything scientist needs on a Debian/Ubuntu machine: Debian packages (when run as
# root; otherwise it prints the apt line), uv, and the locked Python environment in .venv.
# Idempotent: a second run only checks.
set -euo pipefail
cd "$(dirname "$0")/.."

APT_LISTS="scripts/apt-packages.txt"
# the test command also needs the browser tests' chromium
if [ "${SCIENTIST_TEST_SETUP:-0}" = 1 ]; then APT_LISTS="$APT_LISTS scripts/apt-packages-test.txt"; fi
APT_PACKAGES=$(cat $APT_LISTS | grep -v '^#' | tr '\n' ' ')
missing=()
for pkg in $APT_PACKAGES; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
done
if [ ${#missing[@]} -gt 0 ]; then
  if [ "$(id -u)" = 0 ]; then
    echo "setup: installing Debian packages: ${missing[*]}"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  else
    echo "setup: these Debian packages are missing; install them with:"
    echo "  sudo apt-get install -y --no-install-recommends ${missing[*]}"
  fi
fi

if ! command -v uv >/dev/null 2>&1; then
  echo "setup: installing uv"
  python3 -m pip install --quiet --user "uv==0.13.9" 2>/dev/null || python3 -m pip install --quiet "uv==0.13.9"
  export PATH="$HOME/.local/bin:$PATH"
fi

PYTHON=${SCIENTIST_PYTHON:-3.11}
echo "setup: syncing the locked environment (.venv, Python $PYTHON; the first time downloads the ~1.1 GB model)"
EXTRAS=""
# the tests also run a local Ray cluster (the optional 'ray' extra)
if [ "${SCIENTIST_TEST_SETUP:-0}" = 1 ]; then EXTRAS="--extra ray"; fi
uv sync --frozen --python "$PYTHON" --quiet $EXTRAS
