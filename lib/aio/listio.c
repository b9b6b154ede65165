/*
 * lio_listio: a list of requests with one completion for the whole list:
 * LIO_WAIT sleeps until every element is done, LIO_NOWAIT delivers the
 * list's sigevent then.  The list's state is rtaio's own, counted by
 * reference, so a waiter that leaves early (EINTR) leaves nothing behind.
 */
#include <stdlib.h>
#include <string.h>

#include "internal.h"
#include "stats.h"

/* in pending, while lio_listio(LIO_WAIT) sleeps on it */
#define LIST_SLEEPING 0x80000000u

struct aio__list {
	uint32_t pending;	/* unfinished elements, +1 while lio_listio submits */
	uint32_t refs;		/* the submitter, the elements, a queued notification */
	uint32_t failed;	/* elements that failed or could not be queued */
	struct aio__notification note;
};

static void list_put(struct aio__list *l)
{
	if (!__atomic_sub_fetch(&l->refs, 1, __ATOMIC_ACQ_REL))
		free(l);
}

static void release_note(struct aio__notification *n)
{
	list_put((struct aio__list *)((char *)n - offsetof(struct aio__list, note)));
}

void aio__list_hold(struct aio__list *l)
{
	__atomic_fetch_add(&l->refs, 1, __ATOMIC_RELAXED);
	__atomic_fetch_add(&l->pending, 1, __ATOMIC_RELAXED);
}

/* The last element to finish wakes the waiter only if it went to sleep. */
void aio__list_done(struct aio__list *l, bool failed)
{
	uint32_t left;

	if (failed)
		__atomic_fetch_add(&l->failed, 1, __ATOMIC_RELAXED);
	left = __atomic_sub_fetch(&l->pending, 1, __ATOMIC_ACQ_REL);
	if (!(left & ~LIST_SLEEPING)) {
		if (l->note.notify == SIGEV_THREAD)
			__atomic_fetch_add(&l->refs, 1, __ATOMIC_RELAXED);
		aio__notify(&l->note);
		if (left & LIST_SLEEPING)
			asys__wake(&l->pending);
	}
	list_put(l);
}

/*
 * LIO_WAIT: 0 once every element has finished, or -EINTR.  The sleep has
 * no timeout, so the kernel decides what a signal handler does to it: it
 * restarts the wait after a handler installed with SA_RESTART, as POSIX
 * has functions interrupted by one restart (a program that retries on
 * EINTR would otherwise submit elements still in flight again), and ends
 * it with EINTR after any other.  A timed wait ends with EINTR after
 * either, and nothing tells which signal ran: only the kernel knows.
 */
static int wait_list(struct aio__list *l)
{
	uint32_t v;

	while ((v = __atomic_load_n(&l->pending, __ATOMIC_ACQUIRE)) & ~LIST_SLEEPING) {
		if (!(v & LIST_SLEEPING) &&
		    !__atomic_compare_exchange_n(&l->pending, &v, v | LIST_SLEEPING, false,
						 __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE))
			continue;
		if (asys__futex_wait(&l->pending, v | LIST_SLEEPING, NULL) == -EINTR)
			return -EINTR;
	}
	return 0;
}

/*
 * old_abi: lio_listio before GLIBC_2.4, which ignores each element's
 * sigevent.  wide: lio_listio64 (see AIO__NARROW_OFFSET).
 */
static int listio(int mode, struct aiocb *const list[], int nent, struct sigevent *sig,
		  bool old_abi, bool wide)
{
	struct aio__list_reads reads;
	struct aio__batch batch;
	struct aio__list *l;
	int i, op, err = 0;

	if ((mode != LIO_WAIT && mode != LIO_NOWAIT) || nent < 0 || (!list && nent > 0)) {
		errno = EINVAL;
		return -1;
	}
	if (mode == LIO_NOWAIT && sig && aio__sigevent_check(sig)) {
		errno = EINVAL;
		return -1;
	}
	aio__init();
	aio__batch_init(&batch, &reads);
	l = calloc(1, sizeof *l);
	if (!l) {
		errno = EAGAIN;
		return -1;
	}
	l->pending = l->refs = 1;
	l->note.release = release_note;
	aio__note_set(&l->note, mode == LIO_NOWAIT ? sig : NULL);
	aio__stat_list(&l->note);
	for (i = 0; i < nent; i++) {
		if (!list[i] || list[i]->aio_lio_opcode == LIO_NOP)
			continue;
		op = list[i]->aio_lio_opcode;
		if (op != LIO_READ && op != LIO_WRITE)
			op = -1;	/* fails with EINVAL through aio_error */
		err = aio__submit(list[i], op, wide, l, !old_abi, &batch);
		if (err) {
			batch.again |= err == -EAGAIN;
			batch.refused = err;
		}
	}
	aio__batch_flush(&batch);
	__atomic_fetch_add(&l->refs, 1, __ATOMIC_RELAXED);	/* kept for the wait */
	aio__list_done(l, false);	/* the submitter's hold */
	if (mode == LIO_WAIT && wait_list(l) == -EINTR) {
		list_put(l);
		errno = EINTR;
		return -1;
	}
	i = __atomic_load_n(&l->failed, __ATOMIC_ACQUIRE);
	list_put(l);
	/* LIO_NOWAIT: only the elements that could not be queued count */
	if (batch.refused || (i && mode == LIO_WAIT)) {
		errno = batch.again ? EAGAIN : EIO;
		return -1;
	}
	return 0;
}

int aio__listio(int mode, struct aiocb *const list[], int nent, struct sigevent *sig);

int aio__listio(int mode, struct aiocb *const list[], int nent, struct sigevent *sig)
{
	return listio(mode, list, nent, sig, false, false);
}

/* LISTIO64: the function behind lio_listio64 (AIO__NARROW_OFFSET), as a string. */
#ifdef AIO__NARROW_OFFSET
int aio__listio64(int mode, struct aiocb *const list[], int nent, struct sigevent *sig);

int aio__listio64(int mode, struct aiocb *const list[], int nent, struct sigevent *sig)
{
	return listio(mode, list, nent, sig, false, true);
}
#define LISTIO64 "aio__listio64"
#else
#define LISTIO64 "aio__listio"
#endif

extern __typeof(aio__listio) aio__listio_64 __attribute__((alias(LISTIO64)));
__asm__(".symver aio__listio, lio_listio@@GLIBC_2.34");
__asm__(".symver aio__listio_64, lio_listio64@@GLIBC_2.34");

#ifdef AIO__GLIBC_OLD_LIO_LISTIO
/*
 * Where glibc's AIO is older than GLIBC_2.4 (x86_64, i386, s390x),
 * lio_listio has a third version: GLIBC_2.4, when the element sigevents
 * began to count, and the older one ignores them.
 */
int aio__listio_old(int mode, struct aiocb *const list[], int nent, struct sigevent *sig);

int aio__listio_old(int mode, struct aiocb *const list[], int nent, struct sigevent *sig)
{
	return listio(mode, list, nent, sig, true, false);
}

#ifdef AIO__NARROW_OFFSET
int aio__listio64_old(int mode, struct aiocb *const list[], int nent, struct sigevent *sig);

int aio__listio64_old(int mode, struct aiocb *const list[], int nent, struct sigevent *sig)
{
	return listio(mode, list, nent, sig, true, true);
}
#define LISTIO64_OLD "aio__listio64_old"
#else
#define LISTIO64_OLD "aio__listio_old"
#endif

extern __typeof(aio__listio) aio__listio_24 __attribute__((alias("aio__listio")));
extern __typeof(aio__listio) aio__listio_64_24 __attribute__((alias(LISTIO64)));
extern __typeof(aio__listio_old) aio__listio_old_64 __attribute__((alias(LISTIO64_OLD)));
__asm__(".symver aio__listio_24, lio_listio@GLIBC_2.4");
__asm__(".symver aio__listio_64_24, lio_listio64@GLIBC_2.4");
__asm__(".symver aio__listio_old, lio_listio@" AIO__GLIBC_BASE);
__asm__(".symver aio__listio_old_64, lio_listio64@" AIO__GLIBC_BASE);
#else
/* Elsewhere the element sigevents count in every version. */
extern __typeof(aio__listio) aio__listio_base __attribute__((alias("aio__listio")));
extern __typeof(aio__listio) aio__listio_64_base __attribute__((alias(LISTIO64)));
__asm__(".symver aio__listio_base, lio_listio@" AIO__GLIBC_BASE);
__asm__(".symver aio__listio_64_base, lio_listio64@" AIO__GLIBC_BASE);
#endif
