#!/usr/bin/env bash
# Run every test, the slow integration tests included (real embedded model, sandbox, LaTeX, the
# browser tests on Debian's chromium).
# Extra arguments go to pytest, e.g.  scripts/test.sh -m 'not slow'
set -euo pipefail
cd "$(dirname "$0")/.."
SCIENTIST_TEST_SETUP=1 bash scripts/setup.sh
export PATH="$HOME/.local/bin:$PATH"
# Two worker processes, each taking whole test files (module fixtures such as the Ray cluster stay in
# one process); most integration tests wait on subprocesses and LaTeX, so two cut the whole suite from
# about 29 to 24 minutes on 2 cores (docs/benchmarks.md).
# SCIENTIST_TEST_WORKERS=0 runs in one process.
exec uv run --frozen --no-sync pytest -n "${SCIENTIST_TEST_WORKERS:-2}" --dist loadfile "$@"
