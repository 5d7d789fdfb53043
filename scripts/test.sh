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
# The points oracle (about 12 minutes) mostly waits on its moto server, which works on one core,
# so it runs beside the other tests (it has its own server and table) and the suite takes the
# oracle's time instead of the sum.
oracle_test=members_and_balances_equal_an_independent_oracle
oracle_bin="$(cargo test --workspace --all-targets --no-run --message-format=json \
  | python -c 'import json, sys
for line in sys.stdin:
    m = json.loads(line)
    if m.get("reason") == "compiler-artifact" and m["target"]["name"] == "points_oracle" and m.get("executable"):
        print(m["executable"])')"
[ -x "$oracle_bin" ] || { echo "points_oracle test binary not found" >&2; exit 1; }
oracle_log="$root/target/points-oracle.log"
(cd tests && exec "$oracle_bin" --exact "$oracle_test") > "$oracle_log" 2>&1 &
oracle_pid=$!
trap 'kill "$oracle_pid" 2>/dev/null || true' EXIT
# The benches run apart: criterion's command line has no `--skip`.
others=0
cargo test --workspace --lib --bins --tests --examples -- --skip "$oracle_test" || others=$?
cargo test --workspace --benches || others=$?
oracle=0
wait "$oracle_pid" || oracle=$?
trap - EXIT
echo "== points oracle (ran beside the tests above; exit $oracle)"
cat "$oracle_log"
if [ "$others" -ne 0 ] || [ "$oracle" -ne 0 ]; then
  echo "tests failed: cargo test exit $others, points oracle exit $oracle" >&2
  exit 1
fi
