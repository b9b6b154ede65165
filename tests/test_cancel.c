/*
 * asys_cancel: cancellation through the per-call state machine.
 *
 * A call is kept QUEUED deterministically by shrinking the pool to one
 * worker of the call's class and occupying that worker with a pipe read
 * that waits until the test writes to the pipe; asys_state() tells when
 * that blocker is RUNNING.  No test sleeps to synchronise.
 *
 * That is the thread backend's queue, so those tests run under it (both
 * passes of the suite); on io_uring a call in the kernel is RUNNING, and the
 * "io_uring" cases check what cancelling one does: a pipe or socket read is
 * interrupted, a call waiting for room in the ring is cancelled like a
 * queued one.
 */
#include <limits.h>
#include <pthread.h>
#include <stdbool.h>
#include <sys/stat.h>

#include "testutil.h"

/* --- helpers --- */

/* What the done hook saw; a call's data points at one. */
struct rec {
	int hooks;		/* runs of the done hook */
	unsigned state;		/* asys_state() inside the hook */
	long result;		/* result inside the hook */
	pid_t tid;		/* thread the hook ran on */
};

static void rec_hook(struct asys_call *c)
{
	struct rec *r = c->data;

	r->state = asys_state(c);
	r->result = c->result;
	r->tid = gettid();
	__atomic_fetch_add(&r->hooks, 1, __ATOMIC_RELEASE);
}

static int hooks_of(struct rec *r)
{
	return __atomic_load_n(&r->hooks, __ATOMIC_ACQUIRE);
}

static void with_hook(struct asys_call *c, struct rec *r)
{
	memset(r, 0, sizeof *r);
	c->done = rec_hook;
	c->data = r;
}

static double deadline_in(long ms)
{
	return now_sec() + (double)ms / 1000.0;
}

/* Spin until the call is in `state`; false after `ms` milliseconds. */
static bool wait_state(const struct asys_call *c, unsigned state, long ms)
{
	double end = deadline_in(ms);

	while (asys_state(c) != state) {
		if (now_sec() > end)
			return false;
		sched_yield();
	}
	return true;
}

/* Spin until the hook of a final call has run (it runs after the state is published). */
static void wait_hook(struct rec *r, int n)
{
	double end = deadline_in(10000);

	while (hooks_of(r) < n) {
		ck_assert_msg(now_sec() < end, "done hook did not run (%d of %d)", hooks_of(r), n);
		sched_yield();
	}
}

static void set_pool(unsigned threads, unsigned blocking)
{
	struct asys_config cfg = { threads, blocking, 0 };

	ck_assert_int_eq(asys_configure(&cfg, NULL), 0);
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

/* asys_cancel() that must fail with `err`. */
static void cancel_fails(struct asys_call *c, int err)
{
	errno = 0;
	ck_assert_int_eq(asys_cancel(c), -1);
	ck_assert_msg(errno == err, "asys_cancel: errno %d (%s), expected %d (%s)", errno,
		      strerror(errno), err, strerror(err));
}

/*
 * A pipe read that occupies the only worker of its class (bounded or
 * blocking) until release_blocker().
 */
struct blocker {
	int p[2];
	char byte;
	struct asys_call c;
};

static void start_blocker(struct blocker *b, int bounded)
{
	ck_assert_int_eq(pipe2(b->p, O_CLOEXEC), 0);
	prep_pipe_read(&b->c, b->p[0], &b->byte, 1, bounded);
	submit1(&b->c);
	ck_assert_msg(wait_state(&b->c, ASYS_RUNNING, 10000), "blocker never started (state %u)",
		      asys_state(&b->c));
}

static void release_blocker(struct blocker *b)
{
	ck_assert_int_eq(write(b->p[1], "!", 1), 1);
	wait_done(&b->c);
	ck_assert_uint_eq(asys_state(&b->c), ASYS_DONE);
	ck_assert_int_eq(b->c.result, 1);
	ck_assert_int_eq(b->byte, '!');
	close(b->p[0]);
	close(b->p[1]);
}

static off_t file_size(int fd)
{
	struct stat st;

	ck_assert_int_eq(fstat(fd, &st), 0);
	return st.st_size;
}

static int open_fds(void)
{
	DIR *d = opendir("/proc/self/fd");
	struct dirent *e;
	int n = 0;

	ck_assert_ptr_nonnull(d);
	while ((e = readdir(d)))
		if (e->d_name[0] != '.')
			n++;
	closedir(d);
	return n;
}

static void assert_canceled(const struct asys_call *c, struct rec *r)
{
	ck_assert_uint_eq(asys_state(c), ASYS_CANCELED);
	ck_assert_int_eq(c->result, -ECANCELED);
	ck_assert_int_eq(hooks_of(r), 1);
	ck_assert_uint_eq(r->state, ASYS_CANCELED);
	ck_assert_int_eq(r->result, -ECANCELED);
}

static void assert_done(const struct asys_call *c, struct rec *r, long result)
{
	ck_assert_uint_eq(asys_state(c), ASYS_DONE);
	ck_assert_int_eq(c->result, result);
	wait_hook(r, 1);
	ck_assert_int_eq(hooks_of(r), 1);
	ck_assert_uint_eq(r->state, ASYS_DONE);
	ck_assert_int_eq(r->result, result);
}

/* --- single calls --- */

START_TEST(cancel_queued_call)
{
	struct blocker b;
	struct asys_call v, fence;
	struct rec rv, rf;
	int fd = pattern_file(0);

	set_pool(1, 0);
	start_blocker(&b, 1);
	prep_at(&v, SYS_pwrite64, fd, (long)"X", 1, 0);
	with_hook(&v, &rv);
	submit1(&v);
	ck_assert_uint_eq(asys_state(&v), ASYS_QUEUED);

	ck_assert_int_eq(asys_cancel(&v), 0);
	/* final, with its hook run exactly once, before asys_cancel returned */
	assert_canceled(&v, &rv);
	ck_assert_int_eq(rv.tid, gettid());
	ck_assert_int_eq(asys_wait(&v, NULL), 0);

	/*
	 * Free the worker, then run a later call of the same class to the
	 * end: the queue is FIFO, so had the cancelled call stayed queued it
	 * would have run by now.
	 */
	release_blocker(&b);
	prep_at(&fence, SYS_pwrite64, fd, (long)"F", 1, 1);
	with_hook(&fence, &rf);
	submit1(&fence);
	wait_done(&fence);
	assert_done(&fence, &rf, 1);
	ck_assert_int_eq(file_size(fd), 2);
	{
		char buf[2];

		ck_assert_int_eq(pread(fd, buf, 2, 0), 2);
		ck_assert_int_eq(buf[0], 0);	/* the hole: "X" never landed */
		ck_assert_int_eq(buf[1], 'F');
	}
	ck_assert_int_eq(hooks_of(&rv), 1);
	close(fd);
}
END_TEST

START_TEST(cancel_queued_blocking_call)
{
	struct blocker b;
	struct asys_call v;
	struct rec rv;
	struct timespec t = ms_ts(0);
	int p[2];
	char c = 0;

	/* the blocking class has its own queue; cancelling from it works alike */
	set_pool(0, 1);
	start_blocker(&b, 0);
	ck_assert_int_eq(pipe2(p, O_CLOEXEC | O_NONBLOCK), 0);
	ck_assert_int_eq(write(p[1], "q", 1), 1);
	prep_pipe_read(&v, p[0], &c, 1, 0);
	with_hook(&v, &rv);
	submit1(&v);
	ck_assert_uint_eq(asys_state(&v), ASYS_QUEUED);
	ck_assert_int_eq(asys_cancel(&v), 0);
	assert_canceled(&v, &rv);
	release_blocker(&b);
	/* a later blocking call has run, so the cancelled read never will */
	{
		struct asys_call s;

		asys_prep(&s, SYS_nanosleep, (long)&t, 0, 0, 0, 0, 0);
		submit1(&s);
		wait_done(&s);
		ck_assert_int_eq(s.result, 0);
	}
	ck_assert_int_eq(read(p[0], &c, 1), 1);	/* the byte is still in the pipe */
	ck_assert_int_eq(c, 'q');
	close(p[0]);
	close(p[1]);
}
END_TEST

START_TEST(cancel_running_call_is_ebusy)
{
	struct blocker b;
	struct rec r;

	set_pool(1, 0);
	ck_assert_int_eq(pipe2(b.p, O_CLOEXEC), 0);
	prep_pipe_read(&b.c, b.p[0], &b.byte, 1, 1);
	with_hook(&b.c, &r);
	submit1(&b.c);
	ck_assert(wait_state(&b.c, ASYS_RUNNING, 10000));
	cancel_fails(&b.c, EBUSY);
	ck_assert_uint_eq(asys_state(&b.c), ASYS_RUNNING);
	ck_assert_int_eq(hooks_of(&r), 0);
	/* it still completes normally */
	ck_assert_int_eq(write(b.p[1], "!", 1), 1);
	wait_done(&b.c);
	assert_done(&b.c, &r, 1);
	ck_assert_int_eq(b.byte, '!');
	cancel_fails(&b.c, EALREADY);
	close(b.p[0]);
	close(b.p[1]);
}
END_TEST

START_TEST(cancel_done_call_is_ealready)
{
	struct asys_call c;
	struct rec r;
	int fd = pattern_file(0);

	prep_at(&c, SYS_pwrite64, fd, (long)"abc", 3, 0);
	with_hook(&c, &r);
	submit1(&c);
	wait_done(&c);
	assert_done(&c, &r, 3);
	cancel_fails(&c, EALREADY);
	/* nothing changed */
	ck_assert_uint_eq(asys_state(&c), ASYS_DONE);
	ck_assert_int_eq(c.result, 3);
	ck_assert_int_eq(hooks_of(&r), 1);
	/* a failed call is final too */
	asys_prep(&c, SYS_fsync, -1, 0, 0, 0, 0, 0);
	submit1(&c);
	wait_done(&c);
	ck_assert_int_eq(c.result, -EBADF);
	cancel_fails(&c, EALREADY);
	ck_assert_int_eq(c.result, -EBADF);
	close(fd);
}
END_TEST

START_TEST(cancel_unsubmitted_call_is_einval)
{
	struct asys_call zero = { 0 }, prepped;
	struct rec r;

	cancel_fails(NULL, EINVAL);
	cancel_fails(&zero, EINVAL);
	ck_assert_uint_eq(asys_state(&zero), ASYS_IDLE);
	asys_prep(&prepped, SYS_fsync, 0, 0, 0, 0, 0, 0);
	with_hook(&prepped, &r);
	cancel_fails(&prepped, EINVAL);
	ck_assert_uint_eq(asys_state(&prepped), ASYS_IDLE);
	ck_assert_int_eq(hooks_of(&r), 0);
	/* a list that submission refused leaves its calls IDLE */
	{
		struct asys_call bad;
		struct asys_call *list[] = { &prepped, &bad };

		asys_prep(&bad, SYS_getpid, 0, 0, 0, 0, 0, 0);
		ck_assert_int_eq(asys_submit(list, 2), -1);
		cancel_fails(&prepped, EINVAL);
		cancel_fails(&bad, EINVAL);
	}
}
END_TEST

START_TEST(second_cancel_is_ealready)
{
	struct blocker b;
	struct asys_call v;
	struct rec rv;
	int fd = pattern_file(0);

	set_pool(1, 0);
	start_blocker(&b, 1);
	prep_at(&v, SYS_pwrite64, fd, (long)"X", 1, 0);
	with_hook(&v, &rv);
	submit1(&v);
	ck_assert_int_eq(asys_cancel(&v), 0);
	cancel_fails(&v, EALREADY);
	cancel_fails(&v, EALREADY);
	assert_canceled(&v, &rv);
	release_blocker(&b);
	ck_assert_int_eq(hooks_of(&rv), 1);
	ck_assert_int_eq(file_size(fd), 0);
	close(fd);
}
END_TEST

struct waiter {
	struct asys_call *c;
	pid_t tid;
	int rc, err;
	unsigned state;
	long result;
};

static void *wait_thread(void *arg)
{
	struct waiter *w = arg;
	struct timespec t = ms_ts(20000);

	__atomic_store_n(&w->tid, gettid(), __ATOMIC_RELEASE);
	w->rc = asys_wait(w->c, &t);
	w->err = errno;
	w->state = asys_state(w->c);
	w->result = w->c->result;
	return NULL;
}

START_TEST(cancel_wakes_waiter)
{
	struct blocker b;
	struct asys_call v;
	struct waiter w = { &v, 0, 0, 0, 0, 0 };
	pthread_t th;
	double end;
	pid_t tid;
	int fd = pattern_file(0);

	set_pool(1, 0);
	start_blocker(&b, 1);
	prep_at(&v, SYS_pwrite64, fd, (long)"X", 1, 0);
	submit1(&v);
	ck_assert_int_eq(pthread_create(&th, NULL, wait_thread, &w), 0);
	/* cancel once the waiter sleeps in asys_wait: the cancel must wake it */
	end = deadline_in(10000);
	while (!(tid = __atomic_load_n(&w.tid, __ATOMIC_ACQUIRE))) {
		ck_assert(now_sec() < end);
		sched_yield();
	}
	ck_assert_msg(thread_asleep(tid, 10000), "the waiter never went to sleep");
	ck_assert_uint_eq(asys_state(&v), ASYS_QUEUED);
	ck_assert_int_eq(asys_cancel(&v), 0);
	ck_assert_int_eq(pthread_join(th, NULL), 0);
	ck_assert_msg(w.rc == 0, "waiter: asys_wait %d: %s", w.rc, strerror(w.err));
	ck_assert_uint_eq(w.state, ASYS_CANCELED);
	ck_assert_int_eq(w.result, -ECANCELED);
	release_blocker(&b);
	close(fd);
}
END_TEST

START_TEST(resubmit_cancelled_call)
{
	struct blocker b;
	struct asys_call v;
	struct rec rv;
	char buf[1];
	int fd = pattern_file(0);

	set_pool(1, 0);
	start_blocker(&b, 1);
	prep_at(&v, SYS_pwrite64, fd, (long)"X", 1, 0);
	with_hook(&v, &rv);
	submit1(&v);
	ck_assert_int_eq(asys_cancel(&v), 0);
	assert_canceled(&v, &rv);

	/* submitted again as is, while the worker is still busy: queued anew */
	submit1(&v);
	ck_assert_uint_eq(asys_state(&v), ASYS_QUEUED);
	ck_assert_int_eq(hooks_of(&rv), 1);
	release_blocker(&b);
	wait_done(&v);
	ck_assert_uint_eq(asys_state(&v), ASYS_DONE);
	ck_assert_int_eq(v.result, 1);
	wait_hook(&rv, 2);
	ck_assert_int_eq(hooks_of(&rv), 2);
	ck_assert_uint_eq(rv.state, ASYS_DONE);
	ck_assert_int_eq(rv.result, 1);
	ck_assert_int_eq(pread(fd, buf, 1, 0), 1);
	ck_assert_int_eq(buf[0], 'X');
	cancel_fails(&v, EALREADY);
	close(fd);
}
END_TEST

/* Cancelling one call out of the middle, the head and the tail of the queue leaves the rest. */
START_TEST(cancel_leaves_rest_of_queue)
{
	enum { N = 7 };
	struct blocker b;
	struct asys_call v[N];
	struct asys_call *list[N];
	struct rec r[N];
	char buf[N], want[N];
	int i, fd = pattern_file(0);
	static const int victim[] = { 3, 0, 6, 4 };	/* middle, head, tail, middle again */

	set_pool(1, 0);
	start_blocker(&b, 1);
	for (i = 0; i < N; i++) {
		prep_at(&v[i], SYS_pwrite64, fd, (long)"ABCDEFG" + i, 1, i);
		with_hook(&v[i], &r[i]);
		list[i] = &v[i];
		want[i] = (char)('A' + i);
	}
	submit(list, N);
	for (i = 0; i < 4; i++) {
		ck_assert_int_eq(asys_cancel(&v[victim[i]]), 0);
		assert_canceled(&v[victim[i]], &r[victim[i]]);
		want[victim[i]] = 0;
	}
	for (i = 0; i < N; i++)
		if (want[i])
			ck_assert_uint_eq(asys_state(&v[i]), ASYS_QUEUED);
	release_blocker(&b);
	for (i = 0; i < N; i++) {
		wait_done(&v[i]);
		if (want[i])
			assert_done(&v[i], &r[i], 1);
		else
			assert_canceled(&v[i], &r[i]);
	}
	ck_assert_int_eq(file_size(fd), N - 1);
	memset(buf, 0, sizeof buf);
	ck_assert_int_eq(pread(fd, buf, N, 0), N - 1);
	ck_assert_int_eq(memcmp(buf, want, N), 0);
	close(fd);
}
END_TEST

/* --- chains --- */

START_TEST(cancel_chain_head_cancels_dependents)
{
	struct blocker b;
	struct asys_call c[3];
	struct asys_call *list[] = { &c[0], &c[1], &c[2] };
	struct rec r[3];
	char path[64], buf[16];
	int i, fds, fd = pattern_file(4096);

	snprintf(path, sizeof path, "/proc/self/fd/%d", fd);
	/* a chain with an fd passed along is blocking: fill the blocking pool */
	set_pool(0, 1);
	start_blocker(&b, 0);
	fds = open_fds();
	asys_prep(&c[0], SYS_openat, AT_FDCWD, (long)path, O_RDONLY | O_CLOEXEC, 0, 0, 0);
	asys_prep(&c[1], SYS_read, -1, (long)buf, sizeof buf, 0, 0, 0);
	asys_link(&c[1], 0, 0);
	asys_prep(&c[2], SYS_close, -1, 0, 0, 0, 0, 0);
	asys_link(&c[2], 0, 0);
	for (i = 0; i < 3; i++)
		with_hook(&c[i], &r[i]);
	memset(buf, 0x5a, sizeof buf);
	submit(list, 3);
	for (i = 0; i < 3; i++)
		ck_assert_uint_eq(asys_state(&c[i]), ASYS_QUEUED);

	ck_assert_int_eq(asys_cancel(&c[0]), 0);
	assert_canceled(&c[0], &r[0]);
	for (i = 1; i < 3; i++) {
		wait_done(&c[i]);
		wait_hook(&r[i], 1);
		assert_canceled(&c[i], &r[i]);
		cancel_fails(&c[i], EALREADY);
	}
	release_blocker(&b);
	/* nothing ran: no fd was opened, the buffer is untouched */
	ck_assert_int_eq(open_fds(), fds - 2);	/* minus the blocker's pipe */
	for (i = 0; i < (int)sizeof buf; i++)
		ck_assert_int_eq(buf[i], 0x5a);
	for (i = 0; i < 3; i++)
		ck_assert_int_eq(hooks_of(&r[i]), 1);
	close(fd);
}
END_TEST

/*
 * w0 <- w1 <- w2, w0 <- w3 <- w4 (arrows: links): cancelling the waiting
 * w1 cancels w2, which links to it, and nothing else; w3 links to w0,
 * which succeeds, so w3 and w4 still run.
 */
START_TEST(cancel_waiting_member_cancels_its_dependents)
{
	enum { N = 5 };
	static const int link_to[N] = { -1, 0, 1, 0, 3 };
	static const char want[N] = { 'A', 0, 0, 'D', 'E' };
	struct blocker b;
	struct asys_call w[N];
	struct asys_call *list[N];
	struct rec r[N];
	char buf[N];
	int i, fd = pattern_file(0);

	set_pool(1, 0);
	start_blocker(&b, 1);
	for (i = 0; i < N; i++) {
		prep_at(&w[i], SYS_pwrite64, fd, (long)"ABCDE" + i, 1, i);
		if (link_to[i] >= 0)
			asys_link(&w[i], (unsigned)link_to[i], -1);
		with_hook(&w[i], &r[i]);
		list[i] = &w[i];
	}
	submit(list, N);
	ck_assert_int_eq(asys_cancel(&w[1]), 0);
	assert_canceled(&w[1], &r[1]);
	cancel_fails(&w[1], EALREADY);
	release_blocker(&b);
	for (i = 0; i < N; i++) {
		wait_done(&w[i]);
		wait_hook(&r[i], 1);
		if (want[i])
			assert_done(&w[i], &r[i], 1);
		else
			assert_canceled(&w[i], &r[i]);
	}
	memset(buf, 0, sizeof buf);
	ck_assert_int_eq(pread(fd, buf, N, 0), N);
	ck_assert_int_eq(memcmp(buf, want, N), 0);
	close(fd);
}
END_TEST

/*
 * openat -> pread(fd) -> pread(fd) -> close(fd), every later call taking
 * the fd from openat: cancelling the first pread leaves the fd passing to
 * the others intact.
 */
START_TEST(cancel_member_keeps_result_passing)
{
	struct blocker b;
	struct asys_call c[4];
	struct asys_call *list[] = { &c[0], &c[1], &c[2], &c[3] };
	struct rec r[4];
	unsigned char b1[8], b2[8];
	char path[64];
	int i, fd = pattern_file(8192);

	snprintf(path, sizeof path, "/proc/self/fd/%d", fd);
	set_pool(0, 1);
	start_blocker(&b, 0);
	asys_prep(&c[0], SYS_openat, AT_FDCWD, (long)path, O_RDONLY | O_CLOEXEC, 0, 0, 0);
	prep_at(&c[1], SYS_pread64, -1, (long)b1, 8, 100);
	asys_link(&c[1], 0, 0);
	prep_at(&c[2], SYS_pread64, -1, (long)b2, 8, 5000);
	asys_link(&c[2], 0, 0);
	asys_prep(&c[3], SYS_close, -1, 0, 0, 0, 0, 0);
	asys_link(&c[3], 0, 0);
	for (i = 0; i < 4; i++)
		with_hook(&c[i], &r[i]);
	memset(b1, 0, sizeof b1);
	submit(list, 4);
	ck_assert_int_eq(asys_cancel(&c[1]), 0);
	assert_canceled(&c[1], &r[1]);
	release_blocker(&b);
	for (i = 0; i < 4; i++) {
		wait_done(&c[i]);
		wait_hook(&r[i], 1);
	}
	ck_assert_uint_eq(asys_state(&c[0]), ASYS_DONE);
	ck_assert_int_ge(c[0].result, 0);
	assert_canceled(&c[1], &r[1]);
	assert_done(&c[2], &r[2], 8);
	assert_done(&c[3], &r[3], 0);
	for (i = 0; i < 8; i++) {
		ck_assert_uint_eq(b1[i], 0);
		ck_assert_uint_eq(b2[i], pattern_byte(5000 + i));
	}
	/* close ran on the fd that openat returned */
	ck_assert_int_eq(fcntl((int)c[0].result, F_GETFD), -1);
	ck_assert_int_eq(errno, EBADF);
	close(fd);
}
END_TEST

/*
 * read(pipe) -> pwrite -> pwrite: while the head runs, it cannot be
 * cancelled, but the waiting members can; the head completes normally.
 */
START_TEST(cancel_members_behind_running_head)
{
	struct asys_call c[3];
	struct asys_call *list[] = { &c[0], &c[1], &c[2] };
	struct rec r[3];
	int p[2], i, fd = pattern_file(0);
	char byte = 0;

	ck_assert_int_eq(pipe2(p, O_CLOEXEC), 0);
	prep_pipe_read(&c[0], p[0], &byte, 1, 0);
	prep_at(&c[1], SYS_pwrite64, fd, (long)"1", 1, 0);
	asys_link(&c[1], 0, -1);
	prep_at(&c[2], SYS_pwrite64, fd, (long)"2", 1, 1);
	asys_link(&c[2], 0, -1);
	for (i = 0; i < 3; i++)
		with_hook(&c[i], &r[i]);
	submit(list, 3);
	ck_assert(wait_state(&c[0], ASYS_RUNNING, 10000));
	cancel_fails(&c[0], EBUSY);
	/* the tail first, then the member in the middle */
	ck_assert_int_eq(asys_cancel(&c[2]), 0);
	assert_canceled(&c[2], &r[2]);
	ck_assert_int_eq(asys_cancel(&c[1]), 0);
	assert_canceled(&c[1], &r[1]);
	ck_assert_uint_eq(asys_state(&c[0]), ASYS_RUNNING);
	ck_assert_int_eq(write(p[1], "h", 1), 1);
	wait_done(&c[0]);
	assert_done(&c[0], &r[0], 1);
	ck_assert_int_eq(byte, 'h');
	ck_assert_int_eq(file_size(fd), 0);
	for (i = 1; i < 3; i++)
		ck_assert_int_eq(hooks_of(&r[i]), 1);
	close(p[0]);
	close(p[1]);
	close(fd);
}
END_TEST

/* --- races --- */

/* A random permutation of 0..n-1. */
static void shuffle(int *order, int n, unsigned *seed)
{
	int i;

	for (i = 0; i < n; i++)
		order[i] = i;
	for (i = n - 1; i > 0; i--) {
		int j = (int)(next_rand(seed) % (unsigned)(i + 1)), t = order[i];

		order[i] = order[j];
		order[j] = t;
	}
}

#define RACE_MAX 64

/* Cancelling side of a race: cancel calls in `order`, recording each answer. */
struct canceller {
	struct asys_call **calls;
	int n;
	int count;		/* cancel order[0 .. count-1]; the rest is left alone */
	int order[RACE_MAX];
	int rc[RACE_MAX];
	int err[RACE_MAX];
};

static void cancel_all(struct canceller *k)
{
	int i;

	for (i = 0; i < k->n; i++)
		k->rc[i] = 1;	/* not tried */
	for (i = 0; i < k->count; i++) {
		int j = k->order[i];

		errno = 0;
		k->rc[j] = asys_cancel(k->calls[j]);
		k->err[j] = errno;
	}
}

static void cancel_round(void *k)
{
	cancel_all(k);
}

/*
 * A second thread for a race (a canceller, a writer), driven round by round
 * through two barriers: each round, round(arg) runs between them.
 */
struct helper {
	pthread_t thread;
	pthread_barrier_t go, done;
	void (*round)(void *arg);
	void *arg;
	bool stop;
};

static void *helper_main(void *arg)
{
	struct helper *h = arg;

	for (;;) {
		pthread_barrier_wait(&h->go);
		if (__atomic_load_n(&h->stop, __ATOMIC_ACQUIRE))
			return NULL;
		h->round(h->arg);
		pthread_barrier_wait(&h->done);
	}
}

static void helper_start(struct helper *h, void (*round)(void *arg), void *arg)
{
	memset(h, 0, sizeof *h);
	h->round = round;
	h->arg = arg;
	ck_assert_int_eq(pthread_barrier_init(&h->go, NULL, 2), 0);
	ck_assert_int_eq(pthread_barrier_init(&h->done, NULL, 2), 0);
	ck_assert_int_eq(pthread_create(&h->thread, NULL, helper_main, h), 0);
}

static void helper_stop(struct helper *h)
{
	__atomic_store_n(&h->stop, true, __ATOMIC_RELEASE);
	pthread_barrier_wait(&h->go);
	ck_assert_int_eq(pthread_join(h->thread, NULL), 0);
	pthread_barrier_destroy(&h->go);
	pthread_barrier_destroy(&h->done);
}

/*
 * How the cancellers' answers for call j agree with its end: the number of
 * successful cancels (at most one), after checking that every failure is
 * one that the state machine allows.
 */
static int cancel_wins(struct canceller *const ks[], int nk, int j, unsigned round)
{
	int i, wins = 0;

	for (i = 0; i < nk; i++) {
		if (ks[i]->rc[j] == 1)
			continue;
		if (ks[i]->rc[j] == 0) {
			wins++;
			continue;
		}
		ck_assert_msg(ks[i]->rc[j] == -1 &&
			      (ks[i]->err[j] == EBUSY || ks[i]->err[j] == EALREADY),
			      "round %u call %d: asys_cancel returned %d errno %d (%s)", round, j,
			      ks[i]->rc[j], ks[i]->err[j], strerror(ks[i]->err[j]));
	}
	ck_assert_msg(wins <= 1, "round %u call %d: cancelled %d times", round, j, wins);
	return wins;
}

/* Wait until every call is final and every hook has run once. */
static void wait_round(struct asys_call *const c[], struct rec *r, int n, unsigned round)
{
	double end;
	int i;

	for (i = 0; i < n; i++)
		wait_done(c[i]);
	end = deadline_in(10000);
	for (i = 0; i < n; i++)
		while (hooks_of(&r[i]) < 1) {
			ck_assert_msg(now_sec() < end, "round %u call %d: no done hook", round, i);
			sched_yield();
		}
}

/*
 * Many rounds of: submit 64 calls (pwrite64, pread64 and nanosleep, so both
 * worker classes), then cancel half of them or more, in a random order,
 * while workers run them, from this thread alone (_i == 0) or from this thread and another
 * one at once (_i == 1).  Every call must end exactly once, DONE with its
 * real result or CANCELED without having run, in agreement with what
 * asys_cancel answered.
 */
START_TEST(race_cancel_against_workers)
{
	enum { N = RACE_MAX, DATA = 4096 };
	static struct asys_call c[N];
	static struct asys_call *list[N];
	static struct rec r[N];
	static uint64_t out[N];
	static unsigned char in[N][8];
	static const struct timespec zero = { 0, 0 };
	struct canceller self = { list, N, N, { 0 }, { 0 }, { 0 } };
	struct canceller other = { list, N, N, { 0 }, { 0 }, { 0 } };
	struct canceller *ks[2] = { &self, &other };
	struct helper h;
	unsigned round, rounds = (unsigned)scaled(3000), seed = 12345u + (unsigned)_i;
	unsigned long done = 0, canceled = 0;
	int i, k, fd = pattern_file(2 * DATA), nk = _i ? 2 : 1;

	set_pool(4, 4);
	for (i = 0; i < N; i++)
		list[i] = &c[i];
	if (_i)
		helper_start(&h, cancel_round, &other);
	for (round = 1; round <= rounds; round++) {
		for (i = 0; i < N; i++) {
			switch (i % 4) {
			case 0:
			case 1:
				out[i] = ((uint64_t)round << 8) | (uint64_t)i;
				prep_at(&c[i], SYS_pwrite64, fd, (long)&out[i], 8, 8 * i);
				break;
			case 2:
				for (k = 0; k < 8; k++)
					in[i][k] = (unsigned char)~pattern_byte(DATA + 8 * i + k);
				prep_at(&c[i], SYS_pread64, fd, (long)in[i], 8, DATA + 8 * i);
				break;
			default:
				asys_prep(&c[i], SYS_nanosleep, (long)&zero, 0, 0, 0, 0, 0);
				break;
			}
			with_hook(&c[i], &r[i]);
		}
		/* each side cancels from half to all of the calls, in a random order */
		shuffle(self.order, N, &seed);
		self.count = N / 2 + (int)(next_rand(&seed) % (N / 2 + 1));
		if (_i) {
			shuffle(other.order, N, &seed);
			other.count = N / 2 + (int)(next_rand(&seed) % (N / 2 + 1));
		}
		submit(list, N);
		if (_i)
			pthread_barrier_wait(&h.go);
		cancel_all(&self);
		if (_i)
			pthread_barrier_wait(&h.done);
		wait_round(list, r, N, round);

		for (i = 0; i < N; i++) {
			int wins = cancel_wins(ks, nk, i, round);
			unsigned st = asys_state(&c[i]);
			uint64_t v;

			ck_assert_msg(hooks_of(&r[i]) == 1, "round %u call %d: %d done hooks", round,
				      i, hooks_of(&r[i]));
			ck_assert_uint_eq(r[i].state, st);
			ck_assert_int_eq(r[i].result, c[i].result);
			if (st == ASYS_CANCELED) {
				canceled++;
				ck_assert_msg(wins == 1, "round %u call %d: CANCELED, but no cancel won",
					      round, i);
				ck_assert_int_eq(c[i].result, -ECANCELED);
			} else {
				done++;
				ck_assert_msg(st == ASYS_DONE, "round %u call %d: state %u", round, i,
					      st);
				ck_assert_msg(wins == 0, "round %u call %d: DONE, but a cancel won",
					      round, i);
			}
			switch (i % 4) {
			case 0:
			case 1:
				ck_assert_int_eq(pread(fd, &v, 8, 8 * i), 8);
				if (st == ASYS_DONE) {
					ck_assert_int_eq(c[i].result, 8);
					ck_assert_msg(v == out[i], "round %u call %d: write lost", round, i);
				} else {
					ck_assert_msg(v != out[i], "round %u call %d: cancelled write ran",
						      round, i);
				}
				break;
			case 2:
				for (k = 0; k < 8; k++) {
					unsigned char p = pattern_byte(DATA + 8 * i + k);

					if (st == ASYS_DONE)
						ck_assert_uint_eq(in[i][k], p);
					else
						ck_assert_uint_eq(in[i][k], (unsigned char)~p);
				}
				if (st == ASYS_DONE)
					ck_assert_int_eq(c[i].result, 8);
				break;
			default:
				if (st == ASYS_DONE)
					ck_assert_int_eq(c[i].result, 0);
				break;
			}
		}
	}
	if (_i)
		helper_stop(&h);
	/* no late second completion arrived after its round */
	for (i = 0; i < N; i++)
		ck_assert_int_eq(hooks_of(&r[i]), 1);
	/* both sides of the race were exercised */
	ck_assert_msg(done > 0 && canceled > 0, "done %lu canceled %lu", done, canceled);
	close(fd);
}
END_TEST

/*
 * Many rounds of a chain
 *     c0 fd = openat(path)        c1 pread64(fd, 0)   (links c0, takes fd)
 *     c2 pwrite64(marker)         (links c1)
 *     c3 pread64(fd, 8)           (links c0, takes fd)
 *     c4 close(fd)                (links c0, takes fd)
 * racing with two cancellers that cancel its calls in random orders while
 * a worker runs it.  Each call ends once; a call that was not cancelled
 * itself ends CANCELED only when the call it links to did not succeed; a
 * DONE call saw its link succeed and got the right fd.
 */
START_TEST(race_cancel_against_chain)
{
	enum { N = 5 };
	static const int link_to[N] = { -1, 0, 1, 0, 0 };
	struct asys_call c[N];
	struct asys_call *list[N];
	struct rec r[N];
	struct canceller self, other;
	struct canceller *ks[2] = { &self, &other };
	struct helper h;
	unsigned char b1[8], b3[8];
	uint64_t mark, v;
	char path[64];
	unsigned round, rounds = (unsigned)scaled(10000), seed = 777u;
	unsigned long all_done = 0, head_canceled = 0, partial = 0;
	int i, k, src = pattern_file(4096), marker = pattern_file(0);

	snprintf(path, sizeof path, "/proc/self/fd/%d", src);
	set_pool(2, 2);
	for (i = 0; i < N; i++)
		list[i] = &c[i];
	memset(&self, 0, sizeof self);
	self.calls = list;
	self.n = N;
	self.count = N;
	other = self;
	helper_start(&h, cancel_round, &other);
	for (round = 1; round <= rounds; round++) {
		int wins[N], fd, ncanceled = 0;
		unsigned st[N];

		mark = round;
		memset(b1, 0xee, sizeof b1);
		memset(b3, 0xee, sizeof b3);
		asys_prep(&c[0], SYS_openat, AT_FDCWD, (long)path, O_RDONLY | O_CLOEXEC, 0, 0, 0);
		prep_at(&c[1], SYS_pread64, -1, (long)b1, 8, 0);
		asys_link(&c[1], 0, 0);
		prep_at(&c[2], SYS_pwrite64, marker, (long)&mark, 8, 0);
		asys_link(&c[2], 1, -1);
		prep_at(&c[3], SYS_pread64, -1, (long)b3, 8, 8);
		asys_link(&c[3], 0, 0);
		asys_prep(&c[4], SYS_close, -1, 0, 0, 0, 0, 0);
		asys_link(&c[4], 0, 0);
		for (i = 0; i < N; i++)
			with_hook(&c[i], &r[i]);
		shuffle(self.order, N, &seed);
		shuffle(other.order, N, &seed);
		/* each side cancels a random number of calls, none to all */
		self.count = (int)(next_rand(&seed) % (N + 1));
		other.count = (int)(next_rand(&seed) % (N + 1));
		submit(list, N);
		pthread_barrier_wait(&h.go);
		cancel_all(&self);
		pthread_barrier_wait(&h.done);
		wait_round(list, r, N, round);

		for (i = 0; i < N; i++) {
			wins[i] = cancel_wins(ks, 2, i, round);
			st[i] = asys_state(&c[i]);
			ck_assert_msg(hooks_of(&r[i]) == 1, "round %u call %d: %d done hooks", round,
				      i, hooks_of(&r[i]));
			ck_assert_uint_eq(r[i].state, st[i]);
			ck_assert_int_eq(r[i].result, c[i].result);
			ck_assert_msg(st[i] == ASYS_DONE || st[i] == ASYS_CANCELED,
				      "round %u call %d: state %u", round, i, st[i]);
			if (st[i] == ASYS_CANCELED) {
				ncanceled++;
				ck_assert_int_eq(c[i].result, -ECANCELED);
				/* cancelled itself, or its link did not succeed */
				ck_assert_msg(wins[i] == 1 ||
					      (link_to[i] >= 0 && st[link_to[i]] == ASYS_CANCELED),
					      "round %u call %d: CANCELED with its link DONE and no "
					      "cancel won", round, i);
			} else {
				ck_assert_msg(wins[i] == 0, "round %u call %d: DONE, but a cancel won",
					      round, i);
				ck_assert_msg(link_to[i] < 0 || st[link_to[i]] == ASYS_DONE,
					      "round %u call %d: DONE after its link was cancelled",
					      round, i);
			}
		}
		fd = st[0] == ASYS_DONE ? (int)c[0].result : -1;
		if (st[0] == ASYS_DONE)
			ck_assert_int_ge(fd, 0);
		/* data: the reads got the file's bytes, and only if they ran */
		for (k = 0; k < 8; k++) {
			ck_assert_uint_eq(b1[k], st[1] == ASYS_DONE ? pattern_byte(k) : 0xee);
			ck_assert_uint_eq(b3[k], st[3] == ASYS_DONE ? pattern_byte(8 + k) : 0xee);
		}
		if (st[1] == ASYS_DONE)
			ck_assert_int_eq(c[1].result, 8);
		if (st[3] == ASYS_DONE)
			ck_assert_int_eq(c[3].result, 8);
		v = 0;
		k = (int)pread(marker, &v, 8, 0);
		ck_assert_msg(k == 8 || (k == 0 && st[2] != ASYS_DONE), "marker: pread %d", k);
		if (st[2] == ASYS_DONE) {
			ck_assert_int_eq(c[2].result, 8);
			ck_assert_msg(v == mark, "round %u: marker write lost", round);
		} else {
			ck_assert_msg(v != mark, "round %u: cancelled marker write ran", round);
		}
		/* close ran exactly when it is DONE; otherwise the fd is still ours */
		if (fd >= 0) {
			if (st[4] == ASYS_DONE) {
				ck_assert_int_eq(c[4].result, 0);
				ck_assert_int_eq(fcntl(fd, F_GETFD), -1);
			} else {
				ck_assert_int_ge(fcntl(fd, F_GETFD), 0);
				close(fd);
			}
		}
		if (!ncanceled)
			all_done++;
		else if (st[0] == ASYS_CANCELED)
			head_canceled++;
		else
			partial++;
	}
	helper_stop(&h);
	for (i = 0; i < N; i++)
		ck_assert_int_eq(hooks_of(&r[i]), 1);
	ck_assert_msg(all_done + partial > 0 && head_canceled + partial > 0,
		      "rounds: %lu all done, %lu head cancelled, %lu partly cancelled", all_done,
		      head_canceled, partial);
	close(src);
	close(marker);
}
END_TEST

/* --- io_uring: interrupting calls in the kernel --- */

/*
 * Submit c (with r as its hook), wait until it runs, and interrupt it: it
 * is final, cancelled, and its hook has run once when asys_cancel returns.
 */
static void cancel_once_running(struct asys_call *c, struct rec *r)
{
	with_hook(c, r);
	submit1(c);
	ck_assert(wait_state(c, ASYS_RUNNING, 10000));
	ck_assert_int_eq(asys_cancel(c), 0);
	ck_assert_uint_eq(asys_state(c), ASYS_CANCELED);
	ck_assert_int_eq(c->result, -ECANCELED);
	ck_assert_int_eq(hooks_of(r), 1);
}

/* A pipe read in the kernel is given up: CANCELED, its hook once, the data left in the pipe. */
START_TEST(uring_cancel_running_pipe_read)
{
	struct asys_call c;
	struct rec r;
	int p[2];
	char byte = 0, got = 0;

	if (!require_uring())
		return;
	ck_assert_int_eq(pipe2(p, O_CLOEXEC), 0);
	prep_pipe_read(&c, p[0], &byte, 1, 0);
	cancel_once_running(&c, &r);
	ck_assert_uint_eq(r.state, ASYS_CANCELED);
	cancel_fails(&c, EALREADY);
	ck_assert_int_eq(write(p[1], "z", 1), 1);
	ck_assert_int_eq(read(p[0], &got, 1), 1);
	ck_assert_int_eq(got, 'z');
	ck_assert_int_eq(byte, 0);
	ck_assert_int_eq(hooks_of(&r), 1);
	close(p[0]);
	close(p[1]);
}
END_TEST

/*
 * A monotonic clock_nanosleep runs in the ring as a timeout, and is
 * interrupted like a pipe read: cancelled at once, well before its 10 s.
 */
START_TEST(uring_cancel_running_sleep)
{
	struct timespec t = { 10, 0 };
	struct asys_call c;
	struct rec r;
	double t0;

	if (!require_uring())
		return;
	asys_prep(&c, SYS_clock_nanosleep, CLOCK_MONOTONIC, 0, (long)&t, 0, 0, 0);
	t0 = now_sec();
	cancel_once_running(&c, &r);
	ck_assert_msg(now_sec() - t0 < 5, "cancelled after %.1f s", now_sec() - t0);
}
END_TEST

/* Interrupting a chain's head cancels the calls that depend on it. */
START_TEST(uring_cancel_running_chain_head)
{
	struct asys_call c[3], *l[3] = { &c[0], &c[1], &c[2] };
	struct rec r[3];
	char byte;
	int p[2], i;

	if (!require_uring())
		return;
	ck_assert_int_eq(pipe2(p, O_CLOEXEC), 0);
	prep_pipe_read(&c[0], p[0], &byte, 1, 0);
	asys_prep(&c[1], SYS_write, p[1], (long)"a", 1, 0, 0, 0);
	asys_link(&c[1], 0, -1);
	asys_prep(&c[2], SYS_fsync, -1, 0, 0, 0, 0, 0);
	asys_link(&c[2], 1, 0);	/* fsync(the write's result) */
	for (i = 0; i < 3; i++)
		with_hook(&c[i], &r[i]);
	submit(l, 3);
	ck_assert(wait_state(&c[0], ASYS_RUNNING, 10000));
	ck_assert_int_eq(asys_cancel(&c[0]), 0);
	for (i = 0; i < 3; i++) {
		ck_assert_uint_eq(asys_state(&c[i]), ASYS_CANCELED);
		ck_assert_int_eq(c[i].result, -ECANCELED);
		ck_assert_int_eq(hooks_of(&r[i]), 1);
	}
	/* nothing was written */
	ck_assert_int_eq(fcntl(p[0], F_SETFL, O_NONBLOCK), 0);
	ck_assert_int_eq(read(p[0], &byte, 1), -1);
	ck_assert_int_eq(errno, EAGAIN);
	close(p[0]);
	close(p[1]);
}
END_TEST

/*
 * More calls than the ring holds for calls that end in bounded time (4080):
 * the rest wait QUEUED in its backlog, and are cancelled like queued calls;
 * those in the ring end when the pipe is written.  Each call ends exactly
 * once, and no waiter is left behind.  (The calls are pipe reads marked
 * ASYS_BOUNDED, a broken promise that keeps them out of the ring past its
 * share: calls that may wait for ever are never held back.)
 */
START_TEST(uring_cancel_backlog)
{
	enum { N = 5000 };
	struct asys_call *c = calloc(N, sizeof *c), **l = calloc(N, sizeof *l);
	struct rec *r = calloc(N, sizeof *r);
	char *bytes = malloc(N);
	int p[2], i, queued = 0;

	if (!require_uring())
		return;
	ck_assert(c && l && r && bytes);
	ck_assert_int_eq(pipe2(p, O_CLOEXEC), 0);
	for (i = 0; i < N; i++) {
		prep_pipe_read(&c[i], p[0], &bytes[i], 1, 1);
		with_hook(&c[i], &r[i]);
		l[i] = &c[i];
	}
	submit(l, N);
	ck_assert(wait_state(&c[0], ASYS_RUNNING, 10000));
	/* from the last: the ring thread feeds the backlog from the first, until its share is full */
	for (i = N - 1; i >= 0 && asys_cancel(&c[i]) == 0; i--)
		queued++;
	ck_assert_msg(i < 0 || errno == EBUSY, "call %d: %s", i, strerror(errno));
	ck_assert_int_gt(queued, 0);
	memset(bytes, 0, N);
	for (i = 0; i < N - queued; i += 4096) {
		int len = N - queued - i < 4096 ? N - queued - i : 4096;

		ck_assert_int_eq(write(p[1], bytes, (size_t)len), len);
	}
	for (i = 0; i < N; i++) {
		bool cancelled = i >= N - queued;
		double end = deadline_in(10000);

		/* the hook is the completion's last act, after the state */
		while (!hooks_of(&r[i]))
			ck_assert_msg(now_sec() < end, "call %d: no completion", i);
		ck_assert_int_eq(hooks_of(&r[i]), 1);
		ck_assert_uint_eq(r[i].state, cancelled ? ASYS_CANCELED : ASYS_DONE);
		ck_assert_int_eq(r[i].result, cancelled ? -ECANCELED : 1);
	}
	free(bytes);
	free(c);
	free(l);
	free(r);
	close(p[0]);
	close(p[1]);
}
END_TEST

/* The writing side of uring_race_cancel_against_data: one byte, after a random delay. */
struct late_writer {
	int wfd;
	unsigned seed;
};

static void write_late(void *arg)
{
	struct late_writer *w = arg;

	spin_random(&w->seed, 200000);
	if (write(w->wfd, "q", 1) != 1)
		abort();
}

/*
 * Cancel pipe reads while bytes arrive: either a read got its byte
 * (asys_cancel fails, DONE with 1) or it was interrupted (CANCELED, the
 * byte still in the pipe); never both, never neither, one hook.  Even
 * rounds cancel before writing (always interrupted).  In odd rounds a
 * second thread writes the byte while this one cancels, each after a
 * random delay: a race, whose both outcomes must show.
 */
START_TEST(uring_race_cancel_against_data)
{
	/* half of them race; fewer than 250 leave one side of the race to luck */
	unsigned long rounds = scaled_at_least(2000, 500), n, raced_won = 0, raced_lost = 0;
	struct late_writer w = { -1, 31337u };
	struct helper h;
	unsigned seed = 4711u;
	int p[2];

	if (!require_uring())
		return;
	ck_assert_int_eq(pipe2(p, O_CLOEXEC), 0);
	w.wfd = p[1];
	helper_start(&h, write_late, &w);
	for (n = 0; n < rounds; n++) {
		struct asys_call c;
		struct rec r;
		char byte = 0, left;
		int rc, err;

		prep_pipe_read(&c, p[0], &byte, 1, 0);
		with_hook(&c, &r);
		submit1(&c);
		if (n & 1) {
			pthread_barrier_wait(&h.go);
			spin_random(&seed, 50000);
		}
		rc = asys_cancel(&c);
		err = errno;
		if (n & 1) {
			pthread_barrier_wait(&h.done);	/* the byte is written */
		} else {
			ck_assert_msg(rc == 0, "cancel before data: %s", strerror(err));
			ck_assert_int_eq(write(p[1], "q", 1), 1);
		}
		if (rc == 0) {
			ck_assert_uint_eq(asys_state(&c), ASYS_CANCELED);
			ck_assert_int_eq(read(p[0], &left, 1), 1);	/* the byte is still there */
			ck_assert_int_eq(byte, 0);
			raced_won += n & 1;
		} else {
			ck_assert_msg(err == EALREADY || err == EBUSY, "errno %d", err);
			wait_done(&c);
			ck_assert_uint_eq(asys_state(&c), ASYS_DONE);
			ck_assert_int_eq(c.result, 1);
			ck_assert_int_eq(byte, 'q');
			raced_lost++;
		}
		wait_hook(&r, 1);
		ck_assert_int_eq(hooks_of(&r), 1);
	}
	helper_stop(&h);
	fprintf(stderr, "uring_race_cancel_against_data: %lu racing rounds: %lu interrupted, "
		"%lu completed first\n", rounds / 2, raced_won, raced_lost);
	ck_assert_msg(raced_won > 0 && raced_lost > 0, "no %s in %lu racing rounds",
		      raced_won ? "read completed first" : "read was interrupted", rounds / 2);
	close(p[0]);
	close(p[1]);
}
END_TEST

static void thread_backend(void)
{
	use_backend("threads");
}

static Suite *cancel_suite(void)
{
	Suite *s = suite_create("asys_cancel");
	TCase *one = tcase_create("single calls");
	TCase *chain = tcase_create("chains");
	TCase *race = tcase_create("races");
	TCase *ring = tcase_create("io_uring");

	tcase_add_test(one, cancel_queued_call);
	tcase_add_test(one, cancel_queued_blocking_call);
	tcase_add_test(one, cancel_running_call_is_ebusy);
	tcase_add_test(one, cancel_done_call_is_ealready);
	tcase_add_test(one, cancel_unsubmitted_call_is_einval);
	tcase_add_test(one, second_cancel_is_ealready);
	tcase_add_test(one, cancel_wakes_waiter);
	tcase_add_test(one, resubmit_cancelled_call);
	tcase_add_test(one, cancel_leaves_rest_of_queue);
	tcase_set_timeout(one, 60);
	tcase_add_checked_fixture(one, thread_backend, NULL);
	suite_add_tcase(s, one);
	tcase_add_test(chain, cancel_chain_head_cancels_dependents);
	tcase_add_test(chain, cancel_waiting_member_cancels_its_dependents);
	tcase_add_test(chain, cancel_member_keeps_result_passing);
	tcase_add_test(chain, cancel_members_behind_running_head);
	tcase_set_timeout(chain, 60);
	tcase_add_checked_fixture(chain, thread_backend, NULL);
	suite_add_tcase(s, chain);
	tcase_add_loop_test(race, race_cancel_against_workers, 0, 2);
	tcase_add_test(race, race_cancel_against_chain);
	tcase_set_timeout(race, 300);
	suite_add_tcase(s, race);
	tcase_add_test(ring, uring_cancel_running_pipe_read);
	tcase_add_test(ring, uring_cancel_running_sleep);
	tcase_add_test(ring, uring_cancel_running_chain_head);
	tcase_add_test(ring, uring_cancel_backlog);
	tcase_add_test(ring, uring_race_cancel_against_data);
	tcase_set_timeout(ring, 120);
	suite_add_tcase(s, ring);
	return s;
}

TEST_MAIN(cancel_suite)
