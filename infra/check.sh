#!/usr/bin/env bash
# Static checks of infra/template.yaml; prints one line per step, exits non-zero if any step fails.
#   1. cfn-lint on the SAM source
#   2. offline SAM -> CloudFormation translation (infra/translate.py)
#   3. cfn-lint on the translation (cfn-lint >= 1.54 no longer expands SAM itself, so typos inside
#      SAM functions -- a bad !Ref in an env var, a wrong batch size -- are only caught here)
#   4. checkov on the SAM source and 5. on the translation (skips, with reasons, live in the template)
#   6. infra/test_template.py: least-privilege snapshot and queue/bucket contracts
#   7. infra/test_local_provision.py: local_provision.py against moto (notifications, DLQ, table)
# Usage: infra/check.sh   (from any directory; needs the repo's .venv)
#        OMNILAKE_TEMPLATE=/tmp/copy.yaml infra/check.sh   (check a modified copy)
set -euo pipefail

repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
venv="$repo/.venv/bin"
template="${OMNILAKE_TEMPLATE:-$repo/infra/template.yaml}"  # override: check a modified copy
export OMNILAKE_TEMPLATE="$template"
translated="$repo/target/infra/template.translated.json"
logdir="$repo/target/infra/check"
mkdir -p "$logdir"
cd "$repo"

# checkov phones home for its policy mapping unless told not to; this machine is offline.
export BC_SKIP_MAPPING=TRUE
export AWS_DEFAULT_REGION="${AWS_DEFAULT_REGION:-us-east-1}"

for tool in cfn-lint checkov python; do
  [[ -x "$venv/$tool" ]] || { echo "check.sh: $venv/$tool missing (pip install -r scripts/requirements-dev.txt)" >&2; exit 2; }
done

failures=0

# step NAME SUMMARY_FN COMMAND... : runs COMMAND with output to a log, prints one line, keeps going.
step() {
  local name="$1" summarize="$2"; shift 2
  local log="$logdir/${name//[^A-Za-z0-9_.-]/_}.log" rc=0 start=$SECONDS
  "$@" >"$log" 2>&1 || rc=$?
  local detail
  if ! detail="$($summarize "$log")"; then [[ $rc -ne 0 ]] || rc=1; fi
  if [[ $rc -eq 0 ]]; then
    printf 'PASS  %-22s %s (%ss)\n' "$name" "$detail" "$((SECONDS - start))"
  else
    printf 'FAIL  %-22s %s (%ss, log: %s)\n' "$name" "$detail" "$((SECONDS - start))" "${log#"$repo"/}"
    sed 's/^/      | /' "$log" | tail -n 40
    failures=$((failures + 1))
  fi
}

# Summaries print a short result; a non-zero return marks the step failed even if the tool said 0.
sum_cfnlint() { local n; n=$(grep -cE '^[EWI][0-9]{4} ' "$1" || true); echo "$n findings"; [[ $n -eq 0 ]]; }
sum_translate() { tail -n 1 "$1"; }
sum_checkov() {
  # checkov exits 0 without scanning when it cannot parse a file: insist on a result line.
  local line; line=$(grep -E 'Passed checks: [0-9]+, Failed checks: [0-9]+' "$1" | tail -n 1 || true)
  [[ -n $line ]] || { echo "no scan result (parse error?)"; return 1; }
  echo "$line"
  [[ $line =~ Passed\ checks:\ [1-9][0-9]*,\ Failed\ checks:\ 0, ]]
}
sum_unittest() { grep -E '^Ran [0-9]+ tests' "$1" | tr -d '\n'; echo -n ": "; tail -n 1 "$1"; grep -qE '^OK' "$1"; }

step cfn-lint:sam         sum_cfnlint   "$venv/cfn-lint" "$template"
rm -f "$translated"  # never lint a stale translation
step translate            sum_translate "$venv/python" infra/translate.py --template "$template" --out "$translated"
if [[ -s $translated ]]; then
  step cfn-lint:translated  sum_cfnlint   "$venv/cfn-lint" "$translated"
  step checkov:translated   sum_checkov   "$venv/checkov" -f "$translated" --framework cloudformation --quiet --compact
fi
step checkov:sam          sum_checkov   "$venv/checkov" -f "$template" --framework cloudformation --quiet --compact
step test_template        sum_unittest  "$venv/python" infra/test_template.py
# the template provisioned on an in-process moto server (ports chosen by the OS, nothing left running)
step test_local_provision sum_unittest  "$venv/python" infra/test_local_provision.py

if [[ $failures -gt 0 ]]; then
  echo "infra/check.sh: $failures step(s) failed"
  exit 1
fi
echo "infra/check.sh: all steps passed"
