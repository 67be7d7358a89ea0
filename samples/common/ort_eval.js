#!/usr/bin/env node
// Runs a model on a set of inputs with ONNX Runtime (npm's onnxruntime-node): the samples' check
// that an ONNX export keeps the metric the sample measured in LibTorch (common/training.h).
//
//   node ort_eval.js model.onnx inputs.bin N,D1,...,Dk batch outputs.bin
//
// inputs.bin holds N*D1*...*Dk little-endian float32 values; outputs.bin receives the model's first
// output for all N inputs as float32, run `batch` inputs at a time, and outputs.bin.shape its
// shape without the batch dimension (comma-separated). onnxruntime-node is loaded from
// $NNCF_ORT_DIR/node_modules (the samples pass the folder scripts/install-deps.sh installs it
// into). One intra-op thread. On any error: the message on stderr, exit code 1.
'use strict';
const fs = require('fs');
const path = require('path');

function fail(message) {
  process.stderr.write(`ort_eval: ${message}\n`);
  process.exit(1);
}

async function main(argv) {
  if (argv.length !== 5) fail('usage: ort_eval.js model.onnx inputs.bin N,D1,...,Dk batch outputs.bin');
  const [model, inputs, shapeText, batchText, out] = argv;
  const dims = shapeText.split(',').map(Number);
  const batch = Number(batchText);
  if (dims.length < 2 || dims.some((d) => !(d > 0)) || !(batch > 0)) fail(`bad shape ${shapeText} or batch ${batchText}`);
  const dir = process.env.NNCF_ORT_DIR;
  if (!dir) fail('NNCF_ORT_DIR is not set');
  const pkg = path.join(dir, 'node_modules', 'onnxruntime-node');
  if (!fs.existsSync(pkg)) fail(`onnxruntime-node not found at ${pkg}; run scripts/install-deps.sh`);
  const ort = require(pkg);
  const bytes = fs.readFileSync(inputs);
  const n = dims[0];
  const per = dims.slice(1).reduce((a, b) => a * b, 1);
  if (bytes.length !== n * per * 4) fail(`${inputs}: expected ${n * per * 4} bytes, got ${bytes.length}`);
  const all = new Float32Array(n * per);
  new Uint8Array(all.buffer).set(bytes);
  const session = await ort.InferenceSession.create(model, {graphOptimizationLevel: 'all', intraOpNumThreads: 1});
  const input = session.inputNames[0], output = session.outputNames[0];
  const fd = fs.openSync(out, 'w');
  let outShape = null;
  for (let start = 0; start < n; start += batch) {
    const b = Math.min(batch, n - start);
    const x = new ort.Tensor('float32', all.subarray(start * per, (start + b) * per), [b, ...dims.slice(1)]);
    const y = (await session.run({[input]: x}))[output];
    if (y.type !== 'float32') fail(`output ${output} is ${y.type}, expected float32`);
    if (y.dims[0] !== b) fail(`output ${output} has ${y.dims[0]} rows for a batch of ${b}`);
    const shape = y.dims.slice(1).join(',');
    if (outShape !== null && shape !== outShape) fail(`output ${output} changes shape: ${outShape} then ${shape}`);
    outShape = shape;
    fs.writeSync(fd, Buffer.from(y.data.buffer, y.data.byteOffset, y.data.byteLength));
  }
  fs.closeSync(fd);
  fs.writeFileSync(`${out}.shape`, outShape === null ? '' : outShape);
}

main(process.argv.slice(2)).catch((e) => fail(e && e.message ? e.message : String(e)));
