#!/usr/bin/env bash
# The main job: set up a fresh Debian 12 machine, build nncf-cpp and its classification sample,
# then compress a real model on real data: a ResNet-18-style network is trained in FP32 on
# Fashion-MNIST (one epoch), quantized to INT8 (range initialization and BatchNorm adaptation on
# training images), fine-tuned with quantization-aware training, evaluated on the 10000 test
# images, exported to ONNX and the export's accuracy measured in ONNX Runtime.
# Everything lands in build/main-job/ (metrics, curves.png, checkpoints, model.onnx).
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/install-deps.sh
./scripts/build-sample.sh classification
export OMP_NUM_THREADS=1
rm -rf build/main-job
build/samples/bin/classification --config samples/classification/configs/resnet18_fmnist_int8.json \
  --log-dir build/main-job --fp32-epochs 1 --epochs 1 --batches-per-epoch 150 --threads 2
