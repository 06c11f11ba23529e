// SPDX-License-Identifier: GPL-2.0
/*
 * Logging to the journal with structured fields when systemd gave us one,
 * else to stderr with sd-daemon priority prefixes; libbpf's messages go the
 * same way one level lower.
 */
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/uio.h>

#include <bpf/libbpf.h>
#include <systemd/sd-journal.h>

#include "log.h"

int log_level = LOG_INFO;
static bool to_journal;
static char policy[4096];

/*
 * $JOURNAL_STREAM names the stream systemd connected our stderr to; if
 * stderr is still that stream, the journal is listening (systemd.exec(5)).
 */
static bool journal_is_stderr(void)
{
	const char *js = getenv("JOURNAL_STREAM");
	unsigned long long dev, ino;
	struct stat st;

	if (!js || sscanf(js, "%llu:%llu", &dev, &ino) != 2 || fstat(2, &st))
		return false;
	return st.st_dev == dev && st.st_ino == ino;
}

static char first_error[512];

const char *log_first_error(void)
{
	return first_error;
}

static void __attribute__((format(printf, 4, 0)))
emit(int prio, const char *iface, const char *rule, const char *fmt, va_list ap)
{
	char msg[2048];
	size_t n;

	if (prio > log_level && prio > LOG_ERR)
		return;
	vsnprintf(msg, sizeof(msg), fmt, ap);
	n = strlen(msg);
	while (n && msg[n - 1] == '\n')
		msg[--n] = '\0';
	if (prio <= LOG_ERR && !first_error[0])
		snprintf(first_error, sizeof(first_error), "%s", msg);
	if (prio > log_level)
		return;
	if (!to_journal) {
		fprintf(stderr, "<%d>%s\n", prio, msg);
		return;
	}
	{
		char m[2100], p[16], pol[4200], ifc[64], rl[128];
		struct iovec iov[6];
		int n_iov = 0;

#define FIELD(buf, ...)                                                                   \
	do {                                                                              \
		snprintf(buf, sizeof(buf), __VA_ARGS__);                                  \
		iov[n_iov].iov_base = buf;                                                \
		iov[n_iov++].iov_len = strlen(buf);                                       \
	} while (0)
		FIELD(m, "MESSAGE=%s", msg);
		FIELD(p, "PRIORITY=%d", prio);
		iov[n_iov].iov_base = (char *)"SYSLOG_IDENTIFIER=tcshaped";
		iov[n_iov++].iov_len = strlen("SYSLOG_IDENTIFIER=tcshaped");
		if (policy[0])
			FIELD(pol, "TCSHAPED_POLICY=%s", policy);
		if (iface)
			FIELD(ifc, "TCSHAPED_INTERFACE=%s", iface);
		if (rule)
			FIELD(rl, "TCSHAPED_RULE=%s", rule);
#undef FIELD
		sd_journal_sendv(iov, n_iov);
	}
}

static int __attribute__((format(printf, 2, 0)))
libbpf_print(enum libbpf_print_level level, const char *fmt, va_list ap)
{
	/* libbpf's lines start with "libbpf: " already */
	emit(level == LIBBPF_WARN ? LOG_INFO : LOG_DEBUG, NULL, NULL, fmt, ap);
	return 0;
}

void log_init(int level)
{
	log_level = level;
	to_journal = journal_is_stderr();
	libbpf_set_print(libbpf_print);
}

void log_set_policy(const char *path)
{
	snprintf(policy, sizeof(policy), "%s", path ? path : "");
}

void log_msg(int prio, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	emit(prio, NULL, NULL, fmt, ap);
	va_end(ap);
}

void log_at(int prio, const char *iface, const char *rule, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	emit(prio, iface, rule, fmt, ap);
	va_end(ap);
}
