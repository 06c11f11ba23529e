// SPDX-License-Identifier: GPL-2.0
/*
 * The YAML walker (yaml_walk.h): errors with positions, node helpers, the
 * table-driven mapping walk and the generic handlers that write a field by
 * its offset, so a new key is one table row.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <yaml.h>

#include "units.h"
#include "yaml_bounds.h"
#include "yaml_walk.h"

/* ---- errors -------------------------------------------------------------- */

void yw_emit(pol_err_fn errfn, void *ctx, const char *msg)
{
	if (errfn)
		errfn(ctx, msg);
	else
		fprintf(stderr, "%s\n", msg);
}

/* line 0: no position, "FILE: message" */
void perr_at(struct pctx *pc, unsigned int line, unsigned int col, const char *fmt, ...)
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
	yw_emit(pc->errfn, pc->errctx, full ? full : msg);
	if (pc->n_err == YW_MAX_ERRORS) {
		snprintf(msg, sizeof(msg), "%s: too many errors, stopping here", pc->file);
		yw_emit(pc->errfn, pc->errctx, msg);
		pc->stop = true;
	}
}

int yw_done(struct pctx *pc, int err)
{
	unsigned int i;

	if (!err && pc->n_err)
		err = -EINVAL;
	for (i = 0; i < pc->n_err; i++)
		free(pc->said[i]);
	pc->n_err = 0;
	return err;
}

/* ---- nodes ---------------------------------------------------------------- */

bool is_null(const struct ynode *n)
{
	static const char *const nulls[] = { "", "~", "null", "Null", "NULL" };
	unsigned int i;

	if (n->type != YAML_SCALAR_NODE || n->style != YAML_PLAIN_SCALAR_STYLE)
		return false;
	for (i = 0; i < sizeof(nulls) / sizeof(nulls[0]); i++)
		if (!strcmp(sval(n), nulls[i]))
			return true;
	return false;
}

bool scalar_ok(struct pctx *pc, struct ynode *n, const char *key)
{
	if (is_null(n)) {
		perr(pc, n, "\"%s\" has no value", key);
		return false;
	}
	if (memchr(n->value, 0, n->n)) {
		perr(pc, n, "\"%s\" contains a NUL character", key);
		return false;
	}
	return true;
}

struct ynode *map_get(struct pctx *pc, struct ynode *map, const char *key)
{
	const struct ypair *pair;

	for (pair = map->pairs; pair < map->pairs + map->n; pair++) {
		struct ynode *k = node_at(pc, pair->key);

		if (k && k->type == YAML_SCALAR_NODE && !strcmp(sval(k), key))
			return node_at(pc, pair->value);
	}
	return NULL;
}

/*
 * Plain decimal: digits only, no sign, no "0x", no leading zero (YAML 1.1
 * readers take 010 as octal 8, so it means different things to different
 * tools). Saturates at UINT64_MAX so range checks print the text as written.
 */
bool parse_dec(const char *s, uint64_t *out)
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

bool parse_uint(struct pctx *pc, struct ynode *n, const char *key, uint64_t *out)
{
	const char *s = sval(n);

	if (parse_dec(s, out))
		return true;
	if (s[0] == '0' && s[1] >= '0' && s[1] <= '9')
		perr(pc, n,
		     "\"%s\" must be a plain decimal number without leading zeros, got \"%s\"", key,
		     s);
	else
		perr(pc, n, "\"%s\" must be a plain decimal number, got \"%s\"", key, s);
	return false;
}

/* ---- handler tables ----------------------------------------------------- */

int walk_map(struct pctx *pc, struct ynode *map, const struct yw_key *keys, const char *where,
	     void *obj, unsigned int *seen)
{
	const struct ypair *start = map->pairs;
	const struct ypair *pair, *q;
	unsigned int dummy;
	int i, err;

	if (!seen)
		seen = &dummy;
	*seen = 0;
	for (pair = start; pair < start + map->n; pair++) {
		struct ynode *k = node_at(pc, pair->key), *v = node_at(pc, pair->value);
		const char *name;

		if (pc->stop)
			return 0;
		if (k->type != YAML_SCALAR_NODE) {
			perr(pc, k, "keys %s must be scalars", where);
			continue;
		}
		name = sval(k);
		if (!strcmp(name, "<<")) {
			perr(pc, k,
			     "merge keys (\"<<\") are not supported; alias a whole rule, rule list or match instead");
			continue;
		}
		for (q = start; q < pair; q++) {
			struct ynode *qk = node_at(pc, q->key);

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
				off += snprintf(hint + off, sizeof(hint) - off, "%s%s",
						j ? ", " : "", keys[j].name);
			perr(pc, k, "unknown key \"%s\" %s; expected one of: %s", name, where,
			     hint);
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
		err = keys[i].fn(pc, v, obj, &keys[i]);
		if (err)
			return err;
	}
	return 0;
}

/* A scalar or a list of scalars: "a list means any of its items". */
int yw_list(struct pctx *pc, struct ynode *n, void *obj, const struct yw_key *k)
{
	const struct yw_items *items = k->arg;
	const char *key = k->name, *one = items->one;
	yw_item_fn fn = items->fn;
	const int32_t *it;
	int err;

	if (n->type == YAML_SCALAR_NODE) {
		if (is_null(n)) {
			perr(pc, n, "\"%s\" has no value; remove the key to match any", key);
			return 0;
		}
		return scalar_ok(pc, n, key) ? fn(pc, key, n, obj) : 0;
	}
	if (n->type != YAML_SEQUENCE_NODE) {
		perr(pc, n, "\"%s\" must be %s, or a list of them", key, one);
		return 0;
	}
	if (!n->n) {
		perr(pc, n, "an empty list matches nothing; remove the key to match any");
		return 0;
	}
	for (it = n->items; it < n->items + n->n; it++) {
		struct ynode *v = node_at(pc, *it);

		if (pc->stop)
			return 0;
		if (v->type != YAML_SCALAR_NODE || is_null(v)) {
			perr(pc, v, "each item of \"%s\" must be %s", key, one);
			continue;
		}
		if (!scalar_ok(pc, v, key))
			continue;
		err = fn(pc, key, v, obj);
		if (err)
			return err;
	}
	return 0;
}

int yw_each(struct pctx *pc, struct ynode *seq, void *obj, const struct yw_key *key)
{
	const struct yw_each *e = key->arg;
	const int32_t *it;
	int err;

	for (it = seq->items; it < seq->items + seq->n; it++) {
		struct ynode *n = node_at(pc, *it);

		if (pc->stop)
			return 0;
		if (n->type != YAML_MAPPING_NODE) {
			perr(pc, n, "each %s", e->each);
			continue;
		}
		err = e->fn(pc, n, obj, key);
		if (err)
			return err;
	}
	return 0;
}

int yw_node(struct pctx *pc, struct ynode *n, void *obj, const struct yw_key *key)
{
	*(struct ynode **)((char *)obj + key->off) = n;
	return 0;
}

int yw_uint(struct pctx *pc, struct ynode *n, void *obj, const struct yw_key *key)
{
	const struct yw_range *r = key->arg;
	uint64_t v;

	if (!parse_uint(pc, n, key->name, &v))
		return 0;
	if (v < r->lo || v > r->hi)
		perr(pc, n, "%s %s is out of range %llu-%llu", key->name, sval(n),
		     (unsigned long long)r->lo, (unsigned long long)r->hi);
	else
		*(uint32_t *)((char *)obj + key->off) = (uint32_t)v;
	return 0;
}

int yw_time(struct pctx *pc, struct ynode *n, void *obj, const struct yw_key *key)
{
	const struct yw_range *r = key->arg;
	uint64_t ns;

	if (units_parse_time(sval(n), &ns))
		perr(pc, n, "bad %s \"%s\": expected a time such as 30s", key->name, sval(n));
	else if (ns < r->lo * 1000000000ull || ns > r->hi * 1000000000ull)
		perr(pc, n, "%s %s is out of range %llus-%llus", key->name, sval(n),
		     (unsigned long long)r->lo, (unsigned long long)r->hi);
	else
		*(uint64_t *)((char *)obj + key->off) = ns;
	return 0;
}

int yw_choice_find(const struct yw_choice *v, const char *word)
{
	for (; v->name; v++)
		if (!strcmp(v->name, word))
			return v->value;
	return -1;
}

int yw_enum(struct pctx *pc, struct ynode *n, void *obj, const struct yw_key *key)
{
	const struct yw_enum *e = key->arg;
	int v = yw_choice_find(e->v, sval(n));
	void *field = (char *)obj + key->off;

	if (v < 0 && e->must)
		perr(pc, n, "%s must be %s; got \"%s\"", e->label ? e->label : key->name, e->must,
		     sval(n));
	else if (v < 0)
		perr(pc, n, "%s \"%s\" is not one of: %s", key->name, sval(n), e->one_of);
	else if (e->is_bool)
		*(bool *)field = v;
	else
		*(int *)field = v;
	return 0;
}

/* ---- documents ------------------------------------------------------------- */

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

int walk_document(struct pctx *pc, const struct yaml_bounds *b,
		  int (*fn)(struct pctx *pc, struct ynode *root, void *obj), void *obj)
{
	struct ydoc doc[YAML_BOUNDS_DOCS];
	struct yaml_bounds_err be;
	yaml_parser_t parser;
	struct ynode *root;
	unsigned int n_ok, i;
	int err;

	if (!yaml_parser_initialize(&parser))
		return -ENOMEM;
	yaml_parser_set_input_string(&parser, (const unsigned char *)pc->buf, pc->len);
	err = yaml_bounds_load(&parser, b, doc, &n_ok, &be);
	if (err == -E2BIG) {
		perr_at(pc, be.line, be.col, "%s", be.msg);
		err = 0;
		goto out;
	}
	if (err)
		goto out;
	if (!n_ok) {
		err = load_error(pc, &parser);
		goto out;
	}
	pc->doc = &doc[0];
	root = ydoc_root(&doc[0]);
	err = fn(pc, root, obj);
	pc->doc = NULL;
	if (err || !root)
		goto out;

	/* a second document would be silently ignored: say so instead */
	if (n_ok < 2)
		err = load_error(pc, &parser);
	else if (ydoc_root(&doc[1]))
		perr_at(pc, doc[1].line + 1, doc[1].col + 1,
			"a second YAML document; a policy is one document");
out:
	for (i = 0; i < YAML_BOUNDS_DOCS; i++)
		ydoc_free(&doc[i]);
	yaml_parser_delete(&parser);
	return err;
}
