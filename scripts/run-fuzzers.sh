#!/usr/bin/env bash
# run-fuzzers.sh - run every libFuzzer target of a build for a fixed time, seeded from the corpus.
#
#   scripts/run-fuzzers.sh BUILD_DIR SECONDS
#
# For each BUILD_DIR/fuzz_* binary, a seed directory is built from the shared corpus as fits the
# target's name (onnx -> model.onnx files, pb -> test_data_set .pb files, npy -> a few generated
# .npy files plus any in the corpus, tflite -> .tflite files, package/pkg -> .tmlpkg files with
# a mode byte), plus the files in fuzz/seeds/<target without fuzz_>/ if that folder exists. A
# target with no seeds runs unseeded. Parsers of untrusted input run SECONDS, kernel and pass
# fuzzers SECONDS/3, each with -rss_limit_mb=2048;
# findings (crash-*, oom-*, timeout-*) land in BUILD_DIR/fuzz-out/<target>/. Exit status is
# non-zero if any fuzzer found something. No network, no installs.
#
# The corpus is $TML_CORPUS if set, else ../shared/corpus next to the source tree.
set -u

if [ $# -ne 2 ]; then
    echo "usage: $0 BUILD_DIR SECONDS" >&2
    exit 2
fi
BUILD=$1
SECONDS_EACH=$2
SRC=$(cd "$(dirname "$0")/.." && pwd)
CORPUS=${TML_CORPUS:-$SRC/../shared/corpus}
OUT=$BUILD/fuzz-out

case $SECONDS_EACH in
    '' | *[!0-9]*) echo "$0: SECONDS must be a number" >&2; exit 2 ;;
esac

shopt -s nullglob
fuzzers=("$BUILD"/fuzz_*)
if [ ${#fuzzers[@]} -eq 0 ]; then
    echo "$0: no fuzz_* binaries in $BUILD (configure with -DTML_FUZZ=ON and clang)" >&2
    exit 2
fi
mkdir -p "$OUT"

# copy_seeds DIR FIND-ARGS...: copies matching corpus files into DIR under flattened names.
copy_seeds() {
    local dir=$1
    shift
    [ -d "$CORPUS" ] || return 0
    find "$CORPUS" -type f "$@" -size -1024k 2>/dev/null | while IFS= read -r f; do
        local rel=${f#"$CORPUS"/}
        cp "$f" "$dir/${rel//\//_}"
    done
}

# npy DIR NAME DESCR SHAPE NBYTES: writes a v1.0 .npy with NBYTES of patterned payload.
npy() {
    local dir=$1 name=$2 descr=$3 shape=$4 nbytes=$5
    local hdr="{'descr': '$descr', 'fortran_order': False, 'shape': $shape, }"
    local total=$(( (10 + ${#hdr} + 1 + 63) / 64 * 64 ))
    local hlen=$(( total - 10 ))
    while [ $(( 10 + ${#hdr} + 1 )) -lt "$total" ]; do hdr="$hdr "; done
    {
        printf '\223NUMPY\001\000'
        printf "\\$(printf '%03o' $(( hlen & 255 )))\\$(printf '%03o' $(( hlen >> 8 )))"
        printf '%s\n' "$hdr"
        head -c "$nbytes" /dev/zero | tr '\0' '\1'
    } >"$dir/$name.npy"
}

gen_npy_seeds() {
    local dir=$1
    npy "$dir" f32_2x3 '<f4' '(2, 3)' 24
    npy "$dir" i8_4 '|i1' '(4,)' 4
    npy "$dir" u8_scalar '|u1' '()' 1
    npy "$dir" i64_1x2x2 '<i8' '(1, 2, 2)' 32
    npy "$dir" f16_3 '<f2' '(3,)' 6
    npy "$dir" b1_5 '|b1' '(5,)' 5
    npy "$dir" f64_empty '<f8' '(0, 4)' 0
    copy_seeds "$dir" -name '*.npy'
}

status=0
for bin in "${fuzzers[@]}"; do
    [ -x "$bin" ] || continue
    name=$(basename "$bin")
    work=$OUT/$name
    seeds=$work/seeds
    rm -rf "$seeds"
    rm -f "$work"/crash-* "$work"/oom-* "$work"/timeout-* "$work"/leak-* "$work"/slow-unit-*
    mkdir -p "$work/corpus" "$seeds"
    case $name in
        *onnx* | *passes*) copy_seeds "$seeds" -name '*.onnx' ;;
        *npy*) gen_npy_seeds "$seeds" ;;
        *pb*) copy_seeds "$seeds" -name '*.pb' -path '*test_data_set_*' ;;
        *tflite*) copy_seeds "$seeds" -name '*.tflite' ;;
        *package* | *pkg*)
            # fuzz_package reads a mode byte first (even: bytes as they are, odd: hash fixed up)
            find "$CORPUS" "$SRC/tests" "$BUILD" -name '*.tmlpkg' -size -1024k 2>/dev/null |
                while IFS= read -r f; do
                    b=$(basename "$f")
                    { printf '\000'; cat "$f"; } >"$seeds/m0-$b"
                    { printf '\001'; cat "$f"; } >"$seeds/m1-$b"
                done
            ;;
    esac
    # checked-in seeds of a target: fuzz/seeds/<name without fuzz_>/
    if [ -d "$SRC/fuzz/seeds/${name#fuzz_}" ]; then
        cp "$SRC/fuzz/seeds/${name#fuzz_}"/* "$seeds/" 2>/dev/null || true
    fi
    n_seeds=$(find "$seeds" -type f | wc -l)
    # parsers of untrusted input get the full time; kernel and pass fuzzers (inputs that already
    # passed a parser) a third of it
    secs=$SECONDS_EACH
    case $name in
        *onnx* | *npy* | *pb* | *tflite* | *package* | *linkformat* | *lwm2m* | *coap* | *device* | *web* | *idx*) ;;
        *) secs=$(( (SECONDS_EACH + 2) / 3 )) ;;
    esac
    echo "== $name: ${secs}s, $n_seeds seed files"
    dirs=("$work/corpus")
    [ "$n_seeds" -gt 0 ] && dirs+=("$seeds")
    "$bin" -max_total_time="$secs" -rss_limit_mb=2048 -timeout=25 -print_final_stats=1 \
        -artifact_prefix="$work/" "${dirs[@]}" >"$work/log.txt" 2>&1
    rc=$?
    findings=("$work"/crash-* "$work"/oom-* "$work"/timeout-* "$work"/leak-* "$work"/slow-unit-*)
    tail -n 12 "$work/log.txt" | grep -E 'stat::number_of_executed_units|stat::peak_rss_mb|ERROR|SUMMARY' || true
    if [ $rc -ne 0 ] || [ ${#findings[@]} -gt 0 ]; then
        echo "!! $name: exit $rc; findings: ${findings[*]:-none}; log: $work/log.txt"
        status=1
    else
        echo "ok $name"
    fi
done
exit $status
