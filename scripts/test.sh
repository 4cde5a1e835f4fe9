#!/usr/bin/env bash
# The whole test suite, with all set-up, on a fresh machine: installs mlplab and its test
# dependencies, then runs pytest. Fails when pytest fails or when it ran no test (exit 5).
set -euo pipefail
cd "$(dirname "$0")/.."
python3 -m pip install --quiet --disable-pip-version-check -e ".[test]"
python3 -m pytest -n 2 "$@"
