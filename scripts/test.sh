#!/usr/bin/env bash
# Run every test, the slow integration tests included (real embedded model, sandbox, LaTeX, the
# browser tests on Debian's chromium).
# Extra arguments go to pytest, e.g.  scripts/test.sh -m 'not slow'
set -euo pipefail
cd "$(dirname "$0")/.."
SCIENTIST_TEST_SETUP=1 bash scripts/setup.sh
export PATH="$HOME/.local/bin:$PATH"
exec uv run --frozen --no-sync pytest "$@"
