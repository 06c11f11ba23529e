// SPDX-License-Identifier: GPL-2.0
/*
 * TCSHAPED_FAULT for the test build: see fault.h. Each fault fires once per
 * process, and says so in the log, so a test knows it was reached.
 */
#ifdef TCS_FAULTS
#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fault.h"
#include "log.h"

static long countdown(const char *kind, long *left)
{
	const char *f = getenv("TCSHAPED_FAULT");
	size_t n = strlen(kind);

	if (*left == 0 && f && !strncmp(f, kind, n) && f[n] == ':')
		*left = strtol(f + n + 1, NULL, 10);
	if (*left <= 0)
		return -1;
	if (--*left == 0)
		*left = -1;	/* fired: once only */
	else
		return *left;
	return 0;
}

void fault_point(const char *step)
{
	const char *f = getenv("TCSHAPED_FAULT");

	if (f && !strncmp(f, "kill:", 5) && !strcmp(f + 5, step)) {
		log_warn("fault: SIGKILL at %s", step);
		kill(getpid(), SIGKILL);
	}
}

bool fault_map_write(void)
{
	static long left;

	if (countdown("map-write", &left))
		return false;
	log_warn("fault: map write fails");
	errno = ENOSPC;
	return true;
}

bool fault_netlink(void)
{
	static long left;

	if (countdown("netlink", &left))
		return false;
	log_warn("fault: netlink request fails");
	errno = EIO;
	return true;
}
#endif
