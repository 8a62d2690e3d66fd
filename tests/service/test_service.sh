#!/usr/bin/env bash
# test_service.sh - `tmlaas serve` driven by clients nobody here wrote: Debian's
# coap-client-notls (libcoap3-bin) registers devices over CoAP, curl uses the HTTP API.
#
# Starts the service on free ports in a temp dir, registers a device, checks malformed
# registrations get 4.xx and change nothing, lists devices, checks 401 without a token (and
# that nothing changed), uploads a model (and one over the size limit), records a deployment,
# kills the service with SIGKILL, restarts it, and checks everything is still there and the
# old registration id still updates; then de-registers and stops with SIGTERM (exit 0).
# Waits are polls with a deadline, never assertions about how long something took.
set -u

skip() { echo "test_service: SKIP: $*"; exit 0; }
[ -n "${TMLAAS:-}" ] && [ -x "${TMLAAS}" ] || skip "\$TMLAAS ('${TMLAAS:-}') is not an executable"
command -v coap-client-notls >/dev/null || skip "coap-client-notls (libcoap3-bin) not installed"
command -v curl >/dev/null || skip "curl not installed"
"$TMLAAS" serve --help >/dev/null 2>&1 || skip "'$TMLAAS serve' is not wired to tml_serve_main yet"

T=$(mktemp -d /tmp/tml_service_XXXXXX)
PID=
cleanup() {
    [ -n "$PID" ] && kill -9 "$PID" 2>/dev/null
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

free_port() { # a port nothing listens on (TCP and UDP)
    python3 - "$1" <<'EOF' 2>/dev/null || echo $((20000 + RANDOM % 20000))
import socket, sys
kind = socket.SOCK_DGRAM if sys.argv[1] == "udp" else socket.SOCK_STREAM
s = socket.socket(socket.AF_INET, kind)
s.bind(("127.0.0.1", 0))
print(s.getsockname()[1])
EOF
}
HTTP_PORT=$(free_port tcp)
COAP_PORT=$(free_port udp)
COAPS_PORT=$(free_port udp)
URL="http://127.0.0.1:$HTTP_PORT"
COAP="coap://127.0.0.1:$COAP_PORT"
COAPS="coaps://127.0.0.1:$COAPS_PORT"
DATA="$T/data"

start() {
    "$TMLAAS" serve --data-dir "$DATA" --http-port "$HTTP_PORT" --coap-port "$COAP_PORT" \
        --coaps-port "$COAPS_PORT" --coap-bind 127.0.0.1 --max-model-size 65536 2>>"$T/serve.log" &
    PID=$!
    local i
    for i in $(seq 1 100); do
        curl -sf "$URL/api/health" >/dev/null 2>&1 && return 0
        kill -0 "$PID" 2>/dev/null || break
        sleep 0.1
    done
    echo "service did not come up; log:"; cat "$T/serve.log"
    exit 1
}

start
TOKEN=$(cat "$DATA/admin.token")
check "admin.token is 64 hex digits" contains "$(echo "$TOKEN" | grep -E '^[0-9a-f]{64}$')" "$TOKEN"
check "admin.token has mode 0600" test "$(stat -c %a "$DATA/admin.token")" = 600

# --- registration over CoAP with a real client ---
out=$(coap-client-notls -m post "$COAP/rd?ep=dev1&lt=60&lwm2m=1.1&b=U" -e '</3/0>,</5/0>' -v 6 2>&1)
check "register dev1: 2.01 Created" contains "$out" "c:2.01"
check "register dev1: Location-Path rd/<id>" contains "$out" "Location-Path:rd"
REG=$(echo "$out" | grep -o 'Location-Path:[0-9a-f]*' | tail -1 | cut -d: -f2)
check "registration id parsed" test -n "$REG"

out=$(coap-client-notls -m post "$COAP/rd?lt=60&lwm2m=1.1" -e '</3/0>' 2>&1)
check "register without ep: 4.00 with a reason" contains "$out" "4.00 registration: missing endpoint"
out=$(coap-client-notls -m post "$COAP/rd?ep=dev9" -e '</3/0' 2>&1)
check "register with broken link format: 4.00" contains "$out" "4.00 link-format"
out=$(coap-client-notls -m post "$COAP/rd?ep=dev9&lwm2m=9.9" -e '</3/0>' 2>&1)
check "register with unknown LwM2M version: 4.12" contains "$out" "4.12"
out=$(coap-client-notls -m post "$COAP/rd?ep=dev9" -t json -e '</3/0>' 2>&1)
check "register with a JSON content format: 4.15" contains "$out" "4.15"
out=$(coap-client-notls -m post "$COAP/rd/0123456789ab" 2>&1)
check "update of an unknown registration: 4.04" contains "$out" "4.04"

# a registration payload larger than one block (block-wise, RFC 7959)
python3 -c "print(','.join('</%d/0>' % i for i in range(600)), end='')" >"$T/links.txt" 2>/dev/null ||
    for i in $(seq 0 599); do printf '</%d/0>,' "$i"; done | sed 's/,$//' >"$T/links.txt"
coap-client-notls -m post "$COAP/rd?ep=big&lt=60" -f "$T/links.txt" -b 64 >/dev/null 2>&1
out=$(curl -s "$URL/api/devices/big")
check "block-wise registration stored all 600 links" contains "$out" "</599/0>"

# --- HTTP API with curl ---
out=$(curl -s "$URL/api/devices")
check "GET /api/devices lists dev1 online" contains "$out" '"endpoint":"dev1","state":"online"'
check "GET /api/devices does not list rejected dev9" test "${out/dev9/}" = "$out"
code=$(curl -s -o /dev/null -w '%{http_code}' "$URL/api/devices/nope")
check "GET unknown device: 404" test "$code" = 404

printf '\x08\x07\x12\x07tmlaas\x00' >"$T/tiny.onnx"
code=$(curl -s -o "$T/r.json" -w '%{http_code}' -X POST --data-binary @"$T/tiny.onnx" "$URL/api/models?name=tiny")
check "POST /api/models without token: 401" test "$code" = 401
check "401 body is a JSON error" contains "$(cat "$T/r.json")" '"error"'
code=$(curl -s -o /dev/null -w '%{http_code}' -X POST -H "Authorization: Bearer 0000" --data-binary @"$T/tiny.onnx" "$URL/api/models?name=tiny")
check "POST /api/models with a wrong token: 401" test "$code" = 401
check "nothing stored after 401" test "$(curl -s "$URL/api/models")" = '{"models":[]}'
check "no artifact written after 401" test -z "$(ls "$DATA/artifacts")"
code=$(curl -s -o /dev/null -w '%{http_code}' -X DELETE "$URL/api/models/tiny")
check "DELETE without token: 401" test "$code" = 401

AUTH="Authorization: Bearer $TOKEN"
code=$(curl -s -o "$T/r.json" -w '%{http_code}' -X POST -H "$AUTH" --data-binary @"$T/tiny.onnx" "$URL/api/models?name=tiny")
check "POST /api/models with token: 201" test "$code" = 201
SHA=$(sha256sum "$T/tiny.onnx" | cut -d' ' -f1)
check "upload answers version 1 and the sha256" contains "$(cat "$T/r.json")" "\"version\":1,\"sha256\":\"$SHA\""
check "artifact stored under its sha256" cmp -s "$DATA/artifacts/$SHA" "$T/tiny.onnx"
# an artifact fetched block-wise over CoAP (Block2) is byte-identical; its signature is 64 bytes
{ printf '\x08\x07'; head -c 50000 /dev/urandom; } >"$T/mid.onnx"
curl -s -o /dev/null -X POST -H "$AUTH" --data-binary @"$T/mid.onnx" "$URL/api/models?name=mid"
MSHA=$(sha256sum "$T/mid.onnx" | cut -d' ' -f1)
coap-client-notls -m get -b 64 "$COAP/a/$MSHA" -o "$T/fetched" >/dev/null 2>&1
check "GET /a/<sha256> over CoAP, 64-byte blocks: identical bytes" cmp -s "$T/fetched" "$T/mid.onnx"
coap-client-notls -m get "$COAP/a/$MSHA.sig" -o "$T/sig" >/dev/null 2>&1
check "GET /a/<sha256>.sig: a 64-byte Ed25519 signature" test "$(stat -c %s "$T/sig" 2>/dev/null)" = 64
check "GET /api/signing-key: ed25519 public key" contains "$(curl -s "$URL/api/signing-key")" '"algorithm":"ed25519","public_key":"'
out=$(coap-client-notls -m get "$COAP/a/$(printf '0%.0s' $(seq 64))" 2>&1)
check "GET of an unknown artifact: 4.04" contains "$out" "4.04"
printf 'X' | dd of="$DATA/artifacts/$MSHA" bs=1 seek=1000 conv=notrunc 2>/dev/null
out=$(coap-client-notls -m get "$COAP/a/$MSHA" 2>&1)
check "a tampered artifact file is never served: 5.00" contains "$out" "5.00"
check "signing.key has mode 0600" test "$(stat -c %a "$DATA/signing.key")" = 600
head -c 70000 /dev/zero | tr '\0' '\10' >"$T/big.onnx"
code=$(curl -s -o /dev/null -w '%{http_code}' -X POST -H "$AUTH" --data-binary @"$T/big.onnx" "$URL/api/models?name=big")
check "upload over --max-model-size: 413" test "$code" = 413
code=$(curl -s -o /dev/null -w '%{http_code}' -X POST -H "$AUTH" --data-binary 'hello' "$URL/api/models?name=junk")
check "upload of a non-model: 415" test "$code" = 415
code=$(curl -s -o /dev/null -w '%{http_code}' -X POST -H "$AUTH" --data-binary @"$T/tiny.onnx" "$URL/api/models?name=../x")
check "upload with a bad name: 400" test "$code" = 400

code=$(curl -s -o "$T/r.json" -w '%{http_code}' -X POST -H "$AUTH" -d '{"model":"tiny","device":"dev1"}' "$URL/api/deployments")
check "POST /api/deployments: 201 pending" test "$code" = 201
check "deployment is pending" contains "$(cat "$T/r.json")" '"state":"pending"'
DEP=$(grep -o '"id":[0-9]*' "$T/r.json" | head -1 | cut -d: -f2)
check "GET /api/deployments/{id}" contains "$(curl -s "$URL/api/deployments/$DEP")" '"model":"tiny"'
check "GET /api/models/{name}" contains "$(curl -s "$URL/api/models/tiny")" "\"sha256\":\"$SHA\""
code=$(curl -s -o /dev/null -w '%{http_code}' "$URL/api/builds/7")
check "GET unknown build: 404" test "$code" = 404
code=$(curl -s -o /dev/null -w '%{http_code}' -X POST -H "$AUTH" -d '{"model":"tiny"}' "$URL/api/deployments")
check "deployment without a target: 400" test "$code" = 400
code=$(curl -s -o /dev/null -w '%{http_code}' -X POST -H "$AUTH" -d '{"model":"nope","all":true}' "$URL/api/deployments")
check "deployment of an unknown model: 404" test "$code" = 404
code=$(curl -s -o /dev/null -w '%{http_code}' -X POST -H "$AUTH" -d '{"model":' "$URL/api/deployments")
check "deployment with broken JSON: 400" test "$code" = 400

# the CLI client against the same service (once tmlaas dispatches devices/models/deploy)
if "$TMLAAS" devices --help >/dev/null 2>&1; then
    out=$(TMLAAS_URL="$URL" "$TMLAAS" devices 2>&1)
    check "tmlaas devices lists dev1" contains "$out" "dev1"
    out=$(TMLAAS_URL="$URL" "$TMLAAS" models push "$T/tiny.onnx" --data-dir "$DATA" 2>&1)
    check "tmlaas models push of the same bytes: unchanged" contains "$out" "unchanged"
    out=$(TMLAAS_URL="$URL" TMLAAS_TOKEN=wrong "$TMLAAS" deploy tiny --all 2>&1)
    check "tmlaas deploy with a wrong token fails with 401" contains "$out" "HTTP 401"
    out=$(TMLAAS_URL="$URL" "$TMLAAS" deploy --status 2>&1)
    check "tmlaas deploy --status lists the pending deployment" contains "$out" "pending"
else
    echo "skip - CLI client checks: 'tmlaas devices' is not wired to tml_client_main yet"
fi

# --- DTLS with pre-shared keys (coap-client-openssl) ---
if command -v coap-client-openssl >/dev/null; then
    KEYHEX=$(printf 'secret-dev2' | od -An -tx1 | tr -d ' \n')
    code=$(curl -s -o /dev/null -w '%{http_code}' -X PUT -d "{\"key\":\"$KEYHEX\"}" "$URL/api/psks/dev2")
    check "PUT /api/psks without token: 401" test "$code" = 401
    code=$(curl -s -o "$T/r.json" -w '%{http_code}' -X PUT -H "$AUTH" -d "{\"key\":\"$KEYHEX\"}" "$URL/api/psks/dev2")
    check "PUT /api/psks/dev2: 201" test "$code" = 201
    check "GET /api/psks lists identities, not keys" test "$(curl -s "$URL/api/psks")" = '{"identities":["dev2"]}'
    out=$(coap-client-openssl -B 10 -u dev2 -k secret-dev2 -m post "$COAPS/rd?ep=dev2&lt=60&lwm2m=1.1" -e '</3/0>' -v 6 2>&1)
    check "register over DTLS with the right key: 2.01" contains "$out" "c:2.01"
    out=$(coap-client-openssl -B 10 -u dev2 -k secret-dev2 -m post "$COAPS/rd?ep=dev1&lt=60" -e '</3/0>' 2>&1)
    check "DTLS identity registering another endpoint: 4.03" contains "$out" "4.03"
    out=$(coap-client-openssl -B 5 -u dev2 -k wrong-key -m post "$COAPS/rd?ep=dev2&lt=60" -e '</3/0>' -v 6 2>&1)
    check "DTLS with a wrong key gets nothing" test "${out/c:2.0/}" = "$out"
    out=$(coap-client-openssl -B 5 -u ghost -k secret-dev2 -m post "$COAPS/rd?ep=ghost&lt=60" -e '</3/0>' -v 6 2>&1)
    check "DTLS with an unknown identity gets nothing" test "${out/c:2.0/}" = "$out"
    out=$(coap-client-notls -m post "$COAP/rd?ep=dev2&lt=60" -e '</3/0>' 2>&1)
    check "plain CoAP for an endpoint that has a key: 4.03" contains "$out" "4.03"
    check "ghost never registered" test "$(curl -s -o /dev/null -w '%{http_code}' "$URL/api/devices/ghost")" = 404
else
    echo "skip - DTLS checks: coap-client-openssl not installed"
fi

# --- kill -9 and restart: nothing lost ---
{ kill -9 "$PID"; wait "$PID"; } 2>/dev/null
PID=
start
out=$(curl -s "$URL/api/devices")
check "after kill -9: dev1 still registered" contains "$out" '"endpoint":"dev1","state":"online"'
check "after kill -9: model still listed" contains "$(curl -s "$URL/api/models")" "\"sha256\":\"$SHA\""
check "after kill -9: deployment still pending" contains "$(curl -s "$URL/api/deployments")" '"device":"dev1","build":null,"state":"pending"'
check "after kill -9: same admin token" test "$(cat "$DATA/admin.token")" = "$TOKEN"
out=$(coap-client-notls -m post "$COAP/rd/$REG?lt=90" -v 6 2>&1)
check "update of the pre-restart registration: 2.04" contains "$out" "c:2.04"
check "update changed the lifetime" contains "$(curl -s "$URL/api/devices/dev1")" '"lifetime":90'
out=$(coap-client-notls -m delete "$COAP/rd/$REG" -v 6 2>&1)
check "de-register: 2.02" contains "$out" "c:2.02"
check "de-registered device is offline" contains "$(curl -s "$URL/api/devices/dev1")" '"state":"offline"'

# --- clean shutdown ---
kill -TERM "$PID"
rc=1
for i in $(seq 1 100); do
    if ! kill -0 "$PID" 2>/dev/null; then wait "$PID"; rc=$?; break; fi
    sleep 0.1
done
check "SIGTERM: clean exit 0" test "$rc" = 0
PID=
check "log has one line per registration" test "$(grep -c "device 'dev1' registered" "$T/serve.log")" = 1

if [ "$fails" -ne 0 ]; then
    echo "--- serve.log ---"; cat "$T/serve.log"
    echo "test_service: $fails check(s) failed"
    exit 1
fi
echo "test_service: all checks passed"
