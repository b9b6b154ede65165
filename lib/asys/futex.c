/* Futex primitives, deadlines and completion sequences: see futex.h. */
#include <limits.h>
#include <linux/futex.h>
#include <linux/time_types.h>
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

/*
 * futex(2), 0 or -1 with errno.  Where time_t has 32 bits, futex_time64
 * (Linux 5.1) first: a kernel built without CONFIG_COMPAT_32BIT_TIME has
 * no futex at all there, and the library keeps the 32-bit time_t of the
 * programs it serves (time_bits.h); futex when the kernel is older.
 */
static long futex(uint32_t *word, int op, uint32_t val, const struct timespec *deadline,
		  uint32_t val3)
{
#ifdef SYS_futex_time64
	static int time64 = 1;	/* 0 once the kernel said ENOSYS */

	if (sizeof(time_t) < 8 && __atomic_load_n(&time64, __ATOMIC_RELAXED)) {
		struct __kernel_timespec t = { deadline ? deadline->tv_sec : 0,
					       deadline ? deadline->tv_nsec : 0 };
		long r = syscall(SYS_futex_time64, word, op, val, deadline ? &t : NULL, NULL,
				 val3);

		if (r != -1 || errno != ENOSYS)
			return r;
		__atomic_store_n(&time64, 0, __ATOMIC_RELAXED);
	}
#endif
	return syscall(SYS_futex, word, op, val, deadline, NULL, val3);
}

void asys__wake(uint32_t *word)
{
	futex(word, FUTEX_WAKE | FUTEX_PRIVATE_FLAG, INT_MAX, NULL, 0);
}

/*
 * A timed futex wait is never restarted after a signal handler: -EINTR.
 * An untimed one is, by the kernel, after a handler with SA_RESTART.
 */
int asys__futex_wait(uint32_t *word, uint32_t val, const struct timespec *deadline)
{
	if (futex(word, FUTEX_WAIT_BITSET | FUTEX_PRIVATE_FLAG, val, deadline,
		  FUTEX_BITSET_MATCH_ANY) == 0)
		return 0;
	return errno == EAGAIN ? 0 : -errno;	/* EAGAIN: the word had changed */
}

/*
 * Far beyond anything CLOCK_MONOTONIC reaches; the kernel saturates it.
 * With a 32-bit time_t (i386, armhf), 2^30 s (34 years): a deadline is
 * the time since boot plus less than that, which must still fit.
 */
#define DISTANT ((time_t)1 << (sizeof(time_t) > 4 ? 40 : 30))

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
 * Bit 0 of the sequence says that a waiter sleeps or is about to; the rest
 * counts bumps made while one did.  Adding one to an odd value clears the
 * bit and changes the value: every sleeper's futex word is stale.  Only the
 * first completion after a waiter went to sleep makes a system call; the
 * ones that follow while it wakes up and scans find the bit clear.
 *
 * A Dekker pair, all sequentially consistent: the completing side publishes,
 * then loads the sequence; the waiter sets the bit, then scans.  Either the
 * scan sees the publication, or the bump sees the bit.
 */
#define SLEEPING 1u

void asys__seq_bump(struct asys__seq *s)
{
	uint32_t v = __atomic_load_n(&s->seq, __ATOMIC_SEQ_CST);

	while (v & SLEEPING)
		if (__atomic_compare_exchange_n(&s->seq, &v, v + 1, false, __ATOMIC_SEQ_CST,
						__ATOMIC_SEQ_CST)) {
			asys__wake(&s->seq);
			break;
		}
}

#if defined(__SANITIZE_ADDRESS__)
#define ASAN_BUILD 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define ASAN_BUILD 1
#endif
#endif

#ifdef ASAN_BUILD
#include <sanitizer/asan_interface.h>

/*
 * Cancellation unwinds the frames above without their epilogues, which is
 * where AddressSanitizer unpoisons their redzones: tell it, as a longjmp
 * does, or the thread trips over them on its way out.
 */
static void unwinding(void *arg)
{
	(void)arg;
	__asan_handle_no_return();
}
#endif

/*
 * Since glibc 2.34 a deferred pthread_cancel() interrupts only a thread
 * that is in asynchronous mode, which glibc's own cancellable system calls
 * switch to for the duration of the call: do the same around the sleep.
 */
static int cancellable_wait(uint32_t *word, uint32_t val, const struct timespec *deadline)
{
	int old, r;

#ifdef ASAN_BUILD
	pthread_cleanup_push(unwinding, NULL);
#endif
	pthread_setcanceltype(PTHREAD_CANCEL_ASYNCHRONOUS, &old);
	r = asys__futex_wait(word, val, deadline);
	pthread_setcanceltype(old, NULL);
#ifdef ASAN_BUILD
	pthread_cleanup_pop(0);
#endif
	return r;
}

long asys__seq_wait(struct asys__seq *s, long (*scan)(const void *ctx), const void *ctx,
		    const struct timespec *deadline, bool cancellable)
{
	long r;

	for (;;) {
		uint32_t seq = __atomic_load_n(&s->seq, __ATOMIC_SEQ_CST);

		if (!(seq & SLEEPING) &&
		    !__atomic_compare_exchange_n(&s->seq, &seq, seq | SLEEPING, false,
						 __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST))
			continue;
		seq |= SLEEPING;
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
	return r;
}
