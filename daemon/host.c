// SPDX-License-Identifier: GPL-2.0
/*
 * Facts about the host (host.h), read from /sys and /lib/modules.
 */
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/statfs.h>
#include <sys/utsname.h>
#include <unistd.h>

#include <linux/magic.h>

#include "host.h"

enum host_fq host_fq(void)
{
	static const char *const lists[] = { "modules.builtin", "modules.dep" };
	char path[PATH_MAX], line[256];
	bool readable = false, found = false;
	struct utsname u;
	size_t i;
	FILE *f;

	if (!access("/sys/module/sch_fq", F_OK))
		return FQ_PRESENT;
	if (uname(&u))
		return FQ_MAYBE;
	for (i = 0; i < sizeof(lists) / sizeof(lists[0]) && !found; i++) {
		snprintf(path, sizeof(path), "/lib/modules/%s/%s", u.release, lists[i]);
		f = fopen(path, "r");
		if (!f)
			continue;
		readable = true;
		while (!found && fgets(line, sizeof(line), f))
			found = strstr(line, "/sch_fq.ko") != NULL;
		fclose(f);
	}
	return found ? FQ_PRESENT : readable ? FQ_MISSING : FQ_MAYBE;
}

const char *host_cgroup2_root(void)
{
	static const char *const roots[] = { "/sys/fs/cgroup", "/sys/fs/cgroup/unified" };
	struct statfs sf;
	size_t i;

	for (i = 0; i < sizeof(roots) / sizeof(roots[0]); i++)
		if (!statfs(roots[i], &sf) && sf.f_type == CGROUP2_SUPER_MAGIC)
			return roots[i];
	return NULL;
}
