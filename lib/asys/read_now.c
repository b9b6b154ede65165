/*
 * Reads that the page cache can serve, run at once in the calling thread
 * through a small io_uring of their own: a list of them costs one system
 * call, where preadv2 would cost one each, and no hand-off to the ring
 * thread.  Every read carries RWF_NOWAIT, and the caller vouches that its
 * fd is a file without O_DIRECT: such a read completes inside
 * io_uring_enter or fails with EAGAIN, so nothing stays in this ring when
 * the caller returns, and no completion is ever owed to a thread that may
 * have exited (the reason the main ring is entered by its own thread only).
 * Should an fd gain O_DIRECT between the caller's check and the read, the
 * read goes to the disk and the caller waits for it here.
 *
 * One ring for the process, its lock held for a whole list; set up on
 * first use, unless RTAIO_BACKEND=threads; a fork child sets up its own.
 */
#include <sys/uio.h>

#include "engine.h"
#include "internal.h"
#include "ring.h"

#define ENTRIES 64

static struct {
	pthread_mutex_t lock;
	struct asys__ring ring;
	int status;		/* 0: not set up yet; 1: ready; -errno: no ring (atomic) */
} now = { .lock = PTHREAD_MUTEX_INITIALIZER };

/* With the lock: is the ring usable, setting it up on first use? */
static bool ready(void)
{
	int err;

	if (now.status)
		return now.status == 1;
	err = asys__engine.choice == ASYS__THREADS_ONLY ? -ENOSYS :
	      asys__ring_setup(&now.ring, ENTRIES, 2 * ENTRIES);
	if (!err && !asys__ring_has_op(&now.ring, IORING_OP_READ)) {
		asys__ring_close(&now.ring);
		err = -ENOSYS;
	}
	__atomic_store_n(&now.status, err ? err : 1, __ATOMIC_RELAXED);
	return !err;
}

bool asys__reads_now(void)
{
	int status;
	bool ok;

	asys__init();
	status = __atomic_load_n(&now.status, __ATOMIC_RELAXED);
	if (status)
		return status == 1;
	pthread_mutex_lock(&now.lock);
	ok = ready();
	pthread_mutex_unlock(&now.lock);
	return ok;
}

/*
 * With the lock: run reads[0..n) (n <= the ring's size), their results in
 * place; false if the ring failed (the program closed its fd, say).
 */
static bool run(struct asys__read *reads, unsigned n)
{
	struct io_uring_cqe cqe[ENTRIES];
	unsigned i, got = 0;
	int r;

	for (i = 0; i < n; i++) {
		struct io_uring_sqe *sqe = asys__ring_sqe(&now.ring);

		sqe->opcode = IORING_OP_READ;
		sqe->fd = reads[i].fd;
		sqe->addr = (uint64_t)(uintptr_t)reads[i].buf;
		sqe->len = (uint32_t)reads[i].len;
		sqe->off = (uint64_t)reads[i].off;
		sqe->rw_flags = RWF_NOWAIT;
		sqe->user_data = i;
	}
	asys__ring_commit(&now.ring);
	while (got < n) {
		unsigned k = asys__ring_reap(&now.ring, cqe, ENTRIES);

		for (i = 0; i < k; i++)
			reads[cqe[i].user_data].result = cqe[i].res;
		got += k;
		if (got == n)
			break;
		/* submits what the kernel has not taken yet, and waits for the rest */
		r = asys__ring_enter(&now.ring, n - got);
		if (r < 0 && r != -EINTR)
			return false;
	}
	return true;
}

int asys__read_now(struct asys__read *reads, size_t n)
{
	size_t i;
	int err = 0;

	for (i = 0; i < n; i++)
		reads[i].result = -EAGAIN;	/* until the kernel says otherwise */
	pthread_mutex_lock(&now.lock);
	if (!ready())
		err = -ENOSYS;
	for (i = 0; !err && i < n; i += ENTRIES) {
		if (!run(reads + i, n - i < ENTRIES ? (unsigned)(n - i) : ENTRIES)) {
			/*
			 * SQEs may be left that a later list must not submit: the
			 * ring is not used again, nor closed (its fd number may be
			 * the program's by now).  The reads it did not report go
			 * the usual way; one that ran anyway reads the same again.
			 */
			__atomic_store_n(&now.status, -EBADF, __ATOMIC_RELAXED);
			break;
		}
	}
	pthread_mutex_unlock(&now.lock);
	return err;
}

void asys__read_now_fork_prepare(void)
{
	pthread_mutex_lock(&now.lock);
}

void asys__read_now_fork_parent(void)
{
	pthread_mutex_unlock(&now.lock);
}

/* The child never enters the parent's ring: it sets up its own when it needs one. */
void asys__read_now_fork_child(void)
{
	if (now.status == 1)
		asys__ring_close(&now.ring);
	__atomic_store_n(&now.status, 0, __ATOMIC_RELAXED);
	pthread_mutex_unlock(&now.lock);
}

void asys__read_now_unload(void)
{
	pthread_mutex_lock(&now.lock);
	if (now.status == 1)
		asys__ring_close(&now.ring);
	__atomic_store_n(&now.status, -ENOSYS, __ATOMIC_RELAXED);
	pthread_mutex_unlock(&now.lock);
}
