/*
 * Waiting for calls: futex waits only, no lock, no allocation, so both
 * functions are async-signal-safe.  A waiter flags the state word
 * (ASYS__WAITERS) before it sleeps, so that only completions somebody waits
 * for make a wake-up system call.
 */
#include "internal.h"

static bool is_final(uint32_t s)
{
	return (s & ASYS_STATE_MASK) >= ASYS_DONE;
}

/* Relative timeout -> absolute CLOCK_MONOTONIC deadline (NULL stays NULL). */
static int deadline_from(const struct timespec *timeout, struct timespec *deadline)
{
	if (!timeout)
		return 0;
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
 * Set the waiter flag on a call that is not final yet.  Returns the state
 * word to sleep on, or the final state it found.
 */
static uint32_t flag_waiter(struct asys_call *call)
{
	uint32_t s = asys__load(call);

	while (!is_final(s) && !(s & ASYS__WAITERS) &&
	       !__atomic_compare_exchange_n(&call->state, &s, s | ASYS__WAITERS, false,
					    __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE))
		;
	return is_final(s) ? s : s | ASYS__WAITERS;
}

static int fail(int err)
{
	errno = -err;
	return -1;
}

int asys_wait(struct asys_call *call, const struct timespec *timeout)
{
	struct timespec deadline;
	int err;

	if (!call)
		return fail(-EINVAL);
	err = deadline_from(timeout, &deadline);
	if (err)
		return fail(err);
	for (;;) {
		uint32_t s = flag_waiter(call);

		if ((s & ASYS_STATE_MASK) == ASYS_IDLE)
			return fail(-EINVAL);
		if (is_final(s))
			return 0;
		err = asys__futex_wait(&call->state, s, timeout ? &deadline : NULL);
		if (err)
			return fail(err);
	}
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
 * Up to FUTEX_WAITV_MAX calls: flag each one and sleep on all their words.
 * Returns the index of a final call, -1 after a wake-up, or -errno.
 */
static long wait_vector(struct asys_call *const calls[], size_t n,
			const struct timespec *deadline)
{
	struct futex_waitv w[FUTEX_WAITV_MAX];
	size_t i, k = 0;
	int err;

	for (i = 0; i < n; i++) {
		uint32_t s;

		if (!calls[i])
			continue;
		s = flag_waiter(calls[i]);
		if (is_final(s))
			return (long)i;
		if ((s & ASYS_STATE_MASK) == ASYS_IDLE)
			continue;
		w[k].val = s;
		w[k].uaddr = (uintptr_t)&calls[i]->state;
		w[k].flags = FUTEX_32 | FUTEX_PRIVATE_FLAG;
		w[k].__reserved = 0;
		k++;
	}
	err = asys__futex_waitv(w, k, deadline);
	return err ? err : -1;
}

/*
 * Any number of calls: sleep on the engine's completion sequence, which
 * completions bump while somebody is registered in seq_waiters.  The
 * registration and the state loads are sequentially consistent, and so are
 * the completing side's state exchange and its seq_waiters load: either
 * the scan sees the call final, or the completion sees the waiter.
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
	struct timespec deadline, *dl = timeout ? &deadline : NULL;
	static int no_waitv;
	long r;
	int err;

	if (!calls && n)
		return fail(-EINVAL);
	err = deadline_from(timeout, &deadline);
	if (err)
		return fail(err);
	for (;;) {
		r = find_final(calls, n);
		if (r >= 0)
			return (int)r;
		if (r == -2)
			return fail(-EINVAL);
		if (n <= FUTEX_WAITV_MAX && !__atomic_load_n(&no_waitv, __ATOMIC_RELAXED)) {
			r = wait_vector(calls, n, dl);
			if (r == -ENOSYS) {
				__atomic_store_n(&no_waitv, 1, __ATOMIC_RELAXED);
				continue;
			}
		} else {
			r = wait_sequence(calls, n, dl);
		}
		if (r >= 0)
			return (int)r;
		if (r < -2)
			return fail((int)r);
	}
}
