/*
 * Running a call and completing it: result passing along a chain, the
 * publication of the final state, the done hook.  See internal.h for the
 * state machine and the chain invariants.
 */
#include <limits.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "internal.h"

long asys__execute(struct asys_call *call)
{
	long a[ASYS_MAX_ARGS];
	long r;
	int i;

	for (i = 0; i < ASYS_MAX_ARGS; i++)
		a[i] = call->arg[i];
	if (call->flags & ASYS_LINK_ARG)
		a[call->link_arg] = call->__input;
	r = syscall(call->nr, a[0], a[1], a[2], a[3], a[4], a[5]);
	return r == -1 ? -errno : r;
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
	asys__seq_bump(&asys__engine.completions);
}

static bool link_failed(const struct asys_call *call)
{
	return call->__src && call->__input == ASYS__INPUT_FAILED;
}

/*
 * With chain_lock held: take a call that has its outcome out of its chain,
 * hand that outcome to the later calls that link to it, and return the call
 * that becomes ready because of it: NULL when there is none, or when it went
 * back to the backend's queue (requeue); otherwise claimed (RUNNING) for the
 * caller to run, or to cancel if its link failed.
 */
static struct asys_call *detach(struct asys_call *call, long result, bool requeue)
{
	struct asys_call *m, *next = call->__cnext, *prev = call->__cprev;

	for (m = next; m; m = m->__cnext)
		if (m->__src == call)
			m->__input = result < 0 ? ASYS__INPUT_FAILED : result;
	if (next)
		next->__cprev = prev;
	if (prev) {
		prev->__cnext = next;
		return NULL;
	}
	if (!next)
		return NULL;
	if (requeue && !link_failed(next)) {
		asys__engine.backend->requeue(next);
		return NULL;
	}
	asys__transition(next, ASYS_QUEUED, ASYS_RUNNING);
	return next;
}

struct asys_call *asys__settle(struct asys_call *call, long result, uint32_t final,
			       bool requeue, bool locked)
{
	for (;;) {
		void (*done)(struct asys_call *) = call->done;
		struct asys_call *next = NULL;

		if (call->__saved & ASYS__IN_CHAIN) {
			if (!locked)
				pthread_mutex_lock(&asys__engine.chain_lock);
			next = detach(call, result, requeue);
			pthread_mutex_unlock(&asys__engine.chain_lock);
			locked = false;
		}
		asys__publish(call, result, final);
		if (done)
			done(call);
		if (!next || !link_failed(next))
			return next;
		call = next;
		result = -ECANCELED;
		final = ASYS_CANCELED;
	}
}

struct asys_call *asys__finish(struct asys_call *call, long result)
{
	return asys__settle(call, result, ASYS_DONE, false, false);
}
