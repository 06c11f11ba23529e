/* SPDX-License-Identifier: GPL-2.0 */
/*
 * One output path for text and JSON, after iproute2's lib/json_print.c:
 * out_uint(OUT_ANY, "sent", "%12llu ", v) prints "sent":v in JSON mode and
 * the value through the format in text mode. OUT_TEXT or OUT_JSON limit a
 * call to one mode, where the two say different things; a mode of 0 prints
 * nothing. Objects and arrays exist only in JSON; closing the outermost one
 * ends the line.
 */
#ifndef TCS_OUT_H
#define TCS_OUT_H

#include <stdbool.h>
#include <stdio.h>

enum out_mode {
	OUT_TEXT = 1,
	OUT_JSON = 2,
	OUT_ANY = OUT_TEXT | OUT_JSON,
};

/* Where to print and how; every call after this one prints in that mode. */
void out_init(FILE *f, bool json);
bool out_json(void);

/* JSON only: KEY NULL inside an array or for the outermost value. */
void out_object_open(const char *key);
void out_object_close(void);
void out_array_open(const char *key);
void out_array_close(void);

/*
 * FMT formats the value in text; "%llu", "%s" (and widths) as for printf.
 * JSON prints unsigned integers whole, doubles with FMT's precision
 * ("%9.1f": one decimal), strings escaped, null as null.
 */
void out_uint(int mode, const char *key, const char *fmt, unsigned long long v);
void out_float(int mode, const char *key, const char *fmt, double v);
void out_string(int mode, const char *key, const char *fmt, const char *s);
void out_bool(int mode, const char *key, const char *fmt, bool v);
/* null in JSON, TEXT through FMT in text ("-" for a table cell). */
void out_null(int mode, const char *key, const char *fmt, const char *text);

/* Text only: headings, separators, line ends. */
void out_text(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#endif
