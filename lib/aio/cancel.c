/*
 * aio_cancel: an ordered request that has not started is taken out of its
 * fd's queue; one the engine holds is cancelled through the engine's state
 * machine (a queued call only; a running one is not interrupted).  Either
 * way the request completes with ECANCELED and its notification.
 */
#include <fcntl.h>
#include <sched.h>
#include <stdlib.h>

#include "internal.h"
#include "stats.h"

#define ON_STACK 64

enum outcome { CANCELED, NOT_CANCELED, ALL_DONE };

static enum outcome cancel_one(struct aio__request *r)
{
	/* the buffer holds data already: the read cannot be undone */
	if (r->partly_read)
		return NOT_CANCELED;
	/*
	 * A call that is final while the request is not: its completion hook
	 * is still publishing the status (AIO_ALLDONE must not be answered
	 * before aio_error agrees), or turning an unverified write into the
	 * stream's (aio__fd_restream), after which it waits or runs again.
	 */
	for (;;) {
		if (aio__fd_unqueue(r)) {
			aio__complete(r, -ECANCELED);
			return CANCELED;
		}
		if (asys_cancel(&r->call) == 0)
			return CANCELED;	/* the engine ran its completion hook */
		/* EINVAL: a lio_listio element not handed to the engine yet */
		if (errno == EBUSY || errno == EINVAL)
			return NOT_CANCELED;
		if (__atomic_load_n(&r->published, __ATOMIC_ACQUIRE))
			return ALL_DONE;
		sched_yield();
	}
}

/* aio_cancel's answer, or -1 with errno. */
static int cancel(int fd, struct aiocb *cb)
{
	struct aio__request *stack[ON_STACK], **found = stack;
	size_t n, total, i;
	bool canceled = false, not_canceled = false;
	int saved_errno = errno;

	if (fcntl(fd, F_GETFD) < 0) {
		errno = EBADF;
		return -1;
	}
	if (cb && cb->aio_fildes != fd) {
		errno = EINVAL;
		return -1;
	}
	if (cb && __atomic_load_n(&cb->__error_code, __ATOMIC_ACQUIRE) != EINPROGRESS)
		return AIO_ALLDONE;
	aio__init();
	n = aio__fd_collect(fd, cb, found, ON_STACK, &total);
	if (total > n) {
		/* more than fit on the stack: look again with room for them all */
		for (i = 0; i < n; i++)
			aio__request_put(found[i]);
		found = malloc((total + ON_STACK) * sizeof *found);
		if (!found) {
			errno = ENOMEM;
			return -1;
		}
		n = aio__fd_collect(fd, cb, found, total + ON_STACK, &total);
	}
	for (i = 0; i < n; i++) {
		switch (cancel_one(found[i])) {
		case CANCELED:
			canceled = true;
			break;
		case NOT_CANCELED:
			not_canceled = true;
			break;
		case ALL_DONE:
			break;
		}
		aio__request_put(found[i]);
	}
	if (found != stack)
		free(found);
	errno = saved_errno;
	if (not_canceled)
		return AIO_NOTCANCELED;
	return canceled ? AIO_CANCELED : AIO_ALLDONE;
}

int aio__cancel(int fd, struct aiocb *cb);

int aio__cancel(int fd, struct aiocb *cb)
{
	int outcome = cancel(fd, cb);

	switch (outcome) {
	case AIO_CANCELED:
		aio__stat(AIO__EV_CANCELED);
		break;
	case AIO_NOTCANCELED:
		aio__stat(AIO__EV_NOTCANCELED);
		break;
	case AIO_ALLDONE:
		aio__stat(AIO__EV_ALLDONE);
		break;
	}
	return outcome;
}
AIO__EXPORT(aio__cancel, aio_cancel);
