/* asys_wait and asys_wait_any: wake-ups, timeouts, signals, bad input. */
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>

#include "testutil.h"

/* A pipe read pending on a worker until release() writes to the pipe. */
struct pending {
	int p[2];
	char buf[4];
	struct asys_call call;
};

static void start_pending(struct pending *pd)
{
	struct asys_call *list[] = { &pd->call };

	ck_assert_int_eq(pipe2(pd->p, O_CLOEXEC), 0);
	prep_pipe_read(&pd->call, pd->p[0], pd->buf, 1, 0);
	ck_assert_int_eq(asys_submit(list, 1), 0);
}

static void release(struct pending *pd)
{
	ck_assert_int_eq(write(pd->p[1], "r", 1), 1);
}

static void finish_pending(struct pending *pd)
{
	wait_done(&pd->call);
	ck_assert_int_eq(pd->call.result, 1);
	close(pd->p[0]);
	close(pd->p[1]);
}

START_TEST(wait_returns_at_once_when_final)
{
	struct asys_call c;
	struct asys_call *list[] = { &c };
	struct timespec zero = ms_ts(0);

	asys_prep(&c, SYS_fsync, -1, 0, 0, 0, 0, 0);
	ck_assert_int_eq(asys_submit(list, 1), 0);
	wait_done(&c);
	ck_assert_int_eq(c.result, -EBADF);
	ck_assert_int_eq(asys_wait(&c, &zero), 0);
	ck_assert_int_eq(asys_wait(&c, NULL), 0);
	ck_assert_int_eq(asys_wait_any(list, 1, &zero), 0);
}
END_TEST

START_TEST(wait_times_out)
{
	struct pending pd;
	struct asys_call *list[] = { &pd.call };
	struct timespec zero = ms_ts(0), t = ms_ts(50);
	double t0;

	start_pending(&pd);
	errno = 0;
	ck_assert_int_eq(asys_wait(&pd.call, &zero), -1);
	ck_assert_int_eq(errno, ETIMEDOUT);
	t0 = now_sec();
	errno = 0;
	ck_assert_int_eq(asys_wait(&pd.call, &t), -1);
	ck_assert_int_eq(errno, ETIMEDOUT);
	/* never early: the timeout is a lower bound */
	ck_assert(now_sec() - t0 >= 0.050);
	t0 = now_sec();
	errno = 0;
	ck_assert_int_eq(asys_wait_any(list, 1, &t), -1);
	ck_assert_int_eq(errno, ETIMEDOUT);
	ck_assert(now_sec() - t0 >= 0.050);
	ck_assert_uint_eq(asys_state(&pd.call), ASYS_RUNNING);
	release(&pd);
	finish_pending(&pd);
}
END_TEST

START_TEST(bad_arguments_are_einval)
{
	static const struct timespec bad[] = {
		{ 0, 1000000000 }, { 0, -1 }, { -1, 0 },
	};
	struct asys_call idle = { 0 };
	struct asys_call *nulls[] = { NULL, NULL }, *idles[] = { &idle, NULL };
	struct pending pd;
	struct asys_call *list[] = { &pd.call };
	size_t i;

	start_pending(&pd);
	for (i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		errno = 0;
		ck_assert_int_eq(asys_wait(&pd.call, &bad[i]), -1);
		ck_assert_int_eq(errno, EINVAL);
		errno = 0;
		ck_assert_int_eq(asys_wait_any(list, 1, &bad[i]), -1);
		ck_assert_int_eq(errno, EINVAL);
	}
	/* waits that nothing could ever end */
	errno = 0;
	ck_assert_int_eq(asys_wait(NULL, NULL), -1);
	ck_assert_int_eq(errno, EINVAL);
	errno = 0;
	ck_assert_int_eq(asys_wait(&idle, NULL), -1);
	ck_assert_int_eq(errno, EINVAL);
	errno = 0;
	ck_assert_int_eq(asys_wait_any(nulls, 2, NULL), -1);
	ck_assert_int_eq(errno, EINVAL);
	errno = 0;
	ck_assert_int_eq(asys_wait_any(idles, 2, NULL), -1);
	ck_assert_int_eq(errno, EINVAL);
	errno = 0;
	ck_assert_int_eq(asys_wait_any(NULL, 0, NULL), -1);
	ck_assert_int_eq(errno, EINVAL);
	release(&pd);
	finish_pending(&pd);
}
END_TEST

struct waiter {
	pthread_t thread;
	struct asys_call *call;
	struct asys_call **list;
	size_t n;
	int untimed;	/* wait with no timeout */
	int ret, err, returned;
};

static void *wait_thread(void *arg)
{
	struct waiter *w = arg;
	struct timespec t = ms_ts(30000), *tp = w->untimed ? NULL : &t;

	if (w->list)
		w->ret = asys_wait_any(w->list, w->n, tp);
	else
		w->ret = asys_wait(w->call, tp);
	w->err = errno;
	__atomic_store_n(&w->returned, 1, __ATOMIC_SEQ_CST);
	return NULL;
}

START_TEST(every_waiter_wakes)
{
	struct pending pd;
	struct waiter w[8];
	int i;

	start_pending(&pd);
	for (i = 0; i < 8; i++) {
		memset(&w[i], 0, sizeof w[i]);
		w[i].call = &pd.call;
		ck_assert_int_eq(pthread_create(&w[i].thread, NULL, wait_thread, &w[i]), 0);
	}
	release(&pd);
	for (i = 0; i < 8; i++) {
		ck_assert_int_eq(pthread_join(w[i].thread, NULL), 0);
		ck_assert_int_eq(w[i].ret, 0);
	}
	finish_pending(&pd);
}
END_TEST

/* wait_any finds the one call that completed, among many pending ones. */
START_TEST(wait_any_returns_the_finished_call)
{
	const size_t n = _i ? 300 : 2;
	struct pending *pd = calloc(n, sizeof *pd);
	struct asys_call **list = calloc(n + 2, sizeof *list);
	struct asys_config cfg = { .max_blocking_threads = 400 }, old;
	struct waiter w = { 0 };
	size_t i, pick = n / 2;

	ck_assert_int_eq(asys_configure(&cfg, &old), 0);
	list[0] = NULL;	/* NULL entries are ignored */
	for (i = 0; i < n; i++) {
		start_pending(&pd[i]);
		list[i + 1] = &pd[i].call;
	}
	list[n + 1] = NULL;
	w.list = list;
	w.n = n + 2;
	ck_assert_int_eq(pthread_create(&w.thread, NULL, wait_thread, &w), 0);
	release(&pd[pick]);
	ck_assert_int_eq(pthread_join(w.thread, NULL), 0);
	ck_assert_int_eq(w.ret, (int)pick + 1);
	for (i = 0; i < n; i++)
		if (i != pick)
			release(&pd[i]);
	for (i = 0; i < n; i++)
		finish_pending(&pd[i]);
	free(pd);
	free(list);
	ck_assert_int_eq(asys_configure(&old, NULL), 0);
}
END_TEST

static int handled;

static void on_signal(int sig)
{
	(void)sig;
	__atomic_fetch_add(&handled, 1, __ATOMIC_SEQ_CST);
}

/*
 * A signal handler ends the wait with EINTR, SA_RESTART or not (glibc's
 * aio_suspend ignores SA_RESTART handlers when it has no timeout).  The
 * waiter may not be asleep yet when a signal comes, so signal until it
 * returns.
 */
static void check_eintr(size_t n, int flags)
{
	struct sigaction sa = { .sa_handler = on_signal, .sa_flags = flags };
	struct pending *pd = calloc(n, sizeof *pd);
	struct asys_call **list = calloc(n, sizeof *list);
	struct waiter w = { 0 };
	struct timespec tick = ms_ts(1);
	double deadline = now_sec() + 20;
	size_t i;

	sigemptyset(&sa.sa_mask);
	ck_assert_int_eq(sigaction(SIGUSR1, &sa, NULL), 0);
	for (i = 0; i < n; i++) {
		start_pending(&pd[i]);
		list[i] = &pd[i].call;
	}
	if (n > 1)
		w.list = list;
	w.call = list[0];
	w.n = n;
	/* the untimed wait with an SA_RESTART handler is the case glibc gets wrong */
	w.untimed = flags & SA_RESTART;
	ck_assert_int_eq(pthread_create(&w.thread, NULL, wait_thread, &w), 0);
	while (!__atomic_load_n(&w.returned, __ATOMIC_SEQ_CST) && now_sec() < deadline) {
		pthread_kill(w.thread, SIGUSR1);
		nanosleep(&tick, NULL);
	}
	ck_assert_int_eq(pthread_join(w.thread, NULL), 0);
	ck_assert_int_eq(w.ret, -1);
	ck_assert_int_eq(w.err, EINTR);
	ck_assert_int_gt(handled, 0);
	for (i = 0; i < n; i++) {
		/* still pending: queued or running, never finished by the signal */
		ck_assert_uint_lt(asys_state(&pd[i].call), ASYS_DONE);
		release(&pd[i]);
		finish_pending(&pd[i]);
	}
	free(pd);
	free(list);
}

START_TEST(signal_interrupts_wait)
{
	check_eintr(1, _i ? SA_RESTART : 0);
}
END_TEST

START_TEST(signal_interrupts_wait_any)
{
	check_eintr(5, _i ? SA_RESTART : 0);
}
END_TEST

START_TEST(signal_interrupts_wait_any_long)
{
	struct asys_config cfg = { .max_blocking_threads = 300 };

	ck_assert_int_eq(asys_configure(&cfg, NULL), 0);
	check_eintr(200, _i ? SA_RESTART : 0);
}
END_TEST

/* Completions in a loop with a waiter racing each one: no lost wake-up. */
START_TEST(no_lost_wakeups)
{
	unsigned long n = scaled(20000), i;
	struct asys_call c;
	struct asys_call *list[] = { &c };
	struct timespec zero = ms_ts(0);

	for (i = 0; i < n; i++) {
		asys_prep(&c, SYS_nanosleep, (long)&zero, 0, 0, 0, 0, 0);
		ck_assert_int_eq(asys_submit(list, 1), 0);
		if (i & 1)
			ck_assert_int_eq(asys_wait_any(list, 1, NULL), 0);
		else
			ck_assert_int_eq(asys_wait(&c, NULL), 0);
		ck_assert_uint_eq(asys_state(&c), ASYS_DONE);
		ck_assert_int_eq(c.result, 0);
	}
}
END_TEST

static Suite *wait_suite(void)
{
	Suite *s = suite_create("asys_wait");
	TCase *t = tcase_create("wait");
	TCase *sig = tcase_create("signals");

	tcase_set_timeout(t, 120);
	tcase_add_test(t, wait_returns_at_once_when_final);
	tcase_add_test(t, wait_times_out);
	tcase_add_test(t, bad_arguments_are_einval);
	tcase_add_test(t, every_waiter_wakes);
	tcase_add_loop_test(t, wait_any_returns_the_finished_call, 0, 2);
	tcase_add_test(t, no_lost_wakeups);
	suite_add_tcase(s, t);
	tcase_set_timeout(sig, 60);
	tcase_add_loop_test(sig, signal_interrupts_wait, 0, 2);
	tcase_add_loop_test(sig, signal_interrupts_wait_any, 0, 2);
	tcase_add_loop_test(sig, signal_interrupts_wait_any_long, 0, 2);
	suite_add_tcase(s, sig);
	return s;
}

TEST_MAIN(wait_suite)
