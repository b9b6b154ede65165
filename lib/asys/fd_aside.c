/* Descriptors kept out of the program's way: see fd_aside.h. */
#include <fcntl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fd_aside.h"

/*
 * Half the soft limit, so that the program's own fds meet rtaio's only
 * once it has opened that many; at most 512, so that the kernel's table
 * of fds, which grows to the highest number in use, stays small.
 */
static int lowest_aside(void)
{
	struct rlimit lim;

	if (getrlimit(RLIMIT_NOFILE, &lim) < 0 || lim.rlim_cur == RLIM_INFINITY ||
	    lim.rlim_cur >= 1024)
		return 512;
	return (int)(lim.rlim_cur / 2);
}

void asys__fd_put_aside(struct asys__fd_aside *a, int fd)
{
	struct stat st;
	int low = lowest_aside();

	if (fd < low) {
		int high = fcntl(fd, F_DUPFD_CLOEXEC, low);

		/* none free up there: the number it has will do */
		if (high >= 0) {
			close(fd);
			fd = high;
		}
	}
	a->fd = fd;
	/* a file that cannot be looked at is never taken for rtaio's */
	if (fstat(fd, &st) < 0)
		st.st_dev = st.st_ino = 0;
	a->dev = st.st_dev;
	a->ino = st.st_ino;
}

bool asys__fd_still_aside(const struct asys__fd_aside *a)
{
	struct stat st;

	return a->fd >= 0 && fstat(a->fd, &st) == 0 && st.st_dev == a->dev && st.st_ino == a->ino;
}

void asys__fd_close_aside(struct asys__fd_aside *a)
{
	if (asys__fd_still_aside(a))
		close(a->fd);
	a->fd = -1;
}
