#!/usr/bin/env bash
# person_detect.tflite (int8) through the second carrier: generated C (model.c + only the _s8
# kernels it uses + fixedpoint.h), compiled with -std=c99 -Wall -Wextra -Werror and run on the
# corpus images. Must give the interpreter's exact scores (person 113 / -113 on person.bmp,
# see test_tflite_int8.c for why the BMP bytes are the int8 input as they are).
set -u
: "${TMLAAS:?}" "${TML_CORPUS:?}"
model="$TML_CORPUS/tflite/person_detection/person_detect.tflite"
if [ ! -f "$model" ]; then
    echo "skip: corpus not found at $TML_CORPUS"
    exit 0
fi
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
"$TMLAAS" compile "$model" -o "$dir/out" --harness -q || exit 1
cc -std=c99 -O2 -Wall -Wextra -Werror -I "$dir/out" -I "$dir/out/tml" "$dir/out"/*.c \
    "$dir/out"/tml/*.c -o "$dir/run" -lm || exit 1
fail=0
for img in person:113:-113 no_person:-57:57; do
    name=${img%%:*}; rest=${img#*:}; want_p=${rest%%:*}; want_np=${rest#*:}
    # BMP rows are bottom-up after a 1078-byte header (54 + 256-entry palette)
    python3 - "$TML_CORPUS/tflite/person_detection/testdata/$name.bmp" "$dir/in.raw" <<'PY'
import sys
d = open(sys.argv[1], 'rb').read()[1078:1078 + 96 * 96]
open(sys.argv[2], 'wb').write(b''.join(d[(95 - y) * 96:(96 - y) * 96] for y in range(96)))
PY
    "$dir/run" "$dir/in.raw" "$dir/out.raw" || exit 1
    got=$(python3 -c "import sys; d=open(sys.argv[1],'rb').read(); s=lambda b: b-256 if b>127 else b; print(s(d[1]), s(d[0]))" "$dir/out.raw")
    echo "$name: person/no_person = $got (want $want_p $want_np)"
    [ "$got" = "$want_p $want_np" ] || fail=1
done
exit $fail
