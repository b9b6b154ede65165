/*
 * An aiocb's status, and whether an aio_suspend sleeps on it.
 *
 * aio_suspend sleeps until a request it lists completes, not until any
 * request does: a program that lists some of its requests in flight (fio's
 * posixaio engine lists 8 of 32) must not be woken, scan and sleep again
 * for each of the others.  So a waiter marks every aiocb it lists, and a
 * completion wakes the waiters only if its aiocb was marked.
 *
 * The mark is read in the same atomic step that publishes the status: once
 * the status is final the aiocb is the program's, to free or reuse, and
 * completion may not look at it again.  On 64-bit targets glibc's layout
 * leaves 4 bytes of padding after __error_code; the mark lives there and
 * the pair is changed as one 8-byte word, so __error_code itself stays
 * exactly what glibc would have it be (code that reads it through glibc's
 * own aio_error agrees).  32-bit layouts have no such padding: there every
 * completion wakes every waiter.
 *
 * A Dekker pair with the waiter's side in asys__seq_wait(): the waiter
 * announces its sleep in the sequence, then marks and looks; completion
 * publishes (reading the mark), then looks at the sequence.
 *
 * A waiter may look only once the program has reaped the request and
 * submitted the aiocb again: it sees EINPROGRESS, of the new request.  So
 * that it still returns, as POSIX has it (the request it was called for has
 * completed), each aiocb counts the requests it has seen finish
 * (aio__completed).  A waiter that sees the count changed must see the
 * status published too (else it would return while aio_error still says
 * EINPROGRESS of the very request), and one that sees the new request's
 * EINPROGRESS must see the count changed, or be woken again once it is.
 * On 64-bit targets the count shares the padding with the mark, and goes up
 * in the same atomic step that publishes the status.  On 32-bit ones it is
 * in glibc's internal __abs_prio, which rtaio has no other use for; it goes
 * up after the status is published and before every waiter is woken.
 */
#include <stddef.h>

#include "internal.h"

#if __SIZEOF_LONG__ == 8
#define WATCHABLE 1
#define WATCHED 1u	/* the mark; the bits above it count finished requests */
#define FINISHED 2u

union status_word {
	struct {
		int error;	/* __error_code */
		uint32_t mark;	/* the padding after it */
	} half;
	uint64_t word;
};

typedef uint64_t __attribute__((may_alias)) status_word_t;

_Static_assert(offsetof(struct aiocb, __error_code) % 8 == 0 &&
		       offsetof(struct aiocb, __return_value) ==
			       offsetof(struct aiocb, __error_code) + 8,
	       "an aiocb's __error_code is followed by 4 bytes of padding");

static status_word_t *word_of(const struct aiocb *cb)
{
	return (status_word_t *)(void *)&((struct aiocb *)cb)->__error_code;
}
#endif

void aio__set_status(struct aiocb *cb, int error)
{
#ifdef WATCHABLE
	union status_word was, now;

	was.word = __atomic_load_n(word_of(cb), __ATOMIC_RELAXED);
	do {
		now.half.error = error;
		now.half.mark = (was.half.mark & ~WATCHED) + (error != EINPROGRESS ? FINISHED : 0);
	} while (!__atomic_compare_exchange_n(word_of(cb), &was.word, now.word, false,
					      __ATOMIC_SEQ_CST, __ATOMIC_RELAXED));
	/* a waiter also rescans when an aiocb it watches is submitted again */
	if (was.half.mark & WATCHED)
		asys__seq_bump(&aio__completions);
#else
	__atomic_store_n(&cb->__error_code, error, __ATOMIC_SEQ_CST);
	if (error != EINPROGRESS) {
		/* one writer: an aiocb submitted again while in progress can only lose a count */
		__atomic_store_n(&cb->__abs_prio,
				 __atomic_load_n(&cb->__abs_prio, __ATOMIC_RELAXED) + 1,
				 __ATOMIC_SEQ_CST);
		asys__seq_bump(&aio__completions);
	}
#endif
}

bool aio__watch(const struct aiocb *cb)
{
#ifdef WATCHABLE
	union status_word v, marked;

	v.word = __atomic_load_n(word_of(cb), __ATOMIC_SEQ_CST);
	while (v.half.error == EINPROGRESS && !(v.half.mark & WATCHED)) {
		marked = v;
		marked.half.mark |= WATCHED;
		if (__atomic_compare_exchange_n(word_of(cb), &v.word, marked.word, false,
						__ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST))
			return true;
	}
	return v.half.error == EINPROGRESS;
#else
	return __atomic_load_n(&cb->__error_code, __ATOMIC_SEQ_CST) == EINPROGRESS;
#endif
}

uint32_t aio__completed(const struct aiocb *cb)
{
#ifdef WATCHABLE
	union status_word v;

	v.word = __atomic_load_n(word_of(cb), __ATOMIC_SEQ_CST);
	return v.half.mark / FINISHED;
#else
	return (uint32_t)__atomic_load_n(&cb->__abs_prio, __ATOMIC_SEQ_CST);
#endif
}
