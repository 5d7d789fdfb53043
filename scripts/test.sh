#!/usr/bin/env bash
# Runs every test: unit and fixture tests, storage tests on moto, end-to-end tests through
# cargo lambda watch, and the template checks (cfn-lint, translated cfn-lint, checkov, IAM).
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"
bash scripts/bootstrap.sh
export PATH="$root/.venv/bin:$PATH"
echo "== build"
cargo build --workspace
cargo build --workspace --all-targets
echo "== template checks"
bash infra/check.sh
echo "== rollup oracle self-test (the oracle and its checker can fail)"
python tests/rollup_oracle/selftest.py
echo "== cargo tests"
cargo test --workspace --all-targets
