// SPDX-License-Identifier: GPL-2.0
/*
 * Policy file watching for tcshaped --watch. inotify watches the file's
 * DIRECTORY, not the file: kubelet updates a ConfigMap volume by renaming a
 * new "..data" symlink over the old one, editors rename a new file over the
 * old one, and a watch on the old inode sees neither. Any event in the
 * directory only arms the loop's debounce timer; whether to reload is then
 * decided by the file's content, so unrelated files cost nothing.
 */
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <unistd.h>

#include "log.h"
#include "sha256.h"
#include "watch.h"

#define WATCH_MASK	(IN_CREATE | IN_DELETE | IN_MOVED_TO | IN_MOVED_FROM | IN_CLOSE_WRITE | \
			 IN_MODIFY | IN_ATTRIB | IN_DELETE_SELF | IN_MOVE_SELF)

struct watch {
	int fd;
	char *path;
	uint8_t sum[32];	/* of the bytes seen last; all zero: no file */
};

/* SHA-256 of the file's bytes (through symlinks); all zero if it cannot be read. */
static void file_sum(const char *path, uint8_t sum[32])
{
	char *buf = NULL, *nb;
	size_t len = 0, cap = 0;
	ssize_t r;
	int fd;

	memset(sum, 0, 32);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return;
	for (;;) {
		if (len == cap) {
			cap = cap ? cap * 2 : 65536;
			nb = realloc(buf, cap);
			if (!nb)
				goto out;
			buf = nb;
		}
		r = read(fd, buf + len, cap - len);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			goto out;
		if (r == 0)
			break;
		len += r;
	}
	sha256(buf, len, sum);
out:
	free(buf);
	close(fd);
}

struct watch *watch_open(const char *path)
{
	struct watch *w = calloc(1, sizeof(*w));
	char *copy = strdup(path);
	int err;

	if (!w || !copy) {
		free(w);
		free(copy);
		errno = ENOMEM;
		return NULL;
	}
	w->fd = -1;
	w->path = strdup(path);
	if (!w->path) {
		err = -ENOMEM;
		goto fail;
	}
	w->fd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
	if (w->fd < 0) {
		err = -errno;
		goto fail;
	}
	if (inotify_add_watch(w->fd, dirname(copy), WATCH_MASK) < 0) {
		err = -errno;
		log_err("watch %s: %s", copy, strerror(errno));
		goto fail;
	}
	file_sum(w->path, w->sum);
	free(copy);
	return w;
fail:
	free(copy);
	watch_close(w);
	errno = -err;
	return NULL;
}

void watch_close(struct watch *w)
{
	if (!w)
		return;
	if (w->fd >= 0)
		close(w->fd);
	free(w->path);
	free(w);
}

int watch_fd(const struct watch *w)
{
	return w->fd;
}

bool watch_events(struct watch *w)
{
	char buf[4096] __attribute__((aligned(__alignof__(struct inotify_event))));
	const struct inotify_event *e;
	bool any = false;
	ssize_t r;
	char *p;

	while ((r = read(w->fd, buf, sizeof(buf))) > 0) {
		for (p = buf; p < buf + r; p += sizeof(*e) + e->len) {
			e = (const struct inotify_event *)p;
			if (e->mask & (IN_IGNORED | IN_DELETE_SELF | IN_MOVE_SELF))
				log_warn("watch: the directory of %s went away; changes are no longer "
					 "seen (SIGHUP still reloads)", w->path);
			else if (e->mask & IN_Q_OVERFLOW)
				log_debug("watch: event queue overflowed; checking the file");
			any = true;
		}
	}
	return any;
}

bool watch_changed(struct watch *w)
{
	uint8_t sum[32];

	file_sum(w->path, sum);
	if (!memcmp(sum, w->sum, sizeof(sum)))
		return false;
	memcpy(w->sum, sum, sizeof(sum));
	return true;
}
