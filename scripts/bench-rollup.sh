#!/usr/bin/env bash
# Benchmark `omnilake rollup` (local-disk mode) against DuckDB on one generated business day
# (5M order lines, cached under target/bench-data/rollup-5m/). See benches/README.md.
#   bash scripts/bench-rollup.sh [harness options, e.g. --runs 5 | --skip-omnilake | --regen]
# SKIP_BUILD=1 skips the release build (uses whatever target/release/omnilake is there).
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"
bash scripts/bootstrap.sh  # .venv with duckdb + pyarrow; a no-op when up to date
if [ "${SKIP_BUILD:-0}" != 1 ]; then
  echo "== cargo build --release -p omnilake-cli"
  cargo build --release -p omnilake-cli
fi
exec .venv/bin/python benches/rollup_vs_duckdb.py "$@"
