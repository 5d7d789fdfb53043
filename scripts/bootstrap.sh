#!/usr/bin/env bash
# Installs the project's Python tools (moto server, template checkers, BI readers,
# cargo-lambda) into .venv, pinned by scripts/requirements-dev.txt. Safe to re-run.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"
stamp=".venv/.requirements.sha256"
want="$(sha256sum scripts/requirements-dev.txt | cut -d' ' -f1)"
if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ] && [ -x .venv/bin/moto_server ]; then
  exit 0
fi
python3 -m venv .venv
.venv/bin/pip install --quiet --disable-pip-version-check --upgrade pip
.venv/bin/pip install --quiet --disable-pip-version-check -r scripts/requirements-dev.txt
echo "$want" > "$stamp"
echo "bootstrap: .venv ready ($(.venv/bin/python --version), moto $(.venv/bin/python -c 'import moto; print(moto.__version__)'))"
