#!/usr/bin/env node
// Runs an ONNX model with ONNX Runtime (npm's onnxruntime-node), the tests' export oracle.
//
//   node ort_run.js model.onnx in_dir out_dir [--opt all|disabled]
//   node ort_run.js model.onnx --list
//
// Tensors are file pairs `<stem>.bin` (raw little-endian data) + `<stem>.json`
// ({"name": "x", "dims": [2, 3], "type": "float32"}; "name" defaults to <stem>). Outputs are written
// as `<k>.bin` + `<k>.json` with k the output's index in the model, so any ONNX name works.
// --list prints `input <name>` / `output <name>` lines in model order.
// On any error: the message on stderr, exit code 1.
//
// onnxruntime-node is loaded from $NNCF_ORT_DIR/node_modules, by default <repo>/third_party/ort
// (scripts/install-deps.sh puts it there).
'use strict';
const fs = require('fs');
const path = require('path');

const kArrays = {
  float32: Float32Array, float64: Float64Array, int8: Int8Array, uint8: Uint8Array,
  int32: Int32Array, int64: BigInt64Array, bool: Uint8Array,
};

function fail(message) {
  process.stderr.write(`ort_run: ${message}\n`);
  process.exit(1);
}

function loadOrt() {
  const dir = process.env.NNCF_ORT_DIR || path.join(__dirname, '..', '..', 'third_party', 'ort');
  const pkg = path.join(dir, 'node_modules', 'onnxruntime-node');
  if (!fs.existsSync(pkg)) fail(`onnxruntime-node not found at ${pkg}; run scripts/install-deps.sh`);
  return require(pkg);
}

function readTensor(ort, dir, stem) {
  const meta = JSON.parse(fs.readFileSync(path.join(dir, `${stem}.json`), 'utf8'));
  const Array = kArrays[meta.type];
  if (!Array) throw new Error(`${stem}.json: unsupported type ${meta.type}`);
  const bytes = fs.readFileSync(path.join(dir, `${stem}.bin`));
  // Copy into a fresh, aligned buffer: a Buffer's view may start at any byte offset.
  const buffer = new ArrayBuffer(bytes.length);
  new Uint8Array(buffer).set(bytes);
  const data = new Array(buffer);
  const count = meta.dims.reduce((a, b) => a * b, 1);
  if (data.length !== count) {
    throw new Error(`${stem}.bin: expected ${count} ${meta.type} elements, got ${data.length}`);
  }
  return [meta.name ?? stem, new ort.Tensor(meta.type, data, meta.dims)];
}

function writeTensor(dir, k, name, tensor) {
  const data = tensor.data;
  fs.writeFileSync(path.join(dir, `${k}.bin`), Buffer.from(data.buffer, data.byteOffset, data.byteLength));
  fs.writeFileSync(path.join(dir, `${k}.json`), JSON.stringify({name, dims: tensor.dims, type: tensor.type}));
}

async function main(argv) {
  const opt = argv.indexOf('--opt');
  const level = opt >= 0 ? argv.splice(opt, 2)[1] : 'all';
  if (!['all', 'disabled', 'basic', 'extended'].includes(level)) fail(`unknown --opt ${level}`);
  const list = argv.includes('--list');
  const [model, inDir, outDir] = argv.filter((a) => a !== '--list');
  if (!model || (!list && (!inDir || !outDir))) {
    fail('usage: ort_run.js model.onnx (in_dir out_dir [--opt all|disabled] | --list)');
  }
  const ort = loadOrt();
  const session = await ort.InferenceSession.create(model, {graphOptimizationLevel: level, intraOpNumThreads: 1});
  if (list) {
    for (const n of session.inputNames) console.log(`input ${n}`);
    for (const n of session.outputNames) console.log(`output ${n}`);
    return;
  }
  const feeds = {};
  for (const file of fs.readdirSync(inDir).filter((f) => f.endsWith('.json')).sort()) {
    const [name, tensor] = readTensor(ort, inDir, file.slice(0, -'.json'.length));
    feeds[name] = tensor;
  }
  const results = await session.run(feeds);
  fs.mkdirSync(outDir, {recursive: true});
  session.outputNames.forEach((name, k) => writeTensor(outDir, k, name, results[name]));
}

main(process.argv.slice(2)).catch((e) => fail(e && e.message ? e.message : String(e)));
