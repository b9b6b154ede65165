/* Crews of threads: see crew.h. */
#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <time.h>

#include "crew.h"
#include "engine.h"

__thread bool asys__crew_member __attribute__((tls_model("initial-exec")));

static void *run(void *arg)
{
	struct asys__member *m = arg;

	asys__crew_member = true;
	pthread_setname_np(pthread_self(), m->name);
	return m->fn(m);
}

int asys__crew_start(struct asys__crew *c, void *(*fn)(struct asys__member *), const char *name,
		     size_t stack)
{
	struct asys__member *m = malloc(sizeof *m);
	pthread_attr_t attr;
	sigset_t all, old;
	int err;

	if (!m)
		return -EAGAIN;
	m->fn = fn;
	m->name = name;
	if (pthread_attr_init(&attr)) {
		free(m);
		return -EAGAIN;
	}
	if (stack)
		pthread_attr_setstacksize(&attr, stack);
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	err = pthread_create(&m->thread, &attr, run, m);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	pthread_attr_destroy(&attr);
	if (err) {
		free(m);
		return -err;
	}
	__atomic_fetch_add(&c->started, 1, __ATOMIC_RELAXED);
	/* the lock is held: the member cannot leave before it is on the list */
	m->live_prev = NULL;
	m->live_next = c->live;
	if (c->live)
		c->live->live_prev = m;
	c->live = m;
	return 0;
}

void asys__crew_leave(struct asys__crew *c, struct asys__member *self)
{
	if (self->live_prev)
		self->live_prev->live_next = self->live_next;
	else
		c->live = self->live_next;
	if (self->live_next)
		self->live_next->live_prev = self->live_prev;
	self->next = c->left;
	c->left = self;
	pthread_cond_broadcast(&c->gone);
}

void asys__crew_reap(struct asys__crew *c)
{
	while (c->left) {
		struct asys__member *m = c->left;

		c->left = m->next;
		pthread_join(m->thread, NULL);
		free(m);
	}
}

static void free_members(struct asys__member *m, bool live)
{
	while (m) {
		struct asys__member *next = live ? m->live_next : m->next;

		free(m);
		m = next;
	}
}

void asys__crew_forget(struct asys__crew *c)
{
	free_members(c->live, true);
	free_members(c->left, false);
	c->live = c->left = NULL;
	c->away = 0;
	__atomic_store_n(&c->started, 0, __ATOMIC_RELAXED);
	pthread_cond_init(&c->gone, NULL);
}

/*
 * `away` and `stopping` are read without the lock: a member's increment and
 * its read of `stopping` are sequentially consistent, and so are the
 * dismisser's store and read, so either the dismisser stops waiting for this
 * member or the member wakes it to look again.
 */
void asys__crew_away(struct asys__crew *c)
{
	__atomic_fetch_add(&c->away, 1, __ATOMIC_SEQ_CST);
	if (__atomic_load_n(&c->stopping, __ATOMIC_SEQ_CST)) {
		pthread_mutex_lock(c->lock);
		pthread_cond_broadcast(&c->gone);
		pthread_mutex_unlock(c->lock);
	}
}

void asys__crew_back(struct asys__crew *c)
{
	__atomic_fetch_sub(&c->away, 1, __ATOMIC_SEQ_CST);
}

bool asys__crew_stopping(struct asys__crew *c)
{
	return __atomic_load_n(&c->stopping, __ATOMIC_SEQ_CST);
}

/*
 * A member away (in a blocking call, in a program's function) may be about
 * to come back into the library's code, which dlclose() is going to unmap:
 * give those a short grace, and leave only the ones still away after it.
 */
#define GRACE_NSEC 100000000L

void asys__crew_dismiss(struct asys__crew *c, const unsigned *members)
{
	struct timespec grace;

	if (asys__exiting()) {
		asys__crew_reap(c);
		return;
	}
	__atomic_store_n(&c->stopping, true, __ATOMIC_SEQ_CST);
	asys__deadline(&(struct timespec){ 0, GRACE_NSEC }, &grace);
	while (*members) {
		if (*members > __atomic_load_n(&c->away, __ATOMIC_SEQ_CST))
			pthread_cond_wait(&c->gone, c->lock);
		else if (pthread_cond_clockwait(&c->gone, c->lock, CLOCK_MONOTONIC, &grace) ==
			 ETIMEDOUT)
			break;
	}
	asys__crew_reap(c);
}
