/*
 * The statistics report (RTAIO_STATS, rtaio_stats(3)): what the POSIX layer
 * counts, and the hooks that count it.
 *
 * Off (RTAIO_STATS unset, the default), a hook costs one load of a flag
 * that is written once, before the first request, and a branch that is
 * always taken the same way: no clock is read, no counter touched.  On,
 * the counters are relaxed atomics shared by every thread, and a request
 * costs two clock reads (submission, completion) for its latency.
 */
#ifndef AIO_STATS_H
#define AIO_STATS_H

#include <stdbool.h>

#include "internal.h"

/* Counted events, beside requests, fd kinds and latencies. */
enum aio__event {
	AIO__EV_INLINE,			/* a read completed at submission (stats.c) */
	AIO__EV_REFUSED,		/* a request the engine refused (no thread, no ring) */
	AIO__EV_LIST,			/* a lio_listio list submitted */
	AIO__EV_UNASKED,		/* a write sent on what was seen of its fd lately */
	AIO__EV_RESTREAMED,		/* a write found a stream where a file was */
	AIO__EV_SYNC_SHARED,		/* an fsync shared the result of the one before it */
	AIO__EV_NOTE_NONE,		/* notifications asked for, by kind */
	AIO__EV_NOTE_SIGNAL,
	AIO__EV_NOTE_THREAD,
	AIO__EV_NOTE_THREAD_ID,
	AIO__EV_CANCELED,		/* aio_cancel's answers */
	AIO__EV_NOTCANCELED,
	AIO__EV_ALLDONE,
	AIO__NEVENTS
};

ASYS__HIDDEN extern bool aio__stats_on;

/* stats.c; the hooks below call them when statistics are on. */
ASYS__HIDDEN void aio__stats_count(enum aio__event ev);
ASYS__HIDDEN void aio__stats_submitted(struct aio__request *r);
ASYS__HIDDEN void aio__stats_fd(struct aio__fdtype *t);
ASYS__HIDDEN void aio__stats_list(const struct aio__notification *n);
/* ran: its status, result, is published; else the engine refused it */
ASYS__HIDDEN void aio__stats_finished(const struct aio__request *r, bool ran, long result);

/* Relaxed: a program may call aio_cancel before its first request starts rtaio. */
static inline bool aio__stats_enabled(void)
{
	return __builtin_expect(__atomic_load_n(&aio__stats_on, __ATOMIC_RELAXED), 0);
}

static inline void aio__stat(enum aio__event ev)
{
	if (aio__stats_enabled())
		aio__stats_count(ev);
}

/*
 * r is taken on: its operation, the notification it asks for (counted
 * here, where it is known for certain before aio_read returns), its
 * submission time.
 */
static inline void aio__stat_submit(struct aio__request *r)
{
	if (aio__stats_enabled())
		aio__stats_submitted(r);
}

/*
 * The kind of fd of the request just submitted, from what submission
 * learnt of it (a read served at once asks nothing of a file seen lately):
 * asked again only when it learnt too little, as for aio_fsync.
 */
static inline void aio__stat_fd(struct aio__fdtype *t)
{
	if (aio__stats_enabled())
		aio__stats_fd(t);
}

/* A lio_listio list, and the notification it asks for. */
static inline void aio__stat_list(const struct aio__notification *n)
{
	if (aio__stats_enabled())
		aio__stats_list(n);
}

/*
 * r's status is about to be published: its latency.  Counted before, so
 * that a request the program has seen done is in the report.
 */
static inline void aio__stat_done(const struct aio__request *r, long result)
{
	if (aio__stats_enabled())
		aio__stats_finished(r, true, result);
}

/* The engine refused r: it never ran. */
static inline void aio__stat_refused(const struct aio__request *r)
{
	if (aio__stats_enabled())
		aio__stats_finished(r, false, 0);
}

/* RTAIO_STATS, from aio__init (secure_getenv); the counters of a fork child start at 0. */
ASYS__HIDDEN void aio__stats_init(void);
ASYS__HIDDEN void aio__stats_fork_child(void);
/* Counted whether on or off: a notification thread started. */
ASYS__HIDDEN void aio__stats_thread_started(void);
/* At exit or unloading: the report, if on and this process made any request. */
ASYS__HIDDEN void aio__stats_at_exit(void);

#endif /* AIO_STATS_H */
