#!/bin/bash
# test_train_cli.sh - `tmlaas init` and `tmlaas train` end to end: a fresh LeNet trained briefly
# on Fashion-MNIST (2000 samples, one epoch), the same command twice gives the same bytes, the
# result compiles with `tmlaas compile`, and (when bench/ort/node_modules/onnxruntime-node is
# installed) ONNX Runtime loads it and reports the test accuracy our trainer printed. Bad input
# fails with a message naming the file. Skips cleanly without dataset-fashion-mnist.
set -u
TMLAAS=${TMLAAS:?} ; SRC=${TML_SOURCE:-$(dirname "$0")/../..}
FM=/usr/share/datasets/fashion-mnist
if [ ! -r $FM/t10k-images-idx3-ubyte.gz ]; then
    echo "skipped: dataset-fashion-mnist is not installed"; exit 0
fi
T=$(mktemp -d); trap 'rm -rf "$T"' EXIT
pass=0; failed=0
ok() { echo "ok: $1"; pass=$((pass+1)); }
bad() { echo "FAIL: $1"; failed=$((failed+1)); }

"$TMLAAS" init --arch lenet -o "$T/lenet.onnx" >/dev/null && ok "init lenet" || bad "init lenet"
"$TMLAAS" init --arch bogus -o "$T/x.onnx" 2>"$T/err"; [ $? -ne 0 ] && grep -q "unknown architecture 'bogus'" "$T/err" \
    && ok "init refuses an unknown arch" || bad "init refuses an unknown arch"

"$TMLAAS" train "$T/lenet.onnx" --epochs 1 --limit 2000 --seed 3 -o "$T/a.onnx" >"$T/out" 2>&1 \
    && ok "train" || { bad "train"; cat "$T/out"; }
cat "$T/out"
acc=$(sed -n 's/^test accuracy \([0-9.]*\)%.*/\1/p' "$T/out")
awk -v a="${acc:-0}" 'BEGIN { exit !(a > 50) }' && ok "test accuracy $acc% > 50% after 2000 samples" \
    || bad "test accuracy '$acc' too low"
grep -q "^epoch 1/1  loss .* acc .* img/s" "$T/out" && ok "progress line" || bad "progress line"

"$TMLAAS" train "$T/lenet.onnx" --epochs 1 --limit 2000 --seed 3 --quiet -o "$T/b.onnx" >/dev/null 2>&1
cmp -s "$T/a.onnx" "$T/b.onnx" && ok "same seed, same bytes" || bad "same seed, same bytes"
"$TMLAAS" train "$T/lenet.onnx" --epochs 1 --limit 2000 --seed 4 --quiet --optimizer sgd \
    --schedule cosine -o "$T/c.onnx" >/dev/null 2>&1
cmp -s "$T/a.onnx" "$T/c.onnx" && bad "another seed and optimizer, other bytes" || ok "another seed and optimizer, other bytes"

"$TMLAAS" compile "$T/a.onnx" -o "$T/out_c" >"$T/cout" 2>&1 && [ -s "$T/out_c/model.c" ] \
    && ok "trained model compiles" || { bad "trained model compiles"; cat "$T/cout"; }

"$TMLAAS" train "$T/lenet.onnx" --train-images /nonexistent.gz --train-labels $FM/t10k-labels-idx1-ubyte.gz \
    -o "$T/d.onnx" 2>"$T/err"; rc=$?
[ $rc -eq 1 ] && grep -q "cannot open '/nonexistent.gz'" "$T/err" && ok "missing file named" || bad "missing file named (rc $rc)"
"$TMLAAS" train "$T/lenet.onnx" --train-images $FM/t10k-labels-idx1-ubyte.gz --train-labels $FM/t10k-labels-idx1-ubyte.gz \
    -o "$T/d.onnx" 2>"$T/err"; rc=$?
[ $rc -eq 1 ] && grep -q "expected images" "$T/err" && ok "labels as images refused" || bad "labels as images refused (rc $rc)"

ORT="$SRC/bench/ort/node_modules/onnxruntime-node"
if [ -d "$ORT" ] && command -v node >/dev/null; then
    o=$(node "$SRC/tests/train/ort_eval.js" "$ORT" "$T/a.onnx" $FM/t10k-images-idx3-ubyte.gz $FM/t10k-labels-idx1-ubyte.gz 2>&1)
    echo "$o"
    oacc=$(echo "$o" | sed -n 's/^ort accuracy \([0-9.]*\)%.*/\1/p')
    awk -v a="${acc:-0}" -v b="${oacc:--1}" 'BEGIN { d = a - b; if (d < 0) d = -d; exit !(d <= 0.05) }' \
        && ok "ONNX Runtime loads it: $oacc% vs ours $acc%" || bad "ONNX Runtime: '$oacc' vs ours '$acc'"
else
    echo "skipped: ONNX Runtime check (bench/ort/node_modules/onnxruntime-node not installed)"
fi
echo "$pass passed, $failed failed"
[ $failed -eq 0 ]
