// SPDX-License-Identifier: GPL-2.0
/*
 * The daemon's state: the loaded classifier, the policy in force, and the tc
 * hooks we attached. Everything that changes the kernel goes through here,
 * in the order file -> policy -> compiled tables -> maps -> tc hooks.
 */
#include <errno.h>
#include <fnmatch.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/syscall.h>
#include <sys/utsname.h>
#include <time.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <linux/capability.h>
#include <linux/magic.h>
#include <linux/rtnetlink.h>

#include "tcshape.skel.h"
#include "clsact_mark.h"
#include "compile.h"
#include "census.h"
#include "daemon.h"
#include "fault.h"
#include "link.h"
#include "log.h"
#include "maps.h"
#include "metrics.h"
#include "pinlock.h"
#include "policy.h"
#include "sockpace.h"
#include "tc.h"

enum { FQ_MISSING, FQ_PRESENT, FQ_MAYBE };

/* A root qdisc we replaced with fq, and what to put back. */
struct root {
	uint32_t ifindex;
	struct tc_root old;
	struct tc_fq fq;
};

/* A tc hook our filter is on. */
struct hook {
	uint32_t ifindex;
	int dir;
	uint32_t prio;
	bool created_clsact;
	bool stale;		/* found from an earlier instance: its program is old */
	bool check;		/* a tc event touched its interface: verify the filter */
	char ifname[IF_NAMESIZE];
};

struct daemon {
	struct daemon_opts o;
	struct tcshape_bpf *skel;
	struct maps *maps;
	struct tc *tc;
	struct tc *tc_mon;		/* tc events: our filters deleted by others */
	struct link_watch *links;
	struct policy *policy;		/* in force */
	bool dirty;			/* links or tc changed: reconcile */
	struct tcs_daemon rec;		/* what tcshapectl status shows */
	char errors[1024];		/* errors of the reload being tried */
	bool metrics_failed;		/* warned once until it works again */
	int fq;				/* FQ_*: can this kernel pace */
	bool leave_datapath;		/* stop without removing anything (failed adoption) */
	int lock;			/* the pin dir, flocked: one daemon per pin dir */
	char filter_name[256];		/* whose filters are ours: see pin_dir_lock() */
	struct hook *hooks;
	size_t n_hooks;
	struct root *roots;
	size_t n_roots;
	struct sockpace *sp;		/* socket pacing, when on and the host offers it */
	struct census *census;		/* limiter keys by rule, for the metrics */
	char status[512];
};

static const char *dir_name(int dir)
{
	return dir == TCS_DIR_INGRESS ? "ingress" : "egress";
}

/* Policy errors: to the log, and the first ones kept for tcshapectl status. */
static void err_to_log(void *ctx, const char *msg)
{
	struct daemon *d = ctx;

	log_err("%s", msg);
	if (d) {
		size_t used = strlen(d->errors);

		snprintf(d->errors + used, sizeof(d->errors) - used, "%s%s", used ? "\n" : "", msg);
	}
}

/* ---- the policy file ------------------------------------------------------- */

/*
 * We run as root and do what the file says: like sshd with its config, refuse
 * a file that someone other than root (or us) owns or that group or others
 * may write, and a directory on its path that they could swap it in. A
 * world-writable directory with the sticky bit (/tmp) only lets owners
 * replace their own entries, so it passes.
 */
static int path_entry_trusted(struct daemon *d, const char *policy, const char *what,
			      const struct stat *st)
{
	char msg[PATH_MAX + 256];
	bool dir = S_ISDIR(st->st_mode);

	if (st->st_uid != 0 && st->st_uid != geteuid())
		snprintf(msg, sizeof(msg), "%s: refusing to read: %s%s is owned by uid %u, not root",
			 policy, dir ? "directory " : "", what, (unsigned)st->st_uid);
	else if ((st->st_mode & (S_IWGRP | S_IWOTH)) && !(dir && (st->st_mode & S_ISVTX)))
		snprintf(msg, sizeof(msg),
			 "%s: refusing to read: %s%s is writable by %s (mode %04o); chmod go-w %s",
			 policy, dir ? "directory " : "", what,
			 st->st_mode & S_IWOTH ? "others" : "its group", st->st_mode & 07777, what);
	else
		return 0;
	err_to_log(d, msg);
	return -EPERM;
}

static int policy_trusted(struct daemon *d, const char *path)
{
	char real[PATH_MAX], *slash;
	struct stat st;
	int err;

	if (!realpath(path, real) || stat(real, &st))
		return 0;	/* policy_load says what is wrong with it */
	err = path_entry_trusted(d, path, real, &st);
	while (!err && (slash = strrchr(real, '/'))) {
		slash[slash == real] = '\0';
		if (stat(real, &st))
			break;
		err = path_entry_trusted(d, path, real, &st);
		if (slash == real)
			break;
	}
	return err;
}

/* ---- pin dir -------------------------------------------------------------- */

/* The pin dir must be on a bpffs; create it (one level) if missing. */
static int pin_dir_prepare(const char *dir)
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

/*
 * One daemon per pin dir: a second one would adopt the first one's filters,
 * sweep its rulesets and, on stop, remove them. Held until exit. Whose our
 * filters are follows from the pin dir too: "tcshaped" for the default one
 * (the name every earlier tcshaped used), "tcshaped:DIR" for any other, so
 * instances with different pin dirs leave each other's filters alone.
 */
static int pin_dir_lock(struct daemon *d)
{
	char real[PATH_MAX];
	struct tcs_daemon rec = { 0 };
	__u32 zero = 0;
	int fd;

	d->lock = pinlock_acquire(d->o.pin_dir);
	if (d->lock == -EWOULDBLOCK) {
		d->leave_datapath = true;	/* it is the other daemon's */
		snprintf(real, sizeof(real), "%s/%s", d->o.pin_dir, TCS_MAP_DAEMON);
		fd = bpf_obj_get(real);
		if (fd >= 0)
			bpf_map_lookup_elem(fd, &zero, &rec);
		if (fd >= 0)
			close(fd);
		log_err("another tcshaped (pid %u) is running with pin dir %s; refusing to start "
			"a second one there (give each instance its own --pin-dir)",
			rec.pid, d->o.pin_dir);
		return -EBUSY;
	}
	if (d->lock < 0) {
		log_err("pin dir %s: lock: %s", d->o.pin_dir, strerror(-d->lock));
		return d->lock;
	}
	if (!realpath(d->o.pin_dir, real))
		snprintf(real, sizeof(real), "%s", d->o.pin_dir);
	if (!strcmp(real, TCS_DEFAULT_PIN_DIR))
		snprintf(d->filter_name, sizeof(d->filter_name), "%s", TCS_FILTER_NAME);
	else if ((size_t)snprintf(d->filter_name, sizeof(d->filter_name), "%s:%s",
				  TCS_FILTER_NAME, real) >= sizeof(d->filter_name)) {
		log_err("pin dir %s: path too long (at most %zu characters)", real,
			sizeof(d->filter_name) - sizeof(TCS_FILTER_NAME) - 1);
		return -ENAMETOOLONG;
	}
	return 0;
}

/* ---- bindings: which ruleset each present interface and direction uses ---- */

static int bindings_for(struct daemon *d, const struct policy *p, const struct compiled *c,
			struct binding **out, size_t *n_out)
{
	struct link_info *links = NULL;
	struct binding *b = NULL;
	size_t n_links = 0, n = 0, i;
	int err, dir;

	err = link_watch_snapshot(d->links, &links, &n_links);
	if (err)
		return err;
	b = calloc(n_links * TCS_DIR_NR + 1, sizeof(*b));
	if (!b) {
		free(links);
		return -ENOMEM;
	}
	for (i = 0; i < n_links; i++) {
		const struct pol_iface *pi = policy_iface_for(p, links[i].name);

		if (!pi)
			continue;
		for (dir = 0; dir < TCS_DIR_NR; dir++) {
			const struct cmp_ruleset *rs = compile_ruleset(c, (size_t)(pi - p->ifaces), dir);

			if (!rs)
				continue;
			b[n].ifindex = (uint32_t)links[i].ifindex;
			b[n].dir = dir;
			b[n].rs = (size_t)(rs - c->rs);
			b[n].if_flags = link_is_l3(links[i].arptype) ? TCS_IF_L3 : 0;
			n++;
		}
	}
	free(links);
	*out = b;
	*n_out = n;
	return 0;
}

/* ---- tc hooks ---------------------------------------------------------------- */

static struct hook *hook_find(struct daemon *d, uint32_t ifindex, int dir)
{
	size_t i;

	for (i = 0; i < d->n_hooks; i++)
		if (d->hooks[i].ifindex == ifindex && d->hooks[i].dir == dir)
			return &d->hooks[i];
	return NULL;
}

static int prog_fd(struct daemon *d, int dir)
{
	return bpf_program__fd(dir == TCS_DIR_INGRESS ? d->skel->progs.tcs_ingress
						      : d->skel->progs.tcs_egress);
}

static int slot_free(struct daemon *d, uint32_t ifindex, int dir, uint32_t prio);

/* Put our filter on the hook; force: even if we believe it is there. */
static int hook_attach(struct daemon *d, uint32_t ifindex, int dir, uint32_t prio, bool force)
{
	struct tc_filter f = { .ifindex = ifindex, .dir = dir, .prio = prio,
			       .handle = TCS_FILTER_HANDLE };
	struct hook *h = hook_find(d, ifindex, dir), *nh;
	bool created = false;
	int err;

	if (h && h->prio == prio && !h->stale && !force)
		return 0;
	err = tc_clsact_ensure(d->tc, ifindex, &created);
	if (err)
		return err;
	if (created)
		clsact_mark_set(d->o.pin_dir, ifindex);
	/* on a filter of ours (an earlier instance's), this swaps the program in place */
	err = slot_free(d, ifindex, dir, prio);
	if (err)
		return err;
	err = tc_filter_attach(d->tc, &f, prog_fd(d, dir), d->filter_name);
	if (err)
		return err;
	if (h && h->stale) {
		h->stale = false;
		log_at(LOG_INFO, h->ifname, NULL, "adopted %s filter on %s: program replaced in place",
		       dir_name(dir),
			 h->ifname);
	}
	if (h && h->prio != prio) {
		/* priority changed: the new filter is live, drop the old one */
		struct tc_filter old = f;

		old.prio = h->prio;
		tc_filter_detach(d->tc, &old);
		h->prio = prio;
	}
	if (h)
		return 0;
	nh = realloc(d->hooks, (d->n_hooks + 1) * sizeof(*nh));
	if (!nh)
		return -ENOMEM;
	d->hooks = nh;
	h = &d->hooks[d->n_hooks++];
	memset(h, 0, sizeof(*h));
	h->ifindex = ifindex;
	h->dir = dir;
	h->prio = prio;
	h->created_clsact = created;
	if (!if_indextoname(ifindex, h->ifname))
		snprintf(h->ifname, sizeof(h->ifname), "#%u", ifindex);
	log_at(LOG_INFO, h->ifname, NULL, "attached %s on %s (pref %u%s)", dir_name(dir), h->ifname,
	       prio,
		 created ? ", created clsact" : "");
	return 0;
}

/* Is another hook of ours on the same interface (the other direction)? */
static bool hook_find_other(struct daemon *d, const struct hook *h)
{
	size_t i;

	for (i = 0; i < d->n_hooks; i++)
		if (&d->hooks[i] != h && d->hooks[i].ifindex == h->ifindex)
			return true;
	return false;
}

static int count_filter(const struct tc_filter_info *fi, void *ctx)
{
	(*(int *)ctx)++;
	return 0;
}

/* Remove our filter; remove clsact too if we created it and nobody else uses it. */
static void hook_detach(struct daemon *d, struct hook *h)
{
	struct tc_filter f = { .ifindex = h->ifindex, .dir = h->dir, .prio = h->prio,
			       .handle = TCS_FILTER_HANDLE };
	char name[IF_NAMESIZE];
	int err, others = 0, dir;

	if (!if_indextoname(h->ifindex, name)) {
		/* the device took its hooks with it */
		if (!hook_find_other(d, h))
			clsact_mark_clear(d->o.pin_dir, h->ifindex);
		log_at(LOG_INFO, h->ifname, NULL, "%s is gone; released its %s hook", h->ifname,
		       dir_name(h->dir));
		*h = d->hooks[--d->n_hooks];
		return;
	}
	err = tc_filter_detach(d->tc, &f);
	if (err && err != -ENOENT && err != -ENODEV)
		log_at(LOG_WARNING, h->ifname, NULL, "detach %s on %s: %s", dir_name(h->dir), h->ifname,
		       strerror(-err));
	else
		log_at(LOG_INFO, h->ifname, NULL, "detached %s on %s", dir_name(h->dir), h->ifname);
	fault_point("detached");
	err = 0;
	if (h->created_clsact && !hook_find_other(d, h)) {
		/* a dump that fails says nothing: keep the clsact, it may hold others' filters */
		for (dir = 0; dir < TCS_DIR_NR && !err; dir++)
			err = tc_filter_list(d->tc, h->ifindex, dir, count_filter, &others);
		if (err)
			log_at(LOG_WARNING, h->ifname, NULL,
			       "kept the clsact qdisc we created on %s: cannot list its filters: %s",
			       h->ifname, strerror(-err));
		else if (!others)
			tc_clsact_delete(d->tc, h->ifindex);
	}
	if (!hook_find_other(d, h))
		clsact_mark_clear(d->o.pin_dir, h->ifindex);
	*h = d->hooks[--d->n_hooks];
}

/* A filter of this instance's (its pin dir's), now or left by an earlier run. */
static bool is_ours(const struct daemon *d, const struct tc_filter_info *fi)
{
	return fi->handle == TCS_FILTER_HANDLE && !strcmp(fi->kind, "bpf") &&
	       !strcmp(fi->name, d->filter_name);
}

struct find_ours {
	const struct daemon *d;
	uint32_t prio;
	bool found;
};

static int find_ours(const struct tc_filter_info *fi, void *ctx)
{
	struct find_ours *fo = ctx;

	if (fi->prio == fo->prio && is_ours(fo->d, fi)) {
		fo->found = true;
		return 1;
	}
	return 0;
}

/* Is (prio, our handle) on the hook taken by a filter not ours? Then a replace would take it over. */
static int find_foreign(const struct tc_filter_info *fi, void *ctx)
{
	struct find_ours *fo = ctx;

	if (fi->prio != fo->prio || fi->handle != TCS_FILTER_HANDLE || is_ours(fo->d, fi))
		return 0;
	log_err("pref %u handle %u is taken by %s filter %s%s; not replacing it (another tcshaped "
		"on another --pin-dir? give one of them another settings.tc_priority)",
		fi->prio, fi->handle, fi->kind, fi->name[0] ? "named " : "", fi->name);
	return -EBUSY;
}

static int slot_free(struct daemon *d, uint32_t ifindex, int dir, uint32_t prio)
{
	struct find_ours fo = { .d = d, .prio = prio };
	int err = tc_filter_list(d->tc, ifindex, dir, find_foreign, &fo);

	return err == -ENOENT || err == -EINVAL ? 0 : err;
}

/* Someone may have deleted our filter or the clsact under it: put them back. */
static void hook_verify(struct daemon *d, struct hook *h)
{
	struct find_ours fo = { .d = d, .prio = h->prio };
	int err;

	h->check = false;
	err = tc_filter_list(d->tc, h->ifindex, h->dir, find_ours, &fo);
	if ((err && err != -ENOENT && err != -EINVAL) || fo.found)
		return;
	err = hook_attach(d, h->ifindex, h->dir, h->prio, true);
	if (err)
		log_at(LOG_ERR, h->ifname, NULL, "restore %s filter on %s: %s", dir_name(h->dir),
		       h->ifname, strerror(-err));
	else
		log_at(LOG_WARNING, h->ifname, NULL,
		       "restored %s filter on %s: it (or its clsact qdisc) had been deleted",
			 dir_name(h->dir), h->ifname);
}

/*
 * Filters of ours an earlier instance left (the daemon was killed, or stopped
 * with on_stop: keep): remember them so they are replaced in place, or
 * removed if the policy no longer wants them.
 */
struct adopt_ctx {
	struct daemon *d;
	uint32_t ifindex;
	int dir;
	const char *ifname;
};

static int adopt_one(const struct tc_filter_info *fi, void *ctx)
{
	struct adopt_ctx *a = ctx;
	struct hook *nh;

	if (!is_ours(a->d, fi) || hook_find(a->d, a->ifindex, a->dir))
		return 0;
	nh = realloc(a->d->hooks, (a->d->n_hooks + 1) * sizeof(*nh));
	if (!nh)
		return -ENOMEM;
	a->d->hooks = nh;
	nh = &a->d->hooks[a->d->n_hooks++];
	memset(nh, 0, sizeof(*nh));
	nh->ifindex = a->ifindex;
	nh->dir = a->dir;
	nh->prio = fi->prio;
	nh->stale = true;
	/* the earlier instance's clsact is ours to remove if it made it */
	nh->created_clsact = clsact_mark_test(a->d->o.pin_dir, a->ifindex);
	snprintf(nh->ifname, sizeof(nh->ifname), "%s", a->ifname);
	return 0;
}

static void hooks_adopt(struct daemon *d)
{
	struct link_info *links = NULL;
	size_t n = 0, i;
	int dir;

	if (link_watch_snapshot(d->links, &links, &n))
		return;
	for (i = 0; i < n; i++)
		for (dir = 0; dir < TCS_DIR_NR; dir++) {
			struct adopt_ctx a = { d, (uint32_t)links[i].ifindex, dir, links[i].name };

			tc_filter_list(d->tc, a.ifindex, dir, adopt_one, &a);
		}
	free(links);
	if (d->n_hooks)
		log_info("found %zu filters of an earlier instance; adopting them", d->n_hooks);
}

/*
 * Attach where the bindings need us (replacing stale programs), verify hooks
 * a tc event touched (or all, with check_all), detach where no longer needed.
 */
static int hooks_sync(struct daemon *d, const struct binding *b, size_t nb, uint32_t prio,
		      bool check_all)
{
	size_t i;
	int err, ret = 0;

	for (i = 0; i < d->n_hooks; i++)
		if (check_all || d->hooks[i].check)
			hook_verify(d, &d->hooks[i]);
	for (i = 0; i < nb; i++) {
		err = hook_attach(d, b[i].ifindex, b[i].dir, prio, false);
		if (err) {
			char name[IF_NAMESIZE] = "";

			if_indextoname(b[i].ifindex, name);
			log_at(LOG_ERR, name, NULL, "attach %s on %s: %s", dir_name(b[i].dir), name,
			       strerror(-err));
			ret = ret ? ret : err;
		}
	}
	for (i = d->n_hooks; i-- > 0;) {
		size_t j;

		for (j = 0; j < nb; j++)
			if (b[j].ifindex == d->hooks[i].ifindex && b[j].dir == d->hooks[i].dir)
				break;
		if (j == nb)
			hook_detach(d, &d->hooks[i]);
	}
	return ret;
}

/* ---- policy in force ----------------------------------------------------------- */

static size_t policy_rules(const struct policy *p)
{
	size_t i, n = 0;

	for (i = 0; i < p->n_ifaces; i++)
		n += p->ifaces[i].dir[POL_INGRESS].n + p->ifaces[i].dir[POL_EGRESS].n;
	return n;
}

/* ---- the root qdisc: fq where rules pace ------------------------------------------ */

/*
 * Can this kernel pace, i.e. does it have sch_fq: loaded, built in, or a
 * module the kernel loads itself when the qdisc is first asked for? When
 * /lib/modules cannot be read (the unit's ProtectKernelModules hides it) the
 * answer is "maybe", taken as yes: the first fq we ask for settles it.
 */
static int host_fq(void)
{
	static const char *const lists[] = { "modules.builtin", "modules.dep" };
	char path[PATH_MAX], line[256];
	bool readable = false, found = false;
	struct utsname u;
	size_t i;
	FILE *f;

	if (!access("/sys/module/sch_fq", F_OK))
		return FQ_PRESENT;
	if (uname(&u))
		return FQ_MAYBE;
	for (i = 0; i < sizeof(lists) / sizeof(lists[0]) && !found; i++) {
		snprintf(path, sizeof(path), "/lib/modules/%s/%s", u.release, lists[i]);
		f = fopen(path, "r");
		if (!f)
			continue;
		readable = true;
		while (!found && fgets(line, sizeof(line), f))
			found = strstr(line, "/sch_fq.ko") != NULL;
		fclose(f);
	}
	return found ? FQ_PRESENT : readable ? FQ_MISSING : FQ_MAYBE;
}

/* fq sized for what the entry's pace rules may queue: rate x max_delay. */
static void fq_params(const struct pol_iface *pi, struct tc_fq *fq)
{
	uint64_t pkts = 0, delay = 0;
	size_t r;

	for (r = 0; r < pi->dir[POL_EGRESS].n; r++) {
		const struct pol_rule *rule = &pi->dir[POL_EGRESS].v[r];
		uint64_t q;

		if (rule->action != POL_ACT_PACE)
			continue;
		q = (uint64_t)((unsigned __int128)rule->rate_bps * rule->max_delay_ns /
			       8000000000ull / 1514) + 1;
		pkts = q > pkts ? q : pkts;
		delay = rule->max_delay_ns > delay ? rule->max_delay_ns : delay;
	}
	pkts *= 2;
	fq->flow_limit = pkts < 100 ? 100 : pkts > 65536 ? 65536 : (uint32_t)pkts;
	fq->limit = fq->flow_limit * 100 > 1000000 ? 1000000 : fq->flow_limit * 100;
	if (fq->limit < 10000)
		fq->limit = 10000;
	fq->horizon_us = tc_fq_horizon_us(delay);
}

static struct root *root_find(struct daemon *d, uint32_t ifindex)
{
	size_t i;

	for (i = 0; i < d->n_roots; i++)
		if (d->roots[i].ifindex == ifindex)
			return &d->roots[i];
	return NULL;
}

static void root_restore(struct daemon *d, struct root *r)
{
	char name[IF_NAMESIZE];

	if (if_indextoname(r->ifindex, name)) {
		if (!tc_root_restore(d->tc, r->ifindex, &r->old))
			log_at(LOG_INFO, name, NULL, "restored root qdisc %s on %s",
			       r->old.kind[0] ? r->old.kind : "default",
				 name);
	}
	*r = d->roots[--d->n_roots];
}

/* What roots_sync() changed, so that a reload failing later can put it back. */
struct root_undo {
	enum { UNDO_ADDED, UNDO_CHANGED, UNDO_RESTORED } what;
	struct root r;		/* as it was before */
	unsigned int txqs;
};

struct roots_journal {
	struct root_undo *v;
	size_t n;
};

static void journal_add(struct roots_journal *j, int what, const struct root *r,
			unsigned int txqs)
{
	struct root_undo *nv;

	if (!j)
		return;
	nv = realloc(j->v, (j->n + 1) * sizeof(*nv));
	if (!nv) {
		log_warn("out of memory: a failed reload may leave a root qdisc changed");
		return;
	}
	j->v = nv;
	j->v[j->n].what = what;
	j->v[j->n].r = *r;
	j->v[j->n++].txqs = txqs;
}

/* Put the root qdiscs back as they were before this attempt, newest change first. */
static void roots_undo(struct daemon *d, struct roots_journal *j)
{
	while (j->n) {
		struct root_undo *u = &j->v[--j->n];
		struct root *r = root_find(d, u->r.ifindex), *nr;

		switch (u->what) {
		case UNDO_ADDED:
			if (r)
				root_restore(d, r);
			break;
		case UNDO_CHANGED:
			if (r && !tc_root_set_fq(d->tc, u->r.ifindex, u->txqs, &u->r.fq))
				r->fq = u->r.fq;
			break;
		case UNDO_RESTORED:
			if (tc_root_set_fq(d->tc, u->r.ifindex, u->txqs, &u->r.fq))
				break;
			nr = realloc(d->roots, (d->n_roots + 1) * sizeof(*nr));
			if (!nr)
				break;
			d->roots = nr;
			d->roots[d->n_roots++] = u->r;
			break;
		}
	}
	free(j->v);
	j->v = NULL;
}

/*
 * May we put fq at this root? With manage_root_qdisc unset only over the
 * kernel's default root (handle 0: nobody configured it): an operator's own
 * root (an HTB tree, say) is theirs unless manage_root_qdisc is true.
 */
static bool root_may_replace(struct daemon *d, const struct policy *p, const char *ifname,
			     const struct tc_root *cur)
{
	char msg[320];

	if (p->settings.manage_root_qdisc == POL_ROOT_ANY ||
	    (p->settings.manage_root_qdisc == POL_ROOT_KERNEL_DEFAULT && !cur->handle))
		return true;
	if (p->settings.manage_root_qdisc == POL_ROOT_NEVER)
		snprintf(msg, sizeof(msg),
			 "%s: pace rules need fq at the root, but the root qdisc is %s and "
			 "settings.manage_root_qdisc is false",
			 ifname, cur->kind);
	else
		snprintf(msg, sizeof(msg),
			 "%s: pace rules need fq at the root, but the root qdisc is %s %x: that "
			 "someone configured; tcshaped replaces only the kernel's default root "
			 "unless settings.manage_root_qdisc is true (or give these rules action: drop)",
			 ifname, cur->kind, cur->handle >> 16);
	err_to_log(d, msg);
	return false;
}

/*
 * Every interface with pace rules on egress gets fq at its root (unless a
 * pacing root is there already); the root it had is remembered and put back
 * when it no longer needs fq. A root we may not replace (root_may_replace)
 * makes it return -EINVAL before anything is changed, and the caller
 * refuses. What it changes goes into j (if given), for roots_undo().
 */
static int roots_sync(struct daemon *d, const struct policy *p, const struct compiled *c,
		      const struct binding *b, size_t nb, struct roots_journal *j)
{
	struct link_info *links = NULL;
	size_t n_links = 0, i, k;
	int err, ret = 0, pass;

	err = link_watch_snapshot(d->links, &links, &n_links);
	if (err)
		return err;
	/* pass 0 only checks, pass 1 changes: a refusal changes nothing */
	for (pass = 0; pass < 2 && !ret; pass++)
	for (i = 0; i < n_links; i++) {
		const struct pol_iface *pi = NULL;
		uint32_t ifindex = (uint32_t)links[i].ifindex;
		struct root *r = root_find(d, ifindex), *nr;
		bool fresh = false;
		struct tc_root cur;
		struct tc_fq fq;

		for (k = 0; k < nb; k++)
			if (b[k].ifindex == ifindex && b[k].dir == TCS_DIR_EGRESS)
				pi = &p->ifaces[c->rs[b[k].rs].iface];
		if (!pi || !policy_iface_paces(pi)) {
			if (r && pass) {
				journal_add(j, UNDO_RESTORED, r, links[i].txqs);
				root_restore(d, r);
			}
			continue;
		}
		if (tc_root_get(d->tc, ifindex, &cur))
			continue;
		fq_params(pi, &fq);
		if (cur.paces && (!r || r->fq.flow_limit == fq.flow_limit))
			continue;
		if (!pass) {
			if (!r && !root_may_replace(d, p, links[i].name, &cur))
				ret = -EINVAL;
			continue;
		}
		if (!r) {
			nr = realloc(d->roots, (d->n_roots + 1) * sizeof(*nr));
			if (!nr) {
				ret = -ENOMEM;
				break;
			}
			d->roots = nr;
			r = &d->roots[d->n_roots++];
			r->ifindex = ifindex;
			r->old = cur;
			fresh = true;
		} else {
			journal_add(j, UNDO_CHANGED, r, links[i].txqs);
		}
		r->fq = fq;
		err = tc_root_set_fq(d->tc, ifindex, links[i].txqs, &fq);
		if (err && fresh) {
			/* half done (mq without fq under it): put back what was there */
			tc_root_restore(d->tc, ifindex, &r->old);
			d->n_roots--;
		} else if (fresh) {
			journal_add(j, UNDO_ADDED, r, links[i].txqs);
		}
		if (err == -ENOENT) {
			/* "Specified qdisc kind is unknown": no fq in this kernel */
			log_warn("%s: the kernel has no fq qdisc (sch_fq) after all", links[i].name);
			d->fq = FQ_MISSING;
			ret = err;
			break;
		}
		if (err) {
			ret = err;
			continue;
		}
		log_at(LOG_INFO, links[i].name, NULL,
		       "%s: root qdisc %s replaced by %s for pacing (flow_limit %u); put back "
			 "on stop",
			 links[i].name, r->old.kind[0] ? r->old.kind : "default",
			 links[i].txqs > 1 ? "mq + fq" : "fq", fq.flow_limit);
	}
	free(links);
	return ret;
}

/* Warn once per interface entry whose pace rules police because the kernel has no fq. */
static void warn_fallbacks(const struct policy *p)
{
	size_t i;

	for (i = 0; i < p->n_ifaces; i++)
		if (p->ifaces[i].pace_fell_back)
			log_at(LOG_WARNING, p->ifaces[i].name, NULL,
			       "%s: this kernel has no fq qdisc (sch_fq), so its egress rules police "
				 "(drop over the limit) instead of pacing; settings.pace_fallback: "
				 "refuse makes this an error",
				 p->ifaces[i].name);
}

/*
 * Compile p and put it in force: maps first (atomic), then the tc hooks.
 * Once the maps hold it, p is in force: an interface whose hook cannot be
 * attached (an "ingress" qdisc in the way, say) is logged and retried by
 * the next reconcile, it does not make the policy fail.
 */
static int apply(struct daemon *d, struct policy *p)
{
	struct roots_journal j = { 0 };
	struct binding *b = NULL;
	struct compiled *c;
	bool can_pace = d->fq != FQ_MISSING;
	size_t nb = 0;
	int err;

again:
	err = policy_settle_pace(p, can_pace, err_to_log, d);
	if (err)
		return err;
	err = compile_policy(p, maps_current(d->maps), &c, err_to_log, d);
	if (err)
		return err;
	err = bindings_for(d, p, c, &b, &nb);
	if (err) {
		log_err("list interfaces: %s", strerror(-err));
		compile_free(c);
		return err;
	}
	err = roots_sync(d, p, c, b, nb, &j);
	if (err == -ENOENT && can_pace && d->fq == FQ_MISSING) {
		/* the kernel said it has no fq after all: settle again, police */
		compile_free(c);
		free(b);
		can_pace = false;
		goto again;
	}
	fault_point("roots");
	if (!err) {
		err = maps_apply(d->maps, c, b, nb);
		if (err && !d->errors[0])	/* STATUS= says what failed, not just errno */
			snprintf(d->errors, sizeof(d->errors),
				 "publishing the policy to the maps: %s; nothing of it was kept",
				 strerror(-err));
	}
	if (err) {
		/* refused: the roots as they were, too */
		roots_undo(d, &j);
		compile_free(c);
		free(b);
		return err;
	}
	free(j.v);
	warn_fallbacks(p);
	hooks_sync(d, b, nb, p->settings.tc_priority, false);
	fault_point("hooks");
	free(b);
	return 0;
}

/*
 * Socket pacing follows the policy in force: on or off as settings say, and
 * one pass over the local sockets so that those already connected get
 * their caps changed (or let go) now, not at their next ACK.
 */
static void sockets_sync(struct daemon *d)
{
	int n;

	if (!d->policy->settings.socket_pacing) {
		if (d->sp)
			log_info("socket pacing: off (settings.socket_pacing)");
		sockpace_close(d->sp, true, d->o.pin_dir);
		d->sp = NULL;
		return;
	}
	if (!d->sp)
		sockpace_open(d->skel, d->o.pin_dir,
			      TCS_SOCKS_ENTRIES(d->policy->settings.max_keys) / 2, &d->sp);
	if (!d->sp)
		return;
	n = sockpace_pass(d->sp);
	if (n < 0)
		log_warn("socket pacing: pass over local sockets: %s", strerror(-n));
}

/*
 * Receivers get no RTT callbacks: while the policy has ingress rules, the
 * iterator keeps their windows current, once per share period.
 */
uint64_t daemon_sockets_usec(const struct daemon *d)
{
	size_t i;

	for (i = 0; d->sp && i < d->policy->n_ifaces; i++)
		if (d->policy->ifaces[i].dir[POL_INGRESS].n)
			return TCS_SHARE_PERIOD_NS / 1000;
	return 0;
}

void daemon_sockets_pass(struct daemon *d)
{
	if (d->sp)
		sockpace_pass(d->sp);
}

/* Publish the daemon's record for tcshapectl (pinned, so it outlives us). */
static void record(struct daemon *d)
{
	__u32 zero = 0;

	d->rec.pid = (__u32)getpid();
	d->rec.rules = (__u32)policy_rules(d->policy);
	d->rec.hooks = (__u32)d->n_hooks;
	snprintf((char *)d->rec.policy_path, sizeof(d->rec.policy_path), "%s", d->policy->path);
	memcpy(d->rec.policy_sha256, d->policy->sha256, sizeof(d->rec.policy_sha256));
	if (bpf_map_update_elem(bpf_map__fd(d->skel->maps.tcs_daemon), &zero, &d->rec, BPF_ANY))
		log_warn("update %s: %s", TCS_MAP_DAEMON, strerror(errno));
}

/* STATUS=: what is enforced, and whether the last reload was refused and why. */
static void set_status(struct daemon *d)
{
	char first[200] = "";

	if (d->rec.last_reload == TCS_RELOAD_REJECTED)
		snprintf(first, sizeof(first), "%.*s",
			 (int)strcspn((char *)d->rec.last_error, "\n"), (char *)d->rec.last_error);
	snprintf(d->status, sizeof(d->status), "%s%s%s%s: %zu rules on %zu hooks",
		 first[0] ? "reload rejected: " : "", first, first[0] ? "; previous policy in force, " : "enforcing ",
		 d->policy->path, policy_rules(d->policy), d->n_hooks);
	record(d);
}

const char *daemon_status(const struct daemon *d)
{
	return d->status;
}

/* Remove the pins of obj's maps from the pin dir (the maps live on while used). */
static int unpin_all(struct bpf_object *obj, const char *dir)
{
	char path[PATH_MAX];
	struct bpf_map *map;
	int n = 0;

	bpf_object__for_each_map(map, obj) {
		snprintf(path, sizeof(path), "%s/%s", dir, bpf_map__name(map));
		n += !unlink(path);
	}
	return n;
}

static bool pins_exist(struct bpf_object *obj, const char *dir)
{
	char path[PATH_MAX];
	struct bpf_map *map;

	bpf_object__for_each_map(map, obj) {
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

	bpf_object__for_each_map(map, obj) {
		struct bpf_map_info info = { 0 };
		__u32 len = sizeof(info);
		int fd;

		snprintf(path, sizeof(path), "%s/%s", dir, bpf_map__name(map));
		fd = bpf_obj_get(path);
		if (fd < 0)
			continue;
		if (bpf_obj_get_info_by_fd(fd, &info, &len) ||
		    info.type != bpf_map__type(map) || info.key_size != bpf_map__key_size(map) ||
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

/*
 * An LRU of n entries, as the kernel makes it: with per-CPU lists
 * (BPF_F_NO_COMMON_LRU) it rounds max_entries up to a multiple of the
 * possible CPUs. Asking for the rounded size is what lets pins_fit() and
 * libbpf's own reuse check recognise the pinned map on the next start.
 */
static void lru_size(struct bpf_map *map, __u32 n)
{
	int ncpus = libbpf_num_possible_cpus();

	if ((bpf_map__map_flags(map) & BPF_F_NO_COMMON_LRU) && ncpus > 0 && n % ncpus &&
	    n <= UINT32_MAX - ncpus)
		n += ncpus - n % ncpus;
	bpf_map__set_max_entries(map, n);
}

static bool have_cap(int cap)
{
	struct __user_cap_header_struct h = { _LINUX_CAPABILITY_VERSION_3, 0 };
	struct __user_cap_data_struct c[2] = { 0 };

	if (syscall(SYS_capget, &h, c))
		return true;	/* cannot tell: do not blame it */
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
		{ BPF_FUNC_loop, "; this kernel lacks the bpf_loop() helper (Linux 5.17 or later needed)" },
		{ BPF_FUNC_skb_load_bytes, "; this kernel lacks bpf_skb_load_bytes() for tc programs" },
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
 * Open and load the classifier, reusing the maps an earlier instance pinned
 * (that is what keeps limiter state across restarts). Pins that do not fit
 * are set aside and fresh maps made: the old filters keep their old maps
 * until replaced, so enforcement never stops, but state and counters start
 * over.
 */
static int load_bpf(struct daemon *d, const struct policy *p)
{
	LIBBPF_OPTS(bpf_object_open_opts, oo, .pin_root_path = d->o.pin_dir);
	int err;

	d->skel = tcshape_bpf__open_opts(&oo);
	if (!d->skel) {
		err = -errno;
		log_err("open BPF object: %s", strerror(-err));
		return err;
	}
	lru_size(d->skel->maps.tcs_flows, p->settings.max_keys);
	lru_size(d->skel->maps.tcs_keys, p->settings.max_keys);
	lru_size(d->skel->maps.tcs_socks, TCS_SOCKS_ENTRIES(p->settings.max_keys));
	if (pins_fit(d->skel->obj, d->o.pin_dir)) {
		/* pins that fit are an earlier instance's datapath: a failed start leaves it */
		d->leave_datapath = pins_exist(d->skel->obj, d->o.pin_dir);
	} else {
		unpin_all(d->skel->obj, d->o.pin_dir);
		log_warn("maps pinned in %s do not fit this tcshaped (upgraded, or "
			 "settings.max_keys changed): starting with fresh maps; limiter state and "
			 "counters start over",
			 d->o.pin_dir);
	}
	err = tcshape_bpf__load(d->skel);
	if (err)
		log_err("load BPF object: %s%s", strerror(-err), load_diagnose(err));
	return err;
}

static void on_links_changed(void *ctx)
{
	((struct daemon *)ctx)->dirty = true;
}

int daemon_start(const struct daemon_opts *o, struct daemon **out)
{
	struct daemon *d = calloc(1, sizeof(*d));
	struct policy *p = NULL;
	int err;

	if (!d)
		return -ENOMEM;
	d->o = *o;
	d->lock = -1;
	log_set_policy(o->policy_path);
	err = policy_trusted(d, o->policy_path);
	if (!err)
		err = policy_load(o->policy_path, &p, err_to_log, d);
	if (err)
		goto fail;
	err = pin_dir_prepare(o->pin_dir);
	if (err)
		goto fail;
	err = pin_dir_lock(d);
	if (err)
		goto fail;
	err = load_bpf(d, p);
	if (err)
		goto fail;
	err = maps_open(d->skel, &d->maps);
	if (err)
		goto fail;
	if ((err = tc_open(&d->tc)) || (err = tc_monitor_open(&d->tc_mon))) {
		log_err("netlink: %s", strerror(-err));
		goto fail;
	}
	err = link_watch_open(&d->links, on_links_changed, d);
	if (err)
		goto fail;
	d->fq = host_fq();
	if (maps_adopted(d->maps))
		hooks_adopt(d);
	err = apply(d, p);
	if (err)
		goto fail;	/* leave_datapath: what an earlier instance left keeps enforcing */
	d->leave_datapath = false;
	d->policy = p;
	log_set_policy(p->path);
	d->dirty = false;
	d->rec.running = 1;
	d->rec.started = d->rec.loaded = (__u64)time(NULL);
	sockets_sync(d);
	set_status(d);
	log_info("ready: %s", d->status);
	*out = d;
	return 0;
fail:
	policy_free(p);
	daemon_stop(d);
	return err;
}

/* ---- keeping the kernel in line with the policy ----------------------------------- */

int daemon_link_fd(const struct daemon *d)
{
	return link_watch_fd(d->links);
}

int daemon_tc_fd(const struct daemon *d)
{
	return tc_fd(d->tc_mon);
}

bool daemon_link_events(struct daemon *d)
{
	link_watch_process(d->links);
	return d->dirty;
}

static void on_tc_event(uint16_t type, uint32_t ifindex, void *ctx)
{
	struct daemon *d = ctx;
	size_t i;

	if (type && type != RTM_DELQDISC && type != RTM_DELTFILTER)
		return;
	for (i = 0; i < d->n_hooks; i++)
		if (!type || d->hooks[i].ifindex == ifindex) {
			d->hooks[i].check = true;
			d->dirty = true;
		}
}

bool daemon_tc_events(struct daemon *d)
{
	int err = tc_monitor_read(d->tc_mon, on_tc_event, d);

	if (err)
		log_warn("tc events: %s", strerror(-err));
	return d->dirty;
}

uint64_t daemon_resync_usec(const struct daemon *d)
{
	return d->policy->settings.resync_ns / 1000;
}

uint64_t daemon_metrics_usec(const struct daemon *d)
{
	return d->policy->settings.metrics_textfile ? d->policy->settings.metrics_interval_ns / 1000
						    : 0;
}

static struct state_fds state_fds_of(const struct daemon *d)
{
	return (struct state_fds){
		.ifaces = bpf_map__fd(d->skel->maps.tcs_ifaces),
		.keys = bpf_map__fd(d->skel->maps.tcs_keys),
		.rule_info = bpf_map__fd(d->skel->maps.tcs_rule_info),
		.rule_stats = bpf_map__fd(d->skel->maps.tcs_rule_stats),
		.stats = bpf_map__fd(d->skel->maps.tcs_stats),
		.meta = bpf_map__fd(d->skel->maps.tcs_meta),
		.daemon = bpf_map__fd(d->skel->maps.tcs_daemon),
		.tcp_stats = sockpace_stats_fd(d->sp),
		.dir = -1,
	};
}

const char *daemon_metrics_listen(const struct daemon *d)
{
	return d->policy->settings.metrics_listen;
}

int daemon_metrics(struct daemon *d, FILE *out)
{
	struct state_fds f = state_fds_of(d);

	return metrics_write(out, &f, d->census);
}

/*
 * The metrics' key counts, a step at a time (census.h), and only while
 * metrics are written or served. Returns when the loop should call again
 * (0: not until a reload). A step is CENSUS_STEP keys (a few ms), one every
 * 20 ms: a pass over a million keys takes about 4 s; then it rests for the
 * textfile's interval, or 10 s for the /metrics endpoint alone.
 */
#define CENSUS_NEXT_USEC	20000
#define CENSUS_REST_USEC	(10 * 1000000ULL)

uint64_t daemon_census_step(struct daemon *d)
{
	struct state_fds f = state_fds_of(d);
	int ret;

	if (!daemon_metrics_usec(d) && !daemon_metrics_listen(d))
		return 0;
	if (!d->census && !(d->census = census_new(&f)))
		return CENSUS_REST_USEC;
	ret = census_step(d->census, CENSUS_STEP);
	if (ret < 0)
		log_warn("count limiter keys: %s", strerror(-ret));
	if (!ret)
		return CENSUS_NEXT_USEC;
	return daemon_metrics_usec(d) ? daemon_metrics_usec(d) : CENSUS_REST_USEC;
}

/* settings.metrics_textfile: the same text as `tcshapectl metrics`, replaced atomically. */
void daemon_write_metrics(struct daemon *d)
{
	struct state_fds f = state_fds_of(d);
	const char *path = d->policy->settings.metrics_textfile;
	int err;

	if (!path)
		return;
	err = metrics_write_file(path, &f, d->census);
	if (err && !d->metrics_failed)
		log_warn("write metrics to %s: %s", path, strerror(-err));
	d->metrics_failed = err != 0;
}

int daemon_reconcile(struct daemon *d, bool full)
{
	struct binding *b = NULL;
	size_t nb = 0;
	int err;

	d->dirty = false;
	err = bindings_for(d, d->policy, maps_current(d->maps), &b, &nb);
	if (!err && roots_sync(d, d->policy, maps_current(d->maps), b, nb, NULL) == -ENOENT &&
	    d->fq == FQ_MISSING) {
		/* an interface that came later showed the kernel has no fq: police */
		free(b);
		err = apply(d, d->policy);
		set_status(d);
		return err;
	}
	if (!err)
		err = maps_rebind(d->maps, b, nb);
	if (!err)
		err = hooks_sync(d, b, nb, d->policy->settings.tc_priority, full);
	free(b);
	set_status(d);
	return err;
}

int daemon_reload(struct daemon *d)
{
	struct policy *p = NULL;
	int err;

	log_info("reload: reading %s", d->o.policy_path);
	d->errors[0] = '\0';
	err = policy_trusted(d, d->o.policy_path);
	if (!err)
		err = policy_load(d->o.policy_path, &p, err_to_log, d);
	fault_point("loaded");
	if (!err && p->settings.max_keys != d->policy->settings.max_keys)
		log_warn("reload: settings.max_keys changed from %u to %u; the maps keep their "
			 "size until tcshaped restarts",
			 d->policy->settings.max_keys, p->settings.max_keys);
	if (!err)
		err = apply(d, p);
	d->rec.reload_at = (__u64)time(NULL);
	if (err) {
		policy_free(p);
		d->rec.reloads_rejected++;
		d->rec.last_reload = TCS_RELOAD_REJECTED;
		snprintf((char *)d->rec.last_error, sizeof(d->rec.last_error), "%s",
			 d->errors[0] ? d->errors : strerror(-err));
		set_status(d);
		log_err("reload: rejected %s: %s", d->o.policy_path, d->status);
		return err;
	}
	policy_free(d->policy);
	d->policy = p;
	log_set_policy(p->path);
	sockets_sync(d);
	d->rec.reloads_applied++;
	d->rec.last_reload = TCS_RELOAD_APPLIED;
	d->rec.last_error[0] = 0;
	d->rec.loaded = d->rec.reload_at;
	set_status(d);
	log_info("reload: applied %s", d->status);
	return 0;
}

void daemon_override_on_stop(struct daemon *d, bool keep)
{
	d->policy->settings.on_stop = keep ? POL_ON_STOP_KEEP : POL_ON_STOP_REMOVE;
}

void daemon_stop(struct daemon *d)
{
	bool keep;

	if (!d)
		return;
	keep = d->leave_datapath ||
	       (d->policy && d->policy->settings.on_stop == POL_ON_STOP_KEEP);
	if (d->leave_datapath && !d->skel) {
		/* another daemon's pin dir: not even a log line about its datapath */
	} else if (d->leave_datapath) {
		log_info("left the datapath an earlier instance pinned in %s as it was",
			 d->o.pin_dir);
	} else if (keep) {
		log_info("on_stop: keep: %zu filters and the maps in %s stay enforcing", d->n_hooks,
			 d->o.pin_dir);
		d->rec.running = 0;
		record(d);
		daemon_write_metrics(d);	/* tcshaped_up 0, the datapath's counters */
		sockpace_close(d->sp, false, NULL);	/* the sockets keep their caps */
	} else {
		sockpace_close(d->sp, true, d->o.pin_dir);
		while (d->n_hooks)
			hook_detach(d, &d->hooks[d->n_hooks - 1]);
		while (d->n_roots)
			root_restore(d, &d->roots[d->n_roots - 1]);
		if (d->policy && d->policy->settings.metrics_textfile)
			unlink(d->policy->settings.metrics_textfile);	/* nothing to report */
		if (d->skel) {
			unpin_all(d->skel->obj, d->o.pin_dir);
			clsact_mark_clear_all(d->o.pin_dir);
			rmdir(d->o.pin_dir);
		}
	}
	link_watch_close(d->links);
	tc_close(d->tc_mon);
	tc_close(d->tc);
	maps_close(d->maps);
	census_free(d->census);
	tcshape_bpf__destroy(d->skel);
	policy_free(d->policy);
	free(d->hooks);
	free(d->roots);
	if (d->lock >= 0)
		close(d->lock);	/* last: everything above is done under the lock */
	free(d);
}

int daemon_check(const char *path)
{
	struct compiled *c = NULL;
	struct policy *p = NULL;
	int err;

	int fq = host_fq();
	size_t i;

	err = policy_load(path, &p, NULL, NULL);
	if (!err)
		err = policy_settle_pace(p, fq != FQ_MISSING, NULL, NULL);
	if (!err)
		err = compile_policy(p, NULL, &c, NULL, NULL);
	if (err)
		goto out;
	printf("%s: valid: %zu interface entries, %zu rules\n", path, p->n_ifaces,
	       policy_rules(p));
	for (i = 0; i < p->n_ifaces; i++) {
		if (policy_iface_paces(&p->ifaces[i]) && fq == FQ_PRESENT)
			printf("%s: egress paces (this kernel has fq)\n", p->ifaces[i].name);
		else if (policy_iface_paces(&p->ifaces[i]))
			printf("%s: egress paces if the kernel has fq (sch_fq); /lib/modules cannot "
			       "be read here to tell, the daemon will find out\n",
			       p->ifaces[i].name);
		else if (p->ifaces[i].pace_fell_back)
			printf("%s: egress polices instead of pacing: this kernel has no fq "
			       "qdisc (sch_fq)\n",
			       p->ifaces[i].name);
	}
	if (!p->settings.socket_pacing)
		printf("socket pacing: off (settings.socket_pacing)\n");
	else if (sockpace_cgroup_root())
		printf("socket pacing: local TCP connections the rules cover are told their share "
		       "(sock_ops at the cgroup v2 root %s)\n",
		       sockpace_cgroup_root());
	else
		printf("socket pacing: not here: no cgroup v2 hierarchy is mounted; local TCP is "
		       "limited by tc alone\n");
out:
	compile_free(c);
	policy_free(p);
	return err;
}
