/*
 * Completion notification (sigevent) of aio_read/aio_write: SIGEV_NONE,
 * SIGEV_SIGNAL (siginfo, queueing, blocked signals), SIGEV_THREAD (value,
 * ordering after the status, thread, attributes, reused threads, and as if
 * each function ran on a newly created thread), SIGEV_THREAD_ID, and
 * sigevents rtaio refuses.
 *
 * Signals are taken with sigtimedwait() while blocked, so no handler races;
 * requests are kept pending with reads on an empty pipe; every wait has a
 * deadline, and nothing sleeps to synchronise.
 */
#include <aio.h>
#include <dlfcn.h>
#include <limits.h>
#include <pthread.h>
#include <semaphore.h>
#include <signal.h>
#include <stdbool.h>
#include <sys/resource.h>

#include "aioutil.h"

#define WAIT_MS 20000L
#define SIG_NOTE (SIGRTMIN + 4)
#define SIG_OTHER (SIGRTMIN + 5)

/* --- helpers --- */

static bool is_pending(int sig)
{
	sigset_t set;

	ck_assert_int_eq(sigpending(&set), 0);
	return sigismember(&set, sig) == 1;
}

/* Poll (1 ms steps) until sig is pending for this thread; false after ms. */
static bool wait_pending(int sig, long ms)
{
	double end = now_sec() + (double)ms / 1000.0;
	struct timespec step = ms_ts(1);

	while (!is_pending(sig)) {
		if (now_sec() > end)
			return false;
		nanosleep(&step, NULL);
	}
	return true;
}

static void signal_note(struct aiocb *cb, int sig, union sigval v)
{
	cb->aio_sigevent.sigev_notify = SIGEV_SIGNAL;
	cb->aio_sigevent.sigev_signo = sig;
	cb->aio_sigevent.sigev_value = v;
}

/*
 * SIGEV_THREAD bookkeeping: what each notification saw, written under
 * ev_lock; the test copies it out with seen_of().
 */
struct seen {
	int runs;
	union sigval value;
	int err;		/* aio_error() of its aiocb inside the function */
	ssize_t ret;		/* aio_return() */
	pid_t tid;
	size_t stack;		/* pthread_getattr_np: stack size */
	int detach;		/* pthread_getattr_np: detach state */
	bool attr_ok;
};

struct req {
	struct aiocb cb;
	char buf[64];
	struct seen live;	/* under ev_lock */
};

static pthread_mutex_t ev_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t ev_cond = PTHREAD_COND_INITIALIZER;
static unsigned long ev_total;

/* sival_ptr: the struct req */
static void on_done(union sigval v)
{
	struct req *q = v.sival_ptr;
	int err = aio_error(&q->cb);
	ssize_t ret = aio_return(&q->cb);

	pthread_mutex_lock(&ev_lock);
	q->live.runs++;
	q->live.value = v;
	q->live.err = err;
	q->live.ret = ret;
	q->live.tid = gettid();
	ev_total++;
	pthread_cond_broadcast(&ev_cond);
	pthread_mutex_unlock(&ev_lock);
}

/* Like on_done, and also reports the thread's attributes. */
static void on_done_attr(union sigval v)
{
	struct req *q = v.sival_ptr;
	pthread_attr_t attr;
	size_t stack = 0;
	int detach = -1;
	bool ok = pthread_getattr_np(pthread_self(), &attr) == 0;

	if (ok) {
		ok = pthread_attr_getstacksize(&attr, &stack) == 0 &&
		     pthread_attr_getdetachstate(&attr, &detach) == 0;
		pthread_attr_destroy(&attr);
	}
	pthread_mutex_lock(&ev_lock);
	q->live.stack = stack;
	q->live.detach = detach;
	q->live.attr_ok = ok;
	pthread_mutex_unlock(&ev_lock);
	on_done(v);
}

static void thread_note(struct req *q, void (*fn)(union sigval))
{
	q->cb.aio_sigevent.sigev_notify = SIGEV_THREAD;
	q->cb.aio_sigevent.sigev_notify_function = fn;
	q->cb.aio_sigevent.sigev_notify_attributes = NULL;
	q->cb.aio_sigevent.sigev_value.sival_ptr = q;
}

static bool wait_events(unsigned long target, long ms)
{
	struct timespec dl = deadline_rt(ms);
	bool ok = true;

	pthread_mutex_lock(&ev_lock);
	while (ok && ev_total < target)
		ok = pthread_cond_timedwait(&ev_cond, &ev_lock, &dl) == 0 || ev_total >= target;
	pthread_mutex_unlock(&ev_lock);
	return ok;
}

static unsigned long events(void)
{
	unsigned long n;

	pthread_mutex_lock(&ev_lock);
	n = ev_total;
	pthread_mutex_unlock(&ev_lock);
	return n;
}

static struct seen seen_of(struct req *q)
{
	struct seen s;

	pthread_mutex_lock(&ev_lock);
	s = q->live;
	pthread_mutex_unlock(&ev_lock);
	return s;
}

static void reset_events(void)
{
	pthread_mutex_lock(&ev_lock);
	ev_total = 0;
	pthread_mutex_unlock(&ev_lock);
}

static int a_pipe(int p[2])
{
	ck_assert_int_eq(pipe2(p, O_CLOEXEC), 0);
	return p[0];
}

static void close_pipe(int p[2])
{
	close(p[0]);
	close(p[1]);
}

/* --- SIGEV_NONE --- */

START_TEST(sigev_none_notifies_nothing)
{
	static struct req q, fence;
	int fd = pattern_file(4096);
	siginfo_t si;

	block_signal(SIG_NOTE);
	prep_aiocb(&q.cb, fd, q.buf, 64, 0);
	/* everything filled in but the method: none of it is used */
	q.cb.aio_sigevent.sigev_notify = SIGEV_NONE;
	q.cb.aio_sigevent.sigev_signo = SIG_NOTE;
	q.cb.aio_sigevent.sigev_notify_function = on_done;
	q.cb.aio_sigevent.sigev_value.sival_ptr = &q;
	submit_read(&q.cb);
	wait_final(&q.cb, WAIT_MS);
	assert_status(&q.cb, 0, 64);
	/* a later request's notification, then nothing else */
	prep_aiocb(&fence.cb, fd, fence.buf, 64, 64);
	thread_note(&fence, on_done);
	submit_read(&fence.cb);
	ck_assert(wait_events(1, WAIT_MS));
	ck_assert_int_eq(seen_of(&fence).runs, 1);
	ck_assert(!take_signal(SIG_NOTE, &si, 100));
	ck_assert_int_eq(seen_of(&q).runs, 0);
	ck_assert_int_eq(events(), 1);
	close(fd);
}
END_TEST

/* glibc: SIGEV_SIGNAL with signal 0 (a zeroed aiocb) sends nothing; programs rely on it. */
START_TEST(zeroed_sigevent_notifies_nothing)
{
	struct aiocb cb;
	char buf[8];
	int fd = pattern_file(4096);

	prep_aiocb(&cb, fd, buf, sizeof buf, 0);
	memset(&cb.aio_sigevent, 0, sizeof cb.aio_sigevent);	/* SIGEV_SIGNAL, signal 0 */
	ck_assert_int_eq(cb.aio_sigevent.sigev_notify, SIGEV_SIGNAL);
	submit_read(&cb);
	wait_final(&cb, WAIT_MS);
	assert_status(&cb, 0, 8);
	close(fd);
}
END_TEST

/* --- SIGEV_SIGNAL --- */

START_TEST(sigev_signal_siginfo)
{
	struct aiocb cb;
	char buf[4];
	int p[2], marker;
	siginfo_t si;

	block_signal(SIG_NOTE);
	prep_aiocb(&cb, a_pipe(p), buf, sizeof buf, 0);
	signal_note(&cb, SIG_NOTE, (union sigval){ .sival_ptr = &marker });
	submit_read(&cb);
	/* nothing before completion */
	ck_assert(!take_signal(SIG_NOTE, &si, 0));
	ck_assert_int_eq(write(p[1], "data", 4), 4);
	ck_assert(take_signal(SIG_NOTE, &si, WAIT_MS));
	/* the status is final before the signal is sent */
	assert_status(&cb, 0, 4);
	ck_assert_int_eq(si.si_signo, SIG_NOTE);
	ck_assert_int_eq(si.si_code, SI_ASYNCIO);
	ck_assert_int_eq(si.si_pid, getpid());
	ck_assert_int_eq(si.si_uid, getuid());
	ck_assert_ptr_eq(si.si_value.sival_ptr, &marker);
	ck_assert(!take_signal(SIG_NOTE, &si, 50));

	/* the same for a write, with an int value */
	prep_aiocb(&cb, p[1], "xy", 2, 0);
	signal_note(&cb, SIG_NOTE, (union sigval){ .sival_int = -77 });
	ck_assert_int_eq(aio_write(&cb), 0);
	ck_assert(take_signal(SIG_NOTE, &si, WAIT_MS));
	assert_status(&cb, 0, 2);
	ck_assert_int_eq(si.si_code, SI_ASYNCIO);
	ck_assert_int_eq(si.si_value.sival_int, -77);
	close_pipe(p);
}
END_TEST

/* A realtime signal is queued: N completions, N signals, each with its value. */
START_TEST(sigev_signal_queued)
{
	enum { N = 256 };
	struct aiocb *cb = calloc(N, sizeof *cb);
	char *buf = calloc(N, 16);
	bool *seen = calloc(N, sizeof *seen);
	int fd = pattern_file(N * 16), i, bad = -1;
	siginfo_t si;

	ck_assert(cb && buf && seen);
	block_signal(SIG_NOTE);
	for (i = 0; i < N; i++) {
		prep_aiocb(&cb[i], fd, buf + i * 16, 16, i * 16);
		signal_note(&cb[i], SIG_NOTE, (union sigval){ .sival_int = i });
		submit_read(&cb[i]);
	}
	for (i = 0; i < N; i++)
		wait_final(&cb[i], WAIT_MS);
	for (i = 0; i < N && bad < 0; i++) {
		int v;

		ck_assert_msg(take_signal(SIG_NOTE, &si, WAIT_MS), "%d of %d signals", i, N);
		v = si.si_value.sival_int;
		if (v < 0 || v >= N || seen[v] || si.si_code != SI_ASYNCIO)
			bad = v;
		else
			seen[v] = true;
	}
	ck_assert_msg(bad < 0, "unexpected or repeated signal value %d", bad);
	ck_assert(!take_signal(SIG_NOTE, &si, 50));
	free(cb);
	free(buf);
	free(seen);
	close(fd);
}
END_TEST

/* Blocked: the signal stays pending, and is delivered (once) when unblocked. */
static int handled;		/* atomic */
static siginfo_t handled_info;

static void on_signal(int sig, siginfo_t *si, void *ctx)
{
	(void)sig;
	(void)ctx;
	handled_info = *si;
	__atomic_fetch_add(&handled, 1, __ATOMIC_RELEASE);
}

START_TEST(blocked_signal_pending_until_unblocked)
{
	struct aiocb cb;
	struct sigaction sa;
	sigset_t set;
	char buf[4];
	int fd = pattern_file(4096);
	double end;

	memset(&sa, 0, sizeof sa);
	sa.sa_sigaction = on_signal;
	sa.sa_flags = SA_SIGINFO;
	sigemptyset(&sa.sa_mask);
	ck_assert_int_eq(sigaction(SIG_NOTE, &sa, NULL), 0);
	block_signal(SIG_NOTE);
	prep_aiocb(&cb, fd, buf, sizeof buf, 0);
	signal_note(&cb, SIG_NOTE, (union sigval){ .sival_int = 4711 });
	submit_read(&cb);
	wait_final(&cb, WAIT_MS);
	assert_status(&cb, 0, 4);
	ck_assert_msg(wait_pending(SIG_NOTE, WAIT_MS), "the notification never became pending");
	ck_assert_int_eq(__atomic_load_n(&handled, __ATOMIC_ACQUIRE), 0);
	sigemptyset(&set);
	sigaddset(&set, SIG_NOTE);
	ck_assert_int_eq(pthread_sigmask(SIG_UNBLOCK, &set, NULL), 0);
	end = now_sec() + 10;
	while (!__atomic_load_n(&handled, __ATOMIC_ACQUIRE)) {
		ck_assert_msg(now_sec() < end, "handler never ran");
		sched_yield();
	}
	ck_assert_int_eq(__atomic_load_n(&handled, __ATOMIC_ACQUIRE), 1);
	ck_assert_int_eq(handled_info.si_code, SI_ASYNCIO);
	ck_assert_int_eq(handled_info.si_value.sival_int, 4711);
	ck_assert(!is_pending(SIG_NOTE));
	close(fd);
}
END_TEST

/* --- SIGEV_THREAD --- */

START_TEST(sigev_thread_value_after_final)
{
	static struct req q;
	struct seen s;
	int p[2];

	prep_aiocb(&q.cb, a_pipe(p), q.buf, 8, 0);
	thread_note(&q, on_done);
	submit_read(&q.cb);
	ck_assert_int_eq(write(p[1], "abc", 3), 3);
	ck_assert(wait_events(1, WAIT_MS));
	s = seen_of(&q);
	ck_assert_int_eq(s.runs, 1);
	ck_assert_ptr_eq(s.value.sival_ptr, &q);
	/* the function ran once the status was final */
	ck_assert_int_eq(s.err, 0);
	ck_assert_int_eq(s.ret, 3);
	/* on a thread of its own, not the caller's */
	ck_assert_int_ne(s.tid, gettid());
	ck_assert_int_ne(s.tid, 0);
	close_pipe(p);
}
END_TEST

/* The notification comes from the snapshot taken at submission, not from the aiocb. */
START_TEST(sigev_thread_uses_submitted_sigevent)
{
	static struct req q, decoy;
	struct seen s;
	int p[2];

	block_signal(SIG_NOTE);
	prep_aiocb(&q.cb, a_pipe(p), q.buf, 8, 0);
	thread_note(&q, on_done);
	submit_read(&q.cb);
	/* rewrite the sigevent while the request is pending */
	q.cb.aio_sigevent.sigev_value.sival_ptr = &decoy;
	q.cb.aio_sigevent.sigev_notify = SIGEV_SIGNAL;
	q.cb.aio_sigevent.sigev_signo = SIG_NOTE;
	ck_assert_int_eq(write(p[1], "x", 1), 1);
	ck_assert(wait_events(1, WAIT_MS));
	s = seen_of(&q);
	ck_assert_int_eq(s.runs, 1);
	ck_assert_ptr_eq(s.value.sival_ptr, &q);
	ck_assert_int_eq(seen_of(&decoy).runs, 0);
	{
		siginfo_t si;

		ck_assert(!take_signal(SIG_NOTE, &si, 50));
	}
	close_pipe(p);
}
END_TEST

/* The aiocb may be freed as soon as the status is final (ASan would see a late read). */
static void on_done_count(union sigval v)
{
	pthread_mutex_lock(&ev_lock);
	if (v.sival_int == 1234)
		ev_total++;
	pthread_cond_broadcast(&ev_cond);
	pthread_mutex_unlock(&ev_lock);
}

START_TEST(aiocb_freed_after_completion)
{
	enum { N = 64 };
	int p[2], i;
	char buf[N];

	a_pipe(p);
	for (i = 0; i < N; i++) {
		struct aiocb *cb = malloc(sizeof *cb);

		ck_assert_ptr_nonnull(cb);
		prep_aiocb(cb, p[0], &buf[i], 1, 0);
		cb->aio_sigevent.sigev_notify = SIGEV_THREAD;
		cb->aio_sigevent.sigev_notify_function = on_done_count;
		cb->aio_sigevent.sigev_value.sival_int = 1234;
		submit_read(cb);
		ck_assert_int_eq(write(p[1], "z", 1), 1);
		wait_final(cb, WAIT_MS);
		ck_assert_int_eq(aio_return(cb), 1);
		memset(cb, 0xee, sizeof *cb);
		free(cb);
	}
	ck_assert_msg(wait_events(N, WAIT_MS), "%lu of %d notifications", events(), N);
	close_pipe(p);
}
END_TEST

static int compare_tid(const void *a, const void *b)
{
	pid_t x = *(const pid_t *)a, y = *(const pid_t *)b;

	return (x > y) - (x < y);
}

/*
 * Many SIGEV_THREAD notifications of short functions: they reuse a few
 * idle threads rather than create one each, and at most IDLE_KEPT idle
 * threads stay after the burst (notify_thread.c, IDLE_MAX).
 */
#define IDLE_KEPT 16
START_TEST(sigev_thread_many_reuse_threads)
{
	unsigned long n = scaled(10000), i, distinct = 0;
	struct req *q = calloc(n, sizeof *q);
	pid_t *tids = calloc(n, sizeof *tids);
	int fd = pattern_file(1 << 16), idle = 0;
	double end;
	unsigned long bad = n;

	ck_assert(q && tids);
	for (i = 0; i < n; i++) {
		prep_aiocb(&q[i].cb, fd, q[i].buf, 64, (off_t)((i * 64) % (1 << 16)));
		thread_note(&q[i], on_done);
		submit_read(&q[i].cb);
	}
	end = now_sec() + 120;
	while (!wait_events(n, 20))
		ck_assert_msg(now_sec() < end, "%lu of %lu notifications", events(), n);
	pthread_mutex_lock(&ev_lock);
	for (i = 0; i < n; i++) {
		if (bad == n && (q[i].live.runs != 1 || q[i].live.err != 0 ||
				 q[i].live.ret != 64 || q[i].live.tid == gettid()))
			bad = i;
		tids[i] = q[i].live.tid;
	}
	pthread_mutex_unlock(&ev_lock);
	ck_assert_msg(bad == n, "request %lu: notified %d times, saw %d/%zd", bad,
		      bad == n ? 0 : q[bad].live.runs, bad == n ? 0 : q[bad].live.err,
		      bad == n ? 0 : q[bad].live.ret);
	ck_assert_int_eq(events(), n);
	qsort(tids, n, sizeof *tids, compare_tid);
	for (i = 0; i < n; i++)
		distinct += !i || tids[i] != tids[i - 1];
	ck_assert_msg(distinct <= n / 4, "%lu threads for %lu notifications", distinct, n);
	end = now_sec() + 10;
	while ((idle = count_threads("rtaio-notify", 0)) > IDLE_KEPT && now_sec() < end)
		sched_yield();
	ck_assert_msg(idle <= IDLE_KEPT, "%d idle notification threads stay", idle);
	fprintf(stderr, "sigev_thread_many_reuse_threads: %lu notifications on %lu threads, "
		"%d stay idle\n", n, distinct, idle);
	free(tids);
	free(q);
	close(fd);
}
END_TEST

static sem_t first_running, second_ran, first_done;

static void wait_for_second(union sigval v)
{
	struct timespec t = deadline_rt(30000);

	(void)v;
	sem_post(&first_running);
	ck_assert_msg(sem_timedwait(&second_ran, &t) == 0,
		      "a notification waited behind a function that was running");
	sem_post(&first_done);
}

static void post_second(union sigval v)
{
	(void)v;
	sem_post(&second_ran);
}

/*
 * A function that runs for long (here: until the next notification has
 * run) does not hold up the notifications after it: they run on another
 * thread, whatever the pool's policy for waking threads.
 */
START_TEST(sigev_thread_not_held_up_by_running_function)
{
	int fd = pattern_file(4096), i;
	struct aiocb cb[2];
	char buf[2][16];
	void (*fn[2])(union sigval) = { wait_for_second, post_second };

	struct timespec t;

	ck_assert_int_eq(sem_init(&second_ran, 0, 0), 0);
	ck_assert_int_eq(sem_init(&first_done, 0, 0), 0);
	ck_assert_int_eq(sem_init(&first_running, 0, 0), 0);
	for (i = 0; i < 2; i++) {
		prep_aiocb(&cb[i], fd, buf[i], sizeof buf[i], 0);
		cb[i].aio_sigevent.sigev_notify = SIGEV_THREAD;
		cb[i].aio_sigevent.sigev_notify_function = fn[i];
		submit_read(&cb[i]);
		wait_final(&cb[i], 30000);
		if (i == 0) {	/* the second comes while the first function runs */
			t = deadline_rt(30000);
			ck_assert_int_eq(sem_timedwait(&first_running, &t), 0);
		}
	}
	for (i = 0; i < 2; i++)
		assert_status(&cb[i], 0, sizeof buf[i]);
	t = deadline_rt(60000);
	ck_assert_int_eq(sem_timedwait(&first_done, &t), 0);
	close(fd);
}
END_TEST

/* sigev_notify_attributes: the function runs on a thread made with them. */
START_TEST(sigev_thread_attributes)
{
	enum { N = 4 };
	static struct req q[N];
	const size_t stack = 1024 * 1024 + 256 * 1024;
	pthread_attr_t attr;
	int fd = pattern_file(4096), i;

	ck_assert_int_eq(pthread_attr_init(&attr), 0);
	ck_assert_int_eq(pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED), 0);
	ck_assert_int_eq(pthread_attr_setstacksize(&attr, stack), 0);
	for (i = 0; i < N; i++) {
		prep_aiocb(&q[i].cb, fd, q[i].buf, 16, i * 16);
		thread_note(&q[i], on_done_attr);
		q[i].cb.aio_sigevent.sigev_notify_attributes = &attr;
		submit_read(&q[i].cb);
	}
	ck_assert_msg(wait_events(N, WAIT_MS), "%lu of %d notifications", events(), N);
	for (i = 0; i < N; i++) {
		struct seen s = seen_of(&q[i]);

		ck_assert_int_eq(s.runs, 1);
		ck_assert(s.attr_ok);
		ck_assert_msg(s.stack == stack, "stack size %zu, asked for %zu", s.stack, stack);
		ck_assert_int_eq(s.detach, PTHREAD_CREATE_DETACHED);
		ck_assert_int_eq(s.err, 0);
		ck_assert_int_eq(s.ret, 16);
		ck_assert_int_ne(s.tid, gettid());
	}
	pthread_attr_destroy(&attr);
	close(fd);
}
END_TEST

/*
 * This program's pthread_create comes before libc's for librtaio.  When
 * slow_create is set it stays in it 300 ms after the thread was made, as
 * glibc's may (it reads the attributes after the clone), with in_create
 * set meanwhile.
 */
static int slow_create, in_create;

int pthread_create(pthread_t *t, const pthread_attr_t *attr, void *(*fn)(void *), void *arg)
{
	static int (*libc_create)(pthread_t *, const pthread_attr_t *, void *(*)(void *),
				  void *);
	bool slow = __atomic_load_n(&slow_create, __ATOMIC_ACQUIRE);
	int err;

	if (!libc_create)
		*(void **)&libc_create = dlsym(RTLD_NEXT, "pthread_create");
	if (slow)
		__atomic_store_n(&in_create, 1, __ATOMIC_RELEASE);
	err = libc_create(t, attr, fn, arg);
	if (slow) {
		struct timespec nap = ms_ts(300);

		nanosleep(&nap, NULL);
		__atomic_store_n(&in_create, 0, __ATOMIC_RELEASE);
	}
	return err;
}

static int create_done_seen = -1;

static void on_done_while_creating(union sigval v)
{
	__atomic_store_n(&create_done_seen, !__atomic_load_n(&in_create, __ATOMIC_ACQUIRE),
			 __ATOMIC_RELEASE);
	sem_post(v.sival_ptr);
}

/*
 * The function on a thread made with the program's attributes runs only
 * once pthread_create has returned: it may tell the program that the
 * notification came, and the program then destroys the attributes, or
 * reuses their memory, while pthread_create could still read them (an
 * abort in glibc's pthread_create under qemu-riscv64).
 */
START_TEST(sigev_thread_attributes_free_once_function_runs)
{
	static char buf[16];
	struct aiocb cb;
	pthread_attr_t attr;
	struct timespec t;
	sem_t done;
	int fd = pattern_file(4096);

	ck_assert_int_eq(sem_init(&done, 0, 0), 0);
	ck_assert_int_eq(pthread_attr_init(&attr), 0);
	ck_assert_int_eq(pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED), 0);
	prep_aiocb(&cb, fd, buf, sizeof buf, 0);
	cb.aio_sigevent.sigev_notify = SIGEV_THREAD;
	cb.aio_sigevent.sigev_notify_function = on_done_while_creating;
	cb.aio_sigevent.sigev_value.sival_ptr = &done;
	cb.aio_sigevent.sigev_notify_attributes = &attr;
	__atomic_store_n(&slow_create, 1, __ATOMIC_RELEASE);
	submit_read(&cb);
	t = deadline_rt(WAIT_MS);
	ck_assert_int_eq(sem_timedwait(&done, &t), 0);
	__atomic_store_n(&slow_create, 0, __ATOMIC_RELEASE);
	ck_assert_msg(__atomic_load_n(&create_done_seen, __ATOMIC_ACQUIRE) == 1,
		      "the function ran while pthread_create was still using the attributes");
	pthread_attr_destroy(&attr);
	sem_destroy(&done);
	close(fd);
}
END_TEST

/* A program that blocks every signal in every thread still gets its callbacks. */
START_TEST(sigev_thread_with_all_signals_blocked)
{
	enum { N = 32 };
	static struct req q[N];
	sigset_t all;
	int fd = pattern_file(4096), i;

	sigfillset(&all);
	ck_assert_int_eq(pthread_sigmask(SIG_SETMASK, &all, NULL), 0);
	for (i = 0; i < N; i++) {
		prep_aiocb(&q[i].cb, fd, q[i].buf, 32, i * 32);
		thread_note(&q[i], on_done);
		submit_read(&q[i].cb);
	}
	ck_assert_msg(wait_events(N, WAIT_MS), "%lu of %d notifications", events(), N);
	for (i = 0; i < N; i++) {
		struct seen s = seen_of(&q[i]);

		ck_assert_int_eq(s.runs, 1);
		ck_assert_int_eq(s.err, 0);
		ck_assert_int_eq(s.ret, 32);
	}
	close(fd);
}
END_TEST

/*
 * As if each function ran on a newly created thread (issue 15): functions
 * that wait for each other, block, end their threads or exit the process.
 * They count what they did in tallies; a function that blocks waits with a
 * deadline, so that a failing run ends.
 */
struct tally {
	pthread_mutex_t lock;
	pthread_cond_t cond;
	unsigned long n;
};

#define TALLY_INITIALIZER { PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, 0 }

static struct tally entered = TALLY_INITIALIZER, finished = TALLY_INITIALIZER,
		    gate = TALLY_INITIALIZER, unblocked = TALLY_INITIALIZER;

static void tally_add(struct tally *t)
{
	pthread_mutex_lock(&t->lock);
	t->n++;
	pthread_cond_broadcast(&t->cond);
	pthread_mutex_unlock(&t->lock);
}

/* Wait until t counts target; false after ms. */
static bool tally_reaches(struct tally *t, unsigned long target, long ms)
{
	struct timespec dl = deadline_rt(ms);
	bool ok = true;

	pthread_mutex_lock(&t->lock);
	while (ok && t->n < target)
		ok = pthread_cond_timedwait(&t->cond, &t->lock, &dl) == 0 || t->n >= target;
	pthread_mutex_unlock(&t->lock);
	return ok;
}

static unsigned long tally_of(struct tally *t)
{
	unsigned long n;

	pthread_mutex_lock(&t->lock);
	n = t->n;
	pthread_mutex_unlock(&t->lock);
	return n;
}

static void reset_tallies(void)
{
	entered.n = finished.n = gate.n = unblocked.n = 0;
}

/*
 * The loop tests run with pooled threads (_i 0) and with a new thread for
 * each notification (_i 1: RTAIO_SIGEV_THREAD=spawn), in the test's own
 * process before its first request.
 */
enum { POOLED, SPAWNED };

static void notification_threads(int mode)
{
	if (mode == SPAWNED)
		setenv("RTAIO_SIGEV_THREAD", "spawn", 1);
}

/* Submit a read of 16 bytes of fd whose SIGEV_THREAD function is fn(value). */
static void read_notify(struct aiocb *cb, int fd, char *buf, void (*fn)(union sigval),
			union sigval value)
{
	prep_aiocb(cb, fd, buf, 16, 0);
	cb->aio_sigevent.sigev_notify = SIGEV_THREAD;
	cb->aio_sigevent.sigev_notify_function = fn;
	cb->aio_sigevent.sigev_value = value;
	submit_read(cb);
}

static pthread_barrier_t barrier;

static void meet_at_barrier(union sigval v)
{
	(void)v;
	tally_add(&entered);
	pthread_barrier_wait(&barrier);
	tally_add(&finished);
}

/* Five functions meet at a five-way barrier: five run at once. */
START_TEST(sigev_thread_five_meet_at_barrier)
{
	enum { N = 5 };
	struct aiocb cb[N];
	char buf[N][16];
	int fd = pattern_file(4096), i;

	notification_threads(_i);
	ck_assert_int_eq(pthread_barrier_init(&barrier, NULL, N), 0);
	for (i = 0; i < N; i++)
		read_notify(&cb[i], fd, buf[i], meet_at_barrier, (union sigval){ .sival_int = i });
	ck_assert_msg(tally_reaches(&entered, N, WAIT_MS), "%lu of %d functions ran at once",
		      tally_of(&entered), N);
	ck_assert_msg(tally_reaches(&finished, N, WAIT_MS), "%lu of %d passed the barrier",
		      tally_of(&finished), N);
	close(fd);
}
END_TEST

/* Chains: the function of request A waits for that of a later request B. */
#define CHAINS 64
static sem_t chain_b_ran[CHAINS];
static int chains_timed_out;	/* atomic */

static void chain_a(union sigval v)
{
	struct timespec dl = deadline_rt(WAIT_MS);

	tally_add(&entered);
	while (sem_timedwait(&chain_b_ran[v.sival_int], &dl) != 0)
		if (errno != EINTR) {
			__atomic_fetch_add(&chains_timed_out, 1, __ATOMIC_RELAXED);
			break;
		}
	tally_add(&finished);
}

static void chain_b(union sigval v)
{
	sem_post(&chain_b_ran[v.sival_int]);
	tally_add(&finished);
}

START_TEST(sigev_thread_waits_for_later_notification)
{
	static struct aiocb a[CHAINS], b[CHAINS];
	static char buf[2][CHAINS][16];
	int fd = pattern_file(4096), i;

	notification_threads(_i);
	for (i = 0; i < CHAINS; i++) {
		ck_assert_int_eq(sem_init(&chain_b_ran[i], 0, 0), 0);
		read_notify(&a[i], fd, buf[0][i], chain_a, (union sigval){ .sival_int = i });
	}
	/* every A waits before any B is even submitted */
	ck_assert_msg(tally_reaches(&entered, CHAINS, WAIT_MS),
		      "%lu of %d functions A waiting at once", tally_of(&entered), CHAINS);
	for (i = 0; i < CHAINS; i++)
		read_notify(&b[i], fd, buf[1][i], chain_b, (union sigval){ .sival_int = i });
	ck_assert_msg(tally_reaches(&finished, 2 * CHAINS, WAIT_MS), "%lu of %d functions returned",
		      tally_of(&finished), 2 * CHAINS);
	ck_assert_int_eq(__atomic_load_n(&chains_timed_out, __ATOMIC_RELAXED), 0);
	close(fd);
}
END_TEST

/*
 * Blocks until the gate counts one (the test opens it), for longer than
 * the test waits for anything else; counts itself in `unblocked` after.
 */
static void block_at_gate(union sigval v)
{
	(void)v;
	tally_add(&entered);
	tally_reaches(&gate, 1, 3 * WAIT_MS);
	tally_add(&unblocked);
}

static void count_finished(union sigval v)
{
	(void)v;
	tally_add(&finished);
}

/* Start `n` functions that block at the gate, and wait until they all do. */
static void block_functions(int fd, struct aiocb *cb, char (*buf)[16], int n)
{
	int i;

	for (i = 0; i < n; i++)
		read_notify(&cb[i], fd, buf[i], block_at_gate, (union sigval){ .sival_int = i });
	ck_assert_msg(tally_reaches(&entered, (unsigned long)n, WAIT_MS),
		      "%lu of %d blocking functions started", tally_of(&entered), n);
}

/* Four functions block; fifty other notifications arrive meanwhile and run. */
START_TEST(sigev_thread_runs_while_four_block)
{
	enum { BLOCKED = 4, OTHERS = 50 };
	static struct aiocb cb[BLOCKED + OTHERS];
	static char buf[BLOCKED + OTHERS][16];
	int fd = pattern_file(4096), i;

	notification_threads(_i);
	block_functions(fd, cb, buf, BLOCKED);
	for (i = BLOCKED; i < BLOCKED + OTHERS; i++)
		read_notify(&cb[i], fd, buf[i], count_finished, (union sigval){ .sival_int = i });
	ck_assert_msg(tally_reaches(&finished, OTHERS, WAIT_MS),
		      "%lu of %d notifications ran while %d functions blocked",
		      tally_of(&finished), OTHERS, BLOCKED);
	/* and those still block */
	ck_assert_int_eq(tally_of(&entered), BLOCKED);
	ck_assert_int_eq(tally_of(&unblocked), 0);
	tally_add(&gate);
	ck_assert(tally_reaches(&unblocked, BLOCKED, WAIT_MS));
	close(fd);
}
END_TEST

static void exit_seven(union sigval v)
{
	(void)v;
	exit(7);
}

/*
 * exit(7) in a function while four others block: the process ends at once
 * with status 7 (exit() waits for no notification thread).
 */
START_TEST(sigev_thread_exit_while_others_block)
{
	enum { BLOCKED = 4 };
	static struct aiocb cb[BLOCKED + 1];
	static char buf[BLOCKED + 1][16];
	int fd = pattern_file(4096), status;
	double start;
	pid_t pid = fork();

	notification_threads(_i);
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		block_functions(fd, cb, buf, BLOCKED);
		read_notify(&cb[BLOCKED], fd, buf[BLOCKED], exit_seven, (union sigval){ 0 });
		tally_reaches(&gate, 1, WAIT_MS);	/* never opened: exit() ends it */
		_exit(1);
	}
	start = now_sec();
	status = reap_child(pid, 10000);
	ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 7, "child status %#x", status);
	ck_assert_msg(now_sec() - start < 5, "the child took %.1f s to exit", now_sec() - start);
	close(fd);
}
END_TEST

/*
 * Functions that end their threads, as created threads' could: with
 * pthread_exit, by cancelling themselves, or cancelled by another thread
 * while blocked.  Their records are released (LeakSanitizer) and fifty
 * later notifications all run.
 */
static pthread_t cancel_target[2];

static void close_pipe_cleanup(void *p)
{
	close_pipe(p);
}

static void end_own_thread(union sigval v)
{
	tally_add(&entered);
	switch (v.sival_int % 4) {
	case 0:
	case 1:
		pthread_exit(NULL);
	case 2:
		pthread_cancel(pthread_self());
		pthread_testcancel();
		break;
	default: {
		int p[2];
		char c;

		/* blocked in read(), a cancellation point, until the test cancels it */
		ck_assert_int_eq(pipe(p), 0);
		cancel_target[v.sival_int / 4] = pthread_self();
		pthread_cleanup_push(close_pipe_cleanup, p);
		tally_add(&gate);
		(void)!read(p[0], &c, 1);
		pthread_cleanup_pop(1);
		break;
	}
	}
	tally_add(&finished);	/* never reached */
}

START_TEST(sigev_thread_function_ends_its_thread)
{
	enum { ENDING = 8, LATER = 50 };
	static struct aiocb cb[ENDING + LATER];
	static char buf[ENDING + LATER][16];
	int fd = pattern_file(4096), i;

	notification_threads(_i);
	for (i = 0; i < ENDING; i++)
		read_notify(&cb[i], fd, buf[i], end_own_thread, (union sigval){ .sival_int = i });
	ck_assert_msg(tally_reaches(&gate, 2, WAIT_MS), "%lu of 2 functions blocked in read()",
		      tally_of(&gate));
	for (i = 0; i < 2; i++)
		ck_assert_int_eq(pthread_cancel(cancel_target[i]), 0);
	ck_assert_msg(tally_reaches(&entered, ENDING, WAIT_MS), "%lu of %d functions ran",
		      tally_of(&entered), ENDING);
	for (i = ENDING; i < ENDING + LATER; i++)
		read_notify(&cb[i], fd, buf[i], count_finished, (union sigval){ .sival_int = i });
	ck_assert_msg(tally_reaches(&finished, LATER, WAIT_MS),
		      "%lu of %d later notifications ran", tally_of(&finished), LATER);
	ck_assert_int_eq(tally_of(&finished), LATER);
	close(fd);
}
END_TEST

/* A function runs on a detached thread, which it cannot detach again. */
static int detach_state, detach_again;

static void report_detached(union sigval v)
{
	pthread_attr_t attr;
	int state = -1;

	(void)v;
	if (pthread_getattr_np(pthread_self(), &attr) == 0) {
		pthread_attr_getdetachstate(&attr, &state);
		pthread_attr_destroy(&attr);
	}
	detach_state = state;
	detach_again = pthread_detach(pthread_self());
	tally_add(&finished);
}

START_TEST(sigev_thread_runs_detached)
{
	enum { N = 8 };
	struct aiocb cb[N];
	char buf[N][16];
	int fd = pattern_file(4096), i;

	notification_threads(_i);
	for (i = 0; i < N; i++) {	/* one after the other: pooled threads are reused */
		read_notify(&cb[i], fd, buf[i], report_detached, (union sigval){ .sival_int = i });
		ck_assert(tally_reaches(&finished, (unsigned long)i + 1, WAIT_MS));
		ck_assert_msg(detach_state == PTHREAD_CREATE_DETACHED,
			      "notification %d: detach state %d", i, detach_state);
		ck_assert_msg(detach_again == EINVAL, "notification %d: pthread_detach: %s", i,
			      strerror(detach_again));
	}
	close(fd);
}
END_TEST

/*
 * Each function starts in a new thread's state, whatever the one before it
 * on the same thread left behind: cancellation enabled and deferred, no
 * signal blocked, rtaio's thread name, the process's scheduling, nice
 * value and CPU affinity.  Notifications run one after the other, so that
 * the pool would hand each to the thread of the one before.
 */
struct thread_state {
	int cancel_state, cancel_type;
	bool mask_empty;
	char name[16];
	int policy, priority, nice;
	cpu_set_t cpus;
	pid_t tid;
};

static void get_thread_state(struct thread_state *t)
{
	struct sched_param param;
	sigset_t mask;

	pthread_setcancelstate(PTHREAD_CANCEL_ENABLE, &t->cancel_state);
	pthread_setcancelstate(t->cancel_state, NULL);
	pthread_setcanceltype(PTHREAD_CANCEL_DEFERRED, &t->cancel_type);
	pthread_setcanceltype(t->cancel_type, NULL);
	pthread_sigmask(SIG_BLOCK, NULL, &mask);
	t->mask_empty = sigisemptyset(&mask);
	pthread_getname_np(pthread_self(), t->name, sizeof t->name);
	t->policy = sched_getscheduler(0);
	t->priority = sched_getparam(0, &param) == 0 ? param.sched_priority : -1;
	errno = 0;
	t->nice = getpriority(PRIO_PROCESS, (id_t)gettid());
	sched_getaffinity(0, sizeof t->cpus, &t->cpus);
	t->tid = gettid();
}

/* What a notification thread newly created by rtaio shows. */
static void fresh_thread_state(struct thread_state *t)
{
	get_thread_state(t);
	t->cancel_state = PTHREAD_CANCEL_ENABLE;
	t->cancel_type = PTHREAD_CANCEL_DEFERRED;
	t->mask_empty = true;
	strcpy(t->name, "rtaio-notify");
	ck_assert_int_eq(sched_getaffinity(getpid(), sizeof t->cpus, &t->cpus), 0);
}

/* What a function changes of its thread before it returns. */
enum spoil {
	SPOIL_NOTHING,
	SPOIL_CHEAP,		/* cancellation state and type, signal mask */
	SPOIL_NAME,
	SPOIL_NICE,		/* one up: lower priority, which needs no privilege */
	SPOIL_BATCH,		/* scheduling policy */
	SPOIL_IDLE,
	SPOIL_AFFINITY,		/* to the CPU it runs on */
};

#define ONE_BY_ONE_MAX 10
static enum spoil spoil_plan[ONE_BY_ONE_MAX];	/* by sival_int */
static bool spoiled[ONE_BY_ONE_MAX];		/* the change was made */
static struct thread_state seen_state[ONE_BY_ONE_MAX];

static bool set_policy(int policy)
{
	struct sched_param param = { 0 };

	return sched_setscheduler(0, policy, &param) == 0;
}

/* Report the state found, then leave another behind. */
static void spoil_state(union sigval v)
{
	struct thread_state *t = &seen_state[v.sival_int];
	bool *done = &spoiled[v.sival_int];
	sigset_t usr2;
	cpu_set_t one;

	get_thread_state(t);
	switch (spoil_plan[v.sival_int]) {
	case SPOIL_NOTHING:
		break;
	case SPOIL_CHEAP:
		*done = pthread_setcancelstate(PTHREAD_CANCEL_DISABLE, NULL) == 0 &&
			pthread_setcanceltype(PTHREAD_CANCEL_ASYNCHRONOUS, NULL) == 0;
		sigemptyset(&usr2);
		sigaddset(&usr2, SIGUSR2);
		*done = pthread_sigmask(SIG_BLOCK, &usr2, NULL) == 0 && *done;
		break;
	case SPOIL_NAME:
		*done = pthread_setname_np(pthread_self(), "spoiled") == 0;
		break;
	case SPOIL_NICE:
		*done = setpriority(PRIO_PROCESS, (id_t)gettid(), t->nice + 1) == 0;
		break;
	case SPOIL_BATCH:
		*done = set_policy(SCHED_BATCH);
		break;
	case SPOIL_IDLE:
		*done = set_policy(SCHED_IDLE);
		break;
	case SPOIL_AFFINITY:
		CPU_ZERO(&one);
		CPU_SET(sched_getcpu(), &one);
		*done = CPU_COUNT(&t->cpus) > 1 && sched_setaffinity(0, sizeof one, &one) == 0;
		break;
	}
	tally_add(&finished);
}

/* all: also name, scheduling, nice value and affinity */
static void assert_fresh_states(int n, bool all)
{
	struct thread_state fresh;
	int i;

	fresh_thread_state(&fresh);
	for (i = 0; i < n; i++) {
		const struct thread_state *t = &seen_state[i];

		ck_assert_msg(t->cancel_state == fresh.cancel_state &&
				      t->cancel_type == fresh.cancel_type,
			      "function %d: cancellation state %d, type %d", i, t->cancel_state,
			      t->cancel_type);
		ck_assert_msg(t->mask_empty, "function %d: signals blocked", i);
		if (!all)
			continue;
		ck_assert_msg(!strcmp(t->name, fresh.name), "function %d: name \"%s\", not \"%s\"",
			      i, t->name, fresh.name);
		ck_assert_msg(t->policy == fresh.policy && t->priority == fresh.priority,
			      "function %d: policy %d priority %d, not %d %d", i, t->policy,
			      t->priority, fresh.policy, fresh.priority);
		ck_assert_msg(t->nice == fresh.nice, "function %d: nice %d, not %d", i, t->nice,
			      fresh.nice);
		ck_assert_msg(CPU_EQUAL(&t->cpus, &fresh.cpus), "function %d: CPU affinity of %d CPUs",
			      i, CPU_COUNT(&t->cpus));
	}
}

/* Until thread tid sleeps (idle in the pool) or has ended. */
static void wait_idle_or_gone(pid_t tid)
{
	double end = now_sec() + WAIT_MS / 1000.0;
	char path[64];

	snprintf(path, sizeof path, "/proc/self/task/%d", (int)tid);
	while (access(path, F_OK) == 0 && !thread_asleep(tid, 1))
		ck_assert_msg(now_sec() < end, "thread %d neither sleeps nor ends", (int)tid);
}

/*
 * One notification at a time, each changing its thread as spoil_plan says;
 * how many ran on the thread of the one before.
 */
static int run_one_by_one(int n)
{
	int fd = pattern_file(4096), i, reused = 0;
	struct aiocb cb[ONE_BY_ONE_MAX];
	char buf[ONE_BY_ONE_MAX][16];

	ck_assert_int_le(n, ONE_BY_ONE_MAX);
	memset(spoiled, 0, sizeof spoiled);
	for (i = 0; i < n; i++) {
		read_notify(&cb[i], fd, buf[i], spoil_state, (union sigval){ .sival_int = i });
		ck_assert(tally_reaches(&finished, (unsigned long)i + 1, WAIT_MS));
		wait_idle_or_gone(seen_state[i].tid);	/* before the next */
		reused += i && seen_state[i].tid == seen_state[i - 1].tid;
	}
	close(fd);
	return reused;
}

/* Cancellation and signal mask: restored, and a pooled thread goes on. */
START_TEST(sigev_thread_state_restored_after_function)
{
	int reused, i;

	notification_threads(_i);
	for (i = 0; i < 8; i++)
		spoil_plan[i] = SPOIL_CHEAP;
	reused = run_one_by_one(8);
	assert_fresh_states(8, false);
	if (_i == POOLED)
		ck_assert_msg(reused > 0, "no thread was reused: nothing was restored");
}
END_TEST

/*
 * Name, scheduling policy, nice value, CPU affinity: a function changes
 * one, and the next function finds a new thread's (a pooled thread puts
 * its name back, and leaves the pool after any other change).  Functions
 * that change nothing come between: pooled threads are reused here, so
 * the test cannot pass with no thread ever reused.
 */
START_TEST(sigev_thread_sched_name_affinity_fresh)
{
	static const enum spoil plan[ONE_BY_ONE_MAX] = {
		SPOIL_NOTHING, SPOIL_NAME,    SPOIL_NICE,     SPOIL_NOTHING, SPOIL_BATCH,
		SPOIL_NOTHING, SPOIL_IDLE,    SPOIL_NOTHING,  SPOIL_AFFINITY, SPOIL_NOTHING,
	};
	cpu_set_t cpus;
	int reused, i;

	notification_threads(_i);
	memcpy(spoil_plan, plan, sizeof plan);
	ck_assert_int_eq(sched_getaffinity(getpid(), sizeof cpus, &cpus), 0);
	if (CPU_COUNT(&cpus) < 2) {
		fprintf(stderr, "the process may run on one CPU only: affinity not changed\n");
		spoil_plan[8] = SPOIL_NOTHING;
	}
	reused = run_one_by_one(ONE_BY_ONE_MAX);
	for (i = 0; i < ONE_BY_ONE_MAX; i++)
		ck_assert_msg(spoil_plan[i] == SPOIL_NOTHING || spoiled[i],
			      "function %d could not change its thread (plan %d)", i, spoil_plan[i]);
	assert_fresh_states(ONE_BY_ONE_MAX, true);
	if (_i == POOLED) {
		fprintf(stderr, "sigev_thread_sched_name_affinity_fresh: %d of %d functions ran on "
				"the thread of the one before\n", reused, ONE_BY_ONE_MAX - 1);
		ck_assert_msg(reused > 0, "no thread was reused: nothing was checked");
	}
}
END_TEST

/*
 * A stream of notifications, queued faster than they run: a pooled thread
 * takes the next one as soon as its function returns, without going idle
 * in between, and each function blocks SIGUSR2 and disables cancellation
 * before it returns.  Every function still starts with no signal blocked
 * and cancellation enabled, and threads did run functions back to back.
 */
#define STREAM 400
static struct thread_state stream_state[STREAM];

static void spoil_cheaply(union sigval v)
{
	sigset_t usr2;

	get_thread_state(&stream_state[v.sival_int]);
	sigemptyset(&usr2);
	sigaddset(&usr2, SIGUSR2);
	pthread_sigmask(SIG_BLOCK, &usr2, NULL);
	pthread_setcancelstate(PTHREAD_CANCEL_DISABLE, NULL);
	tally_add(&finished);
}

START_TEST(sigev_thread_stream_starts_each_function_fresh)
{
	int fd = pattern_file(4096), i, j, again = 0;
	static struct aiocb cb[STREAM];
	static char buf[STREAM][16];

	for (i = 0; i < STREAM; i++)
		read_notify(&cb[i], fd, buf[i], spoil_cheaply, (union sigval){ .sival_int = i });
	ck_assert(tally_reaches(&finished, STREAM, WAIT_MS));
	for (i = 0; i < STREAM; i++) {
		ck_assert_msg(stream_state[i].mask_empty, "function %d: signals blocked", i);
		ck_assert_msg(stream_state[i].cancel_state == PTHREAD_CANCEL_ENABLE,
			      "function %d: cancellation disabled", i);
		for (j = 0; j < i && stream_state[j].tid != stream_state[i].tid; j++)
			;
		again += j < i;
	}
	fprintf(stderr, "sigev_thread_stream_starts_each_function_fresh: %d of %d functions ran "
			"on a thread that had run one before\n", again, STREAM);
	ck_assert_msg(again > 0, "no thread ran two functions: no stream was tested");
	close(fd);
}
END_TEST

/*
 * A function unblocks a signal and returns; the signal, sent to the process
 * later, waits for the program's sigtimedwait rather than killing the
 * process through the idle thread.
 */
static void unblock_sigusr1(union sigval v)
{
	sigset_t set;

	(void)v;
	sigemptyset(&set);
	sigaddset(&set, SIGUSR1);
	pthread_sigmask(SIG_UNBLOCK, &set, NULL);
	seen_state[0].tid = gettid();
	tally_add(&finished);
}

START_TEST(sigev_thread_idle_thread_takes_no_signal)
{
	int fd = pattern_file(4096);
	struct aiocb cb;
	char buf[16];
	siginfo_t si;

	notification_threads(_i);
	block_signal(SIGUSR1);
	read_notify(&cb, fd, buf, unblock_sigusr1, (union sigval){ 0 });
	ck_assert(tally_reaches(&finished, 1, WAIT_MS));
	wait_idle_or_gone(seen_state[0].tid);
	ck_assert_int_eq(kill(getpid(), SIGUSR1), 0);
	ck_assert_msg(take_signal(SIGUSR1, &si, WAIT_MS), "SIGUSR1 never came");
	ck_assert_int_eq(si.si_pid, getpid());
	close(fd);
}
END_TEST

/*
 * The program cancels the thread of a function that has returned (here:
 * idle in the pool): the next function is not cancelled.
 */
static pthread_t returned_thread;

static void note_self(union sigval v)
{
	(void)v;
	returned_thread = pthread_self();
	seen_state[0].tid = gettid();
	tally_add(&finished);
}

static void sleep_briefly(union sigval v)
{
	struct timespec t = ms_ts(1);

	(void)v;
	nanosleep(&t, NULL);	/* a cancellation point */
	tally_add(&finished);
}

START_TEST(sigev_thread_late_cancel_spares_next_function)
{
	int fd = pattern_file(4096);
	struct aiocb cb[2];
	char buf[2][16];

	read_notify(&cb[0], fd, buf[0], note_self, (union sigval){ 0 });
	ck_assert(tally_reaches(&finished, 1, WAIT_MS));
	ck_assert_msg(thread_asleep(seen_state[0].tid, WAIT_MS), "the thread never went idle");
	ck_assert_int_eq(pthread_cancel(returned_thread), 0);
	read_notify(&cb[1], fd, buf[1], sleep_briefly, (union sigval){ 0 });
	ck_assert_msg(tally_reaches(&finished, 2, WAIT_MS),
		      "the next function was cancelled (or never ran)");
	close(fd);
}
END_TEST

/*
 * sigev_notify_attributes that no thread can be created with (an affinity
 * to a CPU that does not exist): the function runs on a pooled thread,
 * which is detached, so the program cannot join a thread of rtaio's.
 */
static void *nothing(void *arg)
{
	return arg;
}

START_TEST(sigev_thread_unusable_attributes)
{
	int fd = pattern_file(4096);
	pthread_attr_t attr;
	cpu_set_t none_such;
	struct aiocb cb;
	pthread_t t;
	char buf[16];

	CPU_ZERO(&none_such);
	CPU_SET(CPU_SETSIZE - 1, &none_such);
	ck_assert_int_eq(pthread_attr_init(&attr), 0);
	ck_assert_int_eq(pthread_attr_setaffinity_np(&attr, sizeof none_such, &none_such), 0);
	if (pthread_create(&t, &attr, nothing, NULL) == 0) {
		pthread_join(t, NULL);
		fprintf(stderr, "a thread on CPU %d could be had: nothing to check\n",
			CPU_SETSIZE - 1);
		return;
	}
	prep_aiocb(&cb, fd, buf, 16, 0);
	cb.aio_sigevent.sigev_notify = SIGEV_THREAD;
	cb.aio_sigevent.sigev_notify_function = report_detached;
	cb.aio_sigevent.sigev_notify_attributes = &attr;
	submit_read(&cb);
	ck_assert_msg(tally_reaches(&finished, 1, WAIT_MS), "the function never ran");
	ck_assert_msg(detach_again == EINVAL, "pthread_detach in the function: %s",
		      strerror(detach_again));
	ck_assert_int_eq(detach_state, PTHREAD_CREATE_DETACHED);
	pthread_attr_destroy(&attr);
	close(fd);
}
END_TEST

#if !defined(ASAN_BUILD) && !defined(TSAN_BUILD)
/*
 * No thread to be had at all (no address space left for a stack): the
 * notification waits, neither lost nor run on the thread that completed
 * the request, until a thread can be had.  In a child, whose address space
 * the test can take away.  Not under sanitizers, whose shadow memory needs
 * the address space.
 */
#define RETRY_WAIT_MS 2000L	/* rtaio tries again at least every 100 ms */

static char note_thread_name[2][16];

static void note_thread(union sigval v)
{
	pthread_getname_np(pthread_self(), note_thread_name[v.sival_int], 16);
	tally_add(&finished);
}

/*
 * In the child: submit a read of fd whose function (note_thread, 0) finds
 * no thread to run on, *was being the address space limit to restore.  0,
 * or which step failed.
 */
static int notify_with_no_thread(int fd, struct aiocb *cb, char *buf, struct rlimit *was)
{
	struct rlimit tight;
	unsigned long vm_pages = 0;
	FILE *f;

	/*
	 * The engine's threads first, while they can be had (a worker, or the
	 * ring and its thread): a flush, which a read served at once from the
	 * page cache would not start.
	 */
	prep_aiocb(cb, fd, buf, 16, 0);
	if (aio_fsync(O_SYNC, cb))
		return 1;
	while (aio_error(cb) == EINPROGRESS)
		sched_yield();
	f = fopen("/proc/self/statm", "r");
	if (!f || fscanf(f, "%lu", &vm_pages) != 1)
		return 2;
	fclose(f);
	if (getrlimit(RLIMIT_AS, was))
		return 3;
	/* room for the heap to grow a little, none for a thread's stack */
	tight.rlim_cur = vm_pages * (unsigned long)sysconf(_SC_PAGESIZE) + (2 << 20);
	tight.rlim_max = was->rlim_max;
	if (setrlimit(RLIMIT_AS, &tight))
		return 4;
	read_notify(cb, fd, buf, note_thread, (union sigval){ .sival_int = 0 });
	while (aio_error(cb) == EINPROGRESS)
		sched_yield();
	if (tally_reaches(&finished, 1, 200))
		return 5;	/* it ran, on a thread that was there already */
	return 0;
}

/* The child's checks when the next notification comes: 0, or which one failed. */
static int no_thread_child(int fd)
{
	struct rlimit unlimited;
	struct aiocb cb[2];
	char buf[2][16];
	int failed = notify_with_no_thread(fd, &cb[0], buf[0], &unlimited);

	if (failed)
		return failed;
	if (setrlimit(RLIMIT_AS, &unlimited))
		return 6;
	read_notify(&cb[1], fd, buf[1], note_thread, (union sigval){ .sival_int = 1 });
	if (!tally_reaches(&finished, 2, WAIT_MS))
		return 7;	/* lost */
	if (strcmp(note_thread_name[0], "rtaio-notify") || strcmp(note_thread_name[1], "rtaio-notify"))
		return 8;
	return 0;
}

/* The child's checks with nothing else happening: 0, or which one failed. */
static int no_thread_retry_child(int fd)
{
	struct rlimit unlimited;
	struct aiocb cb;
	char buf[16];
	int failed = notify_with_no_thread(fd, &cb, buf, &unlimited);

	if (failed)
		return failed;
	if (setrlimit(RLIMIT_AS, &unlimited))
		return 6;
	/* no request, no notification, no function ending: rtaio must try by itself */
	if (!tally_reaches(&finished, 1, RETRY_WAIT_MS))
		return 7;
	if (strcmp(note_thread_name[0], "rtaio-notify"))
		return 8;
	return 0;
}

static void check_no_thread_child(int (*child)(int fd))
{
	int fd, status;
	pid_t pid;

	if (skip_under_qemu("RLIMIT_AS does not reach the kernel (no thread creation fails)"))
		return;
	fd = pattern_file(4096);
	pid = fork();

	ck_assert_int_ge(pid, 0);
	if (pid == 0)
		_exit(child(fd));
	status = reap_child(pid, WAIT_MS);
	ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 0,
		      "child status %#x (5: ran on an engine thread or the submitter's, 7: lost, "
		      "8: not on a notification thread)", status);
	close(fd);
}

/* ... until the next notification, which finds a thread for both. */
START_TEST(sigev_thread_waits_for_a_thread)
{
	check_no_thread_child(no_thread_child);
}
END_TEST

/* ... and with no other activity, runs soon after a thread can be had again. */
START_TEST(sigev_thread_retries_by_itself)
{
	check_no_thread_child(no_thread_retry_child);
}
END_TEST
#endif

/* --- SIGEV_THREAD_ID --- */

struct target {
	pid_t tid;		/* atomic: set when the thread is ready */
	int seen;		/* atomic: the signal is pending for the thread */
	int consume;		/* atomic: the test has looked, take it now */
	int got;		/* the signal taken */
	siginfo_t si;
};

static void *target_thread(void *arg)
{
	struct target *t = arg;
	double end = now_sec() + 20;
	struct timespec step = ms_ts(1);
	sigset_t set;

	/* SIG_NOTE is blocked here too: inherited from the test thread */
	__atomic_store_n(&t->tid, gettid(), __ATOMIC_RELEASE);
	for (;;) {
		if (sigpending(&set) != 0 || sigismember(&set, SIG_NOTE) == 1 || now_sec() > end)
			break;
		nanosleep(&step, NULL);
	}
	__atomic_store_n(&t->seen, 1, __ATOMIC_RELEASE);
	while (!__atomic_load_n(&t->consume, __ATOMIC_ACQUIRE) && now_sec() < end)
		nanosleep(&step, NULL);
	sigemptyset(&set);
	sigaddset(&set, SIG_NOTE);
	{
		struct timespec zero = { 0, 0 };

		t->got = sigtimedwait(&set, &t->si, &zero);
	}
	return NULL;
}

START_TEST(sigev_thread_id_targets_thread)
{
	struct target t;
	struct aiocb cb;
	pthread_t th;
	char buf[2];
	int p[2];
	double end;
	struct timespec step = ms_ts(1);

	memset(&t, 0, sizeof t);
	block_signal(SIG_NOTE);	/* in every thread: the target inherits it */
	ck_assert_int_eq(pthread_create(&th, NULL, target_thread, &t), 0);
	end = now_sec() + 10;
	while (!__atomic_load_n(&t.tid, __ATOMIC_ACQUIRE)) {
		ck_assert(now_sec() < end);
		nanosleep(&step, NULL);
	}
	prep_aiocb(&cb, a_pipe(p), buf, 2, 0);
	cb.aio_sigevent.sigev_notify = SIGEV_THREAD_ID;
	cb.aio_sigevent.sigev_signo = SIG_NOTE;
	cb.aio_sigevent.sigev_value.sival_int = 99;
	cb.aio_sigevent._sigev_un._tid = __atomic_load_n(&t.tid, __ATOMIC_ACQUIRE);
	submit_read(&cb);
	ck_assert_int_eq(__atomic_load_n(&t.seen, __ATOMIC_ACQUIRE), 0);
	ck_assert_int_eq(write(p[1], "hi", 2), 2);
	wait_final(&cb, WAIT_MS);
	assert_status(&cb, 0, 2);
	end = now_sec() + 20;
	while (!__atomic_load_n(&t.seen, __ATOMIC_ACQUIRE)) {
		ck_assert(now_sec() < end);
		nanosleep(&step, NULL);
	}
	/*
	 * Pending for the target thread: a process-directed signal would
	 * show in this thread's sigpending() as well.
	 */
	ck_assert_msg(!is_pending(SIG_NOTE), "SIGEV_THREAD_ID sent a process-directed signal");
	__atomic_store_n(&t.consume, 1, __ATOMIC_RELEASE);
	join_within(th, WAIT_MS);
	ck_assert_msg(t.got == SIG_NOTE, "the target thread never got the signal");
	ck_assert_int_eq(t.si.si_code, SI_ASYNCIO);
	ck_assert_int_eq(t.si.si_value.sival_int, 99);
	ck_assert_int_eq(t.si.si_pid, getpid());
	close_pipe(p);
}
END_TEST

/* --- sigevents refused, or whose delivery fails (glibc defect 5) --- */

START_TEST(unknown_sigev_notify_einval)
{
	const int methods[] = { 3, 5, 99, -1, INT_MAX };
	struct aiocb cb;
	char c, left;
	int p[2];
	unsigned i;

	a_pipe(p);
	ck_assert_int_eq(write(p[1], "k", 1), 1);
	for (i = 0; i < sizeof methods / sizeof methods[0]; i++) {
		prep_aiocb(&cb, p[0], &c, 1, 0);
		cb.aio_sigevent.sigev_notify = methods[i];
		cb.aio_sigevent.sigev_signo = SIG_NOTE;
		errno = 0;
		ck_assert_msg(aio_read(&cb) == -1 && errno == EINVAL,
			      "sigev_notify %d: aio_read did not fail with EINVAL (%s)", methods[i],
			      strerror(errno));
		errno = 0;
		ck_assert_msg(aio_write(&cb) == -1 && errno == EINVAL,
			      "sigev_notify %d: aio_write did not fail with EINVAL (%s)", methods[i],
			      strerror(errno));
	}
	/* SIGEV_THREAD without a function, SIGEV_THREAD_ID without a thread */
	prep_aiocb(&cb, p[0], &c, 1, 0);
	cb.aio_sigevent.sigev_notify = SIGEV_THREAD;
	errno = 0;
	ck_assert(aio_read(&cb) == -1 && errno == EINVAL);
	prep_aiocb(&cb, p[0], &c, 1, 0);
	cb.aio_sigevent.sigev_notify = SIGEV_THREAD_ID;
	cb.aio_sigevent.sigev_signo = SIG_NOTE;
	cb.aio_sigevent._sigev_un._tid = 0;
	errno = 0;
	ck_assert(aio_read(&cb) == -1 && errno == EINVAL);
	/* nothing ran */
	ck_assert_int_eq(fcntl(p[0], F_SETFL, O_NONBLOCK), 0);
	ck_assert_int_eq(read(p[0], &left, 1), 1);
	ck_assert_int_eq(left, 'k');
	close_pipe(p);
}
END_TEST

/*
 * glibc overwrites a successful result with -1 when the notification
 * fails.  A bad signal number is refused at submission, or the I/O result
 * stands; a SIGEV_THREAD_ID thread that has gone makes the delivery fail.
 */
static void *note_tid(void *arg)
{
	*(pid_t *)arg = gettid();
	return NULL;
}

START_TEST(regression_failed_notification_keeps_result)
{
	const int bad_signals[] = { _NSIG, _NSIG + 1, 1000, -5 };
	int fd = pattern_file(4096), rc;
	struct aiocb cb;
	char buf[32];
	pthread_t th;
	pid_t gone = 0;
	unsigned i;

	for (i = 0; i < sizeof bad_signals / sizeof bad_signals[0]; i++) {
		prep_aiocb(&cb, fd, buf, sizeof buf, 0);
		signal_note(&cb, bad_signals[i], (union sigval){ .sival_int = 1 });
		errno = 0;
		rc = aio_read(&cb);
		if (rc == 0) {
			wait_final(&cb, WAIT_MS);
			assert_status(&cb, 0, 32);
		} else {
			ck_assert_msg(errno == EINVAL, "signal %d: aio_read -1, errno %s",
				      bad_signals[i], strerror(errno));
		}
	}
	/* a thread that no longer exists */
	ck_assert_int_eq(pthread_create(&th, NULL, note_tid, &gone), 0);
	join_within(th, WAIT_MS);
	ck_assert_int_gt(gone, 0);
	prep_aiocb(&cb, fd, buf, sizeof buf, 100);
	cb.aio_sigevent.sigev_notify = SIGEV_THREAD_ID;
	cb.aio_sigevent.sigev_signo = SIG_NOTE;
	cb.aio_sigevent._sigev_un._tid = gone;
	errno = 0;
	rc = aio_read(&cb);
	if (rc == 0) {
		wait_final(&cb, WAIT_MS);
		assert_status(&cb, 0, 32);
	} else {
		ck_assert_int_eq(errno, EINVAL);
	}
	close(fd);
}
END_TEST

static Suite *make_suite(void)
{
	Suite *s = suite_create("aio_notify");
	TCase *tc;

	tc = tcase_create("none");
	tcase_set_timeout(tc, 60);
	tcase_add_checked_fixture(tc, reset_events, NULL);
	tcase_add_test(tc, sigev_none_notifies_nothing);
	tcase_add_test(tc, zeroed_sigevent_notifies_nothing);
	suite_add_tcase(s, tc);

	tc = tcase_create("signal");
	tcase_set_timeout(tc, 60);
	tcase_add_checked_fixture(tc, reset_events, NULL);
	tcase_add_test(tc, sigev_signal_siginfo);
	tcase_add_test(tc, sigev_signal_queued);
	tcase_add_test(tc, blocked_signal_pending_until_unblocked);
	suite_add_tcase(s, tc);

	tc = tcase_create("thread");
	tcase_set_timeout(tc, 180);
	tcase_add_checked_fixture(tc, reset_events, NULL);
	tcase_add_test(tc, sigev_thread_value_after_final);
	tcase_add_test(tc, sigev_thread_uses_submitted_sigevent);
	tcase_add_test(tc, aiocb_freed_after_completion);
	tcase_add_test(tc, sigev_thread_many_reuse_threads);
	tcase_add_test(tc, sigev_thread_not_held_up_by_running_function);
	tcase_add_test(tc, sigev_thread_attributes);
	tcase_add_test(tc, sigev_thread_attributes_free_once_function_runs);
	tcase_add_test(tc, sigev_thread_with_all_signals_blocked);
	suite_add_tcase(s, tc);

	tc = tcase_create("new_thread");
	tcase_set_timeout(tc, 60);
	tcase_add_checked_fixture(tc, reset_tallies, NULL);
	tcase_add_loop_test(tc, sigev_thread_five_meet_at_barrier, POOLED, SPAWNED + 1);
	tcase_add_loop_test(tc, sigev_thread_waits_for_later_notification, POOLED, SPAWNED + 1);
	tcase_add_loop_test(tc, sigev_thread_runs_while_four_block, POOLED, SPAWNED + 1);
	tcase_add_loop_test(tc, sigev_thread_exit_while_others_block, POOLED, SPAWNED + 1);
	tcase_add_loop_test(tc, sigev_thread_function_ends_its_thread, POOLED, SPAWNED + 1);
	tcase_add_loop_test(tc, sigev_thread_runs_detached, POOLED, SPAWNED + 1);
	tcase_add_loop_test(tc, sigev_thread_state_restored_after_function, POOLED, SPAWNED + 1);
	tcase_add_loop_test(tc, sigev_thread_sched_name_affinity_fresh, POOLED, SPAWNED + 1);
	tcase_add_test(tc, sigev_thread_stream_starts_each_function_fresh);
	tcase_add_loop_test(tc, sigev_thread_idle_thread_takes_no_signal, POOLED, SPAWNED + 1);
	tcase_add_test(tc, sigev_thread_late_cancel_spares_next_function);
	tcase_add_test(tc, sigev_thread_unusable_attributes);
#if !defined(ASAN_BUILD) && !defined(TSAN_BUILD)
	tcase_add_test(tc, sigev_thread_waits_for_a_thread);
	tcase_add_test(tc, sigev_thread_retries_by_itself);
#endif
	suite_add_tcase(s, tc);

	tc = tcase_create("thread_id");
	tcase_set_timeout(tc, 60);
	tcase_add_checked_fixture(tc, reset_events, NULL);
	tcase_add_test(tc, sigev_thread_id_targets_thread);
	suite_add_tcase(s, tc);

	tc = tcase_create("refused");
	tcase_set_timeout(tc, 60);
	tcase_add_checked_fixture(tc, reset_events, NULL);
	tcase_add_test(tc, unknown_sigev_notify_einval);
	tcase_add_test(tc, regression_failed_notification_keeps_result);
	suite_add_tcase(s, tc);
	return s;
}

TEST_MAIN(make_suite)
