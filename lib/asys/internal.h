/*
 * The asys engine's internal interface: between the core (submit, complete,
 * cancel, wait, config) and its backends.
 *
 * Design
 * ------
 * A call's memory belongs to its caller; the engine keeps its bookkeeping in
 * the call's __ fields while the call is pending, so submission and
 * completion never allocate.
 *
 * State word (asys_call.state, also the futex that waiters sleep on):
 *
 *     IDLE/DONE/CANCELED --submit--> QUEUED|SUBMITTING --backend--> QUEUED
 *     QUEUED --worker--> RUNNING --worker--> DONE
 *     QUEUED --asys_cancel, or a failed link--> CANCELED
 *
 * Every transition is one CAS (or an exchange into a final state) that keeps
 * the WAITERS bit.  A waiter sets WAITERS before it sleeps; whoever moves the
 * call into a final state wakes the futex only if WAITERS was set, so a
 * completion nobody waits for costs no system call.  SUBMITTING marks a call
 * whose asys_submit() has not returned yet: cancel answers EBUSY for it, and
 * no worker can see it.  Cancel wins only by QUEUED -> CANCELED, a worker only
 * by QUEUED -> RUNNING, and both happen under the lock that guards where the
 * call is queued, so exactly one side completes a call, exactly once.
 *
 * Once a call is final the engine never touches it again; with a done hook,
 * the final touch is the hook call itself (the caller keeps the call alive
 * until the hook runs).
 *
 * Chains: calls joined by ASYS_LINK form a chain that runs one call at a time
 * in list order.  Only a chain's first unfinished call is queued in the
 * backend; the others wait, linked by __cnext/__cprev.  When a chain call
 * finishes, the finisher passes its result (__input) to the later calls that
 * link to it (__src), and takes the next call as RUNNING itself.  A cancelled
 * call is unlinked before it is completed, so nobody follows a link into it.
 *
 * Locks, in this order: chain_lock (only for calls in chains), then the
 * backend's own locks (the io_uring backend's, then the thread backend's).  asys_wait, asys_wait_any and asys_state take no lock
 * and never allocate: they are async-signal-safe.
 */
#ifndef ASYS_INTERNAL_H
#define ASYS_INTERNAL_H

#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "asys.h"
#include "futex.h"

struct asys__stats;


/* Private bits of the state word, beside ASYS_STATE_MASK. */
#define ASYS__SUBMITTING 0x40000000u
#define ASYS__WAITERS 0x80000000u

/* __class: which workers may run a call (a chain takes its most blocking class). */
enum asys__class {
	ASYS__BOUNDED = 0,	/* completes in bounded time: files, metadata */
	ASYS__BLOCKING = 1,	/* may wait forever: pipes, sockets, poll, sleeps */
	ASYS__NCLASSES
};

/*
 * __saved bits (fixed while the call is pending).  A canceller reads them,
 * and the backends' __class and __bstate, after loading the state, and by
 * then the call may have finished and been submitted again (the POSIX
 * layer resubmits a write that found a stream while aio_cancel looks at
 * it): submission writes those fields as atomics, and what the canceller
 * does with either value, the state machine then decides.  The claim
 * itself is made under the lock of the backend that holds the call now,
 * which the io_uring backend reads from __bstate under its own lock (a
 * claim through the wrong one took a call from the ring's backlog).
 */
#define ASYS__IN_CHAIN 0x100u	/* part of a chain of two or more calls */
#define ASYS__PREV_MASK 0xffu	/* the state before submission, for rollback */
#define ASYS__GEN_MASK 0xffff0000u /* the engine generation (fork) it was submitted in */

/* __input when the linked call failed or was cancelled */
#define ASYS__INPUT_FAILED LONG_MIN

/* What an allowed system call is like (syscalls.c). */
enum asys__kind {
	ASYS__NOT_ALLOWED = 0,
	ASYS__KIND_BOUNDED,	/* always bounded (metadata, fsync, ...) */
	ASYS__KIND_FD,		/* bounded on regular files and block devices only */
	ASYS__KIND_BLOCKING	/* may block indefinitely whatever its arguments */
};
ASYS__HIDDEN enum asys__kind asys__syscall_kind(long nr);

/* One backend: where queued calls wait and who runs them. */
struct asys__backend {
	const char *name;
	void (*init)(void);	/* once, before the first call */
	/*
	 * Queue n ready calls (chain heads), clearing SUBMITTING under the
	 * backend's lock; all or nothing: -EAGAIN when no worker can run them.
	 */
	int (*submit)(struct asys_call *const heads[], size_t n);
	/* Remove a QUEUED call from the queue as CANCELED: 0, or -EBUSY. */
	int (*cancel)(struct asys_call *call);
	/*
	 * Optional: stop a RUNNING call that may block forever.  0 when the
	 * kernel gave it up, its outcome in *result (-ECANCELED or -EINTR if
	 * interrupted, else what it returned) for the caller to complete it;
	 * -EBUSY when it cannot be interrupted or is completing anyway.
	 */
	int (*interrupt)(struct asys_call *call, long *result);
	/* Queue a call that became ready (a chain's next call); never fails. */
	void (*requeue)(struct asys_call *call);
	/* config is read under the backend's lock; unlocking applies changes. */
	void (*lock_config)(void);
	void (*unlock_config)(void);
	void (*fork_prepare)(void);
	void (*fork_parent)(void);
	void (*fork_child)(void);
	/* The library is being unloaded: stop, and leave no thread behind. */
	void (*unload)(void);
	/* Fill in what the backend knows of out's fields; no lock (see engine.h). */
	void (*stats)(struct asys__stats *out);
};
ASYS__HIDDEN extern const struct asys__backend asys__threads;
/* io_uring where the kernel has the operation, the thread backend otherwise. */
ASYS__HIDDEN extern const struct asys__backend asys__uring;

/* RTAIO_BACKEND */
enum asys__choice {
	ASYS__AUTO = 0,		/* io_uring if it can be set up, else threads */
	ASYS__URING_ONLY,	/* io_uring; calls fail with EAGAIN without it */
	ASYS__THREADS_ONLY
};

/* config.c: the process-wide engine. */
struct asys__engine {
	const struct asys__backend *backend;
	enum asys__choice choice;
	struct asys_config config;
	pthread_mutex_t chain_lock;
	struct asys__seq completions;	/* for asys_wait_any */
	void (*prompt_done)(struct asys_call *call);	/* asys__prompt_hook() */
	uint32_t generation;	/* bumped in a fork child, within ASYS__GEN_MASK */
};
ASYS__HIDDEN extern struct asys__engine asys__engine;
ASYS__HIDDEN void asys__init(void);

/* complete.c, for backends: run a RUNNING call, then finish it. */
ASYS__HIDDEN long asys__execute(struct asys_call *call);
/*
 * Does a call that the kernel ended short after `done` bytes in all go on
 * for the rest, as its system call would for a caller that no signal
 * interrupts?  A write(2) or send(2) on a blocking fd (nonblock: whether
 * the fd is O_NONBLOCK, or -1 to ask it) without a send timeout, a recv(2)
 * with MSG_WAITALL on a blocking stream socket without a receive timeout,
 * and a read(2) of an endless
 * device, which stops only at a page boundary (so the short reads of pipes
 * and sockets, nearly all of them, are told apart without an fstat); never
 * past what one read(2) or write(2) transfers at most (MAX_RW_COUNT, INT_MAX
 * rounded down to a page: a larger count is cut to it, and the system call
 * returns that).
 */
ASYS__HIDDEN bool asys__goes_on(long nr, const long a[ASYS_MAX_ARGS], long done, int nonblock);
/*
 * Has the program set a timeout (opt: SO_RCVTIMEO, SO_SNDTIMEO) on socket
 * fd?  Then a call that waits on it ends at the timeout, short or with
 * EAGAIN, and that count is the program's to see: it is never continued,
 * and it never goes to io_uring, which waits for the socket however long.
 */
ASYS__HIDDEN bool asys__times_out(int fd, int opt);
/* Publish the result; returns the chain's next call, already RUNNING, or NULL. */
ASYS__HIDDEN struct asys_call *asys__finish(struct asys_call *call, long result);
/*
 * Complete a claimed (RUNNING) call as `final` with `result`, then follow its
 * chain: a next call whose link failed is cancelled in turn; a ready one is
 * returned claimed, or put back in the backend's queue with requeue.
 * locked: the caller holds chain_lock (it is released).
 */
ASYS__HIDDEN struct asys_call *asys__settle(struct asys_call *call, long result,
					    uint32_t final, bool requeue, bool locked);

/* State word helpers. */
static inline uint32_t asys__load(const struct asys_call *call)
{
	return __atomic_load_n(&call->state, __ATOMIC_ACQUIRE);
}

/* Move `from` -> `to` keeping the private bits; false if the state was not `from`. */
static inline bool asys__transition(struct asys_call *call, uint32_t from, uint32_t to)
{
	uint32_t s = asys__load(call);

	do {
		if ((s & ~ASYS__WAITERS) != from)
			return false;
	} while (!__atomic_compare_exchange_n(&call->state, &s, to | (s & ASYS__WAITERS),
					      false, __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE));
	return true;
}

/* Make a claimed call final and wake its waiters (complete.c). */
ASYS__HIDDEN void asys__publish(struct asys_call *call, long result, uint32_t final_state);

/*
 * read_owed.c: reads that the kernel runs on, completed by the reaper
 * thread as their completions arrive in their ring.  A ring is handed
 * over whole with the reads at submission that went to the device
 * (read_now.c), or kept by its owner thread, which goes on sending its
 * O_DIRECT reads to it (direct.c).
 */
struct asys__ring;
struct asys__owed_ring;
/*
 * A ring with `expected` reads still in the kernel, and a FUTEX_WAKE of
 * its CQ tail after them, passes to the reaper, calls[i] being the call of
 * the read whose user_data is i; the owner counts it in *owner_out until
 * it is finished.  0, or -errno when no reaper can run.
 */
ASYS__HIDDEN int asys__owed_take(const struct asys__ring *ring, struct asys_call *const calls[],
				 unsigned expected, unsigned *owner_out);
/*
 * Complete the calls whose completions are in the ring; returns the CQ
 * tail seen.  *expected is decremented for each (atomically: an owner
 * that keeps the ring adds to it).
 */
ASYS__HIDDEN unsigned asys__owed_reap(struct asys__ring *ring, struct asys_call *const calls[],
				      unsigned *expected);
/* An owner thread, before it exits: wait until its rings are finished. */
ASYS__HIDDEN void asys__owed_wait(const unsigned *owner_out);
/*
 * Reads taken so far, rings finished by a look, their wake-up lost, reads
 * sent to kept rings, and reads the device refused (asys__stats).
 */
ASYS__HIDDEN void asys__owed_stats(unsigned long *owed, unsigned long *unwoken,
				   unsigned long *direct, unsigned long *refused);
/*
 * A ring that its owner keeps: the reaper watches it from now on (the
 * owner's until asys__owed_leave), counted in *owner_out.  Each read the
 * owner sends has a slot (user_data), taken with asys__owed_slot before
 * the read goes in, given back by the reaper once the read is complete,
 * and is hard-linked to a FUTEX_WAKE of the CQ tail.  NULL when no reaper
 * can run, or it watches as many rings as it can already.
 */
ASYS__HIDDEN struct asys__owed_ring *asys__owed_keep(const struct asys__ring *ring,
						     unsigned *owner_out);
ASYS__HIDDEN struct asys__ring *asys__owed_ring_of(struct asys__owed_ring *o);
/* Slots free; only the owner takes them, so as many asys__owed_slot calls succeed. */
ASYS__HIDDEN unsigned asys__owed_room(const struct asys__owed_ring *o);
/* A free slot for call, counted as expected. */
ASYS__HIDDEN unsigned asys__owed_slot(struct asys__owed_ring *o, struct asys_call *call);
/* A slot whose read never went in: its call, the slot free again. */
ASYS__HIDDEN struct asys_call *asys__owed_unslot(struct asys__owed_ring *o, unsigned slot);
/* The owner has sent the reads of the slots it took. */
ASYS__HIDDEN void asys__owed_sent(void);
/* The owner is gone: the reaper finishes the reads sent, then the ring. */
ASYS__HIDDEN void asys__owed_leave(struct asys__owed_ring *o);
ASYS__HIDDEN void asys__owed_fork_prepare(void);
/*
 * direct.c: send calls (a list) from the calling thread's own ring when
 * each is a pread marked ASYS_DIRECT in no chain: 0 when it took them all
 * (RUNNING, for the reaper to complete), -EAGAIN when it took none.
 */
ASYS__HIDDEN int asys__direct_submit(struct asys_call *const calls[], size_t n);
ASYS__HIDDEN void asys__direct_fork_child(void);
ASYS__HIDDEN void asys__direct_unload(void);
ASYS__HIDDEN void asys__owed_fork_parent(void);
ASYS__HIDDEN void asys__owed_fork_child(void);
ASYS__HIDDEN void asys__owed_unload(void);

#endif /* ASYS_INTERNAL_H */
