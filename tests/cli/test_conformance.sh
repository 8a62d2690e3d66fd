#!/usr/bin/env bash
# The ONNX backend conformance tests of the corpus through both paths (interpreter and
# generated C). Fails if any test FAILs; SKIPs (unsupported ops/dtypes) are listed, not failed.
set -u
: "${TMLAAS:?}" "${TML_CORPUS:?}"
if [ ! -d "$TML_CORPUS/onnx-node" ]; then
    echo "skip: corpus not found at $TML_CORPUS"
    exit 0
fi
out=$(mktemp)
"$TMLAAS" conformance "$TML_CORPUS/onnx-node" "$TML_CORPUS/onnx-extra" -j 2 >"$out" 2>&1
rc=$?
grep -E '^(FAIL|SKIP)' "$out"
tail -1 "$out"
last=$(tail -1 "$out")
rm -f "$out"
case "$last" in
    *" passed, 0 failed, "*) [ "$rc" = 0 ] && exit 0 ;;
esac
echo "conformance failed (rc=$rc)"
exit 1
