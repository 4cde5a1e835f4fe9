#!/usr/bin/env bash
# The whole test suite, with all set-up, on a fresh machine: installs mlplab and its test
# dependencies, then runs pytest. Fails when pytest fails or when it ran no test (exit 5).
set -euo pipefail
cd "$(dirname "$0")/.."
python3 -m pip install --quiet --disable-pip-version-check -e ".[test]"
# The playground's browser tests drive Debian's chromium (never a browser Playwright downloads).
if [ ! -x /usr/bin/chromium ] && ! command -v chromium >/dev/null 2>&1; then
    SUDO=""; [ "$(id -u)" -ne 0 ] && command -v sudo >/dev/null 2>&1 && SUDO="sudo"
    $SUDO apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq chromium
fi
python3 -m pytest -n 2 "$@"
