# SPDX-License-Identifier: GPL-2.0
# shellcheck shell=bash
#
# e2e harness: two private network namespaces joined by a veth pair, a private
# bpffs for the daemon's pins, start/stop of tcshaped and of iperf3 by PID,
# and a runner that gives every test function a fresh topology and a trap that
# tears it down. In the spirit of xdp-tools' test_runner.sh; throughput is
# judged against the configured rate as the kernel's test_tc_edt.sh does.
#
#   ns A (TCS_NS_A)                         ns B (TCS_NS_B)
#   tcs-a0 198.18.0.1/24  198.18.0.3/24 --- tcs-b0 198.18.0.2/24  198.18.0.4/24
#          2001:db8::1/64 2001:db8::3/64           2001:db8::2/64 2001:db8::4/64
#
# The daemon and every iperf3 client run in A, the iperf3 servers in B, so
# what the tests police is tcs-a0 egress. Only benchmarking (RFC 2544) and
# documentation (RFC 3849) addresses are used, and nothing touches the host's
# own namespaces: the veth ends are created directly inside the private ones.
#
# A test script sources this file, defines test_* functions and ends with
# `tcs_main "$@"`. A test function returns 0 (pass), TCS_SKIP (skip) or
# anything else (fail), and calls tcs_msg to give the one-line result text.

TCS_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
TCSHAPED=${TCSHAPED:-$TCS_ROOT/build/tcshaped}
TCSHAPECTL=${TCSHAPECTL:-$TCS_ROOT/build/tcshapectl}
TCS_SKIP=77

TCS_NS_PREFIX="tcs-$$-"
TCS_DEV_A=tcs-a0
TCS_DEV_B=tcs-b0
TCS_A4=198.18.0.1
TCS_A4_2=198.18.0.3
TCS_B4=198.18.0.2
TCS_B4_2=198.18.0.4
TCS_A6=2001:db8::1
TCS_A6_2=2001:db8::3
TCS_B6=2001:db8::2
TCS_B6_2=2001:db8::4
export TCS_TC_PRIO=1000	# settings.tc_priority default: where our filter sits
TCS_DAEMON_ARGS=${TCS_DAEMON_ARGS--v}	# extra tcshaped arguments; -v: debug log
# seconds a start may take: loading the classifier runs the verifier, which
# under an emulated CPU (the vm tier: qemu without KVM) takes minutes
TCS_START_TIMEOUT=${TCS_START_TIMEOUT:-10}

# Per-test state, set by tcs_setup.
TCS_NS_A=
TCS_NS_B=
TCS_TMP=
TCS_BPFFS=
TCS_PIN_DIR=
TCS_LOG=
TCS_DAEMON_PID=
TCS_DAEMON_RC=
TCS_SERVER_PIDS=()
TCS_CLIENT_PIDS=()

# ---- small helpers ---------------------------------------------------------

tcs_log() { echo "  $*"; }

# The result text the runner prints after PASS/FAIL/SKIP.
tcs_msg()
{
	[ -n "${TCS_MSG_FILE:-}" ] && printf '%s\n' "$*" > "$TCS_MSG_FILE"
	tcs_log "result: $*"
}

# Skip with a reason: `tcs_skip "no IPv6"; return $?` (or just `return`).
tcs_skip()
{
	tcs_msg "$*"
	return $TCS_SKIP
}

tcs_nsa() { ip netns exec "$TCS_NS_A" "$@"; }
tcs_nsb() { ip netns exec "$TCS_NS_B" "$@"; }
# tcshapectl in A, on this test's pins
tcs_ctl() { ip netns exec "$TCS_NS_A" "$TCSHAPECTL" --pin-dir "$TCS_PIN_DIR" "$@"; }

# True while PID exists and is not a zombie (kill -0 succeeds on zombies).
tcs_pid_running()
{
	local pid=$1 stat
	[ -n "$pid" ] && [ -r "/proc/$pid/stat" ] || return 1
	stat=$(cut -d' ' -f3 "/proc/$pid/stat" 2>/dev/null) || return 1
	[ "$stat" != Z ]
}

# Send SIG to PID, wait up to T seconds for it to end, then SIGKILL it.
# Only ever used on PIDs this shell started.
tcs_end_pid()
{
	local pid=$1 sig=${2:-TERM} t=${3:-5} i
	[ -n "$pid" ] || return 0
	if tcs_pid_running "$pid"; then
		kill "-$sig" "$pid" 2>/dev/null
		for ((i = 0; i < t * 10; i++)); do
			tcs_pid_running "$pid" || break
			sleep 0.1
		done
		tcs_pid_running "$pid" && kill -KILL "$pid" 2>/dev/null
	fi
	wait "$pid" 2>/dev/null
}

# awk arithmetic: tcs_calc '2 * 10'
tcs_calc() { awk "BEGIN { printf \"%.6g\n\", $* }"; }

# tcs_within VALUE LO HI: LO <= VALUE <= HI (floating point)
tcs_within() { awk -v v="$1" -v lo="$2" -v hi="$3" 'BEGIN { exit !(v >= lo && v <= hi) }'; }

# bits per second -> "9.71" (mbit, two decimals)
tcs_mbit() { awk -v v="$1" 'BEGIN { printf "%.2f", v / 1e6 }'; }

tcs_require_cmds()
{
	local c missing=()
	for c in "$@"; do
		command -v "$c" >/dev/null 2>&1 || missing+=("$c")
	done
	[ ${#missing[@]} -eq 0 ] && return 0
	echo "missing: ${missing[*]} (scripts/install-deps.sh installs them)"
	return 1
}

# ---- topology ----------------------------------------------------------------

# Build the two namespaces, the veth pair, addresses and the private bpffs.
# TAG makes the names unique within this shell (tcs-PID-TAGa, tcs-PID-TAGb).
tcs_setup()
{
	local tag=${1:-0} ns i

	TCS_TMP=$(mktemp -d "${TMPDIR:-/tmp}/tcs-$$-$tag.XXXXXX") || return 1
	TCS_LOG=$TCS_TMP/tcshaped.log

	# Named only once made, so teardown never deletes a namespace it did
	# not create.
	ip netns add "${TCS_NS_PREFIX}${tag}a" || return 1
	TCS_NS_A="${TCS_NS_PREFIX}${tag}a"
	ip netns add "${TCS_NS_PREFIX}${tag}b" || return 1
	TCS_NS_B="${TCS_NS_PREFIX}${tag}b"
	ip link add "$TCS_DEV_A" netns "$TCS_NS_A" type veth \
		peer name "$TCS_DEV_B" netns "$TCS_NS_B" || return 1

	for ns in "$TCS_NS_A" "$TCS_NS_B"; do
		ip -n "$ns" link set lo up || return 1
	done
	ip -n "$TCS_NS_A" addr add "$TCS_A4/24" dev "$TCS_DEV_A" &&
	ip -n "$TCS_NS_A" addr add "$TCS_A4_2/24" dev "$TCS_DEV_A" &&
	ip -n "$TCS_NS_A" addr add "$TCS_A6/64" dev "$TCS_DEV_A" nodad &&
	ip -n "$TCS_NS_A" addr add "$TCS_A6_2/64" dev "$TCS_DEV_A" nodad &&
	ip -n "$TCS_NS_B" addr add "$TCS_B4/24" dev "$TCS_DEV_B" &&
	ip -n "$TCS_NS_B" addr add "$TCS_B4_2/24" dev "$TCS_DEV_B" &&
	ip -n "$TCS_NS_B" addr add "$TCS_B6/64" dev "$TCS_DEV_B" nodad &&
	ip -n "$TCS_NS_B" addr add "$TCS_B6_2/64" dev "$TCS_DEV_B" nodad &&
	ip -n "$TCS_NS_A" link set "$TCS_DEV_A" up &&
	ip -n "$TCS_NS_B" link set "$TCS_DEV_B" up || return 1

	# A bpffs of our own, outside /sys: `ip netns exec` remounts /sys, and
	# a private instance keeps our pins apart from the host's.
	TCS_BPFFS=$TCS_TMP/bpffs
	mkdir "$TCS_BPFFS" || return 1
	mount -t bpf bpf "$TCS_BPFFS" || return 1
	TCS_BPFFS_MOUNTED=1
	TCS_PIN_DIR=$TCS_BPFFS/tcshaped

	# veth carrier comes up with both ends; wait for it rather than race
	for ((i = 0; i < 50; i++)); do
		ip -n "$TCS_NS_A" link show "$TCS_DEV_A" | grep -q LOWER_UP &&
		ip -n "$TCS_NS_B" link show "$TCS_DEV_B" | grep -q LOWER_UP && return 0
		sleep 0.1
	done
	echo "setup: $TCS_DEV_A/$TCS_DEV_B did not come up"
	return 1
}

# Undo everything tcs_setup and the test started, whatever state it is in.
# Safe to call twice.
tcs_teardown()
{
	local pid

	[ -n "$TCS_DAEMON_PID" ] && tcs_end_pid "$TCS_DAEMON_PID" TERM 5
	TCS_DAEMON_PID=
	for pid in "${TCS_CLIENT_PIDS[@]}" "${TCS_SERVER_PIDS[@]}"; do
		tcs_end_pid "$pid" TERM 2
	done
	TCS_CLIENT_PIDS=()
	TCS_SERVER_PIDS=()
	# Deleting the namespaces removes the veth pair and any tc state on it.
	[ -n "$TCS_NS_A" ] && ip netns del "$TCS_NS_A" 2>/dev/null
	[ -n "$TCS_NS_B" ] && ip netns del "$TCS_NS_B" 2>/dev/null
	TCS_NS_A=
	TCS_NS_B=
	if [ -n "${TCS_BPFFS_MOUNTED:-}" ]; then
		umount "$TCS_BPFFS" 2>/dev/null || umount -l "$TCS_BPFFS"
		TCS_BPFFS_MOUNTED=
	fi
	if [ -n "$TCS_TMP" ] && [ -d "$TCS_TMP" ]; then
		# never follow into a mount that failed to go away
		mountpoint -q "$TCS_BPFFS" 2>/dev/null || rm -rf "$TCS_TMP"
	fi
	TCS_TMP=
}

# ---- the daemon --------------------------------------------------------------

# Write stdin to FILE: tcs_policy FILE <<EOF ... EOF
tcs_policy() { cat > "$1"; }

# Write FILE: a policy whose egress rules on tcs-a0 are stdin (YAML list items
# indented 6 spaces): tcs_egress_policy FILE <<EOF ... EOF
tcs_egress_policy()
{
	{
		printf 'version: 1\ninterfaces:\n  - name: %s\n    egress:\n' "$TCS_DEV_A"
		cat
	} > "$1"
}

# Number of log lines matching the ERE.
tcs_log_count()
{
	local n
	n=$(grep -cE -- "$1" "$TCS_LOG" 2>/dev/null) || n=0
	echo "$n"
}

# Wait until PATTERN (ERE) has appeared at least COUNT times in the daemon log.
# Fails early when the daemon has exited.
tcs_wait_log()
{
	local pat=$1 count=${2:-1} timeout=${3:-10} i
	for ((i = 0; i < timeout * 10; i++)); do
		[ "$(tcs_log_count "$pat")" -ge "$count" ] && return 0
		if [ -n "$TCS_DAEMON_PID" ] && ! tcs_pid_running "$TCS_DAEMON_PID"; then
			[ "$(tcs_log_count "$pat")" -ge "$count" ] && return 0
			echo "daemon exited while waiting for /$pat/"
			return 1
		fi
		sleep 0.1
	done
	echo "timeout (${timeout}s) waiting for /$pat/ x$count in the daemon log"
	return 1
}

# Show the filters on a hook of tcs-a0 (ns A): HOOK is egress or ingress.
tcs_filters() { tc -n "$TCS_NS_A" filter show dev "${2:-$TCS_DEV_A}" "$1" 2>/dev/null; }

# How many of OUR filters (cls_bpf named tcshaped, or tcshaped:PIN_DIR) are on a hook.
tcs_our_filters()
{
	local n
	n=$(tcs_filters "$1" "${2:-}" | grep -cE " bpf .*handle .*[[:space:]]tcshaped(:$TCS_PIN_DIR)?([[:space:]]|$)") || n=0
	echo "$n"
}

tcs_wait_filter()
{
	local hook=${1:-egress} timeout=${2:-5} i
	for ((i = 0; i < timeout * 10; i++)); do
		[ "$(tcs_our_filters "$hook")" -ge 1 ] && return 0
		sleep 0.1
	done
	echo "timeout (${timeout}s) waiting for the tcshaped filter on $TCS_DEV_A $hook"
	return 1
}

# Start tcshaped in ns A with POLICY [ARGS...] and wait for "ready:" and for
# our filter on egress (not with TCS_NO_FILTER=1: a policy without rules
# there). The daemon's PID is TCS_DAEMON_PID, its log TCS_LOG.
tcs_daemon_start()
{
	local policy=$1
	shift
	if [ ! -x "$TCSHAPED" ]; then
		echo "$TCSHAPED not built (run make)"
		return 1
	fi
	# a restart: wait for this instance's "ready:", not the last one's
	local ready
	ready=$(tcs_log_count 'ready:')
	echo "--- start: tcshaped -c $policy" >> "$TCS_LOG"
	# nsenter, not ip netns exec: that remounts /sys, and so hides the
	# cgroup v2 root where socket pacing attaches, as no real host would
	# shellcheck disable=SC2086 # TCS_DAEMON_ARGS is a list
	nsenter --net="/run/netns/$TCS_NS_A" "$TCSHAPED" -c "$policy" --pin-dir "$TCS_PIN_DIR" \
		$TCS_DAEMON_ARGS "$@" \
		>> "$TCS_LOG" 2>&1 < /dev/null &
	TCS_DAEMON_PID=$!
	TCS_DAEMON_RC=
	if ! tcs_wait_log 'ready:' $((ready + 1)) "$TCS_START_TIMEOUT" ||
	   { [ -z "${TCS_NO_FILTER:-}" ] && ! tcs_wait_filter egress 5; }; then
		tcs_log "daemon log (last 40 lines):"
		tail -n 40 "$TCS_LOG" | sed 's/^/    /'
		return 1
	fi
}

tcs_daemon_signal() { kill "-$1" "$TCS_DAEMON_PID"; }

# SIGTERM (or SIG) the daemon, wait for it to exit; its status in TCS_DAEMON_RC.
tcs_daemon_stop()
{
	local sig=${1:-TERM} i
	[ -n "$TCS_DAEMON_PID" ] || return 0
	kill "-$sig" "$TCS_DAEMON_PID" 2>/dev/null
	for ((i = 0; i < 100; i++)); do
		tcs_pid_running "$TCS_DAEMON_PID" || break
		sleep 0.1
	done
	if tcs_pid_running "$TCS_DAEMON_PID"; then
		echo "daemon did not exit within 10 s of SIG$sig; killing it"
		kill -KILL "$TCS_DAEMON_PID"
	fi
	wait "$TCS_DAEMON_PID"
	TCS_DAEMON_RC=$?
	TCS_DAEMON_PID=
	[ "$TCS_DAEMON_RC" -eq 0 ]
}

# ---- iperf3 -------------------------------------------------------------------
#
# Every load is started under a TAG: the server in B (one test, -1, then it
# exits), the client in A bounded by -t and by timeout(1). The JSON goes to
# $TCS_TMP/TAG.json (client) and $TCS_TMP/TAG.srv.json (server). Start any
# number, then tcs_iperf_wait, then read the results by TAG.

# Start an iperf3 server on ADDR PORT in ns B and wait until it listens.
# Bound to ADDR: unbound, its UDP replies to a client of a second address
# would leave from the first one, and the client would refuse them.
# TCS_SERVER_NS (default namespace B) runs it; more iperf3 options (-i 1)
# follow PORT.
tcs_iperf_server()
{
	local tag=$1 addr=$2 port=$3 ns=${TCS_SERVER_NS:-$TCS_NS_B} i l=$2
	shift 3
	[[ $addr == *:* ]] && l="[$addr]"
	ip netns exec "$ns" iperf3 -s -1 -B "$addr" -p "$port" -J "$@" \
		> "$TCS_TMP/$tag.srv.json" 2> "$TCS_TMP/$tag.srv.err" < /dev/null &
	TCS_SERVER_PIDS+=($!)
	for ((i = 0; i < 50; i++)); do
		[ -n "$(ip netns exec "$ns" ss -Hltn "src $l:$port" 2>/dev/null)" ] && return 0
		sleep 0.1
	done
	echo "iperf3 server on port $port did not start: $(cat "$TCS_TMP/$tag.srv.err")"
	return 1
}

# tcs_udp_start TAG DST PORT RATE SECS [SRC] [STREAMS]
# UDP at RATE (iperf3 -b, per stream, e.g. 20M) in 1400-byte datagrams.
# Several streams of one client connect before any of them sends, so a shared
# bucket already drained cannot drop another stream's connect datagram (iperf3
# 3.12 does not resend it).
tcs_udp_start()
{
	local tag=$1 dst=$2 port=$3 rate=$4 secs=$5 src=${6:-} streams=${7:-1}
	tcs_iperf_server "$tag" "$dst" "$port" || return 1
	timeout -k 2 $((secs + 15)) ip netns exec "$TCS_NS_A" \
		iperf3 -c "$dst" -p "$port" ${src:+-B "$src"} -u -l 1400 -b "$rate" \
		-P "$streams" -t "$secs" -J \
		> "$TCS_TMP/$tag.json" 2> "$TCS_TMP/$tag.err" < /dev/null &
	TCS_CLIENT_PIDS+=($!)
}

# tcs_tcp_start TAG DST PORT SECS [SRC] [STREAMS] [RATE]
# RATE caps the sender (iperf3 -b), as fast as it can without.
tcs_tcp_start()
{
	local tag=$1 dst=$2 port=$3 secs=$4 src=${5:-} streams=${6:-1} rate=${7:-}
	tcs_iperf_server "$tag" "$dst" "$port" || return 1
	timeout -k 2 $((secs + 20)) ip netns exec "$TCS_NS_A" \
		iperf3 -c "$dst" -p "$port" ${src:+-B "$src"} -P "$streams" -t "$secs" \
		${rate:+-b "$rate"} -J \
		> "$TCS_TMP/$tag.json" 2> "$TCS_TMP/$tag.err" < /dev/null &
	TCS_CLIENT_PIDS+=($!)
}

# Wait for every client started so far, then for the servers (which end after
# their one test). Returns non-zero if a client failed or timed out.
tcs_iperf_wait()
{
	local pid rc=0 i
	for pid in "${TCS_CLIENT_PIDS[@]}"; do
		wait "$pid" || rc=1
	done
	TCS_CLIENT_PIDS=()
	for pid in "${TCS_SERVER_PIDS[@]}"; do
		for ((i = 0; i < 30; i++)); do
			tcs_pid_running "$pid" || break
			sleep 0.1
		done
		tcs_end_pid "$pid" TERM 2
	done
	TCS_SERVER_PIDS=()
	if [ $rc -ne 0 ]; then
		echo "an iperf3 client failed or timed out:"
		for f in "$TCS_TMP"/*.err "$TCS_TMP"/*.json; do
			[ -s "$f" ] || continue
			echo "  ${f##*/}: $(jq -r '.error // empty' "$f" 2>/dev/null || head -c 300 "$f")"
		done
	fi
	return $rc
}

# tcs_udp_rate TAG SECS: UDP at 20M from A to B:5201 for SECS; prints the
# received L2 rate (bits/s).
tcs_udp_rate()
{
	local r
	tcs_udp_start "$1" "$TCS_B4" 5201 20M "$2" || return 1
	tcs_iperf_wait || return 1
	# shellcheck disable=SC2207 # numbers, split on purpose
	r=($(tcs_udp_result "$1" "$TCS_B4")) || return 1
	echo "${r[0]}"
}

# UDP datagrams the sockets of ns B could not take (InErrors: receive buffer
# full, bad checksum), IPv4 and IPv6 together. Not the policer's doing: a
# receiver starved of CPU drops here; tests print it next to a low result.
tcs_rx_udp_errors()
{
	ip netns exec "$TCS_NS_B" awk '
		$1 == "Udp:" && $2 !~ /^[0-9]/ { for (i = 2; i <= NF; i++) if ($i == "InErrors") c = i }
		$1 == "Udp:" && $2 ~ /^[0-9]/ && c { s += $c }
		$1 == "Udp6InErrors" { s += $2 }
		END { print s + 0 }' /proc/net/snmp /proc/net/snmp6
}

# Bytes per packet the policer counts beyond the UDP payload: UDP, IP and
# Ethernet headers (tc sees skb->len, which includes the MAC header).
tcs_udp_overhead()
{
	case $1 in
	*:*) echo $((8 + 40 + 14)) ;;
	*) echo $((8 + 20 + 14)) ;;
	esac
}

# tcs_udp_result TAG DST: prints "L2_BPS PAYLOAD_BPS RX_PKTS DROPPED" as seen
# by the receiver: end.sum is the sender's view, end.sum_received the
# server's (bytes and packets it got, over its own measuring time).
tcs_udp_result()
{
	local tag=$1 ovh
	ovh=$(tcs_udp_overhead "$2")
	jq -er --argjson ovh "$ovh" '
		.end.sum_sent as $s | .end.sum_received as $r
		| ($r.packets - $r.lost_packets) as $rx
		| [ ($r.bytes + $rx * $ovh) * 8 / $r.seconds,
		    $r.bytes * 8 / $r.seconds, $rx, $s.packets - $rx ]
		| map(floor) | @tsv' "$TCS_TMP/$tag.json" 2>/dev/null || {
		echo "no UDP result for $tag: $(jq -r '.error // empty' "$TCS_TMP/$tag.json" 2>/dev/null) $(cat "$TCS_TMP/$tag.err" 2>/dev/null)" >&2
		return 1
	}
}

# tcs_tcp_result TAG: prints "GOODPUT_BPS RETRANSMITS RX_BYTES_1ST_HALF
# RX_BYTES_2ND_HALF": receiver goodput, sender retransmits, and the bytes the
# server received in each half of its per-second intervals (progress).
tcs_tcp_result()
{
	local tag=$1 gp rtx halves
	gp=$(jq -er '.end.sum_received.bits_per_second | floor' "$TCS_TMP/$tag.json" 2>/dev/null) &&
	rtx=$(jq -er '.end.sum_sent.retransmits // 0' "$TCS_TMP/$tag.json" 2>/dev/null) &&
	halves=$(jq -er '[.intervals[].sum.bytes] as $b | ($b | length) as $n
		| [ ($b[0:($n / 2 | floor)] | add // 0), ($b[($n / 2 | floor):] | add // 0) ]
		| @tsv' "$TCS_TMP/$tag.srv.json" 2>/dev/null) || {
		echo "no TCP result for $tag: $(jq -r '.error // empty' "$TCS_TMP/$tag.json" 2>/dev/null) $(cat "$TCS_TMP/$tag.err" 2>/dev/null)" >&2
		return 1
	}
	printf '%s\t%s\t%s\n' "$gp" "$rtx" "$halves"
}

# tcs_tcp_steady TAG: the receiver's goodput (bits/s) after the first second:
# the bytes of its later full intervals over their seconds. Start-up (slow
# start, a cap or a queue that settles) is in the first second; a short last
# interval, the tail after the sender stopped, is left out.
tcs_tcp_steady()
{
	jq -er '[.intervals[1:][].sum | select(.seconds > 0.9)]
		| select(length > 0)
		| (map(.bytes) | add) * 8 / (map(.seconds) | add) | floor' "$TCS_TMP/$1.srv.json"
}

# ---- runner -----------------------------------------------------------------

TCS_PASS=0
TCS_FAIL=0
TCS_SKIPPED=0

# Run one test function in a subshell with its own topology; the subshell's
# EXIT trap tears it down whatever happens (failure, timeout, Ctrl-C).
tcs_run_test()
{
	local fn=$1 tag=$2 out msg rc name=${1#test_}

	TCS_OUT=$(mktemp "${TMPDIR:-/tmp}/tcs-$$-out.XXXXXX")
	TCS_MSG_FILE=$(mktemp "${TMPDIR:-/tmp}/tcs-$$-msg.XXXXXX")
	out=$TCS_OUT
	(
		trap tcs_teardown EXIT
		trap 'exit 130' INT
		trap 'exit 143' TERM HUP
		if ! tcs_setup "$tag"; then
			tcs_msg "setup failed"
			exit 1
		fi
		"$fn"
	) > "$out" 2>&1
	rc=$?
	msg=$(cat "$TCS_MSG_FILE")
	case $rc in
	130|143) msg="interrupted${msg:+; $msg}" ;;
	esac
	case $rc in
	0)		echo "PASS $name${msg:+: $msg}"; TCS_PASS=$((TCS_PASS + 1)) ;;
	"$TCS_SKIP")	echo "SKIP $name${msg:+: $msg}"; TCS_SKIPPED=$((TCS_SKIPPED + 1)) ;;
	*)		echo "FAIL $name${msg:+: $msg}"; TCS_FAIL=$((TCS_FAIL + 1)) ;;
	esac
	if { [ "$rc" -ne 0 ] && [ "$rc" -ne "$TCS_SKIP" ]; } || [ -n "${V:-}" ]; then
		sed 's/^/    /' "$out"
	fi
	rm -f "$out" "$TCS_MSG_FILE"
	TCS_MSG_FILE=
	TCS_OUT=
	case $rc in
	130|143) return 1 ;;
	esac
	return 0
}

# tcs_main SUITE [TEST...]: run the named tests (without the test_ prefix), or
# every test_* function in definition order; print the summary line. With
# TCS_SKIP_ALL set, every test is skipped with that reason, before any setup.
tcs_main()
{
	local suite=$1 fn tests=() n=0 why=${TCS_SKIP_ALL:-} stop=''
	shift
	# A signal reaches the running test's subshell too, which tears its
	# topology down; here: stop after it, summarise, leave no temp file.
	trap 'stop=1' INT TERM HUP
	trap 'rm -f "${TCS_OUT:-}" "${TCS_MSG_FILE:-}"' EXIT
	if [ $# -gt 0 ]; then
		for fn in "$@"; do tests+=("test_${fn#test_}"); done
	else
		# in the order of the file (declare -F would sort them by name)
		mapfile -t tests < <(grep -oE '^test_[A-Za-z0-9_]+\(\)' "$0" | tr -d '()')
	fi

	if [ -n "$why" ]; then
		:	# the suite said why none of its tests can run here (TCS_SKIP_ALL)
	elif [ "$(id -u)" -ne 0 ]; then
		why="needs root (network namespaces, tc, bpffs)"
	elif ! tcs_require_cmds ip tc iperf3 jq timeout ss mountpoint >/dev/null; then
		why=$(tcs_require_cmds ip tc iperf3 jq timeout ss mountpoint)
	fi
	for fn in "${tests[@]}"; do
		if ! declare -F "$fn" >/dev/null; then
			echo "FAIL ${fn#test_}: no such test"
			TCS_FAIL=$((TCS_FAIL + 1))
			continue
		fi
		if [ -n "$why" ]; then
			echo "SKIP ${fn#test_}: $why"
			TCS_SKIPPED=$((TCS_SKIPPED + 1))
			continue
		fi
		n=$((n + 1))
		tcs_run_test "$fn" "$n" || stop=1
		[ -z "$stop" ] || break
	done
	echo "$suite: $TCS_PASS passed, $TCS_FAIL failed, $TCS_SKIPPED skipped"
	[ "$TCS_FAIL" -eq 0 ]
}
