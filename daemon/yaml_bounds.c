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
	int node;		/* its index in the document being built, or 0 */
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

/* ---- building a document as yaml_parser_load() does ------------------------ */

struct builder {
	yaml_document_t *doc;	/* NULL: not building */
	struct strmap anchors;	/* name (its own copy) -> node index */
	bool failed;		/* a composer error, kept in the fields below */
	const char *problem, *context;
	yaml_mark_t problem_mark, context_mark;
};

static bool grow(void **start, void **top, void **end, size_t size)
{
	size_t n = (size_t)((char *)*end - (char *)*start) / size, used;
	void *v;

	if (*top != *end)
		return true;
	used = (size_t)((char *)*top - (char *)*start) / size;
	n = n ? 2 * n : 4;
	v = realloc(*start, n * size);
	if (!v)
		return false;
	*start = v;
	*top = (char *)v + used * size;
	*end = (char *)v + n * size;
	return true;
}

#define GROW(stack) \
	grow((void **)&(stack).start, (void **)&(stack).top, (void **)&(stack).end, \
	     sizeof(*(stack).start))

static void composer_error(struct builder *bd, const char *context, yaml_mark_t context_mark,
			   const char *problem, yaml_mark_t problem_mark)
{
	bd->failed = true;
	bd->context = context;
	bd->context_mark = context_mark;
	bd->problem = problem;
	bd->problem_mark = problem_mark;
}

/* Node index into its parent (the innermost open collection), as libyaml does. */
static int node_add(struct builder *bd, const struct open_coll *parent, int index)
{
	yaml_node_t *p;

	if (!parent)
		return 0;
	p = bd->doc->nodes.start + parent->node - 1;
	if (p->type == YAML_SEQUENCE_NODE) {
		if (!GROW(p->data.sequence.items))
			return -ENOMEM;
		*p->data.sequence.items.top++ = index;
		return 0;
	}
	if (p->data.mapping.pairs.top != p->data.mapping.pairs.start &&
	    p->data.mapping.pairs.top[-1].value == 0) {
		p->data.mapping.pairs.top[-1].value = index;
		return 0;
	}
	if (!GROW(p->data.mapping.pairs))
		return -ENOMEM;
	*p->data.mapping.pairs.top++ = (yaml_node_pair_t){ .key = index, .value = 0 };
	return 0;
}

/* A node from ev (its tag and value moved out of it); its index, or -ENOMEM. */
static int node_push(struct builder *bd, yaml_event_t *ev, const char *anchor,
		     const struct open_coll *parent)
{
	yaml_document_t *d = bd->doc;
	yaml_node_t *n;
	int index, err;

	if (!GROW(d->nodes))
		return -ENOMEM;
	n = d->nodes.top++;
	memset(n, 0, sizeof(*n));
	n->start_mark = ev->start_mark;
	n->end_mark = ev->end_mark;
	switch (ev->type) {
	case YAML_SCALAR_EVENT:
		n->type = YAML_SCALAR_NODE;
		n->tag = ev->data.scalar.tag;
		n->data.scalar.value = ev->data.scalar.value;
		n->data.scalar.length = ev->data.scalar.length;
		n->data.scalar.style = ev->data.scalar.style;
		ev->data.scalar.tag = ev->data.scalar.value = NULL;
		break;
	case YAML_SEQUENCE_START_EVENT:
		n->type = YAML_SEQUENCE_NODE;
		n->tag = ev->data.sequence_start.tag;
		n->data.sequence.style = ev->data.sequence_start.style;
		ev->data.sequence_start.tag = NULL;
		break;
	default:
		n->type = YAML_MAPPING_NODE;
		n->tag = ev->data.mapping_start.tag;
		n->data.mapping.style = ev->data.mapping_start.style;
		ev->data.mapping_start.tag = NULL;
		break;
	}
	index = (int)(d->nodes.top - d->nodes.start);
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
			free(dup);
			composer_error(bd, "found duplicate anchor; first occurrence",
				       d->nodes.start[sl->val - 1].start_mark, "second occurrence",
				       ev->start_mark);
			return index;
		}
		sl->val = (uint64_t)index;
	}
	err = node_add(bd, parent, index);
	return err ? err : index;
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

static void document_start(struct builder *bd, yaml_document_t *doc, yaml_event_t *ev)
{
	memset(doc, 0, sizeof(*doc));
	doc->version_directive = ev->data.document_start.version_directive;
	doc->tag_directives.start = ev->data.document_start.tag_directives.start;
	doc->tag_directives.end = ev->data.document_start.tag_directives.end;
	doc->start_implicit = ev->data.document_start.implicit;
	doc->start_mark = ev->start_mark;
	ev->data.document_start.version_directive = NULL;
	ev->data.document_start.tag_directives.start = NULL;
	ev->data.document_start.tag_directives.end = NULL;
	anchors_free(&bd->anchors);
	bd->doc = doc;
}

/* ---- the pass ---------------------------------------------------------------- */

int yaml_bounds_load(yaml_parser_t *parser, const struct yaml_bounds *b,
		     yaml_document_t doc[YAML_BOUNDS_DOCS], unsigned int *n_ok,
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
			bd.doc->end_implicit = ev.data.document_end.implicit;
			bd.doc->end_mark = ev.end_mark;
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
			break;
		case YAML_SEQUENCE_END_EVENT:
		case YAML_MAPPING_END_EVENT:
			if (!depth)
				break;
			depth--;
			if (stack[depth].node && bd.doc && !bd.failed)
				bd.doc->nodes.start[stack[depth].node - 1].end_mark = ev.end_mark;
			if (stack[depth].anchor)
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
