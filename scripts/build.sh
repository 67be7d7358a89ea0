#!/usr/bin/env bash
# Configures and builds nncf-cpp into build/ (Release, Ninja, ccache when present).
# Usage: scripts/build.sh [ninja targets...]   (default: everything)
set -euo pipefail
cd "$(dirname "$0")/.."
launcher=()
if command -v ccache >/dev/null; then
  launcher=(-DCMAKE_CXX_COMPILER_LAUNCHER=ccache)
  # The precompiled header is compatible with ccache only with these sloppiness settings.
  export CCACHE_SLOPPINESS=pch_defines,time_macros,include_file_mtime,include_file_ctime
fi
cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=Release "${launcher[@]}" >/dev/null
# Each LibTorch translation unit needs about 1 GB of memory to compile; two jobs fit any machine
# with 4 GB, more jobs are used when there is memory and cores for them.
jobs=$(( $(nproc) < 2 ? 1 : $(nproc) ))
mem_gb=$(awk '/MemAvailable/ {print int($2 / 1048576)}' /proc/meminfo)
(( jobs > mem_gb )) && jobs=$(( mem_gb > 0 ? mem_gb : 1 ))
ninja -C build -j "$jobs" "$@"
