/*
 * Futex primitives shared by the engine and the POSIX layer: waits against
 * absolute CLOCK_MONOTONIC deadlines, and completion sequences that let a
 * thread wait for "any of these" without a futex per item.  All of it is
 * async-signal-safe: system calls and atomics, no lock, no allocation.
 */
#ifndef ASYS_FUTEX_H
#define ASYS_FUTEX_H

#include <stdbool.h>
#include <stdint.h>
#include <time.h>

#define ASYS__HIDDEN __attribute__((visibility("hidden")))

ASYS__HIDDEN void asys__wake(uint32_t *word);
/*
 * Sleep while *word == val, until the absolute deadline: 0 on a wake-up or a
 * changed value, -ETIMEDOUT, or -EINTR when any signal handler ran.  With
 * no deadline (NULL) the kernel restarts the sleep after a handler
 * installed with SA_RESTART: -EINTR only after other handlers.
 */
ASYS__HIDDEN int asys__futex_wait(uint32_t *word, uint32_t val, const struct timespec *deadline);
ASYS__HIDDEN void asys__now(struct timespec *ts);
/*
 * Relative timeout -> absolute deadline; NULL gives a distant one, so that a
 * wait without a timeout is still ended by a signal handler (the kernel
 * silently restarts an untimed futex wait after an SA_RESTART handler).
 * -EINVAL for a malformed timespec.
 */
ASYS__HIDDEN int asys__deadline(const struct timespec *timeout, struct timespec *deadline);

/*
 * A completion sequence: completing sides call asys__seq_bump() after they
 * publish; waiters sleep in asys__seq_wait() until scan(ctx) finds what they
 * wait for.  The bump makes a system call only when somebody went to sleep
 * since the last one that did.
 */
struct asys__seq {
	uint32_t seq;
};
ASYS__HIDDEN void asys__seq_bump(struct asys__seq *s);
/*
 * scan returns >= 0 (done: that is returned), -1 (keep waiting) or another
 * negative errno (returned).  Otherwise -ETIMEDOUT or -EINTR.  cancellable:
 * the sleep is a thread cancellation point.
 */
ASYS__HIDDEN long asys__seq_wait(struct asys__seq *s, long (*scan)(const void *ctx),
				 const void *ctx, const struct timespec *deadline,
				 bool cancellable);

#endif /* ASYS_FUTEX_H */
