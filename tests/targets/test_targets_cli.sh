#!/bin/bash
# test_targets_cli.sh - the CLI side of targets: `compile --target T --image` writes a bootable
# image and its measured report, `run --target T` writes the outputs, an oversized model is
# refused with the numbers, budgets from the command line override the profile, unknown
# targets are named. Skips when the ARM toolchain or QEMU is missing.
set -u
: "${TMLAAS:?}" "${TML_SOURCE:?}"
FIX="$TML_SOURCE/tests/fixtures"
W=$(mktemp -d /tmp/tml-targets-cli-XXXXXX)
trap 'rm -rf "$W"' EXIT
fails=0
fail() { echo "FAIL: $*"; fails=$((fails + 1)); }

if ! command -v arm-none-eabi-gcc >/dev/null || ! command -v qemu-system-arm >/dev/null; then
    echo "skip: arm-none-eabi-gcc or qemu-system-arm not installed"
    exit 0
fi

# 1. oversized: refused with the numbers and a suggestion, exit 1, nothing built
if "$TMLAAS" compile "$FIX/fmnist_cnn.onnx" --target cortex-m0 -o "$W/m0" >"$W/out" 2>"$W/err"; then
    fail "cortex-m0 accepted a 30 KiB arena"
fi
grep -q "needs 33.1 KiB RAM: arena 30.6 KiB + stack 2.0 KiB" "$W/err" || fail "no RAM numbers: $(cat "$W/err")"
grep -q "target cortex-m0 has 16.0 KiB" "$W/err" || fail "no budget: $(cat "$W/err")"
grep -q "int8" "$W/err" || fail "no suggestion: $(cat "$W/err")"
[ ! -e "$W/m0/model.c" ] || fail "refused compile still wrote model.c"

# 2. budgets on the command line override the profile
"$TMLAAS" compile "$FIX/fmnist_cnn.onnx" --target cortex-m4 --ram 16K -q -o "$W/small" 2>"$W/err" \
    && fail "--ram 16K accepted"
grep -q "target cortex-m4 has 16.0 KiB" "$W/err" || fail "--ram not applied: $(cat "$W/err")"
"$TMLAAS" compile "$FIX/fmnist_cnn.onnx" --target cortex-m4 --flash 64K -q -o "$W/small" 2>"$W/err" \
    && fail "--flash 64K accepted"
grep -q "KiB flash: weights 116.2 KiB" "$W/err" || fail "--flash not applied: $(cat "$W/err")"

# 3. unknown target
"$TMLAAS" compile "$FIX/fmnist_cnn.onnx" --target pdp-11 -o "$W/x" 2>"$W/err" && fail "pdp-11 accepted"
grep -q "unknown target 'pdp-11'" "$W/err" || fail "unknown target message: $(cat "$W/err")"

# 4. --image: ELF + raw binary + measured report
if "$TMLAAS" compile "$FIX/fmnist_cnn.onnx" --target cortex-m4 --image -o "$W/m4" >"$W/out" 2>"$W/err"; then
    for f in image.elf image.bin image.map image.json memory.ld image.cmd; do
        [ -s "$W/m4/$f" ] || fail "--image did not write $f"
    done
    grep -q "flash (measured).*weights 118952" "$W/out" || fail "no measured flash split: $(cat "$W/out")"
    grep -q "RAM (measured).*arena 31360" "$W/out" || fail "no measured RAM split"
    grep -q "stack high-water" "$W/out" || fail "no stack high-water mark"
    grep -q "instructions .* per inference" "$W/out" || fail "no instruction count"
    grep -q '"weights": 118952' "$W/m4/image.json" || fail "image.json lacks the weights"
    # device-side rule: nothing in the image allocates, prints through stdio or exits via libc
    bad=$(arm-none-eabi-nm "$W/m4/image.elf" | awk '{print $NF}' |
          grep -E '^(malloc|free|calloc|realloc|_malloc_r|printf|fprintf|puts|exit|abort|_sbrk)$')
    [ -z "$bad" ] || fail "image.elf links forbidden symbols: $bad"
    # the raw binary is the loadable part of the ELF: text + data
    sz=$(arm-none-eabi-size "$W/m4/image.elf" | awk 'NR==2 {print $1 + $2}')
    [ "$(stat -c %s "$W/m4/image.bin")" = "$sz" ] || fail "image.bin size != text+data ($sz)"
else
    fail "compile --image: $(cat "$W/err")"
fi

# 5. build-only targets: cortex-m0 links an image for a model that fits, cannot run it
"$TMLAAS" compile "$TML_SOURCE/tests/fixtures/fmnist_mlp.onnx" --target cortex-m0 --ram 1M --flash 1M \
    --image -q -o "$W/m0b" 2>"$W/err" || fail "cortex-m0 --image: $(cat "$W/err")"
[ -s "$W/m0b/image.bin" ] || fail "cortex-m0 image.bin missing"
# a user's own target: one file, given by path; without a port it checks budgets and writes C
cat >"$W/my-board.target" <<'PROFILE'
# a board without a platform port yet
name = my-board
arch = arm
cc = arm-none-eabi-gcc
cflags = -mcpu=cortex-m33 -mthumb -O2
platform = none
flash = 512K
ram = 64K
PROFILE
"$TMLAAS" compile "$FIX/fmnist_cnn.onnx" --target "$W/my-board.target" -q -o "$W/my" 2>"$W/err" \
    || fail "own profile: $(cat "$W/err")"
[ -s "$W/my/model.c" ] || fail "own profile: no model.c"
"$TMLAAS" compile "$FIX/fmnist_cnn.onnx" --target "$W/my-board.target" --image -o "$W/my2" \
    >"$W/out" 2>"$W/err" || fail "my-board --image: $(cat "$W/err")"
[ ! -e "$W/my2/image.elf" ] || fail "my-board: an image without a port"
[ -s "$W/my2/obj/model.o" ] || fail "my-board: model.c not compiled"
grep -q "objects (no port).*weights 118952" "$W/out" || fail "my-board objects: $(cat "$W/out")"
"$TMLAAS" compile "$FIX/fmnist_cnn.onnx" --target rv32imac -q -o "$W/rv" 2>"$W/err" \
    && fail "rv32imac (16 KiB) accepted a 30 KiB arena"
grep -q "target rv32imac has 16.0 KiB" "$W/err" || fail "rv32imac message: $(cat "$W/err")"

# ESP8266: build only; the generated C compiles with Debian's xtensa toolchain
if command -v xtensa-lx106-elf-gcc >/dev/null; then
    "$TMLAAS" compile "$FIX/fmnist_cnn.onnx" --target xtensa-lx106 --image -o "$W/xt" >"$W/out" \
        2>"$W/err" || fail "xtensa-lx106 --image: $(cat "$W/err")"
    grep -q "objects (no port) *compiled with xtensa-lx106-elf-gcc.*weights 118952" "$W/out" \
        || fail "xtensa-lx106 objects: $(cat "$W/out")"
else
    echo "skip: xtensa-lx106-elf-gcc not installed"
fi

# 6. run --target: outputs equal the host interpreter's (bit-equal here: same kernels, both IEEE)
"$TMLAAS" run "$FIX/fmnist_cnn.onnx" -i "$FIX/fmnist_sample0.npy" -o "$W/host.npy" -q \
    || fail "host run"
for t in cortex-m4 cortex-m3 cortex-m7; do
    if "$TMLAAS" run "$FIX/fmnist_cnn.onnx" --target $t -i "$FIX/fmnist_sample0.npy" -o "$W/$t.npy" \
        >"$W/out" 2>"$W/err"; then
        grep -q "argmax 9" "$W/out" || fail "$t: wrong class: $(cat "$W/out")"
        [ -s "$W/$t.npy" ] || fail "$t: no output file"
    else
        fail "run --target $t: $(cat "$W/err")"
    fi
done
"$TMLAAS" run "$FIX/fmnist_cnn.onnx" --target cortex-m0 -i "$FIX/fmnist_sample0.npy" -o "$W/x.npy" \
    2>"$W/err" && fail "run on cortex-m0 accepted"
grep -q "needs .* RAM" "$W/err" || fail "run on cortex-m0 message: $(cat "$W/err")"

if [ $fails -ne 0 ]; then
    echo "$fails failure(s)"
    exit 1
fi
echo "ok"
