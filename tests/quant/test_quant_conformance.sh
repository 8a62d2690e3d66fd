#!/usr/bin/env bash
# The int8 ONNX node tests of the corpus (QuantizeLinear, DequantizeLinear, QLinearMatMul,
# QLinearConv, MatMulInteger, ConvInteger) through both paths of `tmlaas conformance`, exact
# integer results. Fails on any FAIL, and if fewer tests pass than the known-supported set
# (so a regression to SKIP is caught too). int4, float16-scale and blocked variants SKIP.
set -u
: "${TMLAAS:?}" "${TML_CORPUS:?}"
if [ ! -d "$TML_CORPUS/onnx-node" ]; then
    echo "skip: corpus not found at $TML_CORPUS"
    exit 0
fi
fail=0
check() { # filter, minimum passes
    out=$("$TMLAAS" conformance "$TML_CORPUS/onnx-node" --filter "$1" -j 2 2>&1)
    rc=$?
    echo "$out" | grep -E '^(FAIL|SKIP)'
    last=$(echo "$out" | tail -1)
    echo "$1: $last"
    passed=${last%% passed*}
    case "$last" in
        *" passed, 0 failed, "*) ;;
        *) fail=1 ;;
    esac
    if [ "$rc" != 0 ] || [ "${passed:-0}" -lt "$2" ]; then
        echo "$1: expected at least $2 passes (rc=$rc)"
        fail=1
    fi
}
check quantize 5
check qlinear 4
check integer 2
exit $fail
