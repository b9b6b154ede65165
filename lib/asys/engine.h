/*
 * What the layers above use of the engine beyond include/asys.h: its
 * lifetime, and what it tells them about its backend so that they can
 * choose their own fast paths.
 */
#ifndef ASYS_ENGINE_H
#define ASYS_ENGINE_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "futex.h"

struct asys_call;

/*
 * Unloading the library (or exiting): stop the engine's threads.  Layers
 * above call it first from their own unloading, since the engine's
 * completions feed them.  Idempotent.
 */
ASYS__HIDDEN void asys__unload(void);

/*
 * Is the process in exit()?  Then unloading waits for no thread and frees
 * nothing that another thread may still use: it only joins the threads
 * that have already left.
 */
ASYS__HIDDEN bool asys__exiting(void);

/*
 * A layer's completion hook that never waits for another call: a worker
 * running it may count as free for the next call (see backend_threads.c).
 */
ASYS__HIDDEN void asys__prompt_hook(void (*done)(struct asys_call *call));

/*
 * RTAIO_BACKEND=uring and no ring to be had (seccomp, an old kernel): the
 * engine refuses every call with EAGAIN, and the layers above do no work
 * of their own for a request either.  Sets the ring up on first use.
 */
ASYS__HIDDEN bool asys__ring_missing(void);

/*
 * What the engine tells the statistics report (lib/aio/stats.c).  Read
 * with relaxed loads and no lock, so that a report can be written from a
 * signal handler; a fork child counts from zero.
 */
struct asys__stats {
	const char *choice;	/* RTAIO_BACKEND: "auto", "uring", "threads"; NULL: not set up */
	int ring;		/* 1: a ring is up; 0: none needed yet; -errno: none to be had */
	unsigned long workers;	/* thread backend workers started */
	unsigned long ring_threads;
	unsigned long reads_owed;	/* reads at submission that went to the device */
	unsigned long owed_unwoken;	/* rings of them finished without their wake-up */
	unsigned long reads_direct;	/* O_DIRECT reads sent from their submitter's ring */
	unsigned long reads_refused;	/* of those and the owed ones, refused by the device */
};
ASYS__HIDDEN void asys__stats(struct asys__stats *out);

/* A read for asys__read_now(): pread(fd, buf, len, off), its result. */
struct asys__read {
	int fd;
	void *buf;
	size_t len;
	off_t off;
	long result;
	struct asys_call *call;	/* the caller's, for a read the kernel runs on */
};
#define ASYS__READS_MAX 64	/* reads in one asys__read_now() */

/*
 * Can asys__read_now() run reads (io_uring)?  Sets its ring up on first
 * use.
 */
ASYS__HIDDEN bool asys__reads_now(void);
/*
 * And do its reads never wait for a device (Linux 6.7)?  If not, an
 * O_DIRECT read waits in asys__read_now() until the device is done.
 */
ASYS__HIDDEN bool asys__reads_owed(void);
/*
 * Read from the page cache at once, in the calling thread, up to
 * ASYS__READS_MAX reads in one system call: each result is what pread
 * would return, or -EAGAIN where the cache did not hold the start of the
 * data (the read is then for the caller to queue).  A short count: the
 * cache held only part of it, or the file ends there.  Of at most
 * UINT32_MAX bytes each (io_uring's length), on files (not pipes: the
 * offset would be ignored).  0, or -ENOSYS when asys__reads_now() is
 * false.
 *
 * -EINPROGRESS: the kernel runs the read on (O_DIRECT) and the read is
 * owed: the caller prepares its call (the same pread, its done hook) and
 * passes it to asys__read_owe(); after the last, asys__read_now_release()
 * hands the reads to the engine, which finishes each call.
 */
ASYS__HIDDEN int asys__read_now(struct asys__read *reads, size_t n);
/* An owed read's call becomes RUNNING, for the engine to finish. */
ASYS__HIDDEN void asys__read_owe(struct asys_call *call);
ASYS__HIDDEN void asys__read_now_release(void);

/*
 * For tests alone (see submit.c): when set, asys_submit asks it whether to
 * refuse each submission with EAGAIN.
 */
ASYS__HIDDEN extern bool (*asys__refuse_hook)(struct asys_call *const calls[], size_t n);
/*
 * For tests alone: owed reads are handed over without their wake-up (1),
 * or with a FUTEX_WAKE of another word than their ring's tail (2).
 */
ASYS__HIDDEN extern int asys__owed_wake_lost;

/* Around fork and unloading, from the engine's own handlers. */
ASYS__HIDDEN void asys__read_now_fork_prepare(void);
ASYS__HIDDEN void asys__read_now_fork_parent(void);
ASYS__HIDDEN void asys__read_now_fork_child(void);
ASYS__HIDDEN void asys__read_now_unload(void);

#endif /* ASYS_ENGINE_H */
