/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Logging: one line per event to stderr with sd-daemon priority prefixes
 * ("<3>"), which journald turns into priorities. -v raises the level.
 */
#ifndef TCS_LOG_H
#define TCS_LOG_H

#include <syslog.h>

extern int log_level;		/* LOG_ERR .. LOG_DEBUG; default LOG_INFO */

void log_init(int level);
void log_msg(int prio, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#define log_err(...)	log_msg(LOG_ERR, __VA_ARGS__)
#define log_warn(...)	log_msg(LOG_WARNING, __VA_ARGS__)
#define log_info(...)	log_msg(LOG_INFO, __VA_ARGS__)
#define log_debug(...)	log_msg(LOG_DEBUG, __VA_ARGS__)

#endif
