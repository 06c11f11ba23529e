#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# vm tier, in one boot of Debian 12's stock 6.1 kernel under qemu
# (tests/vm/run.sh):
#   load: build/tcshape.bpf.o loads, every program of it, on a verifier older
#         than the build host's. Judged on its own because the bpf tier skips,
#         rather than fails, when the classifier cannot be loaded; on failure
#         it shows the verifier's verdict verbatim.
#   then the bpf tier (BPF_PROG_TEST_RUN on the classifier, tc attach).
# The summary line adds both up under the name vm-bpf.
set -u

VM=$(dirname "${BASH_SOURCE[0]}")/run.sh
out=$(mktemp "${TMPDIR:-/tmp}/tcs-vm-bpf.XXXXXX") || exit 1
trap 'rm -f "$out"' EXIT

# shellcheck disable=SC2016 # expanded in the guest
"$VM" exec --timeout "${TCS_VM_TIMEOUT:-2300}" -- '
obj=build/tcshape.bpf.o
pins=/sys/fs/bpf/tcs-load
if [ ! -f "$obj" ]; then
	echo "LOAD: missing $obj (run make)"
elif bpftool prog loadall "$obj" "$pins" > /tmp/load.log 2>&1; then
	echo "LOAD: ok: $(ls "$pins" | tr "\n" " ")on $(uname -r)"
	if [ -n "${V:-}" ]; then
		for p in "$pins"/*; do bpftool prog show pinned "$p" | sed "s/^/    /"; done
	fi
	rm -rf "$pins"
else
	echo "LOAD: failed on $(uname -r)"
	grep -E "BPF program load failed|too large|^processed [0-9]+ insns|failed to load" \
		/tmp/load.log | sed "s/^/    /"
	echo "    last lines of the verifier log before its verdict:"
	grep -B 8 -m 1 -E "too large|^processed [0-9]+ insns" /tmp/load.log | head -n 8 |
		cut -c 1-200 | sed "s/^/      /"
fi
bash tests/run.sh bpf' 2>&1 | tee "$out"
rc=${PIPESTATUS[0]}

if grep -q '^SKIP vm:' "$out"; then
	echo "vm-bpf: 0 passed, 0 failed, 1 skipped"
	exit 0
fi
p=0 f=0 s=0
line=$(grep -m 1 '^LOAD: ' "$out")
case $line in
"LOAD: ok:"*)	echo "PASS load: ${line#LOAD: ok: }"; p=1 ;;
"")		echo "FAIL load: no result from the vm (exit $rc)"; f=1 ;;
*)		echo "FAIL load: ${line#LOAD: }"; f=1 ;;
esac
# the bpf tier's total: tests/run.sh's last line in the guest
line=$(grep -E '^[0-9]+ passed, [0-9]+ failed, [0-9]+ skipped$' "$out" | tail -n 1)
if [ -z "$line" ]; then
	echo "FAIL bpf: no total from the vm (exit $rc)"
	f=$((f + 1))
else
	read -r bp bf bs <<< "$(sed -E 's/^([0-9]+) passed, ([0-9]+) failed, ([0-9]+) skipped$/\1 \2 \3/' <<< "$line")"
	p=$((p + bp)) f=$((f + bf)) s=$((s + bs))
fi
echo "vm-bpf: $p passed, $f failed, $s skipped"
exit "$rc"
