/*
 * aio_suspend: futex waits on the layer's completion sequence, which the
 * completion of an aiocb that a waiter here marked advances (status.c).
 * No lock, no allocation: async-signal-safe.  A cancellation point: the
 * sleep runs in asynchronous cancellation mode, as glibc's cancellable
 * system calls do.
 */
#include <limits.h>
#include <pthread.h>

#include "../asys/time64.h"
#include "internal.h"

struct asys__seq aio__completions;

struct suspend_list {
	const struct aiocb *const *list;
	int n;
	uint32_t completions;	/* of the listed aiocbs, when called */
};

static uint32_t completions_of(const struct suspend_list *l)
{
	uint32_t sum = 0;
	int i;

	for (i = 0; i < l->n; i++)
		if (l->list[i])
			sum += aio__completed(l->list[i]);
	return sum;
}

/*
 * 0 when some listed request is not in progress (or none is listed), or
 * some listed aiocb's request has completed since the call, though it is
 * in progress again (submitted anew), else -1.
 */
static long scan(const void *ctx)
{
	const struct suspend_list *l = ctx;
	bool listed = false;
	int i;

	for (i = 0; i < l->n; i++) {
		if (l->list[i] && !aio__watch(l->list[i]))
			return 0;
		listed = listed || l->list[i];
	}
	return listed && completions_of(l) == l->completions ? -1 : 0;
}

int aio__suspend(const struct aiocb *const list[], int nent, const struct timespec *timeout);

int aio__suspend(const struct aiocb *const list[], int nent, const struct timespec *timeout)
{
	struct suspend_list l = { list, nent, 0 };
	struct timespec deadline;
	long r;

	if (nent < 0 || (!list && nent > 0)) {
		errno = EINVAL;
		return -1;
	}
	pthread_testcancel();
	r = asys__deadline(timeout, &deadline);
	/* counted before any status is read: a completion after that is seen */
	l.completions = completions_of(&l);
	if (!r && scan(&l) == -1) {
		r = asys__seq_wait(&aio__completions, scan, &l, &deadline, true);
	}
	if (r >= 0)
		return 0;
	errno = r == -ETIMEDOUT ? EAGAIN : (int)-r;
	return -1;
}
AIO__EXPORT(aio__suspend, aio_suspend);

#if __TIMESIZE == 32
/*
 * Where time_t has 32 bits (i386, armhf), programs built with
 * _TIME_BITS=64 call __aio_suspend_time64 (<aio.h> says so), with glibc's
 * 64-bit struct timespec.
 */
int aio__suspend_time64(const struct aiocb *const list[], int nent,
			const struct asys__timespec64 *timeout);

int aio__suspend_time64(const struct aiocb *const list[], int nent,
			const struct asys__timespec64 *timeout)
{
	struct timespec t;

	return aio__suspend(list, nent, asys__timeout_from64(timeout, &t));
}
__asm__(".symver aio__suspend_time64, __aio_suspend_time64@@GLIBC_2.34");
#endif
