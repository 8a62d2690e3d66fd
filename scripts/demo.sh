#!/usr/bin/env bash
# scripts/demo.sh BUILD_DIR - the main job on its embedded defaults: squeeze real models, run
# the generated C beside the interpreter, classify Fashion-MNIST test images, and run the ONNX
# conformance suite. Every process it starts ends with it (also on Ctrl-C).
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD=${1:-build}
T=$PWD/$BUILD/tmlaas
CORPUS=${TML_CORPUS:-$PWD/../shared/corpus}
OUT=$PWD/out/demo
rm -rf "$OUT"
mkdir -p "$OUT"
trap 'kill $(jobs -p) 2>/dev/null || true' EXIT INT TERM

step() { printf '\n\033[1m== %s\033[0m\n' "$*"; }

step "1/6 squeeze a Fashion-MNIST CNN (PyTorch -> ONNX fixture) for the host"
"$T" compile tests/fixtures/fmnist_cnn.onnx -o "$OUT/cnn" --harness
echo "kernels shipped: $(ls "$OUT/cnn/tml/"*.c | xargs -n1 basename | tr '\n' ' ')"

step "2/6 build the generated C and run it beside the interpreter"
cc -std=c99 -O2 -Wall -Wextra -Werror -I"$OUT/cnn" -o "$OUT/cnn/prog" "$OUT"/cnn/*.c "$OUT"/cnn/tml/*.c -lm
# the .npy payload is the last 784 floats of the file
tail -c $((784 * 4)) tests/fixtures/fmnist_sample0.npy >"$OUT/in0.bin"
"$OUT/cnn/prog" "$OUT/in0.bin" "$OUT/c_out.bin"
"$T" run tests/fixtures/fmnist_cnn.onnx --input tests/fixtures/fmnist_sample0.npy --output "$OUT/interp_out.npy" -q
tail -c 40 "$OUT/interp_out.npy" >"$OUT/interp_out.bin"
if cmp -s "$OUT/c_out.bin" "$OUT/interp_out.bin"; then
    echo "generated C and interpreter: bit-identical logits"
else
    echo "generated C and interpreter differ:"; od -An -tf4 "$OUT/c_out.bin"; od -An -tf4 "$OUT/interp_out.bin"
    exit 1
fi

step "3/6 classify 16 Fashion-MNIST test images"
"$T" run tests/fixtures/fmnist_cnn.onnx --input tests/fixtures/fmnist_samples.npy | grep -E "predicted|argmax" || true
echo "true labels:    $(od -An -v -td8 -j 128 tests/fixtures/fmnist_labels.npy | tr -s ' \n' ' ')"

step "4/6 TensorFlow Lite Micro example models from the corpus"
for m in magic_wand/magic_wand.tflite hello_world/hello_world_float.tflite; do
    if [ -f "$CORPUS/tflite/$m" ]; then
        "$T" compile "$CORPUS/tflite/$m" -o "$OUT/$(basename "$m" .tflite)" || true
    fi
done

step "5/6 the same CNN as Cortex-M4 firmware, booted under QEMU (measured footprint and cost)"
if command -v qemu-system-arm >/dev/null && command -v arm-none-eabi-gcc >/dev/null; then
    "$T" compile tests/fixtures/fmnist_cnn.onnx --target cortex-m4 --image -o "$OUT/cnn-m4" | sed -n '/target /,$p'
    "$T" run tests/fixtures/fmnist_cnn.onnx --target cortex-m4 --input tests/fixtures/fmnist_sample0.npy | grep -E "argmax|output" || true
else
    echo "arm-none-eabi-gcc or qemu-system-arm missing; skipped"
fi

step "6/6 ONNX backend conformance (interpreter + generated C)"
if [ -d "$CORPUS/onnx-node" ]; then
    "$T" conformance "$CORPUS/onnx-node" "$CORPUS/onnx-extra" -j "$(nproc)" >"$OUT/conformance.txt" || true
    grep -c '^PASS' "$OUT/conformance.txt" >/dev/null || true
    tail -1 "$OUT/conformance.txt"
    echo "(full log: $OUT/conformance.txt)"
else
    echo "corpus not found at $CORPUS; skipped"
fi
