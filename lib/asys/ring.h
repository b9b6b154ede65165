/*
 * A minimal io_uring ring over the raw system calls: set-up and tear-down,
 * the operation probe, taking SQEs and reaping CQEs.  No policy here: the
 * io_uring backend (backend_uring.c) decides what goes in and who reaps.
 *
 * Not thread-safe by itself: the backend serialises producers (its lock)
 * and consumers (its reaper) of each queue.
 */
#ifndef ASYS_RING_H
#define ASYS_RING_H

#include <linux/io_uring.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "fd_aside.h"
#include "futex.h"

/* What Debian 12's kernel headers (6.1) do not name yet. */
#define ASYS__OP_FUTEX_WAKE 52u				/* IORING_OP_FUTEX_WAKE, 6.7 */
#define ASYS__OP_FUTEX_WAIT 51u				/* IORING_OP_FUTEX_WAIT, 6.7 */
#define ASYS__FUTEX2_WORD32_PRIVATE (0x02u | 0x80u)	/* FUTEX2_SIZE_U32 | FUTEX2_PRIVATE */
#define ASYS__REGISTER_USE_REGISTERED_RING (1u << 31)	/* 6.3 */

struct asys__ring {
	int fd;			/* or, once registered, its index in the owner's table */
	bool registered;	/* asys__ring_own() */
	bool no_register;	/* registered for io_uring_enter(2) alone (Linux 5.18 to 6.2) */
	struct asys__fd_aside kept;	/* the fd, when it could not be registered */
	unsigned sq_entries, cq_entries;
	unsigned sq_mask, cq_mask;
	unsigned *sq_head, *sq_tail, *sq_array;
	unsigned *cq_head, *cq_tail;
	struct io_uring_sqe *sqes;
	struct io_uring_cqe *cqes;
	unsigned sq_local_tail;		/* SQEs filled in, not yet made visible */
	void *rings;			/* the SQ and CQ rings, one mapping */
	size_t rings_len, sqes_len;
	uint8_t supported[32];	/* opcodes the kernel has, newer than the headers' too */
};

/* Create a ring of at least sq_entries SQEs and cq_entries CQEs: 0 or -errno. */
ASYS__HIDDEN int asys__ring_setup(struct asys__ring *r, unsigned sq_entries, unsigned cq_entries);
/*
 * From the only thread that enters the ring from now on: register the ring
 * with that thread, and close its fd, so that the ring has no descriptor
 * number that the program could close or reuse.  Before Linux 6.3 only
 * io_uring_enter(2) takes the registered ring, and nothing can be
 * registered with the ring afterwards (asys__ring_register() fails with
 * EBADF): register first what must be.  0, or -errno when the kernel
 * cannot register a ring at all (older than 5.18): the fd then stays, put
 * aside (fd_aside.h).
 */
ASYS__HIDDEN int asys__ring_own(struct asys__ring *r);
/* Is the ring still rtaio's to enter: registered, or its fd not closed or reused? */
ASYS__HIDDEN bool asys__ring_still_ours(const struct asys__ring *r);
/*
 * From the owner thread: undo asys__ring_own's registration, so that the
 * ring lives on only as long as its mappings (asys__ring_close).
 */
ASYS__HIDDEN void asys__ring_disown(struct asys__ring *r);
/* Can this process set up a ring at all?  1, or -errno. */
ASYS__HIDDEN int asys__ring_probe(void);
/*
 * Unmap, and close the fd if it has one and the number still holds it (in
 * a fork child: forget the parent's ring without touching it).
 */
ASYS__HIDDEN void asys__ring_close(struct asys__ring *r);
ASYS__HIDDEN bool asys__ring_has_op(const struct asys__ring *r, unsigned op);

/* A zeroed SQE to fill in, or NULL when the SQ is full. */
ASYS__HIDDEN struct io_uring_sqe *asys__ring_sqe(struct asys__ring *r);
/*
 * For a ring that will not be entered again: the user_data of the SQEs
 * filled in that the kernel has not taken (at most sq_entries), which are
 * forgotten.
 */
ASYS__HIDDEN unsigned asys__ring_untaken(struct asys__ring *r, uint64_t *user_data);
/* Make the SQEs filled in so far visible to the kernel. */
ASYS__HIDDEN void asys__ring_commit(struct asys__ring *r);
/* SQEs that can still be taken (asys__ring_sqe) before the SQ is full. */
ASYS__HIDDEN unsigned asys__ring_room(const struct asys__ring *r);
/* Committed SQEs that the kernel has not consumed yet. */
ASYS__HIDDEN unsigned asys__ring_pending(const struct asys__ring *r);
/*
 * Hand the committed SQEs to the kernel, and wait for min_complete
 * completions: SQEs consumed (>= 0), or -errno (-EINTR, -EBUSY and -EAGAIN
 * leave the rest for a later call).
 */
ASYS__HIDDEN int asys__ring_enter(struct asys__ring *r, unsigned min_complete);
/* Are there CQEs to reap? */
ASYS__HIDDEN bool asys__ring_ready(const struct asys__ring *r);
/* Copy out up to max CQEs and consume them: how many. */
ASYS__HIDDEN unsigned asys__ring_reap(struct asys__ring *r, struct io_uring_cqe *out,
				      unsigned max);
/* io_uring_register(2): 0 or -errno. */
ASYS__HIDDEN int asys__ring_register(struct asys__ring *r, unsigned op, void *arg,
				     unsigned nargs);

#endif /* ASYS_RING_H */
