/*
 * asys_submit: validate a list, claim every call, join linked calls into
 * chains, and hand the ready calls to the backend; all or nothing.
 */
#include <sys/stat.h>

#include "engine.h"
#include "internal.h"

#define LINKED (ASYS_LINK | ASYS_LINK_ARG)
#define KNOWN_FLAGS (ASYS_LINK | ASYS_LINK_ARG | ASYS_BOUNDED | ASYS_UNBOUNDED | ASYS_SERIAL | \
		     ASYS_DIRECT)
#define CLASS_FLAGS (ASYS_BOUNDED | ASYS_UNBOUNDED)

/* 0, or -EINVAL; *linked tells whether the list has chains. */
static int validate(struct asys_call *const calls[], size_t n, bool *linked)
{
	size_t i;

	*linked = false;
	for (i = 0; i < n; i++) {
		const struct asys_call *c = calls[i];

		if (!c || (c->flags & ~KNOWN_FLAGS) || (c->flags & CLASS_FLAGS) == CLASS_FLAGS ||
		    asys__syscall_kind(c->nr) == ASYS__NOT_ALLOWED)
			return -EINVAL;
		if ((c->flags & LINKED) && c->link >= i)
			return -EINVAL;
		if (c->flags & LINKED)
			*linked = true;
		if ((c->flags & ASYS_LINK_ARG) && c->link_arg >= ASYS_MAX_ARGS)
			return -EINVAL;
	}
	return 0;
}

/* Put claimed calls back as they were before submission, waking any waiter. */
static void unclaim(struct asys_call *const calls[], size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		uint32_t prev = __atomic_exchange_n(&calls[i]->state,
						    calls[i]->__saved & ASYS__PREV_MASK,
						    __ATOMIC_SEQ_CST);
		if (prev & ASYS__WAITERS)
			asys__wake(&calls[i]->state);
	}
}

/* Move each call from a final (or idle) state to QUEUED|SUBMITTING. */
static int claim(struct asys_call *const calls[], size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		struct asys_call *c = calls[i];
		uint32_t s = asys__load(c);

		do {
			if ((s & ASYS_STATE_MASK) == ASYS_QUEUED ||
			    (s & ASYS_STATE_MASK) == ASYS_RUNNING) {
				unclaim(calls, i);
				return -EBUSY;
			}
		} while (!__atomic_compare_exchange_n(&c->state, &s,
						      ASYS_QUEUED | ASYS__SUBMITTING,
						      false, __ATOMIC_ACQ_REL,
						      __ATOMIC_ACQUIRE));
		__atomic_store_n(&c->__saved, (s & ASYS__PREV_MASK) | asys__engine.generation,
				 __ATOMIC_RELAXED);
	}
	return 0;
}

static enum asys__class classify(const struct asys_call *c)
{
	struct stat st;

	if (c->flags & ASYS_BOUNDED)
		return ASYS__BOUNDED;
	if (c->flags & ASYS_UNBOUNDED)
		return ASYS__BLOCKING;
	switch (asys__syscall_kind(c->nr)) {
	case ASYS__KIND_BOUNDED:
		return ASYS__BOUNDED;
	case ASYS__KIND_FD:
		/* An fd that an earlier call produces is unknown here. */
		if ((c->flags & ASYS_LINK_ARG) && c->link_arg == 0)
			return ASYS__BLOCKING;
		/* A bad fd fails at once, so it counts as bounded. */
		if (fstat((int)c->arg[0], &st) < 0 || S_ISREG(st.st_mode) ||
		    S_ISBLK(st.st_mode))
			return ASYS__BOUNDED;
		return ASYS__BLOCKING;
	default:
		return ASYS__BLOCKING;
	}
}

/* Reset the engine's fields of each call and decide which workers may run it. */
static void classify_all(struct asys_call *const calls[], size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		struct asys_call *c = calls[i];

		c->__qnext = c->__qprev = c->__cnext = c->__cprev = c->__src = NULL;
		c->__input = 0;
		/* atomics: a canceller may still be looking at its last submission (internal.h) */
		__atomic_store_n(&c->__bstate, 0, __ATOMIC_RELAXED);
		c->__serial = 0;
		__atomic_store_n(&c->__class, classify(c), __ATOMIC_RELAXED);
	}
}

/*
 * With chain_lock held: join each linked call to the chain of the call it
 * links to.  While this runs, a chain's first call keeps the chain's last
 * call in __qnext and each later call keeps the first in __qprev; both are
 * cleared before the backend sees them.  A chain takes the most blocking
 * class of its calls.
 */
static void link_chains(struct asys_call *const calls[], size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		struct asys_call *c = calls[i], *head;

		if (!(c->flags & LINKED))
			continue;
		c->__src = calls[c->link];
		head = c->__src->__qprev ? c->__src->__qprev : c->__src;
		c->__qprev = head;
		c->__cprev = head->__qnext ? head->__qnext : head;
		c->__cprev->__cnext = c;
		head->__qnext = c;
		if (c->__class > head->__class)
			head->__class = c->__class;
	}
	for (i = 0; i < n; i++) {
		struct asys_call *c = calls[i];

		if (c->__qprev || c->__cnext)
			c->__saved |= ASYS__IN_CHAIN;
		if (c->__qprev)
			c->__class = c->__qprev->__class;
	}
	for (i = 0; i < n; i++) {
		struct asys_call *c = calls[i];

		c->__qnext = c->__qprev = NULL;
		if (c->flags & LINKED)
			__atomic_fetch_and(&c->state, ~ASYS__SUBMITTING, __ATOMIC_RELEASE);
	}
}

/*
 * Test hook, set only by test programs linked with the static library (it
 * is hidden, not exported): when set, it is asked, where the backend would
 * be, whether to refuse the submission with EAGAIN as a backend with no
 * worker to be had refuses it, so that the tests can reach every path of
 * a refused submission.  Unset, it costs one relaxed load.
 */
bool (*asys__refuse_hook)(struct asys_call *const calls[], size_t n);

/*
 * The calling thread's ring takes O_DIRECT reads (direct.c), the backend
 * the rest, or the test hook refuses them: 0 or -errno.
 */
static int hand_to_backend(struct asys_call *const calls[], size_t n, bool linked)
{
	bool (*refuse)(struct asys_call *const calls[], size_t n) =
		__atomic_load_n(&asys__refuse_hook, __ATOMIC_RELAXED);

	if (refuse && refuse(calls, n))
		return -EAGAIN;
	if (!linked && asys__direct_submit(calls, n) == 0)
		return 0;
	return asys__engine.backend->submit(calls, n);
}

int asys_submit(struct asys_call *const calls[], size_t n)
{
	bool linked = false;
	int err;

	if (n == 0)
		return 0;
	asys__init();
	err = calls ? validate(calls, n, &linked) : -EINVAL;
	if (!err)
		err = claim(calls, n);
	if (err) {
		errno = -err;
		return -1;
	}
	classify_all(calls, n);
	/*
	 * Holding chain_lock from the moment chain calls become visible until
	 * the backend has the heads keeps workers and cancels off them, so a
	 * failed submission can still be undone.
	 */
	if (linked) {
		pthread_mutex_lock(&asys__engine.chain_lock);
		link_chains(calls, n);
	}
	err = hand_to_backend(calls, n, linked);
	if (err)
		unclaim(calls, n);
	if (linked)
		pthread_mutex_unlock(&asys__engine.chain_lock);
	if (err) {
		errno = -err;
		return -1;
	}
	return 0;
}
