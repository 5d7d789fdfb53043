#!/usr/bin/env bash
# Runs every test: unit and fixture tests, storage tests on moto, end-to-end tests through
# cargo lambda watch, and the template checks (cfn-lint, translated cfn-lint, checkov, IAM).
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"
# A cold build and the tests' functions take about 13 GB of target/; a full disk shows up much
# later as functions that never start, so say early how much room there is.
free_kb="$(df -Pk . | awk 'NR==2 {print $4}')"
echo "== disk: $((free_kb / 1024 / 1024)) GiB free for $(pwd)"
if [ "$free_kb" -lt $((16 * 1024 * 1024)) ]; then
  echo "warning: under 16 GiB free; the build or the end-to-end tests may run out of space" >&2
fi
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
