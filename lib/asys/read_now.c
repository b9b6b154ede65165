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
 * A ring per thread, set up on its first list, unless RTAIO_BACKEND=threads:
 * registered with its thread and its fd closed (asys__ring_own), so that
 * the program may close or reuse every descriptor number (the ring of a
 * kernel older than 6.3 keeps its fd).  A ring is entered by its thread
 * alone, so it needs no lock, and goes when its thread exits.  The rings
 * are listed, for a fork child, which has none of them, and for unloading.
 */
#include <stdlib.h>
#include <sys/uio.h>

#include "engine.h"
#include "internal.h"
#include "ring.h"

#define ENTRIES 64

struct thread_ring {
	struct asys__ring ring;
	struct thread_ring *prev, *next;	/* on the list of every thread's ring */
};

static __thread struct thread_ring *mine;
static __thread int status;	/* 0: not set up yet; 1: ready; -errno: no ring */

static struct {
	pthread_mutex_t lock;	/* guards the list */
	struct thread_ring *rings;
	pthread_once_t once;
	pthread_key_t key;	/* its destructor frees a thread's ring as the thread exits */
	bool key_made, unloaded;
} now = { PTHREAD_MUTEX_INITIALIZER, NULL, PTHREAD_ONCE_INIT, 0, false, false };

static void unlist(struct thread_ring *t)
{
	if (t->prev)
		t->prev->next = t->next;
	else
		now.rings = t->next;
	if (t->next)
		t->next->prev = t->prev;
}

/* With the lock: every ring goes (in a fork child, or unloading). */
static void free_all(void)
{
	while (now.rings) {
		struct thread_ring *t = now.rings;

		unlist(t);
		asys__ring_close(&t->ring);
		free(t);
	}
}

/* A thread exits: its ring goes (the kernel drops the registration). */
static void thread_exit(void *arg)
{
	struct thread_ring *t = arg;

	pthread_mutex_lock(&now.lock);
	unlist(t);
	pthread_mutex_unlock(&now.lock);
	asys__ring_close(&t->ring);
	free(t);
}

static void make_key(void)
{
	now.key_made = pthread_key_create(&now.key, thread_exit) == 0;
}

/* Is this thread's ring usable, setting it up on its first use? */
static bool ready(void)
{
	struct thread_ring *t;
	int err = 0;

	if (status)
		return status == 1;
	pthread_once(&now.once, make_key);
	t = malloc(sizeof *t);
	if (!t || !now.key_made || asys__engine.choice == ASYS__THREADS_ONLY)
		err = -ENOSYS;
	if (!err)
		err = asys__ring_setup(&t->ring, ENTRIES, 2 * ENTRIES);
	if (!err && !asys__ring_has_op(&t->ring, IORING_OP_READ)) {
		asys__ring_close(&t->ring);
		err = -ENOSYS;
	}
	if (err) {
		free(t);
		status = err;
		return false;
	}
	asys__ring_own(&t->ring);	/* the fd stays on kernels older than 6.3 */
	pthread_mutex_lock(&now.lock);
	t->prev = NULL;
	t->next = now.rings;
	if (now.rings)
		now.rings->prev = t;
	now.rings = t;
	pthread_mutex_unlock(&now.lock);
	pthread_setspecific(now.key, t);
	mine = t;
	status = 1;
	return true;
}

bool asys__reads_now(void)
{
	asys__init();
	return !__atomic_load_n(&now.unloaded, __ATOMIC_RELAXED) && ready();
}

/*
 * Run reads[0..n) (n <= the ring's size) through this thread's ring, their
 * results in place; false if the ring failed (the program closed the fd of
 * a ring that could not be registered, say).
 */
static bool run(struct asys__ring *ring, struct asys__read *reads, unsigned n)
{
	struct io_uring_cqe cqe[ENTRIES];
	unsigned i, got = 0;
	int r;

	for (i = 0; i < n; i++) {
		struct io_uring_sqe *sqe = asys__ring_sqe(ring);

		sqe->opcode = IORING_OP_READ;
		sqe->fd = reads[i].fd;
		sqe->addr = (uint64_t)(uintptr_t)reads[i].buf;
		sqe->len = (uint32_t)reads[i].len;
		sqe->off = (uint64_t)reads[i].off;
		sqe->rw_flags = RWF_NOWAIT;
		sqe->user_data = i;
	}
	asys__ring_commit(ring);
	while (got < n) {
		unsigned k = asys__ring_reap(ring, cqe, ENTRIES);

		for (i = 0; i < k; i++)
			reads[cqe[i].user_data].result = cqe[i].res;
		got += k;
		if (got == n)
			break;
		/* submits what the kernel has not taken yet, and waits for the rest */
		r = asys__ring_enter(ring, n - got);
		if (r < 0 && r != -EINTR)
			return false;
	}
	return true;
}

int asys__read_now(struct asys__read *reads, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		reads[i].result = -EAGAIN;	/* until the kernel says otherwise */
	if (!asys__reads_now())
		return -ENOSYS;
	for (i = 0; i < n; i += ENTRIES) {
		if (!run(&mine->ring, reads + i, n - i < ENTRIES ? (unsigned)(n - i) : ENTRIES)) {
			/*
			 * SQEs may be left that a later list must not submit: the
			 * ring is not used again, nor closed (its fd number may be
			 * the program's by now).  The reads it did not report go
			 * the usual way; one that ran anyway reads the same again.
			 */
			status = -EBADF;
			mine->ring.fd = -1;	/* so that nothing closes it either */
			break;
		}
	}
	return 0;
}

void asys__read_now_fork_prepare(void)
{
	pthread_mutex_lock(&now.lock);
}

void asys__read_now_fork_parent(void)
{
	pthread_mutex_unlock(&now.lock);
}

/*
 * The child has no registered ring and never enters the parent's: the
 * mappings go, and a ring that kept its fd is closed (the child's copy).
 * The thread that forked sets up a ring of its own when it needs one.
 */
void asys__read_now_fork_child(void)
{
	free_all();
	if (mine)
		pthread_setspecific(now.key, NULL);
	mine = NULL;
	status = 0;
	pthread_mutex_unlock(&now.lock);
}

/*
 * Unloading: no thread runs a list any more (dlclose() with one running is
 * the program's error); the key's destructor must not run once the code is
 * gone.
 */
void asys__read_now_unload(void)
{
	if (asys__exiting())
		return;
	pthread_mutex_lock(&now.lock);
	__atomic_store_n(&now.unloaded, true, __ATOMIC_RELAXED);
	if (now.key_made)
		pthread_key_delete(now.key);
	now.key_made = false;
	free_all();
	mine = NULL;
	status = -ENOSYS;
	pthread_mutex_unlock(&now.lock);
}
