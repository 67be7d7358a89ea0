#!/usr/bin/env bash
# Builds nncf-cpp (scripts/build.sh), installs it into build/prefix, and builds the classification
# sample -- its own CMake project, which finds the installed package -- into build/sample.
set -euo pipefail
cd "$(dirname "$0")/.."
# The library and its installed tool; not the tests or benchmarks.
./scripts/build.sh nncf_capture_cli
cmake --install build --prefix "$PWD/build/prefix" >/dev/null
launcher=()
if command -v ccache >/dev/null; then
  launcher=(-DCMAKE_CXX_COMPILER_LAUNCHER=ccache)
  export CCACHE_SLOPPINESS=pch_defines,time_macros,include_file_mtime,include_file_ctime
fi
cmake -S samples/classification -B build/sample -G Ninja -DCMAKE_BUILD_TYPE=Release \
  -DCMAKE_PREFIX_PATH="$PWD/build/prefix" "${launcher[@]}" >/dev/null
jobs=$(( $(nproc) < 2 ? 1 : $(nproc) ))
mem_gb=$(awk '/MemAvailable/ {print int($2 / 1048576)}' /proc/meminfo)
(( jobs > mem_gb )) && jobs=$(( mem_gb > 0 ? mem_gb : 1 ))
ninja -C build/sample -j "$jobs" "$@"
