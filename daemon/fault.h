/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Fault injection for the fault tests (tests/e2e/test_faults.sh). Only the
 * test build, build/tcshaped-faults (-DTCS_FAULTS), has it; in tcshaped these
 * are empty inlines. TCSHAPED_FAULT in the environment says what to break:
 *   kill:STEP        SIGKILL ourselves when the apply reaches STEP
 *   map-write:N      the Nth ruleset map write (counting from 1) fails, ENOSPC
 *   netlink:N        the Nth tc request fails, EIO
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
