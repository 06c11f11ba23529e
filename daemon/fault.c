// SPDX-License-Identifier: GPL-2.0
/*
 * TCSHAPED_FAULT for the test build: see fault.h. Each fault fires once per
 * process, and says so in the log, so a test knows it was reached.
 */
#ifdef TCS_FAULTS
#include <errno.h>
#include <stdbool.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fault.h"
#include "log.h"

static bool netlink_armed;

/*
 * kill:STEP[:N], stall:STEP[:N], netlink:STEP[:N]: at the Nth time STEP is
 * reached (default the first).
 */
void fault_point(const char *step)
{
	static const char *const kinds[] = { "kill:", "stall:", "netlink:" };
	const char *f = getenv("TCSHAPED_FAULT"), *at = NULL;
	static unsigned long seen;
	size_t n = strlen(step), k;

	for (k = 0; f && k < sizeof(kinds) / sizeof(kinds[0]) && !at; k++)
		if (!strncmp(f, kinds[k], strlen(kinds[k])))
			at = f + strlen(kinds[k]);
	if (!at || strncmp(at, step, n) || (at[n] && at[n] != ':'))
		return;
	if (++seen != (at[n] ? strtoul(at + n + 1, NULL, 10) : 1))
		return;
	switch (k - 1) {
	case 0:
		log_warn("fault: SIGKILL at %s", step);
		kill(getpid(), SIGKILL);
		break;
	case 1:
		log_warn("fault: stalled 3 s at %s", step);
		sleep(3);
		break;
	default:
		netlink_armed = true;
	}
}

bool fault_map_write(void)
{
	static long left;
	const char *f = getenv("TCSHAPED_FAULT");

	if (!left && f && !strncmp(f, "map-write:", 10))
		left = strtol(f + 10, NULL, 10);
	if (left <= 0 || --left)
		return false;
	left = -1;	/* once */
	log_warn("fault: map write fails");
	errno = ENOSPC;
	return true;
}

bool fault_netlink(void)
{
	if (!netlink_armed)
		return false;
	netlink_armed = false;
	log_warn("fault: netlink request fails");
	errno = EIO;
	return true;
}
#endif
