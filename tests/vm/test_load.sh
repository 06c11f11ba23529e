#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# vm tier: build/tcshape.bpf.o loads, every program of it, on Debian 12's
# stock 6.1 kernel, whose verifier is older than the build host's. A gate of
# its own because the bpf tier skips, rather than fails, when the classifier
# cannot be loaded. On failure it shows the verifier's verdict verbatim.
set -u

VM=$(dirname "${BASH_SOURCE[0]}")/run.sh
out=$(mktemp "${TMPDIR:-/tmp}/tcs-vm-load.XXXXXX") || exit 1
trap 'rm -f "$out"' EXIT

# shellcheck disable=SC2016 # expanded in the guest
"$VM" exec --timeout "${TCS_VM_TIMEOUT:-600}" -- '
obj=build/tcshape.bpf.o
if [ ! -f "$obj" ]; then
	echo "LOAD: missing $obj (run make)"
	exit 0
fi
pins=/sys/fs/bpf/tcs-load
if bpftool prog loadall "$obj" "$pins" > /tmp/load.log 2>&1; then
	echo "LOAD: ok: $(ls "$pins" | tr "\n" " ")on $(uname -r)"
	for p in "$pins"/*; do bpftool prog show pinned "$p" | sed "s/^/    /"; done
else
	echo "LOAD: failed on $(uname -r)"
	grep -E "BPF program load failed|too large|^processed [0-9]+ insns|failed to load" \
		/tmp/load.log | sed "s/^/    /"
	echo "    last lines of the verifier log before its verdict:"
	grep -B 8 -m 1 -E "too large|^processed [0-9]+ insns" /tmp/load.log | head -n 8 |
		cut -c 1-200 | sed "s/^/      /"
fi' > "$out" 2>&1
rc=$?

if grep -q '^SKIP vm:' "$out"; then
	grep '^SKIP vm:' "$out" | sed 's/^SKIP vm:/SKIP load:/'
	echo "vm-load: 0 passed, 0 failed, 1 skipped"
	exit 0
fi
line=$(grep -m 1 '^LOAD: ' "$out")
case $line in
"LOAD: ok:"*)
	echo "PASS load: ${line#LOAD: ok: }"
	[ -n "${V:-}" ] && sed -n '/^LOAD: /,/^tcs-vm: command took/p' "$out" | sed '1d;$d'
	echo "vm-load: 1 passed, 0 failed, 0 skipped"
	;;
"")
	echo "FAIL load: no result from the vm (exit $rc)"
	sed 's/^/    /' "$out"
	echo "vm-load: 0 passed, 1 failed, 0 skipped"
	;;
*)
	echo "FAIL load: ${line#LOAD: }"
	sed -n '/^LOAD: /,/^tcs-vm: command took/p' "$out" | sed '1d;$d'
	echo "vm-load: 0 passed, 1 failed, 0 skipped"
	;;
esac
