/*
 * O_DIRECT reads sent to the device by the thread that submits them, from
 * a ring of its own, in the io_uring_enter of its submission.  Through the
 * io_uring backend such a read waits for the ring thread to be woken and
 * to run; on a machine where the scheduler puts both threads on one CPU,
 * the ring thread submits only when the program sleeps, and the reads
 * reach the device in lockstep batches.
 *
 * The reaper thread completes them (read_owed.c): the ring is kept by its
 * thread and watched by the reaper for as long as the thread lives.  Each
 * read is hard-linked to an IORING_OP_FUTEX_WAKE of the ring's CQ tail,
 * which the kernel starts once the read's completion is posted, in the
 * same task work, whatever the read's result: the reaper sleeps on the
 * tail.  A read carries RWF_NOWAIT, so the kernel never hands it to an
 * io-wq worker, which a signal can keep from starting (see read_owed.c):
 * one that the device would make wait fails with EAGAIN, and the reaper
 * runs it plainly, as the thread backend would.
 *
 * Only for a call that the caller marks ASYS_DIRECT (its fd has O_DIRECT)
 * and that is a pread of its own, in no chain, from a thread of the
 * program's (not rtaio's own threads: the reaper would wait for itself at
 * its exit).  The kernel must have IORING_OP_FUTEX_WAKE (6.7) and a
 * registered ring (a ring with an fd would be one the program could
 * close).  A list goes this way whole or not at all, and not when the
 * ring has no room for it: asys_submit stays all or nothing.
 *
 * The thread's exit waits until the reaper has completed its reads (the
 * kernel cancels an exiting thread's requests, their wake-ups among them);
 * a fork child has none of them.
 */
#include <linux/futex.h>
#include <sys/syscall.h>

#include "crew.h"
#include "engine.h"
#include "internal.h"
#include "ring.h"
#include "sysarg.h"

#define SLOTS ASYS__READS_MAX
#define WAKE_DATA ((uint64_t)SLOTS)	/* user_data of the FUTEX_WAKEs, past every slot */

/* Initial-exec, as read_now.c's: see there. */
static __thread struct {
	struct asys__owed_ring *ring;
	unsigned out;		/* its ring, until the reaper has finished it */
	int status;		/* 0: not set up yet; 1: ready; -errno: none for this thread */
} me __attribute__((tls_model("initial-exec")));

static struct {
	pthread_once_t once;
	pthread_key_t key;	/* its destructor hands a thread's ring back as it exits */
	bool key_made, unloaded;
} direct = { PTHREAD_ONCE_INIT, 0, false, false };

/* The thread is done with its ring: the reaper finishes it. */
static void leave(void)
{
	asys__ring_disown(asys__owed_ring_of(me.ring));	/* the reaper's mappings keep it */
	asys__owed_leave(me.ring);
	me.ring = NULL;
}

static void thread_exit(void *arg)
{
	(void)arg;
	if (me.ring)
		leave();
	me.status = 0;
	asys__owed_wait(&me.out);
}

static void make_key(void)
{
	direct.key_made = pthread_key_create(&direct.key, thread_exit) == 0;
}

/* The thread's ring, set up on its first use; NULL if it has none. */
static struct asys__owed_ring *ring(void)
{
	struct asys__ring r;
	int err;

	if (me.status)
		return me.status == 1 && !__atomic_load_n(&direct.unloaded, __ATOMIC_RELAXED) ?
		       me.ring : NULL;
	me.status = -ENOSYS;
	if (asys__crew_member || __atomic_load_n(&direct.unloaded, __ATOMIC_RELAXED))
		return NULL;
	pthread_once(&direct.once, make_key);
	if (!direct.key_made || asys__ring_setup(&r, 2 * SLOTS, 2 * SLOTS))
		return NULL;
	err = asys__ring_own(&r);
	if (!err && (!asys__ring_has_op(&r, IORING_OP_READ) ||
		     !asys__ring_has_op(&r, ASYS__OP_FUTEX_WAKE)))
		err = -ENOSYS;
	if (!err)
		me.ring = asys__owed_keep(&r, &me.out);
	if (!me.ring) {
		asys__ring_disown(&r);
		asys__ring_close(&r);
		return NULL;
	}
	pthread_setspecific(direct.key, &me.out);	/* any value but NULL */
	me.status = 1;
	return me.ring;
}

/*
 * As the io_uring backend's (backend_uring.c): io_uring would read at the
 * file position for an offset of -1 where pread64 fails, and its length
 * has 32 bits.
 */
static bool eligible(const struct asys_call *c)
{
	return c->nr == SYS_pread64 && (c->flags & ASYS_DIRECT) &&
	       !(c->flags & (ASYS_LINK | ASYS_LINK_ARG)) && asys__arg64(c->arg, 3) >= 0 &&
	       c->arg[2] >= 0 && (unsigned long)c->arg[2] <= UINT32_MAX;
}

/* The read, then the FUTEX_WAKE that follows it whatever its result. */
static void prep(struct asys__ring *r, const struct asys_call *c, unsigned slot)
{
	struct io_uring_sqe *sqe = asys__ring_sqe(r);

	sqe->opcode = IORING_OP_READ;
	sqe->flags = IOSQE_IO_HARDLINK;
	sqe->fd = (int)c->arg[0];
	sqe->addr = asys__arg_ptr(c->arg[1]);
	sqe->len = (uint32_t)c->arg[2];
	sqe->off = (uint64_t)asys__arg64(c->arg, 3);	/* two longs on i386 and armhf */
	sqe->rw_flags = RWF_NOWAIT;
	sqe->user_data = slot;
	sqe = asys__ring_sqe(r);
	sqe->opcode = ASYS__OP_FUTEX_WAKE;
	sqe->flags = IOSQE_CQE_SKIP_SUCCESS;
	sqe->addr = (uint64_t)(uintptr_t)r->cq_tail;
	sqe->addr2 = 1;	/* the reaper */
	sqe->addr3 = FUTEX_BITSET_MATCH_ANY;
	sqe->fd = ASYS__FUTEX2_WORD32_PRIVATE;
	sqe->user_data = WAKE_DATA;
}

/*
 * The ring failed (it cannot be entered: the kernel is out of memory, say):
 * the reads it did not take run here, and the thread's reads go the
 * backend's way from now on.
 */
static void broken(struct asys__ring *r)
{
	uint64_t untaken[2 * SLOTS];
	unsigned i, n = asys__ring_untaken(r, untaken);
	struct asys_call *c;

	me.status = -EBADF;
	for (i = 0; i < n; i++)
		if (untaken[i] != WAKE_DATA && (c = asys__owed_unslot(me.ring, (unsigned)untaken[i])))
			asys__finish(c, asys__execute(c));
	leave();
}

int asys__direct_submit(struct asys_call *const calls[], size_t n)
{
	struct asys__owed_ring *o;
	struct asys__ring *r;
	size_t i;

	for (i = 0; i < n; i++)
		if (!eligible(calls[i]))
			return -EAGAIN;
	o = ring();
	if (!o)
		return -EAGAIN;
	r = asys__owed_ring_of(o);
	if (asys__owed_room(o) < n || asys__ring_room(r) < 2 * n)
		return -EAGAIN;
	for (i = 0; i < n; i++) {
		struct asys_call *c = calls[i];

		__atomic_store_n(&c->__class, ASYS__BOUNDED, __ATOMIC_RELAXED);
		/* a waiter may have come: keep its bit */
		asys__transition(c, ASYS_QUEUED | ASYS__SUBMITTING, ASYS_RUNNING);
		prep(r, c, asys__owed_slot(o, c));
	}
	/* from here the reaper may complete any of them: calls[] is not looked at again */
	asys__ring_commit(r);
	while (asys__ring_enter(r, 0) == -EINTR)
		;
	asys__owed_sent();
	if (asys__ring_pending(r))
		broken(r);
	return 0;
}

void asys__direct_fork_child(void)
{
	me.ring = NULL;
	me.out = 0;
	me.status = 0;
}

/* Unloading: no thread submits any more, and the key's destructor must not run. */
void asys__direct_unload(void)
{
	if (asys__exiting())
		return;
	__atomic_store_n(&direct.unloaded, true, __ATOMIC_RELAXED);
	if (direct.key_made)
		pthread_key_delete(direct.key);
	direct.key_made = false;
	me.ring = NULL;
}
