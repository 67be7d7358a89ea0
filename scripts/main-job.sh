#!/usr/bin/env bash
# The main job: set up, build, then capture torchvision's ResNet-18 (a TorchScript file written by
# Debian's python3-torch) into the nncf-cpp IR, show what was captured, fine-tune the captured
# model on Fashion-MNIST side by side with the original -- the losses must agree step by step --
# then quantize it to INT8 (tools/configs/fmnist_int8.json), range-initialize and BN-adapt it on
# training batches, fine-tune it, and compare its test accuracy with the FP32 model's.
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/install-deps.sh
./scripts/build.sh nncf-capture
out=build/main-job
mkdir -p "$out"
/usr/bin/python3 - "$out/resnet18.pt" <<'PY'
import sys, torch, torchvision
torch.manual_seed(0)
m = torchvision.models.resnet18(weights=None, num_classes=10)
torch.jit.script(m).save(sys.argv[1])
PY
export OMP_NUM_THREADS=1
./build/nncf-capture "$out/resnet18.pt" --input 2,3,28,28 --ir "$out/resnet18.ir" --dot "$out/resnet18.dot" --summary
echo "IR written to $out/resnet18.ir (first lines below), DOT to $out/resnet18.dot"
head -n 8 "$out/resnet18.ir"
./build/nncf-capture "$out/resnet18.pt" --input 2,3,28,28 --summary \
  --train-steps 200 --compress tools/configs/fmnist_int8.json --compress-steps 200 \
  --fashion-mnist /usr/share/datasets/fashion-mnist
