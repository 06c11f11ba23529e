// SPDX-License-Identifier: GPL-2.0
/*
 * A mark is an empty directory <pin_dir>/clsact/<ifindex> on the bpffs: it
 * lives exactly as long as the pins, needs no map (so no ABI), and ifindexes
 * are not reused within a network namespace until they wrap, so a mark
 * cannot name another device's qdisc.
 */
#include <dirent.h>
#include <limits.h>
#include <stdio.h>
#include <sys/stat.h>
#include <unistd.h>

#include "clsact_mark.h"

#define MARK_DIR	"clsact"

static void mark_path(char *buf, size_t len, const char *pin_dir, uint32_t ifindex)
{
	snprintf(buf, len, "%s/" MARK_DIR "/%u", pin_dir, ifindex);
}

void clsact_mark_set(const char *pin_dir, uint32_t ifindex)
{
	char p[PATH_MAX];

	snprintf(p, sizeof(p), "%s/" MARK_DIR, pin_dir);
	mkdir(p, 0700);
	mark_path(p, sizeof(p), pin_dir, ifindex);
	mkdir(p, 0700);
}

bool clsact_mark_test(const char *pin_dir, uint32_t ifindex)
{
	char p[PATH_MAX];
	struct stat st;

	mark_path(p, sizeof(p), pin_dir, ifindex);
	return !stat(p, &st) && S_ISDIR(st.st_mode);
}

void clsact_mark_clear(const char *pin_dir, uint32_t ifindex)
{
	char p[PATH_MAX];

	mark_path(p, sizeof(p), pin_dir, ifindex);
	rmdir(p);
}

void clsact_mark_clear_all(const char *pin_dir)
{
	char p[PATH_MAX];
	struct dirent *e;
	DIR *dir;

	snprintf(p, sizeof(p), "%s/" MARK_DIR, pin_dir);
	dir = opendir(p);
	if (!dir)
		return;
	while ((e = readdir(dir)))
		if (e->d_name[0] != '.') {
			snprintf(p, sizeof(p), "%s/" MARK_DIR "/%s", pin_dir, e->d_name);
			rmdir(p);
		}
	closedir(dir);
	snprintf(p, sizeof(p), "%s/" MARK_DIR, pin_dir);
	rmdir(p);
}
