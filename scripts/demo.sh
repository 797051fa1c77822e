#!/usr/bin/env bash
# Set up scientist and run the demo research run on the embedded model, offline-capable.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
export PATH="$HOME/.local/bin:$PATH"
uv run --frozen --no-sync scientist doctor --check-model
uv run --frozen --no-sync scientist run templates/digits_mlp \
  --idea "Does label smoothing help a tiny MLP on the digits dataset?" --auto "$@"
