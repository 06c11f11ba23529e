#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# shellcheck disable=SC2207 # results are numbers, split into arrays on purpose
#
# `sudo make demo`: tcshaped limiting real traffic, in under a minute, on a
# private network that exists only while the demo runs. Two namespaces and a
# veth pair (tests/lib/netns.sh), tcshaped on the egress of one end with
# conf/demo.yaml, iperf3 flows through it, a table of what each flow got; then
# the per-flow limit is raised with SIGHUP and the table printed again.
set -u

# shellcheck source=tests/lib/netns.sh
. "$(dirname "${BASH_SOURCE[0]}")/../tests/lib/netns.sh"

POLICY_SRC=$TCS_ROOT/conf/demo.yaml
TCS_DEV_A=tcs-demo0		# the interface conf/demo.yaml names
TCS_DEV_B=tcs-demo1
export TCS_DAEMON_ARGS=	# no debug log: the demo prints the daemon's own lines
SECS=6
NEW_FLOW_RATE=30mbit		# what the SIGHUP step raises udp-per-flow to

die() { echo "demo: $*" >&2; exit 1; }

[ "$(id -u)" -eq 0 ] || die "needs root for namespaces, tc and BPF: sudo make demo"
why=$(tcs_require_cmds ip tc iperf3 jq timeout ss mountpoint awk) || die "$why"
[ -x "$TCSHAPED" ] || die "$TCSHAPED is not built: run make (or sudo make demo)"
[ -r "$POLICY_SRC" ] || die "no $POLICY_SRC"
grep -qE "name: *\"?$TCS_DEV_A\"?" "$POLICY_SRC" ||
	die "$POLICY_SRC does not name interface $TCS_DEV_A, which the demo creates"

# The rate of rule NAME in a policy file written in block style.
rule_rate()
{
	awk -v r="$1" '$0 ~ "- name: *\"?" r "\"? *$" { f = 1; next }
		f && /- name:/ { exit } f && /^ *rate:/ { print $2; exit }' "$2"
}

# A flow: KIND TAG SRC DST PORT OFFERED_PER_STREAM STREAMS RULE
# (RULE "-": no rule matches it). Both ends are in the demo's namespaces.
FLOWS=(
	"udp u1 $TCS_A4 $TCS_B4 5201 40M 1 udp-per-flow"
	"udp u2 $TCS_A6 $TCS_B6 5201 40M 1 udp-per-flow"
	"udp u3 $TCS_A4 $TCS_B4 5202 15M 2 udp-per-src"
	"udp u4 $TCS_A4_2 $TCS_B4_2 5202 30M 1 udp-per-src"
	"tcp t1 $TCS_A4 $TCS_B4 5203 - 1 tcp-per-rule"
	"tcp t2 $TCS_A4 $TCS_B4 5301 100M 1 -"
)

for f in "${FLOWS[@]}"; do
	read -r _ _ _ _ _ _ _ rule <<< "$f"
	[ "$rule" = - ] || [ -n "$(rule_rate "$rule" "$POLICY_SRC")" ] ||
		die "$POLICY_SRC has no rule \"$rule\" with a rate; the demo expects it"
done

# Run every flow for SECS at once, then print one table.
run_flows()
{
	local f kind tag src dst port offered streams rule r limit per flow got drops off
	for f in "${FLOWS[@]}"; do
		read -r kind tag src dst port offered streams rule <<< "$f"
		if [ "$kind" = udp ]; then
			tcs_udp_start "$tag" "$dst" "$port" "$offered" $SECS "$src" "$streams"
		else
			[ "$offered" = - ] && offered=
			tcs_tcp_start "$tag" "$dst" "$port" $SECS "$src" "$streams" "$offered"
		fi || die "could not start $kind flow $tag"
	done
	tcs_iperf_wait || die "an iperf3 flow failed"

	printf '\n  %-38s %-13s %-12s %-10s %-12s %s\n' \
		FLOW RULE LIMIT OFFERED RECEIVED DROPS
	for f in "${FLOWS[@]}"; do
		read -r kind tag src dst port offered streams rule <<< "$f"
		[[ $dst == *:* ]] && dst="[$dst]"
		flow="$kind $src -> $dst:$port"
		[ "$streams" -gt 1 ] && flow+=" x$streams"
		if [ "$rule" = - ]; then
			limit=none
			rule="(unmatched)"
		else
			per=$(awk -v r="$rule" '$0 ~ "- name: *\"?" r "\"? *$" { f = 1; next }
				f && /- name:/ { exit } f && /^ *per:/ { print $2; exit }' "$POLICY")
			limit="$(rule_rate "$rule" "$POLICY")/${per:-flow}"
		fi
		off=${offered%M}
		[ "$streams" -gt 1 ] && off="${streams}x$off"
		if [ "$kind" = udp ]; then
			r=($(tcs_udp_result "$tag" "$dst")) || die "no result for $tag"
			got=$(tcs_mbit "${r[0]}")
			drops="${r[3]} of $((r[2] + r[3])) packets lost"
			off+=" mbit"
		else
			r=($(tcs_tcp_result "$tag")) || die "no result for $tag"
			got=$(tcs_mbit "${r[0]}")
			drops="${r[1]} retransmits, mean RTT $(jq -r \
				'[.end.streams[].sender.mean_rtt] | add / length | floor' \
				"$TCS_TMP/$tag.json") us"
			if [ "$offered" = - ]; then off="max"; else off+=" mbit"; fi
		fi
		printf '  %-38s %-13s %-12s %-10s %-12s %s\n' \
			"$flow" "$rule" "$limit" "$off" "$got mbit" "$drops"
	done
	printf '\n  policer drops on %s egress so far: %s packets (clsact "dropped" in tc -s qdisc)\n' \
		"$TCS_DEV_A" "$(tc -n "$TCS_NS_A" -s qdisc show dev "$TCS_DEV_A" |
		awk '/^qdisc clsact/ { c = 1 } c && /dropped/ { sub(",", "", $7); print $7; exit }')"
}

# The daemon's log from line N on, without debug lines.
daemon_lines() { tail -n "+$1" "$TCS_LOG" | grep -vE '^(<7>|---)' | sed 's/^<[0-9]>/  tcshaped: /'; }

trap tcs_teardown EXIT
trap 'exit 130' INT
trap 'exit 143' TERM HUP

echo "tcshaped demo: namespaces, a veth pair, tcshaped with conf/demo.yaml, iperf3."
echo "Nothing outside the two namespaces is touched; all of it is removed at the end."
tcs_setup demo > /dev/null || die "could not build the demo network"
POLICY=$TCS_TMP/demo.yaml
cp "$POLICY_SRC" "$POLICY"
cat <<EOF

  $TCS_NS_A: $TCS_DEV_A $TCS_A4 $TCS_A4_2 $TCS_A6 $TCS_A6_2  (iperf3 clients, tcshaped)
  $TCS_NS_B: $TCS_DEV_B $TCS_B4 $TCS_B4_2 $TCS_B6 $TCS_B6_2  (iperf3 servers)

EOF
tcs_daemon_start "$POLICY" || die "tcshaped did not start"
daemon_lines 1

echo
echo "== 1. conf/demo.yaml as shipped, every flow for ${SECS}s at once"
run_flows

n=$(grep -c '' "$TCS_LOG")
awk -v r=udp-per-flow -v new="$NEW_FLOW_RATE" '
	$0 ~ "- name: *\"?" r "\"? *$" { f = 1 }
	f && /^ *rate:/ { sub(/rate: *[^ #]+/, "rate: " new); f = 0 } { print }' \
	"$POLICY_SRC" > "$POLICY"
echo
echo "== 2. udp-per-flow raised to $NEW_FLOW_RATE in the policy file; kill -HUP $TCS_DAEMON_PID"
diff -u "$POLICY_SRC" "$POLICY" | grep -E '^[-+] ' | sed 's/^/  /'
tcs_daemon_signal HUP
tcs_wait_log 'reload: (applied|rejected)' 1 10 || die "no reload line from tcshaped"
daemon_lines $((n + 1))
tcs_wait_log 'reload: applied' 1 1 > /dev/null || die "tcshaped rejected the edited policy"
run_flows

echo
echo "== what tcshapectl reads from the pinned maps (tcshapectl stats)"
ip netns exec "$TCS_NS_A" "$TCS_ROOT/build/tcshapectl" --pin-dir "$TCS_PIN_DIR" stats \
	--interval 0.5 | sed 's/^/  /'

cat <<EOF

  RECEIVED is what the iperf3 receiver got: for UDP the frames as the policer
  counts them (payload and headers), for TCP the goodput.

EOF

if grep -q 'socket pacing: local TCP' "$TCS_LOG"; then
	cat <<'EOF'
  TCP: socket pacing. tcshaped told the local TCP sender its share of the
  limit (a sock_ops program sets the socket's SO_MAX_PACING_RATE), so it
  sends at the limit by itself: goodput near 95.6% of the limit (TCP/IP and
  Ethernet headers are the rest), no drops at our hook, and an RTT near the
  idle one (tens of microseconds on this veth), with or without fq.
EOF
fi
if grep -q 'no fq qdisc' "$TCS_LOG"; then
	cat <<'EOF'
  UDP and forwarded traffic: this kernel has no fq qdisc (sch_fq), so the
  egress rules police here (drop what is over the limit) instead of pacing.
  UDP, which does not back off, gets its limit. A TCP sender that is not
  local (forwarded, or with socket pacing off) would back off hard from the
  drops on this 30 us veth. Where the kernel has fq (Debian's stock kernel
  does, as a module), the same policy paces instead: `sudo make test-vm`
  measures that on Debian's 6.1.
EOF
else
	cat <<'EOF'
  Pacing: this kernel has the fq qdisc, so the egress rules pace: each packet
  is stamped with the time it may leave and fq holds it until then (never
  more than max_delay), and UDP beyond the limit is dropped once max_delay
  is reached.
EOF
fi

n=$(grep -c '' "$TCS_LOG")
tcs_daemon_stop TERM || echo "demo: tcshaped exited with status $TCS_DAEMON_RC" >&2
echo
daemon_lines $((n + 1))
echo "removing the demo network"
