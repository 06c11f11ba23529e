// SPDX-License-Identifier: GPL-2.0
/*
 * Root qdiscs (roots.h): fq where rules pace, and what was there put back.
 * Never replaces a root someone configured unless settings say so.
 */
#include <errno.h>
#include <net/if.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "array.h"
#include "compile.h"
#include "host.h"
#include "link.h"
#include "log.h"
#include "maps.h"
#include "roots.h"

/* fq sized for what the entry's pace rules may queue: rate x max_delay. */
static void fq_params(const struct policy *p, const struct pol_iface *pi,
		      const struct pol_host *host, struct tc_fq *fq)
{
	uint64_t pkts = 0, delay = 0;
	size_t r;

	for (r = 0; r < pi->dir[POL_EGRESS].n; r++) {
		const struct pol_rule *rule = &pi->dir[POL_EGRESS].v[r];
		uint64_t q;

		if (policy_rule_action(p, rule, host) != POL_ACT_PACE)
			continue;
		q = 1 + (uint64_t)((unsigned __int128)rule->rate_bps * rule->max_delay_ns /
				   8000000000ull / 1514);
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

static struct root *root_find(struct roots *rt, uint32_t ifindex)
{
	size_t i;

	for (i = 0; i < rt->n; i++)
		if (rt->v[i].ifindex == ifindex)
			return &rt->v[i];
	return NULL;
}

static void root_restore(struct roots *rt, struct root *r)
{
	char name[IF_NAMESIZE];

	if (if_indextoname(r->ifindex, name)) {
		if (!tc_root_restore(rt->tc, r->ifindex, &r->old))
			log_at(LOG_INFO, name, NULL, "restored root qdisc %s on %s",
			       r->old.kind[0] ? r->old.kind : "default", name);
	}
	*r = rt->v[--rt->n];
}

static void journal_add(struct roots_journal *j, int what, const struct root *r, unsigned int txqs)
{
	if (j && ARRAY_PUSH(&j->v, &j->n, ((struct root_undo){ what, *r, txqs })))
		log_warn("out of memory: a failed reload may leave a root qdisc changed");
}

void roots_undo(struct roots *rt, struct roots_journal *j)
{
	while (j->n) {
		struct root_undo *u = &j->v[--j->n];
		struct root *r = root_find(rt, u->r.ifindex);

		switch (u->what) {
		case UNDO_ADDED:
			if (r)
				root_restore(rt, r);
			break;
		case UNDO_CHANGED:
			if (r && !tc_root_set_fq(rt->tc, u->r.ifindex, u->txqs, &u->r.fq))
				r->fq = u->r.fq;
			break;
		case UNDO_RESTORED:
			if (!tc_root_set_fq(rt->tc, u->r.ifindex, u->txqs, &u->r.fq))
				ARRAY_PUSH(&rt->v, &rt->n, u->r);
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
static bool root_may_replace(const struct policy *p, const char *ifname, const struct tc_root *cur,
			     pol_err_fn errfn, void *ctx)
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
			 "unless settings.manage_root_qdisc is true "
			 "(or give these rules action: drop)",
			 ifname, cur->kind, cur->handle >> 16);
	errfn(ctx, msg);
	return false;
}

int roots_sync(struct roots *rt, struct link_watch *lw, const struct policy *p,
	       const struct pol_host *host, const struct compiled *c, const struct binding *b,
	       size_t nb, struct roots_journal *j, pol_err_fn errfn, void *ctx)
{
	struct link_info *links = NULL;
	size_t n_links = 0, i, k;
	int err, ret = 0, pass;

	err = link_watch_snapshot(lw, &links, &n_links);
	if (err)
		return err;
	/* pass 0 only checks, pass 1 changes: a refusal changes nothing */
	for (pass = 0; pass < 2 && !ret; pass++)
		for (i = 0; i < n_links; i++) {
			const struct pol_iface *pi = NULL;
			uint32_t ifindex = (uint32_t)links[i].ifindex;
			struct root *r = root_find(rt, ifindex);
			bool fresh = false;
			struct tc_root cur;
			struct tc_fq fq;

			for (k = 0; k < nb; k++)
				if (b[k].ifindex == ifindex && b[k].dir == TCS_DIR_EGRESS)
					pi = &p->ifaces[c->rs[b[k].rs].iface];
			if (!pi || !policy_iface_paces(p, pi, host)) {
				if (r && pass) {
					journal_add(j, UNDO_RESTORED, r, links[i].txqs);
					root_restore(rt, r);
				}
				continue;
			}
			if (tc_root_get(rt->tc, ifindex, &cur))
				continue;
			fq_params(p, pi, host, &fq);
			if (cur.paces && (!r || r->fq.flow_limit == fq.flow_limit))
				continue;
			if (!pass) {
				if (!r && !root_may_replace(p, links[i].name, &cur, errfn, ctx))
					ret = -EINVAL;
				continue;
			}
			if (!r) {
				if (ARRAY_PUSH(&rt->v, &rt->n,
					       ((struct root){ .ifindex = ifindex, .old = cur }))) {
					ret = -ENOMEM;
					break;
				}
				r = &rt->v[rt->n - 1];
				fresh = true;
			} else {
				journal_add(j, UNDO_CHANGED, r, links[i].txqs);
			}
			r->fq = fq;
			err = tc_root_set_fq(rt->tc, ifindex, links[i].txqs, &fq);
			if (err && fresh) {
				/* half done (mq without fq under it): put back what was there */
				tc_root_restore(rt->tc, ifindex, &r->old);
				rt->n--;
			} else if (fresh) {
				journal_add(j, UNDO_ADDED, r, links[i].txqs);
			}
			if (err == -ENOENT) {
				/* "Specified qdisc kind is unknown": no fq in this kernel */
				log_warn("%s: the kernel has no fq qdisc (sch_fq) after all",
					 links[i].name);
				rt->fq = FQ_MISSING;
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

void roots_restore_all(struct roots *rt)
{
	while (rt->n)
		root_restore(rt, &rt->v[rt->n - 1]);
}
