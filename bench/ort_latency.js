#!/usr/bin/env node
// Latency of ONNX models in ONNX Runtime (npm's onnxruntime-node), one intra-op thread, for the
// `export` suite of nncf_bench.
//
//   node ort_latency.js ROUNDS WARMUP BATCH:SHAPE model_a.onnx model_b.onnx ...
//
// SHAPE is the input shape without the batch (`1,28,28`). Models run interleaved (a, b, a, b, ...)
// on the same random float input; each run's CPU time (user + system, process.cpuUsage) is a
// sample. Prints one JSON line: {"batch": B, "median_ms": [per model], "ratios": [model k / model 0,
// median over rounds]}.
'use strict';
const path = require('path');

async function main(argv) {
  const [rounds, warmup, spec, ...models] = argv;
  const [batch, shape] = spec.split(':');
  const dims = [Number(batch), ...shape.split(',').map(Number)];
  const dir = process.env.NNCF_ORT_DIR || path.join(__dirname, '..', 'third_party', 'ort');
  const ort = require(path.join(dir, 'node_modules', 'onnxruntime-node'));
  const sessions = [];
  for (const m of models) {
    sessions.push(await ort.InferenceSession.create(m, {graphOptimizationLevel: 'all', intraOpNumThreads: 1, logSeverityLevel: 3,
                                                        interOpNumThreads: 1, executionMode: 'sequential'}));
  }
  const count = dims.reduce((a, b) => a * b, 1);
  const data = new Float32Array(count);
  for (let i = 0; i < count; ++i) data[i] = Math.random() * 2 - 1;
  const samples = sessions.map(() => []);
  for (let r = 0; r < Number(warmup) + Number(rounds); ++r) {
    for (let k = 0; k < sessions.length; ++k) {
      const s = sessions[k];
      const feeds = {[s.inputNames[0]]: new ort.Tensor('float32', data, dims)};
      const before = process.cpuUsage();
      await s.run(feeds);
      const used = process.cpuUsage(before);
      if (r >= Number(warmup)) samples[k].push((used.user + used.system) / 1000);
    }
  }
  const median = (v) => {
    const s = [...v].sort((a, b) => a - b);
    return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
  };
  const ratios = samples.map((v) => median(v.map((x, i) => x / samples[0][i])));
  console.log(JSON.stringify({batch: Number(batch), median_ms: samples.map(median), ratios}));
}

main(process.argv.slice(2)).catch((e) => {
  process.stderr.write(`ort_latency: ${e.message}\n`);
  process.exit(1);
});
