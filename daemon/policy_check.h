/* SPDX-License-Identifier: GPL-2.0 */
/*
 * `tcshaped --check` and `tcshapectl check`: validate a policy file as the
 * daemon would load it on this host, and say what it would do here. Reads
 * only; links none of the code that changes the kernel.
 */
#ifndef TCS_POLICY_CHECK_H
#define TCS_POLICY_CHECK_H

/* 0 valid (a summary on stdout), -errno not (the errors on stderr). */
int policy_check_file(const char *path);

#endif
