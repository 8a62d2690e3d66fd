#!/usr/bin/env bash
# bench/targets.sh BUILD_DIR - model x target: flash split, RAM split and instructions per
# inference (QEMU -icount, all-zero input) of firmware images built by
# `tmlaas compile --target T --image`, with the reference kernels and with the fast float32
# kernels, and the instruction ratio. Writes bench/results/targets.md.
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD=${1:-build}
T=$PWD/$BUILD/tmlaas
CORPUS=${TML_CORPUS:-$PWD/../shared/corpus}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
out=bench/results/targets.md
mkdir -p bench/results

models=(tests/fixtures/fmnist_cnn.onnx tests/fixtures/fmnist_mlp.onnx
        "$CORPUS/tflite/magic_wand/magic_wand.tflite" "$CORPUS/tflite/hello_world/hello_world_float.tflite")
targets=(cortex-m3 cortex-m4 cortex-m7)

num() { grep -o "\"$2\": *[0-9]*" "$1" | head -1 | grep -o '[0-9]*$'; }

{
echo "| model | target | kernels | flash B | weights | model code | kernels B | port | libc | arena B | data+bss | stack used | instructions | ref/fast |"
echo "|---|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"
} >"$out"
for m in "${models[@]}"; do
    [ -f "$m" ] || continue
    name=$(basename "$m")
    for t in "${targets[@]}"; do
        ref_instr=""
        for k in reference fast; do
            d=$work/$name-$t-$k
            if ! "$T" compile "$m" --target "$t" --image --"$k"-kernels -o "$d" -q 2>"$work/err"; then
                echo "| $name | $t | $k | $(head -c 150 "$work/err") |||||||||||" >>"$out"
                continue
            fi
            j=$d/image.json
            instr=$(num "$j" instructions)
            ratio="-"
            if [ "$k" = reference ]; then ref_instr=$instr
            elif [ -n "$ref_instr" ] && [ -n "$instr" ]; then ratio=$(awk -v a="$ref_instr" -v b="$instr" 'BEGIN{printf "%.2f", a/b}'); fi
            echo "| $name | $t | $k | $(num "$j" total) | $(num "$j" weights) | $(num "$j" model_code) | $(num "$j" kernels) | $(num "$j" port) | $(num "$j" libc) | $(num "$j" arena) | $(num "$j" data_bss) | $(num "$j" stack_used) | $instr | $ratio |" >>"$out"
        done
    done
done
cat "$out"
