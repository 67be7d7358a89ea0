#!/usr/bin/env bash
# Checks TorchScript capture on torchvision models beyond the test suite's: for each model, its
# traced and its scripted file (written by tests/support/make_torchscript.py with Debian's
# python3-torch and torchvision, random weights) are captured, and the captured model must compute
# what the file computes -- outputs, parameter gradients and BatchNorm buffer updates after one step,
# in train and in eval mode, at a batch size no trace used (relative difference <= 1e-6; the test
# TorchScriptModelTest.CaptureIsEquivalent of tests/capture/torchscript_test.cpp, its DISABLED_ByHand
# instantiation).
#
# Usage: scripts/check-torchvision-capture.sh [MODEL...]
#   MODEL: swin_t convnext_tiny inception_v3 regnet_x_400mf resnext50_32x4d mnasnet0_5 alexnet vgg11_bn
#          (the default: all of them)
# Needs build/tests/nncf_tests (scripts/build.sh nncf_tests). The files go to $NNCF_TEST_MODELS_DIR
# (default build/tests/torchscript_models; existing files are kept). Prints one line per file, and
# exits non-zero when any fails.
set -euo pipefail
cd "$(dirname "$0")/.."
models=("$@")
if [ ${#models[@]} -eq 0 ]; then
  models=(swin_t convnext_tiny inception_v3 regnet_x_400mf resnext50_32x4d mnasnet0_5 alexnet vgg11_bn)
fi
bin=build/tests/nncf_tests
if [ ! -x "$bin" ]; then
  echo "check-torchvision-capture: $bin is missing; run scripts/build.sh nncf_tests" >&2
  exit 2
fi
export NNCF_TEST_MODELS_DIR=${NNCF_TEST_MODELS_DIR:-$PWD/build/tests/torchscript_models}
export OMP_NUM_THREADS=${OMP_NUM_THREADS:-1}
if ! made=$(/usr/bin/python3 tests/support/make_torchscript.py "$NNCF_TEST_MODELS_DIR" "${models[@]}" 2>&1); then
  echo "$made" | grep -v -i warn >&2
  exit 2
fi
echo "$made" | grep '^wrote' || true

log=$(mktemp)
trap 'rm -f "$log"' EXIT
failed=0
for m in "${models[@]}"; do
  for form in traced scripted; do
    test="DISABLED_ByHand/TorchScriptModelTest.CaptureIsEquivalent/${m}_${form}"
    start=$SECONDS
    rc=0
    "$bin" --gtest_also_run_disabled_tests --gtest_filter="$test" >"$log" 2>&1 || rc=$?
    if [ "$rc" -eq 0 ] && grep -q "^\[  PASSED  \] 1 test" "$log"; then
      status=PASS
    else
      status=FAIL
      failed=1
    fi
    # The largest relative differences, per mode, as the test prints them.
    diffs=$(grep -o '\[\(train\|eval\)\]: rel diff output [^;]*' "$log" | sed 's/: rel diff / /' | paste -sd ';' - | sed 's/;/; /g' || true)
    printf '%s %s_%s (%d s): %s\n' "$status" "$m" "$form" $((SECONDS - start)) "${diffs:-no step compared}"
    if [ "$status" = FAIL ]; then
      echo "    exit status $rc; the test's last lines:"
      grep -v '^\[ RUN\|^$' "$log" | tail -n 12 | cut -c1-300 | sed 's/^/    /'
    fi
  done
done
exit "$failed"
