#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# Run the test tiers and add up their results: `make test` calls
# `tests/run.sh all`; `tests/run.sh unit|bpf|e2e|system|vm ...` runs some tiers.
#   unit: build/tests/unit/test_X for each tests/unit/test_X.c  (no root)
#   bpf:  build/tests/bpf/test_X for each tests/bpf/test_X.c    (root: BPF_PROG_TEST_RUN)
#   fuzz: build/tests/fuzz/fuzz_X for each tests/fuzz/fuzz_X.c replays its
#         corpus tests/fuzz/corpus/X/ (libFuzzer, ASan, UBSan; `make fuzz` mutates)
#   e2e:  tests/e2e/test_*.sh                                   (root: netns, tc, traffic)
#   system: tests/system/run.sh: the unit under a real systemd (nspawn)    (root)
#   vm:   tests/vm/test_*.sh: Debian's stock 6.1 kernel under qemu     (root)
#         vm-gate: its suite that judges no rate (the classifier loads, the bpf
#         tier); vm-rest: the other (the e2e and pace tiers, one boot)
#   fleet: tests/fleet/test_*.sh: make deb under systemd (nspawn), make image
#         and deploy/kubernetes under podman kube play               (root)
#   san:  `make test SANITIZE=1` (B=build-san): the unit tier and the e2e
#         daemon tests on the ASan/UBSan build, valgrind on the normal
#         daemon (tests/san/), then any sanitizer report fails the run   (root)
#   pace: tests/pace/test_*.sh: EDT pacing with fq vs HTB; needs sch_fq, so the
#         vm tier runs it inside the vm (not part of all)             (root)
# The binaries are found from their sources, so a stale binary whose source
# is gone does not run, and a missing one is a failure.
# Every suite ends with "SUITE: N passed, N failed, N skipped"; the last line
# of this script is the sum, "N passed, N failed, N skipped", and its status
# is non-zero if any suite failed, crashed, timed out or gave no summary.
set -u

cd "$(dirname "${BASH_SOURCE[0]}")/.." || exit 2

B=${B:-build}
# the e2e scripts run the daemon and the tool of this build
export TCSHAPED=${TCSHAPED:-$PWD/$B/tcshaped}
export TCSHAPECTL=${TCSHAPECTL:-$PWD/$B/tcshapectl}
TIMEOUT_UNIT=${TIMEOUT_UNIT:-120}
TIMEOUT_BPF=${TIMEOUT_BPF:-300}
TIMEOUT_FUZZ=${TIMEOUT_FUZZ:-300}
TIMEOUT_E2E=${TIMEOUT_E2E:-1200}
TIMEOUT_SYSTEM=${TIMEOUT_SYSTEM:-900}	# the first run debootstraps (about 100 s)
TIMEOUT_VM=${TIMEOUT_VM:-2400}		# qemu without KVM
TIMEOUT_FLEET=${TIMEOUT_FLEET:-900}	# the first run debootstraps the image's rootfs

pass=0
fail=0
skip=0
bad=()			# suites that failed, for the recap

usage()
{
	echo "usage: $0 [all|unit|bpf|fuzz|e2e|system|vm|vm-gate|vm-rest|fleet|pace|san]..." >&2
	exit 2
}

# run_suite NAME TIMEOUT CMD...: run one suite, show its output as it comes,
# and add its summary line to the totals.
run_suite()
{
	local name=$1 t=$2 out rc line p f s t0=$SECONDS
	shift 2
	out=$(mktemp "${TMPDIR:-/tmp}/tcs-run.XXXXXX")
	echo "== $name"
	timeout -k 60 "$t" "$@" 2>&1 | tee "$out"
	rc=${PIPESTATUS[0]}
	echo "TIME $name: $((SECONDS - t0)) s"
	line=$(grep -E '^[^ ]+: [0-9]+ passed, [0-9]+ failed, [0-9]+ skipped$' "$out" | tail -n 1)
	rm -f "$out"

	if [ -z "$line" ]; then
		case $rc in
		0)	echo "FAIL $name: exited 0 without a summary line" ;;
		124)	echo "FAIL $name: timed out after ${t}s" ;;
		*)	if [ "$rc" -gt 128 ]; then
				echo "FAIL $name: crashed (signal $((rc - 128))) without a summary line"
			else
				echo "FAIL $name: exited $rc without a summary line"
			fi ;;
		esac
		fail=$((fail + 1))
		bad+=("$name")
		return
	fi
	read -r p f s <<< "$(sed -E 's/^.*: ([0-9]+) passed, ([0-9]+) failed, ([0-9]+) skipped$/\1 \2 \3/' <<< "$line")"
	pass=$((pass + p))
	fail=$((fail + f))
	skip=$((skip + s))
	if [ "$f" -gt 0 ]; then
		bad+=("$name")
	elif [ "$rc" -ne 0 ]; then
		# a summary with no failure, then a non-zero exit: count it
		echo "FAIL $name: exited $rc after its summary"
		fail=$((fail + 1))
		bad+=("$name")
	fi
}

# not_built NAME PATH: a suite whose binary is missing counts as failed
not_built()
{
	echo "== $1"
	echo "FAIL $1: $2 not built (run make)"
	fail=$((fail + 1))
	bad+=("$1")
}

# skip_suite NAME REASON
skip_suite()
{
	echo "== $1"
	echo "SKIP $1: $2"
	skip=$((skip + 1))
}

# tier TIER NEEDS_ROOT TIMEOUT SOURCES...
tier()
{
	local tier=$1 needs_root=$2 t=$3 src path name found=0
	shift 3
	for src in "$@"; do
		[ -e "$src" ] || continue
		found=1
		case $src in
		*.c)	path=$B/${src%.c} ;;
		*)	path=$src ;;
		esac
		name="$tier/$(basename "$path")"
		if [ "$needs_root" = 1 ] && [ "$(id -u)" -ne 0 ]; then
			skip_suite "$name" "needs root (sudo make test)"
		elif [ "$src" = "$path" ]; then	# a script
			run_suite "$name" "$t" bash "$path"
		elif [ ! -x "$path" ]; then
			not_built "$name" "$path"
		else
			run_suite "$name" "$t" "$path"
		fi
	done
	[ $found -eq 1 ] || echo "== $tier: no suites"
}

# fuzz_tier: each target replays its corpus (tests/fuzz/replay.sh)
fuzz_tier()
{
	local src name found=0

	for src in tests/fuzz/fuzz_*.c; do
		[ -e "$src" ] || continue
		found=1
		name=$(basename "$src" .c)
		if [ ! -x "$B/tests/fuzz/$name" ]; then
			not_built "fuzz/$name" "$B/tests/fuzz/$name"
		else
			run_suite "fuzz/$name" "$TIMEOUT_FUZZ" bash tests/fuzz/replay.sh \
				"$B/tests/fuzz/$name" "tests/fuzz/corpus/${name#fuzz_}"
		fi
	done
	[ $found -eq 1 ] || echo "== fuzz: no suites"
}

# The e2e tests the san tier runs: the ones that drive the daemon's own code.
# Every lifecycle test; of test_police.sh and test_sockpace.sh one test per
# daemon code path rather than each rate, family and key kind (those
# exercise the kernel side, which no sanitizer sees). "SCRIPT" alone: all.
SAN_E2E=(
	"test_lifecycle.sh"
	"test_police.sh udp_per_flow_v4_10mbit udp_per_src_v6_10mbit tcp_per_flow_v4_10mbit
	 unmatched_passes_uncharged sighup_rate sighup_broken_keeps_old sigterm_cleanup check_mode"
	"test_sockpace.sh flow_v4_10mbit reload_halves_rate rule_removed_releases sigterm_releases
	 tcp_health_stats"
)

# san_tier: ASan and UBSan write their reports under $B/san/, not to the
# tests' logs: a report from any process, even one a test did not watch,
# fails the last suite.
san_tier()
{
	local logs=$PWD/$B/san reports e words

	rm -rf "$logs" && mkdir -p "$logs"
	export ASAN_OPTIONS="detect_leaks=1:log_path=$logs/asan:log_exe_name=1"
	export UBSAN_OPTIONS="halt_on_error=1:print_stacktrace=1:log_path=$logs/ubsan:log_exe_name=1"
	tier unit 0 "$TIMEOUT_UNIT" tests/unit/test_*.c
	for e in "${SAN_E2E[@]}"; do
		read -r -a words <<< "$(tr '\n' ' ' <<< "$e")"
		[ -e "tests/e2e/${words[0]}" ] || continue
		if [ "$(id -u)" -ne 0 ]; then
			skip_suite "e2e/${words[0]}" "needs root (sudo make test)"
		else
			run_suite "e2e/${words[0]}" "$TIMEOUT_E2E" bash "tests/e2e/${words[0]}" "${words[@]:1}"
		fi
	done
	unset ASAN_OPTIONS UBSAN_OPTIONS
	tier san 1 "$TIMEOUT_E2E" tests/san/test_*.sh

	echo "== san/reports"
	reports=$(find "$logs" -type f | sort)
	if [ -n "$reports" ]; then
		for r in $reports; do
			echo "FAIL san/reports: $r"
			head -n 30 "$r" | sed 's/^/    /'
		done
		echo "san/reports: 0 passed, 1 failed, 0 skipped"
		fail=$((fail + 1))
		bad+=(san/reports)
	else
		echo "PASS san/reports: no ASan, LeakSanitizer or UBSan report"
		pass=$((pass + 1))
	fi
}

# The vm tier's suite that judges no rate: the classifier loads, and the bpf
# tier, on 6.1. The other (e2e and pace) judges rates under an emulated CPU.
VM_GATE=(tests/vm/test_bpf.sh)

# all: the vm's gate suite, and the unit, bpf and fuzz tiers, judge no rate,
# so they share the two cores: the gate runs in the background (its own
# run.sh, its output shown and its totals added once it is done), and so do
# the rootfs caches (caches_bg). Every tier that judges a rate (e2e, system,
# the rest of vm, fleet) runs alone, after both.
vm_gate_bg()
{
	VM_GATE_LOG=$(mktemp "${TMPDIR:-/tmp}/tcs-vmgate.XXXXXX")
	"$PWD/tests/run.sh" vm-gate > "$VM_GATE_LOG" 2>&1 &
	VM_GATE_PID=$!
}

# The Debian rootfs tarballs the system and fleet tiers unpack: debootstrapped
# once and cached (tests/system/run.sh), which on a fresh machine (CI) takes
# minutes of downloading and unpacking and judges no rate. Filled in the
# background too, and waited for with the vm gate. At the lowest CPU and I/O
# priority: the gate's classifier tests time packets against buckets that
# refill in tens of milliseconds, and under TCG every descheduled moment of
# the emulator is guest time too.
caches_bg()
{
	CACHES_LOG=$(mktemp "${TMPDIR:-/tmp}/tcs-caches.XXXXXX")
	{
		env -u TCS_SYSTEM_REFRESH nice -n 19 ionice -c 2 -n 7 tests/system/run.sh cache &
		env -u TCS_SYSTEM_REFRESH nice -n 19 ionice -c 2 -n 7 scripts/build-image.sh cache &
		wait
	} > "$CACHES_LOG" 2>&1 &
	CACHES_PID=$!
}

caches_wait()
{
	wait "$CACHES_PID"
	echo "== rootfs caches (filled beside unit, bpf and fuzz)"
	cat "$CACHES_LOG"
	rm -f "$CACHES_LOG"
}

vm_gate_wait()
{
	local line p f s

	wait "$VM_GATE_PID"
	echo "== vm gate (ran beside unit, bpf and fuzz)"
	grep -v -E '^([0-9]+ passed, [0-9]+ failed, [0-9]+ skipped|failed suites: .*)$' "$VM_GATE_LOG"
	line=$(grep -E '^[0-9]+ passed, [0-9]+ failed, [0-9]+ skipped$' "$VM_GATE_LOG" | tail -n 1)
	if [ -z "$line" ]; then
		echo "FAIL vm gate: no totals"
		fail=$((fail + 1))
		bad+=(vm-gate)
	else
		read -r p f s <<< "$(sed -E 's/^([0-9]+) passed, ([0-9]+) failed, ([0-9]+) skipped$/\1 \2 \3/' <<< "$line")"
		pass=$((pass + p))
		fail=$((fail + f))
		skip=$((skip + s))
		line=$(sed -n 's/^failed suites: //p' "$VM_GATE_LOG")
		[ -z "$line" ] || read -r -a bad <<< "${bad[*]} $line"
	fi
	rm -f "$VM_GATE_LOG"
}

[ $# -gt 0 ] || set -- all
tiers=()
for a in "$@"; do
	case $a in
	all)		tiers+=(vm-gate-bg caches-bg unit bpf fuzz vm-gate-wait caches-wait
				e2e system vm-rest fleet) ;;
	unit|bpf|fuzz|e2e|system|vm|vm-gate|vm-rest|fleet|pace|san)	tiers+=("$a") ;;
	*)		usage ;;
	esac
done

for t in "${tiers[@]}"; do
	case $t in
	vm-gate-bg)	vm_gate_bg ;;
	vm-gate-wait)	vm_gate_wait ;;
	caches-bg)	caches_bg ;;
	caches-wait)	caches_wait ;;
	vm-gate)	tier vm 1 "$TIMEOUT_VM" "${VM_GATE[@]}" ;;
	vm-rest)	tier vm 1 "$TIMEOUT_VM" $(ls tests/vm/test_*.sh | grep -v -x -F -f <(printf '%s\n' "${VM_GATE[@]}")) ;;
	unit)	tier unit 0 "$TIMEOUT_UNIT" tests/unit/test_*.c ;;
	bpf)	tier bpf 1 "$TIMEOUT_BPF" tests/bpf/test_*.c ;;
	fuzz)	fuzz_tier ;;
	e2e)	tier e2e 1 "$TIMEOUT_E2E" tests/e2e/test_*.sh ;;
	system)	tier system 1 "$TIMEOUT_SYSTEM" tests/system/run.sh ;;
	vm)	tier vm 1 "$TIMEOUT_VM" tests/vm/test_*.sh ;;
	fleet)	tier fleet 1 "$TIMEOUT_FLEET" tests/fleet/test_*.sh ;;
	pace)	tier pace 1 "$TIMEOUT_E2E" tests/pace/test_*.sh ;;
	san)	san_tier ;;
	esac
done

echo
[ ${#bad[@]} -eq 0 ] || echo "failed suites: ${bad[*]}"
echo "$pass passed, $fail failed, $skip skipped"
[ "$fail" -eq 0 ]
