#!/usr/bin/env bash
# test_device_symbols.sh - the device agent core (src/device/agent.c, in libtml.a as agent.c.o)
# is device-side code: no allocator, no stdio, no process exit, no writable global state.
# Like tests/exec/test_runtime_symbols.sh for libtmlrt, but for the one object of the core;
# the host port (host_port_build.c.o) is host code and may use all of those.
set -u
BUILD=${TML_BUILD:?run through ctest}
LIB=$(find "$BUILD" -maxdepth 2 -name libtml.a | head -n1)
[ -n "$LIB" ] || { echo "libtml.a not found under $BUILD"; exit 1; }
forbidden='^(malloc|calloc|realloc|free|aligned_alloc|posix_memalign|printf|fprintf|vprintf|vfprintf|sprintf|snprintf|vsnprintf|puts|fputs|putchar|fputc|fwrite|fread|fopen|fclose|exit|_exit|abort|__assert_fail|__printf_chk|__fprintf_chk|__snprintf_chk|__sprintf_chk)$'
syms=$(nm -A "$LIB" 2>/dev/null | grep '/agent\.c\.o:\|:agent\.c\.o:')
[ -n "$syms" ] || { echo "agent.c.o not found in $LIB"; exit 1; }
bad=0
while read -r file type sym; do
    if [ "$type" = U ] && [[ "$sym" =~ $forbidden ]]; then
        echo "FAIL: agent.c.o references '$sym'"; bad=1
    fi
    # sanitizer builds add their own metadata and counters (clang names some __unnamed_N)
    case "$sym" in __asan* | __ubsan* | __sancov* | .L* | __odr_asan* | ___asan* | __unnamed_*) continue ;; esac
    case "$type" in
    B|b|D|d|C) echo "FAIL: agent.c.o has writable global '$sym' ($type)"; bad=1 ;;
    esac
done < <(echo "$syms" | awk 'NF==3')
if [ $bad = 0 ]; then
    echo "agent.c.o: no allocator, stdio, exit or writable globals"
    echo "1 passed, 0 failed"
else
    echo "0 passed, 1 failed"
fi
exit $bad
