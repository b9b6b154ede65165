/*
 * Waiting for calls: futex waits only, no lock, no allocation, so both
 * functions are async-signal-safe.  A waiter flags the state word
 * (ASYS__WAITERS) before it sleeps, so that only completions somebody waits
 * for make a wake-up system call.
 *
 * Every wait runs against an absolute deadline, a distant one when the
 * caller gave none: the kernel then ends the wait with EINTR after any signal
 * handler, SA_RESTART or not, where an untimed wait would be restarted
 * silently.  For the same reason a wait for any of several calls sleeps on
 * the engine's completion sequence rather than with futex_waitv(2), which
 * the kernel restarts after SA_RESTART handlers.
 */
#include <limits.h>

#include "internal.h"

static bool is_final(uint32_t s)
{
	return (s & ASYS_STATE_MASK) >= ASYS_DONE;
}

/* Relative timeout (NULL: none) -> absolute CLOCK_MONOTONIC deadline. */
static int deadline_from(const struct timespec *timeout, struct timespec *deadline)
{
	if (!timeout) {
		/* far beyond anything the kernel's clock reaches; it saturates */
		deadline->tv_sec = (time_t)1 << 40;
		deadline->tv_nsec = 0;
		return 0;
	}
	if (timeout->tv_sec < 0 || timeout->tv_nsec < 0 || timeout->tv_nsec >= 1000000000)
		return -EINVAL;
	asys__now(deadline);
	deadline->tv_sec += timeout->tv_sec;
	deadline->tv_nsec += timeout->tv_nsec;
	if (deadline->tv_nsec >= 1000000000) {
		deadline->tv_sec++;
		deadline->tv_nsec -= 1000000000;
	}
	return 0;
}

/*
 * Set the waiter flag on a pending call.  Returns the state word to sleep
 * on, or the final or idle state it found.
 */
static uint32_t flag_waiter(struct asys_call *call)
{
	uint32_t s = asys__load(call);

	for (;;) {
		if (is_final(s) || (s & ASYS_STATE_MASK) == ASYS_IDLE)
			return s;
		if ((s & ASYS__WAITERS) ||
		    __atomic_compare_exchange_n(&call->state, &s, s | ASYS__WAITERS, false,
						__ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE))
			return s | ASYS__WAITERS;
	}
}

static int fail(int err)
{
	errno = -err;
	return -1;
}

/* Sleep on the call's own state word: 0 once it is final, or -errno. */
static int wait_one(struct asys_call *call, const struct timespec *deadline)
{
	for (;;) {
		uint32_t s = flag_waiter(call);
		int err;

		if ((s & ASYS_STATE_MASK) == ASYS_IDLE)
			return -EINVAL;
		if (is_final(s))
			return 0;
		err = asys__futex_wait(&call->state, s, deadline);
		if (err)
			return err;
	}
}

int asys_wait(struct asys_call *call, const struct timespec *timeout)
{
	struct timespec deadline;
	int err;

	if (!call)
		return fail(-EINVAL);
	err = deadline_from(timeout, &deadline);
	if (!err)
		err = wait_one(call, &deadline);
	return err ? fail(err) : 0;
}

/* Index of the first final call; -1 if none; -2 if none can ever finish. */
static long find_final(struct asys_call *const calls[], size_t n)
{
	bool waitable = false;
	size_t i;

	for (i = 0; i < n; i++) {
		uint32_t s;

		if (!calls[i])
			continue;
		s = __atomic_load_n(&calls[i]->state, __ATOMIC_SEQ_CST);
		if (is_final(s))
			return (long)i;
		if ((s & ASYS_STATE_MASK) != ASYS_IDLE)
			waitable = true;
	}
	return waitable ? -1 : -2;
}

/*
 * Sleep on the engine's completion sequence, which completions bump while
 * somebody is registered in seq_waiters.  The registration and the state
 * loads are sequentially consistent, and so are the completing side's state
 * exchange and its seq_waiters load: either the scan sees the call final, or
 * the completion sees the waiter.
 */
static long wait_sequence(struct asys_call *const calls[], size_t n,
			  const struct timespec *deadline)
{
	long r;

	__atomic_fetch_add(&asys__engine.seq_waiters, 1, __ATOMIC_SEQ_CST);
	for (;;) {
		uint32_t seq = __atomic_load_n(&asys__engine.seq, __ATOMIC_SEQ_CST);

		r = find_final(calls, n);
		if (r != -1)
			break;
		r = asys__futex_wait(&asys__engine.seq, seq, deadline);
		if (r)
			break;
	}
	__atomic_fetch_sub(&asys__engine.seq_waiters, 1, __ATOMIC_SEQ_CST);
	return r;
}

int asys_wait_any(struct asys_call *const calls[], size_t n, const struct timespec *timeout)
{
	struct timespec deadline;
	long r;
	int err;

	if ((!calls && n) || n > INT_MAX)
		return fail(-EINVAL);
	err = deadline_from(timeout, &deadline);
	if (err)
		return fail(err);
	if (n == 1 && calls[0]) {
		err = wait_one(calls[0], &deadline);
		return err ? fail(err) : 0;
	}
	r = find_final(calls, n);
	if (r == -1)
		r = wait_sequence(calls, n, &deadline);
	if (r >= 0)
		return (int)r;
	return fail(r == -2 ? -EINVAL : (int)r);
}
