/*
 * A read that the page cache can serve at once completes at submission:
 * a read with RWF_NOWAIT copies what is cached and never waits for the
 * disk, so the request costs no hand-off to another thread, whatever the
 * backend.
 *
 * Tried first, before anything else is asked of the fd: a read that
 * completes here costs one system call, no more.  It goes through the
 * calling thread's own ring (asys__read_now), one io_uring_enter for a
 * single read or for a whole lio_listio list, whose reads wait in the
 * batch to be tried together when it is flushed, the ones not served then
 * going the usual way.
 *
 * Only on a regular file or a block device, the fds with a page cache: a
 * device such as /dev/zero would stop its RWF_NOWAIT read at the kernel's
 * first reschedule point with what it has, where read(2) would go on (and
 * a read on it must not overtake an earlier write either).  Nor with
 * O_DIRECT, where the read goes to the device.  What fstat and fcntl
 * said of the fd is kept for a second (fdseen.c), and may be stale.  A
 * stale answer costs time, never data, and never a wait for a device: a
 * read that the ring sends to the device (an fd number closed and opened
 * again with O_DIRECT, or given O_DIRECT by F_SETFL) is owed, and the
 * engine finishes it as a running call, after which the fd is asked again;
 * a pipe or socket that now has the number gives what read(2) would, and
 * is forgotten once the usual way finds it.  The second was 100 µs, which
 * made a program reading an fd every 100 µs or less often pay fstat and
 * fcntl on each read (a fifth of aio-bench sigev-thread's reads).  Without
 * a ring that can owe reads (no io_uring, or Linux older than 6.7), only
 * the type is trusted: F_GETFL is asked for each read, which is then a
 * preadv2.
 *
 * A read that finds only part of its data cached goes the asynchronous
 * way whole, a short read being what a program sees only at the end of a
 * regular file (a block device's end is not known here: its short read
 * goes that way too); its buffer holds that part already, so it can no
 * longer be cancelled.  RTAIO_INLINE_READS=0 turns all this off, for
 * programs whose buffers must never be touched by the submitting thread
 * (their page faults wait for a userfaultfd handler, say).
 */
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/uio.h>

#include "internal.h"

/*
 * t's fd is a regular file or a block device without O_DIRECT, as far as
 * an answer at most a second old knows (fdseen.c); exactly, where a read
 * on a stale answer could wait for a device.  An fd seen with O_DIRECT (or
 * not a file) is not asked again within the second: a stale answer costs
 * the read its try at once, no more, where asking cost every O_DIRECT read
 * an fcntl.
 */
static bool buffered(struct aio__fdtype *t)
{
	int seen, flags;

	if (t->buffered != -1)
		return t->buffered;
	seen = aio__fd_seen(t->fd);
	t->buffered = seen >= 0 && (seen & AIO__SEEN_BUFFERED);
	if (seen >= 0 && (!t->buffered || asys__reads_owed()))
		return t->buffered;
	if (seen < 0 && aio__fd_seekable(t) != 1) {
		t->buffered = false;
		return false;
	}
	flags = aio__fd_flags(t);
	t->buffered = flags >= 0 && !(flags & O_DIRECT);
	if (seen < 0 && flags >= 0)
		aio__fd_see(t);
	return t->buffered;
}

/*
 * Is a read at once that ended at `end` short for good?  At the end of a
 * regular file; and on a pipe or socket that the fd number names now (a
 * stale answer of buffered()), where it is what read(2) returns.
 */
static bool short_for_good(int fd, off_t end)
{
	struct stat st;

	if (fstat(fd, &st) < 0)
		return false;
	if (S_ISREG(st.st_mode))
		return end >= st.st_size;
	return S_ISFIFO(st.st_mode) || S_ISSOCK(st.st_mode);
}

/* What a read at once returned: true if that completes the request. */
static bool read_done(struct aio__request *r, const struct aiocb *cb, long n)
{
	if (n < 0)
		return false;	/* -EAGAIN: not cached; errors: reported the usual way */
	if ((size_t)n < cb->aio_nbytes && !short_for_good(r->fildes, r->offset + n)) {
		r->partly_read = true;
		return false;
	}
	aio__complete(r, n);
	return true;
}

void (*aio__owe_hook)(void);

/*
 * The kernel runs the read on (it went to the device): the request is in
 * progress, its call running, listed on its fd so that later writes of its
 * bytes wait for it.  The caller then lets the engine finish it
 * (asys__read_now_release).
 */
static void owe(struct aio__request *r, const struct aiocb *cb, const struct aio__fdtype *t)
{
	void (*hook)(void) = __atomic_load_n(&aio__owe_hook, __ATOMIC_RELAXED);

	aio__prep_at(&r->call, SYS_pread64, r->fildes, (long)cb->aio_buf, (long)cb->aio_nbytes,
		     r->offset);
	r->call.flags = ASYS_BOUNDED;
	r->call.done = aio__call_done;
	asys__read_owe(&r->call);
	if (hook)
		hook();
	if (aio__fd_add(r, NULL)) {
		/* no room in the fd table: in progress all the same, unlisted */
		__atomic_store_n(&r->cb->__return_value, 0, __ATOMIC_RELAXED);
		aio__set_status(r->cb, EINPROGRESS);
	}
	aio__fd_unsee(t->fd);
}

/* A list element on a file waits in the batch for the others. */
static bool keep_for_batch(struct aio__request *r, const struct aiocb *cb,
			   struct aio__fdtype *t, struct aio__batch *batch)
{
	struct aio__list_reads *l = batch->reads;
	unsigned i;

	if (aio__fd_seekable(t) != 1)
		return false;
	if (l->n == AIO__BATCH)
		aio__read_batch(batch);
	i = l->n++;
	l->reqs[i] = r;
	l->types[i] = *t;
	l->reads[i] = (struct asys__read){ r->fildes, (void *)cb->aio_buf, cb->aio_nbytes,
					   r->offset, 0, &r->call };
	return true;
}

bool aio__read_now(struct aio__request *r, const struct aiocb *cb, struct aio__fdtype *t,
		   struct aio__batch *batch)
{
	struct asys__read one = { r->fildes, (void *)cb->aio_buf, cb->aio_nbytes, r->offset, 0,
				  &r->call };
	struct iovec iov = { (void *)cb->aio_buf, cb->aio_nbytes };
	ssize_t n;

	if (!aio__inline_reads || r->op != LIO_READ || r->offset < 0 ||
	    cb->aio_nbytes > UINT32_MAX ||	/* io_uring's length */
	    aio__fd_reads_wait(r->fildes, r->offset, cb->aio_nbytes) || !buffered(t) ||
	    asys__ring_missing())
		return false;
	if (batch->reads && asys__reads_now())
		return keep_for_batch(r, cb, t, batch);
	if (asys__reads_owed()) {
		asys__read_now(&one, 1);
		if (one.result != -EINPROGRESS)
			return read_done(r, cb, one.result);
		owe(r, cb, t);
		asys__read_now_release();
		return true;
	}
	n = preadv2(r->fildes, &iov, 1, r->offset, RWF_NOWAIT);
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

		if (l->reads[i].result == -EINPROGRESS) {
			owe(r, r->cb, &l->types[i]);
			continue;
		}
		if (read_done(r, r->cb, l->reads[i].result))
			continue;
		err = aio__queue(r, r->cb, &l->types[i], batch);
		if (err) {
			batch->refused = err;
			batch->again |= err == -EAGAIN;
		}
	}
	asys__read_now_release();
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
		    aio__ranges_meet((uint64_t)k->off, k->len, (uint64_t)r->offset,
				     r->cb->aio_nbytes)) {
			aio__read_batch(batch);
			return;
		}
	}
}
