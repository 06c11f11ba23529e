// SPDX-License-Identifier: GPL-2.0
/*
 * The policy file, YAML to struct policy: libyaml's document API walked with
 * one key -> handler table per mapping (netplan's src/parse.c is the model).
 * Every problem is reported as FILE:LINE:COLUMN: message and the walk goes on,
 * so one run shows them all; any problem means no policy at all.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <fnmatch.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include <yaml.h>

#include "endpoint.h"
#include "policy.h"
#include "sha256.h"
#include "units.h"
#include "yaml_bounds.h"

#define POL_VERSION		1
#define POL_MAX_ERRORS		50		/* past that it is noise: stop */
#define POL_MAX_FILE		(16u << 20)
/* checked on the event stream before the document is built (yaml_bounds.h) */
static const struct yaml_bounds pol_bounds = {
	.max_depth = 64,		/* a policy needs 7 */
	.max_written = 1u << 20,	/* libyaml holds about 100 bytes per node */
	.max_expanded = 1u << 22,	/* no alias bombs */
};
#define POL_MAX_KEYS_MAX	(1u << 27)
#define POL_RULE_NAME_MAX	63
#define POL_IFNAME_MAX		15		/* IFNAMSIZ - 1 */
/* a pattern is part of a rule's identity, kept in tcs_rule_info.iface (64 bytes) */
#define POL_IFGLOB_MAX		63

/*
 * Names seen so far in one list, for duplicate checks in O(1): a policy of
 * 10,000 rules spent most of its parse in pairwise strcmp() otherwise. The
 * names are owned by the rules and entries, whose strings do not move.
 */
struct name_slot {
	const char *name;
	struct pol_pos pos;
};

struct name_set {
	struct name_slot *v;
	size_t cap;		/* a power of two, or 0 */
	size_t n;
};

struct pctx {
	const char *file;
	const char *buf;
	size_t len;
	yaml_document_t *doc;
	pol_err_fn errfn;
	void *errctx;
	unsigned int n_err;
	bool stop;
	/* what was said already: an aliased node is walked once per use */
	char *said[POL_MAX_ERRORS];
	struct name_set ifnames;
};

/* ---- errors -------------------------------------------------------------- */

static void emit(pol_err_fn errfn, void *ctx, const char *msg)
{
	if (errfn)
		errfn(ctx, msg);
	else
		fprintf(stderr, "%s\n", msg);
}

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
	emit(errfn, ctx, full);
}

/* line 0: no position, "FILE: message" */
static void __attribute__((format(printf, 4, 5)))
perr_at(struct pctx *pc, unsigned int line, unsigned int col, const char *fmt, ...)
{
	char msg[1024], *full;
	unsigned int i;
	va_list ap;
	int n;

	if (pc->stop)
		return;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (line)
		n = asprintf(&full, "%s:%u:%u: %s", pc->file, line, col, msg);
	else
		n = asprintf(&full, "%s: %s", pc->file, msg);
	if (n < 0)
		full = NULL;

	for (i = 0; full && i < pc->n_err; i++) {
		if (pc->said[i] && !strcmp(pc->said[i], full)) {
			free(full);
			return;
		}
	}
	pc->said[pc->n_err++] = full;
	emit(pc->errfn, pc->errctx, full ? full : msg);
	if (pc->n_err == POL_MAX_ERRORS) {
		snprintf(msg, sizeof(msg), "%s: too many errors, stopping here", pc->file);
		emit(pc->errfn, pc->errctx, msg);
		pc->stop = true;
	}
}

#define perr(pc, node, ...)                                                   \
	perr_at(pc, (node)->start_mark.line + 1, (node)->start_mark.column + 1, \
		__VA_ARGS__)

static struct pol_pos pos_of(const yaml_node_t *n)
{
	return (struct pol_pos){ n->start_mark.line + 1, n->start_mark.column + 1 };
}

/* ---- nodes ---------------------------------------------------------------- */

static yaml_node_t *node_at(struct pctx *pc, int idx)
{
	return yaml_document_get_node(pc->doc, idx);
}

static const char *sval(const yaml_node_t *n)
{
	return (const char *)n->data.scalar.value;
}

/* A plain "~", "null" or nothing at all: YAML's null. */
static bool is_null(const yaml_node_t *n)
{
	static const char *const nulls[] = { "", "~", "null", "Null", "NULL" };
	unsigned int i;

	if (n->type != YAML_SCALAR_NODE || n->data.scalar.style != YAML_PLAIN_SCALAR_STYLE)
		return false;
	for (i = 0; i < sizeof(nulls) / sizeof(nulls[0]); i++)
		if (!strcmp(sval(n), nulls[i]))
			return true;
	return false;
}

/* A scalar we can use as a C string: a value, no NUL inside. */
static bool scalar_ok(struct pctx *pc, yaml_node_t *n, const char *key)
{
	if (is_null(n)) {
		perr(pc, n, "\"%s\" has no value", key);
		return false;
	}
	if (memchr(n->data.scalar.value, 0, n->data.scalar.length)) {
		perr(pc, n, "\"%s\" contains a NUL character", key);
		return false;
	}
	return true;
}

/* The value of a scalar key in a mapping, first one wins; NULL if absent. */
static yaml_node_t *map_get(struct pctx *pc, yaml_node_t *map, const char *key)
{
	yaml_node_pair_t *pair;

	for (pair = map->data.mapping.pairs.start; pair < map->data.mapping.pairs.top; pair++) {
		yaml_node_t *k = node_at(pc, pair->key);

		if (k && k->type == YAML_SCALAR_NODE && !strcmp(sval(k), key))
			return node_at(pc, pair->value);
	}
	return NULL;
}

static size_t name_hash(const char *s)
{
	uint64_t h = 14695981039346656037ull;	/* FNV-1a */

	for (; *s; s++)
		h = (h ^ (unsigned char)*s) * 1099511628211ull;
	return (size_t)h;
}

/* The slot holding name, or the empty slot where it would go. */
static struct name_slot *name_slot(const struct name_set *ns, const char *name)
{
	size_t i = name_hash(name) & (ns->cap - 1);

	while (ns->v[i].name && strcmp(ns->v[i].name, name))
		i = (i + 1) & (ns->cap - 1);
	return &ns->v[i];
}

static const struct name_slot *name_find(const struct name_set *ns, const char *name)
{
	const struct name_slot *sl;

	if (!ns->cap)
		return NULL;
	sl = name_slot(ns, name);
	return sl->name ? sl : NULL;
}

/* Adds name unless present; kept at most half full. */
static int name_add(struct name_set *ns, const char *name, struct pol_pos pos)
{
	struct name_slot *sl;
	size_t i;

	if (2 * (ns->n + 1) > ns->cap) {
		struct name_set bigger = { .cap = ns->cap ? 2 * ns->cap : 16 };

		bigger.v = calloc(bigger.cap, sizeof(*bigger.v));
		if (!bigger.v)
			return -ENOMEM;
		for (i = 0; i < ns->cap; i++)
			if (ns->v[i].name)
				*name_slot(&bigger, ns->v[i].name) = ns->v[i];
		bigger.n = ns->n;
		free(ns->v);
		*ns = bigger;
	}
	sl = name_slot(ns, name);
	if (!sl->name) {
		*sl = (struct name_slot){ name, pos };
		ns->n++;
	}
	return 0;
}

static void name_set_free(struct name_set *ns)
{
	free(ns->v);
	*ns = (struct name_set){ 0 };
}

/* Grows an array whose capacity is n rounded up to a power of two. */
static void *push(void *v, size_t n, size_t size)
{
	if (n && (n & (n - 1)))
		return v;
	return reallocarray(v, n ? 2 * n : 1, size);
}

/*
 * Plain decimal: digits only, no sign, no "0x", no leading zero (YAML 1.1
 * readers take 010 as octal 8, so it means different things to different
 * tools). Saturates at UINT64_MAX so range checks print the text as written.
 */
static bool parse_dec(const char *s, uint64_t *out)
{
	uint64_t v = 0;
	const char *p;

	if (!*s || (s[0] == '0' && s[1]))
		return false;
	for (p = s; *p; p++) {
		if (*p < '0' || *p > '9')
			return false;
		if (v > (UINT64_MAX - 9) / 10)
			v = UINT64_MAX;
		else
			v = v * 10 + (uint64_t)(*p - '0');
	}
	*out = v;
	return true;
}

static bool parse_uint(struct pctx *pc, yaml_node_t *n, const char *key, uint64_t *out)
{
	const char *s = sval(n);

	if (parse_dec(s, out))
		return true;
	if (s[0] == '0' && s[1] >= '0' && s[1] <= '9')
		perr(pc, n, "\"%s\" must be a plain decimal number without leading zeros, got \"%s\"",
		     key, s);
	else
		perr(pc, n, "\"%s\" must be a plain decimal number, got \"%s\"", key, s);
	return false;
}

/* ---- handler tables ----------------------------------------------------- */

typedef int (*pol_handler)(struct pctx *pc, yaml_node_t *node, void *obj);

struct pol_key {
	const char *name;
	yaml_node_type_t type;	/* YAML_NO_NODE: the handler checks */
	const char *must;	/* completes "\"key\" must be ..." */
	pol_handler fn;
};

#define KEY_BIT(i) (1u << (i))

/*
 * Walks a mapping with its table. Sets a bit in *seen for each key of the
 * table present, valid or not, so callers report a missing key only when it
 * is really missing. Null for a list or a mapping means empty. Returns 0 or
 * -ENOMEM: content errors are reported, not returned.
 */
static int walk_map(struct pctx *pc, yaml_node_t *map, const struct pol_key *keys,
		    const char *where, void *obj, unsigned int *seen)
{
	yaml_node_pair_t *start = map->data.mapping.pairs.start;
	yaml_node_pair_t *pair, *q;
	unsigned int dummy;
	int i, err;

	if (!seen)
		seen = &dummy;
	*seen = 0;
	for (pair = start; pair < map->data.mapping.pairs.top; pair++) {
		yaml_node_t *k = node_at(pc, pair->key), *v = node_at(pc, pair->value);
		const char *name;

		if (pc->stop)
			return 0;
		if (k->type != YAML_SCALAR_NODE) {
			perr(pc, k, "keys %s must be scalars", where);
			continue;
		}
		name = sval(k);
		if (!strcmp(name, "<<")) {
			perr(pc, k, "merge keys (\"<<\") are not supported; alias a whole rule, rule list or match instead");
			continue;
		}
		for (q = start; q < pair; q++) {
			yaml_node_t *qk = node_at(pc, q->key);

			if (qk->type == YAML_SCALAR_NODE && !strcmp(sval(qk), name))
				break;
		}
		if (q < pair) {
			struct pol_pos first = pos_of(node_at(pc, q->key));

			perr(pc, k, "duplicate key \"%s\" %s (first at %u:%u)", name, where,
			     first.line, first.col);
			continue;
		}

		for (i = 0; keys[i].name; i++)
			if (!strcmp(keys[i].name, name))
				break;
		if (!keys[i].name) {
			char hint[256] = "";
			size_t off = 0;
			int j;

			for (j = 0; keys[j].name && off < sizeof(hint); j++)
				off += snprintf(hint + off, sizeof(hint) - off, "%s%s", j ? ", " : "",
						keys[j].name);
			perr(pc, k, "unknown key \"%s\" %s; expected one of: %s", name, where, hint);
			continue;
		}
		*seen |= KEY_BIT(i);

		if (keys[i].type != YAML_NO_NODE && v->type != keys[i].type) {
			if (keys[i].type != YAML_SCALAR_NODE && is_null(v))
				continue;
			perr(pc, v, "\"%s\" must be %s", name, keys[i].must);
			continue;
		}
		if (keys[i].type == YAML_SCALAR_NODE && !scalar_ok(pc, v, name))
			continue;
		err = keys[i].fn(pc, v, obj);
		if (err)
			return err;
	}
	return 0;
}

/* ---- rules: match fields ------------------------------------------------- */

struct iface_state {
	struct policy *p;
	struct pol_iface ifc;
	const char *label;	/* the entry's name for messages */
	struct name_set rule_names[POL_DIR_NR];
};

struct rule_state {
	struct iface_state *is;
	enum pol_dir dir;
	struct pol_rule r;
	bool rate_ok;
	yaml_node_t *burst;
	yaml_node_t *ports;	/* first sport/dport: where a proto clash is reported */
	yaml_node_t *action;
	yaml_node_t *max_delay, *ecn, *ecn_threshold;	/* pace keys, checked once all are read */
};

static const struct {
	const char *name;
	uint8_t num;
} protos[] = {
	{ "tcp", 6 }, { "udp", 17 }, { "icmp", 1 }, { "icmpv6", 58 }, { "sctp", 132 },
	{ "udplite", 136 },
};

static bool proto_has_ports(unsigned int num)
{
	return num == 6 || num == 17 || num == 132 || num == 136;
}

typedef int (*item_fn)(struct pctx *pc, const char *key, yaml_node_t *n, struct rule_state *rs);

static int add_range(struct pol_range **v, size_t *n, unsigned int lo, unsigned int hi)
{
	struct pol_range *nv = push(*v, *n, sizeof(**v));

	if (!nv)
		return -ENOMEM;
	*v = nv;
	nv[(*n)++] = (struct pol_range){ (uint16_t)lo, (uint16_t)hi };
	return 0;
}

static int item_proto(struct pctx *pc, const char *key, yaml_node_t *n, struct rule_state *rs)
{
	struct pol_match *m = &rs->r.match;
	const char *s = sval(n);
	uint64_t v;
	size_t i;

	if (*s >= '0' && *s <= '9') {
		if (!parse_uint(pc, n, key, &v))
			return 0;
		if (v > 255) {
			perr(pc, n, "protocol %s is out of range 0-255", s);
			return 0;
		}
		return add_range(&m->proto, &m->n_proto, (unsigned int)v, (unsigned int)v);
	}
	for (i = 0; i < sizeof(protos) / sizeof(protos[0]); i++)
		if (!strcasecmp(s, protos[i].name))
			return add_range(&m->proto, &m->n_proto, protos[i].num, protos[i].num);
	perr(pc, n, "unknown protocol \"%s\"; use tcp, udp, icmp, icmpv6, sctp, udplite or a number 0-255",
	     s);
	return 0;
}

/* One side of a port range; false (reported) when it is not a port. */
static bool port_value(struct pctx *pc, yaml_node_t *n, const char *text, uint64_t *v)
{
	if (!parse_dec(text, v)) {
		perr(pc, n, "bad port \"%s\": expected a number 0-65535 or a range \"lo-hi\"", sval(n));
		return false;
	}
	if (*v > 65535) {
		perr(pc, n, "port %s is out of range 0-65535", text);
		return false;
	}
	return true;
}

static int item_port(struct pctx *pc, const char *key, yaml_node_t *n, struct rule_state *rs)
{
	struct pol_match *m = &rs->r.match;
	const char *s = sval(n), *dash = strchr(s, '-');
	uint64_t lo, hi;
	char left[32];

	if (!rs->ports)
		rs->ports = n;
	if (!dash) {
		if (!port_value(pc, n, s, &lo))
			return 0;
		hi = lo;
	} else {
		if ((size_t)(dash - s) >= sizeof(left)) {
			perr(pc, n, "bad port \"%s\": expected a number 0-65535 or a range \"lo-hi\"", s);
			return 0;
		}
		memcpy(left, s, (size_t)(dash - s));
		left[dash - s] = '\0';
		if (!port_value(pc, n, left, &lo) || !port_value(pc, n, dash + 1, &hi))
			return 0;
		if (lo > hi) {
			perr(pc, n, "port range \"%s\" is reversed", s);
			return 0;
		}
	}
	if (!strcmp(key, "sport"))
		return add_range(&m->sport, &m->n_sport, (unsigned int)lo, (unsigned int)hi);
	return add_range(&m->dport, &m->n_dport, (unsigned int)lo, (unsigned int)hi);
}

static int item_dscp(struct pctx *pc, const char *key, yaml_node_t *n, struct rule_state *rs)
{
	struct pol_match *m = &rs->r.match;
	uint64_t v;

	if (!parse_uint(pc, n, key, &v))
		return 0;
	if (v > 63) {
		perr(pc, n, "dscp %s is out of range 0-63", sval(n));
		return 0;
	}
	return add_range(&m->dscp, &m->n_dscp, (unsigned int)v, (unsigned int)v);
}

static int item_prefix(struct pctx *pc, const char *key, yaml_node_t *n, struct rule_state *rs)
{
	struct pol_match *m = &rs->r.match;
	const char *s = sval(n), *slash = strchr(s, '/');
	size_t alen = slash ? (size_t)(slash - s) : strlen(s);
	struct pol_prefix pfx = { 0 }, *nv;
	char addr[INET6_ADDRSTRLEN + 1], fixed[INET6_ADDRSTRLEN];
	unsigned int max, i;
	bool host_bits = false;
	uint64_t len;

	if (alen >= sizeof(addr))
		goto bad;
	memcpy(addr, s, alen);
	addr[alen] = '\0';
	if (inet_pton(AF_INET, addr, pfx.addr) == 1) {
		pfx.family = 4;
		max = 32;
	} else if (inet_pton(AF_INET6, addr, pfx.addr) == 1) {
		pfx.family = 6;
		max = 128;
	} else {
		goto bad;
	}

	len = max;
	if (slash && !parse_dec(slash + 1, &len)) {
		perr(pc, n, "bad prefix length in \"%s\": expected a number 0-%u", s, max);
		return 0;
	}
	if (len > max) {
		perr(pc, n, "prefix length %s in \"%s\" is out of range 0-%u for IPv%u", slash + 1, s,
		     max, pfx.family);
		return 0;
	}
	pfx.len = (uint8_t)len;
	for (i = 0; i < max / 8; i++) {
		unsigned int keep = len >= (i + 1) * 8 ? 8 : len > i * 8 ? len - i * 8 : 0;
		uint8_t mask = (uint8_t)(0xff00u >> keep);

		if (pfx.addr[i] & ~mask)
			host_bits = true;
		pfx.addr[i] &= mask;
	}
	if (host_bits) {
		inet_ntop(pfx.family == 4 ? AF_INET : AF_INET6, pfx.addr, fixed, sizeof(fixed));
		perr(pc, n, "%s has host bits set; did you mean %s/%u?", s, fixed, pfx.len);
		return 0;
	}

	if (!strcmp(key, "src")) {
		nv = push(m->src, m->n_src, sizeof(*nv));
		if (!nv)
			return -ENOMEM;
		m->src = nv;
		nv[m->n_src++] = pfx;
	} else {
		nv = push(m->dst, m->n_dst, sizeof(*nv));
		if (!nv)
			return -ENOMEM;
		m->dst = nv;
		nv[m->n_dst++] = pfx;
	}
	return 0;
bad:
	perr(pc, n, "bad address \"%s\": expected an IPv4 or IPv6 address or CIDR prefix", s);
	return 0;
}

/* A scalar or a list of scalars: "a list means any of its items". */
static int walk_list(struct pctx *pc, yaml_node_t *n, const char *key, const char *one,
		     item_fn fn, struct rule_state *rs)
{
	yaml_node_item_t *it;
	int err;

	if (n->type == YAML_SCALAR_NODE) {
		if (is_null(n)) {
			perr(pc, n, "\"%s\" has no value; remove the key to match any", key);
			return 0;
		}
		return scalar_ok(pc, n, key) ? fn(pc, key, n, rs) : 0;
	}
	if (n->type != YAML_SEQUENCE_NODE) {
		perr(pc, n, "\"%s\" must be %s, or a list of them", key, one);
		return 0;
	}
	if (n->data.sequence.items.start == n->data.sequence.items.top) {
		perr(pc, n, "an empty list matches nothing; remove the key to match any");
		return 0;
	}
	for (it = n->data.sequence.items.start; it < n->data.sequence.items.top; it++) {
		yaml_node_t *v = node_at(pc, *it);

		if (pc->stop)
			return 0;
		if (v->type != YAML_SCALAR_NODE || is_null(v)) {
			perr(pc, v, "each item of \"%s\" must be %s", key, one);
			continue;
		}
		if (!scalar_ok(pc, v, key))
			continue;
		err = fn(pc, key, v, rs);
		if (err)
			return err;
	}
	return 0;
}

static int h_proto(struct pctx *pc, yaml_node_t *n, void *obj)
{
	return walk_list(pc, n, "proto", "a protocol", item_proto, obj);
}

static int h_sport(struct pctx *pc, yaml_node_t *n, void *obj)
{
	return walk_list(pc, n, "sport", "a port or a port range", item_port, obj);
}

static int h_dport(struct pctx *pc, yaml_node_t *n, void *obj)
{
	return walk_list(pc, n, "dport", "a port or a port range", item_port, obj);
}

static int h_dscp(struct pctx *pc, yaml_node_t *n, void *obj)
{
	return walk_list(pc, n, "dscp", "a DSCP value", item_dscp, obj);
}

static int h_src(struct pctx *pc, yaml_node_t *n, void *obj)
{
	return walk_list(pc, n, "src", "an address or prefix", item_prefix, obj);
}

static int h_dst(struct pctx *pc, yaml_node_t *n, void *obj)
{
	return walk_list(pc, n, "dst", "an address or prefix", item_prefix, obj);
}

static const struct pol_key match_keys[] = {
	{ "proto", YAML_NO_NODE, NULL, h_proto },
	{ "src", YAML_NO_NODE, NULL, h_src },
	{ "dst", YAML_NO_NODE, NULL, h_dst },
	{ "sport", YAML_NO_NODE, NULL, h_sport },
	{ "dport", YAML_NO_NODE, NULL, h_dport },
	{ "dscp", YAML_NO_NODE, NULL, h_dscp },
	{ NULL, YAML_NO_NODE, NULL, NULL },
};

/* ---- rules --------------------------------------------------------------- */

/* Where the number of "12.5mbit" ends: DIGITS[.DIGITS], else NULL. */
static const char *number_end(const char *s)
{
	if (*s < '0' || *s > '9')
		return NULL;
	while (*s >= '0' && *s <= '9')
		s++;
	if (*s == '.') {
		s++;
		if (*s < '0' || *s > '9')
			return NULL;
		while (*s >= '0' && *s <= '9')
			s++;
	}
	return s;
}

/* units_parse_* says only "no"; this says why, for the message. */
enum unit_verdict { UV_OK, UV_BAD_NUMBER, UV_NO_UNIT, UV_BAD_UNIT, UV_SPACE, UV_TOO_BIG };

static enum unit_verdict unit_why(const char *s, int (*parse)(const char *, uint64_t *),
				  uint64_t *v, const char **unit)
{
	char probe[64];
	const char *end;

	if (!parse(s, v))
		return UV_OK;
	if (strpbrk(s, " \t"))
		return UV_SPACE;
	end = number_end(s);
	if (!end)
		return UV_BAD_NUMBER;
	*unit = end;
	if (!*end)
		return UV_NO_UNIT;
	if (strlen(end) + 2 > sizeof(probe))
		return UV_BAD_UNIT;
	snprintf(probe, sizeof(probe), "1%s", end);
	if (parse(probe, v))
		return UV_BAD_UNIT;
	return UV_TOO_BIG;
}

static void no_spaces(const char *s, char *out, size_t len)
{
	size_t o = 0;

	for (; *s && o + 1 < len; s++)
		if (*s != ' ' && *s != '\t')
			out[o++] = *s;
	out[o] = '\0';
}

static int h_rule_name(struct pctx *pc, yaml_node_t *n, void *obj)
{
	struct rule_state *rs = obj;
	struct name_set *names = &rs->is->rule_names[rs->dir];
	const struct name_slot *first;
	const char *s = sval(n);
	size_t len = strlen(s);

	if (!len || len > POL_RULE_NAME_MAX || strspn(s, "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
						     "abcdefghijklmnopqrstuvwxyz"
						     "0123456789_.-") != len) {
		perr(pc, n, "bad rule name \"%s\": use 1-%d characters from A-Z a-z 0-9 _ . -", s,
		     POL_RULE_NAME_MAX);
		return 0;	/* unnamed: it cannot clash with later rules */
	}
	first = name_find(names, s);
	if (first)
		perr(pc, n, "duplicate rule name \"%s\" in %s %s (first at %u:%u)", s,
		     rs->is->label, pol_dir_name(rs->dir), first->pos.line, first->pos.col);
	/* kept even when a duplicate: it names the rule in later messages */
	rs->r.name = strdup(s);
	if (!rs->r.name)
		return -ENOMEM;
	return first ? 0 : name_add(names, rs->r.name, rs->r.pos);
}

static int h_match(struct pctx *pc, yaml_node_t *n, void *obj)
{
	return walk_map(pc, n, match_keys, "in match", obj, NULL);
}

static int h_rate(struct pctx *pc, yaml_node_t *n, void *obj)
{
	struct rule_state *rs = obj;
	const char *s = sval(n), *unit = "";
	char fixed[64];

	switch (unit_why(s, units_parse_rate, &rs->r.rate_bps, &unit)) {
	case UV_OK:
		if (!rs->r.rate_bps) {
			perr(pc, n, "rate must be greater than 0");
			return 0;
		}
		rs->rate_ok = true;
		return 0;
	case UV_SPACE:
		no_spaces(s, fixed, sizeof(fixed));
		perr(pc, n, "rate \"%s\" must not contain spaces; write %s", s, fixed);
		return 0;
	case UV_BAD_NUMBER:
		perr(pc, n, "bad rate \"%s\": expected a number and a unit, e.g. 10mbit", s);
		return 0;
	case UV_NO_UNIT:
		perr(pc, n, "rate \"%s\" needs a unit, e.g. %smbit or %sbps (bytes/s)", s, s, s);
		return 0;
	case UV_BAD_UNIT:
		perr(pc, n, "unknown rate unit \"%s\" in \"%s\"; use bit, kbit, mbit, gbit, tbit, bps, kbps, ... (tc(8) units)",
		     unit, s);
		return 0;
	case UV_TOO_BIG:
		perr(pc, n, "rate \"%s\" is too large (more than 2^64-1 bit/s)", s);
		return 0;
	}
	return 0;
}

static int h_burst(struct pctx *pc, yaml_node_t *n, void *obj)
{
	struct rule_state *rs = obj;

	rs->burst = n;	/* resolved once the rate is known, in any key order */
	return 0;
}

static int h_per(struct pctx *pc, yaml_node_t *n, void *obj)
{
	struct rule_state *rs = obj;
	enum pol_per per;

	for (per = POL_PER_FLOW; per <= POL_PER_RULE; per++) {
		if (!strcmp(sval(n), pol_per_name(per))) {
			rs->r.per = per;
			return 0;
		}
	}
	perr(pc, n, "\"per\" must be one of: flow, src, dst, rule; got \"%s\"", sval(n));
	return 0;
}

/* Every action a policy may name; later ones are known but not there yet. */
static const struct {
	const char *name;
	int act;		/* enum pol_action, or -1 when not supported yet */
} actions[] = {
	{ "drop", POL_ACT_DROP },
	{ "pace", POL_ACT_PACE },
};

static int h_action(struct pctx *pc, yaml_node_t *n, void *obj)
{
	struct rule_state *rs = obj;
	size_t i;

	for (i = 0; i < sizeof(actions) / sizeof(actions[0]); i++) {
		if (strcmp(sval(n), actions[i].name))
			continue;
		rs->r.action = (enum pol_action)actions[i].act;
		rs->r.action_pos = pos_of(n);
		rs->action = n;
		return 0;
	}
	perr(pc, n, "unknown action \"%s\"; expected drop or pace", sval(n));
	return 0;
}

static int h_max_delay(struct pctx *pc, yaml_node_t *n, void *obj)
{
	((struct rule_state *)obj)->max_delay = n;
	return 0;
}

static int h_ecn(struct pctx *pc, yaml_node_t *n, void *obj)
{
	struct rule_state *rs = obj;

	rs->ecn = n;
	if (!strcmp(sval(n), "true"))
		rs->r.ecn = true;
	else if (strcmp(sval(n), "false"))
		perr(pc, n, "ecn must be true or false; got \"%s\"", sval(n));
	return 0;
}

static int h_ecn_threshold(struct pctx *pc, yaml_node_t *n, void *obj)
{
	((struct rule_state *)obj)->ecn_threshold = n;
	return 0;
}

static uint64_t bytes_ns(uint64_t bytes, uint64_t bps)
{
	return (uint64_t)(((unsigned __int128)bytes * 8000000000ull + bps - 1) / bps);
}

/*
 * Pace keys, once the whole rule is read: max_delay defaults to 5 ms and is
 * never below the time one 64 KiB skb takes at the rate (such a packet could
 * never be sent); ecn_threshold defaults to a quarter of max_delay.
 */
static void resolve_pace(struct pctx *pc, struct rule_state *rs)
{
	yaml_node_t *only = rs->max_delay ? rs->max_delay : rs->ecn ? rs->ecn : rs->ecn_threshold;
	uint64_t floor, ns;
	char rate[32];

	if (rs->r.action == POL_ACT_PACE && rs->dir == POL_INGRESS) {
		perr(pc, rs->action,
		     "action \"pace\" only works on egress: arriving packets cannot be held back; "
		     "use drop");
		return;
	}
	if (rs->r.action == POL_ACT_DROP && only) {
		perr(pc, only, "max_delay, ecn and ecn_threshold only apply to action: pace");
		return;
	}
	if (rs->dir == POL_INGRESS && only) {
		perr(pc, only, "max_delay, ecn and ecn_threshold only apply to egress rules");
		return;
	}
	if (!rs->rate_ok)
		return;
	floor = bytes_ns(POL_MAX_SKB_BYTES, rs->r.rate_bps);
	rs->r.max_delay_ns = floor > POL_DEFAULT_MAX_DELAY_NS ? floor : POL_DEFAULT_MAX_DELAY_NS;
	if (rs->max_delay) {
		if (units_parse_time(sval(rs->max_delay), &ns)) {
			perr(pc, rs->max_delay, "bad max_delay \"%s\": expected a time such as 5ms",
			     sval(rs->max_delay));
			return;
		}
		if (ns < floor) {
			perr(pc, rs->max_delay,
			     "max_delay %s is shorter than one 64 KiB packet takes at %s (%llu us)",
			     sval(rs->max_delay), units_fmt_rate(rs->r.rate_bps, rate, sizeof(rate)),
			     (unsigned long long)(floor / 1000));
			return;
		}
		if (ns > POL_MAX_MAX_DELAY_NS) {
			perr(pc, rs->max_delay,
			     "max_delay %s is longer than fq can hold a packet back (its horizon is "
			     "32 bits of microseconds: 4294 s at most)", sval(rs->max_delay));
			return;
		}
		rs->r.max_delay_ns = ns;
	}
	rs->r.ecn_ns = rs->r.max_delay_ns / 4;
	if (rs->ecn_threshold) {
		if (units_parse_time(sval(rs->ecn_threshold), &ns)) {
			perr(pc, rs->ecn_threshold,
			     "bad ecn_threshold \"%s\": expected a time such as 1ms",
			     sval(rs->ecn_threshold));
			return;
		}
		if (ns >= rs->r.max_delay_ns) {
			perr(pc, rs->ecn_threshold, "ecn_threshold %s must be below max_delay",
			     sval(rs->ecn_threshold));
			return;
		}
		if (!rs->r.ecn)
			perr(pc, rs->ecn_threshold, "ecn_threshold needs ecn: true");
		rs->r.ecn_ns = ns;
	}
}

static const struct pol_key rule_keys[] = {
	{ "name", YAML_SCALAR_NODE, "a scalar", h_rule_name },
	{ "match", YAML_MAPPING_NODE, "a mapping", h_match },
	{ "rate", YAML_SCALAR_NODE, "a scalar", h_rate },
	{ "burst", YAML_SCALAR_NODE, "a scalar", h_burst },
	{ "per", YAML_SCALAR_NODE, "a scalar", h_per },
	{ "action", YAML_SCALAR_NODE, "a scalar", h_action },
	{ "max_delay", YAML_SCALAR_NODE, "a scalar", h_max_delay },
	{ "ecn", YAML_SCALAR_NODE, "a scalar", h_ecn },
	{ "ecn_threshold", YAML_SCALAR_NODE, "a scalar", h_ecn_threshold },
	{ NULL, YAML_NO_NODE, NULL, NULL },
};
enum { RK_NAME, RK_MATCH, RK_RATE };

static uint64_t div_round_up(unsigned __int128 a, uint64_t b, bool *overflow)
{
	unsigned __int128 q = (a + b - 1) / b;

	*overflow = q > UINT64_MAX;
	return (uint64_t)q;
}

/*
 * bytes = rate for the time, rounded up: a burst never gets shorter than
 * asked. Without a valid rate the burst is only checked.
 */
static void resolve_burst(struct pctx *pc, struct rule_state *rs)
{
	const char *s, *unit = "";
	enum unit_verdict why;
	uint64_t v, ns;
	bool overflow;
	char fixed[64];

	if (!rs->burst) {
		ns = rs->dir == POL_INGRESS ? POL_DEFAULT_INGRESS_BURST_NS : POL_DEFAULT_BURST_NS;
		v = div_round_up((unsigned __int128)rs->r.rate_bps * ns, 8000000000ull, &overflow);
		rs->r.burst_bytes = overflow ? UINT64_MAX : v;
		if (rs->r.burst_bytes < POL_DEFAULT_BURST_MIN)
			rs->r.burst_bytes = POL_DEFAULT_BURST_MIN;
		return;
	}

	s = sval(rs->burst);
	if (units_parse_time(s, &ns) == 0) {
		v = div_round_up((unsigned __int128)rs->r.rate_bps * ns, 8000000000ull, &overflow);
		if (!ns) {
			perr(pc, rs->burst, "burst must be greater than 0");
		} else if (!rs->rate_ok) {
			return;
		} else if (overflow) {
			perr(pc, rs->burst, "burst \"%s\" is too large at this rate", s);
		} else {
			rs->r.burst_bytes = v ? v : 1;
		}
		return;
	}

	why = unit_why(s, units_parse_size, &v, &unit);
	if (why == UV_BAD_UNIT || why == UV_TOO_BIG) {
		/* "99999999999999999999ms" overflows as a time, not as an unknown size */
		char probe[64];

		snprintf(probe, sizeof(probe), "1%s", unit);
		if (strlen(unit) + 2 <= sizeof(probe) && units_parse_time(probe, &ns) == 0)
			why = UV_TOO_BIG;
	}
	switch (why) {
	case UV_OK:
		if (!v)
			perr(pc, rs->burst, "burst must be greater than 0");
		rs->r.burst_bytes = v;
		break;
	case UV_SPACE:
		no_spaces(s, fixed, sizeof(fixed));
		perr(pc, rs->burst, "burst \"%s\" must not contain spaces; write %s", s, fixed);
		break;
	case UV_BAD_NUMBER:
	case UV_NO_UNIT:
		perr(pc, rs->burst, "bad burst \"%s\": expected a size such as 64kb or a time such as 10ms",
		     s);
		break;
	case UV_BAD_UNIT:
		perr(pc, rs->burst, "unknown burst unit \"%s\" in \"%s\"; use b, kb, mb, gb, kbit, mbit, gbit (tc(8) sizes) or s, ms, us",
		     unit, s);
		break;
	case UV_TOO_BIG:
		perr(pc, rs->burst, "burst \"%s\" is too large", s);
		break;
	}
}

static const char *proto_name(unsigned int num, char *buf, size_t len)
{
	size_t i;

	for (i = 0; i < sizeof(protos) / sizeof(protos[0]); i++)
		if (protos[i].num == num)
			return protos[i].name;
	snprintf(buf, len, "%u", num);
	return buf;
}

static void free_rule(struct pol_rule *r)
{
	free(r->name);
	free(r->match.proto);
	free(r->match.sport);
	free(r->match.dport);
	free(r->match.dscp);
	free(r->match.src);
	free(r->match.dst);
}

static int parse_rule(struct pctx *pc, struct iface_state *is, enum pol_dir dir, yaml_node_t *map)
{
	struct rule_state rs = {
		.is = is,
		.dir = dir,
		.r = { .pos = pos_of(map), .per = POL_PER_FLOW,
		       .action = dir == POL_EGRESS ? POL_ACT_AUTO : POL_ACT_DROP },
	};
	struct pol_rules *rules = &is->ifc.dir[dir];
	struct pol_rule *nv;
	unsigned int seen;
	char num[8];
	size_t i;
	int err;

	err = walk_map(pc, map, rule_keys, "in rule", &rs, &seen);
	if (err)
		goto out_free;

	if (!(seen & KEY_BIT(RK_NAME)))
		perr(pc, map, "missing \"name\" in rule");
	if (!(seen & KEY_BIT(RK_RATE))) {
		if (rs.r.name)
			perr(pc, map, "missing \"rate\" in rule \"%s\"", rs.r.name);
		else
			perr(pc, map, "missing \"rate\" in rule");
	}
	if (rs.rate_ok || rs.burst)
		resolve_burst(pc, &rs);
	if (!rs.action)
		rs.r.action_pos = rs.r.pos;
	resolve_pace(pc, &rs);

	/* ports without proto: the compile step narrows to the port protocols */
	for (i = 0; rs.ports && i < rs.r.match.n_proto; i++) {
		if (!proto_has_ports(rs.r.match.proto[i].lo)) {
			perr(pc, rs.ports,
			     "ports only apply to tcp, udp, sctp and udplite; rule \"%s\" matches proto %s",
			     rs.r.name ? rs.r.name : "?",
			     proto_name(rs.r.match.proto[i].lo, num, sizeof(num)));
			break;
		}
	}

	/* kept even when wrong: later duplicates are still found, all is freed as one */
	nv = push(rules->v, rules->n, sizeof(*nv));
	if (!nv) {
		err = -ENOMEM;
		goto out_free;
	}
	rules->v = nv;
	nv[rules->n++] = rs.r;
	return 0;

out_free:
	free_rule(&rs.r);
	return err;
}

/* ---- interfaces ---------------------------------------------------------- */

static int parse_rules(struct pctx *pc, struct iface_state *is, enum pol_dir dir, yaml_node_t *seq)
{
	yaml_node_item_t *it;
	int err;

	for (it = seq->data.sequence.items.start; it < seq->data.sequence.items.top; it++) {
		yaml_node_t *n = node_at(pc, *it);

		if (pc->stop)
			return 0;
		if (n->type != YAML_MAPPING_NODE) {
			perr(pc, n, "each rule must be a mapping with \"name\" and \"rate\"");
			continue;
		}
		err = parse_rule(pc, is, dir, n);
		if (err)
			return err;
	}
	return 0;
}

static int h_ingress(struct pctx *pc, yaml_node_t *n, void *obj)
{
	return parse_rules(pc, obj, POL_INGRESS, n);
}

static int h_egress(struct pctx *pc, yaml_node_t *n, void *obj)
{
	return parse_rules(pc, obj, POL_EGRESS, n);
}

static int h_iface_name(struct pctx *pc, yaml_node_t *n, void *obj)
{
	struct iface_state *is = obj;
	const struct name_slot *first;
	const char *s = sval(n);
	size_t len = strlen(s);
	bool glob = strpbrk(s, "*?[") != NULL;

	if (!len)
		perr(pc, n, "interface name must not be empty");
	else if (strpbrk(s, "/: \t\r\n\v\f") || !strcmp(s, ".") || !strcmp(s, ".."))
		perr(pc, n, "bad interface name \"%s\": names cannot be \".\" or \"..\" nor contain '/', ':' or whitespace",
		     s);
	else if (!glob && len > POL_IFNAME_MAX)
		perr(pc, n, "interface name \"%s\" is longer than %d characters", s, POL_IFNAME_MAX);
	else if (glob && len > POL_IFGLOB_MAX)
		perr(pc, n, "interface pattern \"%s\" is longer than %d characters", s,
		     POL_IFGLOB_MAX);

	first = name_find(&pc->ifnames, s);
	if (first)
		perr(pc, n, "duplicate interface entry \"%s\" (first at %u:%u)", s,
		     first->pos.line, first->pos.col);
	is->ifc.name = strdup(s);
	if (!is->ifc.name)
		return -ENOMEM;
	return first ? 0 : name_add(&pc->ifnames, is->ifc.name, is->ifc.pos);
}

static const struct pol_key iface_keys[] = {
	{ "name", YAML_SCALAR_NODE, "a scalar", h_iface_name },
	{ "ingress", YAML_SEQUENCE_NODE, "a list of rules", h_ingress },
	{ "egress", YAML_SEQUENCE_NODE, "a list of rules", h_egress },
	{ NULL, YAML_NO_NODE, NULL, NULL },
};
enum { IK_NAME };

static void free_iface(struct pol_iface *ifc)
{
	size_t i;
	int d;

	free(ifc->name);
	for (d = 0; d < POL_DIR_NR; d++) {
		for (i = 0; i < ifc->dir[d].n; i++)
			free_rule(&ifc->dir[d].v[i]);
		free(ifc->dir[d].v);
	}
}

static int parse_iface(struct pctx *pc, struct policy *p, yaml_node_t *map)
{
	struct iface_state is = { .p = p, .ifc = { .pos = pos_of(map) }, .label = "(unnamed)" };
	yaml_node_t *name = map_get(pc, map, "name");
	struct pol_iface *nv;
	unsigned int seen;
	int err;

	/* the name labels messages about rules, which may come before it */
	if (name && name->type == YAML_SCALAR_NODE && !is_null(name))
		is.label = sval(name);

	err = walk_map(pc, map, iface_keys, "in interface entry", &is, &seen);
	if (err)
		goto out_free;
	if (!(seen & KEY_BIT(IK_NAME)))
		perr(pc, map, "missing \"name\" in interface entry");

	nv = push(p->ifaces, p->n_ifaces, sizeof(*nv));
	if (!nv) {
		err = -ENOMEM;
		goto out_free;
	}
	p->ifaces = nv;
	nv[p->n_ifaces++] = is.ifc;
	goto out;

out_free:
	free_iface(&is.ifc);
out:
	name_set_free(&is.rule_names[POL_INGRESS]);
	name_set_free(&is.rule_names[POL_EGRESS]);
	return err;
}

static int h_interfaces(struct pctx *pc, yaml_node_t *n, void *obj)
{
	yaml_node_item_t *it;
	int err;

	for (it = n->data.sequence.items.start; it < n->data.sequence.items.top; it++) {
		yaml_node_t *v = node_at(pc, *it);

		if (pc->stop)
			return 0;
		if (v->type != YAML_MAPPING_NODE) {
			perr(pc, v, "each interface entry must be a mapping with \"name\" and rules");
			continue;
		}
		err = parse_iface(pc, obj, v);
		if (err)
			return err;
	}
	return 0;
}

/* ---- settings and the top level ------------------------------------------ */

static int h_max_keys(struct pctx *pc, yaml_node_t *n, void *obj)
{
	struct policy *p = obj;
	uint64_t v;

	if (!parse_uint(pc, n, "max_keys", &v))
		return 0;
	if (v < 1 || v > POL_MAX_KEYS_MAX)
		perr(pc, n, "max_keys %s is out of range 1-%u", sval(n), POL_MAX_KEYS_MAX);
	else
		p->settings.max_keys = (uint32_t)v;
	return 0;
}

static int h_tc_priority(struct pctx *pc, yaml_node_t *n, void *obj)
{
	struct policy *p = obj;
	uint64_t v;

	if (!parse_uint(pc, n, "tc_priority", &v))
		return 0;
	if (v < 1 || v > 65535)
		perr(pc, n, "tc_priority %s is out of range 1-65535", sval(n));
	else
		p->settings.tc_priority = (uint32_t)v;
	return 0;
}

static int h_on_stop(struct pctx *pc, yaml_node_t *n, void *obj)
{
	struct policy *p = obj;
	const char *s = sval(n);

	if (!strcmp(s, "remove"))
		p->settings.on_stop = POL_ON_STOP_REMOVE;
	else if (!strcmp(s, "keep"))
		p->settings.on_stop = POL_ON_STOP_KEEP;
	else
		perr(pc, n, "on_stop \"%s\" is not one of: remove, keep", s);
	return 0;
}

/* A time setting between lo and hi seconds. */
static void setting_time(struct pctx *pc, yaml_node_t *n, const char *key, uint64_t lo_s,
			 uint64_t hi_s, uint64_t *out)
{
	uint64_t ns;

	if (units_parse_time(sval(n), &ns))
		perr(pc, n, "bad %s \"%s\": expected a time such as 30s", key, sval(n));
	else if (ns < lo_s * 1000000000ull || ns > hi_s * 1000000000ull)
		perr(pc, n, "%s %s is out of range %llus-%llus", key, sval(n),
		     (unsigned long long)lo_s, (unsigned long long)hi_s);
	else
		*out = ns;
}

static int h_resync(struct pctx *pc, yaml_node_t *n, void *obj)
{
	setting_time(pc, n, "resync", 1, 3600, &((struct policy *)obj)->settings.resync_ns);
	return 0;
}

static int h_metrics_interval(struct pctx *pc, yaml_node_t *n, void *obj)
{
	setting_time(pc, n, "metrics_interval", 1, 3600,
		     &((struct policy *)obj)->settings.metrics_interval_ns);
	return 0;
}

static int h_metrics_textfile(struct pctx *pc, yaml_node_t *n, void *obj)
{
	struct policy *p = obj;
	const char *s = sval(n);

	if (s[0] != '/' || strlen(s) >= 4096) {
		perr(pc, n, "metrics_textfile \"%s\" must be an absolute path", s);
		return 0;
	}
	free(p->settings.metrics_textfile);
	p->settings.metrics_textfile = strdup(s);
	return p->settings.metrics_textfile ? 0 : -ENOMEM;
}

static int h_metrics_listen(struct pctx *pc, yaml_node_t *n, void *obj)
{
	struct policy *p = obj;
	struct sockaddr_storage ss;
	const char *why;
	socklen_t len;

	if (endpoint_parse(sval(n), &ss, &len, &why)) {
		perr(pc, n, "metrics_listen \"%s\": %s (e.g. 127.0.0.1:9977)", sval(n), why);
		return 0;
	}
	free(p->settings.metrics_listen);
	p->settings.metrics_listen = strdup(sval(n));
	return p->settings.metrics_listen ? 0 : -ENOMEM;
}

static int h_pace_fallback(struct pctx *pc, yaml_node_t *n, void *obj)
{
	struct policy *p = obj;

	if (!strcmp(sval(n), "drop"))
		p->settings.pace_fallback = POL_PACE_FALLBACK_DROP;
	else if (!strcmp(sval(n), "refuse"))
		p->settings.pace_fallback = POL_PACE_FALLBACK_REFUSE;
	else
		perr(pc, n, "pace_fallback \"%s\" is not one of: drop, refuse", sval(n));
	return 0;
}

static int h_manage_root_qdisc(struct pctx *pc, yaml_node_t *n, void *obj)
{
	struct policy *p = obj;

	if (!strcmp(sval(n), "true"))
		p->settings.manage_root_qdisc = POL_ROOT_ANY;
	else if (!strcmp(sval(n), "false"))
		p->settings.manage_root_qdisc = POL_ROOT_NEVER;
	else if (!strcmp(sval(n), "kernel-default"))
		p->settings.manage_root_qdisc = POL_ROOT_KERNEL_DEFAULT;
	else
		perr(pc, n, "manage_root_qdisc must be true, false or kernel-default; got \"%s\"",
		     sval(n));
	return 0;
}

static int h_socket_pacing(struct pctx *pc, yaml_node_t *n, void *obj)
{
	struct policy *p = obj;

	if (!strcmp(sval(n), "auto"))
		p->settings.socket_pacing = true;
	else if (!strcmp(sval(n), "off"))
		p->settings.socket_pacing = false;
	else
		perr(pc, n, "socket_pacing \"%s\" is not one of: auto, off", sval(n));
	return 0;
}

static const struct pol_key settings_keys[] = {
	{ "max_keys", YAML_SCALAR_NODE, "a scalar", h_max_keys },
	{ "tc_priority", YAML_SCALAR_NODE, "a scalar", h_tc_priority },
	{ "on_stop", YAML_SCALAR_NODE, "a scalar", h_on_stop },
	{ "resync", YAML_SCALAR_NODE, "a scalar", h_resync },
	{ "metrics_textfile", YAML_SCALAR_NODE, "a scalar", h_metrics_textfile },
	{ "metrics_interval", YAML_SCALAR_NODE, "a scalar", h_metrics_interval },
	{ "metrics_listen", YAML_SCALAR_NODE, "a scalar", h_metrics_listen },
	{ "pace_fallback", YAML_SCALAR_NODE, "a scalar", h_pace_fallback },
	{ "manage_root_qdisc", YAML_SCALAR_NODE, "a scalar", h_manage_root_qdisc },
	{ "socket_pacing", YAML_SCALAR_NODE, "a scalar", h_socket_pacing },
	{ NULL, YAML_NO_NODE, NULL, NULL },
};

static int h_settings(struct pctx *pc, yaml_node_t *n, void *obj)
{
	return walk_map(pc, n, settings_keys, "in settings", obj, NULL);
}

/* Checked before the walk (see walk_root): nothing to do here. */
static int h_version(struct pctx *pc, yaml_node_t *n, void *obj)
{
	return 0;
}

static const struct pol_key root_keys[] = {
	{ "version", YAML_SCALAR_NODE, "a scalar", h_version },
	{ "settings", YAML_MAPPING_NODE, "a mapping", h_settings },
	{ "interfaces", YAML_SEQUENCE_NODE, "a list of interface entries", h_interfaces },
	{ NULL, YAML_NO_NODE, NULL, NULL },
};
enum { TK_VERSION, TK_SETTINGS, TK_INTERFACES };

/* A policy of another version is not read further: its keys would only be noise. */
static bool version_ok(struct pctx *pc, yaml_node_t *v)
{
	uint64_t num;

	if (v->type != YAML_SCALAR_NODE) {
		perr(pc, v, "\"version\" must be a scalar");
		return false;
	}
	if (!scalar_ok(pc, v, "version"))
		return false;
	if (parse_dec(sval(v), &num)) {
		if (num == POL_VERSION)
			return true;
		perr(pc, v, "unsupported policy version %s; this tcshaped reads version %d", sval(v),
		     POL_VERSION);
	} else {
		perr(pc, v, "unsupported policy version \"%s\"; this tcshaped reads version %d",
		     sval(v), POL_VERSION);
	}
	return false;
}

static int walk_root(struct pctx *pc, struct policy *p, yaml_node_t *root)
{
	unsigned int seen;
	yaml_node_t *v;
	int err;

	if (!root || is_null(root)) {
		perr_at(pc, 1, 1, "empty policy; expected a mapping with \"version: %d\" and \"interfaces\"",
			POL_VERSION);
		return 0;
	}
	if (root->type != YAML_MAPPING_NODE) {
		perr(pc, root, "the policy must be a mapping with \"version: %d\" and \"interfaces\"",
		     POL_VERSION);
		return 0;
	}
	v = map_get(pc, root, "version");
	if (!v)
		perr(pc, root, "missing \"version\"; the policy should start with \"version: %d\"",
		     POL_VERSION);
	else if (!version_ok(pc, v))
		return 0;

	err = walk_map(pc, root, root_keys, "at the top level", p, &seen);
	if (err)
		return err;
	if (!(seen & KEY_BIT(TK_INTERFACES)))
		perr(pc, root, "missing \"interfaces\"");
	return 0;
}

/* ---- entry points --------------------------------------------------------- */

static void syntax_error(struct pctx *pc, yaml_parser_t *parser)
{
	unsigned int line = parser->problem_mark.line + 1, col = parser->problem_mark.column + 1;
	const char *problem = parser->problem;

	if (parser->error == YAML_READER_ERROR) {
		/* the reader has offsets, not marks */
		size_t i;

		line = 1;
		col = 1;
		for (i = 0; i < parser->problem_offset && i < pc->len; i++) {
			if (pc->buf[i] == '\n') {
				line++;
				col = 1;
			} else {
				col++;
			}
		}
	}
	if (parser->context)
		perr_at(pc, line, col, "YAML syntax error: %s %s", problem, parser->context);
	else
		perr_at(pc, line, col, "YAML syntax error: %s", problem);
}

/* libyaml fails some allocations without saying so: no problem, no syntax error. */
static int load_error(struct pctx *pc, yaml_parser_t *parser)
{
	if (parser->error == YAML_MEMORY_ERROR || !parser->problem)
		return -ENOMEM;
	syntax_error(pc, parser);
	return 0;
}

static void policy_free_parts(struct policy *p)
{
	size_t i;

	for (i = 0; i < p->n_ifaces; i++)
		free_iface(&p->ifaces[i]);
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
	struct yaml_bounds_err be;
	yaml_parser_t parser;
	yaml_document_t doc;
	yaml_node_t *root;
	struct policy *p;
	unsigned int i;
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
	if (!p->path) {
		err = -ENOMEM;
		goto out_free;
	}

	err = yaml_bounds_check(buf, len, &pol_bounds, &be);
	if (err == -E2BIG) {
		perr_at(&pc, be.line, be.col, "%s", be.msg);
		err = 0;
		goto out_free;
	}
	if (err)
		goto out_free;
	if (!yaml_parser_initialize(&parser)) {
		err = -ENOMEM;
		goto out_free;
	}
	yaml_parser_set_input_string(&parser, (const unsigned char *)buf, len);
	if (!yaml_parser_load(&parser, &doc)) {
		err = load_error(&pc, &parser);
		goto out_parser;
	}
	pc.doc = &doc;
	root = yaml_document_get_root_node(&doc);
	err = walk_root(&pc, p, root);
	yaml_document_delete(&doc);
	if (err || !root)
		goto out_parser;

	/* a second document would be silently ignored: say so instead */
	if (!yaml_parser_load(&parser, &doc)) {
		err = load_error(&pc, &parser);
		goto out_parser;
	}
	if (yaml_document_get_root_node(&doc))
		perr_at(&pc, doc.start_mark.line + 1, doc.start_mark.column + 1,
			"a second YAML document; a policy is one document");
	yaml_document_delete(&doc);

out_parser:
	yaml_parser_delete(&parser);
out_free:
	if (!err && pc.n_err)
		err = -EINVAL;
	for (i = 0; i < pc.n_err; i++)
		free(pc.said[i]);
	name_set_free(&pc.ifnames);
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
	emit(errfn, ctx, msg);
}

int policy_load(const char *path, struct policy **out, pol_err_fn errfn, void *ctx)
{
	size_t len = 0, cap = 0;
	char *buf = NULL, *nb;
	ssize_t n;
	int fd, err;

	*out = NULL;
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		err = -errno;
		say(errfn, ctx, "%s: cannot open: %s", path, strerror(-err));
		return err;
	}
	/* read to the end rather than trust st_size: /dev/stdin works too */
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

int policy_settle_pace(struct policy *p, bool can_pace, pol_err_fn errfn, void *ctx)
{
	size_t i, r;
	int err = 0;

	for (i = 0; i < p->n_ifaces; i++) {
		struct pol_rules *rules = &p->ifaces[i].dir[POL_EGRESS];

		p->ifaces[i].pace_fell_back = false;
		for (r = 0; r < rules->n; r++) {
			struct pol_rule *rule = &rules->v[r];

			if (rule->action == POL_ACT_DROP || can_pace) {
				if (rule->action == POL_ACT_AUTO)
					rule->action = POL_ACT_PACE;
				continue;
			}
			if (p->settings.pace_fallback == POL_PACE_FALLBACK_DROP) {
				rule->action = POL_ACT_DROP;
				p->ifaces[i].pace_fell_back = true;
				continue;
			}
			policy_report(errfn, ctx, p->path, rule->action_pos,
				      "rule \"%s\" needs pacing, but this kernel has no fq qdisc "
				      "(sch_fq) and settings.pace_fallback is refuse",
				      rule->name);
			err = -EINVAL;
		}
	}
	return err;
}

bool policy_iface_paces(const struct pol_iface *pi)
{
	size_t r;

	for (r = 0; r < pi->dir[POL_EGRESS].n; r++)
		if (pi->dir[POL_EGRESS].v[r].action == POL_ACT_PACE)
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
	switch (dir) {
	case POL_INGRESS:
		return "ingress";
	case POL_EGRESS:
		return "egress";
	default:
		return "?";
	}
}

const char *pol_per_name(enum pol_per per)
{
	switch (per) {
	case POL_PER_FLOW:
		return "flow";
	case POL_PER_SRC:
		return "src";
	case POL_PER_DST:
		return "dst";
	case POL_PER_RULE:
		return "rule";
	default:
		return "?";
	}
}
