/*
 * aio_suspend: when it returns at once, timeouts (relative, never early,
 * malformed ones refused: glibc defect 6), EINTR after a signal handler with
 * and without SA_RESTART and a timeout (glibc defect 7), long lists, many
 * waiters (also of an aiocb submitted again: glibc defect 9), and
 * cancellation.
 *
 * Pending requests are reads on empty pipes.  A waiting thread records what
 * aio_suspend returned; the main thread acts on it with a deadline (polling
 * an observable condition: a flag, or the thread's state in /proc), never
 * with sleep() as synchronisation, and a thread that never returns fails the
 * test instead of hanging it.
 */
#include <aio.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <sys/stat.h>

#include "aioutil.h"

#define WAIT_MS 30000

/* Poll aio_error alone until cb is done, at most WAIT_MS. */
static int spin_cb(const struct aiocb *cb)
{
	double end = now_sec() + WAIT_MS / 1000.0;
	struct timespec pause = { 0, 100000 };
	int err;

	while ((err = aio_error(cb)) == EINPROGRESS) {
		ck_assert_msg(now_sec() < end, "request still in progress after %d ms", WAIT_MS);
		nanosleep(&pause, NULL);
	}
	return err;
}

/* A request that stays in progress until a byte is written to p[1]. */
struct pending {
	struct aiocb cb;
	int p[2];
	char c;
};

static void start_pending(struct pending *pd)
{
	ck_assert_int_eq(pipe2(pd->p, O_CLOEXEC), 0);
	prep_aiocb(&pd->cb, pd->p[0], &pd->c, 1, 0);
	ck_assert_int_eq(aio_read(&pd->cb), 0);
	ck_assert_int_eq(aio_error(&pd->cb), EINPROGRESS);
}

/* The pending read, its byte written: done, with that byte. */
static void reap_pending(struct pending *pd)
{
	ck_assert_int_eq(spin_cb(&pd->cb), 0);
	ck_assert_int_eq(aio_return(&pd->cb), 1);
	close(pd->p[0]);
	close(pd->p[1]);
}

static void finish_pending(struct pending *pd)
{
	ck_assert_int_eq(write(pd->p[1], "!", 1), 1);
	reap_pending(pd);
}

/* A request that is done (successfully) when this returns. */
static void done_request(struct aiocb *cb, int fd, void *buf)
{
	prep_aiocb(cb, fd, buf, 16, 0);
	ck_assert_int_eq(aio_read(cb), 0);
	ck_assert_int_eq(spin_cb(cb), 0);
}

/* A thread blocked in aio_suspend, and what it got. */
struct waiter {
	const struct aiocb *const *list;
	int nent;
	const struct timespec *timeout;
	pthread_t thread;
	pid_t tid;
	int entered, done;
	int ret, err;
	int type;	/* disabled_target: the cancellation type after aio_suspend */
	bool late;	/* waiter_of_submitted_again: its aiocb in progress again on return */
	double start, end;
};

static void *waiter_main(void *arg)
{
	struct waiter *w = arg;

	w->tid = gettid();
	w->start = now_sec();
	__atomic_store_n(&w->entered, 1, __ATOMIC_RELEASE);
	w->ret = aio_suspend(w->list, w->nent, w->timeout);
	w->err = errno;
	w->end = now_sec();
	__atomic_store_n(&w->done, 1, __ATOMIC_RELEASE);
	return NULL;
}

static void start_waiter(struct waiter *w, const struct aiocb *const *list, int nent,
			 const struct timespec *timeout)
{
	memset(w, 0, sizeof *w);
	w->list = list;
	w->nent = nent;
	w->timeout = timeout;
	ck_assert_int_eq(pthread_create(&w->thread, NULL, waiter_main, w), 0);
}

static int waiter_done(struct waiter *w)
{
	return __atomic_load_n(&w->done, __ATOMIC_ACQUIRE);
}

/* Wait until the waiter is inside aio_suspend and asleep (or already back), at most 10 s. */
static void waiter_asleep(struct waiter *w)
{
	double end = now_sec() + WAIT_MS / 1000.0;
	struct timespec pause = { 0, 100000 };

	while (!__atomic_load_n(&w->entered, __ATOMIC_ACQUIRE)) {
		ck_assert_msg(now_sec() < end, "waiter thread did not start");
		nanosleep(&pause, NULL);
	}
	ck_assert_msg(thread_asleep(w->tid, 10000) || waiter_done(w),
		      "thread in aio_suspend neither sleeps nor returns within 10 s (busy loop?)");
}

/* Join the waiter within ms; fails the test if it has not returned by then. */
static void join_waiter(struct waiter *w, long ms)
{
	struct timespec deadline;
	int err;

	clock_gettime(CLOCK_REALTIME, &deadline);
	deadline.tv_sec += ms / 1000;
	deadline.tv_nsec += (ms % 1000) * 1000000L;
	if (deadline.tv_nsec >= 1000000000) {
		deadline.tv_sec++;
		deadline.tv_nsec -= 1000000000;
	}
	err = pthread_timedjoin_np(w->thread, NULL, &deadline);
	ck_assert_msg(err == 0, "aio_suspend did not return within %ld ms (join: %s)", ms,
		      strerror(err));
}

/* Complete the pending read that waiter w waits for: w returns 0. */
static void finish_waited(struct pending *pd, struct waiter *w)
{
	ck_assert_int_eq(write(pd->p[1], "!", 1), 1);
	join_waiter(w, WAIT_MS);
	ck_assert_int_eq(w->ret, 0);
	reap_pending(pd);
}

/* aio_suspend in a thread, bounded by WAIT_MS; its return value, errno in *err. */
static int suspend_bounded(const struct aiocb *const *list, int nent,
			   const struct timespec *timeout, int *err)
{
	struct waiter w;

	start_waiter(&w, list, nent, timeout);
	join_waiter(&w, WAIT_MS);
	*err = w.err;
	return w.ret;
}

/* ------------------------------------------------------ immediate returns */

START_TEST(returns_at_once_when_one_is_done)
{
	int fd = pattern_file(4096), err;
	struct pending a, b;
	struct aiocb done;
	char buf[16];
	const struct aiocb *list[3] = { &a.cb, &done, &b.cb };
	struct timespec t = ms_ts(WAIT_MS);
	double start;

	start_pending(&a);
	start_pending(&b);
	done_request(&done, fd, buf);
	start = now_sec();
	ck_assert_int_eq(aio_suspend(list, 3, &t), 0);
	ck_assert_msg(now_sec() - start < 1.0, "took %.3f s", now_sec() - start);
	/* a NULL timeout, too */
	ck_assert_int_eq(suspend_bounded(list, 3, NULL, &err), 0);
	/* and a zero one */
	t = ms_ts(0);
	ck_assert_int_eq(aio_suspend(list, 3, &t), 0);
	finish_pending(&a);
	finish_pending(&b);
	close(fd);
}
END_TEST

/* A request that failed, at submission or later, is not in progress: it counts as done. */
START_TEST(failed_request_counts_as_done)
{
	struct pending a;
	struct aiocb bad, refused;
	char buf[16];
	const struct aiocb *list[2] = { &a.cb, NULL };
	struct timespec t = ms_ts(WAIT_MS);
	int fd = pattern_file(4096), err;

	start_pending(&a);
	prep_aiocb(&bad, -1, buf, sizeof buf, 0);
	ck_assert_int_eq(aio_read(&bad), 0);
	ck_assert_int_eq(spin_cb(&bad), EBADF);
	list[1] = &bad;
	ck_assert_int_eq(aio_suspend(list, 2, &t), 0);
	prep_aiocb(&refused, fd, buf, sizeof buf, 0);
	refused.aio_reqprio = 99;
	ck_assert_int_eq(aio_read(&refused), -1);
	list[1] = &refused;
	ck_assert_int_eq(suspend_bounded(list, 2, NULL, &err), 0);
	finish_pending(&a);
	close(fd);
}
END_TEST

START_TEST(null_entries_are_ignored)
{
	int fd = pattern_file(4096), err;
	struct pending a;
	struct aiocb done;
	char buf[16];
	const struct aiocb *list[5] = { NULL, NULL, &done, NULL, NULL };
	struct timespec t = ms_ts(WAIT_MS), t50 = ms_ts(50);

	done_request(&done, fd, buf);
	ck_assert_int_eq(aio_suspend(list, 5, &t), 0);
	ck_assert_int_eq(suspend_bounded(list, 5, NULL, &err), 0);
	/* the NULLs do not count as done: only the pending entry does */
	start_pending(&a);
	list[2] = &a.cb;
	errno = 0;
	ck_assert_int_eq(aio_suspend(list, 5, &t50), -1);
	ck_assert_int_eq(errno, EAGAIN);
	finish_pending(&a);
	close(fd);
}
END_TEST

START_TEST(empty_list_returns_at_once)
{
	const struct aiocb *nulls[4] = { NULL, NULL, NULL, NULL };
	struct timespec t = ms_ts(WAIT_MS);
	struct pending a;
	int err;

	/* while something else is pending, so there is something to wait for */
	start_pending(&a);
	ck_assert_int_eq(suspend_bounded(nulls, 0, NULL, &err), 0);
	ck_assert_int_eq(suspend_bounded(NULL, 0, NULL, &err), 0);
	ck_assert_int_eq(suspend_bounded(nulls, 4, NULL, &err), 0);
	ck_assert_int_eq(aio_suspend(nulls, 4, &t), 0);
	ck_assert_int_eq(aio_suspend(nulls, 0, &t), 0);
	finish_pending(&a);
}
END_TEST

START_TEST(negative_nent_is_einval)
{
	const int nents[] = { -1, -2, INT_MIN };
	struct pending a;
	const struct aiocb *list[1] = { NULL };
	struct timespec t = ms_ts(WAIT_MS);
	size_t i;
	int err;

	start_pending(&a);
	list[0] = &a.cb;
	for (i = 0; i < sizeof nents / sizeof nents[0]; i++) {
		errno = 0;
		ck_assert_int_eq(aio_suspend(list, nents[i], &t), -1);
		ck_assert_int_eq(errno, EINVAL);
		ck_assert_int_eq(suspend_bounded(list, nents[i], NULL, &err), -1);
		ck_assert_int_eq(err, EINVAL);
	}
	finish_pending(&a);
}
END_TEST

/* ------------------------------------------------------------- timeouts */

/* A relative timeout on CLOCK_MONOTONIC: -1/EAGAIN, never before it has passed. */
START_TEST(timeout_is_eagain_never_early)
{
	const long ms[] = { 0, 1, 20, 200, 1100 };
	struct pending a;
	const struct aiocb *list[1] = { &a.cb };
	size_t i;

	start_pending(&a);
	for (i = 0; i < sizeof ms / sizeof ms[0]; i++) {
		struct timespec t = ms_ts(ms[i]);
		double start = now_sec(), took;

		errno = 0;
		ck_assert_int_eq(aio_suspend(list, 1, &t), -1);
		took = now_sec() - start;
		ck_assert_int_eq(errno, EAGAIN);
		ck_assert_msg(took >= (double)ms[i] / 1000,
			      "a %ld ms timeout returned after %.6f s", ms[i], took);
		ck_assert_msg(took < (double)ms[i] / 1000 + 5,
			      "a %ld ms timeout returned after %.6f s", ms[i], took);
		ck_assert_int_eq(aio_error(&a.cb), EINPROGRESS);
	}
	finish_pending(&a);
}
END_TEST

/* glibc defect 6: tv_nsec >= 1e9 aborts the process.  rtaio: -1/EINVAL. */
START_TEST(malformed_timeout_is_einval)
{
	const struct timespec bad[] = {
		{ 0, 1000000000 }, { 0, 1999999999 }, { 1, 1000000000 }, { 0, LONG_MAX },
		{ 0, -1 }, { 1, -1 }, { 0, LONG_MIN },
	};
	struct pending a;
	const struct aiocb *list[1] = { &a.cb };
	size_t i;

	start_pending(&a);
	for (i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		double start = now_sec();

		errno = 0;
		ck_assert_msg(aio_suspend(list, 1, &bad[i]) == -1, "{%ld, %ld} accepted",
			      (long)bad[i].tv_sec, bad[i].tv_nsec);
		ck_assert_msg(errno == EINVAL, "{%ld, %ld}: %s", (long)bad[i].tv_sec,
			      bad[i].tv_nsec, strerror(errno));
		ck_assert_msg(now_sec() - start < 1.0, "{%ld, %ld} waited",
			      (long)bad[i].tv_sec, bad[i].tv_nsec);
	}
	ck_assert_int_eq(aio_error(&a.cb), EINPROGRESS);
	finish_pending(&a);
}
END_TEST

/*
 * A timeout too long to add to the clock (tv_sec near TIME_T_MAX) waits
 * like no timeout at all: no early EAGAIN, no busy loop (the waiter sleeps).
 */
START_TEST(huge_timeout_waits)
{
	const time_t max = SIGNED_MAX(time_t);
	const struct timespec huge[] = { { max, 999999999 }, { max - 1, 0 }, { max / 2, 0 } };
	struct pending a;
	const struct aiocb *list[1] = { &a.cb };
	struct waiter w;

	start_pending(&a);
	start_waiter(&w, list, 1, &huge[_i]);
	waiter_asleep(&w);
	ck_assert_msg(!waiter_done(&w), "{%lld, %ld} returned %d at once: %s",
		      (long long)huge[_i].tv_sec, huge[_i].tv_nsec, w.ret, strerror(w.err));
	finish_waited(&a, &w);
}
END_TEST

/* ------------------------------------------------------------- wake-ups */

START_TEST(wakes_when_listed_request_completes)
{
	struct pending a, b;
	const struct aiocb *list[2] = { &a.cb, &b.cb };
	struct timespec t = ms_ts(WAIT_MS);
	struct waiter w;

	start_pending(&a);
	start_pending(&b);
	start_waiter(&w, list, 2, _i ? NULL : &t);
	waiter_asleep(&w);
	ck_assert_int_eq(write(b.p[1], "w", 1), 1);
	join_waiter(&w, WAIT_MS);
	ck_assert_int_eq(w.ret, 0);
	ck_assert_msg(w.end - w.start < 10, "took %.3f s", w.end - w.start);
	ck_assert_int_eq(aio_error(&b.cb), 0);
	ck_assert_int_eq(aio_error(&a.cb), EINPROGRESS);
	finish_pending(&a);
	close(b.p[0]);
	close(b.p[1]);
}
END_TEST

/*
 * Completions of requests a waiter does not list neither end its wait nor
 * stretch its timeout.
 */
START_TEST(other_completions_neither_end_nor_extend_wait)
{
	int fd = pattern_file(65536);
	struct pending a;
	const struct aiocb *list[1] = { &a.cb };
	struct timespec t = ms_ts(500);
	struct waiter w;
	unsigned long others = 0;
	double end;

	start_pending(&a);
	start_waiter(&w, list, 1, &t);
	end = now_sec() + WAIT_MS / 1000.0;
	while (!waiter_done(&w)) {
		struct aiocb cb;
		const struct aiocb *mine[1] = { &cb };
		struct timespec tw = ms_ts(WAIT_MS);
		char buf[64];

		ck_assert_msg(now_sec() < end, "the 500 ms wait did not end");
		prep_aiocb(&cb, fd, buf, sizeof buf, (off_t)(others % 1000));
		ck_assert_int_eq(aio_read(&cb), 0);
		while (aio_error(&cb) == EINPROGRESS)
			ck_assert_int_eq(aio_suspend(mine, 1, &tw), 0);
		ck_assert_int_eq(aio_return(&cb), (ssize_t)sizeof buf);
		others++;
	}
	join_waiter(&w, WAIT_MS);
	ck_assert_msg(w.ret == -1 && w.err == EAGAIN, "returned %d (%s) after %lu others",
		      w.ret, strerror(w.err), others);
	ck_assert_msg(w.end - w.start >= 0.5, "timed out after %.3f s", w.end - w.start);
	ck_assert_msg(w.end - w.start < 5.5, "timed out after %.3f s", w.end - w.start);
	ck_assert_int_eq(aio_error(&a.cb), EINPROGRESS);
	finish_pending(&a);
	close(fd);
}
END_TEST

/*
 * A waiter sleeps through the completions of requests it does not list:
 * a program that lists some of its requests in flight (fio's posixaio
 * engine lists 8 of 32) is not woken, to scan and sleep again, for each of
 * the others, whether the engine completes them or aio_read does.  This
 * thread polls its own 2000 reads with aio_error, so that nothing else
 * waits.  32-bit layouts have no room in the aiocb for the
 * mark that says a waiter watches it: there every completion wakes every
 * waiter, and only the outcome is checked.
 */
START_TEST(unlisted_completions_do_not_wake_the_waiter)
{
	enum { OTHERS = 2000 };
	int fd = pattern_file(65536), i;
	struct pending a, b;
	const struct aiocb *list[1] = { &a.cb };
	struct waiter w;
	long before, woken;

	start_pending(&a);
	ck_assert_int_eq(pipe2(b.p, O_CLOEXEC), 0);
	start_waiter(&w, list, 1, NULL);
	waiter_asleep(&w);
	before = thread_sleeps(w.tid);
	for (i = 0; i < OTHERS; i++) {
		struct aiocb cb;
		char buf[64];
		double end = now_sec() + WAIT_MS / 1000.0;

		/*
		 * Every other one a pipe read, pending until its byte is
		 * written, so completed by the engine; the file reads
		 * complete inside aio_read, where the page cache serves them.
		 */
		if (i % 2) {
			prep_aiocb(&cb, b.p[0], buf, 1, 0);
			ck_assert_int_eq(aio_read(&cb), 0);
			ck_assert_int_eq(aio_error(&cb), EINPROGRESS);
			ck_assert_int_eq(write(b.p[1], "o", 1), 1);
		} else {
			prep_aiocb(&cb, fd, buf, sizeof buf, (off_t)(i % 1000) * 64);
			ck_assert_int_eq(aio_read(&cb), 0);
		}
		while (aio_error(&cb) == EINPROGRESS)
			ck_assert_msg(now_sec() < end, "read %d still in progress", i);
		ck_assert_int_eq(aio_return(&cb), i % 2 ? 1 : (ssize_t)sizeof buf);
	}
	woken = thread_sleeps(w.tid) - before;
	ck_assert_msg(!waiter_done(&w), "aio_suspend returned %d (%s) for another's completion",
		      w.ret, strerror(w.err));
#if __SIZEOF_LONG__ == 8
	/* a few for whatever else wakes a thread; 2000 if each completion did */
	ck_assert_msg(woken <= 20, "the waiter slept %ld times more during %d other completions",
		      woken, OTHERS);
#else
	fprintf(stderr, "32-bit aiocb, no room for a waiter's mark: the waiter slept %ld times in "
		"%d other completions: not checked\n", woken, OTHERS);
#endif
	finish_waited(&a, &w);
	close(b.p[0]);
	close(b.p[1]);
	close(fd);
}
END_TEST

/* Many threads waiting for the same request all wake when it completes. */
START_TEST(many_waiters_on_one_request_all_wake)
{
	enum { N = 8 };
	struct pending a;
	const struct aiocb *list[1] = { &a.cb };
	struct timespec t = ms_ts(WAIT_MS);
	struct waiter w[N];
	int i;

	start_pending(&a);
	for (i = 0; i < N; i++)
		start_waiter(&w[i], list, 1, i % 2 ? NULL : &t);
	for (i = 0; i < N; i++)
		waiter_asleep(&w[i]);
	for (i = 0; i < N; i++)
		ck_assert_msg(!waiter_done(&w[i]), "waiter %d returned early: %d %s", i, w[i].ret,
			      strerror(w[i].err));
	ck_assert_int_eq(write(a.p[1], "m", 1), 1);
	for (i = 0; i < N; i++) {
		join_waiter(&w[i], WAIT_MS);
		ck_assert_msg(w[i].ret == 0, "waiter %d: %d %s", i, w[i].ret, strerror(w[i].err));
	}
	ck_assert_int_eq(spin_cb(&a.cb), 0);
	close(a.p[0]);
	close(a.p[1]);
}
END_TEST

/* waiter_main, which also records whether its aiocb was in progress again on return */
static void *waiter_of_submitted_again(void *arg)
{
	struct waiter *w = arg;

	waiter_main(w);
	w->late = aio_error(w->list[0]) == EINPROGRESS;
	return NULL;
}

/*
 * Threads asleep in aio_suspend on an aiocb whose request completes, and
 * the aiocb submitted again as soon as the program sees it done.  A waiter
 * that looks only then sees EINPROGRESS, of the new request; it still
 * returns 0, as the request it was called for has completed.  (rtaio
 * answered EAGAIN at the timeout, or with no timeout slept on until the new
 * request completed; glibc crashes: defect 9.)  Rounds go on until some
 * waiter has returned to find its aiocb in progress again, the case under
 * test, at least once.
 */
START_TEST(waiters_of_an_aiocb_submitted_again_return)
{
	enum { WAITERS = 6, MAX_ROUNDS = 5000 };
	struct pending x;
	const struct aiocb *list[1] = { &x.cb };
	struct timespec t = ms_ts(WAIT_MS);
	struct waiter w[WAITERS];
	int i, k, late = 0;

	start_pending(&x);
	for (k = 0; k < MAX_ROUNDS && !late; k++) {
		for (i = 0; i < WAITERS; i++) {
			memset(&w[i], 0, sizeof w[i]);
			w[i].list = list;
			w[i].nent = 1;
			w[i].timeout = i % 2 ? NULL : &t;
			ck_assert_int_eq(pthread_create(&w[i].thread, NULL,
							waiter_of_submitted_again, &w[i]), 0);
		}
		for (i = 0; i < WAITERS; i++)
			waiter_asleep(&w[i]);
		ck_assert_int_eq(write(x.p[1], "x", 1), 1);
		/* no pause: the sooner it is submitted again, the likelier a waiter is late */
		while (aio_error(&x.cb) == EINPROGRESS)
			;
		ck_assert_int_eq(aio_return(&x.cb), 1);
		ck_assert_int_eq(aio_read(&x.cb), 0);
		for (i = 0; i < WAITERS; i++) {
			join_waiter(&w[i], WAIT_MS);
			ck_assert_msg(w[i].ret == 0, "round %d, waiter %d: %s", k, i,
				      strerror(w[i].err));
			late += w[i].late;
		}
	}
	ck_assert_msg(late, "no waiter looked after the aiocb was submitted again, in %d rounds", k);
	finish_pending(&x);
}
END_TEST

/*
 * A list of 2000 pending requests (_i: 0 on one pipe, 1 spread over 32
 * pipes) where one completes: aio_suspend returns promptly.  The request
 * that completes is the list's last entry.
 */
START_TEST(long_list_returns_when_one_completes)
{
	enum { N = 2000 };
	int npipes = _i ? 32 : 1, (*p)[2] = calloc(32, sizeof *p), i, k;
	struct aiocb *cbs = calloc(N, sizeof *cbs);
	const struct aiocb **list = calloc(N, sizeof *list);
	char *bytes = calloc(N, 1);
	struct timespec t = ms_ts(WAIT_MS);
	struct waiter w;
	int target = npipes - 1;	/* the first request on the last pipe */
	double wrote;

	ck_assert_ptr_nonnull(p);
	ck_assert_ptr_nonnull(cbs);
	ck_assert_ptr_nonnull(list);
	ck_assert_ptr_nonnull(bytes);
	for (i = 0; i < npipes; i++)
		ck_assert_int_eq(pipe2(p[i], O_CLOEXEC), 0);
	for (i = 0; i < N; i++) {
		prep_aiocb(&cbs[i], p[i % npipes][0], &bytes[i], 1, 0);
		ck_assert_int_eq(aio_read(&cbs[i]), 0);
	}
	/* the target last, the others in reverse submission order */
	for (i = N - 1, k = 0; i >= 0; i--)
		if (i != target)
			list[k++] = &cbs[i];
	list[N - 1] = &cbs[target];
	for (i = 0; i < N; i++)
		ck_assert_int_eq(aio_error(&cbs[i]), EINPROGRESS);
	start_waiter(&w, list, N, &t);
	waiter_asleep(&w);
	ck_assert_msg(!waiter_done(&w), "returned early: %d %s", w.ret, strerror(w.err));
	wrote = now_sec();
	ck_assert_int_eq(write(p[target][1], "L", 1), 1);
	join_waiter(&w, WAIT_MS);
	ck_assert_int_eq(w.ret, 0);
	ck_assert_msg(w.end - wrote < 2.0, "returned %.3f s after the completion", w.end - wrote);
	ck_assert_int_eq(aio_error(&cbs[target]), 0);
	ck_assert_int_eq(bytes[target], 'L');
	/* end of file for every other read: all of them complete */
	for (i = 0; i < npipes; i++)
		close(p[i][1]);
	for (i = 0; i < N; i++) {
		ck_assert_int_eq(spin_cb(&cbs[i]), 0);
		ck_assert_int_eq(aio_return(&cbs[i]), i == target ? 1 : 0);
	}
	for (i = 0; i < npipes; i++)
		close(p[i][0]);
	free(bytes);
	free(list);
	free(cbs);
	free(p);
}
END_TEST

/* ------------------------------------------------------------------ EINTR */

static int handled;

static void on_signal(int sig)
{
	__atomic_fetch_add(&handled, 1, __ATOMIC_RELAXED);
}

/*
 * -1/EINTR when a handler runs: _i bit 0 SA_RESTART, bit 1 a timeout
 * (glibc defect 7: with no timeout and SA_RESTART, glibc never returns).
 * The thread may not be asleep yet at the first signal: signal it until it
 * returns.
 */
START_TEST(signal_handler_gives_eintr)
{
	struct sigaction sa;
	struct pending a;
	const struct aiocb *list[1] = { &a.cb };
	struct timespec t = ms_ts(WAIT_MS);
	struct timespec pause = { 0, 2000000 };
	struct waiter w;
	double end = now_sec() + 10;
	int sent = 0;

	memset(&sa, 0, sizeof sa);
	sa.sa_handler = on_signal;
	sa.sa_flags = _i & 1 ? SA_RESTART : 0;
	sigemptyset(&sa.sa_mask);
	ck_assert_int_eq(sigaction(SIGUSR1, &sa, NULL), 0);
	start_pending(&a);
	start_waiter(&w, list, 1, _i & 2 ? &t : NULL);
	while (!waiter_done(&w) && now_sec() < end) {
		ck_assert_int_eq(pthread_kill(w.thread, SIGUSR1), 0);
		sent++;
		nanosleep(&pause, NULL);
	}
	ck_assert_msg(waiter_done(&w), "aio_suspend (%s, %s) not interrupted by %d signals",
		      _i & 1 ? "SA_RESTART" : "no SA_RESTART", _i & 2 ? "timeout" : "no timeout",
		      sent);
	join_waiter(&w, WAIT_MS);
	ck_assert_int_eq(w.ret, -1);
	ck_assert_int_eq(w.err, EINTR);
	ck_assert_int_ge(__atomic_load_n(&handled, __ATOMIC_RELAXED), 1);
	/* the request is unaffected */
	ck_assert_int_eq(aio_error(&a.cb), EINPROGRESS);
	finish_pending(&a);
}
END_TEST

/*
 * aio_error, aio_return and aio_suspend are async-signal-safe: a handler
 * calls them while its thread is anywhere in rtaio's code, submitting,
 * waiting and reaping, with signals sent to it back to back.  (glibc's
 * aio_error takes its AIO lock: the handler waits for ever for the lock
 * that the thread it interrupted was taking, defect 10.)  The handler asks
 * about a request in flight and about one done long ago.
 */
static struct aiocb in_flight;
static struct pending done_long_ago;
static int handler_calls, handler_wrong;

static void ask_in_handler(int sig)
{
	const struct aiocb *list[2] = { &in_flight, &done_long_ago.cb };
	struct timespec zero = { 0, 0 };
	int saved = errno, err = aio_error(&in_flight);

	(void)sig;
	if ((err != EINPROGRESS && err != 0) || aio_error(&done_long_ago.cb) != 0 ||
	    aio_return(&done_long_ago.cb) != 1 || aio_suspend(list, 2, &zero) != 0)
		__atomic_store_n(&handler_wrong, 1, __ATOMIC_RELAXED);
	__atomic_fetch_add(&handler_calls, 1, __ATOMIC_RELAXED);
	errno = saved;
}

static int kicking;

static void *kick(void *arg)
{
	pthread_t target = *(pthread_t *)arg;

	while (__atomic_load_n(&kicking, __ATOMIC_ACQUIRE))
		pthread_kill(target, SIGUSR2);
	return NULL;
}

START_TEST(status_calls_are_async_signal_safe)
{
	unsigned long min_rounds = scaled(1000), min_signals = scaled(10000), k;
	struct sigaction sa = { .sa_handler = ask_in_handler, .sa_flags = SA_RESTART };
	pthread_t self = pthread_self(), kicker;
	const struct aiocb *list[1] = { &in_flight };
	struct timespec zero = { 0, 0 };
	ssize_t got = 0;
	char byte;
	int p[2], err = 0;

	start_pending(&done_long_ago);
	ck_assert_int_eq(write(done_long_ago.p[1], "o", 1), 1);
	ck_assert_int_eq(spin_cb(&done_long_ago.cb), 0);
	ck_assert_int_eq(pipe2(p, O_CLOEXEC), 0);
	prep_aiocb(&in_flight, p[0], &byte, 1, 0);
	ck_assert_int_eq(sigaction(SIGUSR2, &sa, NULL), 0);
	__atomic_store_n(&kicking, 1, __ATOMIC_RELEASE);
	ck_assert_int_eq(pthread_create(&kicker, NULL, kick, &self), 0);
	/* until both: how many signals land in a round depends on the machine's load */
	for (k = 0; k < min_rounds ||
		    (unsigned long)__atomic_load_n(&handler_calls, __ATOMIC_RELAXED) < min_signals;
	     k++) {
		ck_assert_int_eq(aio_read(&in_flight), 0);
		ck_assert_int_eq(write(p[1], "k", 1), 1);
		/* polled, as fio polls, so that most signals land in rtaio's code */
		while (k % 2 ? aio_suspend(list, 1, &zero) != 0 : aio_error(&in_flight) == EINPROGRESS)
			;
		err = aio_error(&in_flight);
		got = aio_return(&in_flight);
		if (err || got != 1)
			break;
	}
	__atomic_store_n(&kicking, 0, __ATOMIC_RELEASE);
	pthread_join(kicker, NULL);
	signal(SIGUSR2, SIG_DFL);
	ck_assert_msg(!err && got == 1, "round %lu: %s, returned %zd", k, strerror(err), got);
	ck_assert_msg(!__atomic_load_n(&handler_wrong, __ATOMIC_RELAXED),
		      "a status call in the handler answered wrongly");
	close(p[0]);
	close(p[1]);
	close(done_long_ago.p[0]);
	close(done_long_ago.p[1]);
}
END_TEST

/* ----------------------------------------------------------- cancellation */

static int cancel_allowed;

static void *cancel_target(void *arg)
{
	struct waiter *w = arg;

	w->tid = gettid();
	__atomic_store_n(&w->entered, 1, __ATOMIC_RELEASE);
	w->ret = aio_suspend(w->list, w->nent, w->timeout);
	/* not reached when cancelled; no cancellation point from here on */
	w->err = errno;
	__atomic_store_n(&w->done, 1, __ATOMIC_RELEASE);
	return NULL;
}

/*
 * pthread_cancel of a thread blocked in aio_suspend ends the thread (_i: 0
 * without a timeout, 1 with one).
 */
START_TEST(cancel_ends_thread_blocked_in_suspend)
{
	struct pending a;
	const struct aiocb *list[1] = { &a.cb };
	struct timespec t = ms_ts(WAIT_MS), deadline;
	struct waiter w;
	void *res = NULL;
	int err;

	start_pending(&a);
	memset(&w, 0, sizeof w);
	w.list = list;
	w.nent = 1;
	w.timeout = _i ? &t : NULL;
	ck_assert_int_eq(pthread_create(&w.thread, NULL, cancel_target, &w), 0);
	waiter_asleep(&w);
	ck_assert_int_eq(pthread_cancel(w.thread), 0);
	clock_gettime(CLOCK_REALTIME, &deadline);
	deadline.tv_sec += 5;
	err = pthread_timedjoin_np(w.thread, &res, &deadline);
	ck_assert_msg(err == 0, "a thread blocked in aio_suspend (%s) was not cancelled: %s",
		      _i ? "timeout" : "no timeout", err == ETIMEDOUT ? "still blocked 5 s later"
								      : strerror(err));
	ck_assert_msg(res == PTHREAD_CANCELED, "the thread returned from aio_suspend: %d %s",
		      w.ret, strerror(w.err));
	/* completions and later waits still work */
	ck_assert_int_eq(write(a.p[1], "c", 1), 1);
	ck_assert_int_eq(aio_suspend(list, 1, &t), 0);
	ck_assert_int_eq(aio_error(&a.cb), 0);
	close(a.p[0]);
	close(a.p[1]);
}
END_TEST

static void *cancel_pending_target(void *arg)
{
	struct waiter *w = arg;
	struct timespec pause = { 0, 100000 };

	pthread_setcancelstate(PTHREAD_CANCEL_DISABLE, NULL);
	__atomic_store_n(&w->entered, 1, __ATOMIC_RELEASE);
	while (!__atomic_load_n(&cancel_allowed, __ATOMIC_ACQUIRE))
		nanosleep(&pause, NULL);	/* not a cancellation point while disabled */
	pthread_setcancelstate(PTHREAD_CANCEL_ENABLE, NULL);
	w->ret = aio_suspend(w->list, w->nent, w->timeout);
	w->err = errno;
	__atomic_store_n(&w->done, 1, __ATOMIC_RELEASE);
	return NULL;
}

/* A cancellation already pending when aio_suspend is called acts on entry. */
START_TEST(cancel_pending_acts_on_entry)
{
	struct pending a;
	const struct aiocb *list[1] = { &a.cb };
	struct timespec t = ms_ts(WAIT_MS), deadline;
	struct timespec pause = { 0, 100000 };
	struct waiter w;
	void *res = NULL;
	double end = now_sec() + 10;
	int err;

	start_pending(&a);
	memset(&w, 0, sizeof w);
	w.list = list;
	w.nent = 1;
	w.timeout = &t;
	ck_assert_int_eq(pthread_create(&w.thread, NULL, cancel_pending_target, &w), 0);
	while (!__atomic_load_n(&w.entered, __ATOMIC_ACQUIRE)) {
		ck_assert(now_sec() < end);
		nanosleep(&pause, NULL);
	}
	ck_assert_int_eq(pthread_cancel(w.thread), 0);
	__atomic_store_n(&cancel_allowed, 1, __ATOMIC_RELEASE);
	clock_gettime(CLOCK_REALTIME, &deadline);
	deadline.tv_sec += 5;
	err = pthread_timedjoin_np(w.thread, &res, &deadline);
	ck_assert_msg(err == 0, "join: %s", strerror(err));
	ck_assert_msg(res == PTHREAD_CANCELED, "the thread returned from aio_suspend: %d %s",
		      w.ret, strerror(w.err));
	finish_pending(&a);
}
END_TEST

static void *disabled_target(void *arg)
{
	struct waiter *w = arg;
	int type = -1;

	pthread_setcancelstate(PTHREAD_CANCEL_DISABLE, NULL);
	w->tid = gettid();
	__atomic_store_n(&w->entered, 1, __ATOMIC_RELEASE);
	w->ret = aio_suspend(w->list, w->nent, w->timeout);
	w->err = errno;
	/* aio_suspend leaves the cancellation type as it found it */
	pthread_setcanceltype(PTHREAD_CANCEL_DEFERRED, &type);
	w->type = type;
	__atomic_store_n(&w->done, 1, __ATOMIC_RELEASE);
	pthread_setcancelstate(PTHREAD_CANCEL_ENABLE, NULL);
	pthread_testcancel();
	return NULL;
}

/*
 * With cancellation disabled, a pthread_cancel does not end aio_suspend: it
 * returns 0 when the request completes, and the cancellation acts later.
 */
START_TEST(cancel_disabled_suspend_returns_normally)
{
	struct pending a;
	const struct aiocb *list[1] = { &a.cb };
	struct timespec deadline;
	struct waiter w;
	void *res = NULL;
	int err;

	start_pending(&a);
	memset(&w, 0, sizeof w);
	w.list = list;
	w.nent = 1;
	w.timeout = NULL;
	ck_assert_int_eq(pthread_create(&w.thread, NULL, disabled_target, &w), 0);
	waiter_asleep(&w);
	ck_assert_int_eq(pthread_cancel(w.thread), 0);
	ck_assert_int_eq(write(a.p[1], "d", 1), 1);
	clock_gettime(CLOCK_REALTIME, &deadline);
	deadline.tv_sec += WAIT_MS / 1000;
	err = pthread_timedjoin_np(w.thread, &res, &deadline);
	ck_assert_msg(err == 0, "join: %s", strerror(err));
	ck_assert_msg(waiter_done(&w), "aio_suspend was cancelled with cancellation disabled");
	ck_assert_msg(w.ret == 0, "aio_suspend: %d %s", w.ret, strerror(w.err));
	ck_assert_msg(w.type == PTHREAD_CANCEL_DEFERRED,
		      "aio_suspend left the cancellation type %d", w.type);
	ck_assert(res == PTHREAD_CANCELED);
	ck_assert_int_eq(spin_cb(&a.cb), 0);
	close(a.p[0]);
	close(a.p[1]);
}
END_TEST

static Suite *suspend_suite(void)
{
	Suite *s = suite_create("aio_suspend");
	TCase *now = tcase_create("immediate");
	TCase *timeouts = tcase_create("timeouts");
	TCase *wake = tcase_create("wake-ups");
	TCase *intr = tcase_create("signals");
	TCase *cancel = tcase_create("cancellation");

	tcase_add_test(now, returns_at_once_when_one_is_done);
	tcase_add_test(now, failed_request_counts_as_done);
	tcase_add_test(now, null_entries_are_ignored);
	tcase_add_test(now, empty_list_returns_at_once);
	tcase_add_test(now, negative_nent_is_einval);
	tcase_add_test(timeouts, timeout_is_eagain_never_early);
	tcase_add_test(timeouts, malformed_timeout_is_einval);
	tcase_add_loop_test(timeouts, huge_timeout_waits, 0, 3);
	tcase_add_loop_test(wake, wakes_when_listed_request_completes, 0, 2);
	tcase_add_test(wake, other_completions_neither_end_nor_extend_wait);
	tcase_add_test(wake, unlisted_completions_do_not_wake_the_waiter);
	tcase_add_test(wake, many_waiters_on_one_request_all_wake);
	tcase_add_test(wake, waiters_of_an_aiocb_submitted_again_return);
	tcase_add_loop_test(wake, long_list_returns_when_one_completes, 0, 2);
	tcase_add_loop_test(intr, signal_handler_gives_eintr, 0, 4);
	tcase_add_test(intr, status_calls_are_async_signal_safe);
	tcase_add_loop_test(cancel, cancel_ends_thread_blocked_in_suspend, 0, 2);
	tcase_add_test(cancel, cancel_pending_acts_on_entry);
	tcase_add_test(cancel, cancel_disabled_suspend_returns_normally);
	tcase_set_timeout(now, 120);
	tcase_set_timeout(timeouts, 120);
	tcase_set_timeout(wake, 120);
	tcase_set_timeout(intr, 120);
	tcase_set_timeout(cancel, 120);
	suite_add_tcase(s, now);
	suite_add_tcase(s, timeouts);
	suite_add_tcase(s, wake);
	suite_add_tcase(s, intr);
	suite_add_tcase(s, cancel);
	return s;
}

TEST_MAIN(suspend_suite)
