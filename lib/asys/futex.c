/* Futex primitives, deadlines and completion sequences: see futex.h. */
#include <limits.h>
#include <linux/futex.h>
#include <stdbool.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include <errno.h>
#include <pthread.h>

#include "futex.h"

void asys__now(struct timespec *ts)
{
	clock_gettime(CLOCK_MONOTONIC, ts);
}

void asys__wake(uint32_t *word)
{
	syscall(SYS_futex, word, FUTEX_WAKE | FUTEX_PRIVATE_FLAG, INT_MAX, NULL, NULL, 0);
}

/* A timed futex wait is never restarted after a signal handler: -EINTR. */
int asys__futex_wait(uint32_t *word, uint32_t val, const struct timespec *deadline)
{
	if (syscall(SYS_futex, word, FUTEX_WAIT_BITSET | FUTEX_PRIVATE_FLAG, val,
		    deadline, NULL, FUTEX_BITSET_MATCH_ANY) == 0)
		return 0;
	return errno == EAGAIN ? 0 : -errno;	/* EAGAIN: the word had changed */
}

/* Far beyond anything CLOCK_MONOTONIC reaches; the kernel saturates it. */
#define DISTANT ((time_t)1 << 40)

int asys__deadline(const struct timespec *timeout, struct timespec *deadline)
{
	if (timeout && (timeout->tv_sec < 0 || timeout->tv_nsec < 0 ||
			timeout->tv_nsec >= 1000000000))
		return -EINVAL;
	if (!timeout || timeout->tv_sec >= DISTANT) {
		deadline->tv_sec = DISTANT;
		deadline->tv_nsec = 0;
		return 0;
	}
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
 * The bump's publication and its waiters load are sequentially consistent,
 * and so are a waiter's registration and its scan: either the scan sees
 * what was published, or the bump sees the waiter.
 */
void asys__seq_bump(struct asys__seq *s)
{
	if (__atomic_load_n(&s->waiters, __ATOMIC_SEQ_CST)) {
		__atomic_fetch_add(&s->seq, 1, __ATOMIC_SEQ_CST);
		asys__wake(&s->seq);
	}
}

static void seq_leave(void *s)
{
	__atomic_fetch_sub(&((struct asys__seq *)s)->waiters, 1, __ATOMIC_SEQ_CST);
}

/*
 * Since glibc 2.34 a deferred pthread_cancel() interrupts only a thread
 * that is in asynchronous mode, which glibc's own cancellable system calls
 * switch to for the duration of the call: do the same around the sleep.
 */
static int cancellable_wait(uint32_t *word, uint32_t val, const struct timespec *deadline)
{
	int old, r;

	pthread_setcanceltype(PTHREAD_CANCEL_ASYNCHRONOUS, &old);
	r = asys__futex_wait(word, val, deadline);
	pthread_setcanceltype(old, NULL);
	return r;
}

long asys__seq_wait(struct asys__seq *s, long (*scan)(const void *ctx), const void *ctx,
		    const struct timespec *deadline, bool cancellable)
{
	long r;

	__atomic_fetch_add(&s->waiters, 1, __ATOMIC_SEQ_CST);
	pthread_cleanup_push(seq_leave, s);
	for (;;) {
		uint32_t seq = __atomic_load_n(&s->seq, __ATOMIC_SEQ_CST);

		r = scan(ctx);
		if (r != -1)
			break;
		if (cancellable)
			r = cancellable_wait(&s->seq, seq, deadline);
		else
			r = asys__futex_wait(&s->seq, seq, deadline);
		if (r)
			break;
	}
	pthread_cleanup_pop(1);
	return r;
}
