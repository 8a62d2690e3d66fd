#!/usr/bin/env bash
# bench/run.sh BUILD_DIR - compile time, arena bytes (beside the liveness lower bound) and host
# latency per single inference of the generated C, beside ONNX Runtime (npm onnxruntime-node,
# CPU, one thread) on the same model and input, measured in the same run. Prints a Markdown
# table and writes it to bench/results/latest.md.
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD=${1:-build}
TMLAAS=$PWD/$BUILD/tmlaas
CORPUS=${TML_CORPUS:-$PWD/../shared/corpus}
ITERS=${ITERS:-2000}
CFLAGS_BENCH=${CFLAGS_BENCH:--O3 -march=native}
# extra `tmlaas compile` options, e.g. COMPILE_FLAGS=--reference-kernels for the reference path
COMPILE_FLAGS=${COMPILE_FLAGS:-}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

have_ort=0
if command -v node >/dev/null && command -v npm >/dev/null; then
    if [ ! -d bench/ort/node_modules/onnxruntime-node ]; then
        (cd bench/ort && npm install --ignore-scripts --no-audit --no-fund >/dev/null 2>&1) || true
    fi
    [ -d bench/ort/node_modules/onnxruntime-node ] && have_ort=1
fi

# name | model | input (.npy or -)
models=(
  "fmnist_cnn|tests/fixtures/fmnist_cnn.onnx|tests/fixtures/fmnist_sample0.npy"
  "fmnist_mlp|tests/fixtures/fmnist_mlp.onnx|tests/fixtures/fmnist_sample0.npy"
)
for t in test_Conv2d test_Conv2d_depthwise_strided test_MaxPool2d test_Linear test_operator_basic; do
    d=$(find "$CORPUS/onnx-extra" -maxdepth 2 -type d -name "$t" 2>/dev/null | head -1)
    [ -n "$d" ] && models+=("$t|$d/model.onnx|-")
done

out=bench/results/latest.md
mkdir -p bench/results
{
echo "| model | compile ms | arena B | bound B | arena/bound | weights B | MACs | tinymlaas ms | ORT ms | ORT/tinymlaas |"
echo "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|"
} >"$out"
for m in "${models[@]}"; do
    IFS='|' read -r name model input <<<"$m"
    case $model in /*) ;; *) model=$PWD/$model ;; esac
    case $input in /* | -) ;; *) input=$PWD/$input ;; esac
    dir=$work/$name
    t0=$(date +%s%N)
    # shellcheck disable=SC2086
    if ! "$TMLAAS" compile "$model" -o "$dir" -q $COMPILE_FLAGS 2>"$work/err"; then
        echo "| $name | compile failed: $(head -1 "$work/err") |||||||||" >>"$out"
        continue
    fi
    t1=$(date +%s%N)
    cms=$(( (t1 - t0) / 1000000 ))
    rep=$dir/report.json
    arena=$(grep -o '"arena_bytes":[[:space:]]*[0-9]*' "$rep" | grep -o '[0-9]*$')
    bound=$(grep -o '"arena_lower_bound":[[:space:]]*[0-9]*' "$rep" | grep -o '[0-9]*$')
    wbytes=$(grep -o '"weight_bytes":[[:space:]]*[0-9]*' "$rep" | grep -o '[0-9]*$')
    macs=$(grep -o '"macs":[[:space:]]*[0-9]*' "$rep" | grep -o '[0-9]*$')
    # shellcheck disable=SC2086
    cc -std=c99 $CFLAGS_BENCH -I"$dir" -o "$dir/bench" bench/harness/latency_main.c "$dir/model.c" "$dir"/tml/*.c -lm
    ours=$("$dir/bench" "$input" "$ITERS" | grep -o '"median_ms":[0-9.]*' | cut -d: -f2)
    ort="-"; ratio="-"
    if [ "$have_ort" = 1 ]; then
        if [ "$input" = "-" ]; then ia=(); else ia=("$input"); fi
        ort=$(cd bench/ort && node bench.js "$model" "${ia[@]}" --iters "$ITERS" 2>/dev/null | grep -o '"median_ms":[0-9.]*' | cut -d: -f2 || echo "-")
        [ -n "$ort" ] && [ "$ort" != "-" ] && ratio=$(awk -v a="$ort" -v b="$ours" 'BEGIN{printf "%.2f", a/b}')
    fi
    ab=$(awk -v a="$arena" -v b="$bound" 'BEGIN{ if (b>0) printf "%.3f", a/b; else print "-"}')
    echo "| $name | $cms | $arena | $bound | $ab | $wbytes | $macs | $ours | ${ort:--} | $ratio |" >>"$out"
done
echo "host: $(uname -m), $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'), cc $CFLAGS_BENCH, $ITERS timed runs each, median${COMPILE_FLAGS:+, compile $COMPILE_FLAGS}" >>"$out"
cat "$out"
