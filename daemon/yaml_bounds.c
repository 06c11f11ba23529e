// SPDX-License-Identifier: GPL-2.0
/*
 * YAML bounds on the event stream (see yaml_bounds.h). One pass, memory in
 * the depth and the number of anchors, time linear in the text once the
 * depth is bounded: libyaml's scanner walks its whole flow-level stack for
 * every token, so it is only the early stop at max_depth that keeps a line
 * of 100,000 '[' from taking seconds.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <yaml.h>

#include "array.h"
#include "strmap.h"
#include "yaml_bounds.h"

/*
 * Anchors: name -> the number of nodes its node expands to; the last
 * definition wins. The names are the map's own copies.
 */
static int anchor_set(struct strmap *a, const char *name, size_t size)
{
	struct strmap_slot *sl;
	char *dup = strdup(name);
	bool added;

	if (!dup)
		return -ENOMEM;
	sl = strmap_put(a, dup, &added);
	if (!added)
		free(dup);
	if (!sl)
		return -ENOMEM;
	sl->val = size;
	return 0;
}

static size_t anchor_size(const struct strmap *a, const char *name)
{
	const struct strmap_slot *sl = strmap_get(a, name);

	return sl ? (size_t)sl->val : 0;	/* undefined: the loader reports it */
}

static void anchors_free(struct strmap *a)
{
	size_t i;

	for (i = 0; i < a->cap; i++)
		free((char *)a->v[i].key);
	strmap_free(a);
}

/* An open collection: the expanded count before it, its anchor, its node. */
struct open_coll {
	size_t start;
	char *anchor;		/* owned by the event, moved here */
	int node;		/* its number in the document being built, or 0 */
	size_t pend;		/* where its items start on the builder's pending stack */
};

static int __attribute__((format(printf, 3, 4)))
past(struct yaml_bounds_err *e, const yaml_event_t *ev, const char *fmt, ...)
{
	va_list ap;

	e->line = (unsigned int)ev->start_mark.line + 1;
	e->col = (unsigned int)ev->start_mark.column + 1;
	va_start(ap, fmt);
	vsnprintf(e->msg, sizeof(e->msg), fmt, ap);
	va_end(ap);
	return -E2BIG;
}

/* ---- the text and the lists of a document, in a few big blocks ------------- */

#define YCHUNK_SIZE (256u << 10)

struct ychunk {
	struct ychunk *next;
	size_t used, size;
	_Alignas(8) char data[];
};

/* Room for size bytes, 8-aligned, that live as long as the document. */
static void *ydoc_alloc(struct ydoc *d, size_t size)
{
	struct ychunk *c = d->chunks;
	void *p;

	size = (size + 7) & ~(size_t)7;
	if (!c || c->size - c->used < size) {
		size_t room = size > YCHUNK_SIZE ? size : YCHUNK_SIZE;

		c = malloc(sizeof(*c) + room);
		if (!c)
			return NULL;
		c->size = room;
		c->used = 0;
		/* a block too big to share goes behind the one being filled */
		if (room > YCHUNK_SIZE && d->chunks) {
			c->next = d->chunks->next;
			d->chunks->next = c;
		} else {
			c->next = d->chunks;
			d->chunks = c;
		}
	}
	p = c->data + c->used;
	c->used += size;
	return p;
}

void ydoc_free(struct ydoc *d)
{
	struct ychunk *c, *next;

	for (c = d->chunks; c; c = next) {
		next = c->next;
		free(c);
	}
	free(d->nodes);
	memset(d, 0, sizeof(*d));
}

/* ---- building a document as yaml_parser_load() does ------------------------ */

struct builder {
	struct ydoc *doc;	/* NULL: not building */
	struct strmap anchors;	/* name (its own copy) -> node number */
	int32_t *pend;		/* the items of the open collections, innermost on top */
	size_t n_pend;
	bool failed;		/* a composer error, kept in the fields below */
	const char *problem, *context;
	yaml_mark_t problem_mark, context_mark;
};

static void composer_error(struct builder *bd, const char *context, yaml_mark_t context_mark,
			   const char *problem, yaml_mark_t problem_mark)
{
	bd->failed = true;
	bd->context = context;
	bd->context_mark = context_mark;
	bd->problem = problem;
	bd->problem_mark = problem_mark;
}

/* Node k into its parent (the innermost open collection), as libyaml does. */
static int node_add(struct builder *bd, const struct open_coll *parent, int k)
{
	if (!parent)
		return 0;
	return ARRAY_PUSH(&bd->pend, &bd->n_pend, k);
}

/* A node from ev (its scalar's text copied); its number, or -ENOMEM. */
static int node_push(struct builder *bd, const yaml_event_t *ev, const char *anchor,
		     const struct open_coll *parent)
{
	struct ydoc *d = bd->doc;
	struct ynode n = {
		.line = (uint32_t)ev->start_mark.line,
		.col = (uint32_t)ev->start_mark.column,
	};
	int k, err;

	switch (ev->type) {
	case YAML_SCALAR_EVENT: {
		char *v = ydoc_alloc(d, ev->data.scalar.length + 1);

		if (!v)
			return -ENOMEM;
		memcpy(v, ev->data.scalar.value, ev->data.scalar.length + 1);
		n.type = YAML_SCALAR_NODE;
		n.style = (uint8_t)ev->data.scalar.style;
		n.n = (uint32_t)ev->data.scalar.length;
		n.value = v;
		break;
	}
	case YAML_SEQUENCE_START_EVENT:
		n.type = YAML_SEQUENCE_NODE;
		break;
	default:
		n.type = YAML_MAPPING_NODE;
		break;
	}
	if (ARRAY_PUSH(&d->nodes, &d->n_nodes, n))
		return -ENOMEM;
	k = (int)d->n_nodes;
	if (anchor) {
		struct strmap_slot *sl;
		bool added;

		char *dup = strdup(anchor);

		sl = dup ? strmap_put(&bd->anchors, dup, &added) : NULL;
		if (!sl) {
			free(dup);
			return -ENOMEM;
		}
		if (!added) {
			const struct ynode *first = ydoc_node(d, (int)sl->val);

			free(dup);
			composer_error(bd, "found duplicate anchor; first occurrence",
				       (yaml_mark_t){ .line = first->line, .column = first->col },
				       "second occurrence", ev->start_mark);
			return k;
		}
		sl->val = (uint64_t)k;
	}
	err = node_add(bd, parent, k);
	return err ? err : k;
}

/* The end of collection c (node c->node): its items off the pending stack. */
static int coll_end(struct builder *bd, const struct open_coll *c)
{
	static const int32_t none[2];	/* an empty one's: the walk's pointer sums need one */
	struct ynode *n = ydoc_node(bd->doc, c->node);
	size_t count = bd->n_pend - c->pend;
	const void *items = none;

	if (count) {
		void *v = ydoc_alloc(bd->doc, count * sizeof(*bd->pend));

		if (!v)
			return -ENOMEM;
		memcpy(v, bd->pend + c->pend, count * sizeof(*bd->pend));
		items = v;
	}
	bd->n_pend = c->pend;
	if (n->type == YAML_MAPPING_NODE) {
		n->n = (uint32_t)(count / 2);
		n->pairs = items;
	} else {
		n->n = (uint32_t)count;
		n->items = items;
	}
	return 0;
}

static int alias_add(struct builder *bd, const yaml_event_t *ev, const struct open_coll *parent)
{
	const struct strmap_slot *sl = strmap_get(&bd->anchors, (char *)ev->data.alias.anchor);

	if (!sl) {
		composer_error(bd, NULL, (yaml_mark_t){ 0 }, "found undefined alias",
			       ev->start_mark);
		return 0;
	}
	return node_add(bd, parent, (int)sl->val);
}

static void document_start(struct builder *bd, struct ydoc *doc, const yaml_event_t *ev)
{
	memset(doc, 0, sizeof(*doc));
	doc->line = (uint32_t)ev->start_mark.line;
	doc->col = (uint32_t)ev->start_mark.column;
	anchors_free(&bd->anchors);
	bd->n_pend = 0;
	bd->doc = doc;
}

/* ---- the pass ---------------------------------------------------------------- */

int yaml_bounds_load(yaml_parser_t *parser, const struct yaml_bounds *b,
		     struct ydoc doc[YAML_BOUNDS_DOCS], unsigned int *n_ok,
		     struct yaml_bounds_err *e)
{
	struct open_coll *stack = calloc(b->max_depth + 1, sizeof(*stack));
	struct strmap anchors = { 0 };
	struct builder bd = { 0 };
	size_t written = 0, expanded = 0, depth = 0, i;
	unsigned int loads = 0;	/* loads finished, as yaml_parser_load() counts them */
	yaml_event_t ev;
	bool done = false;
	int err = 0, idx;

	memset(doc, 0, YAML_BOUNDS_DOCS * sizeof(*doc));
	*n_ok = 0;
	if (!stack)
		return -ENOMEM;
	while (!done && !err) {
		const struct open_coll *parent = depth ? &stack[depth - 1] : NULL;

		if (!yaml_parser_parse(parser, &ev)) {
			/* the loader's syntax error, unless a document was in already */
			if (parser->error == YAML_MEMORY_ERROR)
				err = -ENOMEM;
			break;
		}
		switch (ev.type) {
		case YAML_STREAM_END_EVENT:
			done = true;
			if (!bd.failed)
				loads = YAML_BOUNDS_DOCS;	/* the rest load empty */
			break;
		case YAML_DOCUMENT_START_EVENT:
			if (loads < YAML_BOUNDS_DOCS && !bd.failed)
				document_start(&bd, &doc[loads], &ev);
			break;
		case YAML_DOCUMENT_END_EVENT:
			if (!bd.doc)
				break;
			bd.doc = NULL;
			loads++;
			break;
		case YAML_SCALAR_EVENT:
		case YAML_SEQUENCE_START_EVENT:
		case YAML_MAPPING_START_EVENT:
			if (++written > b->max_written) {
				err = past(e, &ev, "more than %zu YAML nodes; a policy is smaller",
					   b->max_written);
				break;
			}
			expanded++;
			if (ev.type == YAML_SCALAR_EVENT) {
				if (ev.data.scalar.anchor &&
				    (err = anchor_set(&anchors, (char *)ev.data.scalar.anchor, 1)))
					break;
				if (bd.doc && !bd.failed &&
				    (idx = node_push(&bd, &ev, (char *)ev.data.scalar.anchor,
						     parent)) < 0)
					err = idx;
				break;
			}
			if (depth == b->max_depth) {
				err = past(e, &ev, "collections nested more than %u deep; a policy "
					   "needs 7", b->max_depth);
				break;
			}
			stack[depth].start = expanded - 1;
			stack[depth].node = 0;
			/* the same union member for sequences and mappings: take it over */
			if (ev.type == YAML_SEQUENCE_START_EVENT) {
				stack[depth].anchor = (char *)ev.data.sequence_start.anchor;
				ev.data.sequence_start.anchor = NULL;
			} else {
				stack[depth].anchor = (char *)ev.data.mapping_start.anchor;
				ev.data.mapping_start.anchor = NULL;
			}
			depth++;
			if (!bd.doc || bd.failed)
				break;
			idx = node_push(&bd, &ev, stack[depth - 1].anchor, parent);
			if (idx < 0)
				err = idx;
			else
				stack[depth - 1].node = idx;
			stack[depth - 1].pend = bd.n_pend;
			break;
		case YAML_SEQUENCE_END_EVENT:
		case YAML_MAPPING_END_EVENT:
			if (!depth)
				break;
			depth--;
			if (stack[depth].node && bd.doc && !bd.failed)
				err = coll_end(&bd, &stack[depth]);
			if (!err && stack[depth].anchor)
				err = anchor_set(&anchors, stack[depth].anchor,
						 expanded - stack[depth].start);
			free(stack[depth].anchor);
			stack[depth].anchor = NULL;
			break;
		case YAML_ALIAS_EVENT:
			if (++written > b->max_written) {
				err = past(e, &ev, "more than %zu YAML nodes; a policy is smaller",
					   b->max_written);
				break;
			}
			for (i = 0; i < depth; i++)
				if (stack[i].anchor &&
				    !strcmp(stack[i].anchor, (char *)ev.data.alias.anchor))
					break;
			if (i < depth) {
				err = past(e, &ev, "alias *%s is inside the node it names: it "
					   "would never end", stack[i].anchor);
				break;
			}
			expanded += anchor_size(&anchors, (char *)ev.data.alias.anchor);
			if (expanded > b->max_expanded) {
				err = past(e, &ev, "alias *%s takes the policy past %zu nodes, "
					   "counting each use of an alias as its whole node",
					   (char *)ev.data.alias.anchor, b->max_expanded);
				break;
			}
			if (bd.doc && !bd.failed)
				err = alias_add(&bd, &ev, parent);
			break;
		default:
			break;
		}
		if (bd.failed && bd.doc) {
			/* the loader stops at this document; the bounds go on */
			bd.doc = NULL;
		}
		yaml_event_delete(&ev);
	}
	for (i = 0; i < depth; i++)
		free(stack[i].anchor);
	free(stack);
	anchors_free(&bd.anchors);
	free(bd.pend);
	anchors_free(&anchors);
	if (!err && bd.failed) {
		parser->error = YAML_COMPOSER_ERROR;
		parser->context = bd.context;
		parser->context_mark = bd.context_mark;
		parser->problem = bd.problem;
		parser->problem_mark = bd.problem_mark;
	}
	*n_ok = loads;
	return err;
}
