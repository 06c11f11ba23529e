#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# shellcheck disable=SC2207 # results are numbers, split into arrays on purpose
#
# make bench, in the vm (Debian's 6.1 with netem): a TCP download limited on
# the receiver's ingress across a WAN round trip, three ways in one run: the
# policer alone, HTB on an IFB, and the receive-window clamp of socket pacing
# with the policer behind it. A measurement, not a test: qemu under TCG on a
# shared machine moves these numbers by tens of percent (docs/performance.md).
#
#   tests/vm/run.sh exec -e TCS_START_TIMEOUT=120 -- tests/pace/bench_ingress.sh

# shellcheck source=tests/lib/netns.sh
. "$(dirname "${BASH_SOURCE[0]}")/../lib/netns.sh"

TCSHAPECTL=${TCSHAPECTL:-$TCS_ROOT/build/tcshapectl}
SECS=${PACE_SECS:-10}

has_fq()
{
	ip netns exec "$TCS_NS_A" tc qdisc add dev lo root fq 2>/dev/null || return 1
	ip netns exec "$TCS_NS_A" tc qdisc del dev lo root 2>/dev/null
	return 0
}

ctl() { ip netns exec "$TCS_NS_A" "$TCSHAPECTL" --pin-dir "$TCS_PIN_DIR" "$@"; }

# Mean and least RTT (us) the senders of TAG saw (from the client's JSON),
# and the segments they retransmitted per thousand sent.
sender_rtt() { jq -er '[.end.streams[].sender.mean_rtt] | add / length | floor' "$TCS_TMP/$1.json"; }
sender_min_rtt() { jq -er '[.end.streams[].sender.min_rtt] | min' "$TCS_TMP/$1.json"; }
retrans_permille()
{
	jq -er '.end.sum_sent as $s | ($s.bytes / 1448) as $segs
		| (($s.retransmits // 0) * 1000 / ([$segs, 1] | max)) | floor' "$TCS_TMP/$1.json"
}

# Ingress: B sends to a receiver in A; prints "GOODPUT_BPS RETRANS_PERMILLE
# MEAN_RTT_US MIN_RTT_US" of TAG. The path and the method are the caller's.
download()
{
	local tag=$1
	TCS_SERVER_NS=$TCS_NS_A tcs_iperf_server "$tag" "$TCS_A4" 5201 || return 1
	timeout -k 2 $((SECS + 30)) ip netns exec "$TCS_NS_B" iperf3 -c "$TCS_A4" -p 5201 \
		-t "$SECS" -C cubic -J > "$TCS_TMP/$tag.json" 2> "$TCS_TMP/$tag.err" < /dev/null &
	TCS_CLIENT_PIDS+=($!)
	tcs_iperf_wait || return 1
	echo "$(jq -er '.end.sum_received.bits_per_second | floor' "$TCS_TMP/$tag.json")" \
		"$(retrans_permille "$tag")" "$(sender_rtt "$tag")" "$(sender_min_rtt "$tag")"
}

# ingress_policy FILE SOCKET_PACING: 10mbit on what comes to port 5201
# (and an egress rule for nothing here: the harness waits for that hook).
ingress_policy()
{
	printf '%s\n' "version: 1" "settings: { socket_pacing: $2 }" "interfaces:" \
		"  - name: $TCS_DEV_A" "    ingress:" "      - name: download" \
		"        match: { proto: tcp, dport: 5201 }" "        rate: 10mbit" \
		"        per: rule" "    egress:" \
		"      - { name: none, match: { proto: udp, dport: 9 }, rate: 1mbit }" > "$1"
}

# HTB on an IFB: the classic way to shape what comes in.
ifb_htb_on()
{
	tcs_nsa ip link add tcs-ifb0 type ifb &&
	tcs_nsa ip link set tcs-ifb0 up &&
	tc -n "$TCS_NS_A" qdisc add dev "$TCS_DEV_A" handle ffff: ingress &&
	tc -n "$TCS_NS_A" filter add dev "$TCS_DEV_A" parent ffff: matchall \
		action mirred egress redirect dev tcs-ifb0 &&
	tc -n "$TCS_NS_A" qdisc add dev tcs-ifb0 root handle 1: htb default 1 &&
	tc -n "$TCS_NS_A" class add dev tcs-ifb0 parent 1: classid 1:1 htb rate 10mbit
}
ifb_htb_off()
{
	tc -n "$TCS_NS_A" qdisc del dev "$TCS_DEV_A" ingress 2>/dev/null
	tcs_nsa ip link del tcs-ifb0 2>/dev/null
}

# One Cubic download, 10mbit on the receiver's ingress, netem adding DELAY ms
# on the sender's side: the policer alone, HTB on an IFB, and the receive
# window clamp with the policer behind it, in one run. The clamp must give
# at least 90% of the limit as goodput (the payload ceiling is 95.6%), under
# 1% of segments retransmitted, and a mean RTT within 5 ms of the path's.
ingress_wan()
{
	local delay=$1 pol htb clamp lim=10000000
	has_fq || { tcs_skip "this kernel has no sch_fq (nor netem)"; return; }
	tc -n "$TCS_NS_B" qdisc replace dev "$TCS_DEV_B" root netem delay "${delay}ms" limit 10000 ||
		{ tcs_skip "no netem"; return; }
	ingress_policy "$TCS_TMP/p.yaml" off
	tcs_daemon_start "$TCS_TMP/p.yaml" || { tcs_msg "daemon did not start"; return 1; }
	pol=($(download police)) || { tcs_msg "download failed (policer)"; return 1; }
	tcs_daemon_stop || true
	ifb_htb_on || { tcs_msg "htb on ifb failed"; return 1; }
	htb=($(download htb)) || { tcs_msg "download failed (htb)"; return 1; }
	ifb_htb_off
	ingress_policy "$TCS_TMP/p.yaml" auto
	tcs_daemon_start "$TCS_TMP/p.yaml" || { tcs_msg "daemon did not start"; return 1; }
	clamp=($(download clamp)) || { tcs_msg "download failed (clamp)"; return 1; }
	ctl stats --interval 0.1
	tcs_msg "+${delay} ms: goodput/limit, retransmits per mille, mean/min RTT us:" \
		"policer $(tcs_calc "${pol[0]} / $lim") ${pol[1]} ${pol[2]}/${pol[3]};" \
		"htb on ifb $(tcs_calc "${htb[0]} / $lim") ${htb[1]} ${htb[2]}/${htb[3]};" \
		"window clamp + policer $(tcs_calc "${clamp[0]} / $lim") ${clamp[1]} ${clamp[2]}/${clamp[3]}"
	tcs_within "${clamp[0]}" "$((lim * 90 / 100))" "$lim" && [ "${clamp[1]}" -lt 10 ] &&
		[ "${clamp[2]}" -le $((clamp[3] + 5000)) ]
}

test_ingress_wan_20ms() { ingress_wan 20; }
test_ingress_wan_80ms() { ingress_wan 80; }

tcs_main bench-ingress "$@"
