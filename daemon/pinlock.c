// SPDX-License-Identifier: GPL-2.0
/* The pin dir lock: see pinlock.h. */
#include <errno.h>
#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include "pinlock.h"

int pinlock_acquire(const char *dir)
{
	int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC), err;

	if (fd < 0)
		return -errno;
	if (flock(fd, LOCK_EX | LOCK_NB)) {
		err = -errno;
		close(fd);
		return err;
	}
	return fd;
}

bool pinlock_held(int dirfd)
{
	/* a shared lock is refused only while someone holds the exclusive one */
	if (flock(dirfd, LOCK_SH | LOCK_NB))
		return errno == EWOULDBLOCK;
	flock(dirfd, LOCK_UN);
	return false;
}
