/*
 * The fd table: every unfinished request per file descriptor, and the
 * order in which "ordered" requests start (see internal.h).  An entry
 * exists while its fd has requests; entries are recycled, never freed.
 */
#include <pthread.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>

#include "internal.h"
#include "stats.h"

#define BUCKETS 32	/* fork holds them all: TSan counts at most 64 held locks */

/*
 * Which 4 KiB chunks of the file an fd's unfinished requests at an offset
 * touch, counted in CHUNK_SLOTS slots (chunk number modulo CHUNK_SLOTS).
 * A new request none of whose chunks' slots counts anything overlaps
 * none of them, and need not look through the fd's list for the ones it
 * must wait for: with 32 random 4 KiB writes in flight, that walk ran on
 * every write, under the fd's lock that the completing worker needs too,
 * and skipping it took 8% off the CPU that a write costs.  A request of more than
 * WIDE_CHUNKS chunks, or one that a slot could not count any more, is
 * counted as wide instead; while one is unfinished, every request looks
 * through the list.  The counts (1 KiB) are set up once an fd has
 * COUNT_FROM requests at an offset at a time, short walks being cheap, so
 * that a program with one request on each of many files, or with pipe
 * reads, pays nothing for them; they stay with the entry, all zero
 * whenever the fd has no request at an offset.
 */
#define CHUNK_SHIFT 12
#define CHUNK_SLOTS 256
#define WIDE_CHUNKS 16
#define COUNT_FROM 4

struct chunk_counts {
	uint16_t any[CHUNK_SLOTS];	/* unfinished requests at an offset on a chunk of the slot */
	uint16_t writes[CHUNK_SLOTS];	/* writes of them */
};

/*
 * A list of an fd's requests through one of their links.  Each walk goes
 * through the short list it needs: with 100,000 reads of a page queued
 * behind a write of it, walking all of the fd's requests for each new one
 * and each finished one took a minute.
 */
struct reqlist {
	struct aio__request *head, *tail;
};

#define QUEUE offsetof(struct aio__request, queue)
#define IN_WRITES offsetof(struct aio__request, in_writes)

struct aio__fd {
	int fd;
	struct aio__fd *next;			/* in its bucket, or free */
	struct aio__request *head, *tail;	/* all unfinished requests */
	struct reqlist order;		/* ordered requests not started, in turn (QUEUE) */
	struct reqlist held_list;	/* those with r->blockers, oldest first (QUEUE) */
	struct reqlist write_list;	/* unfinished writes at an offset, oldest first (IN_WRITES) */
	bool ordered_running;
	unsigned at_offset, writes;	/* unfinished requests at an offset, and writes of them */
	unsigned held, held_writes;	/* of them, those waiting for earlier ones (r->held) */
	unsigned wide;			/* of them, those not in *chunks (with chunks) */
	unsigned unverified;		/* unverified writes, neither finished nor restreamed */
	unsigned unbounded;		/* requests whose call is ASYS_UNBOUNDED */
	struct aio__request *last;	/* the last request added, while unfinished */
	struct chunk_counts *chunks;	/* or NULL; last: a recycled entry keeps it (find_or_add) */
};

static struct aio__link *link_at(struct aio__request *r, size_t link)
{
	return (struct aio__link *)((char *)r + link);
}

/* Put r into l before `before`, or last for NULL. */
static void list_insert(struct reqlist *l, size_t link, struct aio__request *r,
			struct aio__request *before)
{
	struct aio__link *at = link_at(r, link);

	at->next = before;
	at->prev = before ? link_at(before, link)->prev : l->tail;
	if (at->prev)
		link_at(at->prev, link)->next = r;
	else
		l->head = r;
	if (before)
		link_at(before, link)->prev = r;
	else
		l->tail = r;
}

static void list_cut(struct reqlist *l, size_t link, struct aio__request *r)
{
	struct aio__link *at = link_at(r, link);

	if (at->prev)
		link_at(at->prev, link)->next = at->next;
	else
		l->head = at->next;
	if (at->next)
		link_at(at->next, link)->prev = at->prev;
	else
		l->tail = at->prev;
}

static struct bucket {
	pthread_mutex_t lock;
	struct aio__fd *fds;
} buckets[BUCKETS] = { [0 ... BUCKETS - 1] = { PTHREAD_MUTEX_INITIALIZER, NULL } };

static pthread_mutex_t spare_lock = PTHREAD_MUTEX_INITIALIZER;
static struct aio__fd *spare;

/*
 * Requests unfinished per fd modulo SLOTS that a read at submission must not
 * overtake: any on a non-seekable fd (pipes, sockets, devices), and writes
 * at an offset on a file (any: whether they overlap is asked under the
 * lock, by aio__fd_reads_wait, when the count is not 0).  Exact below SLOTS,
 * cautious above.  Appends and flushes do not count: reads at an offset run
 * concurrently with them anyway.
 */
#define SLOTS 4096
static uint32_t reads_wait[SLOTS];

/* prepare_call marks the calls of a non-seekable fd ASYS_UNBOUNDED */
static uint32_t *reads_wait_count(const struct aio__request *r)
{
	if (!(r->call.flags & ASYS_UNBOUNDED) && (r->ordered || r->op != LIO_WRITE))
		return NULL;
	return &reads_wait[(unsigned)r->fildes % SLOTS];
}


/*
 * Requests at an offset (pread, pwrite) run concurrently, but not two that
 * touch the same byte when one of them writes: the later one is held until
 * the earlier one has finished (glibc runs an fd's requests one at a time,
 * and programs rely on a read queued after a write of the same bytes
 * seeing them).  Only requests of one fd number are compared, as POSIX
 * orders nothing across descriptors.
 */
static bool at_offset(const struct aio__request *r)
{
	return !r->ordered && (r->op == LIO_READ || r->op == LIO_WRITE);
}

/* Does q touch some of the len bytes at off?  (call arg 2: its length) */
static bool touches(const struct aio__request *q, uint64_t off, uint64_t len)
{
	return aio__ranges_meet((uint64_t)q->offset, (unsigned long)q->call.arg[2],
				off, len);
}

/* Must the later of q and r wait for the earlier? */
static bool conflict(const struct aio__request *q, const struct aio__request *r)
{
	return (q->op == LIO_WRITE || r->op == LIO_WRITE) &&
	       touches(q, (uint64_t)r->offset, (unsigned long)r->call.arg[2]);
}

/*
 * r's first chunk, and how many it touches: 0 for no byte, WIDE_CHUNKS + 1
 * for more than WIDE_CHUNKS (or for a range past the largest offset,
 * which the system call refuses).
 */
static unsigned chunks_of(const struct aio__request *r, uint64_t *first)
{
	uint64_t off = (uint64_t)r->offset, len = (unsigned long)r->call.arg[2], last;

	if (!len)
		return 0;
	if (len - 1 > UINT64_MAX - off)
		return WIDE_CHUNKS + 1;
	*first = off >> CHUNK_SHIFT;
	last = (off + len - 1) >> CHUNK_SHIFT;
	return last - *first < WIDE_CHUNKS ? (unsigned)(last - *first + 1) : WIDE_CHUNKS + 1;
}

/* Add delta (1 or -1) to the counts of the slots of r's n chunks from first. */
static void add_chunks(struct chunk_counts *c, const struct aio__request *r, uint64_t first,
		       unsigned n, int delta)
{
	unsigned i;

	for (i = 0; i < n; i++) {
		c->any[(first + i) % CHUNK_SLOTS] += delta;
		c->writes[(first + i) % CHUNK_SLOTS] += r->op == LIO_WRITE ? delta : 0;
	}
}

/* Count r, at an offset, in e's chunk counts, or as wide. */
static void count_chunks(struct aio__fd *e, struct aio__request *r)
{
	uint64_t first = 0;
	unsigned n = chunks_of(r, &first), i;

	r->counted = n <= WIDE_CHUNKS;
	for (i = 0; r->counted && i < n; i++)
		r->counted = e->chunks->any[(first + i) % CHUNK_SLOTS] < UINT16_MAX;
	if (r->counted)
		add_chunks(e->chunks, r, first, n, 1);
	else
		e->wide++;
}

/* r, the fd's last request, is at an offset from now on. */
static void offset_enter(struct aio__fd *e, struct aio__request *r)
{
	struct aio__request *q;

	e->at_offset++;
	if (r->op == LIO_WRITE) {
		e->writes++;
		list_insert(&e->write_list, IN_WRITES, r, NULL);
	}
	if (e->chunks) {
		count_chunks(e, r);
	} else if (e->at_offset >= COUNT_FROM && (e->chunks = calloc(1, sizeof *e->chunks))) {
		e->wide = 0;
		for (q = e->head; q; q = q->fd_next)
			if (at_offset(q))
				count_chunks(e, q);
	}
}

/* r, at an offset, has finished, or is a stream's write now. */
static void offset_leave(struct aio__fd *e, struct aio__request *r)
{
	uint64_t first = 0;
	unsigned n;

	e->at_offset--;
	if (r->op == LIO_WRITE) {
		e->writes--;
		list_cut(&e->write_list, IN_WRITES, r);
	}
	if (!e->chunks)
		return;
	if (!r->counted) {
		e->wide--;
		return;
	}
	n = chunks_of(r, &first);
	add_chunks(e->chunks, r, first, n, -1);
}

/* Might r overlap an unfinished request that it must wait for? */
static bool may_wait(const struct aio__fd *e, const struct aio__request *r)
{
	const uint16_t *count;
	uint64_t first = 0;
	unsigned n, i;

	if (!(r->op == LIO_WRITE ? e->at_offset : e->writes))
		return false;
	n = chunks_of(r, &first);
	if (!e->chunks || e->wide || n > WIDE_CHUNKS)
		return true;
	count = r->op == LIO_WRITE ? e->chunks->any : e->chunks->writes;
	for (i = 0; i < n; i++)
		if (count[(first + i) % CHUNK_SLOTS])
			return true;
	return false;
}

/*
 * With the bucket lock, r the fd's last request and not yet in its writes:
 * how many earlier unfinished requests r must wait for.  A read looks
 * through the writes only.
 */
static uint32_t blockers_of(const struct aio__fd *e, const struct aio__request *r)
{
	const struct aio__request *q;
	uint32_t n = 0;

	if (!may_wait(e, r))
		return 0;	/* the common case: nothing to look through */
	if (r->op != LIO_WRITE) {
		for (q = e->write_list.head; q; q = q->in_writes.next)
			n += conflict(q, r);
		return n;
	}
	for (q = e->head; q != r; q = q->fd_next)
		n += at_offset(q) && conflict(q, r);
	return n;
}

static struct bucket *bucket_of(int fd)
{
	return &buckets[(unsigned)fd % BUCKETS];
}

static struct aio__fd *find(struct bucket *b, int fd)
{
	struct aio__fd *e;

	for (e = b->fds; e; e = e->next)
		if (e->fd == fd)
			return e;
	return NULL;
}

/*
 * The count tells at once that most reads need not wait; when it does not,
 * the fd's list says whether this one must: a read of other bytes than the
 * unfinished writes is still served at submission.
 */
bool aio__fd_reads_wait(int fd, off_t off, size_t len)
{
	struct bucket *b;
	const struct aio__request *q;
	const struct aio__fd *e;
	bool wait = false;

	if (!__atomic_load_n(&reads_wait[(unsigned)fd % SLOTS], __ATOMIC_ACQUIRE))
		return false;
	b = bucket_of(fd);
	pthread_mutex_lock(&b->lock);
	e = find(b, fd);
	if (e) {
		wait = e->unbounded != 0;
		for (q = e->write_list.head; q && !wait; q = q->in_writes.next)
			wait = touches(q, (uint64_t)off, len);
	}
	pthread_mutex_unlock(&b->lock);
	return wait;
}

static struct aio__fd *find_or_add(struct bucket *b, int fd)
{
	struct aio__fd *e = find(b, fd);

	if (e)
		return e;
	pthread_mutex_lock(&spare_lock);
	e = spare;
	if (e)
		spare = e->next;
	pthread_mutex_unlock(&spare_lock);
	if (!e)
		e = calloc(1, sizeof *e);
	if (!e)
		return NULL;
	/* not the chunk counts: all zero, kept */
	memset(e, 0, offsetof(struct aio__fd, chunks));
	e->fd = fd;
	e->next = b->fds;
	b->fds = e;
	return e;
}

static void drop_if_idle(struct bucket *b, struct aio__fd *e)
{
	struct aio__fd **p;

	if (e->head || e->order.head)
		return;
	for (p = &b->fds; *p != e; p = &(*p)->next)
		;
	*p = e->next;
	pthread_mutex_lock(&spare_lock);
	e->next = spare;
	spare = e;
	pthread_mutex_unlock(&spare_lock);
}

/*
 * Is an unverified write submitted before r still at its offset?  If the
 * fd is a stream now, that write will be r's predecessor in the stream.
 */
static bool behind_unverified(const struct aio__fd *e, const struct aio__request *r)
{
	const struct aio__request *q;

	if (!e->unverified)
		return false;	/* the common case: nothing to look through */
	for (q = e->head; q != r; q = q->fd_next)
		if (q->unverified)
			return true;
	return false;
}

/* With the bucket lock: take r out of its fd's order queue. */
static void dequeue(struct aio__fd *e, struct aio__request *r)
{
	list_cut(&e->order, QUEUE, r);
	r->waiting = false;
}

/*
 * With the bucket lock: start the fd's next ordered request if its turn has
 * come (an fsync's only once everything submitted before it has finished;
 * any only once the unverified writes before it know what they are; none
 * while the one at the head is being cancelled: its ECANCELED comes first).
 * One the engine refuses is returned, not started, for the caller to
 * complete once the lock is released and then go on with the next: the
 * fd's requests complete in their order, and never two run at once.
 */
static struct aio__request *start_next_ordered(struct aio__fd *e)
{
	struct aio__request *r = e->order.head;
	struct asys_call *call;

	if (!r || e->ordered_running || r->cancelling || (r->op >= AIO__FSYNC && e->head != r) ||
	    behind_unverified(e, r))
		return NULL;
	dequeue(e, r);
	call = &r->call;
	if (asys_submit(&call, 1) < 0) {
		r->call.result = -errno;
		return r;
	}
	/* only now: a refused request's completion must not end another's turn */
	r->started = true;
	e->ordered_running = true;
	return NULL;
}

static void unlink_request(struct aio__fd *e, struct aio__request *r)
{
	uint32_t *count = reads_wait_count(r);

	if (count)
		__atomic_fetch_sub(count, 1, __ATOMIC_RELEASE);
	e->unbounded -= (r->call.flags & ASYS_UNBOUNDED) != 0;
	if (at_offset(r))
		offset_leave(e, r);
	e->unverified -= r->unverified;
	if (e->last == r)
		e->last = NULL;
	if (r->fd_prev)
		r->fd_prev->fd_next = r->fd_next;
	else
		e->head = r->fd_next;
	if (r->fd_next)
		r->fd_next->fd_prev = r->fd_prev;
	else
		e->tail = r->fd_prev;
}

/* Take a request that never started out of its fd's list. */
static void forget(struct bucket *b, struct aio__fd *e, struct aio__request *r)
{
	unlink_request(e, r);
	drop_if_idle(b, e);
}

/*
 * r, an unverified write, is the write(2) of a stream or of an O_APPEND
 * fd, ordered.  aio_cancel may be reading the call's state (final, after a
 * run: aio__fd_restream), so no asys_prep: fd, buffer and length stay.
 */
static void become_stream_write(struct aio__request *r, unsigned flags)
{
	r->unverified = false;
	r->ordered = true;
	r->call.nr = SYS_write;
	r->call.arg[3] = r->call.arg[4] = r->call.arg[5] = 0;
	r->call.flags = flags;
}

/*
 * An fsync submitted right after another one on its fd, with no request
 * between them, finished or not, would sync nothing that the earlier one
 * does not: everything submitted before it had finished when the earlier
 * one started.  So it shares the earlier one's result instead of running,
 * as the earlier one leaves (in submission order, after it), and passes it
 * on to an fsync right after itself.  An fdatasync may share an fsync's
 * result, not the other way round.  Flushes queued in a row (one per
 * committer that waits for its data to be durable, say, or fio's
 * --fsync=N, which fills each slot it frees with another fsync until one
 * completes) ran one at a time, a worker or ring round trip each
 * (rtaio_stats(3) counts the shared ones).  A read served at submission
 * between them never enters the table, and changes nothing to sync.
 */
static bool covers(const struct aio__request *earlier, const struct aio__request *r)
{
	return r->op >= AIO__FSYNC && earlier && earlier->op >= AIO__FSYNC &&
	       (earlier->op == AIO__FSYNC || r->op == AIO__FDATASYNC);
}

int aio__fd_add(struct aio__request *r, struct aio__batch *batch)
{
	int fd = r->fildes;
	struct bucket *b = bucket_of(fd);
	struct aio__request *refused = NULL;
	struct aio__fd *e;
	uint32_t *count;
	int err = 0;

	pthread_mutex_lock(&b->lock);
	e = find_or_add(b, fd);
	if (!e) {
		pthread_mutex_unlock(&b->lock);
		return -EAGAIN;
	}
	/* in progress from here, where a fork would see the request */
	__atomic_store_n(&r->cb->__return_value, 0, __ATOMIC_RELAXED);
	aio__set_status(r->cb, EINPROGRESS);
	r->fd = e;
	r->follows_sync = covers(e->last, r);
	e->last = r;
	r->fd_next = NULL;
	r->fd_prev = e->tail;
	if (e->tail)
		e->tail->fd_next = r;
	else
		e->head = r;
	e->tail = r;
	/* an unverified write to be held may be an append: ordered from here on */
	if (r->unverified && batch && blockers_of(e, r) && aio__fd_appends(&batch->type))
		become_stream_write(r, ASYS_BOUNDED);
	if (r->unverified)
		aio__stat(AIO__EV_UNASKED);
	count = reads_wait_count(r);
	if (count)
		__atomic_fetch_add(count, 1, __ATOMIC_RELEASE);
	e->unbounded += (r->call.flags & ASYS_UNBOUNDED) != 0;
	if (r->ordered) {
		r->waiting = true;
		list_insert(&e->order, QUEUE, r, NULL);
		refused = start_next_ordered(e);
		/* refused as it was queued: the caller reports it, like any other */
		if (refused == r) {
			err = (int)r->call.result;
			forget(b, e, r);
			refused = NULL;
		}
	} else {
		/* a read the kernel already runs (batch NULL) waits for nothing */
		r->owed = !batch;
		r->blockers = batch ? blockers_of(e, r) : 0;
		r->held = r->blockers != 0;
		if (r->held) {
			e->held++;
			e->held_writes += r->op == LIO_WRITE;
			list_insert(&e->held_list, QUEUE, r, NULL);
		}
		offset_enter(e, r);
		e->unverified += r->unverified;
		/* the caller submits it, after the unlock; a held one starts in release_held */
		if (!r->held && batch) {
			batch->reqs[batch->n] = r;
			batch->calls[batch->n++] = &r->call;
		}
	}
	pthread_mutex_unlock(&b->lock);
	/* an earlier one whose turn came meanwhile (aio_cancel took the one before it) */
	if (refused)
		aio__complete(refused, refused->call.result);
	return err;
}

/* Onto the requests that the engine refused, to be completed without the lock. */
static void push_refused(struct aio__request *r, struct aio__request **refused)
{
	r->queue.next = *refused;
	*refused = r;
}

/*
 * With the bucket lock: r, at an offset, has finished; start the held
 * requests from `from` on that were held for it and for nothing else.
 * Only those after r in the held list counted r, when r was held itself.
 */
static void release_held(struct aio__fd *e, struct aio__request *from,
			 const struct aio__request *r, struct aio__request **refused)
{
	struct aio__request *q, *next;

	if (!e->held || (r->op != LIO_WRITE && !e->held_writes))
		return;	/* the common case: nothing that r could hold */
	for (q = from; q; q = next) {
		struct asys_call *call = &q->call;

		next = q->queue.next;
		if (!q->held || !conflict(r, q) || --q->blockers)
			continue;
		q->held = false;
		e->held--;
		e->held_writes -= q->op == LIO_WRITE;
		list_cut(&e->held_list, QUEUE, q);
		if (asys_submit(&call, 1) < 0) {
			q->call.result = -errno;
			push_refused(q, refused);
		}
	}
}

/*
 * With the bucket lock: r, at an offset, leaves; start what waited for it.
 * An owed read joined the list after the kernel had it, behind requests
 * that another thread may have added meanwhile: only the held ones after
 * it (from `after` on; the held list keeps the fd's order) counted it.
 */
static void offset_done(struct aio__fd *e, struct aio__request *r, struct aio__request *after,
			struct aio__request **refused)
{
	struct aio__request *from = e->held_list.head;

	if (r->owed) {
		for (from = e->held_writes ? after : NULL; from && !from->blockers;
		     from = from->fd_next)
			;
	} else if (r->blockers) {
		/* cancelled while held (aio__fd_unqueue): it kept its place till now */
		from = r->queue.next;
		list_cut(&e->held_list, QUEUE, r);
	}
	release_held(e, from, r, refused);
}

/*
 * With the bucket lock: r leaves; `after`, the next unfinished request on
 * its fd, follows_sync only if r is the fsync queued right before it (one
 * between them would have finished, and passed its result on or cleared
 * the flag).  An fsync that ran or shared passes its result on to it, if
 * it still waits and is not being cancelled, to be completed once the lock
 * is released (with the refused ones: it never runs either): true if so.
 * Anything else leaves it to run by itself: one that aio_cancel took from
 * the engine's queue after its turn came has ECANCELED, which is not the
 * result of a flush.
 */
static bool share_result(struct aio__fd *e, const struct aio__request *r,
			 struct aio__request *after, struct aio__request **refused)
{
	if (!after || !after->follows_sync)
		return false;
	if (!(r->op >= AIO__FSYNC && (asys_state(&r->call) == ASYS_DONE || r->shared))) {
		after->follows_sync = false;
		return false;
	}
	if (after != e->order.head || after->cancelling)
		return false;
	dequeue(e, after);
	after->shared = true;
	after->call.result = r->call.result;
	aio__stat(AIO__EV_SYNC_SHARED);
	push_refused(after, refused);
	return true;
}

static void leave(struct aio__request *r, struct aio__request **refused)
{
	struct aio__fd *e = r->fd;
	struct bucket *b = bucket_of(r->fildes);
	struct aio__request *next, *after;

	pthread_mutex_lock(&b->lock);
	after = r->fd_next;
	unlink_request(e, r);
	/* cancelled while waiting: it kept its place in the order queue till now */
	if (r->waiting)
		dequeue(e, r);
	if (at_offset(r))
		offset_done(e, r, after, refused);
	if (r->ordered && r->started)
		e->ordered_running = false;
	/* what follows a shared fsync starts as that one leaves, after it */
	next = share_result(e, r, after, refused) ? NULL : start_next_ordered(e);
	if (next)
		push_refused(next, refused);
	drop_if_idle(b, e);
	pthread_mutex_unlock(&b->lock);
}

/*
 * Each request the engine refuses when its turn comes completes with the
 * engine's error before the next one is tried: a loop, not a recursion
 * through aio__complete, since a whole queue may be refused in turn.
 */
static void complete_refused(struct aio__request *refused)
{
	while (refused) {
		struct aio__request *r = refused;

		refused = r->queue.next;
		aio__report(r, r->call.result);
		leave(r, &refused);
		aio__request_put(r);
	}
}

void aio__fd_done(struct aio__request *r)
{
	struct aio__request *refused = NULL;

	leave(r, &refused);
	complete_refused(refused);
}

/*
 * With the bucket lock: put r in the order queue before the ordered
 * requests submitted after it (the queue keeps the list's order), none of
 * which has started (behind_unverified).
 */
static void enqueue_in_turn(struct aio__fd *e, struct aio__request *r)
{
	struct aio__request *later = r->fd_next;

	while (later && !later->waiting)
		later = later->fd_next;
	list_insert(&e->order, QUEUE, r, later);
	r->waiting = true;
}

void aio__fd_restream(struct aio__request *r)
{
	struct bucket *b = bucket_of(r->fildes);
	struct aio__request *refused = NULL, *next;
	struct aio__fd *e = r->fd;

	aio__fd_unsee(r->fildes);
	pthread_mutex_lock(&b->lock);
	/* no longer at an offset: what waited for its bytes waits no more */
	offset_leave(e, r);
	release_held(e, e->held_list.head, r, &refused);
	e->unverified--;
	e->unbounded += !(r->call.flags & ASYS_UNBOUNDED);
	become_stream_write(r, ASYS_UNBOUNDED);
	enqueue_in_turn(e, r);
	next = start_next_ordered(e);
	if (next)
		push_refused(next, &refused);
	pthread_mutex_unlock(&b->lock);
	complete_refused(refused);
}

size_t aio__fd_collect(int fd, const struct aiocb *cb, struct aio__request **out, size_t max,
		       size_t *total)
{
	struct bucket *b = bucket_of(fd);
	struct aio__request *r;
	struct aio__fd *e;
	size_t n = 0;

	*total = 0;
	pthread_mutex_lock(&b->lock);
	e = find(b, fd);
	for (r = e ? e->head : NULL; r; r = r->fd_next) {
		if ((cb && r->cb != cb) || __atomic_load_n(&r->published, __ATOMIC_ACQUIRE))
			continue;
		if (n < max) {
			aio__request_ref(r);
			out[n++] = r;
		}
		(*total)++;
	}
	pthread_mutex_unlock(&b->lock);
	return n;
}

bool aio__fd_unqueue(struct aio__request *r)
{
	struct bucket *b = bucket_of(r->fildes);
	bool was_waiting = false;

	pthread_mutex_lock(&b->lock);
	if (r->held) {
		/* its completion (ECANCELED) takes it out of the lists (offset_done) */
		r->held = false;
		r->fd->held--;
		r->fd->held_writes -= r->op == LIO_WRITE;
		was_waiting = true;
	} else if (r->waiting && !r->cancelling) {
		/*
		 * It stays in the order queue, where nothing after it may
		 * start, until its completion (ECANCELED, published first)
		 * takes it out (leave): else a later request of the fd could
		 * start and finish while this one still says EINPROGRESS.
		 */
		r->cancelling = true;
		was_waiting = true;
	}
	pthread_mutex_unlock(&b->lock);
	return was_waiting;
}

/* Unloading the library: give the spare entries back (those in use stay). */
void aio__fd_unload(void)
{
	pthread_mutex_lock(&spare_lock);
	while (spare) {
		struct aio__fd *e = spare;

		spare = e->next;
		free(e->chunks);
		free(e);
	}
	pthread_mutex_unlock(&spare_lock);
}

void aio__fd_lock_all(void)
{
	int i;

	for (i = 0; i < BUCKETS; i++)
		pthread_mutex_lock(&buckets[i].lock);
}

void aio__fd_unlock_all(void)
{
	int i;

	for (i = BUCKETS - 1; i >= 0; i--)
		pthread_mutex_unlock(&buckets[i].lock);
}

void aio__fd_fork_child(void)
{
	struct aio__request *r;
	struct aio__fd *e, *next;
	int i;

	/* spare_lock is only taken under a bucket lock: the spares are intact */
	pthread_mutex_init(&spare_lock, NULL);
	memset(reads_wait, 0, sizeof reads_wait);
	for (i = 0; i < BUCKETS; i++) {
		for (e = buckets[i].fds; e; e = next) {
			next = e->next;
			for (r = e->head; r; r = r->fd_next)
				/*
				 * Not published, and the aiocb still says so: a
				 * completion caught between the two is final.
				 */
				if (!r->published && r->cb->__error_code == EINPROGRESS) {
					r->cb->__return_value = -1;
					r->cb->__error_code = ECANCELED;
				}
			if (e->chunks)
				memset(e->chunks, 0, sizeof *e->chunks);
			e->next = spare;
			spare = e;
		}
		buckets[i].fds = NULL;
		/* held since aio__fd_lock_all(), by this very thread */
		pthread_mutex_unlock(&buckets[i].lock);
	}
}
