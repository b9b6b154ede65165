/*
 * The pool of request records: it grows by slabs of SLAB records and never
 * shrinks, so that a request costs no malloc once the pool is warm.
 *
 * Each thread keeps up to KEEP free records of its own, and takes or gives
 * back MOVE at a time under the pool's lock.  With the lock taken twice
 * per request, two threads submitting at once contended for it: in a
 * two-job fio run of cached reads, the lock and the records' get and put
 * took 6% of the CPU time (0.7% now).  A thread's records go back to the
 * pool as it exits (a key's destructor).  A free record has no reference,
 * wherever it is; that is how unloading tells that none is pending.
 */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

#define SLAB 256
#define KEEP 32
#define MOVE (KEEP / 2)

struct slab {
	struct slab *next;
	struct aio__request r[SLAB];
};

static struct {
	pthread_mutex_t lock;	/* guards all but the key's creation */
	struct aio__request *free;	/* linked through fd_next */
	struct slab *slabs;
	size_t records;	/* in the slabs: rtaio_stats() reads it without the lock */
	pthread_once_t once;
	pthread_key_t key;	/* its destructor gives an exiting thread's records back */
	bool key_made, unloaded;
} pool = { PTHREAD_MUTEX_INITIALIZER, NULL, NULL, 0, PTHREAD_ONCE_INIT, 0, false, false };

/*
 * The calling thread's free records; initial-exec, like read_now.c's, as
 * every request takes one (a few words of the static TLS that glibc keeps
 * for libraries loaded later).
 */
static __thread struct {
	struct aio__request *free;
	unsigned n;
	bool keyed;	/* the key holds a value, so its destructor will run */
	bool exited;	/* the destructor ran: records go straight to the pool */
} mine __attribute__((tls_model("initial-exec")));

/* Move up to n records from *from to *to: how many moved. */
static unsigned move(struct aio__request **from, struct aio__request **to, unsigned n)
{
	unsigned i;

	for (i = 0; i < n && *from; i++) {
		struct aio__request *r = *from;

		*from = r->fd_next;
		r->fd_next = *to;
		*to = r;
	}
	return i;
}

static void thread_exit(void *arg)
{
	(void)arg;
	mine.keyed = false;
	mine.exited = true;
	pthread_mutex_lock(&pool.lock);
	move(&mine.free, &pool.free, mine.n);
	pthread_mutex_unlock(&pool.lock);
	mine.n = 0;
}

static void make_key(void)
{
	pool.key_made = pthread_key_create(&pool.key, thread_exit) == 0;
}

/* May this thread keep records?  Not once it is exiting, nor without a key. */
static bool may_keep(void)
{
	if (mine.keyed)
		return true;
	if (mine.exited || __atomic_load_n(&pool.unloaded, __ATOMIC_RELAXED))
		return false;
	pthread_once(&pool.once, make_key);
	mine.keyed = pool.key_made && pthread_setspecific(pool.key, &mine) == 0;
	return mine.keyed;
}

/* With the lock: records in the pool, a new slab if it has none. */
static bool pool_filled(void)
{
	struct slab *slab;
	unsigned i;

	if (pool.free)
		return true;
	slab = calloc(1, sizeof *slab);
	if (!slab)
		return false;
	slab->next = pool.slabs;
	pool.slabs = slab;
	__atomic_store_n(&pool.records, pool.records + SLAB, __ATOMIC_RELAXED);
	for (i = 0; i < SLAB; i++) {
		slab->r[i].fd_next = pool.free;
		pool.free = &slab->r[i];
	}
	return true;
}

struct aio__request *aio__request_get(void)
{
	struct aio__request *r = mine.free;

	if (!r) {
		bool keep = may_keep();

		pthread_mutex_lock(&pool.lock);
		if (pool_filled())
			mine.n += move(&pool.free, &mine.free, keep ? MOVE : 1);
		pthread_mutex_unlock(&pool.lock);
		r = mine.free;
		if (!r)
			return NULL;
	}
	mine.free = r->fd_next;
	mine.n--;
	memset(r, 0, sizeof *r);
	r->refs = 1;
	return r;
}

void aio__request_ref(struct aio__request *r)
{
	__atomic_fetch_add(&r->refs, 1, __ATOMIC_RELAXED);
}

void aio__request_put(struct aio__request *r)
{
	if (__atomic_sub_fetch(&r->refs, 1, __ATOMIC_ACQ_REL))
		return;
	r->fd_next = mine.free;
	mine.free = r;
	if (++mine.n <= KEEP && may_keep())
		return;
	pthread_mutex_lock(&pool.lock);
	mine.n -= move(&mine.free, &pool.free, mine.n > KEEP ? MOVE : mine.n);
	pthread_mutex_unlock(&pool.lock);
}

size_t aio__request_records(void)
{
	return __atomic_load_n(&pool.records, __ATOMIC_RELAXED);
}

/*
 * The child of a fork owns none of the parent's requests: every record of
 * its copy of the slabs is free, in the pool (the forking thread's own
 * ones too; the other threads are not in the child).
 */
void aio__request_fork_child(void)
{
	struct slab *s;
	int i;

	pthread_mutex_init(&pool.lock, NULL);
	pool.free = NULL;
	for (s = pool.slabs; s; s = s->next)
		for (i = 0; i < SLAB; i++) {
			s->r[i].refs = 0;
			s->r[i].fd_next = pool.free;
			pool.free = &s->r[i];
		}
	mine.free = NULL;
	mine.n = 0;
}

/* With the lock: is every record free, in the pool or kept by a thread? */
static bool none_pending(void)
{
	const struct slab *s;
	int i;

	for (s = pool.slabs; s; s = s->next)
		for (i = 0; i < SLAB; i++)
			if (__atomic_load_n(&s->r[i].refs, __ATOMIC_ACQUIRE))
				return false;
	return true;
}

/*
 * Unloading the library: the key goes, as its destructor's code does; the
 * slabs go too, unless a request is still pending (a program exiting with
 * I/O in flight): a worker coming back from its system call must still
 * find the record.  The threads' kept records go with the slabs: their
 * lists live in this library's TLS, which a later load starts afresh.
 */
void aio__request_unload(void)
{
	pthread_mutex_lock(&pool.lock);
	__atomic_store_n(&pool.unloaded, true, __ATOMIC_RELAXED);
	if (pool.key_made)
		pthread_key_delete(pool.key);
	pool.key_made = false;
	if (none_pending()) {
		while (pool.slabs) {
			struct slab *s = pool.slabs;

			pool.slabs = s->next;
			free(s);
		}
		__atomic_store_n(&pool.records, 0, __ATOMIC_RELAXED);
		pool.free = NULL;
		mine.free = NULL;
		mine.n = 0;
	}
	pthread_mutex_unlock(&pool.lock);
}
