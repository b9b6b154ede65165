/*
 * Reads at submission that the kernel runs on: a read that a thread put in
 * its own ring (read_now.c) and whose completion was not there when
 * io_uring_enter returned.  That is an O_DIRECT read (io_uring issues it to
 * the device and returns), on an fd that the layer above believed buffered:
 * an fd number closed and opened again with O_DIRECT, say.  Its submitter
 * must not wait for the device, so the read is "owed": its call is RUNNING,
 * and the ring, with nothing else in it, passes whole to the reaper thread,
 * which completes the calls as their completions arrive; the submitting
 * thread sets up a new ring for its next reads.
 *
 * The reaper sleeps on the rings' CQ tails (futex_waitv): the kernel posts
 * a completion without a futex wake, so the submitter puts after its reads
 * an IORING_OP_FUTEX_WAKE of the ring's CQ tail with IOSQE_IO_DRAIN, which
 * the kernel starts only once every earlier request of the ring has
 * completed (Linux 6.7), its completion posted.  The reaper waits with the
 * tail it last saw, so a wake that comes before it sleeps is not lost.  A
 * ring goes once its reads are done, the wake perhaps still to run: a
 * futex wake of a word no longer there is harmless.
 *
 * The kernel posts those completions through its owner thread (task work),
 * and a thread that exits has its ring's unfinished requests cancelled,
 * the wake among them.  So an owner thread does not exit (its key
 * destructor in read_now.c waits) until the reaper has finished its rings:
 * a wait for the device, at thread exit only.  At exit() nothing waits.
 *
 * A read that the device refused without waiting (RWF_NOWAIT: -EAGAIN: its
 * queue full, say) goes to the backend, which runs it plainly; the reaper
 * runs it itself only when the backend takes no call.
 *
 * The reaper does not stake a read's end on that one wake-up: Linux (6.16
 * at least) runs a drained request on an io_uring worker thread (io-wq) of
 * the submitting thread, and starts one on demand; when a signal arrives
 * as it does, it tries again 5 and 10 ms later, then gives up and cancels
 * the request (io-wq.c, WORKER_INIT_LIMIT).  Under a storm of signals
 * (aio-model's), a trace showed the FUTEX_WAKE run 10 ms after the read's
 * completion, or cancelled; 6 owed reads in 1,323 had no wake-up 20 ms
 * after their completion, and a cancelled one stayed EINPROGRESS for good.
 * So, while it holds rings, the reaper looks at them every LOOK_NS too.  A
 * ring whose reads have all completed, with its FUTEX_WAKE not run, seen
 * so at a look and still so at the next, is finished there; so is one
 * whose FUTEX_WAKE ran (or was cancelled) while the reaper slept on its
 * tail and did not wake it.  Both are counted (asys__stats): a wake-up
 * late or lost costs a look or two, not the read.  Completions seen at a
 * look while reads are still out are finished there too: their wake-up is
 * due only after the last.
 */
#include <limits.h>
#include <linux/futex.h>
#include <linux/time_types.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "crew.h"
#include "engine.h"
#include "internal.h"
#include "ring.h"

#define WAIT_MAX 127	/* futex_waitv takes 128 words: the rings' tails and `gen` */
#define LOOK_NS 10000000	/* between looks at the rings held */

#define KEPT_MAX 64	/* rings kept by their owners that the reaper watches */
#define IDLE_NS 1000000000	/* kept rings without reads this long: no more looks */

struct asys__owed_ring {
	struct asys__ring ring;
	/* by user_data; a kept ring's owner stores them as the reaper loads them */
	struct asys_call *calls[ASYS__READS_MAX];
	unsigned expected;	/* reads still in the kernel (atomic) */
	unsigned *owner_out;	/* the owner's count of its rings not finished (its TLS) */
	uint64_t free;		/* kept: its slots without a read, a bit each (atomic) */
	bool kept;		/* its owner sends reads to it, until it leaves */
	bool left;		/* kept: the owner has gone (atomic) */
	bool unwoken;		/* all its reads done at the last look, no wake-up yet */
	bool watched;		/* its tail was a word of the reaper's last wait */
	struct asys__owed_ring *next;
};

static struct {
	pthread_mutex_t lock;	/* guards all but `gen`'s value */
	pthread_cond_t finished;	/* an owner's count went down */
	struct asys__owed_ring *rings;	/* handed over, not being reaped now */
	uint32_t gen;		/* bumped for each new ring and to stop: the reaper's futex */
	struct asys__crew crew;
	bool alive, stopping;
	bool untimed;		/* the reaper sleeps with no look to come (atomic) */
	unsigned kept;		/* kept rings */
	unsigned long owed, unwoken;	/* reads taken; rings finished by a look (relaxed) */
	unsigned long direct;	/* reads sent to kept rings (relaxed) */
	unsigned long refused;	/* reads the device refused, run again (relaxed) */
} reaper = { PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, NULL, 0,
	     ASYS__CREW_INITIALIZER(&reaper.lock), false, false, false, 0, 0, 0, 0, 0 };

static void poke(void)
{
	__atomic_fetch_add(&reaper.gen, 1, __ATOMIC_RELEASE);
	asys__wake(&reaper.gen);
}

/* Is it the completion of the FUTEX_WAKE after the reads (read_now.c's user_data)? */
static bool is_wake(const struct io_uring_cqe *cqe)
{
	return cqe->user_data >= ASYS__READS_MAX;
}

/*
 * A read that the device refused without waiting goes to the backend: the
 * reaper would run reads one at a time, and a device whose queue is full
 * refuses many.  Run here if the backend takes none.
 */
static void run_refused(struct asys_call *call)
{
	__atomic_fetch_add(&reaper.refused, 1, __ATOMIC_RELAXED);
	asys__transition(call, ASYS_RUNNING, ASYS_QUEUED | ASYS__SUBMITTING);
	if (asys__engine.backend->submit(&call, 1) == 0)
		return;
	asys__transition(call, ASYS_QUEUED | ASYS__SUBMITTING, ASYS_RUNNING);
	asys__finish(call, asys__execute(call));
}

/*
 * Complete the calls whose completions the ring holds, giving their slots
 * back to `free` (a kept ring's); the tail seen.
 */
static unsigned reap(struct asys__ring *ring, struct asys_call *const calls[],
		     unsigned *expected, uint64_t *free)
{
	struct io_uring_cqe cqe[ASYS__READS_MAX + 1];
	unsigned i, n;

	while ((n = asys__ring_reap(ring, cqe, ASYS__READS_MAX + 1))) {
		for (i = 0; i < n; i++) {
			struct asys_call *call;
			long res = cqe[i].res;

			if (is_wake(&cqe[i]))
				continue;
			call = __atomic_load_n(&calls[cqe[i].user_data], __ATOMIC_ACQUIRE);
			if (free)
				__atomic_fetch_or(free, 1ull << cqe[i].user_data, __ATOMIC_RELEASE);
			__atomic_fetch_sub(expected, 1, __ATOMIC_RELAXED);
			if (res == -EAGAIN)
				run_refused(call);
			else
				asys__finish(call, res);
		}
	}
	return *ring->cq_head;
}

unsigned asys__owed_reap(struct asys__ring *ring, struct asys_call *const calls[],
			 unsigned *expected)
{
	return reap(ring, calls, expected, NULL);
}

static unsigned reap_ring(struct asys__owed_ring *o)
{
	return reap(&o->ring, o->calls, &o->expected, o->kept ? &o->free : NULL);
}

static void close_finished(struct asys__owed_ring *done)
{
	while (done) {
		struct asys__owed_ring *o = done;

		done = o->next;
		asys__ring_close(&o->ring);
		free(o);
	}
}

/* Has the ring's FUTEX_WAKE completed, among the completions not reaped? */
static bool wake_ran(const struct asys__ring *ring, unsigned head, unsigned tail)
{
	for (; head != tail; head++)
		if (is_wake(&ring->cqes[head & ring->cq_mask]))
			return true;
	return false;
}

/*
 * At a look (the last wait ended at its timeout, with no wake-up): true,
 * with the tail to wait for, to leave o unreaped, its reads all done and
 * their FUTEX_WAKE not run (it may be on its way); false to reap it now.
 * Counted: a ring found so at the last look already, and one whose
 * FUTEX_WAKE ran while the reaper slept on its tail (anything posted
 * before that sleep began would have ended it at once), both wake-ups
 * that never came.
 */
static bool wait_unreaped(struct asys__owed_ring *o, unsigned *tail)
{
	unsigned head = *o->ring.cq_head;
	bool ran;

	*tail = __atomic_load_n(o->ring.cq_tail, __ATOMIC_ACQUIRE);
	if (*tail - head < o->expected)
		return false;	/* reads still out: those done are finished now */
	ran = wake_ran(&o->ring, head, *tail);
	if (ran ? o->watched : o->unwoken) {
		__atomic_fetch_add(&reaper.unwoken, 1, __ATOMIC_RELAXED);
		return false;
	}
	if (ran)
		return false;	/* before the reaper slept on the ring: it woke nobody */
	o->unwoken = true;
	return true;
}

/*
 * Is o finished: its reads complete, and no more to come?  A kept ring's
 * `left` first: once it is seen, so is every read the owner sent.
 */
static bool finished(struct asys__owed_ring *o, bool stopping)
{
	bool more = o->kept && !__atomic_load_n(&o->left, __ATOMIC_ACQUIRE) && !stopping;

	return !more && !__atomic_load_n(&o->expected, __ATOMIC_ACQUIRE);
}

static uint64_t now_ns(void)
{
	struct timespec ts;

	asys__now(&ts);
	return (uint64_t)ts.tv_sec * 1000000000 + (uint64_t)ts.tv_nsec;
}

/*
 * Whether the next wait looks at the rings kept when it times out.  While
 * reads are out, and for IDLE_NS after, it does; then it sleeps until a
 * wake-up, and an owner that sends a read meanwhile wakes it
 * (asys__owed_sent): `untimed`, then the reads, each side's store before
 * its load of the other's.
 */
static bool timed(const struct asys__owed_ring *keep, uint64_t *busy_until)
{
	const struct asys__owed_ring *o;
	uint64_t now = now_ns();

	for (o = keep; o; o = o->next)
		if (__atomic_load_n(&o->expected, __ATOMIC_RELAXED))
			break;
	if (o)
		*busy_until = now + IDLE_NS;
	if (o || now < *busy_until)
		return true;
	__atomic_store_n(&reaper.untimed, true, __ATOMIC_SEQ_CST);
	for (o = keep; o; o = o->next)
		if (__atomic_load_n(&o->expected, __ATOMIC_SEQ_CST)) {
			__atomic_store_n(&reaper.untimed, false, __ATOMIC_RELAXED);
			return true;
		}
	return false;
}

static void *reaper_thread(struct asys__member *self)
{
	struct futex_waitv w[WAIT_MAX + 1];
	struct timespec soon;
	struct __kernel_timespec soon64;	/* futex_waitv's, whatever time_t is */
	bool looking = false;	/* the last wait ended at its timeout */
	uint64_t busy_until = 0;	/* looks go on until then with no read out */

	pthread_mutex_lock(&reaper.lock);
	for (;;) {
		struct asys__owed_ring *mine = reaper.rings, *keep = NULL, *done = NULL, *o;
		uint32_t gen = __atomic_load_n(&reaper.gen, __ATOMIC_ACQUIRE);
		bool stopping = reaper.stopping, more = false, look;
		unsigned n = 0;

		if (stopping && !mine)
			break;
		reaper.rings = NULL;
		pthread_mutex_unlock(&reaper.lock);
		w[n++] = (struct futex_waitv){ gen, (uintptr_t)&reaper.gen,
					       FUTEX_32 | FUTEX_PRIVATE_FLAG, 0 };
		while (mine) {
			unsigned tail;

			o = mine;
			mine = o->next;
			/* a kept ring's reads each have their own wake-up: never held back */
			if (o->kept || !looking || !wait_unreaped(o, &tail)) {
				o->unwoken = false;
				tail = reap_ring(o);
			}
			if (finished(o, stopping)) {
				o->next = done;
				done = o;
				continue;
			}
			o->next = keep;
			keep = o;
			o->watched = n <= WAIT_MAX;
			if (o->watched)
				w[n++] = (struct futex_waitv){ tail, (uintptr_t)o->ring.cq_tail,
							       FUTEX_32 | FUTEX_PRIVATE_FLAG, 0 };
			else
				more = true;
		}
		look = n > 1 && (more || timed(keep, &busy_until));
		pthread_mutex_lock(&reaper.lock);
		for (o = done; o; o = o->next) {
			--*o->owner_out;
			reaper.kept -= o->kept;
		}
		if (done)
			pthread_cond_broadcast(&reaper.finished);
		while (keep) {
			o = keep;
			keep = o->next;
			o->next = reaper.rings;
			reaper.rings = o;
		}
		pthread_mutex_unlock(&reaper.lock);
		close_finished(done);
		/* rings beyond what one wait takes are looked at every millisecond */
		if (look) {
			asys__deadline(&(struct timespec){ 0, more ? 1000000 : LOOK_NS }, &soon);
			soon64 = (struct __kernel_timespec){ soon.tv_sec, soon.tv_nsec };
		}
		looking = syscall(SYS_futex_waitv, w, n, 0, look ? &soon64 : NULL,
				  CLOCK_MONOTONIC) < 0 && errno == ETIMEDOUT;
		__atomic_store_n(&reaper.untimed, false, __ATOMIC_RELAXED);
		pthread_mutex_lock(&reaper.lock);
	}
	reaper.alive = false;
	asys__crew_leave(&reaper.crew, self);
	pthread_mutex_unlock(&reaper.lock);
	return NULL;
}

/* With the lock: the reaper runs, or -errno. */
static int start(void)
{
	int err = 0;

	asys__crew_reap(&reaper.crew);
	if (!reaper.alive && !reaper.stopping) {
		err = asys__crew_start(&reaper.crew, reaper_thread, "rtaio-reaper", 0);
		reaper.alive = !err;
	}
	return reaper.alive ? 0 : err ? err : -ESHUTDOWN;
}

/* With the lock: o joins the rings to reap. */
static void add(struct asys__owed_ring *o, unsigned *owner_out)
{
	o->owner_out = owner_out;
	o->unwoken = o->watched = false;
	++*owner_out;
	o->next = reaper.rings;
	reaper.rings = o;
}

int asys__owed_take(const struct asys__ring *ring, struct asys_call *const calls[],
		    unsigned expected, unsigned *owner_out)
{
	struct asys__owed_ring *o = malloc(sizeof *o);
	int err;
	unsigned i;

	if (!o)
		return -ENOMEM;
	pthread_mutex_lock(&reaper.lock);
	err = start();
	if (err) {
		pthread_mutex_unlock(&reaper.lock);
		free(o);
		return err;
	}
	o->ring = *ring;
	for (i = 0; i < ASYS__READS_MAX; i++)
		o->calls[i] = calls[i];
	o->expected = expected;
	o->kept = false;
	__atomic_fetch_add(&reaper.owed, expected, __ATOMIC_RELAXED);
	add(o, owner_out);
	pthread_mutex_unlock(&reaper.lock);
	poke();
	return 0;
}

struct asys__owed_ring *asys__owed_keep(const struct asys__ring *ring, unsigned *owner_out)
{
	struct asys__owed_ring *o = malloc(sizeof *o);

	if (!o)
		return NULL;
	pthread_mutex_lock(&reaper.lock);
	if (reaper.kept == KEPT_MAX || start()) {
		pthread_mutex_unlock(&reaper.lock);
		free(o);
		return NULL;
	}
	o->ring = *ring;
	memset(o->calls, 0, sizeof o->calls);
	o->expected = 0;
	o->free = ~0ull >> (64 - ASYS__READS_MAX);
	o->kept = true;
	o->left = false;
	reaper.kept++;
	add(o, owner_out);
	pthread_mutex_unlock(&reaper.lock);
	poke();
	return o;
}

struct asys__ring *asys__owed_ring_of(struct asys__owed_ring *o)
{
	return &o->ring;
}

unsigned asys__owed_room(const struct asys__owed_ring *o)
{
	return (unsigned)__builtin_popcountll(__atomic_load_n(&o->free, __ATOMIC_ACQUIRE));
}

unsigned asys__owed_slot(struct asys__owed_ring *o, struct asys_call *call)
{
	unsigned slot = (unsigned)__builtin_ctzll(__atomic_load_n(&o->free, __ATOMIC_ACQUIRE));

	__atomic_fetch_and(&o->free, ~(1ull << slot), __ATOMIC_RELAXED);
	__atomic_store_n(&o->calls[slot], call, __ATOMIC_RELEASE);
	/* before asys__owed_sent's look at `untimed` (see timed()) */
	__atomic_fetch_add(&o->expected, 1, __ATOMIC_SEQ_CST);
	__atomic_fetch_add(&reaper.direct, 1, __ATOMIC_RELAXED);
	return slot;
}

struct asys_call *asys__owed_unslot(struct asys__owed_ring *o, unsigned slot)
{
	struct asys_call *call = o->calls[slot];

	__atomic_fetch_or(&o->free, 1ull << slot, __ATOMIC_RELEASE);
	__atomic_fetch_sub(&o->expected, 1, __ATOMIC_RELAXED);
	return call;
}

void asys__owed_sent(void)
{
	if (__atomic_load_n(&reaper.untimed, __ATOMIC_SEQ_CST))
		poke();
}

void asys__owed_leave(struct asys__owed_ring *o)
{
	__atomic_store_n(&o->left, true, __ATOMIC_RELEASE);
	poke();
}

void asys__owed_wait(const unsigned *owner_out)
{
	pthread_mutex_lock(&reaper.lock);
	while (*owner_out)
		pthread_cond_wait(&reaper.finished, &reaper.lock);
	pthread_mutex_unlock(&reaper.lock);
}

void asys__owed_stats(unsigned long *owed, unsigned long *unwoken, unsigned long *direct,
		      unsigned long *refused)
{
	*refused = __atomic_load_n(&reaper.refused, __ATOMIC_RELAXED);
	*owed = __atomic_load_n(&reaper.owed, __ATOMIC_RELAXED);
	*unwoken = __atomic_load_n(&reaper.unwoken, __ATOMIC_RELAXED);
	*direct = __atomic_load_n(&reaper.direct, __ATOMIC_RELAXED);
}

void asys__owed_fork_prepare(void)
{
	pthread_mutex_lock(&reaper.lock);
	asys__crew_reap(&reaper.crew);
}

void asys__owed_fork_parent(void)
{
	pthread_mutex_unlock(&reaper.lock);
}

/* The child has no reaper, and its rings' reads are the parent's. */
void asys__owed_fork_child(void)
{
	struct asys__owed_ring *all = reaper.rings;

	reaper.rings = NULL;
	reaper.alive = false;
	reaper.gen = 0;
	reaper.untimed = false;
	reaper.kept = 0;
	reaper.owed = reaper.unwoken = reaper.direct = reaper.refused = 0;
	pthread_cond_init(&reaper.finished, NULL);
	asys__crew_forget(&reaper.crew);
	pthread_mutex_unlock(&reaper.lock);
	close_finished(all);
}

/*
 * Unloading: the reaper finishes the reads owed (the device ends them),
 * then leaves.  At exit() nothing is waited for.
 */
void asys__owed_unload(void)
{
	if (asys__exiting())
		return;
	pthread_mutex_lock(&reaper.lock);
	reaper.stopping = true;
	poke();
	while (reaper.alive)
		pthread_cond_wait(&reaper.crew.gone, &reaper.lock);
	asys__crew_reap(&reaper.crew);
	pthread_mutex_unlock(&reaper.lock);
}
