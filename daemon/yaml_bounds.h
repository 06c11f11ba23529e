/* SPDX-License-Identifier: GPL-2.0 */
/*
 * One pass over libyaml's event stream: bounds on the text checked on every
 * event (how deep collections nest, how many nodes are written and how many
 * the aliases expand to), and the documents built from the same events as
 * yaml_parser_load() builds them. libyaml is quadratic in the nesting depth
 * of flow collections, so a hostile file must be refused here, early and in
 * bounded time; reading the text once, not twice, is a third of a big
 * policy's parse.
 */
#ifndef TCS_YAML_BOUNDS_H
#define TCS_YAML_BOUNDS_H

#include <stddef.h>

#include <yaml.h>

struct yaml_bounds {
	unsigned int max_depth;		/* collections inside collections */
	size_t max_written;		/* nodes as written, aliases counting one */
	size_t max_expanded;		/* nodes with each alias use counting its node */
};

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
 * would have (parser's error fields say why). -ENOMEM. Delete every doc[]
 * whatever it returns.
 */
int yaml_bounds_load(yaml_parser_t *parser, const struct yaml_bounds *b,
		     yaml_document_t doc[YAML_BOUNDS_DOCS], unsigned int *n_ok,
		     struct yaml_bounds_err *e);

#endif
