#!/usr/bin/env bash
# Sets up a fresh Debian 12 machine (packages), builds, and runs the whole test suite with CTest.
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/install-deps.sh
./scripts/build.sh
export OMP_NUM_THREADS=${OMP_NUM_THREADS:-1}
ctest --test-dir build --output-on-failure -j "$(nproc)" --timeout 900
