#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# vm tier: run a command inside Debian 12's stock kernel (6.1, what most users
# run, with sch_fq, netem, htb as modules) under qemu/TCG, with the project's
# build outputs and the host's real tools (bash, iproute2, iperf3, jq ...).
#
#   tests/vm/run.sh prepare [--force]    # kernel + base initramfs, cached
#   tests/vm/run.sh exec [--timeout SEC] [-e NAME=VALUE]... [--copy PATH]... -- CMD...
#   tests/vm/run.sh test [--timeout SEC] [--name NAME] [TIER...]  # tests/run.sh inside
#
# exec boots the cached kernel with the base initramfs plus a second cpio
# holding the project tree, runs CMD with bash in the project directory and
# exits with CMD's status (124 on timeout, 125 when the guest never reported
# one). One argument is a bash command line ('tc qdisc add dev lo root fq &&
# tc qdisc show dev lo'); several are one command and its arguments, passed
# verbatim. -e sets a variable for CMD (V is passed on by itself); --copy puts
# a host file (with its libraries) or directory at the same path in the
# guest. The console is streamed to stdout. When no vm can be had at all (no
# qemu, no image and no root to prepare one) exec prints "SKIP vm: <reason>"
# and exits 0.
#
# test runs `tests/run.sh TIER...` (default: bpf e2e) inside and ends with
# the line tests/run.sh on the host adds up: "NAME: N passed, N failed, N
# skipped" (NAME defaults to vm). tests/vm/test_*.sh, the vm tier's suites,
# are built on it.
#
# The cache lives outside the repository, one directory per kernel version:
# ${TCS_VM_CACHE:-/var/cache/tcshaped-vm}/<kver>/{vmlinux,vmlinuz,*.deb,base.cpio,...}
# and "current" points at the one prepare resolved last. TCS_VM_KVER picks
# another; TCS_VM_MEM (MiB, 1536) and TCS_VM_SMP (2) size the guest;
# TCS_VM_APPEND adds to the kernel command line, TCS_VM_QEMU_OPTS to qemu's;
# TCS_VM_KEEP=1 keeps the run's work directory (console.log, initrd).
set -uo pipefail

TCS_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
CACHE=${TCS_VM_CACHE:-/var/cache/tcshaped-vm}
QEMU=${TCS_VM_QEMU:-qemu-system-x86_64}
GUEST_DIR=/tcshaped		# where the project tree sits in the guest
BB=/usr/lib/busybox		# busybox and its applet links in the guest
MARK=TCS-VM-EXIT		# end marker: TCS-VM-EXIT:<nonce>:<status>
# Bump when the layout of the base image changes in a way the package
# versions below do not capture.
BASE_FORMAT=2

# Packages prepare needs on the host: to run qemu, to build the image, and
# the tools the image copies out of the host.
HOST_PKGS=(qemu-system-x86 busybox-static cpio kmod
	bash coreutils grep sed mawk findutils util-linux mount procps
	iproute2 iperf3 jq bpftool strace
	xz-utils binutils file
	libbpf1 libelf1 libmnl0 libnl-3-200 libnl-route-3-200 libyaml-0-2 libsystemd0
	zlib1g libcap2)

# Real tools in the guest, ahead of busybox in PATH. Each is copied with every
# shared library ldd finds for it. All of coreutils comes along as well.
GUEST_TOOLS=(bash sh grep egrep fgrep sed awk mawk find xargs
	mount umount mountpoint nsenter unshare taskset flock setsid dmesg
	ps pgrep pkill sysctl free
	kmod modprobe insmod rmmod lsmod depmod modinfo
	ip tc ss bridge iperf3 jq bpftool strace)

# What the project's binaries link against, so the per-run cpio rarely has
# to add a library (it does when one is missing here).
GUEST_LIBS=(libbpf.so.1 libelf.so.1 libmnl.so.0 libnl-3.so.200 libnl-route-3.so.200
	libyaml-0.so.2 libsystemd.so.0 libz.so.1 libcap.so.2)

# Kernel modules the tests may want; what a kernel lacks is left out. clsact
# lives in sch_ingress; ss reads sockets' pacing rates through tcp_diag.
GUEST_MODS=(veth sch_fq sch_htb sch_ingress cls_bpf act_bpf sch_netem sch_tbf
	sch_prio sch_fq_codel sch_cake ifb act_mirred act_gact cls_u32 cls_matchall
	cls_fw tcp_bbr inet_diag tcp_diag)

die() { echo "vm: $*" >&2; exit 1; }
say() { echo "vm: $*" >&2; }
skip() { echo "SKIP vm: $*"; exit 0; }
now() { date +%s.%N; }
secs() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.1f", b - a }'; }

usage()
{
	sed -n '8,10p' "${BASH_SOURCE[0]}" | sed 's/^# *//' >&2
	exit 2
}

# ---- prepare ---------------------------------------------------------------

pkg_installed()
{
	dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q "install ok installed"
}

install_host_pkgs()
{
	local p missing=()
	for p in "${HOST_PKGS[@]}"; do
		pkg_installed "$p" || missing+=("$p")
	done
	[ ${#missing[@]} -eq 0 ] && return 0
	[ "$(id -u)" -eq 0 ] || die "missing packages: ${missing[*]}; run prepare as root"
	say "installing ${missing[*]}"
	export DEBIAN_FRONTEND=noninteractive
	apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null 2>&1 || {
		apt-get update -qq &&
		apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
	} || die "apt-get install ${missing[*]} failed"
}

# The linux-image-6.1.0-N-amd64 that linux-image-amd64 depends on now.
resolve_kernel_pkg()
{
	local pkg
	if [ -n "${TCS_VM_KERNEL_PKG:-}" ]; then
		echo "$TCS_VM_KERNEL_PKG"
		return 0
	fi
	pkg=$(apt-cache depends linux-image-amd64 2>/dev/null |
		awk '$1 == "Depends:" && $2 ~ /^linux-image-6\.1\.0-[0-9]+-amd64$/ { print $2; exit }')
	if [ -z "$pkg" ]; then
		apt-get update -qq >&2 || return 1
		pkg=$(apt-cache depends linux-image-amd64 2>/dev/null |
			awk '$1 == "Depends:" && $2 ~ /^linux-image-6\.1\.0-[0-9]+-amd64$/ { print $2; exit }')
	fi
	[ -n "$pkg" ] && echo "$pkg"
}

# Download the kernel package into KDIR (once) and take vmlinuz out of it.
fetch_kernel()
{
	local pkg=$1 kdir=$2 kver=${1#linux-image-} tmp deb
	mkdir -p "$kdir" || return 1
	deb=$(ls "$kdir"/"$pkg"_*.deb 2>/dev/null | tail -n 1)
	if [ -z "$deb" ]; then
		say "downloading $pkg"
		tmp=$(mktemp -d) || return 1
		# apt drops privileges to _apt for the download; let it write here
		id _apt >/dev/null 2>&1 && chown _apt "$tmp"
		(cd "$tmp" && apt-get download -q "$pkg" >&2) || { rm -rf "$tmp"; return 1; }
		deb=$(ls "$tmp"/"$pkg"_*.deb 2>/dev/null | tail -n 1)
		[ -n "$deb" ] || { rm -rf "$tmp"; return 1; }
		mv "$deb" "$kdir"/ && rm -rf "$tmp" || return 1
		deb=$kdir/${deb##*/}
	fi
	if [ ! -s "$kdir/vmlinuz" ]; then
		dpkg-deb --fsys-tarfile "$deb" | tar -xO "./boot/vmlinuz-$kver" > "$kdir/vmlinuz.tmp" &&
			mv "$kdir/vmlinuz.tmp" "$kdir/vmlinuz" || return 1
	fi
	[ -s "$kdir/vmlinux" ] || extract_vmlinux "$kdir/vmlinuz" "$kdir/vmlinux"
}

# The ELF kernel inside the bzImage (Debian's is xz-compressed). qemu boots
# it through its PVH entry (CONFIG_PVH=y), which skips the firmware's and the
# decompressor's seconds under TCG. Optional: exec falls back to vmlinuz.
extract_vmlinux()
{
	local in=$1 out=$2 off
	off=$(LC_ALL=C grep -abo $'\xfd7zXZ\x00' "$in" | head -n 1 | cut -d: -f1)
	[ -n "$off" ] || return 0
	tail -c +$((off + 1)) "$in" | xz -dcq > "$out.tmp" 2>/dev/null
	if file_is_elf "$out.tmp" && readelf -n "$out.tmp" 2>/dev/null | grep -q 'Xen.*0x00000012'; then
		mv "$out.tmp" "$out"
	else
		rm -f "$out.tmp"
	fi
}

# /bin/x, /lib/x ... -> /usr/bin/x, /usr/lib/x: the image is merged-/usr
# like the host, so one copy serves both spellings.
usr_path()
{
	case $1 in
	/bin/* | /sbin/* | /lib/* | /lib64/*) echo "/usr$1" ;;
	*) echo "$1" ;;
	esac
}

# Copy host file SRC (following links) to the same path under ROOT, and every
# shared library it needs (ldd). Libraries already present are skipped.
copy_with_libs()
{
	local root=$1 src=$2 dst lib
	dst=$root$(usr_path "$src")
	if [ ! -e "$dst" ]; then
		mkdir -p "${dst%/*}" && cp -L "$src" "$dst" || return 1
	fi
	# scripts and static binaries have no libraries: ldd fails on them
	{ ldd "$src" 2>/dev/null || true; } | awk '/=> \// { print $3 } $1 ~ /^\// { print $1 }' |
	while read -r lib; do
		dst=$root$(usr_path "$lib")
		[ -e "$dst" ] && continue
		mkdir -p "${dst%/*}" && cp -L "$lib" "$dst" || exit 1
	done
}

# What the base image is made of; a change means a rebuild.
base_recipe()
{
	local kdir=$1
	echo "format $BASE_FORMAT"
	echo "kernel $(ls "$kdir"/*.deb 2>/dev/null | sed 's|.*/||')"
	echo "tools ${GUEST_TOOLS[*]}"
	echo "mods ${GUEST_MODS[*]}"
	echo "libs ${GUEST_LIBS[*]}"
	dpkg-query -W -f='${Package} ${Version}\n' "${HOST_PKGS[@]}" libc6 2>/dev/null
}

build_base()
{
	local kdir=$1 kver=$2 stage kroot deb m p f line n=0
	stage=$(mktemp -d) && kroot=$(mktemp -d) || return 1
	# shellcheck disable=SC2064
	trap "rm -rf '$stage' '$kroot'" RETURN

	deb=$(ls "$kdir"/*.deb | tail -n 1)
	say "building the base image for $kver"
	dpkg-deb --fsys-tarfile "$deb" | tar -x -C "$kroot" "./lib/modules/$kver" ||
		{ say "cannot extract modules from $deb"; return 1; }
	# the package ships no modules.dep: depmod makes it on install
	depmod -b "$kroot" "$kver" || return 1

	mkdir -p "$stage"/{usr/bin,usr/sbin,usr/lib,usr/lib64,dev,proc,sys,tmp,run,root,etc,mnt,var}
	for d in bin sbin lib lib64; do ln -s "usr/$d" "$stage/$d"; done
	ln -s ../run "$stage/var/run"
	ln -s ../tmp "$stage/var/tmp"
	mknod -m 600 "$stage/dev/console" c 5 1 && mknod -m 666 "$stage/dev/null" c 1 3 || return 1

	# busybox for the init script and as a fallback, behind the real tools
	mkdir -p "$stage$BB/bin"
	cp /bin/busybox "$stage$BB/busybox" || return 1
	for p in $(/bin/busybox --list); do ln -s ../busybox "$stage$BB/bin/$p"; done

	for p in "${GUEST_TOOLS[@]}"; do
		f=$(PATH=/usr/sbin:/usr/bin:/sbin:/bin command -v "$p") || { say "no $p on the host"; return 1; }
		copy_with_libs "$stage" "$f" || return 1
	done
	for p in "${GUEST_LIBS[@]}"; do
		f=$(ldconfig -p | awk -v so="$p" '$1 == so && /x86-64/ { print $NF; exit }')
		[ -n "$f" ] || { say "no $p on the host"; return 1; }
		copy_with_libs "$stage" "$f" || return 1
	done
	for f in $(dpkg -L coreutils | grep -E '^/(usr/)?s?bin/.'); do
		[ -f "$f" ] && { copy_with_libs "$stage" "$f" || return 1; }
	done
	# tc's netem distribution tables and iproute2's name tables
	for f in /usr/lib/x86_64-linux-gnu/tc/*.dist; do
		[ -f "$f" ] && { mkdir -p "$stage${f%/*}"; cp "$f" "$stage$f"; }
	done
	[ -d /etc/iproute2 ] && cp -r /etc/iproute2 "$stage/etc/"
	[ -d /usr/share/iproute2 ] && mkdir -p "$stage/usr/share" && cp -r /usr/share/iproute2 "$stage/usr/share/"
	for f in /etc/protocols /etc/services; do [ -f "$f" ] && cp "$f" "$stage$f"; done
	echo 'root:x:0:0:root:/root:/bin/bash' > "$stage/etc/passwd"
	echo 'nobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin' >> "$stage/etc/passwd"
	printf 'root:x:0:\nnogroup:x:65534:\n' > "$stage/etc/group"
	printf '127.0.0.1\tlocalhost\n::1\t\tlocalhost\n' > "$stage/etc/hosts"
	echo tcs-vm > "$stage/etc/hostname"
	printf '/usr/local/lib\n/usr/lib/x86_64-linux-gnu\n' > "$stage/etc/ld.so.conf"
	ldconfig -r "$stage" 2>/dev/null

	# modules and what they depend on, then a modules.dep for just those
	for m in "${GUEST_MODS[@]}"; do
		line=$(modprobe -d "$kroot" -S "$kver" --show-depends "$m" 2>/dev/null) || {
			say "module $m: not in $kver, left out"
			continue
		}
		while read -r p f _; do
			[ "$p" = insmod ] || continue
			p=$stage${f#"$kroot"}
			mkdir -p "${p%/*}" && cp "$f" "$p" || return 1
			n=$((n + 1))
		done <<< "$line"
	done
	for f in modules.order modules.builtin modules.builtin.modinfo; do
		cp "$kroot/lib/modules/$kver/$f" "$stage/usr/lib/modules/$kver/" || return 1
	done
	depmod -b "$stage" "$kver" || return 1

	(cd "$stage" && find . -mindepth 1 | sed 's|^\.||' | sort) > "$kdir/base.manifest.tmp" &&
	# Uncompressed: under TCG the kernel takes ~1 s to gunzip it, and
	# 2.5 times the bytes cost qemu nothing to load.
	(cd "$stage" && find . -mindepth 1 | LC_ALL=C sort | cpio -o -H newc -R 0:0 --quiet) \
		> "$kdir/base.cpio.tmp" || return 1
	mv "$kdir/base.manifest.tmp" "$kdir/base.manifest" &&
	mv "$kdir/base.cpio.tmp" "$kdir/base.cpio" || return 1
	say "base image: $(du -h "$kdir/base.cpio" | cut -f1), $n module files"
}

cmd_prepare()
{
	local force='' pkg kver kdir
	case ${1:-} in
	--force) force=1 ;;
	"") ;;
	*) usage ;;
	esac
	install_host_pkgs
	pkg=$(resolve_kernel_pkg) || die "cannot resolve the kernel package linux-image-amd64 depends on"
	kver=${pkg#linux-image-}
	kdir=$CACHE/$kver
	fetch_kernel "$pkg" "$kdir" || die "cannot fetch $pkg"
	if [ -n "$force" ] || [ ! -s "$kdir/base.cpio" ] ||
	   ! base_recipe "$kdir" | cmp -s - "$kdir/base.stamp"; then
		build_base "$kdir" "$kver" || die "building the base image failed"
		base_recipe "$kdir" > "$kdir/base.stamp"
	fi
	ln -sfn "$kver" "$CACHE/current"
	say "ready: $kdir"
}

# ---- exec ------------------------------------------------------------------

# The guest's PID 1: set up the mounts the tests expect, load modules, run
# the command with bash, report its status and power off.
write_init()
{
	cat > "$1" <<EOF
#!$BB/busybox sh
# tcs-vm init (generated by tests/vm/run.sh)
bb=$BB/busybox
\$bb mount -t proc proc /proc
\$bb mount -t sysfs sysfs /sys
\$bb mount -t devtmpfs devtmpfs /dev
\$bb mkdir -p /dev/pts /dev/shm /sys/fs/bpf
\$bb mount -t devpts devpts /dev/pts
\$bb mount -t tmpfs -o mode=1777 tmpfs /dev/shm
\$bb mount -t tmpfs -o mode=1777 tmpfs /tmp
\$bb mount -t tmpfs -o mode=755 tmpfs /run
\$bb mount -t bpf bpf /sys/fs/bpf
\$bb mount -t debugfs debugfs /sys/kernel/debug 2>/dev/null
\$bb mount -t tracefs tracefs /sys/kernel/tracing 2>/dev/null
\$bb mount -t cgroup2 cgroup2 /sys/fs/cgroup 2>/dev/null
\$bb ln -s /proc/self/fd /dev/fd
\$bb ln -s /proc/self/fd/0 /dev/stdin
\$bb ln -s /proc/self/fd/1 /dev/stdout
\$bb ln -s /proc/self/fd/2 /dev/stderr
\$bb hostname tcs-vm
[ -d /tcs-vm/copy ] && \$bb cp -a /tcs-vm/copy/. /
export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:$BB/bin
export HOME=/root TERM=dumb LANG=C.UTF-8 TCS_VM=1
ip link set lo up
missing=
for m in ${GUEST_MODS[*]}; do
	modprobe -q \$m 2>/dev/null || missing="\$missing \$m"
done
[ -n "\$missing" ] && echo "tcs-vm: modules not loaded:\$missing"
read -r up _ < /proc/uptime
echo
echo "tcs-vm: \$(uname -r) up after \$up s, crng: \$(cat /proc/sys/kernel/random/entropy_avail) bits, clocksource \$(cat /sys/devices/system/clocksource/clocksource0/current_clocksource)"
cd $GUEST_DIR || echo "tcs-vm: no $GUEST_DIR"
/usr/bin/bash /tcs-vm/cmd < /dev/null
rc=\$?
read -r end _ < /proc/uptime
echo
echo "tcs-vm: command took \$(\$bb awk -v a=\$up -v b=\$end 'BEGIN { printf "%.1f", b - a }') s"
echo "$MARK:\$(cat /tcs-vm/nonce):\$rc"
\$bb sync
\$bb poweroff -f
echo o > /proc/sysrq-trigger
EOF
	chmod 755 "$1"
}

# The tree of the second cpio: the project's run-time files, libraries the
# base lacks, the init and the command.
stage_project()
{
	local root=$1 kdir=$2 f rel
	shift 2
	mkdir -p "$root$GUEST_DIR" || return 1
	# one tar for the lot: the fuzz corpora alone are a thousand files,
	# seconds of mkdir and cp each
	(
		cd "$TCS_ROOT" || exit 1
		for f in build/tcshaped build/tcshaped-faults build/tcshapectl build/tcshape.bpf.o; do
			[ -f "$f" ] && echo "$f"
		done
		# test binaries only: no objects, no dependency files
		find build/tests -type f -perm -u+x 2>/dev/null
		# sources too: tests/run.sh finds the binaries from them; docs/
		# for the unit test that checks the examples in it
		find tests conf scripts systemd docs -type f ! -name '*.o' ! -name '*.d' 2>/dev/null |
			grep -v '^tests/vm/'
	) | tar -C "$TCS_ROOT" -c --no-recursion -T - | tar -C "$root$GUEST_DIR" -x || return 1

	# libraries a project binary needs that the base image does not have
	find "$root$GUEST_DIR" -type f -perm -u+x | while read -r f; do
		file_is_elf "$f" || continue
		ldd "$f" 2>/dev/null | awk '/=> \// { print $3 } $1 ~ /^\// { print $1 }'
	done | sort -u | while read -r f; do
		rel=$(usr_path "$f")
		grep -qxF "$rel" "$kdir/base.manifest" && continue
		say "adding $f (not in the base image)"
		mkdir -p "$root${rel%/*}" && cp -L "$f" "$root$rel" || exit 1
	done || return 1

	mkdir -p "$root/tcs-vm"
	write_init "$root/init"
	{
		echo "# generated by tests/vm/run.sh"
		echo ". /tcs-vm/env"
		if [ $# -eq 1 ]; then
			printf '%s\n' "$1"
		else
			printf '%q ' "$@"
			echo
		fi
	} > "$root/tcs-vm/cmd"
}

file_is_elf() { [ "$(head -c 4 "$1" 2>/dev/null)" = $'\x7fELF' ]; }

# base.cpio, NUL padding to a 4-byte boundary (the kernel skips NULs
# between archives but wants each cpio header aligned; needed should the base
# ever be compressed), then the project cpio.
join_initrd()
{
	local base=$1 extra=$2 out=$3 size pad
	size=$(stat -c %s "$base")
	pad=$(( (4 - size % 4) % 4 ))
	{ cat "$base"; head -c "$pad" /dev/zero; cat "$extra"; } > "$out"
}

QEMU_PID=
READER_PID=
WORK=

cleanup()
{
	[ -n "$QEMU_PID" ] && kill "$QEMU_PID" 2>/dev/null
	[ -n "$READER_PID" ] && kill "$READER_PID" 2>/dev/null
	[ -n "$QEMU_PID" ] && wait "$QEMU_PID" 2>/dev/null
	[ -n "$READER_PID" ] && wait "$READER_PID" 2>/dev/null
	QEMU_PID=
	READER_PID=
	[ -n "$WORK" ] && [ -z "${TCS_VM_KEEP:-}" ] && rm -rf "$WORK"
	WORK=
}

cmd_exec()
{
	local timeout=600 envs=() copies=() kdir kver kernel t0 t_boot t1 up took deadline nonce log rc='' status seen='' e cmdline
	while [ $# -gt 0 ]; do
		case $1 in
		--timeout) timeout=${2:?--timeout needs seconds}; shift 2 ;;
		--timeout=*) timeout=${1#*=}; shift ;;
		-e) envs+=("${2:?-e needs NAME=VALUE}"); shift 2 ;;
		--copy) copies+=("${2:?--copy needs a path}"); shift 2 ;;
		--) shift; break ;;
		*) usage ;;
		esac
	done
	[ $# -gt 0 ] || usage
	[[ $timeout =~ ^[0-9]+$ ]] || die "--timeout: not a number of seconds: $timeout"
	[ -n "${V:-}" ] && envs+=("V=$V")
	t0=$(now)

	command -v "$QEMU" >/dev/null || skip "$QEMU not installed (tests/vm/run.sh prepare installs it)"
	"$QEMU" -accel help 2>/dev/null | grep -qx tcg || skip "$QEMU has no TCG accelerator"
	kdir=$CACHE/${TCS_VM_KVER:-current}
	if [ ! -s "$kdir/vmlinuz" ] || [ ! -s "$kdir/base.cpio" ]; then
		[ "$(id -u)" -eq 0 ] || skip "no prepared image in $CACHE and not root to prepare one"
		(cmd_prepare) >&2 || skip "prepare failed"
		kdir=$CACHE/${TCS_VM_KVER:-current}
	fi
	kver=$(basename "$(readlink -f "$kdir")")
	kernel=$kdir/vmlinuz
	[ -s "$kdir/vmlinux" ] && kernel=$kdir/vmlinux

	WORK=$(mktemp -d) || die "mktemp failed"
	trap cleanup EXIT
	trap 'cleanup; exit 130' INT
	trap 'cleanup; exit 143' TERM HUP
	mkdir "$WORK/root"
	nonce=$(head -c 8 /dev/urandom | od -An -tx1 | tr -d ' \n')
	stage_project "$WORK/root" "$kdir" "$@" || die "staging the project tree failed"
	# staged aside: init copies them in place once /tmp and /run are mounted
	for e in "${copies[@]}"; do
		e=$(readlink -f "$e") && [ -e "$e" ] || die "--copy: no such file: $e"
		mkdir -p "$WORK/root/tcs-vm/copy"
		if [ -d "$e" ]; then
			mkdir -p "$WORK/root/tcs-vm/copy${e%/*}" && cp -r "$e" "$WORK/root/tcs-vm/copy$e"
		else
			copy_with_libs "$WORK/root/tcs-vm/copy" "$e"
		fi || die "--copy $e failed"
	done
	echo "$nonce" > "$WORK/root/tcs-vm/nonce"
	for e in "${envs[@]}"; do
		[[ $e =~ ^[A-Za-z_][A-Za-z0-9_]*= ]] || die "-e $e: not NAME=VALUE"
		printf 'export %s=%q\n' "${e%%=*}" "${e#*=}"
	done > "$WORK/root/tcs-vm/env"
	(cd "$WORK/root" && find . -mindepth 1 | LC_ALL=C sort | cpio -o -H newc -R 0:0 --quiet) \
		> "$WORK/project.cpio" || die "cpio failed"
	join_initrd "$kdir/base.cpio" "$WORK/project.cpio" "$WORK/initrd"
	t_boot=$(now)

	# random.trust_cpu: RDRAND (TCG's -cpu max has it) seeds the crng at
	# once, so getrandom() in iperf3 never blocks on an idle guest.
	# tsc=reliable: TCG's TSC is the host's (synchronized, constant rate),
	# but -cpu max does not say constant_tsc, so the kernel would fall back
	# to the HPET, whose every read is an emulated MMIO access under qemu's
	# big lock: slow clocks for fq and for every timestamp.
	cmdline="console=ttyS0 panic=-1 quiet random.trust_cpu=on tsc=reliable rdinit=/init"
	cmdline+=" ${TCS_VM_APPEND:-}"
	log=$WORK/console.log
	# qemu -> fifo -> tee (the log the marker is looked for in) -> stdout,
	# without CRs and without the firmware's terminal resets. The reader
	# ends on the fifo's EOF, so nothing qemu wrote is lost.
	mkfifo "$WORK/console" || die "mkfifo failed"
	tee "$log" < "$WORK/console" |
		sed -u 's/\r//g; s/\x1bc/\n/g; s/\x1b\[[0-9;?]*[A-Za-z]//g' &
	READER_PID=$!
	# shellcheck disable=SC2086 # TCS_VM_QEMU_OPTS: words on purpose
	"$QEMU" -machine pc -accel tcg -cpu max -smp "${TCS_VM_SMP:-2}" -m "${TCS_VM_MEM:-1536}" \
		-nographic -no-reboot -nic none \
		-kernel "$kernel" -initrd "$WORK/initrd" -append "$cmdline" \
		${TCS_VM_QEMU_OPTS:-} < /dev/null > "$WORK/console" 2>&1 &
	QEMU_PID=$!

	deadline=$(( $(date +%s) + timeout ))
	while kill -0 "$QEMU_PID" 2>/dev/null; do
		# nobody reads the console any more (our stdout went away): stop
		# rather than run a guest no one can see to its timeout
		if ! kill -0 "$READER_PID" 2>/dev/null; then
			say "the console reader is gone; stopping qemu"
			[ -z "$seen" ] && rc=125
			kill "$QEMU_PID" 2>/dev/null
			break
		fi
		if [ -z "$seen" ] && grep -aq "$MARK:$nonce:" "$log"; then
			# the guest powers off right after the marker; do not wait long
			seen=1
			deadline=$(( $(date +%s) + 15 ))
		fi
		if [ "$(date +%s)" -ge "$deadline" ]; then
			[ -z "$seen" ] && rc=124
			kill "$QEMU_PID" 2>/dev/null
			break
		fi
		sleep 0.2
	done
	wait "$QEMU_PID"
	status=$?
	QEMU_PID=
	wait "$READER_PID" 2>/dev/null
	READER_PID=
	# the guest may go before its last line is out
	[ -n "$(tail -c 1 "$log")" ] && echo
	t1=$(now)

	if [ -z "$rc" ]; then
		rc=$(tr -d '\r' < "$log" | grep -ao "$MARK:$nonce:[0-9]*" | tail -n 1 | cut -d: -f3)
	fi
	if [ "$rc" = 124 ] && [ -z "$seen" ]; then
		say "timeout: no result within ${timeout} s; qemu killed"
	elif [ -z "$rc" ]; then
		say "the guest ended without reporting a status (qemu exit $status)"
		rc=125
	fi
	up=$(grep -ao 'up after [0-9.]* s' "$log" | head -n 1 | cut -d' ' -f3)
	took=$(grep -ao 'command took [0-9.]* s' "$log" | tail -n 1 | cut -d' ' -f3)
	say "$kver: exit $rc; staging $(secs "$t0" "$t_boot") s, qemu $(secs "$t_boot" "$t1") s" \
		"(guest boot ${up:-?} s, command ${took:-?} s), total $(secs "$t0" "$t1") s"
	return "$rc"
}

# tests/run.sh's tiers inside the vm, summed up under one NAME (default vm)
# so that tests/run.sh on the host counts this as one suite.
cmd_test()
{
	local opts=() name=vm out rc line
	while [ $# -gt 0 ]; do
		case $1 in
		--timeout) opts+=(--timeout "${2:?--timeout needs seconds}"); shift 2 ;;
		--timeout=*) opts+=("$1"); shift ;;
		--name) name=${2:?--name needs a suite name}; shift 2 ;;
		-e) opts+=(-e "${2:?-e needs NAME=VALUE}"); shift 2 ;;
		-*) usage ;;
		*) break ;;
		esac
	done
	[ $# -gt 0 ] || set -- bpf e2e
	out=$(mktemp) || die "mktemp failed"
	# shellcheck disable=SC2064 # $out is fixed now
	trap "rm -f '$out'" EXIT
	(cmd_exec "${opts[@]}" -- bash tests/run.sh "$@") | tee "$out"
	rc=${PIPESTATUS[0]}
	if grep -q '^SKIP vm:' "$out"; then
		line="0 passed, 0 failed, 1 skipped"
	else
		# tests/run.sh's total, the last such line before the marker
		line=$(grep -E '^[0-9]+ passed, [0-9]+ failed, [0-9]+ skipped$' "$out" | tail -n 1)
	fi
	rm -f "$out"
	[ -n "$line" ] && echo "$name: $line"
	return "$rc"
}

case ${1:-} in
prepare) shift; cmd_prepare "$@" ;;
exec) shift; cmd_exec "$@"; exit ;;
test) shift; cmd_test "$@"; exit ;;
*) usage ;;
esac
