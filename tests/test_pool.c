/*
 * The thread-pool backend: bounded growth, idle exit, no starvation of file
 * I/O by calls that block, asys_configure(), where calls run (worker
 * threads, every signal blocked, calls one at a time on one worker), and
 * tuning from the environment.
 *
 * Every test sets its own configuration first: in Check's fork mode each
 * test runs in a fresh child.  The environment tests re-execute this
 * program (RTAIO_TEST_POOL_PROBE set) so that the engine really starts
 * fresh and reads the environment on its first use.
 */
#include <pthread.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <sys/wait.h>

#include "testutil.h"

#define PROBE_VAR "RTAIO_TEST_POOL_PROBE"

extern char **environ;

/* CK_NOFORK: every test shares one process, and the workers of earlier tests. */
static enum fork_status fork_mode;

/*
 * Tests that count threads need a process of their own (Check's fork mode,
 * the default); under CK_FORK=no (valgrind, gdb) they are skipped.
 */
static bool own_process(const char *test)
{
	if (fork_mode != CK_NOFORK)
		return true;
	fprintf(stderr, "%s: skipped, it needs fork mode\n", test);
	return false;
}

/* --- helpers --- */

static void set_config(unsigned threads, unsigned blocking, unsigned idle_msec)
{
	struct asys_config cfg = { threads, blocking, idle_msec };

	ck_assert_int_eq(asys_configure(&cfg, NULL), 0);
}

static struct asys_config get_config(void)
{
	struct asys_config cfg;

	ck_assert_int_eq(asys_configure(NULL, &cfg), 0);
	return cfg;
}

static void submit(struct asys_call *const list[], size_t n)
{
	ck_assert_msg(asys_submit(list, n) == 0, "asys_submit: %s", strerror(errno));
}

static void submit1(struct asys_call *c)
{
	struct asys_call *list[] = { c };

	submit(list, 1);
}

/* thread_count() without Check's assertions, which only work inside a test. */
static int probe_threads(void)
{
	DIR *d = opendir("/proc/self/task");
	struct dirent *e;
	int n = 0;

	if (!d)
		return -1;
	while ((e = readdir(d)))
		if (e->d_name[0] != '.')
			n++;
	closedir(d);
	return n;
}

static void nap(void)
{
	struct timespec t = ms_ts(2);

	nanosleep(&t, NULL);
}

static void *nothing(void *arg)
{
	*(pid_t *)arg = gettid();
	return arg;
}

/*
 * The thread count before the engine starts any worker.  A thread is
 * created and joined first, so that a runtime that starts a helper thread
 * with the first pthread_create (ThreadSanitizer) has done so already.
 * Under qemu-user the joined thread's task lives on for a while in the
 * emulator's code, in no state that tells it apart (pthread_join returns
 * once the guest's thread is done): wait until it is gone, lest it count.
 */
static int base_threads(void)
{
	pthread_t t;
	pid_t tid = 0;

	ck_assert_int_eq(pthread_create(&t, NULL, nothing, &tid), 0);
	ck_assert_int_eq(pthread_join(t, NULL), 0);
	if (under_qemu()) {
		double end = now_sec() + 20.0;
		char path[64];

		snprintf(path, sizeof path, "/proc/self/task/%d", (int)tid);
		while (access(path, F_OK) == 0) {
			ck_assert_msg(now_sec() < end, "thread %d still in /proc", (int)tid);
			nap();
		}
	}
	return thread_count();
}

static int count_state(const struct asys_call *c, int n, unsigned state)
{
	int i, k = 0;

	for (i = 0; i < n; i++)
		if (asys_state(&c[i]) == state)
			k++;
	return k;
}

/* Poll until `n` of the calls are RUNNING; false after `ms` milliseconds. */
static bool wait_running(const struct asys_call *c, int n_calls, int n, long ms,
			 int *peak)
{
	double end = now_sec() + (double)ms / 1000.0;

	for (;;) {
		int k = count_state(c, n_calls, ASYS_RUNNING), t = thread_count();

		if (peak && t > *peak)
			*peak = t;
		if (k == n)
			return true;
		if (now_sec() > end)
			return false;
		nap();
	}
}

/* A call that must finish within `ms` milliseconds (a prompt completion, not a hang guard). */
static void wait_within(struct asys_call *c, long ms)
{
	struct timespec t = ms_ts(ms);

	ck_assert_msg(asys_wait(c, &t) == 0, "asys_wait: %s (state %u)", strerror(errno),
		      asys_state(c));
}

static void fill_pipe(int wfd, size_t n)
{
	char buf[512];

	ck_assert_uint_le(n, sizeof buf);
	memset(buf, 'x', n);
	ck_assert_int_eq(write(wfd, buf, n), (ssize_t)n);
}

/* `n` one-byte reads of pipe end rfd into buf, bounded or not: n workers RUNNING. */
static void occupy_workers(struct asys_call *r, char *buf, int n, int rfd, int bounded)
{
	struct asys_call **list = calloc((size_t)n, sizeof *list);
	int i;

	ck_assert_ptr_nonnull(list);
	for (i = 0; i < n; i++) {
		prep_pipe_read(&r[i], rfd, &buf[i], 1, bounded);
		list[i] = &r[i];
	}
	submit(list, (size_t)n);
	ck_assert(wait_running(r, n, n, 20000, NULL));
	free(list);
}

/* --- growth and shrinking --- */

/*
 * max_threads 4, max_blocking_threads 8: 200 pipe reads that block, 200
 * preads of a file and 50 pipe reads that take bounded slots never make
 * more than 12 workers; exactly 8 blocking and 4 bounded calls run at once;
 * the preads finish while the 200 blocking reads are stuck.
 */
START_TEST(growth_is_bounded)
{
	enum { NB = 200, NF = 200, NX = 50 };
	static struct asys_call blk[NB], file[NF], bnd[NX];
	static struct asys_call *lb[NB], *lf[NF], *lx[NX];
	static char bbuf[NB], xbuf[NX];
	static uint64_t fbuf[NF];
	int a[2], x[2], i, k, base, peak;
	int fd;

	if (!own_process("growth_is_bounded"))
		return;
	fd = pattern_file(NF * 8);
	set_config(4, 8, 60000);
	base = base_threads();
	peak = base;
	ck_assert_int_eq(pipe2(a, O_CLOEXEC), 0);
	ck_assert_int_eq(pipe2(x, O_CLOEXEC), 0);

	for (i = 0; i < NB; i++) {
		prep_pipe_read(&blk[i], a[0], &bbuf[i], 1, 0);
		lb[i] = &blk[i];
	}
	submit(lb, NB);
	ck_assert_msg(wait_running(blk, NB, 8, 20000, &peak), "blocking reads running: %d",
		      count_state(blk, NB, ASYS_RUNNING));

	for (i = 0; i < NF; i++) {
		prep_at(&file[i], SYS_pread64, fd, (long)&fbuf[i], 8, 8 * i);
		lf[i] = &file[i];
	}
	submit(lf, NF);
	for (i = 0; i < NF; i++) {
		wait_done(&file[i]);
		ck_assert_int_eq(file[i].result, 8);
		for (k = 0; k < 8; k++)
			ck_assert_uint_eq(((unsigned char *)&fbuf[i])[k], pattern_byte(8 * i + k));
		if (i % 16 == 0 && thread_count() > peak)
			peak = thread_count();
	}
	ck_assert_int_eq(count_state(blk, NB, ASYS_RUNNING), 8);

	for (i = 0; i < NX; i++) {
		prep_pipe_read(&bnd[i], x[0], &xbuf[i], 1, 1);
		lx[i] = &bnd[i];
	}
	submit(lx, NX);
	ck_assert_msg(wait_running(bnd, NX, 4, 20000, &peak), "bounded reads running: %d",
		      count_state(bnd, NX, ASYS_RUNNING));
	/* every slot is taken, and no more: the rest is queued */
	ck_assert_int_eq(count_state(blk, NB, ASYS_RUNNING), 8);
	ck_assert_int_eq(count_state(blk, NB, ASYS_QUEUED), NB - 8);
	ck_assert_int_eq(count_state(bnd, NX, ASYS_RUNNING), 4);
	ck_assert_int_eq(count_state(bnd, NX, ASYS_QUEUED), NX - 4);
	if (thread_count() > peak)
		peak = thread_count();
	ck_assert_int_eq(thread_count(), base + 12);

	fill_pipe(a[1], NB);
	fill_pipe(x[1], NX);
	for (i = 0; i < NB; i++) {
		wait_done(&blk[i]);
		ck_assert_int_eq(blk[i].result, 1);
		ck_assert_int_eq(bbuf[i], 'x');
		if (i % 16 == 0 && thread_count() > peak)
			peak = thread_count();
	}
	for (i = 0; i < NX; i++) {
		wait_done(&bnd[i]);
		ck_assert_int_eq(bnd[i].result, 1);
		ck_assert_int_eq(xbuf[i], 'x');
	}
	ck_assert_msg(peak <= base + 12, "%d threads at the peak, %d at the start", peak, base);
	close(a[0]);
	close(a[1]);
	close(x[0]);
	close(x[1]);
	close(fd);
}
END_TEST

/* With idle_msec 50, the workers exit once the work is done; the pool starts again on demand. */
START_TEST(idle_workers_exit)
{
	enum { N = 8 };
	struct asys_call r[N], f;
	char buf[N];
	uint64_t v;
	int p[2], i, base, fd;
	double end;

	if (!own_process("idle_workers_exit"))
		return;
	fd = pattern_file(4096);
	set_config(4, 8, 50);
	base = base_threads();
	ck_assert_int_eq(pipe2(p, O_CLOEXEC), 0);
	occupy_workers(r, buf, N, p[0], 0);
	ck_assert_int_ge(thread_count(), base + N);
	fill_pipe(p[1], N);
	for (i = 0; i < N; i++) {
		wait_done(&r[i]);
		ck_assert_int_eq(r[i].result, 1);
	}

	end = now_sec() + 20.0;
	while (thread_count() > base) {
		ck_assert_msg(now_sec() < end, "%d workers left of %d", thread_count() - base, N);
		nap();
	}
	ck_assert_int_eq(thread_count(), base);

	/* the pool starts again from nothing, and shrinks again */
	prep_at(&f, SYS_pread64, fd, (long)&v, 8, 0);
	submit1(&f);
	wait_done(&f);
	ck_assert_int_eq(f.result, 8);
	end = now_sec() + 20.0;
	while (thread_count() > base) {
		ck_assert_msg(now_sec() < end, "the new worker never exited");
		nap();
	}
	close(p[0]);
	close(p[1]);
	close(fd);
}
END_TEST

/* --- no starvation --- */

/*
 * Pipe reads that wait forever, `nreads` of them on their own pipes, with
 * room for `blocking` of them at once and a single bounded worker: a pread
 * of a regular file still completes promptly, so the reads took blocking
 * workers, not the bounded one.
 */
static void file_io_not_starved(int nreads, unsigned blocking)
{
	struct asys_call *r = calloc((size_t)nreads, sizeof *r), **list = calloc((size_t)nreads,
										 sizeof *list);
	int (*p)[2] = calloc((size_t)nreads, sizeof *p);
	char *buf = calloc((size_t)nreads, 1);
	int running = nreads < (int)blocking ? nreads : (int)blocking;
	int i, k, fd = pattern_file(65536);
	unsigned char data[64];
	struct asys_call f;

	ck_assert(r && list && p && buf);
	set_config(1, blocking, 60000);
	for (i = 0; i < nreads; i++) {
		ck_assert_int_eq(pipe2(p[i], O_CLOEXEC), 0);
		prep_pipe_read(&r[i], p[i][0], &buf[i], 1, 0);
		list[i] = &r[i];
	}
	submit(list, (size_t)nreads);
	ck_assert_msg(wait_running(r, nreads, running, 30000, NULL), "%d of %d reads running",
		      count_state(r, nreads, ASYS_RUNNING), running);
	ck_assert_int_eq(count_state(r, nreads, ASYS_QUEUED), nreads - running);

	prep_at(&f, SYS_pread64, fd, (long)data, sizeof data, 40000);
	submit1(&f);
	wait_within(&f, 5000);
	ck_assert_int_eq(f.result, sizeof data);
	for (k = 0; k < (int)sizeof data; k++)
		ck_assert_uint_eq(data[k], pattern_byte(40000 + k));
	/* the reads are all still waiting */
	ck_assert_int_eq(count_state(r, nreads, ASYS_RUNNING), running);

	for (i = 0; i < nreads; i++)
		ck_assert_int_eq(write(p[i][1], "r", 1), 1);
	for (i = 0; i < nreads; i++) {
		wait_done(&r[i]);
		ck_assert_int_eq(r[i].result, 1);
		ck_assert_int_eq(buf[i], 'r');
		close(p[i][0]);
		close(p[i][1]);
	}
	free(r);
	free(list);
	free(p);
	free(buf);
	close(fd);
}

/*
 * ASYS_UNBOUNDED: the caller's word, no probe.  With the only bounded
 * worker held by a pipe read, a pread of a regular file flagged so runs on
 * a blocking worker; without the flag it would wait behind the pipe read.
 */
START_TEST(unbounded_flag_takes_a_blocking_worker)
{
	int p[2], fd = pattern_file(8192);
	struct asys_call hold, f;
	unsigned char data[64];
	char byte;

	set_config(1, 2, 60000);
	ck_assert_int_eq(pipe2(p, O_CLOEXEC), 0);
	prep_pipe_read(&hold, p[0], &byte, 1, 1);	/* holds the bounded worker */
	submit1(&hold);
	ck_assert(wait_running(&hold, 1, 1, 30000, NULL));
	prep_at(&f, SYS_pread64, fd, (long)data, sizeof data, 4096);
	f.flags = ASYS_UNBOUNDED;
	submit1(&f);
	wait_within(&f, 5000);
	ck_assert_int_eq(f.result, sizeof data);
	ck_assert_uint_eq(data[0], pattern_byte(4096));
	ck_assert_uint_eq(asys_state(&hold), ASYS_RUNNING);
	ck_assert_int_eq(write(p[1], "h", 1), 1);
	wait_done(&hold);
	close(p[0]);
	close(p[1]);
	close(fd);
}
END_TEST

START_TEST(many_blocking_calls_do_not_starve_file_io)
{
	file_io_not_starved(100, 128);
}
END_TEST

START_TEST(full_blocking_pool_does_not_starve_file_io)
{
	file_io_not_starved(10, 2);
}
END_TEST

/* --- ASYS_SERIAL --- */

/*
 * Serial calls stand in for buffered writes: pipe reads flagged bounded
 * and serial, which run until the pipe is written to.  A call on another
 * pipe, submitted after them, is the probe: the queue is first in, first
 * out, so once it runs every earlier call has been taken from the queue.
 */
struct serial_case {
	int p[2], q[2];
	struct asys_call c[4], probe;
	char got[4], byte;
};

static void serial_start(struct serial_case *t, uint32_t flags, bool one_submission)
{
	struct asys_call *list[5];
	int i, n = 4;

	ck_assert_int_eq(pipe2(t->p, O_CLOEXEC), 0);
	ck_assert_int_eq(pipe2(t->q, O_CLOEXEC), 0);
	for (i = 0; i < n; i++) {
		prep_pipe_read(&t->c[i], t->p[0], &t->got[i], 1, flags & ASYS_UNBOUNDED ? 0 : 1);
		t->c[i].flags |= flags;
		list[i] = &t->c[i];
	}
	prep_pipe_read(&t->probe, t->q[0], &t->byte, 1, 1);
	t->probe.flags |= ASYS_SERIAL;	/* on another fd: held up by nothing */
	list[n] = &t->probe;
	if (one_submission) {
		submit(list, (size_t)n + 1);
	} else {
		for (i = 0; i <= n; i++) {
			submit1(list[i]);
			if (i == 0)
				ck_assert(wait_running(t->c, 1, 1, 30000, NULL));
		}
	}
	ck_assert_msg(wait_running(&t->probe, 1, 1, 30000, NULL), "the probe never ran");
}

/* Write `data` to the serial pipe; the calls still queued get it in order. */
static void serial_finish(struct serial_case *t, const char *data)
{
	int i, k = 0;
	size_t n = strlen(data);

	ck_assert_int_eq(write(t->p[1], data, n), (ssize_t)n);
	for (i = 0; i < 4; i++) {
		if (asys_state(&t->c[i]) == ASYS_CANCELED)
			continue;
		wait_within(&t->c[i], 30000);
		ck_assert_int_eq(t->c[i].result, 1);
		ck_assert_msg(t->got[i] == data[k], "call %d read '%c', expected '%c'", i,
			      t->got[i], data[k]);
		k++;
	}
	ck_assert_int_eq(write(t->q[1], "!", 1), 1);
	wait_done(&t->probe);
	close(t->p[0]);
	close(t->p[1]);
	close(t->q[0]);
	close(t->q[1]);
}

/*
 * Serial calls on one fd run one at a time, in order.  _i bit 0: one at a
 * time, else submitted together; bit 1: under the io_uring backend, which
 * hands serial calls to the thread pool.
 */
START_TEST(serial_calls_on_one_fd_run_one_at_a_time)
{
	struct serial_case t;

	if (_i & 2) {
		if (!own_process("serial_calls_on_one_fd_run_one_at_a_time") || !require_uring())
			return;
	}
	set_config(8, 2, 60000);
	serial_start(&t, ASYS_SERIAL, !(_i & 1));
	ck_assert_int_eq(asys_state(&t.c[0]), ASYS_RUNNING);
	ck_assert_int_eq(count_state(t.c, 4, ASYS_QUEUED), 3);
	serial_finish(&t, "abcd");
}
END_TEST

/*
 * Serial calls queued together wake one worker for their fd, and one for
 * the probe: the first takes its fd's slot as it is queued, so the others
 * wait there rather than each waking a worker that would find it taken.
 */
START_TEST(serial_calls_queued_together_wake_one_worker)
{
	struct serial_case t;

	if (!own_process("serial_calls_queued_together_wake_one_worker"))
		return;
	set_config(8, 2, 60000);
	ck_assert_int_eq(count_threads("rtaio-worker", 0), 0);
	serial_start(&t, ASYS_SERIAL, true);
	ck_assert_int_eq(count_threads("rtaio-worker", 0), 2);
	serial_finish(&t, "abcd");
}
END_TEST

/*
 * A serial call canceled while it waits for a worker hands its fd's slot
 * on: the calls after it still run, one at a time, in order.
 */
START_TEST(serial_call_canceled_before_it_starts_passes_its_turn_on)
{
	struct asys_call r, c[3], *list[3];
	char rb, got[3];
	int p[2], q[2], i;

	set_config(1, 2, 60000);
	ck_assert_int_eq(pipe2(p, O_CLOEXEC), 0);
	ck_assert_int_eq(pipe2(q, O_CLOEXEC), 0);
	occupy_workers(&r, &rb, 1, q[0], 1);	/* the one bounded worker */
	for (i = 0; i < 3; i++) {
		prep_pipe_read(&c[i], p[0], &got[i], 1, 1);
		c[i].flags |= ASYS_SERIAL;
		list[i] = &c[i];
	}
	submit(list, 3);
	ck_assert_int_eq(asys_cancel(&c[0]), 0);
	ck_assert_int_eq(c[0].result, -ECANCELED);
	fill_pipe(q[1], 1);
	wait_done(&r);
	ck_assert_msg(wait_running(c, 3, 1, 30000, NULL), "no serial call runs");
	ck_assert_int_eq(asys_state(&c[1]), ASYS_RUNNING);
	ck_assert_int_eq(asys_state(&c[2]), ASYS_QUEUED);
	ck_assert_int_eq(write(p[1], "xy", 2), 2);
	wait_done(&c[1]);
	wait_done(&c[2]);
	ck_assert_int_eq(c[1].result, 1);
	ck_assert_int_eq(c[2].result, 1);
	ck_assert(got[1] == 'x' && got[2] == 'y');
	for (i = 0; i < 2; i++) {
		close(p[i]);
		close(q[i]);
	}
}
END_TEST

START_TEST(serial_call_waiting_can_be_canceled)
{
	struct serial_case t;

	set_config(8, 2, 60000);
	serial_start(&t, ASYS_SERIAL, true);
	ck_assert_int_eq(asys_cancel(&t.c[2]), 0);
	ck_assert_int_eq(asys_state(&t.c[2]), ASYS_CANCELED);
	ck_assert_int_eq(t.c[2].result, -ECANCELED);
	ck_assert_int_eq(asys_cancel(&t.c[0]), -1);	/* running */
	ck_assert_int_eq(errno, EBUSY);
	serial_finish(&t, "abc");
}
END_TEST

/* A serial call that may block forever holds up nothing: the hint is ignored. */
START_TEST(unbounded_serial_calls_run_concurrently)
{
	struct serial_case t;

	set_config(8, 8, 60000);
	serial_start(&t, ASYS_SERIAL | ASYS_UNBOUNDED, true);
	ck_assert(wait_running(t.c, 4, 4, 30000, NULL));
	serial_finish(&t, "aaaa");	/* concurrent reads: in any order */
}
END_TEST

/*
 * A fork child starts with no serial call running: its own serial call on
 * the fd number of one that runs in the parent is not held up.
 */
START_TEST(fork_child_serial_call_runs)
{
	struct serial_case t;
	int fd = pattern_file(4096), status;
	pid_t pid;

	set_config(8, 2, 60000);
	start_all_workers();
	serial_start(&t, ASYS_SERIAL, true);
	pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		struct asys_call c, *l[1] = { &c };
		struct timespec ten = { 10, 0 };
		unsigned char b;

		if (dup2(fd, t.p[0]) < 0)
			_exit(2);
		prep_at(&c, SYS_pread64, t.p[0], (long)&b, 1, 7);
		c.flags = ASYS_SERIAL;
		if (asys_submit(l, 1) < 0 || asys_wait(&c, &ten) < 0)
			_exit(3);
		_exit(c.result == 1 && b == pattern_byte(7) ? 0 : 4);
	}
	ck_assert_int_eq(waitpid(pid, &status, 0), pid);
	ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 0, "child status %#x", status);
	serial_finish(&t, "abcd");
	close(fd);
}
END_TEST

/* --- asys_configure --- */

START_TEST(configure_returns_old_values_and_zero_keeps)
{
	struct asys_config set = { 3, 5, 700 }, old, cur;

	ck_assert_int_eq(asys_configure(&set, NULL), 0);
	cur = get_config();
	ck_assert_uint_eq(cur.max_threads, 3);
	ck_assert_uint_eq(cur.max_blocking_threads, 5);
	ck_assert_uint_eq(cur.idle_msec, 700);

	set = (struct asys_config){ 6, 7, 800 };
	memset(&old, 0xff, sizeof old);
	ck_assert_int_eq(asys_configure(&set, &old), 0);
	ck_assert_uint_eq(old.max_threads, 3);
	ck_assert_uint_eq(old.max_blocking_threads, 5);
	ck_assert_uint_eq(old.idle_msec, 700);

	/* zero keeps a value */
	set = (struct asys_config){ 0, 0, 0 };
	ck_assert_int_eq(asys_configure(&set, &old), 0);
	ck_assert_uint_eq(old.max_threads, 6);
	ck_assert_uint_eq(old.max_blocking_threads, 7);
	ck_assert_uint_eq(old.idle_msec, 800);
	set = (struct asys_config){ 0, 9, 0 };
	ck_assert_int_eq(asys_configure(&set, NULL), 0);
	cur = get_config();
	ck_assert_uint_eq(cur.max_threads, 6);
	ck_assert_uint_eq(cur.max_blocking_threads, 9);
	ck_assert_uint_eq(cur.idle_msec, 800);
	set = (struct asys_config){ 2, 0, 0 };
	ck_assert_int_eq(asys_configure(&set, NULL), 0);
	set = (struct asys_config){ 0, 0, 5 };
	ck_assert_int_eq(asys_configure(&set, NULL), 0);
	cur = get_config();
	ck_assert_uint_eq(cur.max_threads, 2);
	ck_assert_uint_eq(cur.max_blocking_threads, 9);
	ck_assert_uint_eq(cur.idle_msec, 5);
	/* neither argument: a no-op */
	ck_assert_int_eq(asys_configure(NULL, NULL), 0);
	cur = get_config();
	ck_assert_uint_eq(cur.max_threads, 2);
}
END_TEST

START_TEST(configure_rejects_out_of_range)
{
	static const struct asys_config bad[] = {
		{ 4097, 0, 0 }, { 0, 4097, 0 }, { 0, 0, 3600001 },
		{ 4097, 4097, 3600001 }, { 2, 2, 3600001 }, { 0xffffffffu, 1, 1 },
	};
	struct asys_config set = { 3, 5, 700 }, old, cur;
	size_t i;

	ck_assert_int_eq(asys_configure(&set, NULL), 0);
	for (i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		errno = 0;
		ck_assert_int_eq(asys_configure(&bad[i], &old), -1);
		ck_assert_int_eq(errno, EINVAL);
		/* all or nothing: no field changed */
		cur = get_config();
		ck_assert_uint_eq(cur.max_threads, 3);
		ck_assert_uint_eq(cur.max_blocking_threads, 5);
		ck_assert_uint_eq(cur.idle_msec, 700);
	}
	/* the limits themselves are allowed */
	set = (struct asys_config){ 4096, 4096, 3600000 };
	ck_assert_int_eq(asys_configure(&set, NULL), 0);
	cur = get_config();
	ck_assert_uint_eq(cur.max_threads, 4096);
	ck_assert_uint_eq(cur.max_blocking_threads, 4096);
	ck_assert_uint_eq(cur.idle_msec, 3600000);
}
END_TEST

/*
 * A worker that has just finished a call counts, for a submission made at
 * that moment, as one about to take the next; the slot it frees a moment
 * later must get a worker too.  A bounded pread, and as soon as it is
 * final 4 bounded pipe reads, with 4 slots: all 4 run.  Before the fix, in
 * about one round in four only 3 ran, the 4th waiting beside a sleeping
 * worker until some other call finished.
 */
START_TEST(slot_freed_by_a_finishing_worker_is_filled)
{
	enum { ROUNDS = 50 };
	int fd, p[2], round, i;

	if (!own_process("slot_freed_by_a_finishing_worker_is_filled"))
		return;
	fd = pattern_file(8);
	set_config(4, 8, 60000);
	for (round = 0; round < ROUNDS; round++) {
		struct asys_call f, r[4];
		uint64_t word;
		char buf[4];

		ck_assert_int_eq(pipe2(p, O_CLOEXEC), 0);
		prep_at(&f, SYS_pread64, fd, (long)&word, 8, 0);
		f.flags |= ASYS_BOUNDED;
		submit1(&f);
		wait_done(&f);
		ck_assert_int_eq(f.result, 8);
		occupy_workers(r, buf, 4, p[0], 1);
		fill_pipe(p[1], 4);
		for (i = 0; i < 4; i++) {
			wait_done(&r[i]);
			ck_assert_int_eq(r[i].result, 1);
		}
		close(p[0]);
		close(p[1]);
	}
	close(fd);
}
END_TEST

/*
 * With one worker of each class busy, a queued call of each class waits;
 * raising that class's limit starts it at once, and only that class's.
 */
START_TEST(raising_limits_starts_queued_calls)
{
	struct asys_call hb, hw, vf, vp;
	char cb, cw, cp;
	int pb[2], pw[2], pp[2];
	uint64_t v;
	int fd = pattern_file(4096);

	set_config(1, 1, 60000);
	ck_assert_int_eq(pipe2(pb, O_CLOEXEC), 0);
	ck_assert_int_eq(pipe2(pw, O_CLOEXEC), 0);
	ck_assert_int_eq(pipe2(pp, O_CLOEXEC), 0);
	prep_pipe_read(&hb, pb[0], &cb, 1, 1);
	prep_pipe_read(&hw, pw[0], &cw, 1, 0);
	submit1(&hb);
	submit1(&hw);
	ck_assert(wait_running(&hb, 1, 1, 10000, NULL));
	ck_assert(wait_running(&hw, 1, 1, 10000, NULL));

	prep_at(&vf, SYS_pread64, fd, (long)&v, 8, 0);
	ck_assert_int_eq(write(pp[1], "p", 1), 1);
	prep_pipe_read(&vp, pp[0], &cp, 1, 0);	/* data waiting: it completes once it starts */
	submit1(&vf);
	submit1(&vp);
	ck_assert_uint_eq(asys_state(&vf), ASYS_QUEUED);
	ck_assert_uint_eq(asys_state(&vp), ASYS_QUEUED);

	set_config(2, 0, 0);
	wait_within(&vf, 5000);
	ck_assert_int_eq(vf.result, 8);
	ck_assert_uint_eq(asys_state(&vp), ASYS_QUEUED);
	set_config(0, 2, 0);
	wait_within(&vp, 5000);
	ck_assert_int_eq(vp.result, 1);
	ck_assert_int_eq(cp, 'p');

	ck_assert_uint_eq(asys_state(&hb), ASYS_RUNNING);
	ck_assert_uint_eq(asys_state(&hw), ASYS_RUNNING);
	ck_assert_int_eq(write(pb[1], "b", 1), 1);
	ck_assert_int_eq(write(pw[1], "w", 1), 1);
	wait_done(&hb);
	wait_done(&hw);
	ck_assert_int_eq(hb.result, 1);
	ck_assert_int_eq(hw.result, 1);
	close(pb[0]);
	close(pb[1]);
	close(pw[0]);
	close(pw[1]);
	close(pp[0]);
	close(pp[1]);
	close(fd);
}
END_TEST

/* --- where calls run --- */

/* What a done hook found out about the thread it ran on. */
struct where {
	int hooks;
	pid_t tid;
	int unblocked;		/* a signal the thread does not block, or 0 */
};

/*
 * Signals that no thread can block here: none natively; under qemu-user
 * the target's last real-time signals, which the emulator keeps for
 * itself (its own glibc's, mapped onto the host's), so that a mask asking
 * for them does not hold them.  Found by asking for every signal.
 */
static sigset_t unblockable;

static void note_unblockable(void)
{
	sigset_t all, got, old;
	char why[160];
	int sig, n, found = 0;

	sigemptyset(&unblockable);
	if (!under_qemu())
		return;
	sigfillset(&all);
	ck_assert_int_eq(pthread_sigmask(SIG_BLOCK, &all, &old), 0);
	ck_assert_int_eq(pthread_sigmask(SIG_BLOCK, NULL, &got), 0);
	ck_assert_int_eq(pthread_sigmask(SIG_SETMASK, &old, NULL), 0);
	n = snprintf(why, sizeof why, "a worker's mask holding signals");
	for (sig = SIGRTMIN; sig <= SIGRTMAX; sig++)
		if (!sigismember(&got, sig)) {
			sigaddset(&unblockable, sig);
			found++;
			if ((size_t)n < sizeof why)
				n += snprintf(why + n, sizeof why - (size_t)n, " %d", sig);
		}
	if (found && (size_t)n < sizeof why)
		snprintf(why + n, sizeof why - (size_t)n, " (qemu keeps them for itself)");
	if (found)
		skip_under_qemu(why);
}

static void where_hook(struct asys_call *c)
{
	struct where *w = c->data;
	sigset_t set;
	int sig;

	w->tid = gettid();
	w->unblocked = -1;
	if (pthread_sigmask(SIG_BLOCK, NULL, &set) == 0) {
		w->unblocked = 0;
		for (sig = 1; sig < 32 && !w->unblocked; sig++)
			if (sig != SIGKILL && sig != SIGSTOP && !sigismember(&set, sig))
				w->unblocked = sig;
		for (sig = SIGRTMIN; sig <= SIGRTMAX && !w->unblocked; sig++)
			if (!sigismember(&set, sig) && !sigismember(&unblockable, sig))
				w->unblocked = sig;
	}
	__atomic_fetch_add(&w->hooks, 1, __ATOMIC_RELEASE);
}

/* The thread id in /proc/thread-self's target, "PID/task/TID". */
static pid_t tid_of_link(const char *link)
{
	const char *s = strstr(link, "/task/");

	ck_assert_ptr_nonnull(s);
	return (pid_t)strtol(s + 6, NULL, 10);
}

/*
 * One call of every kind (metadata, file I/O on a regular file, I/O on a
 * pipe, a sleep, a poll, a pipe read marked ASYS_BOUNDED, chains of both
 * classes) runs on a worker, not on the submitting thread, and that worker
 * blocks every signal although the submitter blocks none.
 */
START_TEST(calls_run_on_workers_with_signals_blocked)
{
	enum { N = 12 };
	struct asys_call c[N];
	struct asys_call *list[N];
	struct where w[N];
	sigset_t none;
	struct timespec zero = ms_ts(0);
	struct pollfd pfd;
	char link1[128], link2[128], path[64], b[4], pb[4];
	uint64_t v;
	int p[2], i, fd = pattern_file(4096);
	pid_t me = gettid();
	double end;

	sigemptyset(&none);
	ck_assert_int_eq(pthread_sigmask(SIG_SETMASK, &none, NULL), 0);
	note_unblockable();
	set_config(4, 8, 60000);
	ck_assert_int_eq(pipe2(p, O_CLOEXEC), 0);
	fill_pipe(p[1], 4);
	snprintf(path, sizeof path, "/proc/self/fd/%d", fd);
	pfd.fd = p[0];
	pfd.events = POLLIN;
	memset(link1, 0, sizeof link1);
	memset(link2, 0, sizeof link2);

	asys_prep(&c[0], SYS_fsync, fd, 0, 0, 0, 0, 0);
	asys_prep(&c[1], SYS_readlinkat, AT_FDCWD, (long)"/proc/thread-self", (long)link1,
		  sizeof link1 - 1, 0, 0);
	prep_at(&c[2], SYS_pread64, fd, (long)&v, 8, 0);
	prep_pipe_read(&c[3], p[0], &pb[0], 1, 0);
	prep_pipe_read(&c[4], p[0], &pb[1], 1, 1);
	asys_prep(&c[5], SYS_nanosleep, (long)&zero, 0, 0, 0, 0, 0);
	asys_prep(&c[6], SYS_ppoll, (long)&pfd, 1, (long)&zero, 0, 0, 0);
	/* a chain that passes an fd along: blocking class */
	asys_prep(&c[7], SYS_openat, AT_FDCWD, (long)path, O_RDONLY | O_CLOEXEC, 0, 0, 0);
	asys_prep(&c[8], SYS_read, -1, (long)b, 4, 0, 0, 0);
	asys_link(&c[8], 7, 0);
	asys_prep(&c[9], SYS_close, -1, 0, 0, 0, 0, 0);
	asys_link(&c[9], 7, 0);
	/* a pipe read, then the thread it runs on */
	prep_pipe_read(&c[10], p[0], &pb[2], 1, 0);
	asys_prep(&c[11], SYS_readlinkat, AT_FDCWD, (long)"/proc/thread-self", (long)link2,
		  sizeof link2 - 1, 0, 0);
	asys_link(&c[11], 10, -1);
	for (i = 0; i < N; i++) {
		memset(&w[i], 0, sizeof w[i]);
		c[i].done = where_hook;
		c[i].data = &w[i];
		list[i] = &c[i];
	}
	submit(list, N);
	end = now_sec() + 10.0;
	for (i = 0; i < N; i++) {
		wait_done(&c[i]);
		ck_assert_msg(c[i].result >= 0, "call %d: %s", i, strerror((int)-c[i].result));
		while (__atomic_load_n(&w[i].hooks, __ATOMIC_ACQUIRE) == 0) {
			ck_assert_msg(now_sec() < end, "call %d: no done hook", i);
			sched_yield();
		}
		ck_assert_int_eq(w[i].hooks, 1);
		ck_assert_msg(w[i].tid != me, "call %d completed on the submitting thread", i);
		ck_assert_msg(w[i].unblocked == 0, "call %d: its worker does not block signal %d",
			      i, w[i].unblocked);
	}
	/* the system calls themselves ran elsewhere */
	ck_assert_int_ne(tid_of_link(link1), me);
	ck_assert_int_ne(tid_of_link(link2), me);
	ck_assert_int_eq(c[8].result, 4);
	ck_assert_uint_eq((unsigned char)b[0], pattern_byte(0));
	/* the submitter's own mask is untouched */
	{
		sigset_t cur;

		ck_assert_int_eq(pthread_sigmask(SIG_BLOCK, NULL, &cur), 0);
		ck_assert(!sigismember(&cur, SIGINT));
		ck_assert(!sigismember(&cur, SIGUSR1));
		ck_assert(!sigismember(&cur, SIGRTMIN));
	}
	close(p[0]);
	close(p[1]);
	close(fd);
}
END_TEST

/* The worker that ran a readlinkat of /proc/thread-self, from its result. */
static pid_t run_on_worker(struct asys_call *c, char *link, size_t size)
{
	memset(link, 0, size);
	asys_prep(c, SYS_readlinkat, AT_FDCWD, (long)"/proc/thread-self", (long)link,
		  (long)size - 1, 0, 0);
	submit1(c);
	wait_done(c);
	ck_assert_int_gt(c->result, 0);
	return tid_of_link(link);
}

/* Start `n` bounded workers (at most 16) and let them go idle. */
static void idle_workers(int n)
{
	struct asys_call r[16];
	char buf[16];
	int p[2], i;

	ck_assert_int_le(n, 16);
	ck_assert_int_eq(pipe2(p, O_CLOEXEC), 0);
	occupy_workers(r, buf, n, p[0], 1);
	fill_pipe(p[1], n);
	for (i = 0; i < n; i++)
		wait_done(&r[i]);
	close(p[0]);
	close(p[1]);
}

/*
 * Calls made one at a time, each submitted once the last one's worker is
 * back asleep, all run on the worker that went idle last, although three
 * more sleep: one warm worker, not workers taking turns (each turn a
 * wake-up on another CPU), and the others left to time out.  The first
 * call is not counted: the four workers that start the test finish
 * together, and one may still be on its way to sleep when the others are.
 */
START_TEST(one_call_at_a_time_keeps_to_one_worker)
{
	enum { W = 4, N = 16 };
	struct asys_call c;
	char link[128];
	pid_t first = 0;
	int i;

	if (!own_process("one_call_at_a_time_keeps_to_one_worker"))
		return;
	set_config(W, 1, 600000);
	idle_workers(W);
	for (i = 0; i <= N; i++) {
		pid_t tid;

		settle_rtaio_threads(20000);
		ck_assert_int_eq(count_threads("rtaio-", 1), 0);
		tid = run_on_worker(&c, link, sizeof link);
		if (i == 1)
			first = tid;
		ck_assert_msg(i < 1 || tid == first, "call %d ran on worker %d, call 1 on %d", i,
			      (int)tid, (int)first);
	}
	ck_assert_int_eq(count_threads("rtaio-worker", 0), W);
}
END_TEST

/*
 * Each call submitted as soon as the last one is complete, while its
 * worker is still on its way back from completing it: with three more
 * workers asleep, all run on that one worker.  A worker completing a call
 * without a done hook counts as awake; otherwise each submission found it
 * busy and woke another, and two workers took turns.
 */
START_TEST(next_call_at_completion_keeps_to_one_worker)
{
	enum { W = 4, N = 2000 };
	struct asys_call c;
	char link[128];
	pid_t first;
	int i;

	if (!own_process("next_call_at_completion_keeps_to_one_worker"))
		return;
	set_config(W, 1, 600000);
	idle_workers(W);
	settle_rtaio_threads(20000);
	first = run_on_worker(&c, link, sizeof link);
	for (i = 1; i < N; i++) {
		pid_t tid = run_on_worker(&c, link, sizeof link);

		ck_assert_msg(tid == first, "call %d ran on worker %d, call 0 on %d", i,
			      (int)tid, (int)first);
	}
	ck_assert_int_eq(count_threads("rtaio-worker", 0), W);
}
END_TEST

static struct asys_call hook_inner;
static int hook_inner_waited;

/* A done hook that submits a call and waits for it. */
static void wait_for_another_call(struct asys_call *c)
{
	static const struct timespec zero = { 0, 0 };
	struct asys_call *l[1] = { &hook_inner };
	struct timespec t = ms_ts(30000);
	int r = -1;

	(void)c;
	asys_prep(&hook_inner, SYS_nanosleep, (long)&zero, 0, 0, 0, 0, 0);
	if (asys_submit(l, 1) == 0)
		r = asys_wait(&hook_inner, &t);
	__atomic_store_n(&hook_inner_waited, r == 0 ? 1 : -1, __ATOMIC_RELEASE);
}

/*
 * A done hook may wait for a call it submits: the worker running the hook
 * is busy, and the call gets another worker.
 */
START_TEST(done_hook_may_wait_for_another_call)
{
	static const struct timespec zero = { 0, 0 };
	struct asys_call c;
	double end;

	set_config(4, 4, 60000);
	asys_prep(&c, SYS_nanosleep, (long)&zero, 0, 0, 0, 0, 0);
	c.done = wait_for_another_call;
	submit1(&c);
	wait_done(&c);
	end = now_sec() + 40.0;
	while (!__atomic_load_n(&hook_inner_waited, __ATOMIC_ACQUIRE) && now_sec() < end)
		nap();
	ck_assert_int_eq(__atomic_load_n(&hook_inner_waited, __ATOMIC_ACQUIRE), 1);
	ck_assert_int_eq(hook_inner.result, 0);
}
END_TEST

/* --- exit --- */

/* The "hook" child's done hook and the flags it shares with the child's main thread. */
static int hook_started, hook_go, hook_armed;

/*
 * Keep this worker busy until the library's destructor has dismissed the
 * other, idle worker (its thread disappears): the destructor has then run,
 * and this worker becomes idle only afterwards.
 */
static void outlive_destructor_hook(struct asys_call *c)
{
	double end = now_sec() + 20.0;
	int n;

	__atomic_store_n(&hook_started, 1, __ATOMIC_RELEASE);
	while (!__atomic_load_n(&hook_go, __ATOMIC_ACQUIRE) && now_sec() < end)
		sched_yield();
	n = probe_threads();
	__atomic_store_n(&hook_armed, 1, __ATOMIC_RELEASE);
	while (probe_threads() >= n && now_sec() < end)
		sched_yield();
}

enum exit_mode {
	EXIT_AFTER_WAIT,	/* exit() as soon as the last call is done */
	EXIT_WITH_CALL_RUNNING,	/* a pipe read still RUNNING at exit() */
	EXIT_DURING_HOOK,	/* a done hook still running at exit() */
};

static const char *const exit_mode_name[] = {
	"exit right after the last completion", "exit with a call running",
	"exit while a done hook runs",
};

/*
 * In a child: run `n` calls on as many workers, sleep in asys_wait() until
 * each is done, and exit() at once.  Exit status 0, or what failed.
 */
static void exit_child(int n, enum exit_mode mode)
{
	struct asys_config cfg = { (unsigned)n + 1, 4, 60000 };
	struct timespec zero = { 0, 0 }, limit = ms_ts(20000);
	struct asys_call c[16], r, h;
	struct asys_call *list[16];
	int i, p[2];
	char byte;
	double end = now_sec() + 20.0;

	if (asys_configure(&cfg, NULL))
		_exit(10);
	if (mode == EXIT_WITH_CALL_RUNNING) {
		if (pipe2(p, O_CLOEXEC))
			_exit(11);
		prep_pipe_read(&r, p[0], &byte, 1, 0);
		list[0] = &r;
		if (asys_submit(list, 1))
			_exit(12);
		while (asys_state(&r) != ASYS_RUNNING)
			if (now_sec() > end)
				_exit(13);
	}
	if (mode == EXIT_DURING_HOOK) {
		asys_prep(&h, SYS_nanosleep, (long)&zero, 0, 0, 0, 0, 0);
		h.done = outlive_destructor_hook;
		list[0] = &h;
		if (asys_submit(list, 1))
			_exit(16);
		while (!__atomic_load_n(&hook_started, __ATOMIC_ACQUIRE))
			if (now_sec() > end)
				_exit(17);
	}
	for (i = 0; i < n; i++) {
		asys_prep(&c[i], SYS_nanosleep, (long)&zero, 0, 0, 0, 0, 0);
		list[i] = &c[i];
	}
	if (asys_submit(list, (size_t)n))
		_exit(14);
	for (i = 0; i < n; i++)
		if (asys_wait(&c[i], &limit) || c[i].result != 0)
			_exit(15);
	if (mode == EXIT_DURING_HOOK) {
		/* the other workers are idle now; let the hook count them */
		__atomic_store_n(&hook_go, 1, __ATOMIC_RELEASE);
		while (!__atomic_load_n(&hook_armed, __ATOMIC_ACQUIRE))
			if (now_sec() > end)
				_exit(18);
	}
	exit(0);
}

/*
 * exit() right after the last completion, with a call still running, and
 * while a done hook still runs: the process ends promptly and cleanly.
 * The library's destructor must leave no worker to finish on its own
 * afterwards, unjoined (and, after a dlclose(), running unmapped code).
 * Regression: a worker still busy when the destructor looked (finishing a
 * completion, or in its done hook) used to see the unload flag later, leave
 * and never be joined.  ThreadSanitizer reports such a thread as a leak at
 * exit (status 66); the plain build cannot see it.  EXIT_DURING_HOOK makes
 * the case deterministic, EXIT_AFTER_WAIT is the same race left to chance.
 * Not scaled: the sanitizer builds are the ones that need every child.
 */
START_TEST(exit_leaves_no_worker_behind)
{
	static const struct {
		enum exit_mode mode;
		int children;
	} plan[] = {
		{ EXIT_AFTER_WAIT, 50 },
		{ EXIT_WITH_CALL_RUNNING, 4 },
		{ EXIT_DURING_HOOK, 3 },
	};
	size_t k;
	int i, status;

	for (k = 0; k < sizeof plan / sizeof plan[0]; k++)
		for (i = 0; i < plan[k].children; i++) {
			pid_t pid;

			fflush(NULL);
			pid = fork();
			ck_assert_int_ge(pid, 0);
			if (pid == 0)
				exit_child(1 + i % 4, plan[k].mode);
			status = reap_child(pid, 60000);
			ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 0,
				      "%s, child %d: status %#x%s", exit_mode_name[plan[k].mode], i,
				      status, WIFEXITED(status) && WEXITSTATUS(status) == 66 ?
				      " (a ThreadSanitizer report: see its output above)" : "");
		}
}
END_TEST

/* --- tuning from the environment --- */

/*
 * In the re-executed program: print the configuration that the first use
 * of the engine set up, and the thread counts around it.  Mode "late" sets
 * RTAIO_MAX_THREADS after the program started but before the engine's
 * first use (it counts), and again after it (it does not).
 */
static int probe(const char *mode)
{
	struct asys_config first, later;
	struct asys_call c;
	struct timespec zero = { 0, 0 };
	int before, after;

	if (!strcmp(mode, "late"))
		setenv("RTAIO_MAX_THREADS", "3", 1);
	before = probe_threads();
	if (asys_configure(NULL, &first))
		return 2;
	after = probe_threads();
	later = first;
	if (!strcmp(mode, "late")) {
		setenv("RTAIO_MAX_THREADS", "5", 1);
		asys_prep(&c, SYS_nanosleep, (long)&zero, 0, 0, 0, 0, 0);
		if (asys_submit((struct asys_call *[]){ &c }, 1) || asys_wait(&c, NULL))
			return 3;
		if (asys_configure(NULL, &later))
			return 4;
	}
	printf("%u %u %u %u %d %d\n", first.max_threads, first.max_blocking_threads,
	       first.idle_msec, later.max_threads, before, after);
	return 0;
}

static bool is_tuning_var(const char *entry)
{
	static const char *const vars[] = {
		"RTAIO_MAX_THREADS=", "RTAIO_MAX_BLOCKING_THREADS=", "RTAIO_IDLE_MSEC=",
		PROBE_VAR "=",
	};
	size_t i;

	for (i = 0; i < sizeof vars / sizeof vars[0]; i++)
		if (!strncmp(entry, vars[i], strlen(vars[i])))
			return true;
	return false;
}

struct probe_out {
	unsigned threads, blocking, idle, later;
	int before, after;
};

/* Run this program again as a probe, with `assign` ("NAME=value" or NULL) in its environment. */
static struct probe_out run_probe(const char *mode, const char *assign)
{
	char out[256], modevar[64];
	struct probe_out o;
	size_t n = 0, len = 0;
	char **env;
	int p[2], status;
	ssize_t got;
	pid_t pid;

	while (environ[n])
		n++;
	env = calloc(n + 3, sizeof *env);
	ck_assert_ptr_nonnull(env);
	n = 0;
	for (char **e = environ; *e; e++)
		if (!is_tuning_var(*e))
			env[n++] = *e;
	snprintf(modevar, sizeof modevar, "%s=%s", PROBE_VAR, mode);
	env[n++] = modevar;
	if (assign)
		env[n++] = (char *)assign;
	env[n] = NULL;

	ck_assert_int_eq(pipe2(p, O_CLOEXEC), 0);
	fflush(NULL);
	pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		char *argv[] = { (char *)"test_pool-probe", NULL };

		if (dup2(p[1], STDOUT_FILENO) < 0)
			_exit(126);
		execve("/proc/self/exe", argv, env);
		_exit(127);
	}
	close(p[1]);
	while (len < sizeof out - 1 && (got = read(p[0], out + len, sizeof out - 1 - len)) > 0)
		len += (size_t)got;
	out[len] = 0;
	close(p[0]);
	ck_assert_int_eq(waitpid(pid, &status, 0), pid);
	ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 0,
		      "probe %s with %s: status %#x, output '%s'", mode, assign ? assign : "-",
		      status, out);
	ck_assert_msg(sscanf(out, "%u %u %u %u %d %d", &o.threads, &o.blocking, &o.idle,
			     &o.later, &o.before, &o.after) == 6, "probe output '%s'", out);
	free(env);
	return o;
}

/* One variable set to one value; 0 in an expectation: the default. */
static const struct env_case {
	const char *assign;
	unsigned threads, blocking, idle;
} env_cases[] = {
	{ "RTAIO_MAX_THREADS=1", 1, 0, 0 },
	{ "RTAIO_MAX_THREADS=7", 7, 0, 0 },
	{ "RTAIO_MAX_THREADS=4096", 4096, 0, 0 },
	{ "RTAIO_MAX_THREADS=0", 0, 0, 0 },
	{ "RTAIO_MAX_THREADS=abc", 0, 0, 0 },
	{ "RTAIO_MAX_THREADS=99999", 0, 0, 0 },
	{ "RTAIO_MAX_THREADS=4097", 0, 0, 0 },
	{ "RTAIO_MAX_THREADS=", 0, 0, 0 },
	{ "RTAIO_MAX_THREADS=12x", 0, 0, 0 },
	{ "RTAIO_MAX_THREADS=-1", 0, 0, 0 },
	{ "RTAIO_MAX_THREADS=99999999999999999999999", 0, 0, 0 },
	{ "RTAIO_MAX_BLOCKING_THREADS=3", 0, 3, 0 },
	{ "RTAIO_MAX_BLOCKING_THREADS=0", 0, 0, 0 },
	{ "RTAIO_MAX_BLOCKING_THREADS=5000", 0, 0, 0 },
	{ "RTAIO_IDLE_MSEC=250", 0, 0, 250 },
	{ "RTAIO_IDLE_MSEC=3600000", 0, 0, 3600000 },
	{ "RTAIO_IDLE_MSEC=3600001", 0, 0, 0 },
	{ "RTAIO_IDLE_MSEC=0", 0, 0, 0 },
	{ "RTAIO_IDLE_MSEC=1s", 0, 0, 0 },
};

START_TEST(environment_sets_defaults)
{
	const struct env_case *tc = &env_cases[_i];
	struct probe_out dflt = run_probe("plain", NULL), o;

	/* the documented default for max_threads */
	ck_assert_uint_eq(dflt.threads, 20);
	ck_assert_uint_gt(dflt.blocking, 0);
	ck_assert_uint_gt(dflt.idle, 0);
	/* the engine's set-up starts no thread */
	ck_assert_int_eq(dflt.after, dflt.before);

	o = run_probe("plain", tc->assign);
	ck_assert_msg(o.threads == (tc->threads ? tc->threads : dflt.threads),
		      "%s: max_threads %u", tc->assign, o.threads);
	ck_assert_msg(o.blocking == (tc->blocking ? tc->blocking : dflt.blocking),
		      "%s: max_blocking_threads %u", tc->assign, o.blocking);
	ck_assert_msg(o.idle == (tc->idle ? tc->idle : dflt.idle), "%s: idle_msec %u",
		      tc->assign, o.idle);
}
END_TEST

START_TEST(environment_is_read_at_first_use)
{
	struct probe_out o = run_probe("late", NULL);

	ck_assert_uint_eq(o.threads, 3);
	ck_assert_uint_eq(o.later, 3);
}
END_TEST

static Suite *pool_suite(void)
{
	Suite *s = suite_create("thread pool");
	TCase *size = tcase_create("size");
	TCase *starve = tcase_create("starvation");
	TCase *conf = tcase_create("asys_configure");
	TCase *workers = tcase_create("workers");
	TCase *env = tcase_create("environment");
	TCase *ex = tcase_create("exit");
	TCase *serial = tcase_create("serial");

	tcase_add_test(size, growth_is_bounded);
	tcase_add_test(size, idle_workers_exit);
	tcase_set_timeout(size, 120);
	suite_add_tcase(s, size);
	tcase_add_test(starve, many_blocking_calls_do_not_starve_file_io);
	tcase_add_test(starve, unbounded_flag_takes_a_blocking_worker);
	tcase_add_test(starve, full_blocking_pool_does_not_starve_file_io);
	tcase_set_timeout(starve, 120);
	suite_add_tcase(s, starve);
	tcase_add_test(conf, configure_returns_old_values_and_zero_keeps);
	tcase_add_test(conf, configure_rejects_out_of_range);
	tcase_add_test(conf, raising_limits_starts_queued_calls);
	tcase_add_test(conf, slot_freed_by_a_finishing_worker_is_filled);
	tcase_set_timeout(conf, 60);
	suite_add_tcase(s, conf);
	tcase_add_test(workers, calls_run_on_workers_with_signals_blocked);
	tcase_add_test(workers, one_call_at_a_time_keeps_to_one_worker);
	tcase_add_test(workers, next_call_at_completion_keeps_to_one_worker);
	tcase_add_test(workers, done_hook_may_wait_for_another_call);
	tcase_set_timeout(workers, 60);
	suite_add_tcase(s, workers);
	tcase_add_loop_test(serial, serial_calls_on_one_fd_run_one_at_a_time, 0, 4);
	tcase_add_test(serial, serial_calls_queued_together_wake_one_worker);
	tcase_add_test(serial, serial_call_waiting_can_be_canceled);
	tcase_add_test(serial, serial_call_canceled_before_it_starts_passes_its_turn_on);
	tcase_add_test(serial, unbounded_serial_calls_run_concurrently);
	if (!skip_under_qemu(QEMU_FORK_WITH_THREADS))
		tcase_add_test(serial, fork_child_serial_call_runs);
	tcase_set_timeout(serial, 60);
	suite_add_tcase(s, serial);
	tcase_add_test(ex, exit_leaves_no_worker_behind);
	tcase_set_timeout(ex, 300);
	suite_add_tcase(s, ex);
	if (!skip_under_qemu(QEMU_EXEC_SELF ", the environment probes")) {
		tcase_add_loop_test(env, environment_sets_defaults, 0,
				    (int)(sizeof env_cases / sizeof env_cases[0]));
		tcase_add_test(env, environment_is_read_at_first_use);
		tcase_set_timeout(env, 60);
		suite_add_tcase(s, env);
	}
	return s;
}

int main(void)
{
	const char *mode = getenv(PROBE_VAR);
	SRunner *sr;
	int failed;

	/* the thread pool is what this program tests, probes included */
	use_backend("threads");
	if (mode)
		return probe(mode);
	sr = srunner_create(pool_suite());
	fork_mode = srunner_fork_status(sr);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
