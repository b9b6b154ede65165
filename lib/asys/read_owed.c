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
 * A read that the device refused without waiting (RWF_NOWAIT: -EAGAIN) is
 * run again plainly by the reaper, as the thread backend would.
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
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "crew.h"
#include "engine.h"
#include "internal.h"
#include "ring.h"

#define WAIT_MAX 127	/* futex_waitv takes 128 words: the rings' tails and `gen` */
#define LOOK_NS 10000000	/* between looks at the rings held */

struct owed_ring {
	struct asys__ring ring;
	struct asys_call *calls[ASYS__READS_MAX];	/* by user_data */
	unsigned expected;	/* reads still in the kernel */
	unsigned *owner_out;	/* the owner's count of rings owed (its TLS) */
	bool unwoken;		/* all its reads done at the last look, no wake-up yet */
	bool watched;		/* its tail was a word of the reaper's last wait */
	struct owed_ring *next;
};

static struct {
	pthread_mutex_t lock;	/* guards all but `gen`'s value */
	pthread_cond_t finished;	/* an owner's count went down */
	struct owed_ring *rings;	/* handed over, not being reaped now */
	uint32_t gen;		/* bumped for each new ring and to stop: the reaper's futex */
	struct asys__crew crew;
	bool alive, stopping;
	unsigned long owed, unwoken;	/* reads taken; rings finished by a look (relaxed) */
} reaper = { PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, NULL, 0,
	     ASYS__CREW_INITIALIZER(&reaper.lock), false, false, 0, 0 };

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

/* Complete the calls whose completions the ring holds; the tail seen. */
unsigned asys__owed_reap(struct asys__ring *ring, struct asys_call *const calls[],
			 unsigned *expected)
{
	struct io_uring_cqe cqe[ASYS__READS_MAX + 1];
	unsigned i, n;

	while ((n = asys__ring_reap(ring, cqe, ASYS__READS_MAX + 1))) {
		for (i = 0; i < n; i++) {
			struct asys_call *call;
			long res = cqe[i].res;

			if (is_wake(&cqe[i]))
				continue;
			--*expected;
			call = calls[cqe[i].user_data];
			if (res == -EAGAIN)
				res = asys__execute(call);
			asys__finish(call, res);
		}
	}
	return *ring->cq_head;
}

static void close_finished(struct owed_ring *done)
{
	while (done) {
		struct owed_ring *o = done;

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
static bool wait_unreaped(struct owed_ring *o, unsigned *tail)
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

static void *reaper_thread(struct asys__member *self)
{
	struct futex_waitv w[WAIT_MAX + 1];
	struct timespec soon;
	struct __kernel_timespec soon64;	/* futex_waitv's, whatever time_t is */
	bool looking = false;	/* the last wait ended at its timeout */

	pthread_mutex_lock(&reaper.lock);
	for (;;) {
		struct owed_ring *mine = reaper.rings, *keep = NULL, *done = NULL, *o;
		uint32_t gen = __atomic_load_n(&reaper.gen, __ATOMIC_ACQUIRE);
		unsigned n = 0;
		bool more = false;

		if (reaper.stopping && !mine)
			break;
		reaper.rings = NULL;
		pthread_mutex_unlock(&reaper.lock);
		w[n++] = (struct futex_waitv){ gen, (uintptr_t)&reaper.gen,
					       FUTEX_32 | FUTEX_PRIVATE_FLAG, 0 };
		while (mine) {
			unsigned tail;

			o = mine;
			mine = o->next;
			if (!looking || !wait_unreaped(o, &tail)) {
				o->unwoken = false;
				tail = asys__owed_reap(&o->ring, o->calls, &o->expected);
			}
			if (!o->expected) {
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
		pthread_mutex_lock(&reaper.lock);
		for (o = done; o; o = o->next)
			--*o->owner_out;
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
		if (n > 1) {
			asys__deadline(&(struct timespec){ 0, more ? 1000000 : LOOK_NS }, &soon);
			soon64 = (struct __kernel_timespec){ soon.tv_sec, soon.tv_nsec };
		}
		looking = syscall(SYS_futex_waitv, w, n, 0, n > 1 ? &soon64 : NULL,
				  CLOCK_MONOTONIC) < 0 && errno == ETIMEDOUT;
		pthread_mutex_lock(&reaper.lock);
	}
	reaper.alive = false;
	asys__crew_leave(&reaper.crew, self);
	pthread_mutex_unlock(&reaper.lock);
	return NULL;
}

int asys__owed_take(const struct asys__ring *ring, struct asys_call *const calls[],
		    unsigned expected, unsigned *owner_out)
{
	struct owed_ring *o = malloc(sizeof *o);
	int err = 0;
	unsigned i;

	if (!o)
		return -ENOMEM;
	pthread_mutex_lock(&reaper.lock);
	asys__crew_reap(&reaper.crew);
	if (!reaper.alive && !reaper.stopping) {
		err = asys__crew_start(&reaper.crew, reaper_thread, "rtaio-reaper", 0);
		reaper.alive = !err;
	}
	if (!reaper.alive) {
		pthread_mutex_unlock(&reaper.lock);
		free(o);
		return err ? err : -ESHUTDOWN;
	}
	o->ring = *ring;
	for (i = 0; i < ASYS__READS_MAX; i++)
		o->calls[i] = calls[i];
	o->expected = expected;
	o->owner_out = owner_out;
	o->unwoken = o->watched = false;
	__atomic_fetch_add(&reaper.owed, expected, __ATOMIC_RELAXED);
	++*owner_out;
	o->next = reaper.rings;
	reaper.rings = o;
	pthread_mutex_unlock(&reaper.lock);
	poke();
	return 0;
}

void asys__owed_wait(const unsigned *owner_out)
{
	pthread_mutex_lock(&reaper.lock);
	while (*owner_out)
		pthread_cond_wait(&reaper.finished, &reaper.lock);
	pthread_mutex_unlock(&reaper.lock);
}

void asys__owed_stats(unsigned long *owed, unsigned long *unwoken)
{
	*owed = __atomic_load_n(&reaper.owed, __ATOMIC_RELAXED);
	*unwoken = __atomic_load_n(&reaper.unwoken, __ATOMIC_RELAXED);
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
	struct owed_ring *all = reaper.rings;

	reaper.rings = NULL;
	reaper.alive = false;
	reaper.gen = 0;
	reaper.owed = reaper.unwoken = 0;
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
