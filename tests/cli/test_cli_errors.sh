#!/usr/bin/env bash
# Bad input at the command line: every case must give a one-line error naming the file (and
# node/op where there is one) and a non-zero exit - never a crash.
set -u
: "${TMLAAS:?}" "${TML_CORPUS:?}"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fails=0

# expect_error NAME PATTERN CMD...: CMD must exit 1 or 2 (not a signal) and print PATTERN.
expect_error() {
    local name=$1 pattern=$2
    shift 2
    "$@" >"$tmp/out" 2>&1
    local rc=$?
    if [ "$rc" -ne 1 ] && [ "$rc" -ne 2 ]; then
        echo "FAIL $name: exit status $rc"; cat "$tmp/out"; fails=$((fails + 1)); return
    fi
    if ! grep -qE "$pattern" "$tmp/out"; then
        echo "FAIL $name: output does not match '$pattern':"; cat "$tmp/out"; fails=$((fails + 1)); return
    fi
    echo "ok   $name: $(head -1 "$tmp/out")"
}

expect_error missing-file "nope.onnx" "$TMLAAS" compile "$tmp/nope.onnx" -o "$tmp/o"
expect_error no-args "missing MODEL" "$TMLAAS" compile
expect_error unknown-cmd "unknown command" "$TMLAAS" frobnicate
expect_error unknown-target "unknown target 'mars'" "$TMLAAS" compile x.onnx -o "$tmp/o" --target mars

model="$TML_CORPUS/onnx-node/test_conv_with_strides_padding/model.onnx"
if [ -f "$model" ]; then
    size=$(stat -c %s "$model")
    for cut in 1 7 20 $((size / 2)) $((size - 3)); do
        head -c "$cut" "$model" >"$tmp/trunc.onnx"
        expect_error "truncated-$cut" "trunc.onnx" "$TMLAAS" compile "$tmp/trunc.onnx" -o "$tmp/o"
    done
    # a wrong input file for run
    printf 'not numpy' >"$tmp/bad.npy"
    expect_error bad-npy "bad.npy" "$TMLAAS" run "$model" --input "$tmp/bad.npy"
fi

for h in compile run inspect conformance; do
    if ! "$TMLAAS" "$h" --help | grep -q "usage: tmlaas $h"; then
        echo "FAIL help-$h"; fails=$((fails + 1))
    fi
done
echo "$fails failures"
[ "$fails" = 0 ]
