/*
 * A read that the page cache can serve at once completes at submission:
 * preadv2(RWF_NOWAIT) copies what is cached and never waits for the disk,
 * so the request costs no hand-off to another thread, whatever the backend.
 *
 * Tried first, before anything else is asked of the fd: a read that
 * completes here costs preadv2, no more.  The elements of a list
 * on files go further when the engine can (io_uring): they wait in the
 * batch, and are tried all together in one system call
 * (asys__read_now) when the batch is flushed, the ones not served then
 * going the usual way.
 *
 * Not with O_DIRECT, where the kernel would issue the I/O and wait for it
 * in the caller.  Nor on anything but a regular file or a block device,
 * the fds with a page cache: a device such as /dev/zero takes preadv2, but
 * its RWF_NOWAIT read stops at the kernel's first reschedule point with
 * what it has, where read(2) would go on (and a read on it must not
 * overtake an earlier write either).  Asking (fstat, fcntl) cost a third
 * of a cached read's time, so an fd's answer is kept for 100 µs
 * (seen_buffered): an fd number closed and opened again with O_DIRECT, or
 * given O_DIRECT by F_SETFL, may have reads started within that time wait
 * for the device here.  The answer cannot be kept for longer, nor known to
 * be stale: nothing tells a library that an fd was closed or its flags
 * changed.  A stale answer costs time, never data: the read is what the
 * program asked for (an fd number reopened on a pipe fails with ESPIPE and
 * goes the usual way; one reopened on a device is read at the offset, and
 * while it has requests unfinished, not at all).  A read that finds only
 * part of its data cached goes the asynchronous way whole, a short read
 * being what a program sees only at the end of a regular file (a block
 * device's end is not known here: its short read goes that way too); its
 * buffer holds that part already, so it can no longer be cancelled.
 * RTAIO_INLINE_READS=0 turns this off, for programs
 * whose buffers must never be touched by the submitting thread (their page
 * faults wait for a userfaultfd handler, say).
 */
#include <fcntl.h>
#include <stdint.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <time.h>

#include "internal.h"

/*
 * The files found without O_DIRECT lately: fd + 1 in the high half, in the
 * low half the time of the check in units of 1024 ns (wrapping).
 */
#define SEEN_SLOTS 1024
#define RECHECK_UNITS (100000 >> 10)	/* 100 µs */
static uint64_t seen_buffered[SEEN_SLOTS];

static uint32_t now_units(void)
{
	struct timespec ts;

	asys__now(&ts);
	return (uint32_t)(((uint64_t)ts.tv_sec * 1000000000 + (uint64_t)ts.tv_nsec) >> 10);
}

/*
 * t's fd is a regular file or a block device without O_DIRECT, as far as a
 * check at most RECHECK_UNITS old knows.
 */
static bool buffered(struct aio__fdtype *t)
{
	uint64_t *slot = &seen_buffered[(unsigned)t->fd % SEEN_SLOTS];
	uint64_t e;
	uint32_t now;
	int flags;

	if (t->buffered != -1)
		return t->buffered;
	e = __atomic_load_n(slot, __ATOMIC_RELAXED);
	now = now_units();
	t->buffered = t->fd >= 0 && e >> 32 == (uint32_t)t->fd + 1 &&
		      now - (uint32_t)e < RECHECK_UNITS;
	if (t->buffered)
		return true;
	if (aio__fd_seekable(t) != 1) {
		t->buffered = false;
		return false;
	}
	flags = aio__fd_flags(t);
	t->buffered = flags >= 0 && !(flags & O_DIRECT);
	if (t->buffered)
		__atomic_store_n(slot, (uint64_t)((uint32_t)t->fd + 1) << 32 | now,
				 __ATOMIC_RELAXED);
	return t->buffered;
}

/* Does a read that ended at `end` on fd stop at the end of a regular file? */
static bool at_end_of_file(int fd, off_t end)
{
	struct stat st;

	return fstat(fd, &st) == 0 && S_ISREG(st.st_mode) && end >= st.st_size;
}

/* What a read at once returned: true if that completes the request. */
static bool read_done(struct aio__request *r, const struct aiocb *cb, long n)
{
	if (n < 0)
		return false;	/* -EAGAIN: not cached; errors: reported the usual way */
	if ((size_t)n < cb->aio_nbytes && !at_end_of_file(r->fildes, cb->aio_offset + n)) {
		r->partly_read = true;
		return false;
	}
	aio__complete(r, n);
	return true;
}

/* A list element on a file waits in the batch for the others. */
static bool keep_for_batch(struct aio__request *r, const struct aiocb *cb,
			   struct aio__fdtype *t, struct aio__batch *batch)
{
	struct aio__list_reads *l = batch->reads;
	unsigned i;

	if (aio__fd_seekable(t) != 1 || cb->aio_nbytes > UINT32_MAX)
		return false;
	if (l->n == AIO__BATCH)
		aio__read_batch(batch);
	i = l->n++;
	l->reqs[i] = r;
	l->types[i] = *t;
	l->reads[i] = (struct asys__read){ r->fildes, (void *)cb->aio_buf, cb->aio_nbytes,
					   cb->aio_offset, 0 };
	return true;
}

bool aio__read_now(struct aio__request *r, const struct aiocb *cb, struct aio__fdtype *t,
		   struct aio__batch *batch)
{
	struct iovec iov = { (void *)cb->aio_buf, cb->aio_nbytes };
	ssize_t n;

	if (!aio__inline_reads || r->op != LIO_READ || cb->aio_offset < 0 ||
	    aio__fd_reads_wait(r->fildes, cb->aio_offset, cb->aio_nbytes) || !buffered(t) ||
	    asys__ring_missing())
		return false;
	if (batch->reads && asys__reads_now())
		return keep_for_batch(r, cb, t, batch);
	n = preadv2(r->fildes, &iov, 1, cb->aio_offset, RWF_NOWAIT);
	if (n < 0 && errno == ESPIPE)
		t->seekable = 0;
	return read_done(r, cb, n < 0 ? -errno : n);
}

void aio__read_batch(struct aio__batch *batch)
{
	struct aio__list_reads *l = batch->reads;
	unsigned i, n = l ? l->n : 0;
	int err;

	if (!n)
		return;
	l->n = 0;
	asys__read_now(l->reads, n);	/* without a ring, every result is -EAGAIN */
	for (i = 0; i < n; i++) {
		struct aio__request *r = l->reqs[i];

		if (read_done(r, r->cb, l->reads[i].result))
			continue;
		err = aio__queue(r, r->cb, &l->types[i], batch);
		if (err) {
			batch->refused = err;
			batch->again |= err == -EAGAIN;
		}
	}
}

/*
 * fdtable.c holds a write behind the earlier requests it overlaps, but only
 * those already in the fd's list: reads kept in the batch join it when the
 * batch is flushed, after the write, and one the cache does not serve then
 * would wait for the write and see its bytes.
 */
void aio__read_batch_before(const struct aio__request *r, struct aio__batch *batch)
{
	struct aio__list_reads *l = batch->reads;
	unsigned i;

	for (i = 0; l && i < l->n; i++) {
		const struct asys__read *k = &l->reads[i];

		if (k->fd == r->fildes &&
		    aio__ranges_meet((unsigned long)k->off, k->len,
				     (unsigned long)r->cb->aio_offset, r->cb->aio_nbytes)) {
			aio__read_batch(batch);
			return;
		}
	}
}
