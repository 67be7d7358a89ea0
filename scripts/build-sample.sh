#!/usr/bin/env bash
# Builds the samples' programs (classification, results_table) inside nncf-cpp's build
# (scripts/build.sh) into build/samples/bin. The samples are also their own CMake project, which
# finds an installed package (samples/CMakeLists.txt says how).
# Usage: scripts/build-sample.sh [ninja targets...]   (default: the programs)
set -euo pipefail
cd "$(dirname "$0")/.."
if [ $# -eq 0 ]; then set -- classification results_table; fi
./scripts/build.sh "$@"
