#!/usr/bin/env bash
# The whole test suite, with all set-up, on a fresh machine: installs mlplab and its test
# dependencies, then runs pytest, with and without the accelerators. Fails when pytest fails or
# when it ran no test (exit 5).
set -euo pipefail
cd "$(dirname "$0")/.."
python3 -m pip install --quiet --disable-pip-version-check -e ".[test]"
# PyTorch's CPU build, so that the tests of mlplab on PyTorch tensors (the GPU's code path, run
# on the CPU) and of the export run: `torch==2.13.0` is the CPU wheel this project's machines
# keep on disk (pip's find-links); elsewhere pip takes PyPI's build, with CUDA libraries (add
# --index-url https://download.pytorch.org/whl/cpu for the CPU one). Kept if torch is installed.
python3 -c "import torch" 2>/dev/null ||
    python3 -m pip install --quiet --disable-pip-version-check "torch==2.13.0"
# The playground's browser tests drive Debian's chromium (never a browser Playwright downloads).
if [ ! -x /usr/bin/chromium ] && ! command -v chromium >/dev/null 2>&1; then
    SUDO=""; [ "$(id -u)" -ne 0 ] && command -v sudo >/dev/null 2>&1 && SUDO="sudo"
    $SUDO apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq chromium
fi
# Twice: with the accelerators (what users run), then the core alone (MLPLAB_ACCEL=off), which
# must pass every test too; the accelerators' own tests skip there.
python3 -m pytest -n 2 --dist loadgroup "$@"
MLPLAB_ACCEL=off python3 -m pytest -n 2 --dist loadgroup -q "$@"
