#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# shellcheck disable=SC2207 # results are numbers, split into arrays on purpose
#
# e2e: tcshaped policing real traffic between two namespaces (tests/lib/netns.sh).
# Rates are judged the way the policer counts bytes: whole frames as tc sees
# them (skb->len, MAC header included), from what the iperf3 receiver got.
#
#   sudo tests/e2e/test_police.sh                 # every test
#   sudo tests/e2e/test_police.sh udp_per_src_v6_10mbit sighup_rate   # some
#   sudo V=1 tests/e2e/test_police.sh ...         # with each test's log

# shellcheck source=tests/lib/netns.sh
. "$(dirname "${BASH_SOURCE[0]}")/../lib/netns.sh"

# UDP measurements: 3 s judge 90-110% with room to spare (3 runs of every
# UDP test at 3 s: 10 mbit 101.1-101.7%, 100 mbit 98.3-100.3%; a burst's
# share of a shorter window is the +1.7%); the vm's emulated CPU keeps 5
SECS=3
[ -n "${TCS_VM:-}" ] && SECS=5
TCP_SECS=10
LO_PCT=${LO_PCT:-90}	# UDP received rate band, % of the limit
HI_PCT=${HI_PCT:-110}
TCP_MAX_PCT=102

# policy FILE: one interface, one egress rule per "NAME PROTO DPORT RATE PER"
# argument, written the way a user would.
policy()
{
	local f=$1 name proto dport rate per
	shift
	{
		echo "version: 1"
		echo "settings: { max_keys: 65536 }"
		echo "interfaces:"
		echo "  - name: $TCS_DEV_A"
		echo "    egress:"
		for r in "$@"; do
			read -r name proto dport rate per <<< "$r"
			echo "      - name: $name"
			echo "        match: { proto: $proto, dport: \"$dport\" }"
			echo "        rate: $rate"
			echo "        per: $per"
			# the two addresses of a side share a /64, the default IPv6 key
			case $per in src|dst) echo "        key_prefix: { ipv6: 128 }" ;; esac
			echo "        action: drop	# this tier is about policing, fq or not"
		done
	} > "$f"
}

# addresses of family 4 or 6: src1 src2 dst1 dst2
addrs()
{
	if [ "$1" = 6 ]; then
		echo "$TCS_A6 $TCS_A6_2 $TCS_B6 $TCS_B6_2"
	else
		echo "$TCS_A4 $TCS_A4_2 $TCS_B4 $TCS_B4_2"
	fi
}

# One UDP load and its received L2 rate in bps on stdout (details to the log).
# udp_measure TAG DST PORT RATE [SRC] [STREAMS] -- needs tcs_iperf_wait after.
udp_rate()
{
	local tag=$1 dst=$2 r
	r=($(tcs_udp_result "$tag" "$dst")) || return 1
	echo "  $tag: received ${r[0]} bps L2, ${r[1]} bps payload, ${r[2]} packets, ${r[3]} dropped" >&2
	echo "${r[0]}"
}

# band LIMIT_BPS -> "lo hi" in bps
band() { echo "$(tcs_calc "$1 * $LO_PCT / 100") $(tcs_calc "$1 * $HI_PCT / 100")"; }

# udp_police PER FAMILY LIMIT_MBIT: senders at twice the limit per key are
# received at LO_PCT..HI_PCT of the limit per key.
#   flow: four flows (four clients), each judged
#   rule: four flows of one client (they connect before any sends), the sum judged
#   src:  two sources, two flows each, each source judged
#   dst:  two destinations, two flows each, each destination judged
# A result under the band is measured once more, and both attempts are
# printed: on a busy host a sender that is descheduled offers nothing for a
# while (and a bucket refills only up to its burst), and a starved receiver
# drops datagrams; neither is the policer's fault. Over the band is a
# policer that lets too much through: never retried.
udp_police()
{
	local per=$1 fam=$2 mbit=$3 limit lo hi try msg='' rc

	if [ -n "${TCS_VM:-}" ] && [ "$mbit" -ge 100 ]; then
		# measured: four UDP senders reach 175-190 Mbit/s together under qemu's
		# emulated CPU, short of the 400-800 this test offers; per rule (200
		# offered) the emulated path delivered 83-88 Mbit/s of 100 once the
		# classifier learnt L3 devices and tunnels. Natively it runs.
		tcs_skip "under the vm's emulated CPU 4 UDP senders reach ~190 Mbit/s and the path carries less; $mbit mbit runs natively"
		return
	fi
	limit=$((mbit * 1000000))
	read -r lo hi <<< "$(band "$limit")"
	policy "$TCS_TMP/policy.yaml" "udp-$per udp 5201-5204 ${mbit}mbit $per"
	tcs_daemon_start "$TCS_TMP/policy.yaml" || { tcs_msg "daemon did not start"; return 1; }

	for try in 1 2; do
		udp_police_once "$try" "$per" "$fam" "$mbit" "$lo" "$hi"
		rc=$?
		msg+="${msg:+; attempt 2: }$UDP_MSG"
		[ $rc -eq 2 ] && [ $try -eq 1 ] && continue
		break
	done
	tcs_msg "$msg"
	[ $rc -eq 0 ]
}

# One measurement for udp_police; the text in UDP_MSG. Returns 0 (in the
# band), 1 (over it, or broken) or 2 (under it: worth one more try).
udp_police_once()
{
	local t=$1 per=$2 fam=$3 mbit=$4 lo=$5 hi=$6 s1 s2 d1 d2 i got=() desc v
	local ok=1 low=0 over=0 err0 err

	read -r s1 s2 d1 d2 <<< "$(addrs "$fam")"
	UDP_MSG="iperf3 failed"
	err0=$(tcs_rx_udp_errors)
	case $per in
	flow)
		for i in 1 2 3 4; do
			tcs_udp_start "$t-f$i" "$d1" $((5200 + i)) "$((2 * mbit))M" $SECS || return 1
		done
		desc="4 flows at $((2 * mbit))mbit offered"
		;;
	rule)
		tcs_udp_start "$t-f1" "$d1" 5201 "$(tcs_calc "$mbit / 2")M" $SECS "$s1" 4 || return 1
		desc="4 flows at $(tcs_calc "$mbit / 2")mbit offered, sum"
		;;
	src)
		tcs_udp_start "$t-f1" "$d1" 5201 "${mbit}M" $SECS "$s1" 2 || return 1
		tcs_udp_start "$t-f2" "$d1" 5202 "${mbit}M" $SECS "$s2" 2 || return 1
		desc="2 sources x 2 flows at ${mbit}mbit offered, per source"
		;;
	dst)
		tcs_udp_start "$t-f1" "$d1" 5201 "${mbit}M" $SECS "$s1" 2 || return 1
		tcs_udp_start "$t-f2" "$d2" 5202 "${mbit}M" $SECS "$s1" 2 || return 1
		desc="2 destinations x 2 flows at ${mbit}mbit offered, per destination"
		;;
	esac
	tcs_iperf_wait || return 1
	err=$(($(tcs_rx_udp_errors) - err0))

	for i in 1 2 3 4; do
		[ -e "$TCS_TMP/$t-f$i.json" ] || continue
		v=$(udp_rate "$t-f$i" "$d1") || { UDP_MSG="no result for flow $i"; return 1; }
		got+=("$(tcs_mbit "$v")")
		tcs_within "$v" "$lo" "$hi" && continue
		tcs_within "$v" 0 "$lo" && low=1 || over=1
	done
	[ $low -eq 0 ] && [ $over -eq 0 ] || ok=0
	[ $over -eq 1 ] && low=0
	UDP_MSG="$desc: ${got[*]} mbit received (limit ${mbit}mbit, $LO_PCT-$HI_PCT%)"
	[ $ok -eq 1 ] && return 0
	UDP_MSG+=" [receiver sockets dropped $err, load average $(cut -d' ' -f1 /proc/loadavg)]"
	[ $low -eq 1 ] && return 2
	return 1
}

test_udp_per_flow_v4_10mbit()	{ udp_police flow 4 10; }
test_udp_per_flow_v6_10mbit()	{ udp_police flow 6 10; }
test_udp_per_flow_v4_100mbit()	{ udp_police flow 4 100; }
test_udp_per_flow_v6_100mbit()	{ udp_police flow 6 100; }
test_udp_per_rule_v4_10mbit()	{ udp_police rule 4 10; }
test_udp_per_rule_v6_10mbit()	{ udp_police rule 6 10; }
test_udp_per_rule_v4_100mbit()	{ udp_police rule 4 100; }
test_udp_per_rule_v6_100mbit()	{ udp_police rule 6 100; }
test_udp_per_src_v4_10mbit()	{ udp_police src 4 10; }
test_udp_per_src_v6_10mbit()	{ udp_police src 6 10; }
test_udp_per_src_v4_100mbit()	{ udp_police src 4 100; }
test_udp_per_src_v6_100mbit()	{ udp_police src 6 100; }
test_udp_per_dst_v4_10mbit()	{ udp_police dst 4 10; }
test_udp_per_dst_v6_10mbit()	{ udp_police dst 6 10; }
test_udp_per_dst_v4_100mbit()	{ udp_police dst 4 100; }
test_udp_per_dst_v6_100mbit()	{ udp_police dst 6 100; }

# tcp_police PER FAMILY LIMIT_MBIT: two TCP flows for TCP_SECS under a drop
# policer never exceed the limit (per flow, or their sum per rule) and keep
# making progress. How much of the limit they get is printed, not asserted: a
# policer on a 30 us RTT veth leaves TCP a small fraction of it (it drops the
# bursts that a shaper or pacer would have delayed).
tcp_police()
{
	local per=$1 fam=$2 mbit=$3 limit max s1 s2 d1 d2 i r sum=0 got=() ok=1 why=
	limit=$((mbit * 1000000))
	max=$(tcs_calc "$limit * $TCP_MAX_PCT / 100")
	read -r s1 s2 d1 d2 <<< "$(addrs "$fam")"

	policy "$TCS_TMP/policy.yaml" "tcp-$per tcp 5301-5302 ${mbit}mbit $per"
	tcs_daemon_start "$TCS_TMP/policy.yaml" || { tcs_msg "daemon did not start"; return 1; }
	for i in 1 2; do
		tcs_tcp_start "t$i" "$d1" $((5300 + i)) $TCP_SECS || return 1
	done
	tcs_iperf_wait || { tcs_msg "iperf3 failed"; return 1; }

	for i in 1 2; do
		r=($(tcs_tcp_result "t$i")) || { tcs_msg "no result for flow $i"; return 1; }
		tcs_log "t$i: goodput ${r[0]} bps, ${r[1]} retransmits, received ${r[2]} + ${r[3]} bytes (1st + 2nd half)"
		got+=("$(tcs_mbit "${r[0]}") mbit/${r[1]} rtx")
		sum=$(tcs_calc "$sum + ${r[0]}")
		if [ "${r[0]}" -le 0 ] || [ "${r[2]}" -le 0 ] || [ "${r[3]}" -le 0 ]; then
			ok=0
			why+=" flow $i stalled;"
		fi
		if [ "$per" = flow ] && ! tcs_within "${r[0]}" 0 "$max"; then
			ok=0
			why+=" flow $i over the limit;"
		fi
	done
	if [ "$per" = rule ] && ! tcs_within "$sum" 0 "$max"; then
		ok=0
		why+=" sum over the limit;"
	fi
	tcs_msg "2 flows, ${TCP_SECS}s, goodput/retransmits: ${got[*]}, sum $(tcs_mbit "$sum") mbit" \
		"(limit ${mbit}mbit per $per, at most $TCP_MAX_PCT%, progress required)${why:+:$why}"
	[ $ok -eq 1 ]
}

test_tcp_per_flow_v4_10mbit()	{ tcp_police flow 4 10; }
test_tcp_per_rule_v6_100mbit()	{ tcp_police rule 6 100; }

# A flow no rule matches is left alone: tcshaped counts it as unmatched and
# charges, paces and drops none of it, and it runs far past every limit in
# the policy. What the classifier costs it is a measurement, not a pass or
# fail: `make bench` (overhead.unmatched_ratio).
test_unmatched_passes_uncharged()
{
	local r json charged hookdrops unmatched fast=100000000

	policy "$TCS_TMP/policy.yaml" "udp-flow udp 5201-5204 10mbit flow" \
		"tcp-rule tcp 5301 10mbit rule"
	tcs_daemon_start "$TCS_TMP/policy.yaml" || { tcs_msg "daemon did not start"; return 1; }
	tcs_tcp_start with "$TCS_B4" 5401 4 || return 1
	tcs_iperf_wait || { tcs_msg "iperf3 failed"; return 1; }
	r=($(tcs_tcp_result with)) || return 1
	json=$(tcs_ctl --json stats --interval 0.1) || { tcs_msg "tcshapectl stats failed"; return 1; }
	tcs_log "stats: $json"
	charged=$(jq '[.rules[] | .sent.packets, .dropped.packets] | add + 0' <<< "$json")
	unmatched=$(jq '.packets.unmatched + 0' <<< "$json")
	hookdrops=$(tc -n "$TCS_NS_A" -s qdisc show dev "$TCS_DEV_A" |
		awk '/qdisc clsact/ { c = 1 } c && /dropped/ { sub(/.*dropped /, ""); print $1 + 0; exit }')
	tcs_msg "unmatched TCP: $(tcs_mbit "${r[0]}") mbit (the rules' limit 10 mbit), ${r[1]}" \
		"retransmits; packets charged to a rule: $charged; counted unmatched: $unmatched;" \
		"drops at our hook: ${hookdrops:-?}"
	[ "$charged" -eq 0 ] && [ "$unmatched" -gt 0 ] && [ "${hookdrops:-1}" -eq 0 ] &&
		[ "${r[0]}" -gt "$fast" ]
}

# udp_one TAG LIMIT_MBIT: one UDP flow at twice the limit to port 5201. The
# received L2 bps in UDP_V, in the band or not (UDP_OK 1/0); measured once
# more if under the band, as udp_police does, the first attempt in UDP_NOTE.
udp_one()
{
	local tag=$1 mbit=$2 lo hi try
	read -r lo hi <<< "$(band $((mbit * 1000000)))"
	UDP_NOTE=
	for try in 1 2; do
		tcs_udp_start "$tag-$try" "$TCS_B4" 5201 "$((2 * mbit))M" $SECS || return 1
		tcs_iperf_wait || return 1
		UDP_V=$(udp_rate "$tag-$try" "$TCS_B4") || return 1
		UDP_OK=1
		tcs_within "$UDP_V" "$lo" "$hi" && return 0
		UDP_OK=0
		[ $try -eq 1 ] && tcs_within "$UDP_V" 0 "$lo" || return 0
		UDP_NOTE=" (2nd attempt; 1st: $(tcs_mbit "$UDP_V") mbit, load average $(cut -d' ' -f1 /proc/loadavg))"
	done
}

# SIGHUP with a new rate: the new rate is what the flow gets afterwards.
test_sighup_rate()
{
	local p=$TCS_TMP/policy.yaml m1 m2 ok=1

	policy "$p" "udp-flow udp 5201 10mbit flow"
	tcs_daemon_start "$p" || { tcs_msg "daemon did not start"; return 1; }
	udp_one before 10 || { tcs_msg "iperf3 failed"; return 1; }
	m1="$(tcs_mbit "$UDP_V") mbit$UDP_NOTE"
	[ "$UDP_OK" -eq 1 ] || ok=0

	policy "$p" "udp-flow udp 5201 30mbit flow"
	tcs_daemon_signal HUP
	tcs_wait_log 'reload: applied' 1 10 || { tcs_msg "no 'reload: applied'"; return 1; }
	udp_one after 30 || { tcs_msg "iperf3 failed"; return 1; }
	m2="$(tcs_mbit "$UDP_V") mbit$UDP_NOTE"
	[ "$UDP_OK" -eq 1 ] || ok=0

	tcs_msg "10mbit: $m1; after SIGHUP with 30mbit: $m2 (offered 2x, $LO_PCT-$HI_PCT%)"
	[ $ok -eq 1 ]
}

# SIGHUP with a broken file: rejected with FILE:LINE:COLUMN, old limit stays.
test_sighup_broken_keeps_old()
{
	local p=$TCS_TMP/policy.yaml err

	policy "$p" "udp-flow udp 5201 10mbit flow"
	tcs_daemon_start "$p" || { tcs_msg "daemon did not start"; return 1; }

	policy "$p" "udp-flow udp 5201 tenmbit flow"
	tcs_daemon_signal HUP
	tcs_wait_log 'reload: rejected' 1 10 || { tcs_msg "no 'reload: rejected'"; return 1; }
	err=$(grep -F "$p:" "$TCS_LOG" | grep -E ":[0-9]+:[0-9]+: " | head -1)
	tcs_log "error line: $err"
	if [ -z "$err" ]; then
		tcs_msg "no $p:LINE:COLUMN: error in the log"
		return 1
	fi
	if ! tcs_pid_running "$TCS_DAEMON_PID"; then
		tcs_msg "daemon exited after a rejected reload"
		return 1
	fi
	udp_one after 10 || { tcs_msg "iperf3 failed"; return 1; }
	tcs_msg "rejected (${err#<[0-9]>}); still 10mbit: $(tcs_mbit "$UDP_V") mbit$UDP_NOTE" \
		"($LO_PCT-$HI_PCT%)"
	[ "$UDP_OK" -eq 1 ]
}

# SIGTERM: exit 0, "stopped", none of our filters left on either hook, our
# pins gone, and the filters someone else put there before us untouched.
test_sigterm_cleanup()
{
	local p=$TCS_TMP/policy.yaml e_before i_before e_after i_after n left why=

	# Two foreign filters that match nothing, so ours still sees the traffic:
	# u32 on egress (its key never matches an IP header's first word),
	# classic BPF returning 0 ("no match") on ingress.
	tc -n "$TCS_NS_A" qdisc add dev "$TCS_DEV_A" clsact &&
	tc -n "$TCS_NS_A" filter add dev "$TCS_DEV_A" egress pref 7 \
		u32 match u32 0xdeadbeef 0xffffffff at 0 classid 1:7 &&
	tc -n "$TCS_NS_A" filter add dev "$TCS_DEV_A" ingress pref 7 bpf bytecode '1,6 0 0 0,' || {
		tcs_skip "cannot add foreign u32/cls_bpf filters here"
		return
	}
	e_before=$(tcs_filters egress | grep -c ' pref 7 u32 ')
	i_before=$(tcs_filters ingress | grep -c ' pref 7 bpf ')

	policy "$p" "udp-flow udp 5201 10mbit flow"
	tcs_daemon_start "$p" || { tcs_msg "daemon did not start"; return 1; }
	tcs_log "egress while running:"
	tcs_filters egress | sed 's/^/    /'
	tcs_daemon_stop TERM || why+=" exit status $TCS_DAEMON_RC;"
	[ "$(tcs_log_count 'stopped')" -ge 1 ] || why+=" no 'stopped' line;"

	n=$(( $(tcs_our_filters egress) + $(tcs_our_filters ingress) ))
	[ "$n" -eq 0 ] || why+=" $n of our filters left;"
	n=$(tcs_filters egress | grep -c " pref $TCS_TC_PRIO ")
	[ "$n" -eq 0 ] || why+=" something left at pref $TCS_TC_PRIO;"
	e_after=$(tcs_filters egress | grep -c ' pref 7 u32 ')
	i_after=$(tcs_filters ingress | grep -c ' pref 7 bpf ')
	[ "$e_after" -eq "$e_before" ] && [ "$e_before" -gt 0 ] || why+=" foreign egress u32 gone;"
	[ "$i_after" -eq "$i_before" ] && [ "$i_before" -gt 0 ] || why+=" foreign ingress bpf gone;"
	left=$(find "$TCS_PIN_DIR" -mindepth 1 2>/dev/null | wc -l)
	[ "$left" -eq 0 ] ||
		why+=" pins left in $TCS_PIN_DIR: $(cd "$TCS_PIN_DIR" && echo *);"
	tcs_log "egress after:"
	tcs_filters egress | sed 's/^/    /'
	tcs_log "ingress after:"
	tcs_filters ingress | sed 's/^/    /'

	tcs_msg "exit $TCS_DAEMON_RC; ours left: $(( $(tcs_our_filters egress) + $(tcs_our_filters ingress) ))," \
		"pins left: $left, foreign u32 egress/bpf ingress: $e_after/$i_after${why:+; FAILED:$why}"
	[ -z "$why" ]
}

# --check: 0 on a valid file, 1 with FILE:LINE:COLUMN on a broken one.
test_check_mode()
{
	local p=$TCS_TMP/policy.yaml out rc1 rc2

	[ -x "$TCSHAPED" ] || { tcs_msg "$TCSHAPED not built"; return 1; }
	policy "$p" "udp-flow udp 5201 10mbit flow"
	"$TCSHAPED" --check -c "$p" > "$TCS_TMP/check.out" 2>&1
	rc1=$?
	policy "$p" "udp-flow udp 5201 10mbit sideways"
	"$TCSHAPED" --check -c "$p" > "$TCS_TMP/check.out" 2>&1
	rc2=$?
	out=$(grep -F "$p:" "$TCS_TMP/check.out" | grep -E ":[0-9]+:[0-9]+: " | head -1)
	sed 's/^/    /' "$TCS_TMP/check.out"
	tcs_msg "valid: exit $rc1; broken: exit $rc2, \"${out#<[0-9]>}\""
	[ "$rc1" -eq 0 ] && [ "$rc2" -eq 1 ] && [ -n "$out" ]
}

# In the vm tier (Debian's 6.1 under qemu/TCG) policing of each family and
# of TCP on the stock kernel, with the cases that offer the emulated path
# 20-40 mbit (per flow offers 80: the emulator, not the policer, loses it);
# every key kind and rate, and reload and stop, run on the host, where the
# rates judge the policer and not the emulator.
if [ -n "${TCS_VM:-}" ] && [ $# -eq 0 ]; then
	set -- udp_per_rule_v4_10mbit udp_per_dst_v6_10mbit tcp_per_flow_v4_10mbit unmatched_passes_uncharged
fi
tcs_main e2e-police "$@"
