/* SPDX-License-Identifier: GPL-2.0 */
/*
 * What the libFuzzer targets share: abort with a message when an invariant
 * breaks (libFuzzer then saves the input), and the check every policy error
 * must pass, "FILE:LINE:COLUMN: message" or "FILE: message".
 */
#ifndef TCS_FUZZ_H
#define TCS_FUZZ_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <errno.h>
#include <string.h>

#include "policy.h"

#define FUZZ_FILE "f.yaml"

#define FUZZ_ASSERT(cond, ...)                                                    \
	do {                                                                      \
		if (!(cond)) {                                                    \
			fprintf(stderr, "%s:%d: %s: ", __FILE__, __LINE__, #cond); \
			fprintf(stderr, __VA_ARGS__);                             \
			fputc('\n', stderr);                                      \
			abort();                                                  \
		}                                                                 \
	} while (0)

/* Counts the errors a parse reported and checks each one's form. */
struct fuzz_errs {
	unsigned int n;
	char first[512];
};

static inline void fuzz_err(void *ctx, const char *msg)
{
	struct fuzz_errs *e = ctx;
	const char *p = msg + strlen(FUZZ_FILE);
	unsigned int line, col;
	int used = 0;

	if (!e->n)
		snprintf(e->first, sizeof(e->first), "%s", msg);
	e->n++;
	FUZZ_ASSERT(!strncmp(msg, FUZZ_FILE ":", strlen(FUZZ_FILE) + 1), "message \"%s\"", msg);
	if (sscanf(p, ":%u:%u: %n", &line, &col, &used) == 2 && used)
		FUZZ_ASSERT(line >= 1 && col >= 1 && p[used], "message \"%s\"", msg);
	else
		FUZZ_ASSERT(p[1] == ' ' && p[2], "message \"%s\"", msg);
	/* 50 errors, then one "too many errors" line */
	FUZZ_ASSERT(e->n <= 51, "%u messages", e->n);
}

/*
 * A one-rule policy whose match field key holds the input as one
 * double-quoted YAML scalar, every byte outside printable ASCII escaped, so
 * the parser under test sees exactly the fuzzer's bytes.
 */
static inline char *fuzz_policy_with(const char *key, const uint8_t *data, size_t size,
				     size_t *len)
{
	static const char head[] = "version: 1\ninterfaces:\n  - name: e0\n    ingress:\n"
				   "      - {name: r, rate: 1mbit, match: {";
	size_t cap = sizeof(head) + strlen(key) + 4 * size + 16, off;
	char *s = malloc(cap);
	size_t i;

	if (!s)
		abort();
	off = (size_t)snprintf(s, cap, "%s%s: \"", head, key);
	for (i = 0; i < size; i++) {
		uint8_t c = data[i];

		if (c >= 0x20 && c < 0x7f && c != '"' && c != '\\')
			s[off++] = (char)c;
		else
			off += (size_t)snprintf(s + off, cap - off, "\\x%02x", c);
	}
	off += (size_t)snprintf(s + off, cap - off, "\"}}\n");
	*len = off;
	return s;
}

/*
 * Parse the one-rule policy with the input as KEY's value, the oracle having
 * said ok (accept) or not. A refusal must be -EINVAL with exactly one
 * message; an acceptance returns the policy, for the caller to compare its
 * rule's match with the oracle's value; NULL when refused.
 */
static inline struct policy *fuzz_parse_field(const char *key, const uint8_t *data, size_t size,
					      const char *s, bool ok)
{
	struct fuzz_errs e = { 0 };
	struct policy *p = NULL;
	size_t len;
	char *text = fuzz_policy_with(key, data, size, &len);
	int rc = policy_parse(FUZZ_FILE, text, len, &p, fuzz_err, &e);

	free(text);
	if (ok)
		FUZZ_ASSERT(!rc && p, "%s \"%s\" refused: %s", key, s, e.first);
	else
		FUZZ_ASSERT(rc == -EINVAL && e.n == 1, "%s \"%s\": %d, %u messages", key,
			    s ? s : "(NUL)", rc, e.n);
	return p;
}

/* The input as a C string; NULL if it holds a NUL (the YAML layer refuses those). */
static inline char *fuzz_cstr(const uint8_t *data, size_t size)
{
	char *s;

	if (memchr(data, 0, size))
		return NULL;
	s = malloc(size + 1);
	if (!s)
		abort();
	memcpy(s, data, size);
	s[size] = '\0';
	return s;
}

/*
 * One match field's target: the input as KEY's value is accepted exactly
 * when the oracle accepts it (filling want), and then parses as the oracle's
 * value: same() on the rule's match. Inputs over 256 bytes are skipped.
 */
static inline void fuzz_match_field(const char *key, const uint8_t *data, size_t size,
				    bool (*oracle)(const char *s, void *want),
				    bool (*same)(const struct pol_match *m, const void *want),
				    void *want)
{
	struct policy *p;
	char *s;

	if (size > 256)
		return;
	s = fuzz_cstr(data, size);
	p = fuzz_parse_field(key, data, size, s, s && oracle(s, want));
	if (p)
		FUZZ_ASSERT(same(&p->ifaces[0].dir[POL_INGRESS].v[0].match, want),
			    "%s \"%s\" parsed as another value", key, s);
	policy_free(p);
	free(s);
}

#endif
