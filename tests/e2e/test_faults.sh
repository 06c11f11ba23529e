#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# shellcheck disable=SC2207 # results are numbers, split into arrays on purpose
#
# e2e: faults. Each must give a clear log line, a truthful STATUS= (read
# from a NOTIFY_SOCKET of our own) and no half-applied state. Faults the
# kernel will not produce on demand are injected by the test build,
# build/tcshaped-faults (TCSHAPED_FAULT, daemon/fault.h).
#
#   sudo tests/e2e/test_faults.sh                # every test
#   sudo V=1 tests/e2e/test_faults.sh sigkill_every_step

# shellcheck source=tests/lib/netns.sh
. "$(dirname "${BASH_SOURCE[0]}")/../lib/netns.sh"

FAULTY=${FAULTY:-$TCS_ROOT/build/tcshaped-faults}

# policy FILE RATE [SETTINGS] [MORE YAML]: a UDP rule on tcs-a0 egress dport 5201.
policy()
{
	cat > "$1" <<EOF
version: 1
settings: { max_keys: 65536, resync: 1s${3:+, $3} }
interfaces:
  - name: $TCS_DEV_A
    egress:
      - name: udp-limit
        match: { proto: udp, dport: 5201 }
        rate: $2
        burst: 16kb
        per: rule
${4:-}
EOF
}


# The rate (bits/s) of the rule in force, as the pinned maps say.
rule_rate()
{
	tcs_ctl stats --json --interval 0.1 | jq -r '.rules[] | select(.rule == "udp-limit") | .limit_bps'
}

# Collect what the daemon tells systemd: NOTIFY_SOCKET for the next start.
NOTIFY_PID=
notify_listen()
{
	command -v socat > /dev/null || { tcs_skip "no socat (scripts/install-deps.sh installs it)"; return; }
	export NOTIFY_SOCKET=$TCS_TMP/notify.sock
	socat -u "UNIX-RECV:$NOTIFY_SOCKET" "OPEN:$TCS_TMP/notify.txt,creat,append" &
	NOTIFY_PID=$!
	trap '[ -n "$NOTIFY_PID" ] && kill "$NOTIFY_PID" 2>/dev/null; tcs_teardown' EXIT
	for ((i = 0; i < 50; i++)); do
		[ -S "$NOTIFY_SOCKET" ] && return 0
		sleep 0.1
	done
	return 1
}

# The last STATUS= the daemon sent.
last_status() { tr '\n' '\0' < "$TCS_TMP/notify.txt" 2>/dev/null | tr '\0' '\n' | sed -n 's/.*STATUS=//p' | tail -n 1; }

# Start a daemon that is expected to fail: its exit status, its log in $TCS_TMP/fail.log.
start_failing()
{
	timeout 20 ip netns exec "$TCS_NS_A" "$@" > "$TCS_TMP/fail.log" 2>&1 < /dev/null
}

# Nothing of ours on tcs-a0: no filter, no clsact.
nothing_attached()
{
	[ "$(tcs_our_filters egress)" -eq 0 ] &&
	! tc -n "$TCS_NS_A" qdisc show dev "$TCS_DEV_A" | grep -q clsact
}

# The pin dir is not on a bpffs (no bpffs mounted there): refuse, say how to fix it.
test_bpffs_missing()
{
	local p=$TCS_TMP/policy.yaml rc why='' st

	policy "$p" 10mbit
	notify_listen || return
	mkdir "$TCS_TMP/plain"
	start_failing "$TCSHAPED" -c "$p" --pin-dir "$TCS_TMP/plain/tcshaped"
	rc=$?
	cat "$TCS_TMP/fail.log"
	st=$(last_status)
	[ "$rc" -eq 1 ] || why+=" exit $rc;"
	grep -q 'is not on a bpffs; mount one (mount -t bpf bpf' "$TCS_TMP/fail.log" || why+=" no clear message;"
	[[ $st == "not started: pin dir"*"is not on a bpffs"* ]] || why+=" STATUS='$st';"
	nothing_attached || why+=" something attached;"
	tcs_msg "no bpffs: exit $rc, STATUS=${st:0:60}...${why:+; FAILED:$why}"
	[ -z "$why" ]
}

# A read-only bpffs: refuse, say so, leave nothing behind.
test_bpffs_readonly()
{
	local p=$TCS_TMP/policy.yaml rc why='' st ro=$TCS_TMP/robpf

	policy "$p" 10mbit
	notify_listen || return
	mkdir "$ro" || return 1
	mount -t bpf -o ro bpf "$ro" || { tcs_msg "cannot mount a read-only bpffs"; return 1; }
	start_failing "$TCSHAPED" -c "$p" --pin-dir "$ro/tcshaped"
	rc=$?
	umount "$ro"
	cat "$TCS_TMP/fail.log"
	st=$(last_status)
	[ "$rc" -eq 1 ] || why+=" exit $rc;"
	grep -q 'cannot create: Read-only file system' "$TCS_TMP/fail.log" || why+=" no clear message;"
	[[ $st == *"Read-only file system"* ]] || why+=" STATUS='$st';"
	nothing_attached || why+=" something attached;"
	tcs_msg "read-only bpffs: exit $rc, STATUS=${st:0:70}${why:+; FAILED:$why}"
	[ -z "$why" ]
}

# The verifier rejects the classifier (here: no CAP_PERFMON, so it is
# stricter): the log names what is missing.
test_verifier_rejects()
{
	local p=$TCS_TMP/policy.yaml rc why='' st

	setpriv --help 2>&1 | grep -q -- --bounding-set ||
		{ tcs_skip "no setpriv with --bounding-set (util-linux)"; return; }
	policy "$p" 10mbit
	notify_listen || return
	start_failing setpriv --bounding-set -perfmon,-sys_admin --inh-caps -perfmon,-sys_admin \
		"$TCSHAPED" -c "$p" --pin-dir "$TCS_PIN_DIR"
	rc=$?
	grep '^<[0-4]>' "$TCS_TMP/fail.log"
	if grep -q 'ready:' "$TCS_TMP/fail.log"; then
		tcs_skip "this kernel's verifier takes the classifier without CAP_PERFMON"; return
	fi
	st=$(last_status)
	[ "$rc" -eq 1 ] || why+=" exit $rc;"
	grep -q 'load BPF object: .*lacks CAP_PERFMON' "$TCS_TMP/fail.log" || why+=" does not say what is missing;"
	[[ $st == *"lacks CAP_PERFMON"* ]] || why+=" STATUS='${st:0:80}';"
	nothing_attached || why+=" something attached;"
	[ -z "$(ls -A "$TCS_PIN_DIR" 2>/dev/null)" ] || why+=" pins left;"
	tcs_msg "verifier rejects: exit $rc: $(grep -o 'lacks CAP_PERFMON[^:]*' "$TCS_TMP/fail.log" | head -n 1)${why:+; FAILED:$why}"
	[ -z "$why" ]
}

# A second tcshaped on the pin dir: STATUS= says why it did not start.
test_second_instance_status()
{
	local p=$TCS_TMP/policy.yaml st why=

	policy "$p" 10mbit
	tcs_daemon_start "$p" || { tcs_msg "daemon did not start"; return 1; }
	notify_listen || return
	start_failing "$TCSHAPED" -c "$p" --pin-dir "$TCS_PIN_DIR"
	st=$(last_status)
	[[ $st == "not started: another tcshaped (pid $TCS_DAEMON_PID) is running"* ]] || why+=" STATUS='$st';"
	tcs_msg "STATUS=${st:0:70}${why:+; FAILED:$why}"
	[ -z "$why" ]
}

# An interface of the policy vanishes between the reload's validation and
# its attach: the reload goes through for the rest, the gone one is
# released, nothing of it is left bound, STATUS counts the real hooks.
test_interface_vanishes()
{
	local p=$TCS_TMP/policy.yaml extra why='' st n i

	ip -n "$TCS_NS_A" link add tcs-x0 type veth peer name tcs-x1 &&
	ip -n "$TCS_NS_A" link set tcs-x0 up && ip -n "$TCS_NS_A" link set tcs-x1 up || return 1
	policy "$p" 10mbit
	notify_listen || return
	TCSHAPED=$FAULTY TCSHAPED_FAULT=stall:roots:2 tcs_daemon_start "$p" ||
		{ tcs_msg "daemon did not start"; return 1; }
	extra="  - name: tcs-x0
    egress:
      - { name: x, match: { proto: udp }, rate: 1mbit }"
	policy "$p" 10mbit "" "$extra"
	tcs_daemon_signal HUP
	tcs_wait_log 'fault: stalled' 1 10 || return 1
	ip -n "$TCS_NS_A" link del tcs-x0
	tcs_wait_log 'reload: (applied|rejected)' 1 15 || { tcs_msg "reload did not end"; return 1; }
	# the link event, or at the latest a resync (1 s), drops the gone binding
	for ((i = 0; i < 50; i++)); do
		n=$(tcs_ctl --json status | jq '.hooks | length')
		[ "$n" -eq 1 ] && break
		sleep 0.1
	done
	st=$(last_status)
	tcs_pid_running "$TCS_DAEMON_PID" || why+=" daemon died;"
	[ "$(tcs_our_filters egress)" -eq 1 ] || why+=" tcs-a0 lost its filter;"
	[ "$n" -eq 1 ] || why+=" status says $n hooks;"
	[[ $st == *"on 1 hooks" ]] || why+=" STATUS='$st';"
	tcs_msg "interface deleted mid-reload: $(grep -m1 -oE 'reload: (applied|rejected)' "$TCS_LOG"); STATUS=$st${why:+; FAILED:$why}"
	[ -z "$why" ]
}

# Netlink fails while a reload attaches a new hook: the maps hold the new
# policy, the failure is logged, STATUS counts the hooks really there, and
# the next resync (1 s) puts the filter in place.
test_netlink_fails_mid_apply()
{
	local p=$TCS_TMP/policy.yaml why='' st i n

	policy "$p" 10mbit
	notify_listen || return
	TCSHAPED=$FAULTY TCSHAPED_FAULT=netlink:flipped:2 tcs_daemon_start "$p" ||
		{ tcs_msg "daemon did not start"; return 1; }
	policy "$p" 10mbit "" "    ingress:
      - { name: in, match: { proto: udp }, rate: 1mbit }"
	tcs_daemon_signal HUP
	tcs_wait_log 'reload: applied' 1 10 || { tcs_msg "reload not applied"; return 1; }
	grep -q 'fault: netlink request fails' "$TCS_LOG" || why+=" fault not reached;"
	# which request fails (a check of the egress filter, the ingress attach) is the kernel's order
	grep -qE '(attach|list) (ingress|egress) (on )?(filters on )?tcs-a0: Input/output error' "$TCS_LOG" ||
		why+=" no clear log line;"
	st=$(last_status)
	n=$(( $(tcs_our_filters egress) + $(tcs_our_filters ingress) ))
	[[ $st == *"on $n hooks" ]] || why+=" STATUS right after='$st' with $n filters;"
	for ((i = 0; i < 30; i++)); do
		[ "$(tcs_our_filters ingress)" -eq 1 ] && break
		sleep 0.1
	done
	[ "$(tcs_our_filters ingress)" -eq 1 ] || why+=" ingress filter not repaired;"
	sleep 1.2
	st=$(last_status)
	[[ $st == *"on 2 hooks" ]] || why+=" STATUS after resync='$st';"
	grep -v "<7>" "$TCS_LOG" | tail -n 15
	tcs_msg "tc request failed mid-reload: logged, repaired by resync; STATUS=${st}${why:+; FAILED:$why}"
	[ -z "$why" ]
}

# A map write fails half way through publishing a reload: the reload is
# rejected, the previous policy stays in force, and nothing of the attempt
# is left in the maps.
test_map_write_fails_mid_apply()
{
	local p=$TCS_TMP/policy.yaml why='' st rate n left

	policy "$p" 10mbit
	notify_listen || return
	# the start writes a few entries; the reload's second write fails
	TCSHAPED=$FAULTY TCSHAPED_FAULT=map-write:$(( $(policy_writes) + 2 )) tcs_daemon_start "$p" ||
		{ tcs_msg "daemon did not start"; return 1; }
	policy "$p" 5mbit "" "      - { name: other, match: { proto: tcp, dport: 22 }, rate: 1mbit }"
	tcs_daemon_signal HUP
	tcs_wait_log 'reload: rejected' 1 10 || { tcs_msg "reload not rejected"; return 1; }
	grep -q 'fault: map write fails' "$TCS_LOG" || why+=" fault not reached;"
	grep -qE 'publish ruleset [0-9]+: No space left on device' "$TCS_LOG" || why+=" no clear log line;"
	st=$(last_status)
	[[ $st == "reload rejected: publishing the policy to the maps: No space left on device; nothing of it was kept; previous policy in force"* ]] ||
		why+=" STATUS='$st';"
	rate=$(rule_rate)
	[ "$rate" = 10000000 ] || why+=" rule rate $rate, not the old 10mbit;"
	left=$(bpftool -j map dump pinned "$TCS_PIN_DIR/tcs_match" |
		jq '[.[].formatted.key.ruleset] | unique | length')
	n=$(bpftool -j map dump pinned "$TCS_PIN_DIR/tcs_rulesets" | jq length)
	[ "$left" -eq 1 ] && [ "$n" -eq 1 ] || why+=" $n rulesets, match entries of $left;"
	tcs_msg "map write failed mid-reload: rejected, 10mbit still in force, no leftovers; STATUS=${st:0:60}...${why:+; FAILED:$why}"
	[ -z "$why" ]
}

# How many ruleset writes the start's policy makes (the fault counts them):
# its class and match entries, and a region of rule bodies per ruleset, from
# a clean run of the same policy.
policy_writes()
{
	local c m r
	TCSHAPED=$TCSHAPED tcs_daemon_start "$TCS_TMP/policy.yaml" > /dev/null 2>&1 || { echo 0; return; }
	c=$(bpftool -j map dump pinned "$TCS_PIN_DIR/tcs_class" | jq length)
	m=$(bpftool -j map dump pinned "$TCS_PIN_DIR/tcs_match" | jq length)
	r=$(bpftool -j map dump pinned "$TCS_PIN_DIR/tcs_rulesets" | jq length)
	tcs_daemon_stop TERM > /dev/null 2>&1
	echo $((c + m + r))
}

# Several SIGHUPs while a reload is in progress: they are not lost and do
# not interleave; the file as it is at the end is what is enforced.
test_sighup_during_reload()
{
	local p=$TCS_TMP/policy.yaml why='' rate

	policy "$p" 10mbit
	TCSHAPED=$FAULTY TCSHAPED_FAULT=stall:loaded:1 tcs_daemon_start "$p" ||
		{ tcs_msg "daemon did not start"; return 1; }
	policy "$p" 6mbit
	tcs_daemon_signal HUP
	tcs_wait_log 'fault: stalled' 1 10 || return 1
	policy "$p" 3mbit
	tcs_daemon_signal HUP
	tcs_daemon_signal HUP
	tcs_wait_log 'reload: applied' 2 15 || { tcs_msg "the later SIGHUPs were lost"; return 1; }
	rate=$(rule_rate)
	[ "$rate" = 3000000 ] || why+=" rule rate $rate, not the file's 3mbit;"
	tcs_pid_running "$TCS_DAEMON_PID" || why+=" daemon died;"
	tcs_msg "SIGHUPs during a stalled reload: $(tcs_log_count 'reload: applied') reloads applied, rule rate $rate (3mbit)${why:+; FAILED:$why}"
	[ -z "$why" ]
}

# SIGKILL at every step of a reload. Meanwhile the datapath holds the old or
# the new policy, never nothing; a restart enforces the file, with exactly
# one filter and no entry of the killed attempt left in the maps.
test_sigkill_every_step()
{
	local p=$TCS_TMP/policy.yaml step n rate left why='' res=() extra

	extra="      - { name: other, match: { proto: tcp, dport: 22 }, rate: 1mbit }"
	for step in loaded:1 roots:2 reserved:2 written:2 flipped:2 freed:2 hooks:2; do
		policy "$p" 10mbit
		TCSHAPED=$FAULTY TCSHAPED_FAULT=kill:$step tcs_daemon_start "$p" ||
			{ tcs_msg "daemon did not start ($step)"; return 1; }
		policy "$p" 5mbit "" "$extra"
		tcs_daemon_signal HUP
		for ((n = 0; n < 100; n++)); do
			tcs_pid_running "$TCS_DAEMON_PID" || break
			sleep 0.1
		done
		if tcs_pid_running "$TCS_DAEMON_PID"; then
			why+=" ${step%:*}: not killed;"
			tcs_daemon_stop KILL
			continue
		fi
		wait "$TCS_DAEMON_PID" 2>/dev/null
		TCS_DAEMON_PID=
		rate=$(tcs_udp_rate "dead-${step%:*}" 2) || { tcs_msg "iperf3 failed"; return 1; }
		tcs_within "$rate" 4000000 11000000 || why+=" ${step%:*}: $(tcs_mbit "$rate") mbit while dead;"
		tcs_daemon_start "$p" || { tcs_msg "restart after kill at $step failed"; return 1; }
		rate=$(tcs_udp_rate "alive-${step%:*}" 2) || { tcs_msg "iperf3 failed"; return 1; }
		tcs_within "$rate" 4500000 5500000 || why+=" ${step%:*}: $(tcs_mbit "$rate") mbit after restart;"
		[ "$(tcs_our_filters egress)" -eq 1 ] || why+=" ${step%:*}: $(tcs_our_filters egress) filters;"
		# every ruleset entry belongs to the one ruleset in force
		left=$(bpftool -j map dump pinned "$TCS_PIN_DIR/tcs_match" |
			jq '[.[].formatted.key.ruleset] | unique | length')
		n=$(bpftool -j map dump pinned "$TCS_PIN_DIR/tcs_rulesets" | jq length)
		[ "$left" -eq 1 ] && [ "$n" -eq 1 ] || why+=" ${step%:*}: $n rulesets, match entries of $left;"
		res+=("${step%:*} $(tcs_mbit "$rate")")
		tcs_daemon_stop TERM || why+=" ${step%:*}: stop failed;"
	done
	tcs_msg "killed at each step, restarted: $(IFS=,; echo "${res[*]}") mbit (5mbit)${why:+; FAILED:$why}"
	[ -z "$why" ]
}

# The key table fills (max_keys: 64, far more flows): the least recently
# used keys are evicted, the table stays at its size, the evictions are
# counted (tcshapectl stats and the daemon's metrics), and a new flow is
# still held to its limit.
test_key_table_fills()
{
	local p=$TCS_TMP/policy.yaml prom=$TCS_TMP/tcshaped.prom keys rate why='' i st live made gone m=0

	cat > "$p" <<EOF
version: 1
settings: { max_keys: 64, metrics_textfile: $prom, metrics_interval: 1s }
interfaces:
  - name: $TCS_DEV_A
    egress:
      - { name: udp-limit, match: { proto: udp, dport: 5201 }, rate: 2mbit, burst: 16kb, per: flow }
EOF
	tcs_daemon_start "$p" || { tcs_msg "daemon did not start"; return 1; }
	# 500 flows: a new socket, so a new source port, for each datagram
	tcs_nsa bash -c "for ((i = 0; i < 500; i++)); do echo x > /dev/udp/$TCS_B4/5201; done" 2>/dev/null
	st=$(tcs_ctl --json stats --interval 0.1)
	keys=$(jq '[.rules[].active_keys] | add' <<< "$st")
	[ "$keys" -le 64 ] && [ "$keys" -ge 32 ] || why+=" $keys keys held (max_keys 64);"
	read -r live made gone <<< "$(jq -r '.keys | "\(.live) \(.created) \(.evicted)"' <<< "$st")"
	# a source port may come round again while its key lives: not quite 500 keys
	[ "$made" -ge 450 ] && [ "$made" -le 500 ] || why+=" $made keys created, not about 500;"
	[ "$gone" -eq $((made - live)) ] && [ "$live" -le 64 ] ||
		why+=" $gone evicted of $made created, $live alive;"
	# the daemon's own count (census.c) reaches the metrics textfile within a pass or two
	for ((i = 0; i < 50; i++)); do
		m=$(sed -n 's/^tcshaped_keys_evicted_total //p' "$prom" 2>/dev/null)
		[ "${m:-0}" -eq "$gone" ] && break
		sleep 0.1
	done
	[ "${m:-0}" -eq "$gone" ] || why+=" the metrics say ${m:-no} keys evicted;"
	rate=$(tcs_udp_rate after 2) || { tcs_msg "iperf3 failed"; return 1; }
	tcs_within "$rate" 1600000 2600000 || why+=" new flow at $(tcs_mbit "$rate") mbit, not 2mbit;"
	tcs_pid_running "$TCS_DAEMON_PID" || why+=" daemon died;"
	tcs_msg "500 flows into max_keys 64: $keys keys held, $gone of $made evicted (metrics: $m); a new flow after: $(tcs_mbit "$rate") mbit (2mbit)${why:+; FAILED:$why}"
	[ -z "$why" ]
}

# Not in the vm tier (Debian's 6.1 under qemu/TCG): these are the daemon's
# own reactions, the same on any kernel, and they run on the host; the vm
# lacks socat and setpriv for most of them anyway. What the 6.1 kernel must
# show of restarts and adoption, the vm runs in test_state.sh.
if [ -n "${TCS_VM:-}" ] && [ $# -eq 0 ]; then
	TCS_SKIP_ALL="the daemon's own fault handling, the same on any kernel: the host's e2e tier runs it"
fi
tcs_main e2e-faults "$@"
