/* aio_read, aio_write, aio_fsync: validate, snapshot, and queue a request. */
#include <fcntl.h>
#include <stddef.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>

#include "../asys/sysarg.h"
#include "internal.h"
#include "stats.h"

static void release_note(struct aio__notification *n)
{
	aio__request_put((struct aio__request *)((char *)n -
						 offsetof(struct aio__request, note)));
}

int aio__fd_flags(struct aio__fdtype *t)
{
	if (t->flags == -1)
		t->flags = fcntl(t->fd, F_GETFL);
	return t->flags;
}

int aio__fd_seekable(struct aio__fdtype *t)
{
	struct stat st;

	/* asked, unless a write trusted fdseen.c: nothing else may */
	if (t->seekable == -1 || t->unverified == 1) {
		t->unverified = 0;
		t->seekable = -1;
		if (fstat(t->fd, &st) < 0)
			return -errno;
		t->regular = S_ISREG(st.st_mode);
		t->stream = S_ISFIFO(st.st_mode) || S_ISSOCK(st.st_mode);
		t->seekable = t->regular || S_ISBLK(st.st_mode);
		if (!t->seekable)
			aio__fd_unsee(t->fd);	/* a pipe, say, where a file was */
	}
	return t->seekable;
}

void aio__prep_at(struct asys_call *call, long nr, int fd, long buf, long len, off_t off)
{
	asys_prep(call, nr, fd, buf, len, 0, 0, 0);
	asys__arg64_put(call->arg, 3, off);
}

/*
 * The aiocb's file offset.  The library's off_t has 64 bits (Makefile.am),
 * so its struct aiocb is struct aiocb64; a plain name on a 32-bit
 * architecture takes the aiocb of a program built with a 32-bit off_t
 * (__off_t), whose aio_offset is that, in the same place, and padding.
 */
static off_t aiocb_offset(const struct aiocb *cb, bool wide)
{
	__off_t narrow;

	if (wide || sizeof narrow == sizeof cb->aio_offset)
		return cb->aio_offset;
	memcpy(&narrow, (const void *)&cb->aio_offset, sizeof narrow);
	return narrow;
}

/*
 * Is a write's fd seekable (1, 0, -errno)?  A write through an fd that
 * was seen lately (fdseen.c) as a regular file with none of
 * AIO__WRITE_PATH_FLAGS is sent unverified, neither type nor flags asked:
 * with ASYS_SERIAL it runs as a plain pwrite64 on a worker (the io_uring
 * backend hands those to the thread backend too, where io_uring would
 * ignore the offset of a pipe and write into it).  A stale answer costs
 * no data.  On a pipe or socket that has the number now, pwrite64 fails
 * with ESPIPE, having written nothing (aio__fd_restream).  On an fd that
 * gained O_APPEND, Linux's pwrite64 appends whatever the offset, and
 * these writes run one at a time in submission order; O_DIRECT and
 * O_DSYNC are the kernel's to apply, on a worker rather than in the ring.
 * Asking (fcntl) cost a tenth of a buffered write's CPU time.
 */
static int write_seekable(struct aio__fdtype *t)
{
	int flags, seen, seekable;

	if (t->unverified == 1)
		return 1;	/* as for the list's write before */
	if (t->flags == -1 && t->seekable == -1) {
		seen = aio__fd_seen(t->fd);
		if (seen >= 0 && (seen & AIO__SEEN_REGULAR) && (seen & AIO__SEEN_PLAIN)) {
			t->seekable = t->regular = t->unverified = 1;
			t->stream = 0;
			return 1;
		}
	}
	flags = aio__fd_flags(t);
	if (flags < 0 || t->seekable != -1)
		return aio__fd_seekable(t);
	seekable = aio__fd_seekable(t);
	if (seekable == 1)
		aio__fd_see(t);
	return seekable;
}

/*
 * An unverified write through t's fd is to be held for an unfinished
 * request that it overlaps.  At its offset, it would be; through an fd
 * that has gained O_APPEND, it appends, and would then overtake the
 * unverified writes held before it, or be overtaken by those after it,
 * where appends go in submission order.  So the fd's flags are asked now
 * (only a write held pays for this): true if it has O_APPEND, which t,
 * the batch's look at the fd, learns; fdseen.c forgets the fd, so that
 * the writes after it are asked too.
 */
bool aio__fd_appends(struct aio__fdtype *t)
{
	int flags = fcntl(t->fd, F_GETFL);

	if (flags < 0 || !(flags & O_APPEND))
		return false;
	t->flags = flags;
	t->unverified = 0;
	aio__fd_unsee(t->fd);
	return true;
}

/* The write's AIO__WRITE_PATH_FLAGS: none, as seen, for an unverified one. */
static int write_flags(struct aio__fdtype *t)
{
	return t->unverified == 1 ? 0 : aio__fd_flags(t) & AIO__WRITE_PATH_FLAGS;
}

/*
 * Does a seekable t's fd have O_DIRECT, as nowait.c's buffered() found it
 * (no system call of its own)?  A read through it is then sent by the
 * submitting thread (ASYS_DIRECT), as a read at submission is: not with
 * RTAIO_INLINE_READS=0, where this thread must not touch the buffer (the
 * kernel pins its pages as it takes the read).  Its flags, if it asked them; else fdseen.c's answer, which
 * counts a regular file or block device as buffered unless it had
 * O_DIRECT.
 */
static bool read_direct(const struct aio__fdtype *t)
{
	if (!aio__inline_reads)
		return false;	/* t->flags may be a write's of the same list */
	if (t->flags != -1)
		return t->flags >= 0 && (t->flags & O_DIRECT);
	return t->buffered == 0;
}

/*
 * Turn the request into its engine call, and decide whether it must wait
 * for its turn on the fd.  -errno for a request that fails at once.
 */
static int prepare_call(struct aio__request *r, const struct aiocb *cb, struct aio__fdtype *t)
{
	long buf = (long)cb->aio_buf, len = (long)cb->aio_nbytes;
	int fd = r->fildes, seekable;

	switch (r->op) {
	case AIO__FSYNC:
	case AIO__FDATASYNC:
		asys_prep(&r->call, r->op == AIO__FSYNC ? SYS_fsync : SYS_fdatasync, fd,
			  0, 0, 0, 0, 0);
		r->call.flags = ASYS_BOUNDED;
		r->ordered = true;
		break;
	case LIO_READ:
	case LIO_WRITE:
		seekable = r->op == LIO_WRITE ? write_seekable(t) : aio__fd_seekable(t);
		if (seekable < 0)
			return seekable;
		/* appends and non-seekable fds go in submission order, with read/write */
		r->ordered = !seekable || (r->op == LIO_WRITE && (write_flags(t) & O_APPEND));
		if (r->ordered)
			asys_prep(&r->call, r->op == LIO_READ ? SYS_read : SYS_write, fd, buf,
				  len, 0, 0, 0);
		else
			aio__prep_at(&r->call, r->op == LIO_READ ? SYS_pread64 : SYS_pwrite64, fd,
				     buf, len, r->offset);
		/* what fstat or preadv2 told: the engine need not ask again */
		r->call.flags = seekable ? ASYS_BOUNDED : ASYS_UNBOUNDED;
		if (r->op == LIO_READ && !r->ordered && read_direct(t))
			r->call.flags |= ASYS_DIRECT;
		/* buffered writes to a file take its inode lock in turn anyway */
		if (r->op == LIO_WRITE && !r->ordered && t->regular == 1 &&
		    !(write_flags(t) & (O_DIRECT | O_DSYNC)))
			r->call.flags |= ASYS_SERIAL;
		r->unverified = !r->ordered && t->unverified == 1;
		break;
	default:
		return -EINVAL;
	}
	r->call.done = aio__call_done;
	return 0;
}

/* A request that could not be queued: say so in the aiocb too. */
static int refuse(struct aiocb *cb, int err)
{
	__atomic_store_n(&cb->__return_value, -1, __ATOMIC_RELAXED);
	aio__set_status(cb, -err);
	return err;
}

/* A request the engine refused: it never started, and its list counts it. */
static int refuse_request(struct aio__request *r, int err)
{
	struct aiocb *cb = r->cb;

	if (r->list)
		aio__list_done(r->list, true);
	aio__stat_refused(r);
	aio__request_put(r);
	return refuse(cb, err);
}

/* Nothing asked of fd yet. */
static void fdtype_reset(struct aio__fdtype *t, int fd)
{
	*t = (struct aio__fdtype){ .fd = fd, .flags = -1, .seekable = -1, .regular = -1,
				   .stream = -1, .buffered = -1 };
}

/* Empty, knowing no fd; not the arrays, which only the first n count. */
void aio__batch_init(struct aio__batch *batch, struct aio__list_reads *reads)
{
	batch->n = 0;
	batch->reads = reads;
	if (reads)
		reads->n = 0;
	fdtype_reset(&batch->type, -1);
	batch->refused = 0;
	batch->again = false;
}

int aio__submit(struct aiocb *cb, int op, bool wide, struct aio__list *list, bool notify,
		struct aio__batch *batch)
{
	struct aio__fdtype *t = &batch->type;
	struct aio__request *r;
	int err;

	aio__init();
	if (op < AIO__FSYNC && (cb->aio_reqprio < 0 || cb->aio_reqprio > AIO__PRIO_DELTA_MAX))
		return refuse(cb, -EINVAL);
	if (notify && aio__sigevent_check(&cb->aio_sigevent))
		return refuse(cb, -EINVAL);
	if (t->fd != cb->aio_fildes)
		fdtype_reset(t, cb->aio_fildes);
	r = aio__request_get();
	if (!r)
		return refuse(cb, -EAGAIN);
	r->cb = cb;
	r->fildes = cb->aio_fildes;
	r->op = op;
	r->offset = aiocb_offset(cb, wide);
	r->list = list;
	aio__note_set(&r->note, notify ? &cb->aio_sigevent : NULL);
	r->note.release = release_note;
	if (list)
		aio__list_hold(list);
	aio__stat_submit(r);
	err = aio__read_now(r, cb, t, batch) ? 0 : aio__queue(r, cb, t, batch);
	aio__stat_fd(t);	/* after: what submission asked of the fd, it need not ask again */
	return err;
}

/*
 * Hand the batch's calls to the engine at once.  It takes all or none: if
 * none, each element fails with the engine's error, as it would have alone.
 */
static void submit_calls(struct aio__batch *batch)
{
	unsigned i;
	int err;

	if (batch->n && asys_submit(batch->calls, batch->n) < 0) {
		err = -errno;
		for (i = 0; i < batch->n; i++) {
			aio__fd_done(batch->reqs[i]);
			refuse_request(batch->reqs[i], err);
		}
		batch->refused = err;
		batch->again |= err == -EAGAIN;
	}
	batch->n = 0;
}

int aio__queue(struct aio__request *r, const struct aiocb *cb, struct aio__fdtype *t,
	       struct aio__batch *batch)
{
	int err = prepare_call(r, cb, t);

	if (err) {
		aio__complete(r, err);	/* reported through aio_error, notified */
		return 0;
	}
	if (r->op == LIO_WRITE && !r->ordered)
		aio__read_batch_before(r, batch);
	if (batch->n == AIO__BATCH)
		submit_calls(batch);
	err = aio__fd_add(r, batch);
	return err ? refuse_request(r, err) : 0;
}

void aio__batch_flush(struct aio__batch *batch)
{
	aio__read_batch(batch);
	submit_calls(batch);
}

static int api_result(int err)
{
	if (!err)
		return 0;
	errno = -err;
	return -1;
}

/* aio_read, aio_write, aio_fsync: one request, 0 or -1 with errno. */
static int submit_one(struct aiocb *cb, int op, bool wide)
{
	struct aio__batch batch;
	int err;

	aio__batch_init(&batch, NULL);
	err = aio__submit(cb, op, wide, NULL, true, &batch);
	aio__batch_flush(&batch);
	if (!err)
		err = batch.refused;
	return api_result(err);
}

int aio__read(struct aiocb *cb);
int aio__write(struct aiocb *cb);
int aio__fsync(int operation, struct aiocb *cb);

int aio__read(struct aiocb *cb)
{
	return submit_one(cb, LIO_READ, false);
}

int aio__write(struct aiocb *cb)
{
	return submit_one(cb, LIO_WRITE, false);
}

#ifdef AIO__NARROW_OFFSET
int aio__read64(struct aiocb *cb);
int aio__write64(struct aiocb *cb);

int aio__read64(struct aiocb *cb)
{
	return submit_one(cb, LIO_READ, true);
}
AIO__EXPORT_WIDE(aio__read, aio__read64, aio_read);

int aio__write64(struct aiocb *cb)
{
	return submit_one(cb, LIO_WRITE, true);
}
AIO__EXPORT_WIDE(aio__write, aio__write64, aio_write);
#else
AIO__EXPORT(aio__read, aio_read);
AIO__EXPORT(aio__write, aio_write);
#endif

/* O_SYNC contains O_DSYNC's bit: compare for equality. */
int aio__fsync(int operation, struct aiocb *cb)
{
	if (operation != O_SYNC && operation != O_DSYNC)
		return api_result(refuse(cb, -EINVAL));
	if (fcntl(cb->aio_fildes, F_GETFL) < 0)
		return api_result(refuse(cb, -EBADF));
	return submit_one(cb, operation == O_SYNC ? AIO__FSYNC : AIO__FDATASYNC, true);
}
AIO__EXPORT(aio__fsync, aio_fsync);
