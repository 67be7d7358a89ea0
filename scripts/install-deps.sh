#!/usr/bin/env bash
# Installs every Debian package nncf-cpp needs to build, test and run its samples.
# Idempotent: packages already present are left alone. Run as root (or with sudo available).
set -euo pipefail

packages=(
  # toolchain
  build-essential cmake ninja-build ccache git pkg-config
  # LibTorch and what its CMake config / c10d headers need
  libtorch-dev libgloo-dev
  # ONNX protobuf classes for export
  libonnx-dev libprotobuf-dev protobuf-compiler
  # config parsing, tests, benchmarks
  nlohmann-json3-dev zlib1g-dev googletest libgtest-dev libgmock-dev
  # Debian's LibTorch otherwise runs on the reference BLAS (about 18x slower matmul)
  libopenblas0-pthread
  # the classification sample: image decoding, plots; real data for the main job
  libjpeg-dev libpng-dev gnuplot-nox
  dataset-fashion-mnist
  # test oracles: TorchScript models from torchvision, ONNX Runtime through Node.js
  python3 python3-torch python3-torchvision
)
# Node.js runs ONNX Runtime (npm's onnxruntime-node) in tests; a machine that already has node and
# npm from elsewhere keeps them (Debian's npm conflicts with a newer one).
command -v node >/dev/null || packages+=(nodejs)
command -v npm >/dev/null || packages+=(npm)

SUDO=""
if [ "$(id -u)" != 0 ]; then SUDO="sudo"; fi

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "install-deps: installing ${missing[*]}"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
else
  echo "install-deps: all Debian packages present"
fi

# ONNX Runtime for the export tests' oracle (tests/support/ort_run.js): npm's prebuilt
# onnxruntime-node, pinned, into third_party/ort/node_modules (git-ignored). --ignore-scripts: the
# package's install script would fetch CUDA EP binaries from NuGet; the CPU library is in the tarball.
ORT_VERSION=1.30.0
ort_dir="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)/third_party/ort"
ort_pkg="$ort_dir/node_modules/onnxruntime-node"
installed_ort="$(node -p "require('$ort_pkg/package.json').version" 2>/dev/null || true)"
if [ "$installed_ort" = "$ORT_VERSION" ]; then
  echo "install-deps: onnxruntime-node $ORT_VERSION present"
else
  echo "install-deps: installing onnxruntime-node $ORT_VERSION into $ort_dir"
  # `npm ci` installs exactly third_party/ort/package-lock.json and checks every tarball against its
  # sha512 there. A network whose TLS proxy uses a CA this machine does not have yet (a freshly
  # bootstrapped root behind such a proxy) gets one retry without TLS verification: what is
  # installed is still only what the committed hashes allow.
  npm_ci() { (cd "$ort_dir" && npm ci --ignore-scripts --no-audit --no-fund "$@" >/dev/null); }
  if ! npm_ci 2>"$ort_dir/npm.log"; then
    if grep -qiE 'SELF_SIGNED_CERT|UNABLE_TO_GET_ISSUER_CERT|CERT_' "$ort_dir/npm.log"; then
      echo "install-deps: npm: TLS certificate not trusted here; retrying with the lockfile's hashes as the check"
      npm_ci --strict-ssl=false
    else
      cat "$ort_dir/npm.log" >&2
      exit 1
    fi
  fi
  rm -f "$ort_dir/npm.log"
fi
if ! ls "$ort_pkg"/bin/napi-v*/linux/x64/libonnxruntime.so.* >/dev/null 2>&1; then
  echo "install-deps: error: onnxruntime-node $ORT_VERSION has no prebuilt" \
    "bin/napi-v*/linux/x64/libonnxruntime.so.* under $ort_pkg" >&2
  exit 1
fi
