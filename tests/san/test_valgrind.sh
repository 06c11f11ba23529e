#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# The daemon under valgrind (memcheck): start, 100 reloads (a bad file now
# and then), link flaps and an interface that comes and goes, then SIGTERM.
# Passes only with no invalid access, no use of uninitialised memory, no
# definite or indirect leak, and exit 0. Runs the normal build (valgrind
# cannot run an ASan binary): `make test SANITIZE=1` builds it first.
#
#   sudo tests/san/test_valgrind.sh

# shellcheck source=tests/lib/netns.sh
. "$(dirname "${BASH_SOURCE[0]}")/../lib/netns.sh"

PLAIN=$TCS_ROOT/build/tcshaped
RELOADS=${RELOADS:-100}

policy()
{
	cat > "$1" <<EOF
version: 1
settings: { max_keys: 4096 }
interfaces:
  - name: $TCS_DEV_A
    egress:
      - { name: udp, match: { proto: udp, dport: 5201 }, rate: $2, per: flow }
      - { name: nets, match: { dst: [198.18.0.0/24, "2001:db8::/64"] }, rate: 50mbit, per: dst }
  - name: "tcs-x*"
    ingress:
      - { name: all, rate: 20mbit, per: src }
EOF
}

# One reload; its log line ("reload: applied" or "reload: rejected") is the Nth.
reload()
{
	tcs_daemon_signal HUP
	tcs_wait_log 'reload: (applied|rejected)' "$1" 60
}

test_valgrind_daemon()
{
	local p=$TCS_TMP/policy.yaml vlog=$TCS_TMP/valgrind.log i bad=0 errs

	command -v valgrind >/dev/null || tcs_skip "valgrind not installed (scripts/install-deps.sh)"
	[ -x "$PLAIN" ] || { tcs_msg "$PLAIN not built (make)"; return 1; }
	if nm -u "$PLAIN" 2>/dev/null | grep -q __asan_init; then
		tcs_msg "$PLAIN is an ASan build; valgrind needs the normal one"
		return 1
	fi
	cat > "$TCS_TMP/tcshaped" <<EOF
#!/bin/sh
exec valgrind --tool=memcheck --leak-check=full --show-leak-kinds=definite,indirect \
	--errors-for-leak-kinds=definite,indirect --error-exitcode=99 \
	--suppressions="$TCS_ROOT/tests/san/valgrind.supp" \
	--log-file="$vlog" "$PLAIN" "\$@"
EOF
	chmod +x "$TCS_TMP/tcshaped"
	TCSHAPED=$TCS_TMP/tcshaped
	TCS_START_TIMEOUT=120

	policy "$p" 10mbit
	tcs_daemon_start "$p" || { tcs_msg "daemon did not start under valgrind"; return 1; }
	for ((i = 1; i <= RELOADS; i++)); do
		if ((i % 10 == 0)); then
			policy "$p" tenmbit	# refused: the running policy stays
			bad=$((bad + 1))
		else
			policy "$p" "$((10 + i))mbit"
		fi
		reload "$i" || { tcs_msg "reload $i did not finish"; return 1; }
		if ((i % 10 == 5)); then
			# a flap of the enforced link, and a glob match that comes and goes
			tcs_nsa ip link set "$TCS_DEV_A" down && tcs_nsa ip link set "$TCS_DEV_A" up
			tcs_nsa ip link add tcs-x0 type veth peer name tcs-y0 &&
				tcs_nsa ip link set tcs-x0 up
			sleep 0.5
			tcs_nsa ip link del tcs-x0
		fi
	done
	[ "$(tcs_log_count 'reload: rejected')" -eq "$bad" ] ||
		{ tcs_msg "$(tcs_log_count 'reload: rejected') reloads rejected, want $bad"; return 1; }
	tcs_daemon_stop TERM
	errs=$(grep -E 'ERROR SUMMARY|definitely lost|indirectly lost|Invalid|uninitialised' "$vlog")
	tcs_log "valgrind: $errs"
	if [ "$TCS_DAEMON_RC" -ne 0 ] || ! grep -q 'ERROR SUMMARY: 0 errors' "$vlog"; then
		tcs_log "valgrind log:"
		sed 's/^/    /' "$vlog" | tail -n 150
		tcs_msg "exit $TCS_DAEMON_RC; $(grep -o 'ERROR SUMMARY: [0-9]* errors' "$vlog")"
		return 1
	fi
	tcs_msg "$RELOADS reloads ($bad refused), $((RELOADS / 10)) flaps, exit 0;" \
		"$(grep -o 'ERROR SUMMARY: [0-9]* errors' "$vlog"), $(grep -oE 'in use at exit: [0-9,]+ bytes' "$vlog")"
}

tcs_main san-valgrind "$@"
