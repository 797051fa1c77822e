#!/usr/bin/env bash
# Set up scientist, then run the demo research run on the embedded model (no API key, no network needed
# after set-up). The demo profile keeps it under 15 minutes on 2 cores: one idea, one reflection, one
# experiment run with one candidate per round and up to two repairs, one reviewer. Extra arguments go
# to `scientist run`.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
export PATH="$HOME/.local/bin:$PATH"
export SCIENTIST_REFLECTIONS=${SCIENTIST_REFLECTIONS:-1} SCIENTIST_RUNS_PER_IDEA=${SCIENTIST_RUNS_PER_IDEA:-1} \
  SCIENTIST_MAX_REPAIRS=${SCIENTIST_MAX_REPAIRS:-2} SCIENTIST_REVIEWERS=${SCIENTIST_REVIEWERS:-1} \
  SCIENTIST_REVIEW_REFLECTIONS=${SCIENTIST_REVIEW_REFLECTIONS:-0} SCIENTIST_NOVELTY_ROUNDS=${SCIENTIST_NOVELTY_ROUNDS:-1} \
  SCIENTIST_REVIEW_BUDGET_TOKENS=${SCIENTIST_REVIEW_BUDGET_TOKENS:-1800} SCIENTIST_CANDIDATES=${SCIENTIST_CANDIDATES:-1}
uv run --frozen --no-sync scientist doctor --check-model
uv run --frozen --no-sync scientist run templates/digits_mlp \
  --idea "Does a wider hidden layer improve a tiny MLP on the digits dataset?" --num-ideas 1 --auto "$@"
