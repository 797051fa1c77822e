#!/usr/bin/env bash
# Run every test, the slow integration tests included (real embedded model, sandbox, LaTeX).
# Extra arguments go to pytest, e.g.  scripts/test.sh -m 'not slow'
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
export PATH="$HOME/.local/bin:$PATH"
exec uv run --frozen --no-sync pytest "$@"
