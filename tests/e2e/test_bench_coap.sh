#!/usr/bin/env bash
# test_bench_coap.sh - keeps bench/bench_coap.c honest: a small run (50 devices, 1 s phases)
# must register every device with the id the service keeps, download the artifact
# byte-identically on every device with none lost, and report the service's memory.
# No figure is asserted (speed belongs to bench/, never to tests); only completeness.
set -u
skip() { echo "test_bench_coap: SKIP: $*"; exit 0; }
[ -n "${TML_BUILD:-}" ] && [ -x "$TML_BUILD/bench_coap" ] || skip "no \$TML_BUILD/bench_coap"
[ -n "${TMLAAS:-}" ] && [ -x "$TMLAAS" ] || skip "\$TMLAAS is not an executable"
out=$(timeout 300 "$TML_BUILD/bench_coap" --tmlaas "$TMLAAS" --devices 50 --seconds 1 2>&1)
rc=$?
echo "$out"
fails=0
need() { case "$out" in *"$1"*) echo "ok   - $1" ;; *) echo "FAIL - $1"; fails=$((fails + 1)) ;; esac; }
[ "$rc" = 0 ] && echo "ok   - exit 0" || { echo "FAIL - exit $rc"; fails=$((fails + 1)); }
need "50 devices, 50 registered (2.01)"
need "0 of 50 devices hold a registration id the service has replaced"
need "50 completed (byte-identical), 0 lost"
need "service memory: VmHWM"
[ "$fails" = 0 ] || { echo "test_bench_coap: $fails check(s) failed"; exit 1; }
echo "test_bench_coap: all checks passed"
