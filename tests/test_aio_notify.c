/*
 * Completion notification (sigevent) of aio_read/aio_write: SIGEV_NONE,
 * SIGEV_SIGNAL (siginfo, queueing, blocked signals), SIGEV_THREAD (value,
 * ordering after the status, thread, attributes, a bounded thread count),
 * SIGEV_THREAD_ID, and sigevents rtaio refuses.
 *
 * Signals are taken with sigtimedwait() while blocked, so no handler races;
 * requests are kept pending with reads on an empty pipe; every wait has a
 * deadline, and nothing sleeps to synchronise.
 */
#include <aio.h>
#include <limits.h>
#include <pthread.h>
#include <semaphore.h>
#include <signal.h>
#include <stdbool.h>

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

/* Many SIGEV_THREAD notifications, with a bounded number of threads. */
START_TEST(sigev_thread_many_bounded_threads)
{
	unsigned long n = scaled(10000), i;
	struct req *q = calloc(n, sizeof *q);
	struct asys_config cfg = { 4, 4, 0 };
	int fd = pattern_file(1 << 16), start, most, limit;
	double end;
	unsigned long bad = n;

	ck_assert_ptr_nonnull(q);
	ck_assert_int_eq(asys_configure(&cfg, NULL), 0);
	start = thread_count();
	/* the caller, 4 notification threads, 4 + 4 workers */
	limit = start + 4 + 4 + 4;
	most = start;
	for (i = 0; i < n; i++) {
		prep_aiocb(&q[i].cb, fd, q[i].buf, 64, (off_t)((i * 64) % (1 << 16)));
		thread_note(&q[i], on_done);
		submit_read(&q[i].cb);
		if (i % 256 == 0) {
			int t = thread_count();

			most = t > most ? t : most;
		}
	}
	end = now_sec() + 120;
	while (!wait_events(n, 20)) {
		int t = thread_count();

		most = t > most ? t : most;
		ck_assert_msg(now_sec() < end, "%lu of %lu notifications", events(), n);
	}
	ck_assert_msg(most <= limit, "%d threads at most, limit %d (started with %d)", most, limit,
		      start);
	pthread_mutex_lock(&ev_lock);
	for (i = 0; i < n && bad == n; i++)
		if (q[i].live.runs != 1 || q[i].live.err != 0 || q[i].live.ret != 64 ||
		    q[i].live.tid == gettid())
			bad = i;
	pthread_mutex_unlock(&ev_lock);
	ck_assert_msg(bad == n, "request %lu: notified %d times, saw %d/%zd", bad,
		      bad == n ? 0 : q[bad].live.runs, bad == n ? 0 : q[bad].live.err,
		      bad == n ? 0 : q[bad].live.ret);
	ck_assert_int_eq(events(), n);
	fprintf(stderr, "sigev_thread_many_bounded_threads: %lu notifications, %d threads at most "
		"(start %d, limit %d)\n", n, most, start, limit);
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
	tcase_add_test(tc, sigev_thread_many_bounded_threads);
	tcase_add_test(tc, sigev_thread_not_held_up_by_running_function);
	tcase_add_test(tc, sigev_thread_attributes);
	tcase_add_test(tc, sigev_thread_with_all_signals_blocked);
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
