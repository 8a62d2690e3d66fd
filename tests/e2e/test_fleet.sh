#!/usr/bin/env bash
# test_fleet.sh - the service end to end over loopback (issue 5's "must show"): `tmlaas serve`,
# two `tmlaas device` processes reporting different target profiles (host, cortex-m4), one model
# pushed with the CLI and deployed to both; two builds (one per profile) checked with curl; each
# device answers CoAP POST /infer (Debian's coap-client-notls) with the class `tmlaas run` gives
# on the host; then tampered artifacts are refused with the previous model still serving; then
# the service is killed with SIGKILL, restarted, and devices, models, builds and deployments are
# all still listed.
#
# How: every process runs on free loopback ports in a temp dir and is killed on exit (by PID).
# Tampering is tried twice, the two ways an attacker or a bad disk could do it:
#   1. a rogue CoAP server (coap-server-notls, libcoap's own example server, with dynamic
#      resources) holds a package with one flipped byte plus the genuine signature of the
#      original; its URI is written to the device's Package URI (/5/0/1). The device must refuse
#      it (Update Result 5, integrity) after checking the Ed25519 signature.
#   2. the service's stored artifact file gets one flipped byte and the model is deployed again:
#      the service must never serve it (5.00), the deployment fails with the device's result code.
# Why a shell script: the point is real processes and clients nobody here wrote (curl,
# coap-client-notls, coap-server-notls); every wait is a poll with a deadline, never a timing
# assertion, so the test cannot hang CI.
set -u

skip() { echo "test_fleet: SKIP: $*"; exit 0; }
[ -n "${TMLAAS:-}" ] && [ -x "${TMLAAS}" ] || skip "\$TMLAAS ('${TMLAAS:-}') is not an executable"
SRC=${TML_SOURCE:-$(cd "$(dirname "$0")/../.." && pwd)}
for c in coap-client-notls coap-server-notls curl python3 sha256sum; do
    command -v "$c" >/dev/null || skip "'$c' not installed"
done
"$TMLAAS" serve --help >/dev/null 2>&1 || skip "'tmlaas serve' is not available"
"$TMLAAS" device --help >/dev/null 2>&1 || skip "'tmlaas device' is not available"
MODEL="$SRC/tests/fixtures/fmnist_cnn.onnx"
SAMPLE="$SRC/tests/fixtures/fmnist_sample0.npy"
[ -f "$MODEL" ] && [ -f "$SAMPLE" ] || skip "fixtures missing under '$SRC/tests/fixtures'"

T=$(mktemp -d /tmp/tml_fleet_XXXXXX)
PIDS=()   # every process this test started
SPID=     # the service
cleanup() {
    local p
    for p in "${PIDS[@]}"; do { kill -9 "$p" && wait "$p"; } 2>/dev/null; done
    rm -rf "$T"
}
trap cleanup EXIT

fails=0
ok() { echo "ok   - $*"; }
bad() { echo "FAIL - $*"; fails=$((fails + 1)); }
check() { # check DESCRIPTION COMMAND...
    local d=$1; shift
    if "$@"; then ok "$d"; else bad "$d"; fi
}
contains() { case "$1" in *"$2"*) return 0 ;; *) return 1 ;; esac; }
# wait_for SECONDS COMMAND...: polls COMMAND every 0.2 s until it succeeds or time is up
wait_for() {
    local n=$(($1 * 5)) i; shift
    for ((i = 0; i < n; i++)); do "$@" && return 0; sleep 0.2; done
    return 1
}
free_port() { # a port nothing listens on (TCP or UDP), different on every call
    python3 - "$1" <<'EOF'
import socket, sys
kind = socket.SOCK_DGRAM if sys.argv[1] == "udp" else socket.SOCK_STREAM
s = socket.socket(socket.AF_INET, kind)
s.bind(("127.0.0.1", 0))
print(s.getsockname()[1])
EOF
}
finish() {
    if [ "$fails" -ne 0 ]; then
        local f
        for f in "$T"/*.log; do echo "--- $(basename "$f") ---"; tail -40 "$f"; done
        echo "test_fleet: $fails check(s) failed"
        exit 1
    fi
    echo "test_fleet: all checks passed"
    exit 0
}
fatal() { bad "$*"; finish; }

HTTP_PORT=$(free_port tcp)
COAP_PORT=$(free_port udp)
DEV1_PORT=$(free_port udp)
DEV2_PORT=$(free_port udp)
ROGUE_PORT=$(free_port udp)
export TMLAAS_URL="http://127.0.0.1:$HTTP_PORT"
export TMLAAS_DATA_DIR="$T/data"
URL=$TMLAAS_URL
COAP="coap://127.0.0.1:$COAP_PORT"
api() { curl -s --max-time 5 "$URL$1"; }
coap() { timeout 15 coap-client-notls -B 10 "$@" 2>/dev/null; } # bounded, body on stdout

start_service() {
    "$TMLAAS" serve --data-dir "$T/data" --http-port "$HTTP_PORT" --coap-port "$COAP_PORT" \
        --coaps-port 0 --coap-bind 127.0.0.1 2>>"$T/serve.log" &
    SPID=$!
    PIDS+=("$SPID")
    wait_for 20 curl -sf --max-time 2 "$URL/api/health" -o /dev/null || fatal "service did not come up"
}

# --- the service and two devices of different targets ---
start_service
KEY=$(api /api/signing-key | python3 -c 'import json,sys; print(json.load(sys.stdin)["public_key"])')
check "service has an Ed25519 signing key" test ${#KEY} = 64
start_device() { # start_device ENDPOINT TARGET PORT
    "$TMLAAS" device --server "$COAP" --endpoint "$1" --target "$2" --port "$3" \
        --data-dir "$T/$1" --server-key "$KEY" --lifetime 60 2>>"$T/$1.log" &
    PIDS+=($!)
}
start_device dev-host host "$DEV1_PORT"
start_device dev-m4 cortex-m4 "$DEV2_PORT"
devices_ready() { # both registered and their node object (target) read
    local j
    j=$(api /api/devices)
    contains "$j" '"target":"host"' && contains "$j" '"target":"cortex-m4"'
}
wait_for 30 devices_ready || fatal "devices did not register with their node info"
out=$("$TMLAAS" devices 2>&1)
check "tmlaas devices lists dev-host online" contains "$out" "dev-host"
check "tmlaas devices lists dev-m4 online" contains "$out" "dev-m4"

# --- push one model, deploy it to every device ---
out=$("$TMLAAS" models push "$MODEL" 2>&1)
check "tmlaas models push: uploaded as fmnist_cnn" contains "$out" "uploaded fmnist_cnn version 1"
MSHA=$(sha256sum "$MODEL" | cut -d' ' -f1)
check "model listed with its sha256" contains "$(api /api/models)" "\"name\":\"fmnist_cnn\",\"version\":1,\"sha256\":\"$MSHA\""
out=$("$TMLAAS" deploy fmnist_cnn --all 2>&1)
check "tmlaas deploy --all: two deployments" test "$(echo "$out" | grep -c 'fmnist_cnn version 1 ->')" = 2
both_installed() {
    test "$(api /api/deployments | grep -o '"state":"installed"' | wc -l)" -ge 2
}
wait_for 120 both_installed || fatal "deployments did not reach 'installed': $(api /api/deployments)"
ok "both deployments installed"
out=$("$TMLAAS" deploy --status 2>&1)
check "tmlaas deploy --status: dev-host installed" contains "$(echo "$out" | grep dev-host)" "installed"
check "tmlaas deploy --status: dev-m4 installed" contains "$(echo "$out" | grep dev-m4)" "installed"

# two builds, one per profile, both done; the package sha each device now runs
BUILDS=$(api /api/builds)
echo "$BUILDS" >"$T/builds.json"
nb=$(python3 - "$T/builds.json" "$MSHA" <<'EOF'
import json, sys
b = json.load(open(sys.argv[1]))["builds"]
print(sorted(x["profile"] for x in b if x["model_sha256"] == sys.argv[2] and x["status"] == "done"))
EOF
)
check "two builds of the model, one per profile: $nb" test "$nb" = "['cortex-m4', 'host']"
PKG=$(python3 -c 'import json,sys; print([b["artifact_sha256"] for b in json.load(open(sys.argv[1]))["builds"] if b["profile"]=="host"][0])' "$T/builds.json")
check "the host build has a package artifact" test ${#PKG} = 64
for ep in dev-host dev-m4; do
    check "device $ep runs fmnist_cnn (API)" contains "$(api /api/devices/$ep)" '"model":{"name":"fmnist_cnn"'
done

# --- /infer on each device == tmlaas run on the host ---
tail -c 3136 "$SAMPLE" >"$T/sample.bin" # the .npy's payload: 1x1x28x28 float32
HOSTCLASS=$("$TMLAAS" run "$MODEL" -i "$SAMPLE" 2>&1 | sed -n 's/.*argmax \([0-9]*\).*/\1/p')
check "tmlaas run on the host gives a class ($HOSTCLASS)" test -n "$HOSTCLASS"
infer_class() { # infer_class PORT -> the class the device answers, or nothing
    coap -m post -f "$T/sample.bin" "coap://127.0.0.1:$1/infer" | sed -n 's/.*"class": *\([0-9]*\).*/\1/p'
}
check "dev-host POST /infer: class $HOSTCLASS" test "$(infer_class "$DEV1_PORT")" = "$HOSTCLASS"
check "dev-m4 POST /infer: class $HOSTCLASS" test "$(infer_class "$DEV2_PORT")" = "$HOSTCLASS"
ACTIVE1=$(coap -m get "coap://127.0.0.1:$DEV1_PORT/32769/0/9")
check "dev-host reports the package sha as its model hash" test "$ACTIVE1" = "$PKG"

# --- tampering 1: a rogue server with a flipped byte and the genuine signature ---
cp "$T/data/artifacts/$PKG" "$T/bad.pkg"
printf '\x5a' | dd of="$T/bad.pkg" bs=1 seek=5000 conv=notrunc 2>/dev/null
check "tampered copy differs by one byte" test "$(cmp -l "$T/data/artifacts/$PKG" "$T/bad.pkg" | wc -l)" = 1
BSHA=$(sha256sum "$T/bad.pkg" | cut -d' ' -f1)
coap -m get "$COAP/a/$PKG.sig" -o "$T/genuine.sig"
check "genuine signature fetched from the service (64 bytes)" test "$(stat -c %s "$T/genuine.sig" 2>/dev/null)" = 64
coap-server-notls -A 127.0.0.1 -p "$ROGUE_PORT" -d 10 -v 0 >>"$T/rogue.log" 2>&1 &
PIDS+=($!)
ROGUE="coap://127.0.0.1:$ROGUE_PORT"
rogue_up() { coap -m put -e x "$ROGUE/ping" >/dev/null && coap -m get "$ROGUE/ping" | grep -q x; }
wait_for 10 rogue_up || fatal "coap-server-notls did not come up"
coap -m put -b 1024 -f "$T/bad.pkg" "$ROGUE/a/$BSHA"
coap -m put -f "$T/genuine.sig" "$ROGUE/a/$BSHA.sig"
coap -m get "$ROGUE/a/$BSHA" -o "$T/rogue.back"
check "rogue server holds the tampered package" cmp -s "$T/rogue.back" "$T/bad.pkg"
DEV1="coap://127.0.0.1:$DEV1_PORT"
out=$(timeout 15 coap-client-notls -B 10 -m put -e "$ROGUE/a/$BSHA" "$DEV1/5/0/1" -v 6 2>&1)
check "Package URI of the tampered copy written to dev-host: 2.04" contains "$out" "2.04"
result_is() { test "$(coap -m get "$2/5/0/5")" = "$1"; }
check "dev-host refused the tampered package: Update Result 5 (integrity)" wait_for 30 result_is 5 "$DEV1"
check "dev-host log says the signature does not verify" grep -q "signature does not verify" "$T/dev-host.log"
check "dev-host Firmware Update state back to idle (0)" test "$(coap -m get "$DEV1/5/0/3")" = 0
out=$(timeout 15 coap-client-notls -B 10 -m post "$DEV1/5/0/2" -v 6 2>&1)
check "Execute of the refused package is not accepted" test "${out/2.04/}" = "$out"
check "dev-host still runs the previous package" test "$(coap -m get "$DEV1/32769/0/9")" = "$PKG"
check "dev-host still answers /infer: class $HOSTCLASS" test "$(infer_class "$DEV1_PORT")" = "$HOSTCLASS"

# the same bytes under the genuine package's name: the hash check refuses them
out=$(timeout 15 coap-client-notls -B 10 -m put -e "" "$DEV1/5/0/1" -v 6 2>&1) # empty URI: reset
check "empty Package URI resets the Update Result to 0" result_is 0 "$DEV1"
coap -m put -b 1024 -f "$T/bad.pkg" "$ROGUE/a/$PKG"
coap -m put -f "$T/genuine.sig" "$ROGUE/a/$PKG.sig"
coap -m put -e "$ROGUE/a/$PKG" "$DEV1/5/0/1" >/dev/null
wait_for 30 grep -q "differs from the uri" "$T/dev-host.log"
check "tampered bytes under the genuine name: refused on the hash" grep -q "differs from the uri" "$T/dev-host.log"
wait_for 10 result_is 5 "$DEV1"
check "... Update Result 5" result_is 5 "$DEV1"
check "... previous model still serving /infer" test "$(infer_class "$DEV1_PORT")" = "$HOSTCLASS"

# --- tampering 2: a flipped byte in the service's stored artifact, then a new deployment ---
cp "$T/data/artifacts/$PKG" "$T/pkg.orig"
printf '\x5a' | dd of="$T/data/artifacts/$PKG" bs=1 seek=5000 conv=notrunc 2>/dev/null
out=$(timeout 15 coap-client-notls -B 10 -m get "$COAP/a/$PKG" -v 6 2>&1)
check "service never serves its tampered artifact: 5.00" contains "$out" "5.00"
out=$("$TMLAAS" deploy fmnist_cnn --to dev-m4 2>&1)
DEP3=$(echo "$out" | sed -n 's/^deployment \([0-9]*\):.*/\1/p' | head -1)
check "redeploy to dev-m4 recorded" test -n "$DEP3"
dep_failed() { contains "$(api "/api/deployments/$DEP3")" '"state":"failed"'; }
wait_for 60 dep_failed
out=$(api "/api/deployments/$DEP3")
check "deployment of the tampered artifact failed" contains "$out" '"state":"failed"'
check "... with the device's LwM2M result code" contains "$out" '"result":4'
check "dev-m4 still runs the previous package" test "$(coap -m get "coap://127.0.0.1:$DEV2_PORT/32769/0/9")" = "$PKG"
check "dev-m4 still answers /infer: class $HOSTCLASS" test "$(infer_class "$DEV2_PORT")" = "$HOSTCLASS"
cp "$T/pkg.orig" "$T/data/artifacts/$PKG"

# --- kill -9 the service, restart it: everything still listed ---
before_dev=$(api /api/devices | python3 -c 'import json,sys; print(sorted(d["endpoint"] for d in json.load(sys.stdin)["devices"]))')
before_dep=$(api /api/deployments | python3 -c 'import json,sys; print(sorted((d["id"],d["state"]) for d in json.load(sys.stdin)["deployments"]))')
{ kill -9 "$SPID"; wait "$SPID"; } 2>/dev/null
start_service
after_dev=$(api /api/devices | python3 -c 'import json,sys; print(sorted(d["endpoint"] for d in json.load(sys.stdin)["devices"]))')
after_dep=$(api /api/deployments | python3 -c 'import json,sys; print(sorted((d["id"],d["state"]) for d in json.load(sys.stdin)["deployments"]))')
check "after kill -9: devices listed ($after_dev)" test "$after_dev" = "$before_dev"
check "after kill -9: both devices present" test "$after_dev" = "['dev-host', 'dev-m4']"
check "after kill -9: model listed" contains "$(api /api/models)" "\"sha256\":\"$MSHA\""
check "after kill -9: builds listed" test "$(api /api/builds)" = "$BUILDS"
check "after kill -9: deployments listed with their states" test "$after_dep" = "$before_dep"
check "after kill -9: device keeps its current model" contains "$(api /api/devices/dev-host)" '"model":{"name":"fmnist_cnn"'
out=$("$TMLAAS" devices 2>&1)
check "after kill -9: tmlaas devices lists both" test "$(echo "$out" | grep -c 'dev-')" = 2
# the devices' next registration update reaches the restarted service (they stay online)
online2() { test "$(api /api/devices | grep -o '"state":"online"' | wc -l)" -ge 2; }
check "after kill -9: devices online" wait_for 30 online2
check "after kill -9: dev-host still answers /infer" test "$(infer_class "$DEV1_PORT")" = "$HOSTCLASS"

finish
