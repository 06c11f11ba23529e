#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# fleet tier: the Debian package under a real systemd as PID 1. The system
# tier's container (its cached Debian 12 rootfs in systemd-nspawn, driven
# with nsenter; tests/system/run.sh is sourced for it) gets the package of
# `make deb` the way an operator installs it: apt install, the service comes
# up by itself, a policy edit and `systemctl reload`, an upgrade to a
# rebuilt package while the limits must hold, and apt purge, after which
# nothing of tcshaped may be left: no filter, qdisc, pin, file or unit link.
#
#   sudo tests/fleet/test_deb.sh            V=1 for every test's log

# shellcheck source=../system/run.sh
source "$(dirname "${BASH_SOURCE[0]}")/../system/run.sh"
SUITE=fleet/deb
SBINDIR=/usr/sbin
DEB_OLD=
DEB_NEW=
INSTALLED=

test_build_debs()
{
	local ver
	ver=$(cd "$TCS_ROOT" && dpkg-parsechangelog -S Version)
	DEB_OUT=$WORK/deb-old "$TCS_ROOT/scripts/build-deb.sh" &&
	DEB_LINT=0 DEB_OUT=$WORK/deb-new DEB_VERSION="$ver+fleet1" "$TCS_ROOT/scripts/build-deb.sh" ||
		{ msg "make deb failed"; return 1; }
	DEB_OLD=$(cd "$WORK/deb-old" && ls tcshaped_*.deb)
	DEB_NEW=$(cd "$WORK/deb-new" && ls tcshaped_*.deb)
	cp "$WORK/deb-old/$DEB_OLD" "$WORK/deb-new/$DEB_NEW" "$ROOTFS/root/" ||
		{ msg "cannot copy the packages into the rootfs"; return 1; }
	msg "$DEB_OLD and $DEB_NEW; lintian: $(grep -c '^E:' "$WORK/deb-old/lintian.txt") errors," \
		"$(grep -c '^W:' "$WORK/deb-old/lintian.txt") warnings"
}

test_apt_install()
{
	local why='' text
	[ -n "$BOOTED" ] && [ -n "$DEB_OLD" ] || { skip "no container or no package"; return; }
	make_topology || { msg "cannot make the veth topology in the container"; return 1; }
	BPFFS_BEFORE=$(bpffs_list)
	CTR_T=120 ctr env DEBIAN_FRONTEND=noninteractive apt-get install -y "/root/$DEB_OLD" 2>&1 |
		tail -15 | sed 's/^/    /'
	[ "$(ctr dpkg-query -W -f '${Status}' tcshaped)" = "install ok installed" ] ||
		{ msg "apt-get install did not install tcshaped"; return 1; }
	INSTALLED=1
	ctr dpkg-query -W -f '${Conffiles}\n' tcshaped | sed 's/^/    conffile:/'
	ctr dpkg-query -W -f '${Conffiles}' tcshaped | grep -q '/etc/tcshaped/policy.yaml' ||
		why+=" policy.yaml is no conffile;"
	wait_journal '^ready: ' 1 15 || why+=" no 'ready:' in the journal;"
	[ "$(ctr systemctl is-active "$UNIT")" = active ] || why+=" not active;"
	[ "$(ctr systemctl is-enabled "$UNIT")" = enabled ] || why+=" not enabled;"
	text=$(prop StatusText)
	ctr systemctl status --no-pager -n 5 "$UNIT" | sed 's/^/    /'
	msg "apt-get install ./$DEB_OLD: enabled, active, STATUS=\"$text\"${why:+; FAILED:$why}"
	[ -z "$why" ]
}

test_edit_reload()
{
	local why='' n
	[ -n "$INSTALLED" ] || { skip "not installed"; return; }
	MAIN_PID=$(prop MainPID)
	n=$(journal_count '^reload: applied ')
	# the edit also turns on /metrics: the unit must let the daemon listen
	cat > "$ROOTFS$POLICY" <<-EOF
	# edited by tests/fleet/test_deb.sh
	version: 1
	settings:
	  metrics_listen: 127.0.0.1:9977
	interfaces:
	  - name: $DEV
	    egress:
	      - { name: udp-limit, match: { proto: udp }, rate: 10mbit, per: rule }
	EOF
	ctr systemctl reload "$UNIT" || why+=" systemctl reload failed;"
	wait_journal '^reload: applied ' $((n + 1)) 10 || why+=" no 'reload: applied';"
	[ "$(prop MainPID)" = "$MAIN_PID" ] || why+=" restarted instead of reloaded;"
	[ "$(our_filters)" -eq 1 ] || why+=" $(our_filters) tcshaped filters on $DEV egress;"
	measure deb10 10 || why+=" iperf3 failed;"
	in_band "$UDP_BPS" 10 || why+=" 10mbit not enforced;"
	ctr curl -sSf http://127.0.0.1:9977/metrics > "$WORK/metrics" || why+=" GET /metrics failed;"
	promtool check metrics < "$WORK/metrics" || why+=" promtool check metrics failed;"
	grep -q 'rule="udp-limit"} 1250000$' "$WORK/metrics" || why+=" /metrics lacks the 10mbit rule;"
	msg "policy edited, reloaded: $(mbit "$UDP_BPS")/10 mbit $MEASURE_NOTE; the service's" \
		"/metrics scraped, promtool clean${why:+; FAILED:$why}"
	[ -z "$why" ]
}

test_upgrade_keeps_enforcing()
{
	local why='' old_pid new_pid zeros samples
	[ -n "$INSTALLED" ] || { skip "not installed"; return; }
	old_pid=$(prop MainPID)
	# our filter on the hook every 20 ms while the package is upgraded
	CTR_T=60 ctr bash -c "for i in \$(seq 1500); do
		tc filter show dev $DEV egress | grep -c ' tcshaped '; sleep 0.02
		[ -e /tmp/sampler-stop ] && break; done" > "$WORK/samples" 2>&1 &
	local sampler=$!
	BG_PIDS+=("$sampler")
	sleep 0.5
	CTR_T=120 ctr env DEBIAN_FRONTEND=noninteractive apt-get install -y \
		-o Dpkg::Options::=--force-confold "/root/$DEB_NEW" 2>&1 | tail -8 | sed 's/^/    /'
	wait_journal '^ready: ' 2 20 || why+=" the new daemon did not come up;"
	sleep 0.5
	ctr touch /tmp/sampler-stop
	wait "$sampler"
	BG_PIDS=()
	new_pid=$(prop MainPID)
	samples=$(grep -cE '^[0-9]+$' "$WORK/samples")
	zeros=$(grep -cx 0 "$WORK/samples")
	journal | grep -E 'on-stop|on_stop|adopt|^ready|^stopped' | sed 's/^/    /'
	[ "$(ctr dpkg-query -W -f '${Version}' tcshaped)" = "${DEB_NEW#tcshaped_}" ] ||
		[[ $DEB_NEW == tcshaped_$(ctr dpkg-query -W -f '${Version}' tcshaped)_* ]] ||
		why+=" not upgraded;"
	[ "$old_pid" != "$new_pid" ] || why+=" not restarted (MainPID $old_pid);"
	journal | grep -q 'on-stop: keep the datapath' || why+=" the old daemon was not told to keep;"
	journal | grep -q 'adopt' || why+=" the new daemon adopted nothing;"
	[ "$samples" -gt 10 ] || why+=" only $samples samples;"
	[ "$zeros" = 0 ] || why+=" no tcshaped filter in $zeros of $samples samples;"
	grep -q 'udp-limit' "$ROOTFS$POLICY" || why+=" the edited policy was replaced;"
	measure upgraded 10 || why+=" iperf3 failed;"
	in_band "$UDP_BPS" 10 || why+=" 10mbit not enforced after the upgrade;"
	msg "upgraded to $DEB_NEW (MainPID $old_pid -> $new_pid); filter present in" \
		"$((samples - zeros))/$samples samples (20 ms); edited conffile kept;" \
		"$(mbit "$UDP_BPS")/10 mbit after${why:+; FAILED:$why}"
	[ -z "$why" ]
}

test_purge_leaves_nothing()
{
	local why='' pins f left
	[ -n "$INSTALLED" ] || { skip "not installed"; return; }
	CTR_T=120 ctr env DEBIAN_FRONTEND=noninteractive apt-get purge -y tcshaped 2>&1 |
		tail -8 | sed 's/^/    /'
	journal | tail -4 | sed 's/^/    /'
	ctr dpkg-query -W -f '${Status}' tcshaped 2>/dev/null | grep -q installed &&
		why+=" still installed: $(ctr dpkg-query -W -f '${Status}' tcshaped);"
	[ "$(our_filters)" -eq 0 ] || why+=" $(our_filters) tcshaped filters left;"
	ctr tc qdisc show dev "$DEV" | sed 's/^/    qdisc: /'
	ctr tc qdisc show dev "$DEV" | grep -q clsact && why+=" clsact left on $DEV;"
	pins=$(comm -13 <(echo "$BPFFS_BEFORE") <(bpffs_list))
	[ -z "$pins" ] || why+=" left in /sys/fs/bpf: $(echo $pins);"
	left=()
	for f in /etc/tcshaped /usr/sbin/tcshaped /usr/sbin/tcshapectl /lib/systemd/system/$UNIT \
		/etc/systemd/system/multi-user.target.wants/$UNIT /run/tcshaped \
		/var/lib/systemd/deb-systemd-helper-enabled/$UNIT.dsh-also \
		/var/lib/systemd/deb-systemd-helper-enabled/multi-user.target.wants/$UNIT \
		/usr/share/man/man8/tcshaped.8.gz /usr/share/doc/tcshaped; do
		ctr test -e "$f" -o -L "$f" && left+=("$f")
	done
	[ ${#left[@]} -eq 0 ] || why+=" files left: ${left[*]};"
	[ "$(ctr systemctl is-active "$UNIT")" != active ] || why+=" still active;"
	msg "apt-get purge: no tcshaped filter, no clsact, no pin, none of" \
		"/etc/tcshaped, the binaries, the unit and its links${why:+; FAILED:$why}"
	[ -z "$why" ]
}

ENV_TESTS=(test_prepare test_build_debs test_boot)
TESTS=(test_apt_install test_edit_reload test_upgrade_keeps_enforcing test_purge_leaves_nothing)
main "$@"
