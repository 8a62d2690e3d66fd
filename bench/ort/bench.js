// bench.js - ONNX Runtime (CPU, one thread) latency per single inference, the reference the
// tinymlaas benchmarks compare against in the same run.
//   node bench.js MODEL.onnx [INPUT.npy] [--iters N]
// Prints one line of JSON: {"model":..., "median_ms":..., "min_ms":..., "iters":...}.
// Without an input file the model's first input gets zeros of its declared shape (dynamic
// dims = 1).
'use strict';
const fs = require('fs');
const ort = require('onnxruntime-node');

function readNpy(path) {
  const buf = fs.readFileSync(path);
  const major = buf[6];
  const hlen = major === 1 ? buf.readUInt16LE(8) : buf.readUInt32LE(8);
  const off = major === 1 ? 10 : 12;
  const header = buf.toString('latin1', off, off + hlen);
  const descr = /'descr':\s*'([^']+)'/.exec(header)[1];
  const shape = /'shape':\s*\(([^)]*)\)/.exec(header)[1].split(',').map(s => s.trim()).filter(s => s).map(Number);
  const data = buf.subarray(off + hlen);
  const types = { '<f4': ['float32', Float32Array], '|i1': ['int8', Int8Array], '|u1': ['uint8', Uint8Array], '<i8': ['int64', BigInt64Array], '<i4': ['int32', Int32Array] };
  const [type, Arr] = types[descr];
  const ab = data.buffer.slice(data.byteOffset, data.byteOffset + data.byteLength);
  return new ort.Tensor(type, new Arr(ab), shape);
}

async function main() {
  const args = process.argv.slice(2);
  let iters = 2000;
  const pos = [];
  for (let i = 0; i < args.length; i++) {
    if (args[i] === '--iters') iters = Number(args[++i]);
    else pos.push(args[i]);
  }
  const [model, input] = pos;
  const sess = await ort.InferenceSession.create(model, { intraOpNumThreads: 1, interOpNumThreads: 1, executionMode: 'sequential' });
  const feeds = {};
  if (input) {
    feeds[sess.inputNames[0]] = readNpy(input);
  } else {
    const meta = sess.inputMetadata ? sess.inputMetadata[0] : null;
    const shape = meta && meta.shape ? meta.shape.map(d => (typeof d === 'number' && d > 0 ? d : 1)) : [1];
    const n = shape.reduce((a, b) => a * b, 1);
    feeds[sess.inputNames[0]] = new ort.Tensor('float32', new Float32Array(n), shape);
  }
  for (let i = 0; i < Math.min(200, iters); i++) await sess.run(feeds);
  const t = [];
  for (let i = 0; i < iters; i++) {
    const t0 = process.hrtime.bigint();
    await sess.run(feeds);
    t.push(Number(process.hrtime.bigint() - t0) / 1e6);
  }
  t.sort((a, b) => a - b);
  console.log(JSON.stringify({ model, median_ms: t[Math.floor(t.length / 2)], min_ms: t[0], iters }));
}
main().catch(e => { console.error('ort bench: ' + e.message); process.exit(1); });
