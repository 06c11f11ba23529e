/* SPDX-License-Identifier: GPL-2.0 */
/* "IP:PORT" and "[IPv6]:PORT" listen addresses (settings.metrics_listen). */
#ifndef TCS_ENDPOINT_H
#define TCS_ENDPOINT_H

#include <sys/socket.h>

/* 0, or -EINVAL with a reason in why; numeric addresses only, no names. */
int endpoint_parse(const char *s, struct sockaddr_storage *ss, socklen_t *len, const char **why);

#endif
