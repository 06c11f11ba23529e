// SPDX-License-Identifier: GPL-2.0
/*
 * The tc hooks our classifier is on (hooks.h). Never touches a filter that
 * is not ours: ours carry our handle and our name (hooks_name()).
 */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <linux/rtnetlink.h>

#include "array.h"
#include "clsact_mark.h"
#include "fault.h"
#include "hooks.h"
#include "link.h"
#include "log.h"
#include "maps.h"
#include "paths.h"
#include "policy.h"
#include "tc.h"

int hooks_name(struct hooks *hs, const char *pin_dir)
{
	char real[PATH_MAX];

	hs->pin_dir = pin_dir;
	if (!realpath(pin_dir, real))
		snprintf(real, sizeof(real), "%s", pin_dir);
	if (!strcmp(real, TCS_DEFAULT_PIN_DIR))
		snprintf(hs->filter_name, sizeof(hs->filter_name), "%s", TCS_FILTER_NAME);
	else if ((size_t)snprintf(hs->filter_name, sizeof(hs->filter_name), "%s:%s",
				  TCS_FILTER_NAME, real) >= sizeof(hs->filter_name)) {
		log_err("pin dir %s: path too long (at most %zu characters)", real,
			sizeof(hs->filter_name) - sizeof(TCS_FILTER_NAME) - 1);
		return -ENAMETOOLONG;
	}
	return 0;
}

static struct hook *hook_find(struct hooks *hs, uint32_t ifindex, int dir)
{
	size_t i;

	for (i = 0; i < hs->n; i++)
		if (hs->v[i].ifindex == ifindex && hs->v[i].dir == dir)
			return &hs->v[i];
	return NULL;
}

static int slot_free(struct hooks *hs, uint32_t ifindex, int dir, uint32_t prio);

/* Put our filter on the hook; force: even if we believe it is there. */
static int hook_attach(struct hooks *hs, uint32_t ifindex, int dir, uint32_t prio, bool force)
{
	struct tc_filter f = { .ifindex = ifindex,
			       .dir = dir,
			       .prio = prio,
			       .handle = TCS_FILTER_HANDLE };
	struct hook *h = hook_find(hs, ifindex, dir);
	bool created = false;
	int err;

	if (h && h->prio == prio && !h->stale && !force)
		return 0;
	err = tc_clsact_ensure(hs->tc, ifindex, &created);
	if (err)
		return err;
	if (created)
		clsact_mark_set(hs->pin_dir, ifindex);
	/* on a filter of ours (an earlier instance's), this swaps the program in place */
	err = slot_free(hs, ifindex, dir, prio);
	if (err)
		return err;
	err = tc_filter_attach(hs->tc, &f, hs->prog_fd[dir], hs->filter_name);
	if (err)
		return err;
	if (h && h->stale) {
		h->stale = false;
		log_at(LOG_INFO, h->ifname, NULL,
		       "adopted %s filter on %s: program replaced in place", pol_dir_name(dir),
		       h->ifname);
	}
	if (h && h->prio != prio) {
		/* priority changed: the new filter is live, drop the old one */
		struct tc_filter old = f;

		old.prio = h->prio;
		tc_filter_detach(hs->tc, &old);
		h->prio = prio;
	}
	if (h)
		return 0;
	err = ARRAY_PUSH(&hs->v, &hs->n,
			 ((struct hook){ .ifindex = ifindex,
					 .dir = dir,
					 .prio = prio,
					 .created_clsact = created }));
	if (err)
		return err;
	h = &hs->v[hs->n - 1];
	if (!if_indextoname(ifindex, h->ifname))
		snprintf(h->ifname, sizeof(h->ifname), "#%u", ifindex);
	log_at(LOG_INFO, h->ifname, NULL, "attached %s on %s (pref %u%s)", pol_dir_name(dir),
	       h->ifname, prio, created ? ", created clsact" : "");
	return 0;
}

/* Is another hook of ours on the same interface (the other direction)? */
static bool hook_find_other(struct hooks *hs, const struct hook *h)
{
	size_t i;

	for (i = 0; i < hs->n; i++)
		if (&hs->v[i] != h && hs->v[i].ifindex == h->ifindex)
			return true;
	return false;
}

static int count_filter(const struct tc_filter_info *fi, void *ctx)
{
	(*(int *)ctx)++;
	return 0;
}

/* Remove our filter; remove clsact too if we created it and nobody else uses it. */
static void hook_detach(struct hooks *hs, struct hook *h)
{
	struct tc_filter f = { .ifindex = h->ifindex,
			       .dir = h->dir,
			       .prio = h->prio,
			       .handle = TCS_FILTER_HANDLE };
	char name[IF_NAMESIZE];
	int err, others = 0, dir;

	if (!if_indextoname(h->ifindex, name)) {
		/* the device took its hooks with it */
		if (!hook_find_other(hs, h))
			clsact_mark_clear(hs->pin_dir, h->ifindex);
		log_at(LOG_INFO, h->ifname, NULL, "%s is gone; released its %s hook", h->ifname,
		       pol_dir_name(h->dir));
		*h = hs->v[--hs->n];
		return;
	}
	err = tc_filter_detach(hs->tc, &f);
	if (err && err != -ENOENT && err != -ENODEV)
		log_at(LOG_WARNING, h->ifname, NULL, "detach %s on %s: %s", pol_dir_name(h->dir),
		       h->ifname, strerror(-err));
	else
		log_at(LOG_INFO, h->ifname, NULL, "detached %s on %s", pol_dir_name(h->dir),
		       h->ifname);
	fault_point("detached");
	err = 0;
	if (h->created_clsact && !hook_find_other(hs, h)) {
		/* a dump that fails says nothing: keep the clsact, it may hold others' filters */
		for (dir = 0; dir < TCS_DIR_NR && !err; dir++)
			err = tc_filter_list(hs->tc, h->ifindex, dir, count_filter, &others);
		if (err)
			log_at(LOG_WARNING, h->ifname, NULL,
			       "kept the clsact qdisc we created on %s: cannot list its filters: %s",
			       h->ifname, strerror(-err));
		else if (!others)
			tc_clsact_delete(hs->tc, h->ifindex);
	}
	if (!hook_find_other(hs, h))
		clsact_mark_clear(hs->pin_dir, h->ifindex);
	*h = hs->v[--hs->n];
}

/* A filter of this instance's (its pin dir's), now or left by an earlier run. */
static bool is_ours(const struct hooks *hs, const struct tc_filter_info *fi)
{
	return fi->handle == TCS_FILTER_HANDLE && !strcmp(fi->kind, "bpf") &&
	       !strcmp(fi->name, hs->filter_name);
}

struct find_ours {
	const struct hooks *hs;
	uint32_t prio;
	bool found;
};

static int find_ours(const struct tc_filter_info *fi, void *ctx)
{
	struct find_ours *fo = ctx;

	if (fi->prio == fo->prio && is_ours(fo->hs, fi)) {
		fo->found = true;
		return 1;
	}
	return 0;
}

/*
 * Is (prio, our handle) on the hook taken by a filter not ours? Then a
 * replace would take it over.
 */
static int find_foreign(const struct tc_filter_info *fi, void *ctx)
{
	struct find_ours *fo = ctx;

	if (fi->prio != fo->prio || fi->handle != TCS_FILTER_HANDLE || is_ours(fo->hs, fi))
		return 0;
	log_err("pref %u handle %u is taken by %s filter %s%s; not replacing it (another tcshaped "
		"on another --pin-dir? give one of them another settings.tc_priority)",
		fi->prio, fi->handle, fi->kind, fi->name[0] ? "named " : "", fi->name);
	return -EBUSY;
}

static int slot_free(struct hooks *hs, uint32_t ifindex, int dir, uint32_t prio)
{
	struct find_ours fo = { .hs = hs, .prio = prio };
	int err = tc_filter_list(hs->tc, ifindex, dir, find_foreign, &fo);

	return err == -ENOENT || err == -EINVAL ? 0 : err;
}

/* Someone may have deleted our filter or the clsact under it: put them back. */
static void hook_verify(struct hooks *hs, struct hook *h)
{
	struct find_ours fo = { .hs = hs, .prio = h->prio };
	int err;

	h->check = false;
	err = tc_filter_list(hs->tc, h->ifindex, h->dir, find_ours, &fo);
	if ((err && err != -ENOENT && err != -EINVAL) || fo.found)
		return;
	err = hook_attach(hs, h->ifindex, h->dir, h->prio, true);
	if (err)
		log_at(LOG_ERR, h->ifname, NULL, "restore %s filter on %s: %s",
		       pol_dir_name(h->dir), h->ifname, strerror(-err));
	else
		log_at(LOG_WARNING, h->ifname, NULL,
		       "restored %s filter on %s: it (or its clsact qdisc) had been deleted",
		       pol_dir_name(h->dir), h->ifname);
}

/*
 * Filters of ours an earlier instance left (the daemon was killed, or stopped
 * with on_stop: keep): remember them so they are replaced in place, or
 * removed if the policy no longer wants them.
 */
struct adopt_ctx {
	struct hooks *hs;
	uint32_t ifindex;
	int dir;
	const char *ifname;
};

static int adopt_one(const struct tc_filter_info *fi, void *ctx)
{
	struct adopt_ctx *a = ctx;
	struct hook h = { .ifindex = a->ifindex, .dir = a->dir, .prio = fi->prio, .stale = true };

	if (!is_ours(a->hs, fi) || hook_find(a->hs, a->ifindex, a->dir))
		return 0;
	/* the earlier instance's clsact is ours to remove if it made it */
	h.created_clsact = clsact_mark_test(a->hs->pin_dir, a->ifindex);
	snprintf(h.ifname, sizeof(h.ifname), "%s", a->ifname);
	return ARRAY_PUSH(&a->hs->v, &a->hs->n, h);
}

void hooks_adopt(struct hooks *hs, struct link_watch *lw)
{
	struct link_info *links = NULL;
	size_t n = 0, i;
	int dir;

	if (link_watch_snapshot(lw, &links, &n))
		return;
	for (i = 0; i < n; i++)
		for (dir = 0; dir < TCS_DIR_NR; dir++) {
			struct adopt_ctx a = { hs, (uint32_t)links[i].ifindex, dir, links[i].name };

			tc_filter_list(hs->tc, a.ifindex, dir, adopt_one, &a);
		}
	free(links);
	if (hs->n)
		log_info("found %zu filters of an earlier instance; adopting them", hs->n);
}

int hooks_sync(struct hooks *hs, const struct binding *b, size_t nb, uint32_t prio, bool check_all)
{
	size_t i;
	int err, ret = 0;

	for (i = 0; i < hs->n; i++)
		if (check_all || hs->v[i].check)
			hook_verify(hs, &hs->v[i]);
	for (i = 0; i < nb; i++) {
		err = hook_attach(hs, b[i].ifindex, b[i].dir, prio, false);
		if (err) {
			char name[IF_NAMESIZE] = "";

			if_indextoname(b[i].ifindex, name);
			log_at(LOG_ERR, name, NULL, "attach %s on %s: %s", pol_dir_name(b[i].dir),
			       name, strerror(-err));
			ret = ret ? ret : err;
		}
	}
	for (i = hs->n; i-- > 0;) {
		size_t j;

		for (j = 0; j < nb; j++)
			if (b[j].ifindex == hs->v[i].ifindex && b[j].dir == hs->v[i].dir)
				break;
		if (j == nb)
			hook_detach(hs, &hs->v[i]);
	}
	return ret;
}

bool hooks_touch(struct hooks *hs, uint16_t type, uint32_t ifindex)
{
	bool touched = false;
	size_t i;

	if (type && type != RTM_DELQDISC && type != RTM_DELTFILTER)
		return false;
	for (i = 0; i < hs->n; i++)
		if (!type || hs->v[i].ifindex == ifindex) {
			hs->v[i].check = true;
			touched = true;
		}
	return touched;
}

void hooks_remove_all(struct hooks *hs)
{
	while (hs->n)
		hook_detach(hs, &hs->v[hs->n - 1]);
}
