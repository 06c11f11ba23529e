// SPDX-License-Identifier: GPL-2.0
/*
 * What the binaries link (nm on this build's tcshaped and tcshapectl):
 * tcshapectl reads the pinned state and checks policies; it must carry none
 * of the daemon's code that loads, attaches or changes the kernel. tcshaped
 * is read the same way as the control: the names looked for are real.
 */
#include <errno.h>
#include <libgen.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "check.h"

/* The daemon's start, apply and attach paths: never in tcshapectl. */
static const char *const daemon_only[] = {
	"daemon_start",	    "daemon_reload",	"daemon_reconcile", "maps_open",       "maps_apply",
	"tc_filter_attach", "tc_clsact_ensure", "tc_root_set_fq",   "link_watch_open", "hooks_sync",
	"roots_sync",	    "pins_load",	"sockpace_open",
};

static char bindir[PATH_MAX];

/* The global functions bin defines, one "name\n" each, in buf; false if nm failed. */
static bool defined(const char *bin, char *buf, size_t len)
{
	char cmd[PATH_MAX + 64], line[512];
	size_t used = 0;
	FILE *f;

	snprintf(cmd, sizeof(cmd), "nm -P --defined-only '%s/%s' 2>/dev/null", bindir, bin);
	f = popen(cmd, "r");
	if (!f)
		return false;
	buf[0] = '\n';
	buf[1] = '\0';
	used = 1;
	while (fgets(line, sizeof(line), f)) {
		char name[256], type;

		if (sscanf(line, "%255s %c", name, &type) == 2 && type == 'T' &&
		    used + strlen(name) + 2 < len)
			used += (size_t)sprintf(buf + used, "%s\n", name);
	}
	return pclose(f) == 0 && used > 1;
}

static bool has(const char *syms, const char *name)
{
	char probe[300];

	snprintf(probe, sizeof(probe), "\n%s\n", name);
	return strstr(syms, probe) != NULL;
}

static int test_daemon_has_them(void)
{
	static char syms[1 << 20];
	size_t i;

	if (!defined("tcshaped", syms, sizeof(syms)))
		T_FAILED("nm %s/tcshaped failed", bindir);
	for (i = 0; i < sizeof(daemon_only) / sizeof(daemon_only[0]); i++)
		if (!has(syms, daemon_only[i]))
			T_FAILED("tcshaped does not define %s: this list is stale", daemon_only[i]);
	return 0;
}

static int test_tcshapectl_links_only_what_it_uses(void)
{
	static char syms[1 << 20];
	size_t i;

	if (!defined("tcshapectl", syms, sizeof(syms)))
		T_FAILED("nm %s/tcshapectl failed", bindir);
	CHECK(has(syms, "policy_check_file"));
	CHECK(has(syms, "state_open_pins"));
	for (i = 0; i < sizeof(daemon_only) / sizeof(daemon_only[0]); i++)
		if (has(syms, daemon_only[i]))
			T_FAILED("tcshapectl links %s, the daemon's", daemon_only[i]);
	return 0;
}

int main(int argc, char **argv)
{
	char exe[PATH_MAX];
	ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);

	if (n < 0)
		return 2;
	exe[n] = '\0';
	/* B/tests/unit/test_links -> B */
	snprintf(bindir, sizeof(bindir), "%s", dirname(dirname(dirname(exe))));
	TEST(test_daemon_has_them);
	TEST(test_tcshapectl_links_only_what_it_uses);
	return tests_done("unit-links");
}
