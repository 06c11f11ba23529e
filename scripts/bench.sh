#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# make bench: what tcshaped costs and how exact it is, each figure a ratio to
# a baseline measured in the same run (the machines are shared and noisy):
#   1. classifier ns/packet at 100 and 10,000 rules, flow cache on and off,
#      against a do-nothing tc program; reload timings of the big policy
#   2. accuracy: UDP offered at twice the limit, received / limit
#   3. overhead: TCP throughput of unmatched traffic and of traffic under a
#      limit far above what veth carries, against no daemon at all
# Nothing here is asserted: tests assert, the bench reports.
set -u
cd "$(dirname "${BASH_SOURCE[0]}")/.." || exit 1

if [ "$(id -u)" -ne 0 ]; then
	echo "bench: needs root (BPF_PROG_TEST_RUN, namespaces)" >&2
	exit 1
fi

echo "== 1. classifier cost (BPF_PROG_TEST_RUN)"
build/tests/bench/bench_classifier || exit 1
echo "== key counts of a million limiter keys: a whole walk, the daemon's census steps"
build/tests/bench/bench_keys || exit 1

# shellcheck source=tests/lib/netns.sh
. tests/lib/netns.sh

bench_policy()
{
	cat > "$1" <<EOF
version: 1
settings: { max_keys: 65536 }
interfaces:
  - name: $TCS_DEV_A
    egress:
      - { name: udp-limit, match: { proto: udp, dport: 5201 }, rate: $2, action: drop, per: rule }
      - { name: tcp-high, match: { proto: tcp, dport: 5202 }, rate: 100gbit, action: drop, per: flow }
EOF
}

tcp_gbps()
{
	local tag=$1 port=$2
	tcs_tcp_start "$tag" "$TCS_B4" "$port" 5 || return 1
	tcs_iperf_wait || return 1
	jq -r '.end.sum_received.bits_per_second / 1e9' "$TCS_TMP/$tag.json"
}

trap tcs_teardown EXIT
tcs_setup bench || exit 1

echo
echo "== 2. accuracy: UDP at twice the limit, per rule, L2 bytes received / limit"
printf '  %-10s %14s %8s\n' limit "received mbit" ratio
for mbit in 10 100 1000; do
	bench_policy "$TCS_TMP/p.yaml" "${mbit}mbit"
	tcs_daemon_start "$TCS_TMP/p.yaml" > /dev/null || exit 1
	tcs_udp_start "acc$mbit" "$TCS_B4" 5201 "$((2 * mbit))M" 5 || exit 1
	tcs_iperf_wait || exit 1
	r=($(tcs_udp_result "acc$mbit" "$TCS_B4")) || exit 1
	printf '  %-10s %14s %8s\n' "${mbit}mbit" "$(tcs_mbit "${r[0]}")" \
		"$(tcs_calc "${r[0]} / ($mbit * 1000000)")"
	tcs_daemon_stop > /dev/null
done
echo "  (at 1000 mbit the sender itself may fall short of 2x on a shared 2-core machine)"

echo
echo "== 3. overhead: TCP over veth, 5 s each, median of 3 (Gbit/s)"
median() { sort -g | sed -n 2p; }
base=$(for i in 1 2 3; do tcp_gbps "base$i" 5203; done | median)
bench_policy "$TCS_TMP/p.yaml" 10mbit
tcs_daemon_start "$TCS_TMP/p.yaml" > /dev/null || exit 1
unm=$(for i in 1 2 3; do tcp_gbps "unm$i" 5203; done | median)
lim=$(for i in 1 2 3; do tcp_gbps "lim$i" 5202; done | median)
tcs_daemon_stop > /dev/null
printf '  %-52s %8s %8s\n' case Gbit/s ratio
printf '  %-52s %8.2f %8s\n' "no daemon (baseline)" "$base" 1.00
printf '  %-52s %8.2f %8.2f\n' "daemon attached, flow matches no rule" "$unm" "$(tcs_calc "$unm / $base")"
printf '  %-52s %8.2f %8.2f\n' "daemon attached, flow under a 100gbit per-flow limit" "$lim" "$(tcs_calc "$lim / $base")"

echo
echo "== 4. ingress TCP across a WAN RTT, in the vm (Debian's 6.1, netem), 10mbit"
echo "   policer alone / HTB on an IFB / socket pacing's window clamp + policer"
tests/vm/run.sh exec --timeout 1500 -e TCS_START_TIMEOUT=120 -- tests/pace/bench_ingress.sh 2>&1 |
	grep -E '^(PASS|FAIL|SKIP) |^SKIP vm' | sed -E 's/^PASS /  meets the target: /; s/^FAIL /  misses the target: /; s/^/  /'
