#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# shellcheck disable=SC2207 # results are numbers, split into arrays on purpose
#
# pace tier: EDT pacing with fq, measured end to end against HTB in the same
# run. Needs a kernel with sch_fq (the vm tier boots Debian's stock 6.1 for
# that); elsewhere every test says SKIP with the reason.
#
#   tests/vm/run.sh exec -- tests/pace/test_pace.sh [TEST...]

# shellcheck source=tests/lib/netns.sh
. "$(dirname "${BASH_SOURCE[0]}")/../lib/netns.sh"

TCSHAPECTL=${TCSHAPECTL:-$TCS_ROOT/build/tcshapectl}
SECS=${PACE_SECS:-10}
GOODPUT_PCT=3		# paced goodput within this % of HTB's at the same rate
FLOW_PCT=10		# each of four paced flows within this % of its limit

has_fq()
{
	ip netns exec "$TCS_NS_A" tc qdisc add dev lo root fq 2>/dev/null || return 1
	ip netns exec "$TCS_NS_A" tc qdisc del dev lo root 2>/dev/null
	return 0
}

ctl() { ip netns exec "$TCS_NS_A" "$TCSHAPECTL" --pin-dir "$TCS_PIN_DIR" "$@"; }

# pace_policy FILE RATE PER [MATCH] [MORE KEYS OF THE RULE] [MORE RULES]:
# one paced egress rule, by default for TCP to ports 5201-5204
pace_policy()
{
	local match=${4:-'{ proto: tcp, dport: "5201-5204" }'}
	cat > "$1" <<EOF
version: 1
settings: { max_keys: 65536${SETTINGS:+, $SETTINGS} }
interfaces:
  - name: $TCS_DEV_A
    egress:
      - name: paced
        match: $match
        rate: $2
        per: $3
        action: pace
${5:-}
${6:-}
EOF
}

# htb_on RATE / htb_off: the reference shaper on tcs-a0, one class for all
htb_on()
{
	tc -n "$TCS_NS_A" qdisc replace dev "$TCS_DEV_A" root handle 1: htb default 1 &&
	tc -n "$TCS_NS_A" class add dev "$TCS_DEV_A" parent 1: classid 1:1 htb rate "$1"
}
htb_off() { tc -n "$TCS_NS_A" qdisc del dev "$TCS_DEV_A" root 2>/dev/null; }

# TCP goodput (bps) of STREAMS parallel flows to B, each its own iperf3 port
# when SEPARATE is 1 (separate keys for per: flow), or one client with -P.
tcp_run()
{
	local tag=$1 streams=${2:-1} i
	for ((i = 0; i < streams; i++)); do
		tcs_tcp_start "$tag$i" "$TCS_B4" $((5201 + i)) "$SECS" || return 1
	done
	tcs_iperf_wait || return 1
	for ((i = 0; i < streams; i++)); do
		r=($(tcs_tcp_result "$tag$i")) || return 1
		echo "${r[0]}"
	done
}

sum() { awk '{ s += $1 } END { printf "%d\n", s }'; }

within_pct() { tcs_within "$1" "$(tcs_calc "$2 * (100 - $3) / 100")" "$(tcs_calc "$2 * (100 + $3) / 100")"; }

# Mean RTT (us) the senders of TAG saw (from the client's JSON).
sender_rtt() { jq -er '[.end.streams[].sender.mean_rtt] | add / length | floor' "$TCS_TMP/$1.json"; }

# One paced TCP flow against HTB at the same rate: goodput within 3%.
# OWN_RTT=1 judges the same two runs for socket pacing too
# (bpf/sockpace.bpf.c, the default): EDT pacing alone lets Cubic fill fq up to
# max_delay; told its rate, the sender sends at it and nothing queues. The
# goodput of HTB (at least 98% of it: more is fine, the limit is the
# ceiling), the flow's own mean RTT at most a tenth of HTB's.
pace_vs_htb()
{
	local rate=$1 htb paced hrtt prtt ok=1 msg

	has_fq || { tcs_skip "this kernel has no sch_fq"; return; }
	htb_on "$rate" || { tcs_msg "htb failed"; return 1; }
	htb=$(tcp_run htb 1) || { tcs_msg "iperf3 failed under htb"; return 1; }
	htb_off
	pace_policy "$TCS_TMP/p.yaml" "$rate" flow
	tcs_daemon_start "$TCS_TMP/p.yaml" || { tcs_msg "daemon did not start"; return 1; }
	if [ -n "${OWN_RTT:-}" ] && ! grep -q 'socket pacing: local TCP' "$TCS_LOG"; then
		tcs_msg "socket pacing is off: $(grep -m1 'socket pacing' "$TCS_LOG")"
		return 1
	fi
	tc -n "$TCS_NS_A" qdisc show dev "$TCS_DEV_A"
	paced=$(tcp_run paced 1) || { tcs_msg "iperf3 failed paced"; return 1; }
	ctl stats --interval 0.1
	msg="$rate: paced $(tcs_mbit "$paced") mbit, htb $(tcs_mbit "$htb") mbit"
	msg+=" (ratio $(tcs_calc "$paced / $htb"), within $GOODPUT_PCT% wanted)"
	within_pct "$paced" "$htb" "$GOODPUT_PCT" || ok=0
	if [ -n "${OWN_RTT:-}" ]; then
		hrtt=$(sender_rtt htb0) && prtt=$(sender_rtt paced0) || return 1
		msg+="; with socket pacing the flow's mean RTT $prtt us, htb's $hrtt us"
		msg+=" (a tenth at most; goodput at least 98% of htb's)"
		tcs_within "$paced" "$(tcs_calc "$htb * 0.98")" "$(tcs_calc "${rate%mbit} * 1000000")" &&
			[ "$((prtt * 10))" -le "$hrtt" ] || ok=0
	fi
	tcs_msg "$msg"
	[ $ok -eq 1 ]
}

test_tcp_10mbit_vs_htb() { OWN_RTT=1 pace_vs_htb 10mbit; }
test_tcp_100mbit_vs_htb() { pace_vs_htb 100mbit; }

# Four TCP flows of one iperf3 client (-P 4: they start and end together, so
# the sum is a rate, not a sum of staggered averages).
four_streams()
{
	local tag=$1
	tcs_tcp_start "$tag" "$TCS_B4" 5201 "$SECS" "" 4 || return 1
	tcs_iperf_wait || return 1
	jq -r '[.end.streams[].receiver.bits_per_second | floor] + [.end.sum_received.bits_per_second | floor] | @tsv' \
		"$TCS_TMP/$tag.json"
}

# Four flows, per: flow: each within 10% of its limit (goodput, TCP/IP
# headers make up the rest); per: rule: their sum within 3% of HTB's.
test_four_flows()
{
	local r=() h=() i ok=1 msg= lim=10000000

	has_fq || { tcs_skip "this kernel has no sch_fq"; return; }
	pace_policy "$TCS_TMP/p.yaml" 10mbit flow
	tcs_daemon_start "$TCS_TMP/p.yaml" || { tcs_msg "daemon did not start"; return 1; }
	r=($(four_streams flow)) || { tcs_msg "iperf3 failed"; return 1; }
	for i in 0 1 2 3; do
		# goodput is payload: 1448 of each 1514-byte frame
		within_pct "$(tcs_calc "${r[$i]} * 1514 / 1448")" "$lim" "$FLOW_PCT" || ok=0
		msg+="$(tcs_mbit "${r[$i]}") "
	done
	tcs_daemon_stop || true

	htb_on 10mbit || { tcs_msg "htb failed"; return 1; }
	h=($(four_streams htb)) || { tcs_msg "iperf3 failed under htb"; return 1; }
	htb_off
	pace_policy "$TCS_TMP/p.yaml" 10mbit rule
	tcs_daemon_start "$TCS_TMP/p.yaml" || { tcs_msg "daemon did not start"; return 1; }
	r=($(four_streams rule)) || { tcs_msg "iperf3 failed"; return 1; }
	within_pct "${r[4]}" "${h[4]}" "$GOODPUT_PCT" || ok=0
	tcs_msg "per flow, 10mbit each: ${msg}mbit goodput; per rule 10mbit: sum" \
		"$(tcs_mbit "${r[4]}") mbit, htb $(tcs_mbit "${h[4]}") mbit (within $GOODPUT_PCT%)"
	[ $ok -eq 1 ]
}

# Average ping RTT (ms) from A to B's two addresses while a bulk TCP flow to
# the first fills the limit: "shaped unshaped". The rule below takes all
# traffic to the first address (one key, per: rule), so its probe queues
# with the bulk flow; the probe to the second address crosses the same
# loaded machine and veth but no rule: the margin the machine itself adds.
rtt_under_load()
{
	local tag=$1 a b
	tcs_tcp_start "$tag" "$TCS_B4" 5201 "$SECS" || return 1
	sleep 3
	ip netns exec "$TCS_NS_A" ping -c 20 -i 0.2 -q "$TCS_B4" > "$TCS_TMP/$tag.ping" 2>&1 &
	ip netns exec "$TCS_NS_A" ping -c 20 -i 0.2 -q "$TCS_B4_2" > "$TCS_TMP/$tag.ping2" 2>&1
	wait $!
	tcs_iperf_wait || return 1
	cat "$TCS_TMP/$tag.ping" "$TCS_TMP/$tag.ping2" >&2
	# the average, from iputils ("rtt min/avg/max/mdev = a/b/c/d ms") or
	# busybox ("round-trip min/avg/max = a/b/c ms")
	a=$(sed -n 's|.*= *[0-9.]*/\([0-9.]*\)/.*|\1|p' "$TCS_TMP/$tag.ping")
	b=$(sed -n 's|.*= *[0-9.]*/\([0-9.]*\)/.*|\1|p' "$TCS_TMP/$tag.ping2")
	echo "${a:-999} ${b:-999}"
}

# While a paced bulk flow saturates its limit, a probe through the same rule
# waits at most max_delay more than one that no rule holds; under HTB at the
# same rate it waits behind the whole queue.
test_latency_vs_htb()
{
	local rate=${PACE_RTT_RATE:-100mbit} paced htb bound

	has_fq || { tcs_skip "this kernel has no sch_fq"; return; }
	htb_on "$rate" || { tcs_msg "htb failed"; return 1; }
	htb=($(rtt_under_load htb)) || { tcs_msg "htb run failed"; return 1; }
	htb_off
	pace_policy "$TCS_TMP/p.yaml" "$rate" rule "{ dst: \"$TCS_B4\" }"
	tcs_daemon_start "$TCS_TMP/p.yaml" || { tcs_msg "daemon did not start"; return 1; }
	paced=($(rtt_under_load paced)) || { tcs_msg "paced run failed"; return 1; }
	# max_delay at 100mbit: one 64 KiB skb, 5.24 ms (above the 5 ms default)
	bound=$(tcs_calc "5.25 + ${paced[1]} + 1")
	tcs_msg "$rate, probe RTT under a saturating flow: paced ${paced[0]} ms, htb ${htb[0]} ms;" \
		"unshaped probe meanwhile: ${paced[1]} ms (paced run), ${htb[1]} ms (htb run);" \
		"bound max_delay 5.25 + unshaped RTT + 1 = $bound ms"
	tcs_within "${paced[0]}" 0 "$bound" && tcs_within "$(tcs_calc "${htb[0]} - ${paced[0]}")" 0 100000
}

# ECN: an ECN-capable TCP flow past ecn_threshold is marked, not dropped; a
# sender that ignores the limit (UDP at twice the rate) is dropped past max_delay.
# The TCP flow is judged once it has started: its key starts with a full
# bucket, whose 64 KiB leave unpaced, so slow start sees neither delay nor
# mark until its window is that large, sends segments of up to 22 (26 ms
# each at 10mbit) while the first mark waits out its own delay before it
# can be echoed, and may run past max_delay before it has heard of any
# mark. That start-up is shown, not judged.
test_ecn_marks_and_drops()
{
	local json marks drops udrops m0 d0

	has_fq || { tcs_skip "this kernel has no sch_fq"; return; }
	ip netns exec "$TCS_NS_A" sysctl -qw net.ipv4.tcp_ecn=1
	ip netns exec "$TCS_NS_B" sysctl -qw net.ipv4.tcp_ecn=1
	# a sender that goes past the limit: socket pacing would keep a local
	# one under it, and nothing would need marking
	SETTINGS="socket_pacing: off" pace_policy "$TCS_TMP/p.yaml" 10mbit flow "" \
		'        max_delay: 60ms
        ecn: true
        ecn_threshold: 1ms' \
		'      - { name: udp-paced, match: { proto: udp, dport: 5301 }, rate: 10mbit, action: pace }'
	cat "$TCS_TMP/p.yaml"
	tcs_daemon_start "$TCS_TMP/p.yaml" || { tcs_msg "daemon did not start"; return 1; }
	tcs_tcp_start ecn "$TCS_B4" 5201 "$SECS" || return 1
	# slow start is over within its first 120 ms (measured under TCG)
	sleep 2
	json=$(ctl --json stats --interval 0.1)
	m0=$(jq '.rules[] | select(.rule == "paced") | .ecn_marked_packets' <<< "$json")
	d0=$(jq '.rules[] | select(.rule == "paced") | .dropped.packets' <<< "$json")
	tcs_iperf_wait || { tcs_msg "iperf3 failed"; return 1; }
	tcs_udp_start udp "$TCS_B4" 5301 20M 5 || return 1
	tcs_iperf_wait || { tcs_msg "iperf3 failed"; return 1; }
	json=$(ctl --json stats --interval 0.1)
	echo "$json"
	marks=$(jq '.rules[] | select(.rule == "paced") | .ecn_marked_packets' <<< "$json")
	drops=$(jq '.rules[] | select(.rule == "paced") | .dropped.packets' <<< "$json")
	udrops=$(jq '.rules[] | select(.rule == "udp-paced") | .dropped.packets' <<< "$json")
	marks=$((${marks:-0} - ${m0:-0}))
	drops=$((${drops:-1} - ${d0:-0}))
	tcs_msg "ECN TCP flow after its first 2 s: $marks CE marks, $drops drops" \
		"(start-up: ${m0:-?} marks, ${d0:-?} drops); non-ECN UDP at 2x: $udrops drops"
	[ "$marks" -gt 0 ] && [ "$drops" -eq 0 ] && [ "${udrops:-0}" -gt 0 ]
}

# A reload with a new rate under a running paced TCP flow: the flow gets it.
test_reload_under_paced_tcp()
{
	local before after

	has_fq || { tcs_skip "this kernel has no sch_fq"; return; }
	pace_policy "$TCS_TMP/p.yaml" 10mbit flow
	tcs_daemon_start "$TCS_TMP/p.yaml" || { tcs_msg "daemon did not start"; return 1; }
	tcs_iperf_server re "$TCS_B4" 5201 -i 1 || return 1
	timeout -k 2 40 ip netns exec "$TCS_NS_A" iperf3 -c "$TCS_B4" -p 5201 -t 12 -J \
		> "$TCS_TMP/re.json" 2> "$TCS_TMP/re.err" < /dev/null &
	TCS_CLIENT_PIDS+=($!)
	sleep 5
	pace_policy "$TCS_TMP/p.yaml" 20mbit flow
	tcs_daemon_signal HUP
	tcs_wait_log 'reload: applied' 1 30 || { tcs_msg "no 'reload: applied'"; return 1; }
	tcs_iperf_wait || { tcs_msg "iperf3 failed"; return 1; }
	before=$(jq '[.intervals[1:4][].sum.bits_per_second] | add / length | floor' "$TCS_TMP/re.srv.json")
	after=$(jq '[.intervals[8:12][].sum.bits_per_second] | add / length | floor' "$TCS_TMP/re.srv.json")
	# goodput: 1448 payload bytes of each 1514-byte frame
	tcs_msg "paced TCP goodput at 10mbit: $(tcs_mbit "$before") mbit; after a reload to 20mbit:" \
		"$(tcs_mbit "$after") mbit (each within $FLOW_PCT% of the limit, as goodput)"
	within_pct "$(tcs_calc "$before * 1514 / 1448")" 10000000 "$FLOW_PCT" &&
		within_pct "$(tcs_calc "$after * 1514 / 1448")" 20000000 "$FLOW_PCT"
}

# Stop puts back the root qdisc the interface had.
test_stop_restores_root()
{
	local before during after

	has_fq || { tcs_skip "this kernel has no sch_fq"; return; }
	tc -n "$TCS_NS_A" qdisc replace dev "$TCS_DEV_A" root handle 5: pfifo limit 321
	before=$(tc -n "$TCS_NS_A" qdisc show dev "$TCS_DEV_A" | grep root)
	# a root an operator configured is replaced only when the policy says so
	SETTINGS="manage_root_qdisc: true" pace_policy "$TCS_TMP/p.yaml" 10mbit flow
	tcs_daemon_start "$TCS_TMP/p.yaml" || { tcs_msg "daemon did not start"; return 1; }
	# fq at the root, or mq with fq on each TX queue
	during=$(tc -n "$TCS_NS_A" qdisc show dev "$TCS_DEV_A" | grep -E 'root|parent 7c50:' |
		awk '{ print $2 }' | sort | uniq -c | xargs)
	tcs_daemon_stop || { tcs_msg "stop failed"; return 1; }
	after=$(tc -n "$TCS_NS_A" qdisc show dev "$TCS_DEV_A" | grep root)
	tcs_msg "before: $before | running: $during | after stop: $after"
	[ "$before" = "$after" ] && [[ $during == *" fq"* ]]
}

tcs_main pace "$@"
