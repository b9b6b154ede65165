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
#include "time64.h"

static bool is_final(uint32_t s)
{
	return (s & ASYS_STATE_MASK) >= ASYS_DONE;
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
	err = asys__deadline(timeout, &deadline);
	if (!err)
		err = wait_one(call, &deadline);
	return err ? fail(err) : 0;
}

struct call_list {
	struct asys_call *const *calls;
	size_t n;
};

/* Index of the first final call; -1 if none; -EINVAL if none can ever finish. */
static long find_final(const void *ctx)
{
	const struct call_list *l = ctx;
	bool waitable = false;
	size_t i;

	for (i = 0; i < l->n; i++) {
		uint32_t s;

		if (!l->calls[i])
			continue;
		s = __atomic_load_n(&l->calls[i]->state, __ATOMIC_SEQ_CST);
		if (is_final(s))
			return (long)i;
		if ((s & ASYS_STATE_MASK) != ASYS_IDLE)
			waitable = true;
	}
	return waitable ? -1 : -EINVAL;
}

int asys_wait_any(struct asys_call *const calls[], size_t n, const struct timespec *timeout)
{
	struct call_list list = { calls, n };
	struct timespec deadline;
	long r;
	int err;

	if ((!calls && n) || n > INT_MAX)
		return fail(-EINVAL);
	err = asys__deadline(timeout, &deadline);
	if (err)
		return fail(err);
	if (n == 1 && calls[0]) {
		err = wait_one(calls[0], &deadline);
		return err ? fail(err) : 0;
	}
	r = asys__seq_wait(&asys__engine.completions, find_final, &list, &deadline, false);
	return r >= 0 ? (int)r : fail((int)r);
}

#if __TIMESIZE == 32
/* What <asys.h> names for programs built with _TIME_BITS=64 (time64.h). */
int asys_wait_time64(struct asys_call *call, const struct asys__timespec64 *timeout);
int asys_wait_any_time64(struct asys_call *const calls[], size_t n,
			 const struct asys__timespec64 *timeout);

int asys_wait_time64(struct asys_call *call, const struct asys__timespec64 *timeout)
{
	struct timespec t;

	return asys_wait(call, asys__timeout_from64(timeout, &t));
}

int asys_wait_any_time64(struct asys_call *const calls[], size_t n,
			 const struct asys__timespec64 *timeout)
{
	struct timespec t;

	return asys_wait_any(calls, n, asys__timeout_from64(timeout, &t));
}
#endif
