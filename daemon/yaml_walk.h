/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Walking a YAML document (struct ydoc, built by yaml_bounds.c) with one
 * key -> handler table per mapping (netplan's src/parse.c is the model).
 * Knows YAML, errors and positions; knows nothing of what a policy means.
 * Every problem is reported as FILE:LINE:COLUMN: message and the walk goes
 * on, so one run shows them all.
 */
#ifndef TCS_YAML_WALK_H
#define TCS_YAML_WALK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <yaml.h>

#include "policy.h"
#include "yaml_bounds.h"

#define YW_MAX_ERRORS 50 /* past that it is noise: stop */

/* One walk over one text: where it came from and what was said about it. */
struct pctx {
	const char *file;
	const char *buf;
	size_t len;
	struct ydoc *doc;
	pol_err_fn errfn;
	void *errctx;
	unsigned int n_err;
	bool stop;
	/* what was said already: an aliased node is walked once per use */
	char *said[YW_MAX_ERRORS];
};

/* ---- errors ---------------------------------------------------------------- */

/* A finished message to the callback, or to stderr when there is none. */
void yw_emit(pol_err_fn errfn, void *ctx, const char *msg);
/* line 0: no position, "FILE: message"; each message once; stops after 50. */
void perr_at(struct pctx *pc, unsigned int line, unsigned int col, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
#define perr(pc, node, ...) perr_at(pc, (node)->line + 1, (node)->col + 1, __VA_ARGS__)
/* Frees what the walk said; -EINVAL when it said anything, else err. */
int yw_done(struct pctx *pc, int err);

/* ---- nodes ------------------------------------------------------------------ */

static inline struct pol_pos pos_of(const struct ynode *n)
{
	return (struct pol_pos){ n->line + 1, n->col + 1 };
}

static inline struct ynode *node_at(struct pctx *pc, int idx)
{
	return ydoc_node(pc->doc, idx);
}

static inline const char *sval(const struct ynode *n)
{
	return n->value;
}

/* A plain "~", "null" or nothing at all: YAML's null. */
bool is_null(const struct ynode *n);
/* A scalar we can use as a C string: a value, no NUL inside (else reported). */
bool scalar_ok(struct pctx *pc, struct ynode *n, const char *key);
/* The value of a scalar key in a mapping, first one wins; NULL if absent. */
struct ynode *map_get(struct pctx *pc, struct ynode *map, const char *key);

/*
 * Plain decimal: digits only, no sign, no "0x", no leading zero. Saturates
 * at UINT64_MAX so range checks print the text as written.
 */
bool parse_dec(const char *s, uint64_t *out);
/* parse_dec, with the reason reported when it is not one. */
bool parse_uint(struct pctx *pc, struct ynode *n, const char *key, uint64_t *out);

/* ---- handler tables ----------------------------------------------------------- */

struct yw_key;
typedef int (*yw_handler)(struct pctx *pc, struct ynode *node, void *obj, const struct yw_key *key);

struct yw_key {
	const char *name;
	yaml_node_type_t type; /* YAML_NO_NODE: the handler checks */
	const char *must;      /* completes "\"key\" must be ..." */
	yw_handler fn;
	size_t off;	 /* generic handlers: the field in obj they write */
	const void *arg; /* generic handlers: their bounds, names or item parser */
};

#define KEY_BIT(i) (1u << (i))

/*
 * Walks a mapping with its table. Sets a bit in *seen for each key of the
 * table present, valid or not, so callers report a missing key only when it
 * is really missing. Null for a list or a mapping means empty. Returns 0 or
 * -ENOMEM: content errors are reported, not returned.
 */
int walk_map(struct pctx *pc, struct ynode *map, const struct yw_key *keys, const char *where,
	     void *obj, unsigned int *seen);

/* Each item of a list key (or its one scalar). */
typedef int (*yw_item_fn)(struct pctx *pc, const char *key, struct ynode *n, void *obj);
struct yw_items {
	const char *one; /* "each item of \"key\" must be ONE" */
	yw_item_fn fn;
};

/*
 * Generic handlers, a field of obj at key->off:
 * yw_list:  arg is a struct yw_items; a scalar or a list of scalars, "a list
 *           means any of its items"; the item parser writes.
 * yw_node:  the node itself (struct ynode *), for checks once all keys are read.
 * yw_uint:  a uint32_t, arg a struct yw_range.
 * yw_time:  a uint64_t of nanoseconds, arg a struct yw_range in seconds.
 * yw_enum:  an int (or a bool), arg a struct yw_enum.
 * yw_each:  a list of mappings, arg a struct yw_each: fn gets each one with
 *           this key (so it can tell which list it is in).
 */
int yw_list(struct pctx *pc, struct ynode *n, void *obj, const struct yw_key *key);
int yw_node(struct pctx *pc, struct ynode *n, void *obj, const struct yw_key *key);
int yw_uint(struct pctx *pc, struct ynode *n, void *obj, const struct yw_key *key);
int yw_time(struct pctx *pc, struct ynode *n, void *obj, const struct yw_key *key);
int yw_enum(struct pctx *pc, struct ynode *n, void *obj, const struct yw_key *key);
int yw_each(struct pctx *pc, struct ynode *n, void *obj, const struct yw_key *key);

struct yw_each {
	const char *each; /* "each EACH": what an item must be */
	yw_handler fn;
};

struct yw_range {
	uint64_t lo;
	uint64_t hi;
};

struct yw_choice {
	const char *name;
	int value;
};

/*
 * The words a key takes. A wrong word is reported as
 * "KEY \"WORD\" is not one of: ONE_OF" or, with must set, as
 * "LABEL must be MUST; got \"WORD\"" (LABEL: the key's name unless given).
 */
struct yw_enum {
	const struct yw_choice *v; /* ends with a NULL name */
	const char *one_of;
	const char *must;
	const char *label;
	bool is_bool; /* the field is a bool, not an int-sized enum */
};

/* The value of the word in the table, or -1. */
int yw_choice_find(const struct yw_choice *v, const char *word);

/* ---- documents ---------------------------------------------------------------- */

/*
 * Checks pc->buf against the bounds, loads its one document and walks the
 * root with fn (root NULL: an empty text). A second document is reported.
 * Returns 0 or -errno; content problems are reported, not returned.
 */
int walk_document(struct pctx *pc, const struct yaml_bounds *b,
		  int (*fn)(struct pctx *pc, struct ynode *root, void *obj), void *obj);

#endif
