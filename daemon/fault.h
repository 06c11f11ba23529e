/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Fault injection for the fault tests (tests/e2e/test_faults.sh). Only the
 * test build, build/tcshaped-faults (-DTCS_FAULTS), has it; in tcshaped these
 * are empty inlines. TCSHAPED_FAULT in the environment says what to break:
 *   kill:STEP[:N]    SIGKILL ourselves when an apply reaches STEP the Nth time
 *                    (default 1; the start is the first apply, a reload the next):
 *                    loaded (reload only), roots, reserved, written, flipped,
 *                    freed, hooks; detached (a filter removed on stop or reload)
 *   stall:STEP[:N]   sleep 3 s there instead (signals and events wait)
 *   netlink:STEP[:N] the first tc request after that fails, EIO
 *   map-write:N      the Nth ruleset map write (counting from 1) fails, ENOSPC
 */
#ifndef TCS_FAULT_H
#define TCS_FAULT_H

#include <stdbool.h>

#ifdef TCS_FAULTS
void fault_point(const char *step);
bool fault_map_write(void);
bool fault_netlink(void);
#else
static inline void fault_point(const char *step)
{
}

static inline bool fault_map_write(void)
{
	return false;
}

static inline bool fault_netlink(void)
{
	return false;
}
#endif

#endif
