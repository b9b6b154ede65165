/*
 * The POSIX AIO layer's internal interface: the aiocb API as a thin layer
 * over the asys engine.
 *
 * Design
 * ------
 * A request is a record of rtaio's own (struct aio__request), taken from a
 * pool that grows in slabs (no malloc per request).  It holds the engine
 * call and a snapshot of what completion needs (the sigevent, the list it
 * belongs to), because once a request's status is published in its aiocb
 * the program may free or reuse the aiocb at once: completion never reads
 * the aiocb, and writes only its __return_value and then __error_code
 * (with the padding beside it, status.c).
 *
 * Completion, on the thread that completed the engine call (a worker, or
 * the caller of aio_cancel) or at submission for requests that fail there,
 * goes: status (__return_value, then __error_code), which wakes the
 * aio_suspend callers that listed the aiocb, notification from the
 * snapshot, list accounting, fd bookkeeping (which may start the fd's next
 * ordered request), release.
 *
 * Per-fd order (fdtable.c): requests on regular files and block devices run
 * concurrently, except that a request whose bytes overlap those of an
 * earlier unfinished write on the same fd (or a write overlapping any
 * earlier unfinished request) starts only once those have finished, as
 * programs written for glibc, which runs an fd's requests in turn, rely
 * on; writes to O_APPEND files, every request on other fds (pipes,
 * sockets, terminals) and aio_fsync are "ordered": they run one at a time
 * in submission order, and an fsync starts only when every request
 * submitted before it on that fd has completed.  An fsync submitted right
 * after another one on the fd, with nothing between, shares its result
 * instead of running (fdtable.c).  The fd table also lists
 * every request per fd, for aio_cancel.
 *
 * References: a record is freed when its last reference goes: the request
 * itself (dropped at the end of completion), aio_cancel while it looks at
 * it, and a SIGEV_THREAD notification until its function has returned.
 *
 * Locks: an fd bucket lock, then the engine's.  Completion takes a bucket
 * lock itself, so nobody calls into the engine's cancel (which completes
 * synchronously) while holding one.  aio_error, aio_return and aio_suspend
 * take no lock and never allocate: they are async-signal-safe.
 */
#ifndef AIO_INTERNAL_H
#define AIO_INTERNAL_H

#include <aio.h>
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>

#include "asys.h"
#include "../asys/engine.h"
#include "../asys/futex.h"

#define AIO__PRIO_DELTA_MAX 20

/* What a request does, beside LIO_READ and LIO_WRITE. */
enum { AIO__FSYNC = 16, AIO__FDATASYNC };

/*
 * A notification to deliver: a request's own, or a lio_listio list's.  It
 * keeps of the struct sigevent (64 bytes, most of them padding) what
 * delivery needs (aio__note_set).
 */
struct aio__notification {
	union sigval value;
	void (*function)(union sigval);		/* SIGEV_THREAD */
	pthread_attr_t *attributes;		/* SIGEV_THREAD */
	struct aio__notification *next;		/* in the notification queue */
	void (*release)(struct aio__notification *n);
	int notify, signo;
	pid_t tid;				/* SIGEV_THREAD_ID */
	uint32_t created;	/* a thread of its own: its pthread_create has returned */
};

struct aio__list;
struct aio__fd;
struct aio__request;

/* A request's place in one of its fd's lists (fdtable.c). */
struct aio__link {
	struct aio__request *next, *prev;
};

struct aio__request {
	struct asys_call call;
	struct aiocb *cb;
	struct aio__notification note;
	struct aio__list *list;
	struct aio__fd *fd;
	struct aio__request *fd_next, *fd_prev;	/* the fd's requests, oldest first */
	/*
	 * In the fd's order queue (ordered, not started) or its held list
	 * (at an offset, waiting for earlier requests), or in a chain of
	 * requests the engine refused; and in its writes at an offset.
	 */
	struct aio__link queue, in_writes;
	int fildes;		/* the aiocb's, kept: completion must not read the aiocb */
	int op;
	off_t offset;		/* the aiocb's, 64-bit whatever the names that took it */
	bool ordered;
	bool waiting;		/* in its fd's order queue (ordered, not started yet) */
	bool started;		/* ordered: taken by the engine (its turn on the fd) */
	bool cancelling;	/* waiting: aio_cancel completes it, and it keeps its turn till then */
	bool partly_read;	/* aio_read copied a cached prefix: cancelling is too late */
	bool held;		/* at an offset: waits for earlier overlapping requests */
	bool unverified;	/* a write on a file seen lately: ESPIPE makes it a stream's */
	bool counted;		/* at an offset: in its fd's chunk counts (fdtable.c) */
	bool follows_sync;	/* an fsync queued right after an unfinished one (fdtable.c) */
	bool shared;		/* an fsync completed with the result of the one before it */
	bool owed;		/* listed once the kernel ran it: no earlier request counted it */
	uint32_t blockers;	/* not 0: in the held list; held: how many of them are unfinished */
	uint32_t published;	/* the status is in the aiocb */
	uint32_t refs;
	uint64_t submitted_ns;	/* statistics on: when, for its latency (stats.c) */
};

/* request.c */
ASYS__HIDDEN struct aio__request *aio__request_get(void);
ASYS__HIDDEN void aio__request_ref(struct aio__request *r);
ASYS__HIDDEN void aio__request_put(struct aio__request *r);
ASYS__HIDDEN void aio__request_fork_child(void);
ASYS__HIDDEN void aio__request_unload(void);
/* how many records the pool has allocated, in use or free */
ASYS__HIDDEN size_t aio__request_records(void);

/*
 * What rtaio asked the kernel about an fd, asked once per request, or once
 * for a run of lio_listio elements on the same fd.  -1: not asked yet.
 */
struct aio__fdtype {
	int fd;
	int flags;		/* F_GETFL, -1 until asked */
	int seekable;		/* a regular file or a block device */
	int regular;		/* a regular file */
	int stream;		/* a pipe or a socket (asked with seekable) */
	int buffered;		/* seekable, no O_DIRECT: asked lately (nowait.c) */
	int unverified;		/* seekable and regular from fdseen.c, not asked */
};

/*
 * Requests on their way to the engine: those that can start at once are
 * handed over together, one asys_submit for a lio_listio list (up to 64
 * at a time) or for a single aio_read, after the fd's lock is released.
 * The type of an fd is asked once for a run of list elements on it.
 */
#define AIO__BATCH 64
struct aio__batch {
	unsigned n;
	struct aio__fdtype type;	/* of the previous request's fd */
	int refused;		/* -errno of the last request not queued, or 0 */
	bool again;		/* a request was not queued with EAGAIN */
	struct aio__request *reqs[AIO__BATCH];
	struct asys_call *calls[AIO__BATCH];
	struct aio__list_reads *reads;	/* lio_listio's; NULL for a single request */
};

/*
 * A list's reads of files, tried in the page cache all at once before the
 * batch's calls go to the engine (nowait.c).  On lio_listio's stack only:
 * aio_read's batch stays small.
 */
struct aio__list_reads {
	unsigned n;
	struct aio__request *reqs[AIO__BATCH];
	struct aio__fdtype types[AIO__BATCH];
	struct asys__read reads[AIO__BATCH];
};

/*
 * submit.c: queue one aiocb (op: LIO_READ, LIO_WRITE, AIO__FSYNC,
 * AIO__FDATASYNC, or anything else, which fails with EINVAL through
 * aio_error).  wide: cb came through a *64 name (see AIO__NARROW_OFFSET).
 * 0, or -errno when it could not be queued (its aiocb then says so too).
 * notify false: the aiocb's own sigevent is ignored.  The request may wait
 * in the batch until aio__batch_flush, which records in the batch the
 * requests that the engine refused.
 */
ASYS__HIDDEN int aio__submit(struct aiocb *cb, int op, bool wide, struct aio__list *list,
			     bool notify, struct aio__batch *batch);
/* reads: a list's, or NULL */
ASYS__HIDDEN void aio__batch_init(struct aio__batch *batch, struct aio__list_reads *reads);
ASYS__HIDDEN void aio__batch_flush(struct aio__batch *batch);
/* The fd's F_GETFL (asked once), or -1 with errno. */
ASYS__HIDDEN int aio__fd_flags(struct aio__fdtype *t);
/* 1 for a regular file or a block device, 0 for anything else, or -errno. */
ASYS__HIDDEN int aio__fd_seekable(struct aio__fdtype *t);
/*
 * The usual way for a request (not, or not wholly, read at once): its
 * engine call, its place on its fd, the batch.  0, or -errno when it could
 * not be queued (its aiocb says so too).
 */
ASYS__HIDDEN int aio__queue(struct aio__request *r, const struct aiocb *cb,
			    struct aio__fdtype *t, struct aio__batch *batch);

/*
 * call: pread64 or pwrite64 (nr) of len bytes at off, as the architecture's
 * system call takes its 64-bit offset (lib/asys/sysarg.h).
 */
ASYS__HIDDEN void aio__prep_at(struct asys_call *call, long nr, int fd, long buf, long len,
			       off_t off);

/* Do the byte ranges [ao, ao + al) and [bo, bo + bl) share a byte? */
static inline bool aio__ranges_meet(uint64_t ao, uint64_t al, uint64_t bo, uint64_t bl)
{
	return al && bl && (ao - bo < bl || bo - ao < al);
}

/*
 * nowait.c: complete a read at once if the page cache holds its data, or
 * for a list element, keep it in the batch to be tried with the others
 * (aio__read_batch): true when so.  A read that finds the fd not seekable
 * (ESPIPE) notes that in *t.
 */
ASYS__HIDDEN bool aio__read_now(struct aio__request *r, const struct aiocb *cb,
				struct aio__fdtype *t, struct aio__batch *batch);
/* Try the batch's list reads at once; queue the ones the cache did not serve. */
ASYS__HIDDEN void aio__read_batch(struct aio__batch *batch);
/*
 * r, a write at an offset, is about to be queued: if it overlaps a read
 * kept in the batch, the batch's reads go first (served, or queued ahead
 * of it), so that it cannot overtake them.
 */
ASYS__HIDDEN void aio__read_batch_before(const struct aio__request *r, struct aio__batch *batch);
/*
 * For tests alone (test_refusals.c): when set, called by a thread whose
 * read went to the device from its ring (owed), before the read joins its
 * fd's list: the moment at which another thread's requests can come first.
 */
ASYS__HIDDEN extern void (*aio__owe_hook)(void);
/*
 * fdseen.c: what fstat and fcntl said of an fd lately.  aio__fd_seen: the
 * AIO__SEEN_* bits of a regular file or block device seen less than a
 * second ago, or -1.  aio__fd_see: t's fd was just found seekable (by
 * fstat; its flags asked too: t->flags is F_GETFL's answer).
 * aio__fd_unsee: it was found otherwise.
 */
#define AIO__SEEN_REGULAR 1u	/* a regular file, not a block device */
#define AIO__SEEN_BUFFERED 2u	/* without O_DIRECT */
#define AIO__SEEN_PLAIN 4u	/* without AIO__WRITE_PATH_FLAGS */
/* The flags that change a write's path: an append is ordered, the others go to the ring. */
#define AIO__WRITE_PATH_FLAGS (O_APPEND | O_DIRECT | O_DSYNC)
ASYS__HIDDEN int aio__fd_seen(int fd);
ASYS__HIDDEN void aio__fd_see(const struct aio__fdtype *t);
ASYS__HIDDEN void aio__fd_unsee(int fd);

/* init.c: once per process, before the first request. */
ASYS__HIDDEN extern bool aio__inline_reads;	/* RTAIO_INLINE_READS, not 0 */
/* RTAIO_SIGEV_THREAD=spawn: a new thread for each SIGEV_THREAD notification */
ASYS__HIDDEN extern bool aio__spawn_notifications;
ASYS__HIDDEN void aio__init(void);

/* complete.c */
ASYS__HIDDEN void aio__complete(struct aio__request *r, long result);
/* Completion up to the fd's bookkeeping: status, wake-up, notification, list. */
ASYS__HIDDEN void aio__report(struct aio__request *r, long result);
ASYS__HIDDEN void aio__call_done(struct asys_call *call);

/*
 * fdtable.c: an fd's requests.  aio__fd_add enters a request; an ordered
 * one starts when its turn comes, any other goes in the batch, for the
 * caller to hand to the engine (with no batch: a read already running,
 * owed by the kernel, see nowait.c).  aio__fd_done takes a request out, finished
 * or refused by the engine, and starts what may start after it (an ordered
 * request refused then completes with the engine's error, in its turn).
 */
ASYS__HIDDEN int aio__fd_add(struct aio__request *r, struct aio__batch *batch);
/* submit.c: an unverified write is to be held: does its fd append after all? */
ASYS__HIDDEN bool aio__fd_appends(struct aio__fdtype *t);
ASYS__HIDDEN void aio__fd_done(struct aio__request *r);
/*
 * r, an unverified write, failed with ESPIPE: its fd is a pipe or socket
 * now.  It becomes the stream's write(2), ordered at its place among the
 * fd's requests, and goes on from there.
 */
ASYS__HIDDEN void aio__fd_restream(struct aio__request *r);
/* Collect fd's unfinished requests (for cb, or all of them with cb NULL), referenced. */
ASYS__HIDDEN size_t aio__fd_collect(int fd, const struct aiocb *cb, struct aio__request **out,
				    size_t max, size_t *total);
/*
 * Could a read at submission of len bytes at off on fd overtake an
 * unfinished request that it must not (any on a stream, a write of some of
 * those bytes on a file)?  false: certainly not.  Takes no lock while the
 * fd has no such request.
 */
ASYS__HIDDEN bool aio__fd_reads_wait(int fd, off_t off, size_t len);
/*
 * Take a request that has not started out of its wait (an ordered one in its
 * order queue, or one held behind overlapping requests): true if it waited,
 * and the caller completes it (ECANCELED).  An ordered one keeps its place
 * in the order queue until that completion has published its status: the
 * later requests of its fd must not start, and finish, before that.
 */
ASYS__HIDDEN bool aio__fd_unqueue(struct aio__request *r);
/* fork: hold every fd lock across it; the child disowns the parent's requests. */
ASYS__HIDDEN void aio__fd_lock_all(void);
ASYS__HIDDEN void aio__fd_unlock_all(void);
ASYS__HIDDEN void aio__fd_fork_child(void);
ASYS__HIDDEN void aio__fd_unload(void);

/* notify.c */
ASYS__HIDDEN int aio__sigevent_check(const struct sigevent *sev);
/* Keep of sev (checked, or NULL for none) what delivering it takes. */
ASYS__HIDDEN void aio__note_set(struct aio__notification *n, const struct sigevent *sev);
/* Deliver n; for SIGEV_THREAD, n->release(n) runs once the function has. */
ASYS__HIDDEN void aio__notify(struct aio__notification *n);

/* notify_thread.c: SIGEV_THREAD; n->release(n) runs once the function has. */
ASYS__HIDDEN void aio__notify_thread(struct aio__notification *n);
ASYS__HIDDEN void aio__notify_fork_prepare(void);
ASYS__HIDDEN void aio__notify_fork_parent(void);
ASYS__HIDDEN void aio__notify_fork_child(void);
/* Unloading: aio__notify_stop_retry before the engine, aio__notify_unload after. */
ASYS__HIDDEN void aio__notify_stop_retry(void);
ASYS__HIDDEN void aio__notify_unload(void);

/* suspend.c */
ASYS__HIDDEN extern struct asys__seq aio__completions;

/*
 * status.c: every write of an aiocb's __error_code, which wakes the
 * aio_suspend callers that watch it; aio__watch marks an aiocb for
 * aio_suspend, false once its status is final.
 */
ASYS__HIDDEN void aio__set_status(struct aiocb *cb, int error);
ASYS__HIDDEN bool aio__watch(const struct aiocb *cb);
/* how many requests submitted with cb have completed, modulo 2^32 (status.c) */
ASYS__HIDDEN uint32_t aio__completed(const struct aiocb *cb);

/* listio.c: a list element finished (or, held, was counted in). */
ASYS__HIDDEN void aio__list_hold(struct aio__list *l);
ASYS__HIDDEN void aio__list_done(struct aio__list *l, bool failed);

/*
 * Export impl under glibc's names, each with both of glibc's versions on
 * the host: name@AIO__GLIBC_BASE (programs linked with -lrt before glibc
 * 2.34: GLIBC_2.2.5 on x86_64, GLIBC_2.17 on aarch64, see configure.ac)
 * and name@@GLIBC_2.34 (programs linked since), and impl64 as name64 the
 * same way.
 */
#define AIO__EXPORT_WIDE(impl, impl64, name)					\
	extern __typeof(impl) impl##_base __attribute__((alias(#impl)));	\
	extern __typeof(impl64) impl64##_base __attribute__((alias(#impl64)));	\
	__asm__(".symver " #impl "," #name "@@GLIBC_2.34");			\
	__asm__(".symver " #impl "_base," #name "@" AIO__GLIBC_BASE);		\
	__asm__(".symver " #impl64 "," #name "64@@GLIBC_2.34");		\
	__asm__(".symver " #impl64 "_base," #name "64@" AIO__GLIBC_BASE)

/* The same with impl for name64 too. */
#define AIO__EXPORT(impl, name)						\
	extern __typeof(impl) impl##_64 __attribute__((alias(#impl)));		\
	AIO__EXPORT_WIDE(impl, impl##_64, name)

/*
 * Where the plain names' struct aiocb has a 32-bit aio_offset followed by
 * padding (32-bit architectures: include/aio.h), the *64 names, which take
 * struct aiocb64, are functions of their own that read all 64 bits
 * (AIO__EXPORT_WIDE).  Elsewhere the two layouts are one, and AIO__EXPORT
 * makes the *64 names aliases.  The names that never read aio_offset
 * (aio_error, aio_return, aio_cancel, aio_suspend, aio_fsync) are aliases
 * everywhere: the members they use are at the same places in both.
 */
#if __WORDSIZE == 32
#define AIO__NARROW_OFFSET 1
#endif

#endif /* AIO_INTERNAL_H */
