#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# make bench, in the vm (Debian's 6.1 with sch_fq): TCP under an egress limit,
# 1 and 8 flows, three ways in one run: tcshaped's pace rule (EDT, the
# departure time set by the classifier, released by fq; socket pacing tells
# the local senders their share), HTB with one class at the rate, and fq with
# `maxrate` at the rate. fq's maxrate caps each flow's pacing rate: it limits
# one flow, not the flows together, so 8 flows get up to 8 times the rate.
# Each run: goodput / rate, retransmitted segments, the flows' own RTT
# (iperf3's mean srtt) and a ping probe's alongside (ICMP: outside the pace
# rule, in HTB's one class, in a flow of its own under fq).
# A measurement, not a test: qemu under TCG on a shared machine.
#
#   tests/vm/run.sh exec -e TCS_START_TIMEOUT=120 -- tests/pace/bench_edt.sh
#
# PACE_RATES (mbit, "10 100"), PACE_SECS (5) and PACE_REPS (3) size it.
# Prints a table, and "bench-kv KEY VALUE" lines for build/bench.json.

# shellcheck source=tests/lib/netns.sh
. "$(dirname "${BASH_SOURCE[0]}")/../lib/netns.sh"
# shellcheck source=tests/lib/median.sh
. "$(dirname "${BASH_SOURCE[0]}")/../lib/median.sh"

RATES=${PACE_RATES:-10 100}
SECS=${PACE_SECS:-5}
REPS=${PACE_REPS:-3}

if ! tc qdisc add dev lo root fq 2> /dev/null; then
	echo "SKIP bench_edt: this kernel has no sch_fq"
	exit 0
fi
tc qdisc del dev lo root

# the pace rule of RATE mbit takes TCP to port 5200 + RATE / 10 (one rule
# per rate, so that one daemon start serves all of them: a start under TCG
# is slow)
port() { echo $((5200 + $1 / 10)); }

policy()
{
	local r
	printf '%s\n' "version: 1" "interfaces:" "  - name: $TCS_DEV_A" "    egress:" > "$1"
	for r in $RATES; do
		printf '      - { name: pace%s, match: { proto: tcp, dport: %s }, rate: %smbit, per: rule, action: pace }\n' \
			"$r" "$(port "$r")" "$r" >> "$1"
	done
}

qdisc_clear() { tc -n "$TCS_NS_A" qdisc del dev "$TCS_DEV_A" root 2> /dev/null; true; }

# one run: prints "goodput_bps retransmits flow_rtt_us probe_ms"
run()
{	# tag rate streams
	local tag=$1 p
	p=$(port "$2")
	tcs_iperf_server "$tag" "$TCS_B4" "$p" > /dev/null || return 1
	tcs_nsa ping -q -n -i 0.2 -w "$SECS" "$TCS_B4" > "$TCS_TMP/$tag.ping" 2>&1 &
	local ppid=$!
	timeout -k 2 $((SECS + 30)) ip netns exec "$TCS_NS_A" iperf3 -c "$TCS_B4" -p "$p" \
		-P "$3" -t "$SECS" -C cubic -J > "$TCS_TMP/$tag.json" 2> "$TCS_TMP/$tag.err" \
		< /dev/null &
	TCS_CLIENT_PIDS+=($!)
	tcs_iperf_wait > /dev/null || return 1
	wait "$ppid"
	jq -r --arg p "$(sed -n 's|.*= *[0-9.]*/\([0-9.]*\)/.*|\1|p' "$TCS_TMP/$tag.ping")" \
		'[.end.sum_received.bits_per_second, .end.sum_sent.retransmits,
		  ([.end.streams[].sender.mean_rtt] | add / length),
		  (if $p == "" then "nan" else $p end)] | @tsv' "$TCS_TMP/$tag.json"
}


trap 'qdisc_clear; tcs_teardown' EXIT
tcs_setup edt > /dev/null || exit 1

# every run of SHAPER's block: RES/<shaper>_<rate>_<streams> holds a line a run
RES=$TCS_TMP/res
mkdir -p "$RES"
measure()
{	# shaper
	local r s i
	for r in $RATES; do
		case $1 in
		htb)
			qdisc_clear
			tc -n "$TCS_NS_A" qdisc add dev "$TCS_DEV_A" root handle 1: htb default 1 &&
			tc -n "$TCS_NS_A" class add dev "$TCS_DEV_A" parent 1: classid 1:1 htb \
				rate "${r}mbit" ceil "${r}mbit" || return 1 ;;
		fq)
			tc -n "$TCS_NS_A" qdisc replace dev "$TCS_DEV_A" root fq maxrate "${r}mbit" ||
				return 1 ;;
		esac
		for s in 1 8; do
			for ((i = 0; i < REPS; i++)); do
				run "$1$r-$s-$i" "$r" "$s" >> "$RES/$1_${r}_$s" || return 1
			done
		done
	done
	qdisc_clear
}

policy "$TCS_TMP/p.yaml"
tcs_daemon_start "$TCS_TMP/p.yaml" > /dev/null || { echo "bench_edt: the daemon did not start"; exit 1; }
measure tcshaped || { echo "bench_edt: a run under tcshaped failed"; exit 1; }
tcs_daemon_stop > /dev/null
measure htb || { echo "bench_edt: a run under htb failed"; exit 1; }
measure fq || { echo "bench_edt: a run under fq maxrate failed"; exit 1; }

printf '  %-6s %-5s %-16s %22s %8s %11s %9s\n' limit flows shaper "goodput/limit (min-max)" \
	retrans "flow RTT us" "probe ms"
for r in $RATES; do
	for s in 1 8; do
		for how in tcshaped htb fq; do
			f=$RES/${how}_${r}_$s
			read -r gm gl gh < <(awk -v l="$r" '{ printf "%.3f\n", $1 / (l * 1e6) }' "$f" |
				mmm)
			read -r rt _ _ < <(cut -f2 "$f" | mmm)
			read -r rtt _ _ < <(cut -f3 "$f" | mmm)
			rtt=$(printf '%.0f' "$rtt")
			read -r pr _ _ < <(cut -f4 "$f" | mmm)
			name=$how; [ "$how" = fq ] && name="fq maxrate"
			[ "$how" = tcshaped ] && name="tcshaped pace"
			printf '  %-6s %-5s %-16s %22s %8s %11s %9s\n' "$r" "$s" "$name" \
				"$gm ($gl-$gh)" "$rt" "$rtt" "$pr"
			k=${how}_${s}flows_${r}mbit
			echo "bench-kv vm_edt ${k}_goodput_ratio $gm"
			echo "bench-kv vm_edt ${k}_retransmits $rt"
			echo "bench-kv vm_edt ${k}_flow_rtt_us $rtt"
			echo "bench-kv vm_edt ${k}_probe_ms $pr"
		done
	done
done
