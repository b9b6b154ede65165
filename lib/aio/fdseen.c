/*
 * What submission found an fd to be lately: a regular file or a block
 * device, whether it had O_DIRECT, and whether it had any of O_APPEND,
 * O_DIRECT and O_DSYNC, kept for a second after fstat and fcntl said so.
 * Asking (fstat, fcntl) cost a third of a cached read's time and a tenth
 * of a buffered write's CPU time (one system call each), so reads at
 * submission (nowait.c) and buffered writes (submit.c) trust what was
 * found.
 *
 * An answer may be stale: nothing tells a library that an fd was closed,
 * its number given to something else, or its flags changed.  Each user
 * makes a stale answer cost time, never data: a read on a number that is
 * a pipe now gives what read(2) would, one that goes to a device is owed
 * (nowait.c); a write at an offset on a pipe or socket fails with ESPIPE,
 * having written nothing, and goes on as the stream's write
 * (aio__fd_restream); one through a number that gained O_APPEND still
 * appends (Linux's pwrite64 does), in submission order with the other
 * writes sent so.  Whoever finds the answer wrong forgets it.  So the
 * second only bounds how long a stale answer can cost a wasted try.
 *
 * A slot per fd number modulo SEEN_SLOTS, one word each: fd + 1 in the
 * high half; in the low half the time of the fstat in units of 1024 ns
 * (wrapping after 73 minutes), its three low bits replaced by what was
 * seen.
 */
#include <fcntl.h>
#include <stdint.h>
#include <time.h>

#include "internal.h"

#define SEEN_SLOTS 1024
#define RECHECK_UNITS (1000000000 >> 10)	/* 1 s */
#define SEEN_BITS (AIO__SEEN_REGULAR | AIO__SEEN_BUFFERED | AIO__SEEN_PLAIN)

static uint64_t seen[SEEN_SLOTS];

static uint64_t *slot_of(int fd)
{
	return &seen[(unsigned)fd % SEEN_SLOTS];
}

static uint32_t now_units(void)
{
	struct timespec ts;

	asys__now(&ts);
	return (uint32_t)(((uint64_t)ts.tv_sec * 1000000000 + (uint64_t)ts.tv_nsec) >> 10);
}

int aio__fd_seen(int fd)
{
	uint64_t e;

	if (fd < 0)
		return -1;
	e = __atomic_load_n(slot_of(fd), __ATOMIC_RELAXED);
	if (e >> 32 != (uint32_t)fd + 1 || now_units() - ((uint32_t)e & ~SEEN_BITS) >= RECHECK_UNITS)
		return -1;
	return (int)(e & SEEN_BITS);
}

void aio__fd_see(const struct aio__fdtype *t)
{
	uint32_t bits = (t->regular == 1 ? AIO__SEEN_REGULAR : 0) |
			(t->flags & O_DIRECT ? 0 : AIO__SEEN_BUFFERED) |
			(t->flags & AIO__WRITE_PATH_FLAGS ? 0 : AIO__SEEN_PLAIN);

	__atomic_store_n(slot_of(t->fd),
			 (uint64_t)((uint32_t)t->fd + 1) << 32 | (now_units() & ~SEEN_BITS) | bits,
			 __ATOMIC_RELAXED);
}

void aio__fd_unsee(int fd)
{
	uint64_t *slot = slot_of(fd);
	uint64_t e = __atomic_load_n(slot, __ATOMIC_RELAXED);

	if (e >> 32 == (uint32_t)fd + 1)
		__atomic_compare_exchange_n(slot, &e, 0, false, __ATOMIC_RELAXED,
					    __ATOMIC_RELAXED);
}
