// SPDX-License-Identifier: GPL-2.0
/*
 * The policy file, YAML to struct policy: reads the file, hashes it, walks
 * it with the policy schema (policy_schema.c over yaml_walk.c) and answers
 * questions about the result. Any problem means no policy at all.
 */
#include <errno.h>
#include <fcntl.h>
#include <fnmatch.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "policy.h"
#include "policy_schema.h"
#include "sha256.h"
#include "yaml_bounds.h"
#include "yaml_walk.h"

#define POL_MAX_FILE (16u << 20)
/* checked on every event while the document is built (yaml_bounds.h) */
static const struct yaml_bounds pol_bounds = {
	.max_depth = 64,	  /* a policy needs 7 */
	.max_written = 1u << 20,  /* a node is 24 bytes and its text */
	.max_expanded = 1u << 22, /* no alias bombs */
};

void policy_report(pol_err_fn errfn, void *ctx, const char *file, struct pol_pos pos,
		   const char *fmt, ...)
{
	char msg[1024], full[1400];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	snprintf(full, sizeof(full), "%s:%u:%u: %s", file ? file : "<policy>", pos.line, pos.col,
		 msg);
	yw_emit(errfn, ctx, full);
}

static void policy_free_parts(struct policy *p)
{
	size_t i;

	for (i = 0; i < p->n_ifaces; i++)
		pol_iface_free(&p->ifaces[i]);
	free(p->ifaces);
	free(p->settings.metrics_textfile);
	free(p->settings.metrics_listen);
	free(p->path);
	free(p);
}

int policy_parse(const char *name, const char *buf, size_t len, struct policy **out,
		 pol_err_fn errfn, void *ctx)
{
	struct pctx pc = {
		.file = name ? name : "<policy>",
		.buf = buf,
		.len = len,
		.errfn = errfn,
		.errctx = ctx,
	};
	struct policy *p;
	int err = 0;

	*out = NULL;
	if (!buf) {
		/* libyaml asserts on a NULL input */
		pc.buf = buf = "";
		pc.len = len = 0;
	}
	p = calloc(1, sizeof(*p));
	if (!p)
		return -ENOMEM;
	p->settings.max_keys = POL_DEFAULT_MAX_KEYS;
	p->settings.tc_priority = POL_DEFAULT_TC_PRIORITY;
	p->settings.resync_ns = POL_DEFAULT_RESYNC_NS;
	p->settings.metrics_interval_ns = POL_DEFAULT_METRICS_INTERVAL_NS;
	p->settings.manage_root_qdisc = POL_ROOT_KERNEL_DEFAULT;
	p->settings.socket_pacing = true;
	sha256(buf, len, p->sha256);
	p->path = strdup(pc.file);
	if (p->path)
		err = walk_document(&pc, &pol_bounds, policy_schema_walk, p);
	else
		err = -ENOMEM;
	err = yw_done(&pc, err);
	if (err) {
		policy_free_parts(p);
		return err;
	}
	*out = p;
	return 0;
}

static void __attribute__((format(printf, 3, 4)))
say(pol_err_fn errfn, void *ctx, const char *fmt, ...)
{
	char msg[4200];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	yw_emit(errfn, ctx, msg);
}

int policy_load(const char *path, struct policy **out, pol_err_fn errfn, void *ctx)
{
	size_t len = 0, cap = 0;
	char *buf = NULL, *nb;
	struct stat st;
	ssize_t n;
	int fd, err;

	*out = NULL;
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		err = -errno;
		say(errfn, ctx, "%s: cannot open: %s", path, strerror(-err));
		return err;
	}
	/*
	 * read to the end rather than trust st_size (/dev/stdin works too), but
	 * size the buffer by it: one allocation, not a doubling and copying
	 */
	if (!fstat(fd, &st) && S_ISREG(st.st_mode) && st.st_size < POL_MAX_FILE)
		cap = (size_t)st.st_size + 1;
	buf = malloc(cap ? cap : 1);
	if (!buf) {
		err = -ENOMEM;
		goto out;
	}
	for (;;) {
		if (len == cap) {
			cap = cap ? 2 * cap : 65536;
			if (cap > POL_MAX_FILE + 1)
				cap = POL_MAX_FILE + 1;
			nb = realloc(buf, cap);
			if (!nb) {
				err = -ENOMEM;
				goto out;
			}
			buf = nb;
		}
		n = read(fd, buf + len, cap - len);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			err = -errno;
			say(errfn, ctx, "%s: cannot read: %s", path, strerror(-err));
			goto out;
		}
		if (!n)
			break;
		len += (size_t)n;
		if (len > POL_MAX_FILE) {
			err = -EFBIG;
			say(errfn, ctx, "%s: too large; a policy is at most %u MiB", path,
			    POL_MAX_FILE >> 20);
			goto out;
		}
	}
	err = policy_parse(path, buf, len, out, errfn, ctx);
out:
	free(buf);
	close(fd);
	return err;
}

void policy_free(struct policy *p)
{
	if (p)
		policy_free_parts(p);
}

enum pol_action policy_rule_action(const struct policy *p, const struct pol_rule *r,
				   const struct pol_host *host)
{
	if (!host)
		return r->action == POL_ACT_PACE ? POL_ACT_PACE : POL_ACT_DROP;
	if (r->action == POL_ACT_DROP)
		return POL_ACT_DROP;
	if (host->can_pace || p->settings.pace_fallback == POL_PACE_FALLBACK_REFUSE)
		return POL_ACT_PACE;
	return POL_ACT_DROP;
}

int policy_host_check(const struct policy *p, const struct pol_host *host, pol_err_fn errfn,
		      void *ctx)
{
	size_t i, r;
	int err = 0;

	if (host->can_pace || p->settings.pace_fallback != POL_PACE_FALLBACK_REFUSE)
		return 0;
	for (i = 0; i < p->n_ifaces; i++) {
		const struct pol_rules *rules = &p->ifaces[i].dir[POL_EGRESS];

		for (r = 0; r < rules->n; r++) {
			if (rules->v[r].action == POL_ACT_DROP)
				continue;
			policy_report(errfn, ctx, p->path, rules->v[r].action_pos,
				      "rule \"%s\" needs pacing, but this kernel has no fq qdisc "
				      "(sch_fq) and settings.pace_fallback is refuse",
				      rules->v[r].name);
			err = -EINVAL;
		}
	}
	return err;
}

size_t policy_n_rules(const struct policy *p)
{
	size_t i, n = 0;

	for (i = 0; i < p->n_ifaces; i++)
		n += p->ifaces[i].dir[POL_INGRESS].n + p->ifaces[i].dir[POL_EGRESS].n;
	return n;
}

bool policy_iface_paces(const struct policy *p, const struct pol_iface *pi,
			const struct pol_host *host)
{
	size_t r;

	for (r = 0; r < pi->dir[POL_EGRESS].n; r++)
		if (policy_rule_action(p, &pi->dir[POL_EGRESS].v[r], host) == POL_ACT_PACE)
			return true;
	return false;
}

bool policy_iface_falls_back(const struct policy *p, const struct pol_iface *pi,
			     const struct pol_host *host)
{
	size_t r;

	for (r = 0; r < pi->dir[POL_EGRESS].n; r++)
		if (pi->dir[POL_EGRESS].v[r].action != POL_ACT_DROP &&
		    policy_rule_action(p, &pi->dir[POL_EGRESS].v[r], host) == POL_ACT_DROP)
			return true;
	return false;
}

const struct pol_iface *policy_iface_for(const struct policy *p, const char *ifname)
{
	size_t i;

	if (!p || !ifname)
		return NULL;
	for (i = 0; i < p->n_ifaces; i++)
		if (p->ifaces[i].name && !fnmatch(p->ifaces[i].name, ifname, 0))
			return &p->ifaces[i];
	return NULL;
}

const char *pol_dir_name(enum pol_dir dir)
{
	static const char *const names[POL_DIR_NR] = { "ingress", "egress" };

	return (unsigned int)dir < POL_DIR_NR ? names[dir] : "?";
}

const char *pol_per_name(enum pol_per per)
{
	static const char *const names[] = { "flow", "src", "dst", "rule" };

	return (unsigned int)per <= POL_PER_RULE ? names[per] : "?";
}
