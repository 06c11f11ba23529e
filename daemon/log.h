/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Logging: one line per event. Under systemd (the journal holds our stderr,
 * $JOURNAL_STREAM) straight to the journal with structured fields
 * (TCSHAPED_POLICY, TCSHAPED_INTERFACE, TCSHAPED_RULE); otherwise to stderr
 * with sd-daemon priority prefixes ("<3>"). -v raises the level.
 */
#ifndef TCS_LOG_H
#define TCS_LOG_H

#include <syslog.h>

extern int log_level;		/* LOG_ERR .. LOG_DEBUG; default LOG_INFO */

void log_init(int level);
/* The policy file every journal entry names from now on (NULL: none). */
void log_set_policy(const char *path);

void log_msg(int prio, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* The same, naming the interface and/or rule it is about (either may be NULL). */
void log_at(int prio, const char *iface, const char *rule, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

/* The first error logged (for a STATUS= that says why the start failed), or "". */
const char *log_first_error(void);

#define log_err(...)	log_msg(LOG_ERR, __VA_ARGS__)
#define log_warn(...)	log_msg(LOG_WARNING, __VA_ARGS__)
#define log_info(...)	log_msg(LOG_INFO, __VA_ARGS__)
#define log_debug(...)	log_msg(LOG_DEBUG, __VA_ARGS__)

#endif
