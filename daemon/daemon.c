// SPDX-License-Identifier: GPL-2.0
/*
 * The daemon: start, reload, reconcile and stop, each running the stages in
 * order, file -> policy -> compiled tables -> maps -> tc hooks, over the
 * modules that own them (pins.c, roots.c, hooks.c, maps.c); and the record
 * tcshapectl status reads.
 */
#include <errno.h>
#include <malloc.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "tcshape.skel.h"
#include "array.h"
#include "compile.h"
#include "census.h"
#include "daemon.h"
#include "fault.h"
#include "hooks.h"
#include "host.h"
#include "link.h"
#include "log.h"
#include "maps.h"
#include "metrics.h"
#include "pins.h"
#include "policy.h"
#include "roots.h"
#include "sockpace.h"
#include "tc.h"

struct daemon {
	struct daemon_opts o;
	struct tcshape_bpf *skel;
	struct maps *maps;
	struct tc *tc;
	struct tc *tc_mon; /* tc events: our filters deleted by others */
	struct link_watch *links;
	struct policy *policy; /* in force */
	struct pol_host host;  /* what the policy in force was compiled for */
	bool dirty;	       /* links or tc changed: reconcile */
	struct tcs_daemon rec; /* what tcshapectl status shows */
	char errors[1024];     /* errors of the reload being tried */
	bool metrics_failed;   /* warned once until it works again */
	bool leave_datapath;   /* stop without removing anything (failed adoption) */
	int lock;	       /* the pin dir, flocked: one daemon per pin dir */
	struct hooks hooks;
	struct roots roots;
	struct sockpace *sp;   /* socket pacing, when on and the host offers it */
	struct census *census; /* limiter keys by rule, for the metrics */
	char status[512];
};

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
		snprintf(msg, sizeof(msg),
			 "%s: refusing to read: %s%s is owned by uid %u, not root", policy,
			 dir ? "directory " : "", what, (unsigned)st->st_uid);
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
		return 0; /* policy_load says what is wrong with it */
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
			const struct cmp_ruleset *rs =
				compile_ruleset(c, (size_t)(pi - p->ifaces), dir);

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

/* Warn once per interface entry whose pace rules police because the kernel has no fq. */
static void warn_fallbacks(const struct policy *p, const struct pol_host *host)
{
	size_t i;

	for (i = 0; i < p->n_ifaces; i++)
		if (policy_iface_falls_back(p, &p->ifaces[i], host))
			log_at(LOG_WARNING, p->ifaces[i].name, NULL,
			       "%s: this kernel has no fq qdisc (sch_fq), so its egress rules police "
			       "(drop over the limit) instead of pacing; settings.pace_fallback: "
			       "refuse makes this an error",
			       p->ifaces[i].name);
}

/* Did asking for fq show the kernel has none, unlike the host p was compiled for? */
static bool host_changed(const struct daemon *d, const struct pol_host *host, int err)
{
	return err == -ENOENT && host->can_pace && d->roots.fq == FQ_MISSING;
}

/*
 * Compile p for the host and put it in force: maps first (atomic), then the
 * tc hooks. Once the maps hold it, p is in force: an interface whose hook
 * cannot be attached (an "ingress" qdisc in the way, say) is logged and
 * retried by the next reconcile, it does not make the policy fail.
 */
static int apply_for(struct daemon *d, struct policy *p, const struct pol_host *host)
{
	struct roots_journal j = { 0 };
	struct binding *b = NULL;
	struct compiled *c;
	size_t nb = 0;
	int err;

	err = policy_host_check(p, host, err_to_log, d);
	if (err)
		return err;
	err = compile_policy_for(p, host, maps_current(d->maps), &c, err_to_log, d);
	if (err)
		return err;
	err = bindings_for(d, p, c, &b, &nb);
	if (err) {
		log_err("list interfaces: %s", strerror(-err));
		compile_free(c);
		return err;
	}
	err = roots_sync(&d->roots, d->links, p, host, c, b, nb, &j, err_to_log, d);
	if (!host_changed(d, host, err))
		fault_point("roots"); /* once an apply, as the fault tests count */
	if (!err) {
		err = maps_publish(d->maps, c, b, nb);
		if (err && !d->errors[0]) /* STATUS= says what failed, not just errno */
			snprintf(d->errors, sizeof(d->errors),
				 "publishing the policy to the maps: %s; nothing of it was kept",
				 strerror(-err));
	}
	if (err) {
		/* refused: the roots as they were, too */
		roots_undo(&d->roots, &j);
		compile_free(c);
		free(b);
		return err;
	}
	free(j.v);
	d->host = *host;
	warn_fallbacks(p, host);
	hooks_sync(&d->hooks, b, nb, p->settings.tc_priority, false);
	fault_point("hooks");
	free(b);
	return 0;
}

/*
 * The host facts come first and the pipeline runs forward from them. One
 * fact is only learnt by asking: where /lib/modules is hidden, whether the
 * kernel has fq shows when the first fq is asked for (roots_sync: -ENOENT,
 * roots.fq now FQ_MISSING). Then p is compiled again, from the start, for
 * the host as it now is known to be.
 */
static int apply(struct daemon *d, struct policy *p)
{
	struct pol_host host = { .can_pace = d->roots.fq != FQ_MISSING };
	int err = apply_for(d, p, &host);

	if (host_changed(d, &host, err)) {
		host.can_pace = false;
		err = apply_for(d, p, &host);
	}
	return err;
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
	d->rec.rules = (__u32)policy_n_rules(d->policy);
	d->rec.hooks = (__u32)d->hooks.n;
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
		 first[0] ? "reload rejected: " : "", first,
		 first[0] ? "; previous policy in force, " : "enforcing ", d->policy->path,
		 policy_n_rules(d->policy), d->hooks.n);
	record(d);
}

const char *daemon_status(const struct daemon *d)
{
	return d->status;
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
	err = pins_prepare(o->pin_dir);
	if (err)
		goto fail;
	d->lock = pins_lock(o->pin_dir);
	d->leave_datapath = d->lock == -EBUSY; /* it is the other daemon's */
	err = d->lock < 0 ? d->lock : hooks_name(&d->hooks, o->pin_dir);
	if (err)
		goto fail;
	err = pins_load(o->pin_dir, p, &d->skel, &d->leave_datapath);
	if (err)
		goto fail;
	err = maps_open(d->skel, &d->maps);
	if (err)
		goto fail;
	if ((err = tc_open(&d->tc)) || (err = tc_monitor_open(&d->tc_mon))) {
		log_err("netlink: %s", strerror(-err));
		goto fail;
	}
	d->hooks.tc = d->tc;
	d->hooks.prog_fd[TCS_DIR_INGRESS] = bpf_program__fd(d->skel->progs.tcs_ingress);
	d->hooks.prog_fd[TCS_DIR_EGRESS] = bpf_program__fd(d->skel->progs.tcs_egress);
	err = link_watch_open(&d->links, on_links_changed, d);
	if (err)
		goto fail;
	d->roots.tc = d->tc;
	d->roots.fq = host_fq();
	if (maps_adopted(d->maps))
		hooks_adopt(&d->hooks, d->links);
	err = apply(d, p);
	if (err)
		goto fail; /* leave_datapath: what an earlier instance left keeps enforcing */
	daemon_collect(d);
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

	if (hooks_touch(&d->hooks, type, ifindex))
		d->dirty = true;
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
	return d->policy->settings.metrics_textfile ?
		       d->policy->settings.metrics_interval_ns / 1000 :
		       0;
}

static struct state_fds state_fds_of(const struct daemon *d)
{
	return (struct state_fds){
		.ifaces = bpf_map__fd(d->skel->maps.tcs_ifaces),
		.ifaces_hi = bpf_map__fd(d->skel->maps.tcs_ifaces_hi),
		.keys = bpf_map__fd(d->skel->maps.tcs_keys),
		.flows = bpf_map__fd(d->skel->maps.tcs_flows),
		.rule_info = bpf_map__fd(d->skel->maps.tcs_rule_info),
		.rule_stats = bpf_map__fd(d->skel->maps.tcs_rule_stats),
		.rule_spill = bpf_map__fd(d->skel->maps.tcs_rule_spill),
		.stats = bpf_map__fd(d->skel->maps.tcs_stats),
		.meta = bpf_map__fd(d->skel->maps.tcs_meta),
		.daemon = bpf_map__fd(d->skel->maps.tcs_daemon),
		.tcp_stats = sockpace_stats_fd(d->sp),
		.totals = bpf_map__fd(d->skel->maps.tcs_totals),
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
#define CENSUS_NEXT_USEC 20000
#define CENSUS_REST_USEC (10 * 1000000ULL)

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
	if (!err &&
	    roots_sync(&d->roots, d->links, d->policy, &d->host, maps_current(d->maps), b, nb, NULL,
		       err_to_log, d) == -ENOENT &&
	    d->roots.fq == FQ_MISSING) {
		/* an interface that came later showed the kernel has no fq: police */
		free(b);
		err = apply(d, d->policy);
		maps_collect(d->maps);
		set_status(d);
		return err;
	}
	if (!err)
		err = maps_rebind(d->maps, b, nb);
	if (!err)
		err = hooks_sync(&d->hooks, b, nb, d->policy->settings.tc_priority, full);
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

void daemon_collect(struct daemon *d)
{
	maps_collect(d->maps);
	/*
	 * glibc keeps what a reload freed (the document, the old policy and
	 * tables) for later: without this each reload's peak stacks on the
	 * last one's leftovers (88 MiB against 50 for the 10,000-rule policy).
	 */
	malloc_trim(0);
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
	keep = d->leave_datapath || (d->policy && d->policy->settings.on_stop == POL_ON_STOP_KEEP);
	if (d->leave_datapath && !d->skel) {
		/* another daemon's pin dir: not even a log line about its datapath */
	} else if (d->leave_datapath) {
		log_info("left the datapath an earlier instance pinned in %s as it was",
			 d->o.pin_dir);
	} else if (keep) {
		log_info("on_stop: keep: %zu filters and the maps in %s stay enforcing", d->hooks.n,
			 d->o.pin_dir);
		d->rec.running = 0;
		record(d);
		daemon_write_metrics(d);	    /* tcshaped_up 0, the datapath's counters */
		sockpace_close(d->sp, false, NULL); /* the sockets keep their caps */
	} else {
		sockpace_close(d->sp, true, d->o.pin_dir);
		hooks_remove_all(&d->hooks);
		roots_restore_all(&d->roots);
		if (d->policy && d->policy->settings.metrics_textfile)
			unlink(d->policy->settings.metrics_textfile); /* nothing to report */
		if (d->skel)
			pins_remove(d->skel, d->o.pin_dir);
	}
	link_watch_close(d->links);
	tc_close(d->tc_mon);
	tc_close(d->tc);
	maps_close(d->maps);
	census_free(d->census);
	tcshape_bpf__destroy(d->skel);
	policy_free(d->policy);
	ARRAY_CLEAR(d->hooks.v, d->hooks.n);
	ARRAY_CLEAR(d->roots.v, d->roots.n);
	if (d->lock >= 0)
		close(d->lock); /* last: everything above is done under the lock */
	free(d);
}
