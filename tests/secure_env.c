/*
 * Run by secure-env.sh, as it is and as a setgid copy: prints whether the
 * process runs in secure-execution mode (AT_SECURE) and what rtaio made of
 * its environment variables: the pool's limits, and whether a pipe read
 * set up an io_uring (RTAIO_BACKEND).
 */
#include <aio.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/auxv.h>
#include <unistd.h>

#include "asys.h"

static int has_ring(void)
{
	DIR *d = opendir("/proc/self/fd");
	struct dirent *e;
	char path[300], target[64];
	int found = 0;

	if (!d)
		return -1;
	while ((e = readdir(d))) {
		ssize_t n;

		snprintf(path, sizeof path, "/proc/self/fd/%s", e->d_name);
		n = readlink(path, target, sizeof target - 1);
		if (n > 0) {
			target[n] = 0;
			found |= !strcmp(target, "anon_inode:[io_uring]");
		}
	}
	closedir(d);
	return found;
}

int main(void)
{
	struct asys_config c;
	struct aiocb cb;
	const struct aiocb *list[1] = { &cb };
	char b;
	int p[2];

	if (asys_configure(NULL, &c) < 0 || pipe2(p, O_CLOEXEC) < 0)
		return 1;
	memset(&cb, 0, sizeof cb);
	cb.aio_fildes = p[0];
	cb.aio_buf = &b;
	cb.aio_nbytes = 1;
	if (aio_read(&cb) < 0 || write(p[1], "s", 1) != 1)
		return 1;
	while (aio_error(&cb) == EINPROGRESS)
		aio_suspend(list, 1, NULL);
	if (aio_return(&cb) != 1)
		return 1;
	printf("secure=%lu max_threads=%u max_blocking_threads=%u ring=%d\n",
	       getauxval(AT_SECURE), c.max_threads, c.max_blocking_threads, has_ring());
	return 0;
}
