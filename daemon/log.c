// SPDX-License-Identifier: GPL-2.0
/*
 * Logging to stderr with sd-daemon priority prefixes, and libbpf's messages
 * routed through the same path one level lower.
 */
#include <stdarg.h>
#include <stdio.h>

#include <bpf/libbpf.h>

#include "log.h"

int log_level = LOG_INFO;

static int libbpf_print(enum libbpf_print_level level, const char *fmt, va_list ap)
{
	int prio = level == LIBBPF_WARN ? LOG_INFO : LOG_DEBUG;

	if (prio > log_level)
		return 0;
	fprintf(stderr, "<%d>", prio);	/* libbpf's lines say "libbpf: " themselves */
	return vfprintf(stderr, fmt, ap);
}

void log_init(int level)
{
	log_level = level;
	libbpf_set_print(libbpf_print);
}

void log_msg(int prio, const char *fmt, ...)
{
	va_list ap;

	if (prio > log_level)
		return;
	va_start(ap, fmt);
	fprintf(stderr, "<%d>", prio);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	va_end(ap);
}
