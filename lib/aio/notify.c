/*
 * Notification: SIGEV_NONE, SIGEV_SIGNAL (queued to the process, si_code
 * SI_ASYNCIO), SIGEV_THREAD_ID (queued to one thread), and SIGEV_THREAD,
 * whose functions run on a small pool of notification threads rather than
 * on a new thread each (or, with sigev_notify_attributes, on a thread
 * created with them, as POSIX asks).  rtaio's threads block every signal.
 */
#include <pthread.h>
#include <signal.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "internal.h"
#include "../asys/crew.h"

#define POOL_THREADS 4
#define POOL_IDLE_SEC 1
#define POOL_SPINS 1000	/* about 10 us of looking for more work before sleeping */

/*
 * pool.lock guards the pool.  Wake-ups are counted, as in the thread
 * backend: `idle` threads sleep unsignalled, `wakeups` signals are not
 * consumed yet, `running` threads are inside a program's function; the
 * others are looking for work, so a new notification wakes a thread only
 * if it outnumbers them.  A thread that has just run a function looks for
 * more for a moment before it sleeps: a stream of completions then costs
 * no wake-up at all.  head is also read without the lock, while spinning.
 */
static struct {
	pthread_mutex_t lock;
	pthread_cond_t wake;
	struct aio__notification *head, *tail;
	unsigned queued, threads, idle, wakeups, running;
	unsigned forks;		/* fork children this process descends from (call_function) */
	struct asys__crew crew;
} pool = { PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, NULL, NULL, 0, 0, 0, 0, 0, 0,
	   ASYS__CREW_INITIALIZER(&pool.lock) };

static void cpu_relax(void)
{
#if defined(__x86_64__) || defined(__i386__)
	__builtin_ia32_pause();
#elif defined(__aarch64__)
	__asm__ __volatile__("yield");
#endif
}

/* Without the lock: until a notification is queued, or for a while. */
static void look_for_work(void)
{
	int i;

	for (i = 0; i < POOL_SPINS && !__atomic_load_n(&pool.head, __ATOMIC_RELAXED); i++)
		cpu_relax();
}

/*
 * Signals a notification may use: not those glibc keeps for itself.  Signal
 * 0 sends nothing, as with glibc: a zeroed aiocb asks for SIGEV_SIGNAL (0)
 * with signal 0, and programs rely on that meaning "no notification".
 */
static bool usable_signal(int signo)
{
	return signo >= 0 && signo < _NSIG && (signo < 32 || signo >= SIGRTMIN);
}

int aio__sigevent_check(const struct sigevent *sev)
{
	switch (sev->sigev_notify) {
	case SIGEV_NONE:
		return 0;
	case SIGEV_SIGNAL:
		return usable_signal(sev->sigev_signo) ? 0 : -EINVAL;
	case SIGEV_THREAD_ID:
		return usable_signal(sev->sigev_signo) && sev->_sigev_un._tid > 0 ? 0 : -EINVAL;
	case SIGEV_THREAD:
		return sev->sigev_notify_function ? 0 : -EINVAL;
	default:
		return -EINVAL;
	}
}

static void queue_signal(const struct sigevent *sev)
{
	siginfo_t si;

	if (!sev->sigev_signo)
		return;
	memset(&si, 0, sizeof si);
	si.si_signo = sev->sigev_signo;
	si.si_code = SI_ASYNCIO;
	si.si_pid = getpid();
	si.si_uid = getuid();
	si.si_value = sev->sigev_value;
	if (sev->sigev_notify == SIGEV_THREAD_ID)
		syscall(SYS_rt_tgsigqueueinfo, si.si_pid, sev->_sigev_un._tid, si.si_signo, &si);
	else
		syscall(SYS_rt_sigqueueinfo, si.si_pid, si.si_signo, &si);
}

/*
 * The program's function; true if it forked and this thread goes on in the
 * child.  There it is the only thread, and nothing of rtaio's that it held
 * (the request's record, its place in the pool) is the child's any more:
 * the child starts clean.  So it ends there as a thread whose start
 * routine returned, touching nothing, as glibc's notification thread
 * would; the child ends with it unless it started threads of its own.
 */
static bool call_function(struct aio__notification *n)
{
	unsigned forks = __atomic_load_n(&pool.forks, __ATOMIC_RELAXED);

	n->sev.sigev_notify_function(n->sev.sigev_value);
	return __atomic_load_n(&pool.forks, __ATOMIC_RELAXED) != forks;
}

/* On the thread that completed the request: no start routine to return from. */
static void run(struct aio__notification *n)
{
	if (call_function(n))
		pthread_exit(NULL);
	n->release(n);
}

/*
 * On a pool thread: unloading does not wait for the program's function.
 * true if it forked (call_function).
 */
static bool run_away(struct aio__notification *n)
{
	asys__crew_away(&pool.crew);
	if (call_function(n))
		return true;
	asys__crew_back(&pool.crew);
	n->release(n);
	return false;
}

static void *pool_thread(struct asys__member *self)
{
	bool worked = false;

	pthread_mutex_lock(&pool.lock);
	for (;;) {
		struct aio__notification *n = asys__crew_stopping(&pool.crew) ? NULL : pool.head;
		struct timespec deadline;
		int rc;

		if (n) {
			__atomic_store_n(&pool.head, n->next, __ATOMIC_RELAXED);
			if (!pool.head)
				pool.tail = NULL;
			pool.queued--;
			pool.running++;
			pthread_mutex_unlock(&pool.lock);
			if (run_away(n))
				return NULL;
			pthread_mutex_lock(&pool.lock);
			pool.running--;
			worked = true;
			continue;
		}
		if (asys__crew_stopping(&pool.crew))
			break;
		if (worked) {
			worked = false;
			pthread_mutex_unlock(&pool.lock);
			look_for_work();
			pthread_mutex_lock(&pool.lock);
			continue;
		}
		clock_gettime(CLOCK_REALTIME, &deadline);
		deadline.tv_sec += POOL_IDLE_SEC;
		pool.idle++;
		rc = pthread_cond_timedwait(&pool.wake, &pool.lock, &deadline);
		if (pool.wakeups)
			pool.wakeups--;
		else
			pool.idle--;
		if (rc == ETIMEDOUT && !pool.head)
			break;
	}
	pool.threads--;
	asys__crew_leave(&pool.crew, self);
	pthread_mutex_unlock(&pool.lock);
	return NULL;
}

/*
 * Unloading the library, or exiting: dismiss the notification threads and
 * join them, but for those inside a program's function.  From then on a
 * late notification runs on the thread that completes its request.
 */
void aio__notify_unload(void)
{
	pthread_mutex_lock(&pool.lock);
	pthread_cond_broadcast(&pool.wake);
	asys__crew_dismiss(&pool.crew, &pool.threads);
	pthread_mutex_unlock(&pool.lock);
}

static void *attr_thread(void *arg)
{
	struct aio__notification *n = arg;

	if (!call_function(n))
		n->release(n);
	return NULL;
}

/*
 * A thread made with the program's sigev_notify_attributes, as POSIX asks,
 * with every signal blocked; 0 or an error number.
 */
static int spawn_with(const pthread_attr_t *attr, struct aio__notification *n)
{
	sigset_t all, old;
	pthread_t t;
	int err;

	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	err = pthread_create(&t, attr, attr_thread, n);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	return err;
}

static int start_pool_thread(void)
{
	asys__crew_reap(&pool.crew);
	return asys__crew_start(&pool.crew, pool_thread, "rtaio-notify", 0);
}

static void queue_thread(struct aio__notification *n)
{
	bool signal = false;

	if (n->sev.sigev_notify_attributes &&
	    spawn_with(n->sev.sigev_notify_attributes, n) == 0)
		return;
	pthread_mutex_lock(&pool.lock);
	if (asys__crew_stopping(&pool.crew)) {
		pthread_mutex_unlock(&pool.lock);
		run(n);
		return;
	}
	if (pool.queued + 1 > pool.threads - pool.idle - pool.running) {
		if (pool.idle) {
			pool.idle--;
			pool.wakeups++;
			signal = true;
		} else if (pool.threads < POOL_THREADS && start_pool_thread() == 0) {
			pool.threads++;
		} else if (!pool.threads) {
			/* no notification thread at all, and none to be had: never drop it */
			pthread_mutex_unlock(&pool.lock);
			run(n);
			return;
		}
	}
	n->next = NULL;
	if (pool.tail)
		pool.tail->next = n;
	else
		__atomic_store_n(&pool.head, n, __ATOMIC_RELAXED);
	pool.tail = n;
	pool.queued++;
	pthread_mutex_unlock(&pool.lock);
	/* after the unlock: the woken thread does not wait for the lock */
	if (signal)
		pthread_cond_signal(&pool.wake);
}

void aio__notify(struct aio__notification *n)
{
	switch (n->sev.sigev_notify) {
	case SIGEV_SIGNAL:
	case SIGEV_THREAD_ID:
		queue_signal(&n->sev);
		break;
	case SIGEV_THREAD:
		queue_thread(n);
		break;
	default:
		break;
	}
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
	pool.head = pool.tail = NULL;
	pool.queued = pool.threads = pool.idle = pool.wakeups = pool.running = 0;
	pool.forks++;	/* on the thread that forked, perhaps in a program's function */
	asys__crew_forget(&pool.crew);
	pthread_mutex_unlock(&pool.lock);	/* held since aio__notify_fork_prepare() */
}
