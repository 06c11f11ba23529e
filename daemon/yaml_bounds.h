/* SPDX-License-Identifier: GPL-2.0 */
/*
 * One pass over libyaml's event stream: bounds on the text checked on every
 * event (how deep collections nest, how many nodes are written and how many
 * the aliases expand to), and the documents built from the same events into
 * a compact tree of our own (24 bytes a node, the text and the lists in a
 * few big blocks) rather than libyaml's yaml_document_t (96 bytes a node and
 * an allocation per scalar), with the nodes, order and positions
 * yaml_parser_load() would give. libyaml is quadratic in the nesting depth
 * of flow collections, so a hostile file must be refused here, early and in
 * bounded time; reading the text once, not twice, is a third of a big
 * policy's parse.
 */
#ifndef TCS_YAML_BOUNDS_H
#define TCS_YAML_BOUNDS_H

#include <stddef.h>
#include <stdint.h>

#include <yaml.h>

struct yaml_bounds {
	unsigned int max_depth;		/* collections inside collections */
	size_t max_written;		/* nodes as written, aliases counting one */
	size_t max_expanded;		/* nodes with each alias use counting its node */
};

/*
 * A node: type is YAML_SCALAR_NODE, YAML_SEQUENCE_NODE or YAML_MAPPING_NODE.
 * Nodes are numbered from 1 in the order they start, as libyaml numbers
 * them; an alias is the number of the node it names.
 */
struct ynode {
	uint8_t type;
	uint8_t style;		/* a scalar's yaml_scalar_style_t */
	uint32_t line, col;	/* where it starts, 0-based as libyaml's marks */
	uint32_t n;		/* a scalar's length, a sequence's items, a mapping's pairs */
	union {
		const char *value;	/* a scalar: its text, NUL-terminated */
		const int32_t *items;	/* a sequence: node numbers */
		const struct ypair {
			int32_t key, value;
		} *pairs;		/* a mapping, in the order written */
	};
};

struct ychunk;

/* One document: node k is nodes[k - 1], the root is node 1. */
struct ydoc {
	struct ynode *nodes;
	size_t n_nodes;
	struct ychunk *chunks;	/* the scalars' text and the collections' items */
	uint32_t line, col;	/* where the document starts */
};

static inline struct ynode *ydoc_node(const struct ydoc *d, int k)
{
	return k > 0 && (size_t)k <= d->n_nodes ? &d->nodes[k - 1] : NULL;
}

static inline struct ynode *ydoc_root(const struct ydoc *d)
{
	return ydoc_node(d, 1);
}

void ydoc_free(struct ydoc *d);

/* Where and why a text went past a bound; line and col are 1-based. */
struct yaml_bounds_err {
	unsigned int line;
	unsigned int col;
	char msg[256];
};

/* documents built: the policy, and a second one only to say it is there */
#define YAML_BOUNDS_DOCS 2

/*
 * Reads parser's whole stream, checking the bounds on every event, and
 * builds its first YAML_BOUNDS_DOCS documents into doc[] as that many
 * yaml_parser_load() calls would. Any bound passed anywhere wins over
 * everything else: -E2BIG with *e filled. 0: *n_ok documents loaded; when
 * fewer than YAML_BOUNDS_DOCS, loading doc[*n_ok] failed as the loader
 * would have (parser's error fields say why). -ENOMEM. ydoc_free() every
 * doc[] whatever it returns.
 */
int yaml_bounds_load(yaml_parser_t *parser, const struct yaml_bounds *b,
		     struct ydoc doc[YAML_BOUNDS_DOCS], unsigned int *n_ok,
		     struct yaml_bounds_err *e);

#endif
