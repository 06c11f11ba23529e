// SPDX-License-Identifier: GPL-2.0
/*
 * The event loop (sd-event): SIGHUP reloads, SIGTERM/SIGINT stop, the
 * watchdog is fed when the unit asks for one; sd_notify tells systemd what
 * happens (READY=1, RELOADING=1 ... READY=1, STATUS=).
 */
#include <errno.h>
#include <signal.h>
#include <string.h>
#include <time.h>

#include <systemd/sd-daemon.h>
#include <systemd/sd-event.h>

#include "daemon.h"
#include "log.h"
#include "loop.h"

static uint64_t now_usec(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

static int on_hup(sd_event_source *s, const struct signalfd_siginfo *si, void *ud)
{
	struct daemon *d = ud;

	sd_notifyf(0, "RELOADING=1\nMONOTONIC_USEC=%llu\nSTATUS=reloading",
		   (unsigned long long)now_usec());
	daemon_reload(d);
	sd_notifyf(0, "READY=1\nSTATUS=%s", daemon_status(d));
	return 0;
}

static int on_term(sd_event_source *s, const struct signalfd_siginfo *si, void *ud)
{
	sd_notify(0, "STOPPING=1\nSTATUS=stopping");
	return sd_event_exit(sd_event_source_get_event(s), 0);
}

int loop_run(struct daemon *d)
{
	static const int sigs[] = { SIGHUP, SIGTERM, SIGINT };
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
	if ((err = sd_event_add_signal(ev, NULL, SIGHUP, on_hup, d)) < 0 ||
	    (err = sd_event_add_signal(ev, NULL, SIGTERM, on_term, d)) < 0 ||
	    (err = sd_event_add_signal(ev, NULL, SIGINT, on_term, d)) < 0 ||
	    (err = sd_event_set_watchdog(ev, true)) < 0)
		goto out;

	sd_notifyf(0, "READY=1\nSTATUS=%s", daemon_status(d));
	err = sd_event_loop(ev);
out:
	if (err < 0)
		log_err("event loop: %s", strerror(-err));
	sd_event_unref(ev);
	return err < 0 ? err : 0;
}
