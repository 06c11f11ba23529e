#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# make bench: what tcshaped costs and how exact it is, side by side with tc's
# own shapers. Every figure is a median with min and max of several runs, and
# each is set against a baseline measured in the same run, interleaved (the
# machines are shared and noisy). Sections:
#   1. classifier ns/packet, reload, kernel memory per key (bench_classifier)
#   2. the daemon at idle: RSS and CPU
#   3. overhead: TCP, 1 and 8 flows, unmatched and matched, against no daemon
#   4. UDP at twice the limit: tcshaped per flow/rule/src against HTB and TBF
#   5. TCP under a limit: tcshaped against HTB and TBF (cubic, bbr)
#   6. many clients, each with its own limit: one per: src rule against HTB
#      with a class and a u32 filter per client, 10 to 1,000 clients
#   7. (full only; BENCH_VM=0 skips it) in the vm tier, under the heavy lock: TCP under
#      tcshaped's pace rule (EDT) against HTB and fq maxrate, and the ingress bench
# BENCH=quick: fewer, shorter runs (under 5 minutes), no vm. build/bench.json holds
# the figures for tools. Nothing here is asserted: tests assert, the bench
# reports.
set -u
cd "$(dirname "${BASH_SOURCE[0]}")/.." || exit 1

if [ "$(id -u)" -ne 0 ]; then
	echo "bench: needs root (BPF_PROG_TEST_RUN, namespaces)" >&2
	exit 1
fi

MODE=${BENCH:-full}
if [ "$MODE" = quick ]; then
	REPS=3 SECS=2 IDLE=10 RATES="10 100" TCP_RATES="100" CCS="cubic" SREPS=3
	CLIENTS="10 1000" CSECS=2 CREPS=3
	QFLAG=--quick
else
	REPS=5 SECS=5 IDLE=30 RATES="10 100 1000" TCP_RATES="10 100 1000" CCS="cubic bbr"
	SREPS=3 CLIENTS="10 100 1000" CSECS=6 CREPS=3 QFLAG=
fi
JSON=build/bench.json
PARTS=$(mktemp -d "${TMPDIR:-/tmp}/tcs-bench-$$.XXXXXX") || exit 1
START=$(date +%s)

echo "tcshaped bench ($MODE) on $(uname -r), $(nproc) CPUs, $(date -u +%FT%TZ)"
echo "  load before: $(cut -d' ' -f1-3 /proc/loadavg)"
echo
echo "== 1. classifier (BPF_PROG_TEST_RUN), reload, kernel memory per key"
build/tests/bench/bench_classifier $QFLAG --json "$PARTS/classifier.json" || exit 1
echo "== key counts of a million limiter keys: a whole walk, the daemon's census steps"
build/tests/bench/bench_keys || exit 1

# shellcheck source=tests/lib/netns.sh
. tests/lib/netns.sh

# shellcheck source=tests/lib/median.sh
. tests/lib/median.sh
fmt_mmm() { printf '%s (%s-%s)' "$1" "$2" "$3"; }

# add "key": value to section sec of the JSON parts
jset() { echo "$1 $2 $3" >> "$PARTS/kv"; }

policy_tcs()
{	# file rate per [match] [burst]
	local match=${4:-} burst=${5:+, burst: $5}
	[ -n "$match" ] || match='{ proto: udp, dport: 5201 }'
	cat > "$1" <<EOF
version: 1
settings: { max_keys: 65536 }
interfaces:
  - name: $TCS_DEV_A
    egress:
      - { name: lim, match: $match, rate: $2$burst, action: drop, per: $3 }
      - { name: tcp-high, match: { proto: tcp, dport: 5202 }, rate: 100gbit, action: drop, per: flow }
EOF
}

qdisc_clear() { tc -n "$TCS_NS_A" qdisc del dev "$TCS_DEV_A" root 2> /dev/null; true; }

qdisc_htb()
{	# rate_mbit
	qdisc_clear
	tc -n "$TCS_NS_A" qdisc add dev "$TCS_DEV_A" root handle 1: htb default 10 &&
	tc -n "$TCS_NS_A" class add dev "$TCS_DEV_A" parent 1: classid 1:10 htb \
		rate "$1mbit" ceil "$1mbit" quantum 60000
}

qdisc_tbf()
{	# rate_mbit: burst of 5 ms at the rate (HZ 250 needs 4), at least 15 kB
	local burst=$(($1 * 1000000 / 8 / 200))
	[ "$burst" -lt 15000 ] && burst=15000
	qdisc_clear
	tc -n "$TCS_NS_A" qdisc add dev "$TCS_DEV_A" root tbf rate "$1mbit" burst "$burst" \
		latency 50ms
}

trap 'qdisc_clear; tcs_teardown; rm -rf "$PARTS"' EXIT
tcs_setup bench || exit 1

echo
echo "== 2. the daemon at idle, ${IDLE} s, one veth bound"
policy_tcs "$TCS_TMP/p.yaml" 10mbit rule
tcs_daemon_start "$TCS_TMP/p.yaml" > /dev/null || exit 1
ticks() { awk '{ print $14 + $15 }' "/proc/$TCS_DAEMON_PID/stat"; }
t0=$(ticks)
sleep "$IDLE"
t1=$(ticks)
rss=$(awk '/^VmRSS/ { print $2 }' "/proc/$TCS_DAEMON_PID/status")
hwm=$(awk '/^VmHWM/ { print $2 }' "/proc/$TCS_DAEMON_PID/status")
tcs_daemon_stop > /dev/null
cpu=$(tcs_calc "($t1 - $t0) / $(getconf CLK_TCK) / $IDLE * 100")
printf '  RSS %s KiB (peak %s KiB), CPU %s%% of a core over %s s\n' "$rss" "$hwm" "$cpu" "$IDLE"
jset memory daemon_idle_rss_kib "$rss"
jset memory daemon_idle_cpu_percent "$cpu"

echo
echo "== 2b. reload through the daemon: SIGHUP -> \"reload: applied\", peak RSS (VmHWM) over it"
# from 1 rule to the big policy of section 1 (everything published), then a
# change of one rule's rate and back (only that published), then back to 1
policy_tcs "$TCS_TMP/r.yaml" 10mbit rule
cp "$TCS_TMP/r.yaml" "$TCS_TMP/small.yaml"
build/tests/bench/bench_classifier --write-policy "$TCS_TMP/big.yaml" "$TCS_DEV_A" -1 &&
build/tests/bench/bench_classifier --write-policy "$TCS_TMP/big2.yaml" "$TCS_DEV_A" 5000 ||
	exit 1
tcs_daemon_start "$TCS_TMP/r.yaml" > /dev/null || exit 1
: > "$PARTS/rfull"; : > "$PARTS/rone"; : > "$PARTS/rhwm"
for ((i = 0; i < REPS; i++)); do
	r=$(tests/bench/reload.py "$TCS_DAEMON_PID" "$TCS_LOG" "$TCS_TMP/r.yaml" \
		"$TCS_TMP/big.yaml" "$TCS_TMP/big2.yaml" "$TCS_TMP/big.yaml" \
		"$TCS_TMP/small.yaml") || exit 1
	awk 'NR == 1 { print $1 }' <<< "$r" >> "$PARTS/rfull"
	awk 'NR == 2 || NR == 3 { print $1 }' <<< "$r" >> "$PARTS/rone"
	awk '{ print $2 }' <<< "$r" >> "$PARTS/rhwm"
done
tcs_daemon_stop > /dev/null
read -r fm fl fh < <(mmm < "$PARTS/rfull")
read -r om ol oh < <(mmm < "$PARTS/rone")
hwm=$(sort -g "$PARTS/rhwm" | tail -1)
printf '  %s bytes of YAML; seconds, median (min-max) of %s and %s reloads\n' \
	"$(stat -c %s "$TCS_TMP/big.yaml")" "$REPS" "$((2 * REPS))"
printf '  %-34s %s\n' "1 rule -> the big policy (full)" "$(fmt_mmm "$fm" "$fl" "$fh")"
printf '  %-34s %s\n' "one rule's rate changed" "$(fmt_mmm "$om" "$ol" "$oh")"
printf '  %-34s %s MiB\n' "daemon peak RSS over a reload" "$(tcs_calc "$hwm / 1024")"
jset reload daemon_full_s "$fm"
jset reload daemon_one_rule_s "$om"
jset reload daemon_peak_rss_mib "$(tcs_calc "$hwm / 1024")"

tcp_run()
{	# tag port streams [cc] [probe]: prints "gbit/s retrans rtt_us probe_ms"
	local tag=$1 port=$2 streams=$3 cc=${4:-cubic} probe=${5:-} ppid=
	tcs_iperf_server "$tag" "$TCS_B4" "$port" || return 1
	if [ -n "$probe" ]; then
		tcs_nsa ping -q -n -i 0.2 -w "$SECS" "$TCS_B4" > "$TCS_TMP/$tag.ping" 2>&1 &
		ppid=$!
	fi
	timeout -k 2 $((SECS + 20)) ip netns exec "$TCS_NS_A" iperf3 -c "$TCS_B4" -p "$port" \
		-P "$streams" -t "$SECS" -C "$cc" -J > "$TCS_TMP/$tag.json" 2> "$TCS_TMP/$tag.err" \
		< /dev/null &
	TCS_CLIENT_PIDS+=($!)
	tcs_iperf_wait > /dev/null || return 1
	[ -n "$ppid" ] && wait "$ppid"
	jq -r --arg p "$(sed -n 's|.*= [0-9.]*/\([0-9.]*\)/.*|\1|p' "$TCS_TMP/$tag.ping" 2> /dev/null)" \
		'[.end.sum_received.bits_per_second / 1e9, .end.sum_sent.retransmits,
		  ([.end.streams[].sender.mean_rtt] | add / length),
		  (if $p == "" then "nan" else $p end)] | @tsv' "$TCS_TMP/$tag.json"
}

col() { cut -f"$1"; }

echo
echo "== 3. overhead: TCP over veth, ${SECS} s runs, ${REPS} rounds, each round: no daemon, then"
echo "   the daemon attached (unmatched flow; flow under a 100gbit per-flow limit)"
printf '  %-8s %-44s %22s %20s\n' flows case "Gbit/s med (min-max)" "ratio med (min-max)"
for streams in 1 8; do
	: > "$PARTS/base" ; : > "$PARTS/unm" ; : > "$PARTS/lim" ; : > "$PARTS/ru" ; : > "$PARTS/rl"
	for ((i = 0; i < REPS; i++)); do
		b=$(tcp_run "b$streams$i" 5203 "$streams" | col 1) || exit 1
		policy_tcs "$TCS_TMP/p.yaml" 10mbit rule
		tcs_daemon_start "$TCS_TMP/p.yaml" > /dev/null || exit 1
		u=$(tcp_run "u$streams$i" 5203 "$streams" | col 1) || exit 1
		l=$(tcp_run "l$streams$i" 5202 "$streams" | col 1) || exit 1
		tcs_daemon_stop > /dev/null
		echo "$b" >> "$PARTS/base"; echo "$u" >> "$PARTS/unm"; echo "$l" >> "$PARTS/lim"
		tcs_calc "$u / $b" >> "$PARTS/ru"; tcs_calc "$l / $b" >> "$PARTS/rl"
	done
	read -r bm bl bh < <(mmm < "$PARTS/base")
	read -r um ul uh < <(mmm < "$PARTS/unm")
	read -r lm ll lh < <(mmm < "$PARTS/lim")
	read -r rum rul ruh < <(mmm < "$PARTS/ru")
	read -r rlm rll rlh < <(mmm < "$PARTS/rl")
	printf '  %-8s %-44s %22s %20s\n' "$streams" "no daemon (baseline)" "$(fmt_mmm "$bm" "$bl" "$bh")" 1
	printf '  %-8s %-44s %22s %20s\n' "$streams" "unmatched (target 0.97 or more)" \
		"$(fmt_mmm "$um" "$ul" "$uh")" "$(fmt_mmm "$rum" "$rul" "$ruh")"
	printf '  %-8s %-44s %22s %20s\n' "$streams" "matched, 100gbit limit (target 0.95)" \
		"$(fmt_mmm "$lm" "$ll" "$lh")" "$(fmt_mmm "$rlm" "$rll" "$rlh")"
	sfx=; [ "$streams" = 8 ] && sfx=_8flows
	jset overhead "unmatched_ratio$sfx" "$rum"
	jset overhead "matched_ratio$sfx" "$rlm"
done

udp_run()
{	# tag rate_mbit: prints "received/limit sender_cpu% receiver_cpu%"
	local rx
	tcs_udp_start "$1" "$TCS_B4" 5201 "$(($2 * 2))M" "$SECS" || return 1
	tcs_iperf_wait > /dev/null || return 1
	rx=$(tcs_udp_result "$1" "$TCS_B4" | cut -f1) || return 1
	printf '%s\t%s\n' "$(tcs_calc "$rx / ($2 * 1000000)")" \
		"$(jq -r '[.end.cpu_utilization_percent.host_total,
			   .end.cpu_utilization_percent.remote_total] | map(. * 100 | round / 100) | @tsv' \
			"$TCS_TMP/$1.json")"
}

echo
echo "== 4. UDP offered at twice the limit, ${SECS} s runs, ${SREPS} each: L2 bytes received / limit,"
echo "   and the CPU iperf3 reports for the sender's and receiver's process (% of a core)"
printf '  %-6s %-22s %20s %10s %10s\n' limit shaper "accuracy med (min-max)" "send CPU%" "recv CPU%"
for mbit in $RATES; do
	for how in tcs:flow tcs:rule tcs:src htb tbf; do
		: > "$PARTS/acc"; : > "$PARTS/scpu"; : > "$PARTS/rcpu"
		case $how in
		tcs:*)
			policy_tcs "$TCS_TMP/p.yaml" "${mbit}mbit" "${how#tcs:}"
			tcs_daemon_start "$TCS_TMP/p.yaml" > /dev/null || exit 1 ;;
		htb) qdisc_htb "$mbit" || exit 1 ;;
		tbf) qdisc_tbf "$mbit" || exit 1 ;;
		esac
		for ((i = 0; i < SREPS; i++)); do
			r=$(udp_run "u$mbit$i" "$mbit") || exit 1
			col 1 <<< "$r" >> "$PARTS/acc"; col 2 <<< "$r" >> "$PARTS/scpu"
			col 3 <<< "$r" >> "$PARTS/rcpu"
		done
		case $how in tcs:*) tcs_daemon_stop > /dev/null ;; *) qdisc_clear ;; esac
		read -r am al ah < <(mmm < "$PARTS/acc")
		printf '  %-6s %-22s %20s %10s %10s\n' "$mbit" "${how/tcs:/tcshaped per: }" \
			"$(fmt_mmm "$am" "$al" "$ah")" "$(mmm < "$PARTS/scpu" | cut -d' ' -f1)" \
			"$(mmm < "$PARTS/rcpu" | cut -d' ' -f1)"
		jset udp "${how/:/_}_${mbit}mbit_accuracy" "$am"
	done
done
echo "  (tc police is not in this kernel; at 1000 mbit the sender itself may fall short of 2x)"

echo
echo "== 5. TCP under a limit, ${SECS} s runs, ${SREPS} each: goodput / limit, retransmits,"
echo "   the flows' own RTT (iperf3's mean srtt) and a ping probe's RTT alongside"
printf '  %-6s %-6s %-5s %-16s %20s %8s %10s %10s\n' limit cc flows shaper \
	"goodput/limit (min-max)" retrans "flow RTT us" "probe ms"
for mbit in $TCP_RATES; do
	for cc in $CCS; do
		for streams in 1 8; do
			for how in tcshaped htb tbf; do
				: > "$PARTS/g"; : > "$PARTS/rt"; : > "$PARTS/rtt"; : > "$PARTS/pr"
				case $how in
				tcshaped)
					policy_tcs "$TCS_TMP/p.yaml" "${mbit}mbit" rule \
						'{ proto: tcp, dport: 5201 }'
					tcs_daemon_start "$TCS_TMP/p.yaml" > /dev/null || exit 1 ;;
				htb) qdisc_htb "$mbit" || exit 1 ;;
				tbf) qdisc_tbf "$mbit" || exit 1 ;;
				esac
				for ((i = 0; i < SREPS; i++)); do
					r=$(tcp_run "t$mbit$cc$streams$i" 5201 "$streams" "$cc" probe) ||
						exit 1
					tcs_calc "$(col 1 <<< "$r") * 1000 / $mbit" >> "$PARTS/g"
					col 2 <<< "$r" >> "$PARTS/rt"
					col 3 <<< "$r" >> "$PARTS/rtt"
					col 4 <<< "$r" >> "$PARTS/pr"
				done
				case $how in tcshaped) tcs_daemon_stop > /dev/null ;; *) qdisc_clear ;; esac
				read -r gm gl gh < <(mmm < "$PARTS/g")
				printf '  %-6s %-6s %-5s %-16s %20s %8s %10s %10s\n' "$mbit" "$cc" \
					"$streams" "$how" "$(fmt_mmm "$gm" "$gl" "$gh")" \
					"$(mmm < "$PARTS/rt" | cut -d' ' -f1)" \
					"$(mmm < "$PARTS/rtt" | cut -d' ' -f1)" \
					"$(mmm < "$PARTS/pr" | cut -d' ' -f1)"
				jset tcp "${how}_${cc}_${streams}flows_${mbit}mbit_goodput_ratio" "$gm"
			done
		done
	done
done

echo
echo "== 6. many clients, each with its own limit: one per: src rule against HTB with a class"
echo "   (a 10-packet pfifo) and a u32 filter per client. 200 mbit of UDP offered in all, each"
echo "   client twice its limit of 100 mbit / N; ${CSECS} s runs, ${CREPS} rounds of none, HTB,"
echo "   tcshaped. CPU per datagram offered: the system time of the sending and receiving"
echo "   processes (holds the softirq work in their context), 'over none' against that round's"
echo "   no-shaper run, and the whole machine's softirq time over the run and 1 s after it"
echo "   (where a queueing shaper's later dequeues run)"
# client i is 198.18.(4 + i / 250).(1 + i % 250)
nmax=0
for n in $CLIENTS; do [ "$n" -gt "$nmax" ] && nmax=$n; done
{
	for ((i = 0; i < nmax; i++)); do
		echo "addr add 198.18.$((4 + i / 250)).$((1 + i % 250))/32 dev $TCS_DEV_A"
	done
} | ip -n "$TCS_NS_A" -batch - || exit 1
ip -n "$TCS_NS_B" route add 198.18.4.0/22 dev "$TCS_DEV_B" || exit 1
clients_run()
{	# tag n limit_bit: prints "accuracy_median accuracy_worst sys_ns softirq_ns
	# sender_sys_ns", the CPU figures per datagram offered
	local tag=$1 n=$2 lim=$3 rx
	timeout $((3 * CSECS + 10)) ip netns exec "$TCS_NS_B" python3 tests/bench/clients.py \
		recv "$TCS_B4" 5301 "$CSECS" > "$TCS_TMP/$tag.rx" &
	rx=$!
	sleep 0.5
	timeout $((CSECS + 15)) ip netns exec "$TCS_NS_A" python3 tests/bench/clients.py send \
		198.18.4.0 "$n" "$TCS_B4" 5301 $((2 * lim)) "$CSECS" 1000 1 > "$TCS_TMP/$tag.tx" ||
		return 1
	wait "$rx" || return 1
	python3 - "$TCS_TMP/$tag.rx" "$TCS_TMP/$tag.tx" "$n" "$CSECS" "$lim" <<'EOF'
import json, statistics, sys
rx = json.load(open(sys.argv[1])); tx = json.load(open(sys.argv[2]))
n, secs, lim = int(sys.argv[3]), float(sys.argv[4]), float(sys.argv[5])
acc = [rx["bytes"].get(k, 0) * 8 / secs / lim for k in
       [f"198.18.{4 + i // 250}.{1 + i % 250}" for i in range(n)]]
worst = max(acc, key=lambda a: abs(a - 1))
per = 1e9 / max(tx["sent"], 1)
print(f"{statistics.median(acc):.3f}\t{worst:.3f}\t{(tx['sys_s'] + rx['sys_s']) * per:.0f}\t"
      f"{tx['softirq_s'] * per:.0f}\t{tx['sys_s'] * per:.0f}")
EOF
}
htb_clients()
{	# n limit_bit burst_bytes
	qdisc_clear
	{
		echo "qdisc add dev $TCS_DEV_A root handle 1: htb default 9999"
		echo "class add dev $TCS_DEV_A parent 1: classid 1:9999 htb rate 10gbit quantum 60000"
		for ((i = 0; i < $1; i++)); do
			echo "class add dev $TCS_DEV_A parent 1: classid 1:$((i + 1)) htb rate $2bit ceil $2bit burst $3 cburst $3"
			echo "qdisc add dev $TCS_DEV_A parent 1:$((i + 1)) pfifo limit 10"
			echo "filter add dev $TCS_DEV_A parent 1: protocol ip prio 1 u32 match ip src 198.18.$((4 + i / 250)).$((1 + i % 250))/32 flowid 1:$((i + 1))"
		done
	} | tc -n "$TCS_NS_A" -batch -
}
printf '  %-7s %-9s %22s %7s %22s %9s %11s\n' clients shaper "median client (min-max)" worst \
	"sys ns/pkt (min-max)" "over none" "softirq ns"
for n in $CLIENTS; do
	# 100 mbit / n each, 20 ms of it as burst (at least 2 kB), for HTB and tcshaped alike
	lim=$((100000000 / n))
	burst=$((lim / 400)); [ "$burst" -lt 2000 ] && burst=2000
	for how in none htb tcshaped; do
		: > "$PARTS/cm$how"; : > "$PARTS/cw$how"; : > "$PARTS/ck$how"; : > "$PARTS/cs$how"
		: > "$PARTS/cx$how"; : > "$PARTS/co$how"
	done
	for ((i = 0; i < CREPS; i++)); do
		for how in none htb tcshaped; do
			case $how in
			tcshaped)
				policy_tcs "$TCS_TMP/p.yaml" "${lim}bit" src \
					'{ proto: udp, dport: 5301 }' "${burst}b"
				tcs_daemon_start "$TCS_TMP/p.yaml" > /dev/null || exit 1 ;;
			htb) htb_clients "$n" "$lim" "$burst" || exit 1 ;;
			esac
			cr=$(clients_run "c$n$how$i" "$n" "$lim") || exit 1
			case $how in tcshaped) tcs_daemon_stop > /dev/null ;; htb) qdisc_clear ;; esac
			col 1 <<< "$cr" >> "$PARTS/cm$how"; col 2 <<< "$cr" >> "$PARTS/cw$how"
			col 3 <<< "$cr" >> "$PARTS/ck$how"; col 4 <<< "$cr" >> "$PARTS/cs$how"
			col 5 <<< "$cr" >> "$PARTS/co$how"
			[ "$how" = none ] && knone=$(col 3 <<< "$cr")
			echo "$(($(col 3 <<< "$cr") - knone))" >> "$PARTS/cx$how"
		done
	done
	for how in none htb tcshaped; do
		read -r cm cl ch < <(mmm < "$PARTS/cm$how")
		read -r wm _ _ < <(mmm < "$PARTS/cw$how")
		read -r km kl kh < <(mmm < "$PARTS/ck$how")
		read -r xm _ _ < <(mmm < "$PARTS/cx$how")
		read -r sm _ _ < <(mmm < "$PARTS/cs$how")
		printf '  %-7s %-9s %22s %7s %22s %9.0f %11.0f\n' "$n" "$how" \
			"$(fmt_mmm "$cm" "$cl" "$ch")" "$wm" \
			"$(printf '%.0f (%.0f-%.0f)' "$km" "$kl" "$kh")" "$xm" "$sm"
		jset clients "${how}_${n}clients_median_accuracy" "$cm"
		jset clients "${how}_${n}clients_worst_accuracy" "$wm"
		jset clients "${how}_${n}clients_sys_ns_per_packet" "$km"
		jset clients "${how}_${n}clients_sys_ns_over_none" "$xm"
		jset clients "${how}_${n}clients_softirq_ns_per_packet" "$sm"
		if [ "$n" = "$nmax" ]; then
			# the keys of the single client count this section measured
			# before (sys_ns_per_packet: the sender's alone)
			jset clients "${how}_median_accuracy" "$cm"
			jset clients "${how}_worst_accuracy" "$wm"
			jset clients "${how}_sys_ns_per_packet" "$(mmm < "$PARTS/co$how" | cut -d' ' -f1)"
		fi
	done
done
echo "  (none: no shaper, each client's twice its limit arrives: accuracy 2.0, the cost baseline)"

if [ "$MODE" != quick ] && [ "${BENCH_VM:-1}" != 0 ]; then
	echo
	echo "== 7. in the vm: Debian's 6.1 with sch_fq under qemu TCG (slow; its clock runs in bursts)"
	echo "   a. TCP under a 10mbit egress limit, 5 s runs, 3 each: tcshaped pace (EDT + fq)"
	echo "   against HTB and fq maxrate (a cap on each flow: 8 flows get up to 8 times it);"
	echo "   goodput / limit, retransmits, the flows' own RTT, an ICMP probe's RTT (outside"
	echo "   the pace rule). 100 mbit is left out: under TCG it moves more between runs than"
	echo "   between shapers (docs/performance.md)"
	flock /tmp/tcshaped-heavy.lock tests/vm/run.sh exec --timeout 1500 \
		-e TCS_START_TIMEOUT=120 -e PACE_RATES=10 -- \
		'tests/pace/bench_edt.sh; tests/pace/bench_ingress.sh' 2>&1 | tr -d '\r' > "$PARTS/vm"
	grep -E '^(  [^ ]|SKIP bench_edt|bench_edt:)' "$PARTS/vm"
	sed -n 's/^bench-kv //p' "$PARTS/vm" >> "$PARTS/kv"
	echo "   b. ingress TCP across a WAN RTT, 10mbit: the policer, HTB on an IFB, the window clamp"
	grep -E '^(PASS|FAIL|SKIP) |^SKIP vm' "$PARTS/vm" |
		sed -E 's/^PASS /  meets the target: /; s/^FAIL /  misses the target: /; s/^/  /'
fi

# build/bench.json: the classifier's figures, and every jset, by section
jq -n --slurpfile c "$PARTS/classifier.json" --rawfile kv "$PARTS/kv" \
	--arg mode "$MODE" --arg kernel "$(uname -r)" --arg cpus "$(nproc)" \
	--arg at "$(date -u +%FT%TZ)" --arg secs "$(($(date +%s) - START))" '
	($kv | split("\n") | map(select(length > 0) | split(" "))
	 | reduce .[] as $e ({}; .[$e[0]][$e[1]] = ($e[2] | tonumber? // $e[2]))) as $s
	| $c[0] * $s
	| .run = { mode: $mode, kernel: $kernel, cpus: ($cpus | tonumber),
		   at: $at, seconds: ($secs | tonumber) }' > "$JSON" || exit 1
echo
echo "figures in $JSON; $(($(date +%s) - START)) s; load after: $(cut -d' ' -f1-3 /proc/loadavg)"
