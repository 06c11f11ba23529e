// SPDX-License-Identifier: GPL-2.0
/*
 * The pin dir and the classifier in it (pins.h), and why a load failed: the
 * capability or kernel feature that is missing, the usual causes.
 */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <linux/capability.h>
#include <linux/magic.h>

#include "tcshape.skel.h"
#include "clsact_mark.h"
#include "log.h"
#include "pinlock.h"
#include "pins.h"
#include "policy.h"
#include "tcshape_abi.h"

int pins_prepare(const char *dir)
{
	char parent[PATH_MAX], *slash;
	struct statfs fs;

	snprintf(parent, sizeof(parent), "%s", dir);
	slash = strrchr(parent, '/');
	if (slash && slash != parent)
		*slash = '\0';
	else if (slash)
		slash[1] = '\0';
	if (mkdir(dir, 0700) && errno != EEXIST) {
		log_err("pin dir %s: cannot create: %s", dir, strerror(errno));
		return -errno;
	}
	if (statfs(dir, &fs)) {
		log_err("pin dir %s: %s", dir, strerror(errno));
		return -errno;
	}
	if (fs.f_type != BPF_FS_MAGIC) {
		log_err("pin dir %s is not on a bpffs; mount one (mount -t bpf bpf %s) or "
			"choose another --pin-dir",
			dir, parent);
		rmdir(dir);
		return -EINVAL;
	}
	return 0;
}

int pins_lock(const char *dir)
{
	char real[PATH_MAX];
	struct tcs_daemon rec = { 0 };
	__u32 zero = 0;
	int fd, lock;

	lock = pinlock_acquire(dir);
	if (lock == -EWOULDBLOCK) {
		snprintf(real, sizeof(real), "%s/%s", dir, TCS_MAP_DAEMON);
		fd = bpf_obj_get(real);
		if (fd >= 0)
			bpf_map_lookup_elem(fd, &zero, &rec);
		if (fd >= 0)
			close(fd);
		log_err("another tcshaped (pid %u) is running with pin dir %s; refusing to start "
			"a second one there (give each instance its own --pin-dir)",
			rec.pid, dir);
		return -EBUSY;
	}
	if (lock < 0)
		log_err("pin dir %s: lock: %s", dir, strerror(-lock));
	return lock;
}

/* Remove the pins of obj's maps from the pin dir (the maps live on while used). */
static int unpin_all(struct bpf_object *obj, const char *dir)
{
	char path[PATH_MAX];
	struct bpf_map *map;
	int n = 0;

	bpf_object__for_each_map(map, obj)
	{
		snprintf(path, sizeof(path), "%s/%s", dir, bpf_map__name(map));
		n += !unlink(path);
	}
	return n;
}

static bool pins_exist(struct bpf_object *obj, const char *dir)
{
	char path[PATH_MAX];
	struct bpf_map *map;

	bpf_object__for_each_map(map, obj)
	{
		snprintf(path, sizeof(path), "%s/%s", dir, bpf_map__name(map));
		if (!access(path, F_OK))
			return true;
	}
	return false;
}

/*
 * Does every map pinned in dir fit its definition in obj (what libbpf needs
 * to reuse it)? A map that does not fit means an upgrade changed it or
 * settings.max_keys changed: then all pins are set aside together, since
 * ids in one map name entries of the others.
 */
static bool pins_fit(struct bpf_object *obj, const char *dir)
{
	char path[PATH_MAX];
	struct bpf_map *map;
	bool fit = true;

	bpf_object__for_each_map(map, obj)
	{
		struct bpf_map_info info = { 0 };
		__u32 len = sizeof(info);
		int fd;

		snprintf(path, sizeof(path), "%s/%s", dir, bpf_map__name(map));
		fd = bpf_obj_get(path);
		if (fd < 0)
			continue;
		if (bpf_obj_get_info_by_fd(fd, &info, &len) || info.type != bpf_map__type(map) ||
		    info.key_size != bpf_map__key_size(map) ||
		    info.value_size != bpf_map__value_size(map) ||
		    info.max_entries != bpf_map__max_entries(map) ||
		    info.map_flags != bpf_map__map_flags(map)) {
			log_info("pinned map %s does not fit this tcshaped", path);
			fit = false;
		}
		close(fd);
	}
	return fit;
}

static bool have_cap(int cap)
{
	struct __user_cap_header_struct h = { _LINUX_CAPABILITY_VERSION_3, 0 };
	struct __user_cap_data_struct c[2] = { 0 };

	if (syscall(SYS_capget, &h, c))
		return true; /* cannot tell: do not blame it */
	return c[cap / 32].effective & (1u << (cap % 32));
}

/*
 * The verifier refused the classifier (its log is in the debug lines above):
 * say which capability or kernel feature is missing, the usual causes.
 */
static const char *load_diagnose(int err)
{
	static const struct {
		enum bpf_func_id id;
		const char *text;
	} helpers[] = {
		{ BPF_FUNC_loop,
		  "; this kernel lacks the bpf_loop() helper (Linux 5.17 or later needed)" },
		{ BPF_FUNC_skb_load_bytes,
		  "; this kernel lacks bpf_skb_load_bytes() for tc programs" },
		{ BPF_FUNC_ktime_get_ns, "; this kernel lacks bpf_ktime_get_ns() for tc programs" },
	};
	size_t i;

	if (err == -ENOMEM || err == -E2BIG)
		return "; no kernel memory for the maps: lower settings.max_keys, or raise the "
		       "unit's MemoryMax= (the maps are charged to its cgroup; docs/operations.md, "
		       "Memory sizing)";
	if (err != -EACCES && err != -EPERM && err != -EINVAL)
		return "";
	if (libbpf_probe_bpf_prog_type(BPF_PROG_TYPE_SCHED_CLS, NULL) == 0)
		return "; this kernel cannot load tc (sched_cls) BPF programs (CONFIG_NET_CLS_BPF)";
	for (i = 0; i < sizeof(helpers) / sizeof(helpers[0]); i++)
		if (libbpf_probe_bpf_helper(BPF_PROG_TYPE_SCHED_CLS, helpers[i].id, NULL) == 0)
			return helpers[i].text;
	if (!have_cap(CAP_PERFMON) && !have_cap(CAP_SYS_ADMIN))
		return "; the verifier rejected the classifier because this process lacks "
		       "CAP_PERFMON (and CAP_SYS_ADMIN): without it the verifier is stricter "
		       "(Spectre sanitising, no reads of uninitialised stack); grant CAP_PERFMON";
	if (!have_cap(CAP_BPF) && !have_cap(CAP_SYS_ADMIN))
		return "; this process lacks CAP_BPF (and CAP_SYS_ADMIN)";
	if (access("/sys/kernel/btf/vmlinux", F_OK))
		return "; the verifier rejected the classifier (run with -vv for its log); this "
		       "kernel has no BTF (CONFIG_DEBUG_INFO_BTF)";
	return "; the verifier rejected the classifier: run with -vv for its log";
}

/*
 * tcs_rule_stats' size: the pinned array's, if there is one (an earlier
 * build's or another budget's: every reader takes the boundary from the map,
 * so a size is no reason to set limiter state aside), else a budget's worth
 * for this host's CPUs (tcshape_abi.h).
 */
static __u32 stat_slots(const char *dir)
{
	struct bpf_map_info info = { 0 };
	__u32 len = sizeof(info);
	char path[PATH_MAX];
	int fd;

	snprintf(path, sizeof(path), "%s/%s", dir, TCS_MAP_RULE_STATS);
	fd = bpf_obj_get(path);
	if (fd >= 0) {
		if (bpf_obj_get_info_by_fd(fd, &info, &len))
			info.max_entries = 0;
		close(fd);
		if (info.max_entries)
			return info.max_entries;
	}
	return TCS_STAT_SLOTS_ARRAY(libbpf_num_possible_cpus());
}

/*
 * Pins that do not fit are set aside and fresh maps made: the old filters
 * keep their old maps until replaced, so enforcement never stops, but state
 * and counters start over.
 */
int pins_load(const char *dir, const struct policy *p, struct tcshape_bpf **skel, bool *earlier)
{
	LIBBPF_OPTS(bpf_object_open_opts, oo, .pin_root_path = dir);
	struct tcshape_bpf *s;
	int err;

	*earlier = false;
	*skel = s = tcshape_bpf__open_opts(&oo);
	if (!s) {
		err = -errno;
		log_err("open BPF object: %s", strerror(-err));
		return err;
	}
	bpf_map__set_max_entries(s->maps.tcs_flows, p->settings.max_keys);
	bpf_map__set_max_entries(s->maps.tcs_keys, TCS_KEYS_ENTRIES(p->settings.max_keys));
	bpf_map__set_max_entries(s->maps.tcs_socks, TCS_SOCKS_ENTRIES(p->settings.max_keys));
	bpf_map__set_max_entries(s->maps.tcs_rule_stats, stat_slots(dir));
	if (pins_fit(s->obj, dir)) {
		/* pins that fit are an earlier instance's datapath: a failed start leaves it */
		*earlier = pins_exist(s->obj, dir);
	} else {
		unpin_all(s->obj, dir);
		bpf_map__set_max_entries(s->maps.tcs_rule_stats, stat_slots(dir));
		log_warn("maps pinned in %s do not fit this tcshaped (upgraded, or "
			 "settings.max_keys changed): starting with fresh maps; limiter state and "
			 "counters start over",
			 dir);
	}
	err = tcshape_bpf__load(s);
	if (err)
		log_err("load BPF object: %s%s", strerror(-err), load_diagnose(err));
	return err;
}

void pins_remove(struct tcshape_bpf *skel, const char *dir)
{
	unpin_all(skel->obj, dir);
	clsact_mark_clear_all(dir);
	rmdir(dir);
}
