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

/* An open collection: the expanded count before it, and its anchor. */
struct open_coll {
	size_t start;
	char *anchor;		/* owned by the event, moved here */
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

int yaml_bounds_check(const char *buf, size_t len, const struct yaml_bounds *b,
		      struct yaml_bounds_err *e)
{
	struct open_coll *stack = calloc(b->max_depth + 1, sizeof(*stack));
	struct strmap anchors = { 0 };
	size_t written = 0, expanded = 0, depth = 0, i;
	yaml_parser_t parser;
	yaml_event_t ev;
	bool done = false;
	int err = 0;

	if (!stack)
		return -ENOMEM;
	if (!yaml_parser_initialize(&parser)) {
		free(stack);
		return -ENOMEM;
	}
	yaml_parser_set_input_string(&parser, (const unsigned char *)(buf ? buf : ""),
				     buf ? len : 0);
	while (!done && !err) {
		if (!yaml_parser_parse(&parser, &ev)) {
			/* a syntax error is the loader's to report; memory is ours */
			if (parser.error == YAML_MEMORY_ERROR)
				err = -ENOMEM;
			break;
		}
		switch (ev.type) {
		case YAML_STREAM_END_EVENT:
			done = true;
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
				if (ev.data.scalar.anchor)
					err = anchor_set(&anchors, (char *)ev.data.scalar.anchor, 1);
				break;
			}
			if (depth == b->max_depth) {
				err = past(e, &ev, "collections nested more than %u deep; a policy "
					   "needs 7", b->max_depth);
				break;
			}
			stack[depth].start = expanded - 1;
			/* the same union member for sequences and mappings: take it over */
			if (ev.type == YAML_SEQUENCE_START_EVENT) {
				stack[depth].anchor = (char *)ev.data.sequence_start.anchor;
				ev.data.sequence_start.anchor = NULL;
			} else {
				stack[depth].anchor = (char *)ev.data.mapping_start.anchor;
				ev.data.mapping_start.anchor = NULL;
			}
			depth++;
			break;
		case YAML_SEQUENCE_END_EVENT:
		case YAML_MAPPING_END_EVENT:
			if (!depth)
				break;
			depth--;
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
			if (expanded > b->max_expanded)
				err = past(e, &ev, "alias *%s takes the policy past %zu nodes, "
					   "counting each use of an alias as its whole node",
					   (char *)ev.data.alias.anchor, b->max_expanded);
			break;
		default:
			break;
		}
		yaml_event_delete(&ev);
	}
	for (i = 0; i < depth; i++)
		free(stack[i].anchor);
	free(stack);
	anchors_free(&anchors);
	yaml_parser_delete(&parser);
	return err;
}
