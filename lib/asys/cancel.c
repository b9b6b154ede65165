/*
 * asys_cancel: a queued call is claimed (QUEUED -> RUNNING) under the lock of
 * the place where it waits, so that no worker can start it, then completed
 * as CANCELED with -ECANCELED.  A running call is interrupted where the
 * backend can (io_uring, on pipes and sockets); final calls are left alone.
 */
#include "internal.h"

static int state_error(const struct asys_call *call)
{
	switch (asys_state(call)) {
	case ASYS_IDLE:
		return EINVAL;
	case ASYS_DONE:
	case ASYS_CANCELED:
		return EALREADY;
	default:
		return EBUSY;
	}
}

/*
 * A running call that the backend interrupted: CANCELED if the kernel gave
 * it up, else it completed on its own first and says so.
 */
static int interrupt(struct asys_call *call)
{
	long result;

	if (!asys__engine.backend->interrupt ||
	    asys__engine.backend->interrupt(call, &result)) {
		errno = state_error(call);
		return -1;
	}
	if (result == -ECANCELED || result == -EINTR) {
		asys__settle(call, -ECANCELED, ASYS_CANCELED, true, false);
		return 0;
	}
	asys__settle(call, result, ASYS_DONE, true, false);
	errno = EALREADY;
	return -1;
}

int asys_cancel(struct asys_call *call)
{
	uint32_t s, saved;
	bool chained;
	int err;

	if (!call) {
		errno = EINVAL;
		return -1;
	}
	/*
	 * The state first: __saved is the submitter's until the call is
	 * QUEUED or RUNNING without SUBMITTING, which the load acquires.
	 */
	s = asys__load(call) & ~ASYS__WAITERS;
	saved = __atomic_load_n(&call->__saved, __ATOMIC_RELAXED);
	if (s == ASYS_RUNNING && (saved & ASYS__GEN_MASK) == asys__engine.generation)
		return interrupt(call);
	if (s != ASYS_QUEUED || (saved & ASYS__GEN_MASK) != asys__engine.generation) {
		errno = state_error(call);
		return -1;
	}
	chained = saved & ASYS__IN_CHAIN;
	if (chained)
		pthread_mutex_lock(&asys__engine.chain_lock);
	if (chained && call->__cprev)
		err = asys__transition(call, ASYS_QUEUED, ASYS_RUNNING) ? 0 : -EBUSY;
	else
		err = asys__engine.backend->cancel(call);
	if (err) {
		if (chained)
			pthread_mutex_unlock(&asys__engine.chain_lock);
		/* started meanwhile (io_uring feeds its backlog): interrupt it as running */
		else if (asys_state(call) == ASYS_RUNNING)
			return interrupt(call);
		errno = state_error(call);
		return -1;
	}
	asys__settle(call, -ECANCELED, ASYS_CANCELED, true, chained);
	return 0;
}
