/*
 * Futex primitives and the publication of a final state.  Everything here is
 * async-signal-safe: plain system calls and atomics, no lock, no allocation.
 */
#include <limits.h>
#include <linux/futex.h>
#include <stdbool.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "internal.h"

void asys__now(struct timespec *ts)
{
	clock_gettime(CLOCK_MONOTONIC, ts);
}

void asys__wake(uint32_t *word)
{
	syscall(SYS_futex, word, FUTEX_WAKE | FUTEX_PRIVATE_FLAG, INT_MAX, NULL, NULL, 0);
}

/*
 * Sleep while *word == val, until the absolute CLOCK_MONOTONIC deadline.
 * 0 on a wake-up or a changed value; -ETIMEDOUT; -EINTR when a signal
 * handler ran (a timed futex wait is never restarted).
 */
int asys__futex_wait(uint32_t *word, uint32_t val, const struct timespec *deadline)
{
	if (syscall(SYS_futex, word, FUTEX_WAIT_BITSET | FUTEX_PRIVATE_FLAG, val,
		    deadline, NULL, FUTEX_BITSET_MATCH_ANY) == 0)
		return 0;
	return errno == ETIMEDOUT || errno == EINTR ? -errno : 0;
}

/*
 * Make a claimed call final: the result first, then the state (so that a
 * waiter that sees the state sees the result), then wake whoever sleeps.
 * After the exchange the call may be freed by its owner: only its address
 * is used from then on, and a futex wake on a stale address is harmless.
 */
void asys__publish(struct asys_call *call, long result, uint32_t final_state)
{
	uint32_t prev;

	call->result = result;
	prev = __atomic_exchange_n(&call->state, final_state, __ATOMIC_SEQ_CST);
	if (prev & ASYS__WAITERS)
		asys__wake(&call->state);
	if (__atomic_load_n(&asys__engine.seq_waiters, __ATOMIC_SEQ_CST)) {
		__atomic_fetch_add(&asys__engine.seq, 1, __ATOMIC_SEQ_CST);
		asys__wake(&asys__engine.seq);
	}
}
