/*
 * A crew: the threads one of rtaio's pools starts.  Each has every signal
 * blocked (a process-directed signal must never land on one of rtaio's
 * threads) and is joinable: a member that leaves is joined later, by
 * asys__crew_reap(), so that its owner can tell when it is really gone
 * (before replacing it, before fork, before the library is unmapped).
 * The owner's own mutex guards the crew.
 */
#ifndef ASYS_CREW_H
#define ASYS_CREW_H

#include <pthread.h>
#include <stddef.h>

#include "futex.h"

struct asys__member {
	pthread_t thread;
	struct asys__member *next;	/* on the crew's left list */
	struct asys__member *live_prev, *live_next;	/* on its live list, until it leaves */
	void *(*fn)(struct asys__member *self);
	const char *name;		/* shown by ps and /proc: rtaio's threads are told apart */
};

/* Is the calling thread one of a crew's (rtaio's own)? */
ASYS__HIDDEN extern __thread bool asys__crew_member __attribute__((tls_model("initial-exec")));

struct asys__crew {
	pthread_mutex_t *lock;		/* the owner's */
	struct asys__member *live;	/* started, not left yet: a fork child frees them */
	struct asys__member *left;	/* left, not joined yet */
	pthread_cond_t gone;		/* signalled when a member leaves */
	bool stopping;			/* the library is being unloaded */
	unsigned away;			/* members in code that may never return */
	unsigned long started;		/* members ever started, for the statistics report */
};

#define ASYS__CREW_INITIALIZER(owner_lock) \
	{ (owner_lock), NULL, NULL, PTHREAD_COND_INITIALIZER, false, 0, 0 }

/*
 * Start fn on a new member named name (0 or -errno); stack 0: the default
 * size.  With the owner's lock held.
 */
ASYS__HIDDEN int asys__crew_start(struct asys__crew *c, void *(*fn)(struct asys__member *),
				  const char *name, size_t stack);
/* A member's last act, with the owner's lock held. */
ASYS__HIDDEN void asys__crew_leave(struct asys__crew *c, struct asys__member *self);
/* Join the members that have left; they are gone when this returns. */
ASYS__HIDDEN void asys__crew_reap(struct asys__crew *c);
/* In a fork child: none of the parent's threads is ours; their records are freed. */
ASYS__HIDDEN void asys__crew_forget(struct asys__crew *c);

/* How many members the crew has started (relaxed, no lock: a report reads it). */
static inline unsigned long asys__crew_started(const struct asys__crew *c)
{
	return __atomic_load_n(&c->started, __ATOMIC_RELAXED);
}

/*
 * Around code that may never return (a blocking system call, a program's
 * notification function), which the unloading side does not wait for.
 * Called without the lock.
 */
ASYS__HIDDEN void asys__crew_away(struct asys__crew *c);
ASYS__HIDDEN void asys__crew_back(struct asys__crew *c);
/* Is the library being unloaded?  Members then take no more work. */
ASYS__HIDDEN bool asys__crew_stopping(struct asys__crew *c);
/*
 * With the lock held, once the owner has woken its idle members: wait until
 * `members` (the owner's count, which leaving members decrement) is down to
 * those away, give those a short grace to come back and leave, and join
 * the ones that left.  At exit() (asys__exiting), only join the ones that
 * have left already.
 */
ASYS__HIDDEN void asys__crew_dismiss(struct asys__crew *c, const unsigned *members);

#endif /* ASYS_CREW_H */
