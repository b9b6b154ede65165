/*
 * A read that the page cache can serve at once completes at submission:
 * preadv2(RWF_NOWAIT) copies what is cached and never waits for the disk,
 * so the request costs no hand-off to another thread, whatever the backend.
 *
 * Tried first, before anything else is asked of the fd: a read that
 * completes here costs fcntl and preadv2, no more (preadv2 alone for a
 * lio_listio element on the fd of the one before).  Not for a lio_listio
 * element when the engine hands a list to the kernel whole (io_uring): one
 * preadv2 per element costs more than the list does there, hand-off to the
 * ring thread included (lio_listio of 1024 cached reads: 0.3x raw io_uring
 * with, 0.6x-0.8x without).  Not with O_DIRECT, where
 * the kernel would issue the I/O and wait for it in the caller.  preadv2
 * fails with ESPIPE on pipes, sockets and terminals, whose reads go in
 * order the usual way; so does any read while a non-seekable fd has
 * requests unfinished (/dev/zero takes preadv2, but a read on it must not
 * overtake an earlier write).  A read that finds only part of its data cached goes
 * the asynchronous way whole, a short read being what a program sees only
 * at the end of the file; its buffer holds that part already, so it can no
 * longer be cancelled.  RTAIO_INLINE_READS=0 turns this off, for programs
 * whose buffers must never be touched by the submitting thread (their page
 * faults wait for a userfaultfd handler, say).
 */
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/uio.h>

#include "../asys/engine.h"
#include "internal.h"

bool aio__read_now(struct aio__request *r, const struct aiocb *cb, struct aio__fdtype *t)
{
	struct iovec iov = { (void *)cb->aio_buf, cb->aio_nbytes };
	struct stat st;
	ssize_t n;
	int flags;

	if (!aio__inline_reads || r->op != LIO_READ || cb->aio_offset < 0 ||
	    aio__fd_stream_busy(r->fildes) || (r->list && asys__lists_whole()))
		return false;
	flags = aio__fd_flags(t);
	if (flags < 0 || (flags & O_DIRECT))
		return false;
	n = preadv2(r->fildes, &iov, 1, cb->aio_offset, RWF_NOWAIT);
	if (n < 0) {
		/* EAGAIN: not cached; errors: reported the usual way */
		if (errno == ESPIPE)
			t->seekable = 0;
		return false;
	}
	if ((size_t)n < cb->aio_nbytes &&
	    (fstat(r->fildes, &st) < 0 || cb->aio_offset + n < st.st_size)) {
		r->partly_read = true;
		return false;
	}
	aio__complete(r, n);
	return true;
}
