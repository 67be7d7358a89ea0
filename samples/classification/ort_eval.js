#!/usr/bin/env node
// Classifies a set of images with ONNX Runtime (npm's onnxruntime-node): the classification
// sample's check that its ONNX export keeps the accuracy it measured.
//
//   node ort_eval.js model.onnx images.bin N,C,H,W batch predictions.bin
//
// images.bin holds N*C*H*W little-endian float32 values; predictions.bin receives N int32 argmax
// indices of the model's first output. onnxruntime-node is loaded from $NNCF_ORT_DIR/node_modules
// (the sample passes the folder scripts/install-deps.sh installs it into). One intra-op thread.
// On any error: the message on stderr, exit code 1.
'use strict';
const fs = require('fs');
const path = require('path');

function fail(message) {
  process.stderr.write(`ort_eval: ${message}\n`);
  process.exit(1);
}

async function main(argv) {
  if (argv.length !== 5) fail('usage: ort_eval.js model.onnx images.bin N,C,H,W batch predictions.bin');
  const [model, images, shapeText, batchText, out] = argv;
  const dims = shapeText.split(',').map(Number);
  const batch = Number(batchText);
  if (dims.length !== 4 || dims.some((d) => !(d > 0)) || !(batch > 0)) fail(`bad shape ${shapeText} or batch ${batchText}`);
  const dir = process.env.NNCF_ORT_DIR;
  if (!dir) fail('NNCF_ORT_DIR is not set');
  const pkg = path.join(dir, 'node_modules', 'onnxruntime-node');
  if (!fs.existsSync(pkg)) fail(`onnxruntime-node not found at ${pkg}; run scripts/install-deps.sh`);
  const ort = require(pkg);
  const bytes = fs.readFileSync(images);
  const [n, c, h, w] = dims;
  const per = c * h * w;
  if (bytes.length !== n * per * 4) fail(`${images}: expected ${n * per * 4} bytes, got ${bytes.length}`);
  const all = new Float32Array(n * per);
  new Uint8Array(all.buffer).set(bytes);
  const session = await ort.InferenceSession.create(model, {graphOptimizationLevel: 'all', intraOpNumThreads: 1});
  const input = session.inputNames[0], output = session.outputNames[0];
  const predictions = new Int32Array(n);
  for (let start = 0; start < n; start += batch) {
    const b = Math.min(batch, n - start);
    const x = new ort.Tensor('float32', all.subarray(start * per, (start + b) * per), [b, c, h, w]);
    const y = (await session.run({[input]: x}))[output];
    const k = y.dims[1];
    for (let i = 0; i < b; ++i) {
      let best = 0;
      for (let j = 1; j < k; ++j) if (y.data[i * k + j] > y.data[i * k + best]) best = j;
      predictions[start + i] = best;
    }
  }
  fs.writeFileSync(out, Buffer.from(predictions.buffer));
}

main(process.argv.slice(2)).catch((e) => fail(e && e.message ? e.message : String(e)));
