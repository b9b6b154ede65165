/*
 * Reads that the page cache can serve, run at once in the calling thread
 * through a small io_uring of its own: a single read costs one system call
 * as preadv2 would, a list of them one in all, and none a hand-off to the
 * ring thread.  Every read carries RWF_NOWAIT, so a buffered read
 * completes inside io_uring_enter or fails with EAGAIN.  An O_DIRECT read
 * does neither: io_uring sends it to the device and returns, and the read
 * is owed (read_owed.c), so that its submitter never waits for a device,
 * whatever the fd it was told was buffered turned out to be (Linux 6.7;
 * before, the submitter waits here for the device).
 *
 * A ring per thread, set up on its first read, registered with its thread
 * and its fd closed (asys__ring_own), so that the program may close or
 * reuse every descriptor number (the ring of a kernel older than 5.18 keeps
 * its fd, put aside: fd_aside.h).  A ring is entered by its thread alone,
 * so it needs no lock.  A ring left with owed reads passes to the reaper,
 * and its thread sets up another; the thread's own goes when it exits.
 * The rings are listed, for a fork child, which has none of them, and for
 * unloading.
 */
#include <linux/futex.h>
#include <stdlib.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "engine.h"
#include "internal.h"
#include "ring.h"

#define ENTRIES ASYS__READS_MAX
#define WAKE_DATA ((uint64_t)ENTRIES)	/* user_data of the owed reads' FUTEX_WAKE */

struct thread_ring {
	struct asys__ring ring;
	struct thread_ring *prev, *next;	/* on the list of every thread's ring */
	bool can_owe;				/* the kernel has IORING_OP_FUTEX_WAKE */
	unsigned owed;				/* reads the kernel runs on */
	struct asys_call *calls[ENTRIES];	/* by user_data */
};

/*
 * The calling thread's: initial-exec, as a read at submission cannot
 * afford __tls_get_addr (a few words of the static TLS that glibc keeps
 * for libraries loaded later, as rtaio may be).
 */
static __thread struct {
	struct thread_ring *ring;
	struct thread_ring *owing;	/* left with owed reads, until released */
	unsigned owed_out;		/* rings with owed reads, not finished yet */
	int status;			/* 0: not set up yet; 1: ready; -errno: no ring */
} me __attribute__((tls_model("initial-exec")));

static struct {
	pthread_mutex_t lock;	/* guards the list */
	struct thread_ring *rings;
	pthread_once_t once;
	pthread_key_t key;	/* its destructor frees a thread's ring as the thread exits */
	bool key_made, unloaded;
} now = { PTHREAD_MUTEX_INITIALIZER, NULL, PTHREAD_ONCE_INIT, 0, false, false };

static void unlist(struct thread_ring *t)
{
	pthread_mutex_lock(&now.lock);
	if (t->prev)
		t->prev->next = t->next;
	else
		now.rings = t->next;
	if (t->next)
		t->next->prev = t->prev;
	pthread_mutex_unlock(&now.lock);
}

/* With the lock: every ring goes (in a fork child, or unloading). */
static void free_all(void)
{
	while (now.rings) {
		struct thread_ring *t = now.rings;

		now.rings = t->next;
		asys__ring_close(&t->ring);
		free(t);
	}
}

/*
 * A thread exits: its ring goes (the kernel drops the registration), and
 * it waits for its owed reads (see read_owed.c).
 */
static void thread_exit(void *arg)
{
	(void)arg;
	if (me.ring) {
		unlist(me.ring);
		asys__ring_close(&me.ring->ring);
		free(me.ring);
		me.ring = NULL;
	}
	me.status = 0;
	asys__owed_wait(&me.owed_out);
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

	if (me.status)
		return me.status == 1;
	pthread_once(&now.once, make_key);
	t = malloc(sizeof *t);
	if (!t || !now.key_made)
		err = -ENOSYS;
	if (!err)
		err = asys__ring_setup(&t->ring, ENTRIES, 2 * ENTRIES);
	if (!err && !asys__ring_has_op(&t->ring, IORING_OP_READ)) {
		asys__ring_close(&t->ring);
		err = -ENOSYS;
	}
	if (err) {
		free(t);
		me.status = err;
		return false;
	}
	asys__ring_own(&t->ring);	/* the fd stays on kernels older than 5.18 */
	t->can_owe = t->ring.registered && asys__ring_has_op(&t->ring, ASYS__OP_FUTEX_WAKE);
	t->owed = 0;
	pthread_mutex_lock(&now.lock);
	t->prev = NULL;
	t->next = now.rings;
	if (now.rings)
		now.rings->prev = t;
	now.rings = t;
	pthread_mutex_unlock(&now.lock);
	pthread_setspecific(now.key, &me.owed_out);	/* any value but NULL */
	me.ring = t;
	me.status = 1;
	return true;
}

bool asys__reads_now(void)
{
	if (me.status == 1)	/* and so set up already */
		return !__atomic_load_n(&now.unloaded, __ATOMIC_RELAXED);
	asys__init();
	return !__atomic_load_n(&now.unloaded, __ATOMIC_RELAXED) && ready();
}

bool asys__reads_owed(void)
{
	return asys__reads_now() && me.ring->can_owe;
}

/*
 * Run reads[0..n) through this thread's ring, their results in place: how
 * many the kernel runs on (owed, -EINPROGRESS), or -1 if the ring failed
 * (the program closed the fd of a ring that could not be registered, say).
 */
static int run(struct thread_ring *t, struct asys__read *reads, unsigned n)
{
	struct asys__ring *ring = &t->ring;
	struct io_uring_cqe cqe[ENTRIES];
	unsigned i, got = 0;

	for (i = 0; i < n; i++) {
		struct io_uring_sqe *sqe = asys__ring_sqe(ring);

		sqe->opcode = IORING_OP_READ;
		sqe->fd = reads[i].fd;
		sqe->addr = (uint64_t)(uintptr_t)reads[i].buf;
		sqe->len = (uint32_t)reads[i].len;
		sqe->off = (uint64_t)reads[i].off;
		sqe->rw_flags = RWF_NOWAIT;
		sqe->user_data = i;
		reads[i].result = -EINPROGRESS;
		t->calls[i] = reads[i].call;
	}
	asys__ring_commit(ring);
	for (;;) {
		/* submits what the kernel has not taken yet (and waits for the rest) */
		int r = asys__ring_enter(ring, t->can_owe ? 0 : n - got);
		unsigned k;

		if (r < 0 && r != -EINTR)
			return -1;
		k = asys__ring_reap(ring, cqe, ENTRIES);
		for (i = 0; i < k; i++) {
			reads[cqe[i].user_data].result = cqe[i].res;
			t->calls[cqe[i].user_data] = NULL;
		}
		got += k;
		if (got == n)
			return 0;
		/* all in the kernel, and the rest not done: sent to the device */
		if (t->can_owe && !asys__ring_pending(ring))
			return (int)(n - got);
	}
}

int asys__read_now(struct asys__read *reads, size_t n)
{
	size_t i;
	int owed;

	for (i = 0; i < n; i++)
		reads[i].result = -EAGAIN;	/* until the kernel says otherwise */
	if (!asys__reads_now())
		return -ENOSYS;
	owed = run(me.ring, reads, (unsigned)n);
	if (owed < 0) {
		/*
		 * SQEs may be left that a later list must not submit: the
		 * ring is not used again (its fd number may be the
		 * program's by now: asys__ring_close() sees to that).  The
		 * reads it did not report go the usual way; one that ran
		 * anyway reads the same again.
		 */
		for (i = 0; i < n; i++)
			if (reads[i].result == -EINPROGRESS)
				reads[i].result = -EAGAIN;
		me.status = -EBADF;
	} else if (owed) {
		me.owing = me.ring;
		me.owing->owed = (unsigned)owed;
		unlist(me.owing);
		me.ring = NULL;
		me.status = 0;	/* a new ring for the next reads */
	}
	return 0;
}

void asys__read_owe(struct asys_call *call)
{
	call->__qnext = call->__qprev = call->__cnext = call->__cprev = call->__src = NULL;
	call->__input = 0;
	call->__bstate = call->__serial = 0;
	call->__class = ASYS__BOUNDED;	/* runs on the device: cannot be interrupted */
	call->__saved = asys__engine.generation;
	__atomic_store_n(&call->state, ASYS_RUNNING, __ATOMIC_RELEASE);
}

int asys__owed_wake_lost;

/* After the owed reads: a FUTEX_WAKE of the CQ tail, started once they are done. */
static int send_wake(struct asys__ring *ring)
{
	static uint32_t decoy;	/* what asys__owed_wake_lost 2 wakes instead */
	int lost = __atomic_load_n(&asys__owed_wake_lost, __ATOMIC_RELAXED);
	struct io_uring_sqe *sqe;
	int r;

	if (lost == 1)
		return 0;
	sqe = asys__ring_sqe(ring);
	sqe->opcode = ASYS__OP_FUTEX_WAKE;
	sqe->flags = IOSQE_IO_DRAIN;
	sqe->addr = (uint64_t)(uintptr_t)(lost == 2 ? &decoy : ring->cq_tail);
	sqe->addr2 = 1;	/* the reaper */
	sqe->addr3 = FUTEX_BITSET_MATCH_ANY;
	sqe->fd = ASYS__FUTEX2_WORD32_PRIVATE;
	sqe->user_data = WAKE_DATA;
	asys__ring_commit(ring);
	do
		r = asys__ring_enter(ring, 0);
	while (r == -EINTR);
	return r < 0 ? r : 0;
}

void asys__read_now_release(void)
{
	struct thread_ring *t = me.owing;
	unsigned expected;

	if (!t)
		return;
	me.owing = NULL;
	expected = t->owed;
	if (send_wake(&t->ring) == 0 &&
	    asys__owed_take(&t->ring, t->calls, expected, &me.owed_out) == 0) {
		asys__ring_disown(&t->ring);	/* the reaper's mappings keep it */
		free(t);
		return;
	}
	/* no reaper to be had: the device is waited for here after all */
	while (expected) {
		if (!asys__ring_ready(&t->ring))
			asys__ring_enter(&t->ring, 1);
		asys__owed_reap(&t->ring, t->calls, &expected);
	}
	asys__ring_disown(&t->ring);
	asys__ring_close(&t->ring);
	free(t);
}

void asys__read_now_fork_prepare(void)
{
	asys__owed_fork_prepare();
	pthread_mutex_lock(&now.lock);
}

void asys__read_now_fork_parent(void)
{
	pthread_mutex_unlock(&now.lock);
	asys__owed_fork_parent();
}

/*
 * The child has no registered ring and never enters the parent's: the
 * mappings go, and a ring that kept its fd is closed (the child's copy).
 * The thread that forked sets up a ring of its own when it needs one.
 */
void asys__read_now_fork_child(void)
{
	free_all();
	me.ring = NULL;
	me.owed_out = 0;
	me.status = 0;
	pthread_mutex_unlock(&now.lock);
	asys__owed_fork_child();
}

/*
 * Unloading: no thread runs a list any more (dlclose() with one running is
 * the program's error); the owed reads are finished, and the key's
 * destructor must not run once the code is gone.
 */
void asys__read_now_unload(void)
{
	if (asys__exiting())
		return;
	asys__owed_unload();
	pthread_mutex_lock(&now.lock);
	__atomic_store_n(&now.unloaded, true, __ATOMIC_RELAXED);
	if (now.key_made)
		pthread_key_delete(now.key);
	now.key_made = false;
	free_all();
	me.ring = NULL;
	me.status = -ENOSYS;
	pthread_mutex_unlock(&now.lock);
}
