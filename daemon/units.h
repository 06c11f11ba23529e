/* SPDX-License-Identifier: GPL-2.0 */
/*
 * tc(8) units: rates, sizes and times, parsed exactly as tc parses them
 * (kbit = 1000 bit, kb = 1024 bytes, bps = bytes per second) and printed
 * back in the same units.
 */
#ifndef TCS_UNITS_H
#define TCS_UNITS_H

#include <stddef.h>
#include <stdint.h>

/* Return 0 or -EINVAL (unknown unit, no number, negative, overflow, ...). */
int units_parse_rate(const char *s, uint64_t *bits_per_sec);
int units_parse_size(const char *s, uint64_t *bytes);
int units_parse_time(const char *s, uint64_t *ns);

/* "10mbit", "1.5gbit", "64kb", "10ms": a short exact-or-rounded form. */
char *units_fmt_rate(uint64_t bits_per_sec, char *buf, size_t len);
char *units_fmt_size(uint64_t bytes, char *buf, size_t len);

#endif
