// SPDX-License-Identifier: GPL-2.0
/*
 * The /metrics endpoint. libmicrohttpd does all of HTTP; it runs in epoll
 * mode without a thread of its own: its epoll fd is one more io source of
 * the daemon's sd-event loop, and a timer follows MHD_get_timeout() so idle
 * connections are closed. A scrape therefore never races a reload, and the
 * text is the same metrics_write() output as `tcshapectl metrics`.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>

#include <microhttpd.h>

#include "endpoint.h"
#include "http.h"
#include "log.h"

#define HTTP_CONN_LIMIT		16
#define HTTP_CONN_TIMEOUT_S	10
#define HTTP_CONTENT_TYPE	"text/plain; version=0.0.4; charset=utf-8"

struct http {
	struct MHD_Daemon *mhd;
	sd_event_source *io;
	sd_event_source *timer;
	http_render_fn render;
	void *ctx;
	char *addr;
};

static enum MHD_Result reply(struct MHD_Connection *c, unsigned int code, const char *text)
{
	struct MHD_Response *r;
	enum MHD_Result ret;

	r = MHD_create_response_from_buffer(strlen(text), (void *)text, MHD_RESPMEM_PERSISTENT);
	if (!r)
		return MHD_NO;
	MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, "text/plain; charset=utf-8");
	if (code == MHD_HTTP_METHOD_NOT_ALLOWED)
		MHD_add_response_header(r, MHD_HTTP_HEADER_ALLOW, "GET, HEAD");
	ret = MHD_queue_response(c, code, r);
	MHD_destroy_response(r);
	return ret;
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *c, const char *url,
				  const char *method, const char *version, const char *upload,
				  size_t *upload_size, void **req_ctx)
{
	struct http *h = cls;
	struct MHD_Response *r;
	enum MHD_Result ret;
	char *buf = NULL;
	size_t len = 0;
	FILE *o;
	int err;

	if (strcmp(method, MHD_HTTP_METHOD_GET) && strcmp(method, MHD_HTTP_METHOD_HEAD))
		return reply(c, MHD_HTTP_METHOD_NOT_ALLOWED, "only GET and HEAD\n");
	if (strcmp(url, "/metrics"))
		return reply(c, MHD_HTTP_NOT_FOUND, "tcshaped serves /metrics only\n");
	o = open_memstream(&buf, &len);
	if (!o)
		return reply(c, MHD_HTTP_INTERNAL_SERVER_ERROR, "out of memory\n");
	err = h->render(o, h->ctx);
	if (fclose(o) && !err)
		err = -errno;
	if (err) {
		free(buf);
		log_warn("metrics: %s", strerror(-err));
		return reply(c, MHD_HTTP_INTERNAL_SERVER_ERROR, "cannot read the pinned state\n");
	}
	r = MHD_create_response_from_buffer(len, buf, MHD_RESPMEM_MUST_FREE);
	if (!r) {
		free(buf);
		return MHD_NO;
	}
	MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, HTTP_CONTENT_TYPE);
	ret = MHD_queue_response(c, MHD_HTTP_OK, r);
	MHD_destroy_response(r);
	return ret;
}

/* Run MHD, then re-arm the timer for the next connection timeout it has. */
static void run(struct http *h)
{
	MHD_UNSIGNED_LONG_LONG ms;
	uint64_t now;

	MHD_run(h->mhd);
	if (MHD_get_timeout(h->mhd, &ms) != MHD_YES) {
		sd_event_source_set_enabled(h->timer, SD_EVENT_OFF);
		return;
	}
	sd_event_now(sd_event_source_get_event(h->timer), CLOCK_MONOTONIC, &now);
	sd_event_source_set_time(h->timer, now + ms * 1000);
	sd_event_source_set_enabled(h->timer, SD_EVENT_ONESHOT);
}

static int on_io(sd_event_source *s, int fd, uint32_t revents, void *ud)
{
	run(ud);
	return 0;
}

static int on_timer(sd_event_source *s, uint64_t usec, void *ud)
{
	run(ud);
	return 0;
}

static void __attribute__((format(printf, 2, 0))) mhd_log(void *cls, const char *fmt, va_list ap)
{
	char buf[256];

	vsnprintf(buf, sizeof(buf), fmt, ap);
	buf[strcspn(buf, "\n")] = '\0';
	log_debug("metrics http: %s", buf);
}

struct http *http_open(sd_event *ev, const char *addr, http_render_fn render, void *ctx)
{
	struct sockaddr_storage ss;
	const union MHD_DaemonInfo *info;
	struct http *h;
	const char *why;
	socklen_t sl;
	int err;

	if (endpoint_parse(addr, &ss, &sl, &why)) {
		log_err("metrics_listen %s: %s", addr, why);
		errno = EINVAL;
		return NULL;
	}
	h = calloc(1, sizeof(*h));
	if (!h || !(h->addr = strdup(addr))) {
		free(h);
		errno = ENOMEM;
		return NULL;
	}
	h->render = render;
	h->ctx = ctx;
	errno = 0;
	h->mhd = MHD_start_daemon(MHD_USE_EPOLL | MHD_USE_ERROR_LOG |
				  (ss.ss_family == AF_INET6 ? MHD_USE_IPv6 : 0),
				  0, NULL, NULL, on_request, h,
				  MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&ss,
				  MHD_OPTION_CONNECTION_LIMIT, (unsigned int)HTTP_CONN_LIMIT,
				  MHD_OPTION_CONNECTION_TIMEOUT, (unsigned int)HTTP_CONN_TIMEOUT_S,
				  MHD_OPTION_LISTENING_ADDRESS_REUSE, (unsigned int)1,
				  MHD_OPTION_EXTERNAL_LOGGER, mhd_log, NULL,
				  MHD_OPTION_END);
	if (!h->mhd) {
		err = errno ? -errno : -EADDRNOTAVAIL;
		log_err("metrics_listen %s: cannot listen: %s", addr, strerror(-err));
		goto fail;
	}
	info = MHD_get_daemon_info(h->mhd, MHD_DAEMON_INFO_EPOLL_FD);
	if (!info) {
		err = -ENOTSUP;
		goto fail;
	}
	if ((err = sd_event_add_io(ev, &h->io, info->epoll_fd, EPOLLIN, on_io, h)) < 0 ||
	    (err = sd_event_add_time(ev, &h->timer, CLOCK_MONOTONIC, 0, 0, on_timer, h)) < 0)
		goto fail;
	sd_event_source_set_enabled(h->timer, SD_EVENT_OFF);
	log_info("metrics: serving http://%s/metrics", addr);
	return h;
fail:
	http_close(h);
	errno = -err;
	return NULL;
}

const char *http_addr(const struct http *h)
{
	return h ? h->addr : NULL;
}

void http_close(struct http *h)
{
	if (!h)
		return;
	sd_event_source_disable_unref(h->io);
	sd_event_source_disable_unref(h->timer);
	if (h->mhd)
		MHD_stop_daemon(h->mhd);
	free(h->addr);
	free(h);
}
