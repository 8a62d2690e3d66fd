#!/bin/sh
# Installs every Debian package the build, the tests, the demo and CI need.
# Idempotent and non-interactive: it asks apt only for what is missing, so a
# second run costs a dpkg query and nothing else.
set -eu

PKGS="build-essential cmake pkg-config clang libclang-rt-14-dev llvm \
protobuf-c-compiler libprotobuf-c-dev \
libsqlite3-dev libsodium-dev libcjson-dev libmicrohttpd-dev \
libcoap3-dev libcoap3-bin curl \
libcmocka-dev zlib1g-dev \
gcc-arm-none-eabi libnewlib-arm-none-eabi qemu-system-arm \
gcc-riscv64-unknown-elf picolibc-riscv64-unknown-elf qemu-system-misc \
gcc-xtensa-lx106 picolibc-xtensa-lx106-elf \
dataset-fashion-mnist \
chromium nodejs"

missing=""
for p in $PKGS; do
    if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
        missing="$missing $p"
    fi
done

if [ -z "$missing" ]; then
    exit 0
fi

echo "install-deps: installing:$missing"
SUDO=""
if [ "$(id -u)" != "0" ]; then SUDO="sudo"; fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
# shellcheck disable=SC2086
$SUDO apt-get install -y -qq --no-install-recommends $missing >/dev/null
