#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# shellcheck disable=SC2207 # results are numbers, split into arrays on purpose
#
# e2e: what happens to enforcement when the policy, the interfaces, tc or the
# daemon itself change under live traffic: reload, reconciliation over
# netlink, SIGKILL and restart, on_stop: keep (tests/lib/netns.sh).
#
#   sudo tests/e2e/test_lifecycle.sh              # every test
#   sudo V=1 tests/e2e/test_lifecycle.sh sigkill_restart

# shellcheck source=tests/lib/netns.sh
. "$(dirname "${BASH_SOURCE[0]}")/../lib/netns.sh"

OVH4=$((8 + 20 + 14))	# UDP + IPv4 + Ethernet: what the policer counts beyond payload

# policy FILE PATTERN [EXTRA RULE YAML]: one UDP rule on dport 5201 of the
# interface entry PATTERN, with RATE, BURST and PER from the environment.
policy()
{
	cat > "$1" <<EOF
version: 1
settings: { max_keys: 65536, on_stop: ${ON_STOP:-remove} }
interfaces:
  - name: "${2:-$TCS_DEV_A}"
    egress:
      - name: udp-limit
        match: { proto: udp, dport: 5201 }
        rate: ${RATE:-10mbit}
        burst: ${BURST:-16kb}
        per: ${PER:-rule}
        action: ${ACTION:-drop}
${3:-}
EOF
}


# Received L2 bits per second in each full server interval (of LEN seconds,
# default 1) of TAG, from FIRST on: a short last interval, the tail after the
# sender stopped, is left out.
intervals()
{
	jq -r --argjson ovh "$OVH4" --argjson first "${2:-0}" --argjson len "${3:-1}" '
		.intervals[$first:][] | .sum
		| select(.seconds > 0.9 * $len)
		| ((.bytes + (.packets - .lost_packets) * $ovh) * 8 / .seconds) | floor' \
		"$TCS_TMP/$1.srv.json"
}

avg() { awk '{ s += $1; n++ } END { printf "%d\n", n ? s / n : 0 }'; }

# The same flow, long enough to change things under it: UDP to B:5201 at
# OFFER for SECS, the server reporting every INTERVAL seconds.
long_udp()
{
	local tag=$1 offer=$2 secs=$3 interval=${4:-1}
	# the server reports the intervals judged here: it needs -i itself
	tcs_iperf_server "$tag" "$TCS_B4" 5201 -i "$interval" || return 1
	timeout -k 2 $((secs + 15)) ip netns exec "$TCS_NS_A" \
		iperf3 -c "$TCS_B4" -p 5201 -u -l 1400 -b "$offer" -t "$secs" -i "$interval" -J \
		> "$TCS_TMP/$tag.json" 2> "$TCS_TMP/$tag.err" < /dev/null &
	TCS_CLIENT_PIDS+=($!)
}

# Reload with a new rate under a running flow: the flow gets the new rate.
test_reload_rate_under_flow()
{
	local p=$TCS_TMP/policy.yaml before after

	policy "$p"
	tcs_daemon_start "$p" || { tcs_msg "daemon did not start"; return 1; }
	long_udp flow 40M 12 || return 1
	sleep 4
	RATE=20mbit policy "$p"
	tcs_daemon_signal HUP
	tcs_wait_log 'reload: applied' 1 10 || { tcs_msg "no 'reload: applied'"; return 1; }
	tcs_iperf_wait || { tcs_msg "iperf3 failed"; return 1; }
	before=$(intervals flow 1 | head -n 2 | avg)
	# the last 3 s: well after the reload, even on a slow (emulated) CPU
	after=$(intervals flow 9 | avg)
	tcs_msg "10mbit: $(tcs_mbit "$before") mbit; after reload to 20mbit: $(tcs_mbit "$after") mbit (90-110%)"
	tcs_within "$before" 9000000 11000000 && tcs_within "$after" 18000000 22000000
}

# 20 reloads in a row (each changing a rule) while an unmatched flow runs:
# not one packet of it is dropped, by our counters or by the receiver.
test_reloads_spare_unmatched_flow()
{
	local p=$TCS_TMP/policy.yaml i r lost drops json err0 rxerr hookdrops

	policy "$p"
	tcs_daemon_start "$p" || { tcs_msg "daemon did not start"; return 1; }
	err0=$(tcs_rx_udp_errors)
	tcs_iperf_server other "$TCS_B4" 5301 || return 1
	timeout -k 2 25 ip netns exec "$TCS_NS_A" iperf3 -c "$TCS_B4" -p 5301 -u -l 1400 \
		-b 20M -t 6 -J > "$TCS_TMP/other.json" 2> "$TCS_TMP/other.err" < /dev/null &
	TCS_CLIENT_PIDS+=($!)
	sleep 0.5
	for ((i = 1; i <= 20; i++)); do
		RATE="$((10 + i))mbit" policy "$p"
		tcs_daemon_signal HUP
		tcs_wait_log 'reload: applied' "$i" 10 || { tcs_msg "reload $i not applied"; return 1; }
	done
	tcs_iperf_wait || { tcs_msg "iperf3 failed"; return 1; }
	r=($(tcs_udp_result other "$TCS_B4")) || return 1
	lost=${r[3]}
	json=$(tcs_ctl --json stats --interval 0.1) || { tcs_msg "tcshapectl stats failed"; return 1; }
	drops=$(jq '[.rules[].dropped.packets] | add + 0' <<< "$json")
	tcs_log "stats: $json"
	# every drop at our hook, by any filter there (the clsact's own counter)
	hookdrops=$(tc -n "$TCS_NS_A" -s qdisc show dev "$TCS_DEV_A" |
		awk '/qdisc clsact/ { c = 1 } c && /dropped/ { sub(/.*dropped /, ""); print $1 + 0; exit }')
	# a receiver starved of CPU (the vm) overflows its socket: counted there
	rxerr=$(( $(tcs_rx_udp_errors) - err0 ))
	tcs_msg "20 reloads applied; unmatched flow: ${r[2]} packets received, $lost lost" \
		"($rxerr overflowed the receiver's socket); drops at our hook: ${hookdrops:-?}," \
		"by tcshaped's counters: $drops; unmatched counted: $(jq .packets.unmatched <<< "$json")"
	[ "$drops" -eq 0 ] && [ "${hookdrops:-1}" -eq 0 ] && [ "$lost" -le "$rxerr" ]
}

# A limited key keeps its state across a reload that does not touch its
# rule: drained, it gets no new burst.
test_reload_keeps_state()
{
	local p=$TCS_TMP/policy.yaml extra r1 r2 rate

	RATE=2mbit BURST=2mb policy "$p"
	tcs_daemon_start "$p" || { tcs_msg "daemon did not start"; return 1; }
	tcs_udp_start drain "$TCS_B4" 5201 10M 3 || return 1
	tcs_iperf_wait || { tcs_msg "iperf3 failed"; return 1; }
	r1=($(tcs_udp_result drain "$TCS_B4")) || return 1

	extra='      - { name: unrelated, match: { proto: tcp, dport: 22 }, rate: 1mbit }'
	RATE=2mbit BURST=2mb policy "$p" "" "$extra"
	tcs_daemon_signal HUP
	tcs_wait_log 'reload: applied' 1 10 || { tcs_msg "no 'reload: applied'"; return 1; }
	tcs_udp_start again "$TCS_B4" 5201 10M 3 || return 1
	tcs_iperf_wait || { tcs_msg "iperf3 failed"; return 1; }
	r2=($(tcs_udp_result again "$TCS_B4")) || return 1
	# a fresh 2 MiB burst would add 5.6 mbit to 3 s at 2 mbit: 7.6 mbit
	rate=${r2[0]}
	tcs_msg "drained: $(tcs_mbit "${r1[0]}") mbit over 3 s (2 MiB burst);" \
		"after an unrelated reload: $(tcs_mbit "$rate") mbit (2mbit limit; a new burst would show ~7.6)"
	tcs_within "$rate" 0 4000000
}

# An interface created after start that matches a glob is limited within a
# second; deleted and created again, it is limited again.
test_new_interface_glob()
{
	local p=$TCS_TMP/policy.yaml round i t ok=1 msg=

	policy "$p" "tcs-x*"
	# the daemon waits for a filter on tcs-a0, which this policy does not name
	ip netns exec "$TCS_NS_A" "$TCSHAPED" -c "$p" --pin-dir "$TCS_PIN_DIR" -v \
		>> "$TCS_LOG" 2>&1 < /dev/null &
	TCS_DAEMON_PID=$!
	tcs_wait_log 'ready:' 1 "$TCS_START_TIMEOUT" || { tcs_msg "daemon did not start"; return 1; }
	for round in 1 2; do
		ip link add tcs-x0 netns "$TCS_NS_A" type veth peer name tcs-y0 netns "$TCS_NS_B" &&
		ip -n "$TCS_NS_A" addr add 198.19.0.1/24 dev tcs-x0 &&
		ip -n "$TCS_NS_B" addr add 198.19.0.2/24 dev tcs-y0 &&
		ip -n "$TCS_NS_A" link set tcs-x0 up && ip -n "$TCS_NS_B" link set tcs-y0 up ||
			{ tcs_msg "cannot make tcs-x0"; return 1; }
		t=$(date +%s%N)
		for ((i = 0; i < 20; i++)); do
			[ "$(tcs_our_filters egress tcs-x0)" -ge 1 ] && break
			sleep 0.05
		done
		t=$(( ($(date +%s%N) - t) / 1000000 ))
		[ "$(tcs_our_filters egress tcs-x0)" -ge 1 ] || { ok=0; msg+="round $round: not attached after 1 s; "; }
		sleep 0.5	# carrier
		tcs_iperf_server x "198.19.0.2" 5201 || return 1
		timeout -k 2 15 ip netns exec "$TCS_NS_A" iperf3 -c 198.19.0.2 -p 5201 -u -l 1400 \
			-b 20M -t 3 -J > "$TCS_TMP/x.json" 2> "$TCS_TMP/x.err" < /dev/null &
		TCS_CLIENT_PIDS+=($!)
		tcs_iperf_wait || { tcs_msg "iperf3 failed"; return 1; }
		r=($(tcs_udp_result x 198.19.0.2)) || return 1
		tcs_within "${r[0]}" 9000000 11000000 || ok=0
		msg+="round $round: attached after ${t} ms, $(tcs_mbit "${r[0]}") mbit; "
		ip -n "$TCS_NS_A" link del tcs-x0
		sleep 0.3
	done
	tcs_msg "${msg}limit 10mbit"
	[ $ok -eq 1 ]
}

# Wait up to a second for our egress filter on tcs-a0; ms taken, or fail.
restored_ms()
{
	local t i
	t=$(date +%s%N)
	for ((i = 0; i < 20; i++)); do
		[ "$(tcs_our_filters egress)" -eq 1 ] && break
		sleep 0.05
	done
	[ "$(tcs_our_filters egress)" -eq 1 ] || return 1
	echo $(( ($(date +%s%N) - t) / 1000000 ))
}

# 1 if the foreign u32 filter is on tcs-a0 egress (tc shows it on several lines)
foreign() { tcs_filters egress | grep -q ' pref 7 u32 ' && echo 1 || echo 0; }

# Someone deletes our filter, or the whole clsact: it is back within a second.
# A foreign filter on the same hook survives start, reload, restore and stop.
test_tc_restore_and_foreign_filter()
{
	local p=$TCS_TMP/policy.yaml t1 t2 why= f

	tc -n "$TCS_NS_A" qdisc add dev "$TCS_DEV_A" clsact &&
	tc -n "$TCS_NS_A" filter add dev "$TCS_DEV_A" egress pref 7 \
		u32 match u32 0xdeadbeef 0xffffffff at 0 classid 1:7 ||
		{ tcs_skip "cannot add a foreign u32 filter"; return; }
	policy "$p"
	tcs_daemon_start "$p" || { tcs_msg "daemon did not start"; return 1; }
	[ "$(foreign)" -eq 1 ] || why+=" foreign gone after start;"
	RATE=12mbit policy "$p"
	tcs_daemon_signal HUP
	tcs_wait_log 'reload: applied' 1 10 || why+=" no reload;"
	[ "$(foreign)" -eq 1 ] || why+=" foreign gone after reload;"

	tc -n "$TCS_NS_A" filter del dev "$TCS_DEV_A" egress pref "$TCS_TC_PRIO" handle 1 bpf
	t1=$(restored_ms) || why+=" filter not restored within 1 s;"
	[ "$(foreign)" -eq 1 ] || why+=" foreign gone after restore;"
	tcs_wait_log 'restored egress filter' 1 2 >/dev/null || why+=" no warning logged;"

	tc -n "$TCS_NS_A" qdisc del dev "$TCS_DEV_A" clsact
	t2=$(restored_ms) || why+=" clsact + filter not restored within 1 s;"
	# deleting clsact took the foreign filter with it: that was the operator
	tc -n "$TCS_NS_A" filter add dev "$TCS_DEV_A" egress pref 7 \
		u32 match u32 0xdeadbeef 0xffffffff at 0 classid 1:7
	tcs_daemon_stop TERM || why+=" stop failed;"
	f=$(foreign)
	[ "$f" -eq 1 ] || why+=" foreign gone after stop;"
	[ "$(tcs_our_filters egress)" -eq 0 ] || why+=" our filter left after stop;"
	tcs_msg "filter deleted: back in ${t1:-?} ms; clsact deleted: back in ${t2:-?} ms;" \
		"foreign u32 present after start/reload/restore/stop${why:+; FAILED:$why}"
	[ -z "$why" ]
}

# Two of our filters on one hook, as while settings.tc_priority moves (the new
# one is attached before the old one goes): the packet the first passes on
# reaches the second, which must not charge it again. The second filter here
# is the daemon's own program, pinned and attached at another priority, so
# the kernel's own hand-over between filters (the qdisc cb) is what is tested.
test_second_filter_charges_once()
{
	local p=$TCS_TMP/policy.yaml pin=$TCS_BPFFS/dup id sent why=

	RATE=1gbit BURST=1mb policy "$p"
	tcs_daemon_start "$p" || { tcs_msg "daemon did not start"; return 1; }
	id=$(tc -n "$TCS_NS_A" -j filter show dev "$TCS_DEV_A" egress |
		jq -r '[.[] | select(.options.prog.name? == "tcs_egress") | .options.prog.id][0]')
	[ -n "$id" ] && [ "$id" != null ] || { tcs_msg "no prog id of our egress filter"; return 1; }
	bpftool prog pin id "$id" "$pin" &&
	tc -n "$TCS_NS_A" filter add dev "$TCS_DEV_A" egress pref $((TCS_TC_PRIO + 1)) handle 2 \
		bpf da pinned "$pin" || { tcs_msg "cannot attach a second filter"; return 1; }
	tcs_nsa bash -c "for ((i = 0; i < 100; i++)); do printf '%1000s' x > /dev/udp/$TCS_B4/5201; done" \
		2>/dev/null
	sent=$(tcs_ctl --json stats --interval 0.1 |
		jq '.rules[] | select(.rule == "udp-limit") | .sent.packets')
	[ "$sent" = 100 ] || why+=" charged $sent packets for 100;"
	tc -n "$TCS_NS_A" filter del dev "$TCS_DEV_A" egress pref $((TCS_TC_PRIO + 1)) handle 2 bpf
	rm -f "$pin"
	tcs_msg "100 datagrams through two of our filters on one hook: $sent charged${why:+; FAILED:$why}"
	[ -z "$why" ]
}

# SIGKILL: the pinned datapath keeps enforcing; a restart adopts it, and no
# 100 ms window of the whole run carries more than limit x 100 ms + burst.
test_sigkill_restart()
{
	local p=$TCS_TMP/policy.yaml max bound n killed_rate why= e i

	policy "$p"
	tcs_daemon_start "$p" || { tcs_msg "daemon did not start"; return 1; }
	long_udp kill 20M 12 0.1 || return 1
	sleep 2
	kill -KILL "$TCS_DAEMON_PID"
	wait "$TCS_DAEMON_PID" 2>/dev/null
	TCS_DAEMON_PID=
	sleep 5
	# 5 s after the kill: still held to the limit (the last 2 s of it)
	tcs_daemon_start "$p" || { tcs_msg "restart failed"; return 1; }
	tcs_iperf_wait || { tcs_msg "iperf3 failed"; return 1; }

	killed_rate=$(intervals kill 50 0.1 | head -n 20 | avg)
	# every 100 ms window, from the first full one to the end
	bound=$(( 10000000 / 8 / 10 + 16384 + 1400 + OVH4 ))
	max=$(jq -r --argjson ovh "$OVH4" '
		[.intervals[1:][] | .sum | select(.seconds > 0.09)
		 | (.bytes + (.packets - .lost_packets) * $ovh) * (0.1 / .seconds)] | max | floor' \
		"$TCS_TMP/kill.srv.json")
	n=$(jq '[.intervals[1:][]] | length' "$TCS_TMP/kill.srv.json")
	tcs_within "$killed_rate" 9000000 11000000 || why+=" not held after SIGKILL;"
	[ "$max" -le "$bound" ] || why+=" a window over the bound;"
	e=$(tcs_our_filters egress)
	i=$(tcs_our_filters ingress)
	[ "$e" -eq 1 ] && [ "$i" -eq 0 ] || why+=" $e egress / $i ingress filters of ours;"
	grep -q 'adopting 1 rules' "$TCS_LOG" || why+=" rules not adopted;"
	grep -q 'adopted egress filter' "$TCS_LOG" || why+=" filter not replaced in place;"
	tcs_msg "5 s after SIGKILL: $(tcs_mbit "$killed_rate") mbit (limit 10mbit);" \
		"busiest of $n 100 ms windows: $max bytes (bound: $bound = limit x 100 ms + burst + 1 packet);" \
		"after restart: $e filter on egress${why:+; FAILED:$why}"
	[ -z "$why" ]
}

# on_stop: keep leaves the datapath enforcing (for upgrades); the next start
# adopts it, and a stop with remove clears everything.
test_on_stop_keep()
{
	local p=$TCS_TMP/policy.yaml r why= left

	ON_STOP=keep policy "$p"
	tcs_daemon_start "$p" || { tcs_msg "daemon did not start"; return 1; }
	tcs_daemon_stop TERM || why+=" stop failed;"
	[ "$(tcs_our_filters egress)" -eq 1 ] || why+=" filter gone after keep-stop;"
	tcs_ctl status > "$TCS_TMP/status.txt"
	[ $? -eq 3 ] || why+=" status did not say 'not running' (exit 3);"
	cat "$TCS_TMP/status.txt"
	tcs_udp_start kept "$TCS_B4" 5201 20M 3 || return 1
	tcs_iperf_wait || { tcs_msg "iperf3 failed"; return 1; }
	r=($(tcs_udp_result kept "$TCS_B4")) || return 1
	tcs_within "${r[0]}" 9000000 11000000 || why+=" not enforcing while stopped;"

	ON_STOP=remove policy "$p"
	tcs_daemon_start "$p" || { tcs_msg "restart failed"; return 1; }
	grep -q 'adopted egress filter' "$TCS_LOG" || why+=" not adopted;"
	tcs_daemon_stop TERM || why+=" second stop failed;"
	left=$(find "$TCS_PIN_DIR" -mindepth 1 2>/dev/null | wc -l)
	[ "$(tcs_our_filters egress)" -eq 0 ] && [ "$left" -eq 0 ] || why+=" left filters or pins;"
	tcs_msg "stopped with keep: filter stays, $(tcs_mbit "${r[0]}") mbit enforced (10mbit);" \
		"restart adopted it; stop with remove left nothing${why:+; FAILED:$why}"
	[ -z "$why" ]
}

# Between events the daemon sleeps: no CPU time over idle seconds.
test_idle_cpu()
{
	local p=$TCS_TMP/policy.yaml t0 t1 ticks hz

	policy "$p"
	tcs_daemon_start "$p" || { tcs_msg "daemon did not start"; return 1; }
	sleep 1
	hz=$(getconf CLK_TCK)
	# utime + stime, fields 14 and 15 of /proc/PID/stat (after the comm field)
	t0=$(awk '{ sub(/.*\) /, ""); print $12 + $13 }' "/proc/$TCS_DAEMON_PID/stat")
	sleep 10
	t1=$(awk '{ sub(/.*\) /, ""); print $12 + $13 }' "/proc/$TCS_DAEMON_PID/stat")
	ticks=$((t1 - t0))
	tcs_msg "CPU over 10 s idle: $ticks ticks of 1/$hz s (at most 2 allowed)"
	[ "$ticks" -le 2 ]
}

# In the vm tier (Debian's 6.1 under qemu/TCG) what depends on the kernel:
# tc's events and a foreign filter beside ours, a filter kept across a stop
# and adopted by the next start, and the hand-over between two filters of a
# hook. Reload timing and rates under a reload are the daemon's and run on
# the host (under TCG they judge the emulator).
if [ -n "${TCS_VM:-}" ] && [ $# -eq 0 ]; then
	set -- tc_restore_and_foreign_filter on_stop_keep second_filter_charges_once
fi
tcs_main e2e-lifecycle "$@"
