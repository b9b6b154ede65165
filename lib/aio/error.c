/*
 * aio_error and aio_return: plain atomic reads of the status that
 * completion publishes in the aiocb (the same fields glibc uses), so they
 * are async-signal-safe and cost next to nothing (fio calls aio_error
 * several times per I/O).
 */
#include "internal.h"

int aio__error(const struct aiocb *cb);
ssize_t aio__return(struct aiocb *cb);

int aio__error(const struct aiocb *cb)
{
	return __atomic_load_n(&cb->__error_code, __ATOMIC_ACQUIRE);
}
AIO__EXPORT(aio__error, aio_error);

/* Repeatable, as with glibc: it reads, it does not consume. */
ssize_t aio__return(struct aiocb *cb)
{
	if (__atomic_load_n(&cb->__error_code, __ATOMIC_ACQUIRE) == EINPROGRESS) {
		errno = EINVAL;
		return -1;
	}
	return __atomic_load_n(&cb->__return_value, __ATOMIC_RELAXED);
}
AIO__EXPORT(aio__return, aio_return);
