// SPDX-License-Identifier: GPL-2.0
/*
 * The event loop (sd-event): SIGHUP reloads, SIGTERM/SIGINT stop, link and
 * tc events trigger a reconcile (coalesced over a short delay), a periodic
 * full resync is the safety net, and between events the daemon sleeps. The
 * watchdog is fed when the unit asks for one; sd_notify tells systemd what
 * happens (READY=1, RELOADING=1 ... READY=1, STATUS=). With --watch, a
 * change of the policy file reloads as SIGHUP does, once the directory has
 * been quiet for a moment; settings.metrics_listen serves /metrics from here.
 */
#include <errno.h>
#include <signal.h>
#include <sys/epoll.h>
#include <string.h>
#include <time.h>

#include <systemd/sd-daemon.h>
#include <systemd/sd-event.h>

#include "daemon.h"
#include "http.h"
#include "log.h"
#include "loop.h"
#include "watch.h"

static uint64_t now_usec(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

/* Events arrive in bursts (a veth pair is several messages): act once, shortly after. */
#define COALESCE_USEC	50000
/* Socket passes run every 100 ms: sd-event's default slack (250 ms) is too much. */
#define SOCKETS_ACCURACY_USEC	10000
/* --watch: reload once the policy's directory has been quiet this long */
#define SETTLE_USEC	300000

/* A timer whose period the policy in force sets (0: off), and what it runs. */
struct periodic {
	sd_event_source *src;
	struct daemon *d;
	uint64_t (*every)(const struct daemon *d);
	void (*run)(struct daemon *d);
};

struct loop {
	struct daemon *d;
	sd_event_source *soon;		/* one-shot reconcile after events */
	sd_event_source *resync;	/* periodic full reconcile */
	struct periodic metrics;	/* settings.metrics_textfile */
	struct periodic sockets;	/* socket pacing: receivers' windows */
	sd_event_source *census;	/* limiter keys by rule, for the metrics */
	sd_event_source *settle;	/* --watch: debounce */
	struct watch *watch;		/* --watch, or NULL */
	struct http *http;		/* settings.metrics_listen, or NULL */
	sd_event *ev;
};

static int render_metrics(FILE *out, void *ctx)
{
	return daemon_metrics(ctx, out);
}

/* Serve /metrics where settings.metrics_listen says, if anywhere. */
static int http_sync(struct loop *l)
{
	const char *want = daemon_metrics_listen(l->d), *cur = http_addr(l->http);

	if ((!want && !cur) || (want && cur && !strcmp(want, cur)))
		return 0;
	/* the old socket first: the new address may be the same port */
	http_close(l->http);
	l->http = NULL;
	if (!want) {
		log_info("metrics: no longer serving http://%s/metrics", cur);
		return 0;
	}
	l->http = http_open(l->ev, want, render_metrics, l->d);
	return l->http ? 0 : -errno;
}

static int on_periodic(sd_event_source *s, uint64_t usec, void *ud)
{
	struct periodic *p = ud;
	uint64_t every = p->every(p->d);

	if (!every)
		return sd_event_source_set_enabled(s, SD_EVENT_OFF);
	p->run(p->d);
	return sd_event_source_set_time(s, usec + every);
}

static int on_census(sd_event_source *s, uint64_t usec, void *ud)
{
	struct loop *l = ud;
	uint64_t next = daemon_census_step(l->d);

	if (!next)
		return sd_event_source_set_enabled(s, SD_EVENT_OFF);
	return sd_event_source_set_time(s, usec + next);
}

/* After a reload: a periodic job may have been configured or dropped. */
static void rearm(sd_event_source *s, uint64_t every)
{
	uint64_t now;

	if (!every)
		return;
	sd_event_now(sd_event_source_get_event(s), CLOCK_MONOTONIC, &now);
	sd_event_source_set_time(s, now);
	sd_event_source_set_enabled(s, SD_EVENT_ON);
}

static void reconcile_soon(struct loop *l)
{
	uint64_t now;

	if (sd_event_source_get_enabled(l->soon, NULL) > 0)
		return;
	sd_event_now(sd_event_source_get_event(l->soon), CLOCK_MONOTONIC, &now);
	sd_event_source_set_time(l->soon, now + COALESCE_USEC);
	sd_event_source_set_enabled(l->soon, SD_EVENT_ONESHOT);
}

static int on_soon(sd_event_source *s, uint64_t usec, void *ud)
{
	struct loop *l = ud;

	daemon_reconcile(l->d, false);
	sd_notifyf(0, "STATUS=%s", daemon_status(l->d));
	return 0;
}

static int on_resync(sd_event_source *s, uint64_t usec, void *ud)
{
	struct loop *l = ud;

	daemon_reconcile(l->d, true);
	/* a resync may have put back what a failed request left out: STATUS= says so */
	sd_notifyf(0, "STATUS=%s", daemon_status(l->d));
	sd_event_source_set_time(s, usec + daemon_resync_usec(l->d));
	return 0;
}

static int on_link(sd_event_source *s, int fd, uint32_t revents, void *ud)
{
	struct loop *l = ud;

	if (daemon_link_events(l->d))
		reconcile_soon(l);
	return 0;
}

static int on_tc(sd_event_source *s, int fd, uint32_t revents, void *ud)
{
	struct loop *l = ud;

	if (daemon_tc_events(l->d))
		reconcile_soon(l);
	return 0;
}

/* SIGHUP and --watch alike: all or nothing, the old policy stays on any error. */
static void reload(struct loop *l)
{
	sd_notifyf(0, "RELOADING=1\nMONOTONIC_USEC=%llu\nSTATUS=reloading",
		   (unsigned long long)now_usec());
	/* what the file holds now, before it is read: a change after that is seen again */
	if (l->watch)
		watch_changed(l->watch);
	if (!daemon_reload(l->d) && http_sync(l))
		log_err("metrics: no /metrics endpoint until a reload can listen");
	rearm(l->metrics.src, daemon_metrics_usec(l->d));
	rearm(l->sockets.src, daemon_sockets_usec(l->d));
	rearm(l->census, 1);
	sd_notifyf(0, "READY=1\nSTATUS=%s", daemon_status(l->d));
	daemon_collect(l->d);
}

static int on_hup(sd_event_source *s, const struct signalfd_siginfo *si, void *ud)
{
	reload(ud);
	return 0;
}

static int on_watch(sd_event_source *s, int fd, uint32_t revents, void *ud)
{
	struct loop *l = ud;
	uint64_t now;

	if (!watch_events(l->watch))
		return 0;
	sd_event_now(l->ev, CLOCK_MONOTONIC, &now);
	sd_event_source_set_time(l->settle, now + SETTLE_USEC);
	sd_event_source_set_enabled(l->settle, SD_EVENT_ONESHOT);
	return 0;
}

static int on_settle(sd_event_source *s, uint64_t usec, void *ud)
{
	struct loop *l = ud;

	if (!watch_changed(l->watch)) {
		log_debug("watch: the policy file's content did not change");
		return 0;
	}
	log_info("watch: the policy file changed; reloading");
	reload(l);
	return 0;
}

static int on_term(sd_event_source *s, const struct signalfd_siginfo *si, void *ud)
{
	sd_notify(0, "STOPPING=1\nSTATUS=stopping");
	return sd_event_exit(sd_event_source_get_event(s), 0);
}

int loop_run(struct daemon *d, const char *watch_path)
{
	static const int sigs[] = { SIGHUP, SIGTERM, SIGINT };
	struct loop l = {
		.d = d,
		.metrics = { NULL, d, daemon_metrics_usec, daemon_write_metrics },
		.sockets = { NULL, d, daemon_sockets_usec, daemon_sockets_pass },
	};
	sd_event *ev = NULL;
	sigset_t mask;
	size_t i;
	int err;

	sigemptyset(&mask);
	for (i = 0; i < sizeof(sigs) / sizeof(sigs[0]); i++)
		sigaddset(&mask, sigs[i]);
	sigprocmask(SIG_BLOCK, &mask, NULL);

	err = sd_event_default(&ev);
	if (err < 0)
		goto out;
	if ((err = sd_event_add_signal(ev, NULL, SIGHUP, on_hup, &l)) < 0 ||
	    (err = sd_event_add_signal(ev, NULL, SIGTERM, on_term, &l)) < 0 ||
	    (err = sd_event_add_signal(ev, NULL, SIGINT, on_term, &l)) < 0 ||
	    (err = sd_event_add_io(ev, NULL, daemon_link_fd(d), EPOLLIN, on_link, &l)) < 0 ||
	    (err = sd_event_add_io(ev, NULL, daemon_tc_fd(d), EPOLLIN, on_tc, &l)) < 0 ||
	    (err = sd_event_add_time(ev, &l.soon, CLOCK_MONOTONIC, 0, 0, on_soon, &l)) < 0 ||
	    (err = sd_event_add_time_relative(ev, &l.resync, CLOCK_MONOTONIC,
					      daemon_resync_usec(d), 0, on_resync, &l)) < 0 ||
	    (err = sd_event_add_time_relative(ev, &l.metrics.src, CLOCK_MONOTONIC, 0, 0,
					      on_periodic, &l.metrics)) < 0 ||
	    (err = sd_event_add_time_relative(ev, &l.sockets.src, CLOCK_MONOTONIC, 0,
					      SOCKETS_ACCURACY_USEC, on_periodic, &l.sockets)) < 0 ||
	    (err = sd_event_add_time_relative(ev, &l.census, CLOCK_MONOTONIC, 0,
					      SOCKETS_ACCURACY_USEC, on_census, &l)) < 0 ||
	    (err = sd_event_add_time(ev, &l.settle, CLOCK_MONOTONIC, 0, 0, on_settle, &l)) < 0 ||
	    (err = sd_event_set_watchdog(ev, true)) < 0)
		goto out;
	sd_event_source_set_enabled(l.settle, SD_EVENT_OFF);
	l.ev = ev;
	if (watch_path) {
		l.watch = watch_open(watch_path);
		if (!l.watch) {
			err = -errno;
			goto out;
		}
		if ((err = sd_event_add_io(ev, NULL, watch_fd(l.watch), EPOLLIN, on_watch, &l)) < 0)
			goto out;
		log_info("watch: reloading when %s changes", watch_path);
	}
	if ((err = http_sync(&l)) < 0)
		goto out;
	sd_event_source_set_enabled(l.metrics.src, SD_EVENT_ON);
	sd_event_source_set_enabled(l.sockets.src, SD_EVENT_ON);
	sd_event_source_set_enabled(l.census, SD_EVENT_ON);
	sd_event_source_set_enabled(l.soon, SD_EVENT_OFF);
	sd_event_source_set_enabled(l.resync, SD_EVENT_ON);

	sd_notifyf(0, "READY=1\nSTATUS=%s", daemon_status(d));
	err = sd_event_loop(ev);
out:
	if (err < 0)
		log_err("event loop: %s", strerror(-err));
	sd_event_source_unref(l.soon);
	sd_event_source_unref(l.resync);
	sd_event_source_unref(l.metrics.src);
	sd_event_source_unref(l.sockets.src);
	sd_event_source_unref(l.census);
	sd_event_source_unref(l.settle);
	http_close(l.http);
	watch_close(l.watch);
	sd_event_unref(ev);
	return err < 0 ? err : 0;
}
