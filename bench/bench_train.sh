#!/bin/bash
# bench_train.sh - the centralized-training figures of docs/training.md, in one run:
#   1. accuracy: `tmlaas init --arch lenet` then `tmlaas train` on Fashion-MNIST for EPOCHS
#      epochs (Adam, lr 0.002, cosine schedule, batch 64, seed 1), test accuracy at the end;
#   2. throughput on one core: bench_train (C) and bench_train_torch.py (PyTorch, one thread)
#      train the same architecture with the same batch size and optimizer for BATCHES batches,
#      alternating C / PyTorch REPS times so both see the same machine load; the ratio is of
#      the medians. images/s are by process CPU time (the machine is shared; wall-clock
#      figures are in the raw lines bench_train and bench_train_torch.py print).
# usage: bench/bench_train.sh [BUILD_DIR (build)] [EPOCHS (6; 0 skips training)] [BATCHES (300)] [REPS (3)]
# Writes bench/results/train.txt. Build with RelWithDebInfo (-O2) first.
set -eu
SRC=$(cd "$(dirname "$0")/.." && pwd)
B=${1:-$SRC/build}; EPOCHS=${2:-6}; BATCHES=${3:-300}; REPS=${4:-3}
OUT=$SRC/bench/results/train.txt
T=$(mktemp -d); trap 'rm -rf "$T"' EXIT
mkdir -p "$SRC/bench/results"
{
echo "# bench_train.sh $(date -u +%Y-%m-%dT%H:%MZ) on $(nproc) cores: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2)"
for arch in lenet mlp dscnn; do
    c=(); p=()
    for r in $(seq "$REPS"); do
        c+=("$("$B/bench_train" $arch "$BATCHES" 64 | awk '{print $NF}')")
        p+=("$(/usr/bin/python3 "$SRC/bench/bench_train_torch.py" $arch "$BATCHES" 64 | awk '{print $NF}')")
    done
    cm=$(printf '%s\n' "${c[@]}" | sort -n | sed -n "$(( (REPS + 1) / 2 ))p")
    pm=$(printf '%s\n' "${p[@]}" | sort -n | sed -n "$(( (REPS + 1) / 2 ))p")
    echo "throughput $arch batch 64: C ${c[*]} img/s, PyTorch ${p[*]} img/s; medians C $cm PyTorch $pm; C/PyTorch $(awk -v a="$cm" -v b="$pm" 'BEGIN{printf "%.2f", a/b}')"
done
[ "$EPOCHS" -gt 0 ] || exit 0
"$B/tmlaas" init --arch lenet -o "$T/lenet.onnx" >/dev/null
/usr/bin/time -f "wall %e s" "$B/tmlaas" train "$T/lenet.onnx" --epochs "$EPOCHS" --lr 0.002 \
    --schedule cosine --seed 1 -o "$T/lenet_trained.onnx" 2>&1
} 2>&1 | tee "$OUT"
