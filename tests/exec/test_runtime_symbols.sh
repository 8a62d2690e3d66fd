#!/usr/bin/env bash
# test_runtime_symbols.sh - the device-side library (libtmlrt.a: kernels, executor, SHA-256)
# must not call the allocator, stdio or process exit, and must not keep mutable global state.
#   - `nm`: an undefined reference to one of the forbidden functions fails the test;
#   - `objdump -t`: a data object in a writable section (.data, .bss, COMMON; not
#     .data.rel.ro, where const tables with pointers live in PIC builds) fails the test.
# ctest runs it with TML_BUILD set to the build directory.
set -u
BUILD=${TML_BUILD:-}
if [ -z "$BUILD" ]; then
    echo "TML_BUILD not set (run through ctest)"; exit 1
fi
LIB=$(find "$BUILD" -maxdepth 2 -name libtmlrt.a | head -n1)
if [ -z "$LIB" ]; then
    echo "libtmlrt.a not found under $BUILD"; exit 1
fi
forbidden='^(malloc|calloc|realloc|free|aligned_alloc|posix_memalign|printf|fprintf|vprintf|vfprintf|sprintf|snprintf|vsnprintf|puts|fputs|putchar|fputc|fwrite|fread|fopen|fclose|exit|_exit|abort|__assert_fail|__assert_func)$'
bad=0
syms=$(nm -A "$LIB" 2>/dev/null)
if [ -z "$syms" ]; then
    echo "nm printed nothing for $LIB"; exit 1
fi
# lines look like "lib.a:obj.o:0000000000000040 T name" or "lib.a:obj.o:                 U name"
while read -r file type sym; do
    obj=${file%:*}; obj=${obj#*:}
    if [ "$type" = U ] && [[ "$sym" =~ $forbidden ]]; then
        echo "FAIL: $obj references '$sym'"; bad=1
    fi
done < <(echo "$syms" | awk 'NF==3')

# objdump -t prints "In archive lib.a:" / "obj.o:     file format ..." headers, then symbols:
# "0000000000000000 g     O .bss	0000000000000004 counter"
obj=""
while read -r line; do
    case "$line" in
    *"file format"*) obj=${line%%:*}; continue ;;
    esac
    set -- $line
    [ $# -ge 5 ] || continue
    # find the section column: the field after the flag letters ending with "O"
    sect=""; name=""
    for ((i = 2; i <= $#; i++)); do
        if [ "${!i}" = O ]; then j=$((i + 1)); sect=${!j}; name=${!#}; break; fi
    done
    [ -n "$sect" ] || continue
    case "$sect" in
    .data.rel.ro*|.rodata*) ;;
    .data*|.bss*|*COM*|.tbss*|.tdata*)
        # (__unnamed_N: clang's UBSan type descriptors)
        case "$name" in __asan*|__ubsan*|__sancov*|.L*|__odr_asan*|__profc*|__profd*|___asan*|__unnamed_*) continue ;; esac
        echo "FAIL: $obj defines mutable global '$name' in $sect"; bad=1 ;;
    esac
done < <(objdump -t "$LIB" 2>/dev/null)

if [ $bad -ne 0 ]; then
    exit 1
fi
echo "ok: $(echo "$syms" | grep -c ' T ') functions in $(basename "$LIB"): no allocator/stdio/exit, no mutable globals"
