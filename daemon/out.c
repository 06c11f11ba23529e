// SPDX-License-Identifier: GPL-2.0
/*
 * One output path for text and JSON (out.h). JSON is written as it goes:
 * a stack of open containers knows whether the next member needs a comma.
 */
#include <stdarg.h>
#include <stdlib.h>

#include "out.h"

#define OUT_DEPTH 8

static FILE *out_f;
static bool json;
static int depth;
static bool has_member[OUT_DEPTH];

void out_init(FILE *f, bool as_json)
{
	out_f = f;
	json = as_json;
	depth = 0;
	has_member[0] = false;
}

bool out_json(void)
{
	return json;
}

static void jstr(const char *s)
{
	fputc('"', out_f);
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;

		if (c == '"' || c == '\\')
			fprintf(out_f, "\\%c", c);
		else if (c < 0x20)
			fprintf(out_f, "\\u%04x", c);
		else
			fputc(c, out_f);
	}
	fputc('"', out_f);
}

/* The comma and "key": before a JSON member; false when MODE leaves JSON out. */
static bool member(int mode, const char *key)
{
	if (!json || !(mode & OUT_JSON))
		return false;
	if (has_member[depth])
		fputc(',', out_f);
	has_member[depth] = true;
	if (key) {
		jstr(key);
		fputc(':', out_f);
	}
	return true;
}

static bool text(int mode)
{
	return !json && (mode & OUT_TEXT);
}

static void container_open(const char *key, char c)
{
	if (!member(OUT_JSON, key))
		return;
	fputc(c, out_f);
	if (depth + 1 < OUT_DEPTH)
		has_member[++depth] = false;
}

static void container_close(char c)
{
	if (!json)
		return;
	fputc(c, out_f);
	if (depth > 0)
		depth--;
	if (!depth)
		fputc('\n', out_f);
}

void out_object_open(const char *key)
{
	container_open(key, '{');
}

void out_object_close(void)
{
	container_close('}');
}

void out_array_open(const char *key)
{
	container_open(key, '[');
}

void out_array_close(void)
{
	container_close(']');
}

/* The formats are the callers' (out.h says which conversion each takes). */
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wformat-nonliteral"

void out_uint(int mode, const char *key, const char *fmt, unsigned long long v)
{
	if (member(mode, key))
		fprintf(out_f, "%llu", v);
	else if (text(mode))
		fprintf(out_f, fmt, v);
}

/* The precision of FMT's conversion: "%9.1f" -> 1; 6 (printf's) without one. */
static int precision(const char *fmt)
{
	const char *p = fmt;

	while (*p && *p != '%')
		p++;
	while (*p && *p != '.' && *p != 'f')
		p++;
	return *p == '.' ? atoi(p + 1) : 6;
}

void out_float(int mode, const char *key, const char *fmt, double v)
{
	if (member(mode, key))
		fprintf(out_f, "%.*f", precision(fmt), v);
	else if (text(mode))
		fprintf(out_f, fmt, v);
}

void out_string(int mode, const char *key, const char *fmt, const char *s)
{
	if (member(mode, key))
		jstr(s);
	else if (text(mode))
		fprintf(out_f, fmt, s);
}

void out_bool(int mode, const char *key, const char *fmt, bool v)
{
	if (member(mode, key))
		fputs(v ? "true" : "false", out_f);
	else if (text(mode))
		fprintf(out_f, fmt, v ? "true" : "false");
}

void out_null(int mode, const char *key, const char *fmt, const char *s)
{
	if (member(mode, key))
		fputs("null", out_f);
	else if (text(mode))
		fprintf(out_f, fmt, s);
}

#pragma GCC diagnostic pop

void out_text(const char *fmt, ...)
{
	va_list ap;

	if (json)
		return;
	va_start(ap, fmt);
	vfprintf(out_f, fmt, ap);
	va_end(ap);
}
