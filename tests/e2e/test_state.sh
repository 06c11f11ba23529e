#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# shellcheck disable=SC2207 # results are numbers, split into arrays on purpose
#
# e2e: what the daemon keeps and owns outside itself: the pinned maps (kept
# across restarts, sized as documented, ids never reused), the pin dir (one
# daemon each), its tc filters (never another instance's), the metrics file.
#
#   sudo tests/e2e/test_state.sh                 # every test
#   sudo V=1 tests/e2e/test_state.sh second_instance_refused

# shellcheck source=tests/lib/netns.sh
. "$(dirname "${BASH_SOURCE[0]}")/../lib/netns.sh"

# policy FILE [SETTINGS] [RATE]: one UDP rule on tcs-a0 egress dport 5201.
policy()
{
	cat > "$1" <<EOF
version: 1
settings: { ${2:-max_keys: 65536} }
interfaces:
  - name: $TCS_DEV_A
    egress:
      - name: udp-limit
        match: { proto: udp, dport: 5201 }
        rate: ${3:-10mbit}
        burst: 16kb
        per: flow
EOF
}

# The map id behind a pin: the same id after a restart means the map was kept.
map_id() { bpftool -j map show pinned "$TCS_PIN_DIR/$1" | jq -r .id; }

# The CPUs the kernel keeps per-CPU map values for (possible, not online: "0-1,4-7").
possible_cpus()
{
	awk -F, '{ for (i = 1; i <= NF; i++) { n = split($i, r, "-"); c += n == 2 ? r[2] - r[1] + 1 : 1 } }
		END { print c }' /sys/devices/system/cpu/possible
}

# second POLICY UNTIL: a second daemon in ns A on pin dir two, its PID in
# pid2, its log two.log; returns once its log matches the ERE UNTIL (or 10 s).
second()
{
	local i
	ip netns exec "$TCS_NS_A" "$TCSHAPED" -c "$1" --pin-dir "$TCS_BPFFS/two" -v \
		> "$TCS_TMP/two.log" 2>&1 < /dev/null &
	pid2=$!
	for ((i = 0; i < 100; i++)); do
		grep -qE "$2" "$TCS_TMP/two.log" && break
		sleep 0.1
	done
}

# With per-CPU LRU lists the kernel rounds max_entries up to a multiple of
# the CPUs; an odd max_keys shows whether the restart still fits the pins.
test_restart_keeps_maps_odd_max_keys()
{
	local p=$TCS_TMP/policy.yaml k1 f1 k2 f2 why=

	policy "$p" "max_keys: 65537"
	tcs_daemon_start "$p" || { tcs_msg "daemon did not start"; return 1; }
	k1=$(map_id tcs_keys) f1=$(map_id tcs_flows)
	kill -KILL "$TCS_DAEMON_PID"
	wait "$TCS_DAEMON_PID" 2>/dev/null
	TCS_DAEMON_PID=
	tcs_daemon_start "$p" || { tcs_msg "restart failed"; return 1; }
	k2=$(map_id tcs_keys) f2=$(map_id tcs_flows)
	[ "$k1" = "$k2" ] && [ "$f1" = "$f2" ] || why+=" maps made afresh;"
	grep -q 'do not fit' "$TCS_LOG" && why+=" pins judged not to fit;"
	grep -q 'adopted egress filter' "$TCS_LOG" || why+=" filter not adopted;"
	tcs_msg "max_keys 65537 on $(nproc) CPUs: tcs_keys $k1 -> $k2, tcs_flows $f1 -> $f2${why:+; FAILED:$why}"
	[ -z "$why" ]
}

# A restart adopts the pinned rule counter array whatever its size (here
# 1,024 slots, as every build before the array was sized by the CPUs made
# it): the limiter state is kept, and rules past the array count in
# tcs_rule_spill, where tcshapectl finds them.
test_restart_adopts_stat_array()
{
	local p=$TCS_TMP/policy.yaml k1 k2 s1 s2 slots spilled inspill json sent dropped i why=

	policy "$p"
	tcs_daemon_start "$p" || { tcs_msg "daemon did not start"; return 1; }
	k1=$(map_id tcs_keys)
	kill -KILL "$TCS_DAEMON_PID"
	wait "$TCS_DAEMON_PID" 2>/dev/null
	TCS_DAEMON_PID=
	rm "$TCS_PIN_DIR/tcs_rule_stats"
	bpftool map create "$TCS_PIN_DIR/tcs_rule_stats" type percpu_array key 4 value 64 \
		entries 1024 name tcs_rule_stats || { tcs_msg "bpftool map create failed"; return 1; }
	s1=$(map_id tcs_rule_stats)
	# 1,100 rules before the one the traffic matches, which sorts last: its slot is past 1,024
	{
		printf 'version: 1\nsettings: { max_keys: 65536 }\ninterfaces:\n'
		printf '  - name: %s\n    egress:\n' "$TCS_DEV_A"
		for ((i = 0; i < 1100; i++)); do
			printf '      - { name: f%04d, match: { proto: udp, dport: %d }, rate: 1gbit, burst: 64kb, per: rule }\n' \
				"$i" $((6000 + i))
		done
		printf '      - { name: zz-limit, match: { proto: udp, dport: 5201 }, rate: 10mbit, burst: 16kb, per: flow }\n'
	} > "$p"
	tcs_daemon_start "$p" || { tcs_msg "restart failed"; return 1; }
	k2=$(map_id tcs_keys) s2=$(map_id tcs_rule_stats)
	slots=$(bpftool -j map show pinned "$TCS_PIN_DIR/tcs_rule_stats" | jq .max_entries)
	tcs_udp_rate after 2 > /dev/null || { tcs_msg "iperf3 failed"; return 1; }
	json=$(tcs_ctl --json stats) || { tcs_msg "tcshapectl stats failed"; return 1; }
	sent=$(jq '[.rules[] | select(.rule == "zz-limit") | .sent.packets] | add + 0' <<< "$json")
	dropped=$(jq '[.rules[] | select(.rule == "zz-limit") | .dropped.packets] | add + 0' <<< "$json")
	bpftool -j map dump pinned "$TCS_PIN_DIR/tcs_rule_spill" > "$TCS_TMP/spill.json" ||
		{ tcs_msg "bpftool map dump failed"; return 1; }
	spilled=$(jq length "$TCS_TMP/spill.json")
	# the only traffic is zz-limit's: what the spill counted is what tcshapectl shows for it
	inspill=$(jq '[.[].formatted.values[].value.packets[]] | add + 0' "$TCS_TMP/spill.json")
	[ "$k1" = "$k2" ] || why+=" tcs_keys made afresh;"
	[ "$s1" = "$s2" ] && [ "$slots" -eq 1024 ] || why+=" the 1,024-slot array not adopted ($slots);"
	grep -q 'do not fit' "$TCS_LOG" && why+=" pins judged not to fit;"
	[ "$spilled" -ge 77 ] || why+=" $spilled rules in tcs_rule_spill (77 or more past the array);"
	[ "$sent" -gt 0 ] && [ "$dropped" -gt 0 ] || why+=" the spilled rule not counted;"
	[ "$inspill" -eq $((sent + dropped)) ] || why+=" tcs_rule_spill counted $inspill packets;"
	tcs_msg "pinned 1,024-slot tcs_rule_stats: id $s1 -> $s2, $slots slots; tcs_keys $k1 -> $k2;" \
		"$spilled rules spilled, $inspill packets counted there; zz-limit sent $sent, dropped $dropped packets${why:+; FAILED:$why}"
	[ -z "$why" ]
}

# Zero rules, default settings: the maps take under 64 MiB of kernel memory
# (their own accounting: memlock). The flow table, which holds the per: flow
# keys, is one LRU of max_keys; the shared keys' table one of max_keys / 2;
# the rule counter array a budget of 32,768 slots over the possible CPUs.
test_default_footprint()
{
	local p=$TCS_TMP/policy.yaml total keys flows stats slots only why=''

	printf 'version: 1\ninterfaces: []\n' > "$p"
	TCS_NO_FILTER=1 tcs_daemon_start "$p" || { tcs_msg "daemon did not start"; return 1; }
	# before 6.5 a kernel's memlock for a map that is not preallocated is
	# max_entries x entry, not what it holds: there, count the preallocated ones
	if [ "$(printf '%s\n' 6.5 "$(uname -r)" | sort -V | head -n 1)" = 6.5 ]; then
		only=''
	else
		only=' (preallocated maps only: this kernel estimates the others by max_entries)'
	fi
	total=$(for f in "$TCS_PIN_DIR"/*; do bpftool -j map show pinned "$f"; done |
		jq -s --arg only "$only" 'map(select($only == "" or
			((.flags % 2) == 0 and .type != "lpm_trie")) | .bytes_memlock | tonumber) | add')
	keys=$(bpftool -j map show pinned "$TCS_PIN_DIR/tcs_keys")
	flows=$(bpftool -j map show pinned "$TCS_PIN_DIR/tcs_flows")
	stats=$(bpftool -j map show pinned "$TCS_PIN_DIR/tcs_rule_stats")
	slots=$((32768 / $(possible_cpus)))
	[ "$slots" -ge 1024 ] || slots=1024
	[ "$total" -lt $((64 << 20)) ] || why+=" over 64 MiB;"
	[ "$(jq .flags <<< "$flows")" -eq 0 ] || why+=" tcs_flows has per-CPU LRU lists;"
	[ "$(jq .max_entries <<< "$flows")" -eq 131072 ] || why+=" tcs_flows is not max_keys (131072);"
	[ "$(jq .flags <<< "$keys")" -eq 0 ] || why+=" tcs_keys has per-CPU LRU lists;"
	[ "$(jq .max_entries <<< "$keys")" -eq 65536 ] || why+=" tcs_keys is not max_keys / 2 (65536);"
	[ "$(jq .max_entries <<< "$stats")" -eq "$slots" ] ||
		why+=" tcs_rule_stats is not $slots slots ($(possible_cpus) CPUs);"
	tcs_msg "zero rules, default max_keys: $((total >> 20)) MiB memlock$only (limit 64);" \
		"tcs_flows $(jq -c '{flags, max_entries}' <<< "$flows")" \
		"tcs_keys $(jq -c '{flags, max_entries}' <<< "$keys")" \
		"tcs_rule_stats $(jq -c '{max_entries}' <<< "$stats")${why:+; FAILED:$why}"
	[ -z "$why" ]
}

# Killed after publishing a ruleset but before the id counter was saved (the
# counter set back by hand stands in for that): the next start must neither
# fail on "File exists" nor delete the live ruleset, and enforces the policy.
test_ids_after_lost_counter()
{
	local p=$TCS_TMP/policy.yaml rate why=

	policy "$p"
	tcs_daemon_start "$p" || { tcs_msg "daemon did not start"; return 1; }
	kill -KILL "$TCS_DAEMON_PID"
	wait "$TCS_DAEMON_PID" 2>/dev/null
	TCS_DAEMON_PID=
	# shellcheck disable=SC2046 # 32 separate bytes
	bpftool map update pinned "$TCS_PIN_DIR/tcs_meta" key hex 00 00 00 00 \
		value hex $(printf '00 %.0s' {1..32}) || { tcs_msg "bpftool map update failed"; return 1; }
	policy "$p" "max_keys: 65536" 5mbit
	tcs_daemon_start "$p" || { tcs_msg "restart failed: $(grep -m1 -E 'File exists|<3>' "$TCS_LOG")"; return 1; }
	rate=$(tcs_udp_rate after 3) || { tcs_msg "iperf3 failed"; return 1; }
	grep -q 'File exists' "$TCS_LOG" && why+=" 'File exists' in the log;"
	tcs_within "$rate" 4500000 5500000 || why+=" not held to 5mbit;"
	tcs_msg "counter lost: restart with a new policy: $(tcs_mbit "$rate") mbit (5mbit)${why:+; FAILED:$why}"
	[ -z "$why" ]
}

# A second tcshaped on the same pin dir refuses, says why, and leaves the
# first one's filter and maps as they were, also when it exits.
test_second_instance_refused()
{
	local p=$TCS_TMP/policy.yaml prog1 prog2 rc why=

	policy "$p"
	tcs_daemon_start "$p" || { tcs_msg "daemon did not start"; return 1; }
	prog1=$(tcs_filters egress | grep -oE ' id [0-9]+' | head -n 1)
	timeout 20 ip netns exec "$TCS_NS_A" "$TCSHAPED" -c "$p" --pin-dir "$TCS_PIN_DIR" \
		> "$TCS_TMP/second.log" 2>&1 < /dev/null
	rc=$?
	cat "$TCS_TMP/second.log"
	prog2=$(tcs_filters egress | grep -oE ' id [0-9]+' | head -n 1)
	[ "$rc" -ne 0 ] || why+=" second instance exited 0;"
	grep -q "another tcshaped (pid $TCS_DAEMON_PID) is running with pin dir" \
		"$TCS_TMP/second.log" || why+=" no clear message;"
	[ "$prog1" = "$prog2" ] && [ "$(tcs_our_filters egress)" -eq 1 ] || why+=" first one's filter touched;"
	[ -e "$TCS_PIN_DIR/tcs_keys" ] || why+=" pins removed;"
	tcs_pid_running "$TCS_DAEMON_PID" || why+=" first one died;"
	tcs_msg "second instance: exit $rc, '$(grep -m1 -o 'another tcshaped.*' "$TCS_TMP/second.log" | cut -c1-60)...'${why:+; FAILED:$why}"
	[ -z "$why" ]
}

# Two instances with different pin dirs on one interface: each owns its own
# filter; one stopping (on_stop: remove) leaves the other's alone, and one
# asking for the pref the other holds is refused on that hook, not let take it.
test_two_pin_dirs()
{
	local p1=$TCS_TMP/one.yaml p2=$TCS_TMP/two.yaml pid2 before after why=

	policy "$p1"
	policy "$p2" "tc_priority: 2000"
	tcs_daemon_start "$p1" || { tcs_msg "first did not start"; return 1; }
	before=$(tcs_filters egress | grep -E 'pref 1000 .*handle' | grep -oE ' id [0-9]+')
	second "$p2" 'ready:'
	grep -q 'ready:' "$TCS_TMP/two.log" || why+=" second did not start;"
	tcs_filters egress
	[ "$(tcs_filters egress | grep -cE 'pref 2000 .*handle')" -eq 1 ] || why+=" second has no filter;"
	grep -q 'adopt' "$TCS_TMP/two.log" && why+=" second adopted the first's filter;"
	tcs_end_pid "$pid2" TERM 5
	after=$(tcs_filters egress | grep -E 'pref 1000 .*handle' | grep -oE ' id [0-9]+')
	[ -n "$before" ] && [ "$before" = "$after" ] || why+=" first's filter touched ($before -> $after);"
	[ "$(tcs_filters egress | grep -cE 'pref 2000 .*handle')" -eq 0 ] || why+=" second left its filter;"

	# the same pref: refused on that hook, the first's filter stays
	policy "$p2" "tc_priority: 1000"
	second "$p2" 'ready:|is taken'
	sleep 0.5
	cat "$TCS_TMP/two.log"
	grep -q 'pref 1000 handle 1 is taken by bpf filter named tcshaped:' "$TCS_TMP/two.log" ||
		why+=" no clear message for a taken pref;"
	tcs_end_pid "$pid2" TERM 5
	after=$(tcs_filters egress | grep -E 'pref 1000 .*handle' | grep -oE ' id [0-9]+')
	[ "$before" = "$after" ] || why+=" first's filter replaced ($before -> $after);"
	tcs_msg "two pin dirs: each kept to its own filter${why:+; FAILED:$why}"
	[ -z "$why" ]
}

# The metrics textfile is written as root in a directory others may write:
# a symlink planted where the temporary file used to go is not followed.
test_metrics_no_symlink_follow()
{
	local p=$TCS_TMP/policy.yaml dir=$TCS_TMP/prom victim=$TCS_TMP/victim why='' i

	mkdir -m 1777 "$dir"
	echo precious > "$victim"
	policy "$p" "max_keys: 65536, metrics_textfile: $dir/tcshaped.prom, metrics_interval: 1s"
	tcs_daemon_start "$p" || { tcs_msg "daemon did not start"; return 1; }
	# every name the daemon could pick predictably
	ln -s "$victim" "$dir/tcshaped.prom.tmp.$TCS_DAEMON_PID"
	rm -f "$dir/tcshaped.prom"
	for ((i = 0; i < 50; i++)); do
		[ -s "$dir/tcshaped.prom" ] && break
		sleep 0.1
	done
	[ -s "$dir/tcshaped.prom" ] && [ ! -L "$dir/tcshaped.prom" ] || why+=" no metrics file written;"
	[ "$(cat "$victim")" = precious ] || why+=" wrote through the symlink;"
	[ "$(stat -c %a "$dir/tcshaped.prom" 2>/dev/null)" = 644 ] || why+=" mode not 0644;"
	[ "$(find "$dir" -name '.tcshaped.prom.*' | wc -l)" -eq 0 ] || why+=" temporary file left;"
	tcs_msg "metrics file rewritten; symlinked victim: $(head -c 20 "$victim")${why:+; FAILED:$why}"
	[ -z "$why" ]
}

# pace_policy FILE SETTINGS [MORE YAML]: tcs-a0 egress paces UDP dport 5201.
pace_policy()
{
	cat > "$1" <<EOF
version: 1
settings: { max_keys: 65536${2:+, $2} }
interfaces:
  - name: $TCS_DEV_A
    egress:
      - { name: paced, match: { proto: udp, dport: 5201 }, rate: 10mbit, action: pace }
${3:-}
EOF
}

# Does this kernel have fq (can anything here pace)? Asked of a veth in ns A.
have_fq()
{
	ip -n "$TCS_NS_A" link add tcs-fq0 type veth peer name tcs-fq1 2>/dev/null || return 1
	tc -n "$TCS_NS_A" qdisc add dev tcs-fq0 root fq 2>/dev/null
	local rc=$?
	ip -n "$TCS_NS_A" link del tcs-fq0
	return $rc
}

# An operator's root qdisc (an HTB tree) is not replaced by default: the
# start is refused with a clear message and the tree stays as it was.
test_operator_root_refused()
{
	local p=$TCS_TMP/policy.yaml rc why=

	tc -n "$TCS_NS_A" qdisc add dev "$TCS_DEV_A" root handle 7: htb default 1 &&
	tc -n "$TCS_NS_A" class add dev "$TCS_DEV_A" parent 7: classid 7:1 htb rate 100mbit || return 1
	pace_policy "$p"
	if "$TCSHAPED" --check -c "$p" | grep -q 'polices instead of pacing'; then
		tcs_skip "this kernel says it has no fq: nothing would pace"; return
	fi
	timeout 20 ip netns exec "$TCS_NS_A" "$TCSHAPED" -c "$p" --pin-dir "$TCS_PIN_DIR" \
		> "$TCS_TMP/start.log" 2>&1 < /dev/null
	rc=$?
	grep '^<[0-4]>' "$TCS_TMP/start.log"
	[ "$rc" -ne 0 ] || why+=" started;"
	grep -q 'root qdisc is htb 7: that someone configured; tcshaped replaces only' \
		"$TCS_TMP/start.log" || why+=" no clear message;"
	tc -n "$TCS_NS_A" qdisc show dev "$TCS_DEV_A" root | grep -q 'htb 7: root' || why+=" HTB replaced;"
	tc -n "$TCS_NS_A" class show dev "$TCS_DEV_A" | grep -q 'class htb 7:1' || why+=" HTB class gone;"
	tcs_msg "HTB root, pace rules, default settings: exit $rc, HTB kept${why:+; FAILED:$why}"
	[ -z "$why" ]
}

# A reload refused because of one interface's root changes no root at all:
# tcs-a0's kernel-default root is not swapped for fq while tcs-x0's HTB refuses.
test_rejected_reload_keeps_roots()
{
	local p=$TCS_TMP/policy.yaml before after why=

	have_fq || { tcs_skip "no fq in this kernel: roots are never replaced here"; return; }
	ip -n "$TCS_NS_A" link add tcs-x0 type veth peer name tcs-x1 &&
	ip -n "$TCS_NS_A" link set tcs-x0 up && ip -n "$TCS_NS_A" link set tcs-x1 up &&
	tc -n "$TCS_NS_A" qdisc add dev tcs-x0 root handle 7: htb default 1 || return 1
	pace_policy "$p"
	sed -i 's/action: pace/action: drop/' "$p"	# polices: no fq needed yet
	tcs_daemon_start "$p" || { tcs_msg "daemon did not start"; return 1; }
	before=$(tc -n "$TCS_NS_A" qdisc show dev "$TCS_DEV_A" root)
	pace_policy "$p" "" "  - name: tcs-x0
    egress:
      - { name: x, rate: 1mbit, action: pace }"
	tcs_daemon_signal HUP
	tcs_wait_log 'reload: (applied|rejected)' 1 10 || return 1
	after=$(tc -n "$TCS_NS_A" qdisc show dev "$TCS_DEV_A" root)
	grep -q 'reload: rejected' "$TCS_LOG" || why+=" reload not rejected;"
	[ "$before" = "$after" ] || why+=" tcs-a0 root changed: '$before' -> '$after';"
	tc -n "$TCS_NS_A" qdisc show dev tcs-x0 root | grep -q 'htb 7: root' || why+=" HTB replaced;"
	tcs_msg "rejected reload: tcs-a0 root '${after:0:40}' as before${why:+; FAILED:$why}"
	[ -z "$why" ]
}

# The policy file is refused (start and reload) when others could have
# written it: group/other-writable, owned by someone else, or in such a directory.
test_policy_file_trust()
{
	local p=$TCS_TMP/policy.yaml d=$TCS_TMP/open why=

	policy "$p"
	chmod 0666 "$p"
	start_refused "$p" 'policy.yaml: refusing to read: .* is writable by others \(mode 0666\)' ||
		why+=" 0666 accepted;"
	chmod 0644 "$p"
	chown 65534 "$p"
	start_refused "$p" 'refusing to read: .* is owned by uid 65534, not root' || why+=" foreign owner accepted;"
	chown 0 "$p"
	mkdir -m 0777 "$d" && cp "$p" "$d/policy.yaml"
	start_refused "$d/policy.yaml" 'refusing to read: directory .*/open is writable by others' ||
		why+=" world-writable directory accepted;"
	# a reload of a file made group-writable meanwhile is rejected; the policy stays
	tcs_daemon_start "$p" || { tcs_msg "daemon did not start"; return 1; }
	chmod 0664 "$p"
	tcs_daemon_signal HUP
	tcs_wait_log 'reload: rejected' 1 10 || why+=" reload of a group-writable file not rejected;"
	grep -q 'is writable by its group (mode 0664)' "$TCS_LOG" || why+=" no clear reload message;"
	tcs_pid_running "$TCS_DAEMON_PID" && [ "$(tcs_our_filters egress)" -eq 1 ] || why+=" policy lost;"
	tcs_msg "0666, foreign owner, 0777 directory refused; group-writable reload rejected${why:+; FAILED:$why}"
	[ -z "$why" ]
}

# start_refused FILE ERE: a start with FILE fails and logs ERE.
start_refused()
{
	timeout 20 ip netns exec "$TCS_NS_A" "$TCSHAPED" -c "$1" --pin-dir "$TCS_PIN_DIR" \
		> "$TCS_TMP/start.log" 2>&1 < /dev/null && return 1
	grep '^<3>' "$TCS_TMP/start.log" | head -n 2
	grep -qE "$2" "$TCS_TMP/start.log"
}

# A clsact the daemon created is kept on stop when the filter dump that
# should tell whether others use it fails: another tool's filter survives.
test_clsact_kept_when_dump_fails()
{
	local p=$TCS_TMP/policy.yaml why=''

	policy "$p"
	TCSHAPED=${FAULTY:-$TCS_ROOT/build/tcshaped-faults} TCSHAPED_FAULT=netlink:detached \
		tcs_daemon_start "$p" || { tcs_msg "daemon did not start"; return 1; }
	tc -n "$TCS_NS_A" filter add dev "$TCS_DEV_A" ingress protocol all prio 5 \
		u32 match u32 0 0 classid 1:1 || { tcs_msg "cannot add a u32 filter"; return 1; }
	tcs_daemon_stop TERM
	grep -q 'fault: netlink request fails' "$TCS_LOG" || why+=" fault not reached;"
	grep -q 'kept the clsact qdisc we created on tcs-a0: cannot list its filters' "$TCS_LOG" ||
		why+=" no log line;"
	tcs_filters ingress | grep -q 'u32' || why+=" the other tool's filter was deleted;"
	tcs_msg "dump failed on stop: clsact and the u32 filter kept${why:+; FAILED:$why}"
	[ -z "$why" ]
}

# tcshapectl reads the pins read-only: it works where only reading is allowed.
test_tcshapectl_read_only()
{
	local p=$TCS_TMP/policy.yaml out why=''

	setpriv --help 2>&1 | grep -q -- --bounding-set ||
		{ tcs_skip "no setpriv with --bounding-set (util-linux)"; return; }
	policy "$p"
	tcs_daemon_start "$p" || { tcs_msg "daemon did not start"; return 1; }
	chmod 0400 "$TCS_PIN_DIR"/*
	out=$(ip netns exec "$TCS_NS_A" setpriv --bounding-set -dac_override,-dac_read_search \
		--inh-caps -dac_override,-dac_read_search \
		"$TCSHAPECTL" --pin-dir "$TCS_PIN_DIR" status 2>&1) || why+=" failed: $out;"
	chmod 0600 "$TCS_PIN_DIR"/*
	tcs_msg "tcshapectl status with pins mode 0400 and no DAC override: ${out%%$'\n'*}${why:+; FAILED:$why}"
	[ -z "$why" ]
}

# A killed daemon whose pid now belongs to another process is not running:
# tcshapectl asks the pin dir's lock, not the pid.
test_status_not_fooled_by_reused_pid()
{
	local p=$TCS_TMP/policy.yaml rec rc why='' me=$BASHPID

	policy "$p"
	tcs_daemon_start "$p" || { tcs_msg "daemon did not start"; return 1; }
	kill -KILL "$TCS_DAEMON_PID"
	wait "$TCS_DAEMON_PID" 2>/dev/null
	TCS_DAEMON_PID=
	# the record now names a live process: this shell
	rec="$(printf '%02x %02x %02x %02x' $((me & 255)) $((me >> 8 & 255)) $((me >> 16 & 255)) 0)"
	rec+=" $(bpftool -j map lookup pinned "$TCS_PIN_DIR/tcs_daemon" key hex 00 00 00 00 |
		jq -r '.value[4:] | map(ltrimstr("0x")) | join(" ")')"
	# shellcheck disable=SC2086 # the bytes, one argument each
	bpftool map update pinned "$TCS_PIN_DIR/tcs_daemon" key hex 00 00 00 00 value hex $rec ||
		{ tcs_msg "bpftool update failed"; return 1; }
	tcs_ctl status
	rc=$?
	[ "$rc" -eq 3 ] || why+=" status exit $rc (3: not running);"
	tcs_msg "killed daemon, pid reused by a live process: status exit $rc${why:+; FAILED:$why}"
	[ -z "$why" ]
}

# In the vm tier (Debian's 6.1, which has fq) the root-qdisc cases, which
# this host cannot run, and the restart with pinned maps; the rest is the
# daemon's own logic and runs here.
if [ -n "${TCS_VM:-}" ] && [ $# -eq 0 ]; then
	set -- restart_keeps_maps_odd_max_keys operator_root_refused rejected_reload_keeps_roots
fi
tcs_main e2e-state "$@"
