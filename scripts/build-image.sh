#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# `make image`: the OCI image localhost/tcshaped:VERSION, built with podman
# and no registry. No base image can be pulled, so the root file system is
# debootstrapped from Debian packages (minbase and tcshaped's runtime
# libraries; cached in /var/cache/tcshaped-image like the system tier's),
# the package from `make deb` is installed into it with dpkg, and the tree
# is imported. It runs `tcshaped --watch -c /etc/tcshaped/policy.yaml` in the
# foreground: mount the policy's directory (a ConfigMap) on /etc/tcshaped.
set -euo pipefail

TCS_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$TCS_ROOT"
# the system tier's debootstrap and cache, with the image's own package list
# shellcheck source=../tests/system/run.sh
source tests/system/run.sh
set -euo pipefail
CACHE=${TCS_IMAGE_CACHE:-/var/cache/tcshaped-image}
PKGS=procps,iproute2,libbpf1,libmnl0,libnl-route-3-200,libyaml-0-2,libsystemd0,libmicrohttpd12
SUITE=image
if [ "${1:-}" = cache ]; then	# the rootfs cache only (tests/run.sh, beside the vm gate)
	set +e
	cache_only
	exit
fi

# DEB=FILE: that package instead of build/deb's
deb=${DEB:-$(ls build/deb/tcshaped_*.deb 2>/dev/null | head -1)}
[ -n "$deb" ] || { echo "make image: no build/deb/tcshaped_*.deb (make deb)" >&2; exit 1; }
ver=$(dpkg-deb -f "$deb" Version)
tag=localhost/tcshaped:$ver

WORK=$(mktemp -d "${TMPDIR:-/var/tmp}/tcs-image.XXXXXX")
trap 'rm -rf "$WORK"' EXIT
ROOTFS=$WORK/rootfs
set +e
prepare_rootfs
rc=$?
set -e
[ $rc -eq 0 ] || { echo "make image: no Debian root file system (debootstrap)" >&2; exit 1; }

cp "$deb" "$ROOTFS/tmp/"
# no systemd runs in the chroot: the maintainer scripts start nothing
chroot "$ROOTFS" dpkg -i "/tmp/$(basename "$deb")" > "$WORK/dpkg.log" 2>&1 ||
	{ cat "$WORK/dpkg.log" >&2; exit 1; }
rm -rf "$ROOTFS/tmp/"* "$ROOTFS/var/cache/apt/"*.bin "$ROOTFS/var/lib/apt/lists/"* \
	"$ROOTFS/usr/share/doc/"*/changelog* "$ROOTFS/var/log/"*.log
echo tcshaped > "$ROOTFS/etc/hostname"

echo "  IMAGE    $tag"
tar --numeric-owner -C "$ROOTFS" -c . |
	podman import -q \
		--change 'ENTRYPOINT ["/usr/sbin/tcshaped"]' \
		--change 'CMD ["--watch", "-c", "/etc/tcshaped/policy.yaml"]' \
		--change 'STOPSIGNAL SIGTERM' \
		--change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
		--change "LABEL org.opencontainers.image.title=tcshaped org.opencontainers.image.version=$ver" \
		- "$tag" > "$WORK/id"
podman tag "$tag" localhost/tcshaped:latest
echo "  IMAGE    $tag ($(podman image inspect -f '{{.Size}}' "$tag" | awk '{ printf "%.0f MB", $1 / 1e6 }'), id $(cut -c1-12 "$WORK/id"))"
