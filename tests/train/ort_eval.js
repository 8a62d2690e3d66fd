// ort_eval.js - loads a model written by `tmlaas train` in ONNX Runtime (CPU) and prints its
// accuracy on an IDX test set, so test_train_cli.sh can check that the written ONNX file is
// valid for another runtime and computes what our trainer says it computes.
//   node ort_eval.js ORT_MODULE_DIR MODEL.onnx IMAGES.gz LABELS.gz
// Prints: "ort accuracy XX.XX% (N samples)".
'use strict';
const fs = require('fs');
const zlib = require('zlib');
const ort = require(process.argv[2]);

function idx(path) {
  const b = zlib.gunzipSync(fs.readFileSync(path));
  const rank = b[3];
  const dims = [];
  for (let i = 0; i < rank; i++) dims.push(b.readUInt32BE(4 + 4 * i));
  return { dims, data: b.subarray(4 + 4 * rank) };
}

async function main() {
  const [, , , model, imPath, lbPath] = process.argv;
  const im = idx(imPath), lb = idx(lbPath);
  const sess = await ort.InferenceSession.create(model, { intraOpNumThreads: 1 });
  const n = im.dims[0], hw = im.dims[1] * im.dims[2];
  let ok = 0;
  for (let s = 0; s < n; s++) {
    const x = new Float32Array(hw);
    for (let i = 0; i < hw; i++) x[i] = im.data[s * hw + i] / 255;
    const out = await sess.run({ [sess.inputNames[0]]: new ort.Tensor('float32', x, [1, 1, 28, 28]) });
    const y = out[sess.outputNames[0]].data;
    let am = 0;
    for (let j = 1; j < y.length; j++) if (y[j] > y[am]) am = j;
    if (am === lb.data[s]) ok++;
  }
  console.log(`ort accuracy ${(100 * ok / n).toFixed(2)}% (${n} samples)`);
}
main().catch(e => { console.error(e.message); process.exit(1); });
