/*
 * Completing a request, in the order internal.h gives: status, wake-up,
 * notification, list, fd, release.
 */
#include <stddef.h>

#include "internal.h"
#include "stats.h"

void aio__report(struct aio__request *r, long result)
{
	struct aiocb *cb = r->cb;
	struct aio__list *list = r->list;

	/* before the status: a request the program sees done is in rtaio_stats() too */
	aio__stat_done(r, result);
	/* atomic: an aiocb submitted again while in progress has two writers */
	__atomic_store_n(&cb->__return_value, result < 0 ? -1 : result, __ATOMIC_RELAXED);
	aio__set_status(cb, result < 0 ? (int)-result : 0);
	/* From here on the aiocb is the program's again. */
	__atomic_store_n(&r->published, 1, __ATOMIC_RELEASE);
	if (r->note.notify == SIGEV_THREAD)
		aio__request_ref(r);	/* dropped by r->note.release */
	aio__notify(&r->note);
	if (list)
		aio__list_done(list, result < 0);
}

void aio__complete(struct aio__request *r, long result)
{
	aio__report(r, result);
	if (r->fd)	/* requests that failed at submission never got there */
		aio__fd_done(r);
	aio__request_put(r);
}

/* The engine's completion hook of every request's call. */
void aio__call_done(struct asys_call *call)
{
	struct aio__request *r = (struct aio__request *)((char *)call -
							 offsetof(struct aio__request, call));

	if (r->unverified && call->result == -ESPIPE) {
		aio__stat(AIO__EV_RESTREAMED);
		aio__fd_restream(r);
		return;
	}
	aio__complete(r, call->result);
}
