/*
 * SIGEV_THREAD: each function runs as if on a newly created detached
 * thread, as POSIX asks, but on a pooled thread when one is idle, which is
 * where the speed comes from.
 *
 * - No cap on running functions: a notification that finds no thread
 *   looking for work (idle, or just done with a function) starts a new one
 *   at once, so no notification ever waits for a function to return (a
 *   function may wait for a later notification's).  Only the idle threads
 *   kept are bounded (IDLE_MAX, and IDLE_SEC each).
 * - A function starts with cancellation enabled and deferred and an empty
 *   signal mask; an idle thread blocks every signal (a process-directed
 *   signal never lands on it) and cannot be cancelled in rtaio's code.
 * - A function that ends its thread (pthread_exit, cancellation) ends it as
 *   a created thread's would end: a cleanup handler releases its record and
 *   accounts for the thread.
 * - Pooled threads are detached and never joined (a function's
 *   pthread_detach(pthread_self()) gets EINVAL, as on a created thread).
 *   Unloading the library waits for the idle ones to leave through the
 *   pool's condition variable, then for their kernel threads to be gone
 *   (tgkill finds no such thread), not for those inside a function.
 * - With sigev_notify_attributes, a thread is created with them for that
 *   notification alone, as POSIX asks; with RTAIO_SIGEV_THREAD=spawn, a
 *   detached thread for every notification, as glibc does.
 * - What a function changes of its thread's name, scheduling policy and
 *   priority, nice value and CPU affinity does not reach the next function:
 *   after each function the thread compares them with what it had when it
 *   started (still_fresh()), puts its name back, and leaves the pool if
 *   anything else differs.
 * - No thread to be had at all: the notification waits in the queue; it
 *   never runs on the thread that completed the request.  A delayed call
 *   in the engine tries again by itself, sooner if a thread finishes its
 *   function or another notification comes (struct retry).
 */
#include <pthread.h>
#include <signal.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "internal.h"
#include "stats.h"

#define IDLE_MAX 16		/* idle threads kept; more leave after their function */
#define IDLE_SEC 1		/* an idle thread leaves after that long */
#define SPIN_NSEC 10000		/* looking for more work before sleeping */
#define SPINS_PER_LOOK 16	/* pauses between looks at the clock */
#define LEFT_TIDS 128		/* threads that left lately, which unloading waits for */
#define GRACE_NSEC 100000000L	/* unloading: for functions about to return, and exits */

#define NAME "rtaio-notify"	/* what pooled threads show, in functions too */
#define RETRY_FIRST_MSEC 1	/* no thread to be had: first try again after that */
#define RETRY_MAX_MSEC 100	/* and doubling up to that */

/*
 * The kernel's struct sched_attr (SCHED_ATTR_SIZE_VER1), for
 * sched_getattr(2): <linux/sched/types.h> clashes with the struct that
 * glibc 2.41's <sched.h> declares.  One call gives the policy, the
 * priority and the nice value.
 */
struct sched_state {
	uint32_t size;
	uint32_t policy;
	uint64_t flags;
	int32_t nice;
	uint32_t priority;
	uint64_t runtime, deadline, period;
	uint32_t util_min, util_max;
};

/*
 * The kernel's CPU masks are as long as the CPUs it can have (rounded up
 * to a long), up to 8192 CPUs: more than a cpu_set_t holds, which
 * sched_getaffinity() would refuse on such a machine.
 */
#define CPU_MASK_MAX (8192 / 8)

/* What a function may change of its thread and a new thread would not have. */
struct thread_state {
	struct sched_state sched;
	long cpus_len;		/* bytes of cpus the kernel filled in */
	unsigned char cpus[CPU_MASK_MAX];
};

/* A pooled thread's record, on its own stack. */
struct helper {
	struct aio__notification *work;	/* its function's */
	bool called;		/* the function has started (else: its thread was cancelled before) */
	unsigned forks;		/* pool.forks when its function started */
	pid_t tid;
	bool fresh_known;	/* fresh could be read */
	struct thread_state fresh;	/* as the thread started */
};

/*
 * pool.lock guards the pool.  Wake-ups are counted, as in the thread
 * backend: `idle` threads sleep unsignalled, `wakeups` signals are not
 * consumed yet, `running` threads are inside a program's function; the
 * others are looking for work.  A notification queued wakes a thread, or
 * starts one, whenever the queue outnumbers those looking: no queued
 * notification ever waits for a function to return.  A thread that has
 * just run a function looks for more for a moment before it sleeps: a
 * stream of completions then costs no wake-up at all.  One thread at a
 * time (`spinning`): the others sleep at once, as a dozen threads spinning
 * at the same time took a CPU that the submitter needed (aio-bench
 * sigev-thread spent a quarter of its CPU time in the spin).  head is also
 * read without the lock, while spinning.
 */
static struct {
	pthread_mutex_t lock;
	pthread_cond_t wake;
	pthread_cond_t gone;	/* a thread left (unloading waits for that) */
	struct aio__notification *head, *tail;
	unsigned queued, threads, idle, wakeups, running;
	bool spinning;		/* a thread looks for work without the lock */
	bool stopping;		/* the library is being unloaded */
	unsigned forks;		/* fork children this process descends from */
	pid_t left[LEFT_TIDS];	/* kernel thread IDs of threads that left, a ring */
	unsigned nleft;
} pool = { .lock = PTHREAD_MUTEX_INITIALIZER,
	   .wake = PTHREAD_COND_INITIALIZER,
	   .gone = PTHREAD_COND_INITIALIZER };

/*
 * Queued notifications that found no thread to be had try again by
 * themselves: a clock_nanosleep(2) call submitted to the engine, whose
 * done hook (retry_due) tries to start the threads missing, and if that
 * fails again submits the call again with twice the delay, up to
 * RETRY_MAX_MSEC.  Why a call in the engine: the thread that found no
 * thread (a worker, the ring thread, the program's own in aio_read or
 * aio_cancel) must never wait, and a timer would need a signal, which is
 * the program's, or a thread of its own, which cannot be had.  With
 * io_uring the sleep is a timeout in the ring, which takes no thread; on
 * the thread backend it takes one of the workers for calls that may block
 * (their count is apart from the file I/O workers', which it never holds
 * up), and only while a notification waits for a thread; a worker is a
 * small thread (its stack is a fraction of a notification thread's) and
 * often one is there already, idle.  If not even the call can be
 * submitted (no ring set up yet, no worker to be had), the notification
 * waits for a function to end or the next notification.
 * Guarded by pool.lock; the call is the engine's while armed.
 */
static struct {
	struct asys_call call;
	struct timespec delay;
	unsigned msec;		/* the next delay */
	bool armed;		/* the call is submitted, or about to be */
	bool stopped;		/* the library is being unloaded */
} retry = { .msec = RETRY_FIRST_MSEC };

static void cpu_relax(void)
{
#if defined(__x86_64__) || defined(__i386__)
	__builtin_ia32_pause();
#elif defined(__aarch64__)
	__asm__ __volatile__("yield");
#endif
}

static int64_t now_nsec(void)
{
	struct timespec ts;

	asys__now(&ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/*
 * Without the lock: until a notification is queued, or for SPIN_NSEC.  By
 * the clock, as a pause takes 25 ns on one CPU and a few on another.
 */
static void look_for_work(void)
{
	int64_t end = now_nsec() + SPIN_NSEC;
	int i;

	while (!__atomic_load_n(&pool.head, __ATOMIC_RELAXED)) {
		for (i = 0; i < SPINS_PER_LOOK; i++)
			cpu_relax();
		if (now_nsec() >= end)
			return;
	}
}

/* With the lock held: the thread's last act in the pool. */
static void leave(struct helper *self)
{
	pool.threads--;
	pool.left[pool.nleft++ % LEFT_TIDS] = self->tid;
	pthread_cond_broadcast(&pool.gone);
}

/*
 * Did the function fork, this thread going on in the child?  There it is
 * the only thread, and nothing of rtaio's that it held (the request's
 * record, its place in the pool) is the child's any more: the child
 * starts clean, and the thread ends touching nothing, as glibc's
 * notification thread would.
 */
static bool forked(const struct helper *self)
{
	return __atomic_load_n(&pool.forks, __ATOMIC_RELAXED) != self->forks;
}

/*
 * The thread ends in a program's function (pthread_exit, cancellation), as
 * a created thread's would; or it is cancelled just before one, by a
 * request that came while it was idle, which the function must not get:
 * that notification goes to another thread.
 */
static void function_ended_thread(void *arg)
{
	struct helper *self = arg;

	if (forked(self))
		return;
	if (!self->called)
		aio__notify_thread(self->work);
	else
		self->work->release(self->work);
	pthread_mutex_lock(&pool.lock);
	pool.running--;
	leave(self);
	pthread_mutex_unlock(&pool.lock);
}

/*
 * The program's function, in a new thread's state: cancellation enabled
 * and deferred, no signal blocked.  A cancellation request that comes
 * while no function runs acts before the next one, and one that comes
 * during a function but finds no cancellation point acts when it returns:
 * either way it ends the thread, and never reaches another function.
 * The signal mask is left as the function left it: the thread blocks
 * every signal once it finds no more work (block_signals()), and sets the
 * next function's mask itself, so that a stream of functions costs one
 * system call each for the mask, not two.  Meanwhile (the checks of
 * still_fresh() and taking the next notification, a few microseconds) a
 * signal that the function left unblocked can land on the thread, as on a
 * created thread that has just returned from its function and is exiting;
 * never while it looks for work or sleeps.  false if it forked (forked()).
 */
static bool call_function(struct helper *self, struct aio__notification *n)
{
	sigset_t none;

	self->work = n;
	self->called = false;
	self->forks = __atomic_load_n(&pool.forks, __ATOMIC_RELAXED);
	sigemptyset(&none);
	pthread_cleanup_push(function_ended_thread, self);
	pthread_setcanceltype(PTHREAD_CANCEL_DEFERRED, NULL);
	pthread_setcancelstate(PTHREAD_CANCEL_ENABLE, NULL);
	pthread_testcancel();
	self->called = true;
	pthread_sigmask(SIG_SETMASK, &none, NULL);
	n->function(n->value);
	pthread_setcanceltype(PTHREAD_CANCEL_DEFERRED, NULL);
	pthread_setcancelstate(PTHREAD_CANCEL_ENABLE, NULL);
	pthread_testcancel();
	pthread_setcancelstate(PTHREAD_CANCEL_DISABLE, NULL);
	pthread_cleanup_pop(0);
	if (forked(self))
		return false;
	n->release(n);
	return true;
}

/* With the lock held: the first queued notification, or NULL. */
static struct aio__notification *dequeue(void)
{
	struct aio__notification *n = pool.head;

	if (n) {
		__atomic_store_n(&pool.head, n->next, __ATOMIC_RELAXED);
		if (!pool.head)
			pool.tail = NULL;
		pool.queued--;
	}
	return n;
}

/* This thread's; false if it cannot be read. */
static bool read_thread_state(struct thread_state *s)
{
	memset(&s->sched, 0, sizeof s->sched);
	if (syscall(SYS_sched_getattr, 0, &s->sched, sizeof s->sched, 0) != 0)
		return false;
	s->cpus_len = syscall(SYS_sched_getaffinity, 0, sizeof s->cpus, s->cpus);
	return s->cpus_len > 0;
}

static bool same_thread_state(const struct thread_state *a, const struct thread_state *b)
{
	return !memcmp(&a->sched, &b->sched, sizeof a->sched) && a->cpus_len == b->cpus_len &&
	       !memcmp(a->cpus, b->cpus, (size_t)a->cpus_len);
}

/*
 * After a function: may the next one run on this thread, which is then as
 * it started?  A changed name is put back: one system call, and exact.  A
 * changed scheduling policy or priority, nice value or CPU affinity
 * retires the thread instead (the next notification gets a new one):
 * putting back a lower nice value, or SCHED_OTHER after SCHED_IDLE, takes
 * a privilege that the program may lack, and a new thread is as exact as
 * can be; programs that change these in every function are rare.  Three
 * system calls per function, and no cheaper way to tell exactly that
 * nothing changed.  Where a system call is as dear as on the 2-CPU VM of
 * bench/compare.sh (1.5 us), a stream of trivial functions that one
 * pooled thread kept up with now outruns it, and the submitter then
 * sleeps and wakes for each: aio-bench sigev-thread ran at a quarter to a
 * half of its rate without the check.
 */
static bool still_fresh(const struct helper *self)
{
	char name[16] = "";
	struct thread_state now;

	if (prctl(PR_GET_NAME, name) != 0 ||
	    (strcmp(name, NAME) && prctl(PR_SET_NAME, NAME) != 0))
		return false;
	return self->fresh_known && read_thread_state(&now) &&
	       same_thread_state(&now, &self->fresh);
}

/* No process-directed signal may land on a thread that waits for work. */
static void block_signals(void)
{
	sigset_t all;

	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, NULL);
}

static void *pool_thread(void *arg)
{
	struct helper self = { .tid = gettid() };
	bool worked = false;	/* a function ran last, in its own signal mask */

	(void)arg;
	/* cancellable only inside a program's function */
	pthread_setcancelstate(PTHREAD_CANCEL_DISABLE, NULL);
	prctl(PR_SET_NAME, NAME);
	/* unreadable (a seccomp filter, say): one function per thread */
	self.fresh_known = read_thread_state(&self.fresh);
	pthread_mutex_lock(&pool.lock);
	for (;;) {
		struct aio__notification *n = pool.stopping ? NULL : dequeue();
		struct timespec deadline;
		bool fresh;
		int rc;

		if (n) {
			pool.running++;
			pthread_mutex_unlock(&pool.lock);
			if (!call_function(&self, n))
				return NULL;
			fresh = still_fresh(&self);
			pthread_mutex_lock(&pool.lock);
			/*
			 * Retiring takes nothing from the queued notifications:
			 * they were not counting on a thread in a function.
			 */
			pool.running--;
			if (!fresh)
				break;
			worked = true;
			continue;
		}
		if (pool.stopping || pool.idle >= IDLE_MAX)
			break;
		if (worked) {	/* signals blocked, then a look for work, or one more */
			bool spin = !pool.spinning;

			worked = false;
			pool.spinning |= spin;
			pthread_mutex_unlock(&pool.lock);
			block_signals();
			if (spin)
				look_for_work();
			pthread_mutex_lock(&pool.lock);
			if (spin)
				pool.spinning = false;
			continue;
		}
		asys__deadline(&(struct timespec){ IDLE_SEC, 0 }, &deadline);
		pool.idle++;
		rc = pthread_cond_clockwait(&pool.wake, &pool.lock, CLOCK_MONOTONIC, &deadline);
		if (pool.wakeups)
			pool.wakeups--;
		else
			pool.idle--;
		if (rc == ETIMEDOUT && !pool.head)
			break;
	}
	leave(&self);
	pthread_mutex_unlock(&pool.lock);
	return NULL;
}

/*
 * A thread made with attr (the program's), or detached (attr NULL: the
 * pool's), with every signal blocked until its function runs; 0 or an
 * error number.
 */
static int create(const pthread_attr_t *attr, void *(*fn)(void *), void *arg)
{
	pthread_attr_t detached;
	sigset_t all, old;
	pthread_t t;
	int err;

	if (!attr) {
		if (pthread_attr_init(&detached))
			return EAGAIN;
		pthread_attr_setdetachstate(&detached, PTHREAD_CREATE_DETACHED);
	}
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	err = pthread_create(&t, attr ? attr : &detached, fn, arg);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (!attr)
		pthread_attr_destroy(&detached);
	if (!err)
		aio__stats_thread_started();
	return err;
}

/* With the lock held: a new pooled thread; false if none could be had. */
static bool start_thread(void)
{
	if (create(NULL, pool_thread, NULL))
		return false;
	pool.threads++;
	return true;
}

/* Ended by its function (pthread_exit, cancellation): only the record to release. */
static void spawned_thread_ended(void *arg)
{
	struct helper *self = arg;

	if (!forked(self))
		self->work->release(self->work);
}

/*
 * A thread of its own for one notification (the program's attributes, or
 * RTAIO_SIGEV_THREAD=spawn): nothing to account for, only the record to
 * release.
 */
/* aio__notification.created, for spawned_thread() */
enum { CREATED_NOT_YET, CREATED_WAITING, CREATED_YES };

static void *spawned_thread(void *arg)
{
	struct helper self = { .work = arg, .forks = __atomic_load_n(&pool.forks,
								     __ATOMIC_RELAXED) };
	uint32_t created = CREATED_NOT_YET;
	sigset_t none;

	/*
	 * The function may tell the program that the notification came, and
	 * the program may then destroy or reuse the attributes at once; but
	 * glibc's pthread_create still reads them after the thread has
	 * started (an assertion on their flags aborted the process under
	 * qemu-riscv64).  The function waits until pthread_create returned.
	 */
	__atomic_compare_exchange_n(&self.work->created, &created, CREATED_WAITING, false,
				    __ATOMIC_ACQUIRE, __ATOMIC_ACQUIRE);
	while (__atomic_load_n(&self.work->created, __ATOMIC_ACQUIRE) != CREATED_YES)
		asys__futex_wait(&self.work->created, CREATED_WAITING, NULL);
	prctl(PR_SET_NAME, NAME);	/* not the name of the thread that created it */
	sigemptyset(&none);
	pthread_cleanup_push(spawned_thread_ended, &self);
	pthread_sigmask(SIG_SETMASK, &none, NULL);
	self.work->function(self.work->value);
	pthread_cleanup_pop(0);
	if (!forked(&self))
		self.work->release(self.work);
	return NULL;
}

static void retry_due(struct asys_call *call);

/*
 * With the lock held: one thread looking for work per queued notification,
 * idle ones woken first.  Returns how many to signal after the unlock (the
 * woken thread then does not wait for the lock); *missing tells that a
 * thread could not be had, the retry then armed (true in *submit: the
 * caller submits it after the unlock).
 */
static unsigned staff_queue(bool *missing, bool *submit)
{
	unsigned signals = 0;

	*missing = *submit = false;
	while (pool.queued > pool.threads - pool.idle - pool.running) {
		if (pool.idle) {
			pool.idle--;
			pool.wakeups++;
			signals++;
		} else if (!start_thread()) {
			*missing = true;
			break;
		}
	}
	if (*missing && !retry.armed && !retry.stopped) {
		retry.armed = *submit = true;
		retry.delay.tv_sec = retry.msec / 1000;
		retry.delay.tv_nsec = (long)(retry.msec % 1000) * 1000000L;
		asys_prep(&retry.call, SYS_clock_nanosleep, CLOCK_MONOTONIC, 0,
			  (long)&retry.delay, 0, 0, 0);
		retry.call.done = retry_due;
	}
	return signals;
}

/* Without the lock: the call that staff_queue() armed, or signals to send. */
static void staffed(unsigned signals, bool submit)
{
	struct asys_call *call = &retry.call;

	while (signals--)
		pthread_cond_signal(&pool.wake);
	if (submit && asys_submit(&call, 1) < 0) {
		/* not even a worker to sleep on: the next notification tries */
		pthread_mutex_lock(&pool.lock);
		retry.armed = false;
		pthread_mutex_unlock(&pool.lock);
	}
}

/* The delay is over (or the call was cancelled, unloading): try again. */
static void retry_due(struct asys_call *call)
{
	unsigned signals = 0;
	bool missing = false, submit = false;

	(void)call;
	pthread_mutex_lock(&pool.lock);
	retry.armed = false;
	if (!pool.stopping && !retry.stopped) {
		retry.msec = retry.msec * 2 > RETRY_MAX_MSEC ? RETRY_MAX_MSEC : retry.msec * 2;
		signals = staff_queue(&missing, &submit);
		if (!missing)
			retry.msec = RETRY_FIRST_MSEC;
	}
	pthread_mutex_unlock(&pool.lock);
	staffed(signals, submit);
}

void aio__notify_thread(struct aio__notification *n)
{
	unsigned signals;
	bool missing, submit;

	/* failing that, a pooled thread, or the queue until a thread can be had */
	if (n->attributes || aio__spawn_notifications) {
		__atomic_store_n(&n->created, CREATED_NOT_YET, __ATOMIC_RELAXED);
		if (create(n->attributes, spawned_thread, n) == 0) {
			/*
			 * The thread may release n as soon as it sees
			 * CREATED_YES: a wake after that finds a word of the
			 * pool's records, whose waiters check it again.
			 */
			if (__atomic_exchange_n(&n->created, CREATED_YES, __ATOMIC_RELEASE) ==
			    CREATED_WAITING)
				asys__wake(&n->created);
			return;
		}
	}
	pthread_mutex_lock(&pool.lock);
	if (pool.stopping) {
		/* a request left pending across dlclose(): no thread may start now */
		pthread_mutex_unlock(&pool.lock);
		n->function(n->value);
		n->release(n);
		return;
	}
	n->next = NULL;
	if (pool.tail)
		pool.tail->next = n;
	else
		__atomic_store_n(&pool.head, n, __ATOMIC_RELAXED);
	pool.tail = n;
	pool.queued++;
	signals = staff_queue(&missing, &submit);
	pthread_mutex_unlock(&pool.lock);
	staffed(signals, submit);
}

/*
 * With the lock held, until the pooled threads outside a function are down
 * to none, then for a short grace for those in a function to come back
 * and leave.
 */
static void wait_threads_left(void)
{
	struct timespec grace;

	asys__deadline(&(struct timespec){ 0, GRACE_NSEC }, &grace);
	while (pool.threads) {
		if (pool.threads > pool.running)
			pthread_cond_wait(&pool.gone, &pool.lock);
		else if (pthread_cond_clockwait(&pool.gone, &pool.lock, CLOCK_MONOTONIC, &grace) ==
			 ETIMEDOUT)
			break;
	}
}

/*
 * A thread that left is still in this library's code until its start
 * routine has returned: wait (a short while at most: a thread ID may have
 * gone to a new thread meanwhile) until the kernel no longer knows it.
 */
static void wait_tids_gone(void)
{
	struct timespec end, now, pause = { 0, 100000 };
	pid_t pid = getpid();
	unsigned i;

	asys__deadline(&(struct timespec){ 0, GRACE_NSEC }, &end);
	for (i = 0; i < LEFT_TIDS && i < pool.nleft; i++) {
		while (pool.left[i] && syscall(SYS_tgkill, pid, pool.left[i], 0) == 0) {
			asys__now(&now);
			if (now.tv_sec > end.tv_sec ||
			    (now.tv_sec == end.tv_sec && now.tv_nsec >= end.tv_nsec))
				return;
			nanosleep(&pause, NULL);
		}
		pool.left[i] = 0;
	}
}

/*
 * Unloading the library, before the engine's workers are dismissed: the
 * retry may sleep on one of them, and runs this library's code until its
 * hook has returned.  Cancelled if it has not started, else waited for: RETRY_MAX_MSEC
 * at most.  At exit(), nothing is waited for.
 */
void aio__notify_stop_retry(void)
{
	bool armed;

	if (asys__exiting())
		return;
	pthread_mutex_lock(&pool.lock);
	retry.stopped = true;
	armed = retry.armed;
	pthread_mutex_unlock(&pool.lock);
	if (armed) {
		asys_cancel(&retry.call);
		asys_wait(&retry.call, NULL);
	}
}

/*
 * Unloading the library: dismiss the idle threads and wait until they
 * are gone, but not for those inside a program's function.  From then on
 * a late notification runs on the thread that completes its request.  At
 * exit(), nothing is waited for: the process ends with every thread.
 */
void aio__notify_unload(void)
{
	if (asys__exiting())
		return;
	pthread_mutex_lock(&pool.lock);
	pool.stopping = true;
	pthread_cond_broadcast(&pool.wake);
	wait_threads_left();
	wait_tids_gone();
	pthread_mutex_unlock(&pool.lock);
}

/* Held across fork: the child frees the records of the parent's threads. */
void aio__notify_fork_prepare(void)
{
	pthread_mutex_lock(&pool.lock);
}

void aio__notify_fork_parent(void)
{
	pthread_mutex_unlock(&pool.lock);
}

void aio__notify_fork_child(void)
{
	pthread_cond_init(&pool.wake, NULL);
	pthread_cond_init(&pool.gone, NULL);
	pool.head = pool.tail = NULL;
	pool.queued = pool.threads = pool.idle = pool.wakeups = pool.running = 0;
	pool.spinning = false;
	pool.nleft = 0;
	/* the parent's retry call is not the child's engine's */
	retry.armed = false;
	retry.msec = RETRY_FIRST_MSEC;
	pool.forks++;	/* on the thread that forked, perhaps in a program's function */
	pthread_mutex_unlock(&pool.lock);	/* held since aio__notify_fork_prepare() */
}
