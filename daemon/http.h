/* SPDX-License-Identifier: GPL-2.0 */
/*
 * settings.metrics_listen: GET /metrics over HTTP, served by libmicrohttpd
 * from the daemon's own event loop (no thread, no HTTP parsing of ours).
 */
#ifndef TCS_HTTP_H
#define TCS_HTTP_H

#include <stdio.h>

#include <systemd/sd-event.h>

struct http;

/* Writes the metrics text; 0 or -errno (the client then gets a 500). */
typedef int (*http_render_fn)(FILE *out, void *ctx);

/* Listen on addr ("IP:PORT", "[IPv6]:PORT"). NULL with errno set on failure. */
struct http *http_open(sd_event *ev, const char *addr, http_render_fn render, void *ctx);
const char *http_addr(const struct http *h);
void http_close(struct http *h);

#endif
