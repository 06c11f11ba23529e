#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# e2e: what the classifier makes of packets iperf3 does not send: traffic on a
# device without a link-layer header (a tun device, as WireGuard, PPP or ipip
# are), and UDP datagrams whose fragments arrive last first. The packets come
# from tests/lib/pkt.py; every load is bounded in time.
#
#   sudo tests/e2e/test_datapath.sh [TEST...]

# shellcheck source=tests/lib/netns.sh
. "$(dirname "${BASH_SOURCE[0]}")/../lib/netns.sh"

PKT="/usr/bin/python3 $TCS_ROOT/tests/lib/pkt.py"
SECS=3
TUN=tcs-t0
TUN_A4=198.18.1.1	# ns A's end of the tun device
TUN_P4=198.18.1.2	# the far end, played by pkt.py
TUN_A6=2001:db8:1::1
TUN_P6=2001:db8:1::2

# policy FILE RULES...: tcs-a0 and the tun device, each with RULES (YAML
# lines of one direction, "egress:" or "ingress:" included)
policy_for()
{
	local f=$1 dev=$2
	shift 2
	{
		echo "version: 1"
		echo "interfaces:"
		echo "  - name: $TCS_DEV_A"
		echo "    egress:"
		echo "      - { name: keep, match: { dport: 9 }, rate: 1mbit, action: drop }"
		if [ "$dev" != "$TCS_DEV_A" ]; then
			echo "  - name: $dev"
		fi
		printf '%s\n' "$@"
	} > "$f"
}

# bytes received in SECS at RATE_BPS, over what the policer counts, with the
# burst: the most a limit lets through. limit_bytes RATE_BPS SECS BURST
limit_bytes() { tcs_calc "$1 * $2 / 8 + $3"; }

# ---- devices without a link-layer header --------------------------------------

# A tun device in ns A whose far end is pkt.py: UDP it writes in arrives on
# the tun's ingress; UDP ns A sends to the far end leaves on its egress.
tun_up()
{
	tcs_nsa ip tuntap add mode tun name "$TUN" || return 1
	tcs_nsa ip addr add "$TUN_A4/24" dev "$TUN" &&
	tcs_nsa ip addr add "$TUN_A6/64" dev "$TUN" nodad &&
	tcs_nsa ip link set "$TUN" up
}

# tun_case FAMILY: 8 mbit/s of 1000-byte datagrams each way for SECS through a
# 2 mbit/s policer on each of the tun's hooks.
tun_case()
{
	local fam=$1 p=$TCS_TMP/policy.yaml a=$TUN_A4 far=$TUN_P4 rate=2000000 ovh
	local rx_pid tx_pid tun_pid rx tx_got lim_in lim_out
	[ "$fam" = 6 ] && { a=$TUN_A6; far=$TUN_P6; }
	tun_up || { tcs_msg "cannot create a tun device"; return 1; }
	policy_for "$p" "$TUN" \
		"    ingress:" \
		"      - { name: in, match: { proto: udp, dport: 5201 }, rate: 2mbit, burst: 10kb, per: rule }" \
		"    egress:" \
		"      - { name: out, match: { proto: udp, dport: 5202 }, rate: 2mbit, burst: 10kb, per: rule, action: drop }"
	tcs_daemon_start "$p" || { tcs_msg "daemon did not start"; return 1; }
	if [ "$(tcs_our_filters ingress "$TUN")" -lt 1 ] ||
	   [ "$(tcs_our_filters egress "$TUN")" -lt 1 ]; then
		tcs_msg "no tcshaped filter on $TUN"
		return 1
	fi

	timeout 20 ip netns exec "$TCS_NS_A" $PKT udp-count "$a" 5201 $((SECS + 2)) \
		> "$TCS_TMP/rx" &
	rx_pid=$!
	sleep 0.3
	timeout 20 ip netns exec "$TCS_NS_A" $PKT tun "$TUN" "$far" "$a" 5201 1000 8000000 \
		"$SECS" > "$TCS_TMP/tun" &
	tun_pid=$!
	sleep 0.3	# the far end is attached: the tun has a carrier
	timeout 20 ip netns exec "$TCS_NS_A" $PKT udp-send "$far" 5202 1000 8000000 \
		$((SECS - 1)) > "$TCS_TMP/tx" &
	tx_pid=$!
	wait "$tx_pid" "$tun_pid" "$rx_pid"

	read -r rx _ < "$TCS_TMP/rx"
	read -r tx_got _ < "$TCS_TMP/tun"
	ovh=$([ "$fam" = 6 ] && echo 48 || echo 28)
	# what the policer counts on a tun: the IP packet, no link-layer header
	rx=$(tcs_calc "$rx * (1000 + $ovh) / 1000")
	lim_in=$(limit_bytes $rate $((SECS + 1)) 10000)
	lim_out=$(limit_bytes $rate "$SECS" 10000)
	tcs_log "ingress: $rx bytes in (limit $lim_in), egress: $tx_got bytes out (limit $lim_out)"
	tcs_log "offered: $(tcs_calc "8000000 * $SECS / 8") bytes each way"
	tcs_msg "IPv$fam on tun: ingress $rx B of at most $lim_in; egress $tx_got B of at most $lim_out"
	# within the limit, and the limit is what stopped it (a quarter of it gets through)
	tcs_within "$rx" "$(tcs_calc "$lim_in / 4")" "$lim_in" &&
	tcs_within "$tx_got" "$(tcs_calc "$lim_out / 4")" "$lim_out"
}

test_tun_v4() { tun_case 4; }
test_tun_v6() { tun_case 6; }

# ---- fragments that arrive last first -------------------------------------------

# frag_case FAMILY ORDER BPS: 8000-byte UDP datagrams as 7 fragments from ns
# B at BPS for SECS, into a 1 mbit/s ingress policer on tcs-a0 for port 5201.
# Whatever the order, what the receiver gets stays within the limit; in
# order and under the limit, every datagram arrives.
frag_case()
{
	local fam=$1 order=$2 bps=$3 p=$TCS_TMP/policy.yaml src=$TCS_B4 dst=$TCS_A4 mac rx_pid
	local rx n lim sent
	[ "$fam" = 6 ] && { src=$TCS_B6; dst=$TCS_A6; }
	policy_for "$p" "$TCS_DEV_A" \
		"    ingress:" \
		"      - { name: in, match: { proto: udp, dport: 5201 }, rate: 1mbit, burst: 20kb, per: flow }"
	tcs_daemon_start "$p" || { tcs_msg "daemon did not start"; return 1; }
	mac=$(tcs_nsa cat "/sys/class/net/$TCS_DEV_A/address")
	timeout 20 ip netns exec "$TCS_NS_A" $PKT udp-count "$dst" 5201 $((SECS + 2)) \
		> "$TCS_TMP/rx" &
	rx_pid=$!
	sleep 0.3
	timeout 20 ip netns exec "$TCS_NS_B" $PKT frags "$TCS_DEV_B" "$mac" "$src" "$dst" 5201 \
		8000 "$bps" "$SECS" "$order" > "$TCS_TMP/tx" || { tcs_msg "sender failed"; return 1; }
	wait "$rx_pid"
	read -r rx n < "$TCS_TMP/rx"
	read -r sent _ < "$TCS_TMP/tx"
	# the policer counts whole frames: payload + UDP, IP (and fragment) and
	# Ethernet headers of 7 fragments
	lim=$(limit_bytes 1000000 $((SECS + 1)) 20000)
	tcs_log "sent $sent datagrams of 8000 bytes; received $n ($rx bytes); limit $lim"
	tcs_log "$(tcs_ctl stats 2>&1 | tail -n 3)"
	tcs_msg "IPv$fam, fragments $order: $rx B received of $((sent * 8000)) B sent; limit $lim B"
	[ "$sent" -gt 10 ] && tcs_within "$rx" 0 "$lim" || return 1
	if [ "$order" = forward ] && [ "$bps" -lt 1000000 ] && [ "$n" -ne "$sent" ]; then
		tcs_log "in order and under the limit, $((sent - n)) datagrams were lost"
		return 1
	fi
}

test_frags_forward_v4() { frag_case 4 forward 600000; }
test_frags_forward_v6() { frag_case 6 forward 600000; }
test_frags_reverse_v4() { frag_case 4 reverse 8000000; }
test_frags_reverse_v6() { frag_case 6 reverse 8000000; }

# pkt.py needs Python (the vm tier's guest has none): skip before any setup
[ -x /usr/bin/python3 ] || TCS_SKIP_ALL="no /usr/bin/python3 to send the packets"
tcs_main e2e-datapath "$@"
