#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# Install what tcshaped needs to build, run its demo and its tests on Debian 12.
# Idempotent: installs only what is missing, so `make demo` and `make test` can
# call it every time. Pass "--print" to list the packages without installing.
set -euo pipefail

pkgs=(
	build-essential pkg-config clang llvm clang-format
	libbpf-dev bpftool libelf-dev zlib1g-dev
	libmnl-dev libnl-3-dev libnl-route-3-dev libyaml-dev libsystemd-dev
	iproute2 iperf3 jq socat iputils-ping python3
	libmicrohttpd-dev
	libclang-rt-14-dev valgrind
	# make deb, make image and the fleet tier (tests/fleet)
	debhelper dpkg-dev fakeroot lintian podman runc catatonit uidmap
	systemd-container debootstrap zstd prometheus curl python3-yaml mandoc
)

if [ "${1:-}" = "--print" ]; then
	printf '%s\n' "${pkgs[@]}"
	exit 0
fi

missing=()
for p in "${pkgs[@]}"; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0

if [ "$(id -u)" -ne 0 ]; then
	echo "install-deps: missing packages: ${missing[*]}; run as root (sudo) to install them" >&2
	exit 1
fi
echo "install-deps: installing ${missing[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
