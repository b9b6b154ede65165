/*
 * aio_cancel(3): argument checks, the three answers, notification of
 * cancelled requests, per-fd order after a cancel, and races between
 * cancellation and completion.
 *
 * Requests are kept pending deterministically: reads on an empty pipe run
 * one at a time in submission order, so the first one blocks in read(2)
 * (a worker is seen inside the system call through /proc) and the later
 * ones wait behind it; a pread on a regular file stays queued in the
 * engine when the only bounded worker is held by a pipe read submitted
 * through asys directly.  Nothing sleeps to synchronise; every wait has a
 * deadline.
 */
#include <aio.h>
#include <dlfcn.h>
#include <limits.h>
#include <pthread.h>
#include <semaphore.h>
#include <signal.h>
#include <stdbool.h>
#include <sys/mman.h>

#include "aioutil.h"

#define WAIT_MS 20000L

/* --- helpers --- */

static void assert_canceled(struct aiocb *cb)
{
	ck_assert_int_eq(aio_error(cb), ECANCELED);
	ck_assert_int_eq(aio_return(cb), -1);
	ck_assert_int_eq(aio_return(cb), -1);	/* repeatable */
}

static void assert_done(struct aiocb *cb, ssize_t result)
{
	ck_assert_int_eq(aio_error(cb), 0);
	ck_assert_int_eq(aio_return(cb), result);
}

static void assert_cancel(int fd, struct aiocb *cb, int expected)
{
	int rc;

	errno = 0;
	rc = aio_cancel(fd, cb);
	ck_assert_msg(rc == expected, "aio_cancel(%d, %p) = %d (errno %s), expected %d", fd,
		      (void *)cb, rc, strerror(errno), expected);
}

static void assert_cancel_fails(int fd, struct aiocb *cb, int err)
{
	int rc;

	errno = 0;
	rc = aio_cancel(fd, cb);
	ck_assert_msg(rc == -1 && errno == err, "aio_cancel(%d, %p) = %d, errno %d (%s), expected -1/%s",
		      fd, (void *)cb, rc, errno, strerror(errno), strerror(err));
}

/*
 * Wait until a worker is inside read(fd): the request reading fd is then
 * running, and no longer cancellable.  (On io_uring there is no such
 * worker, and a read in the kernel is interrupted: see the "io_uring" cases.)
 */
static void wait_in_read(int fd)
{
	wait_in_syscall(SYS_read, fd);
}

/*
 * SIGEV_THREAD bookkeeping: a request with what its notification saw.
 * Everything a callback writes is under ev_lock.
 */
struct seen {
	int notes;		/* notifications received */
	int err;		/* aio_error() inside the notification */
	ssize_t ret;		/* aio_return() inside the notification */
	pid_t tid;		/* the thread it ran on */
};

struct req {
	struct aiocb cb;
	char buf[512];
	struct seen live;	/* written by the notification, under ev_lock */
	struct seen seen;	/* a copy taken by sync_seen(), for the test to check */
	int answer;		/* what aio_cancel said about it, or -2 */
};

static pthread_mutex_t ev_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t ev_cond = PTHREAD_COND_INITIALIZER;
static unsigned long ev_total;

static void on_done(union sigval v)
{
	struct req *q = v.sival_ptr;
	int err = aio_error(&q->cb);
	ssize_t ret = aio_return(&q->cb);

	pthread_mutex_lock(&ev_lock);
	q->live.err = err;
	q->live.ret = ret;
	q->live.tid = gettid();
	q->live.notes++;
	ev_total++;
	pthread_cond_broadcast(&ev_cond);
	pthread_mutex_unlock(&ev_lock);
}

static void with_thread_note(struct req *q)
{
	q->cb.aio_sigevent.sigev_notify = SIGEV_THREAD;
	q->cb.aio_sigevent.sigev_notify_function = on_done;
	q->cb.aio_sigevent.sigev_notify_attributes = NULL;
	q->cb.aio_sigevent.sigev_value.sival_ptr = q;
}

static void prep_req(struct req *q, int fd, size_t len, off_t off)
{
	memset(q, 0, sizeof *q);
	prep_aiocb(&q->cb, fd, q->buf, len, off);
	with_thread_note(q);
	q->answer = -2;
}

/* Queue reads of one byte each from fd, into q[from] to q[to - 1]. */
static void submit_byte_reads(struct req *q, int from, int to, int fd)
{
	int i;

	for (i = from; i < to; i++) {
		prep_req(&q[i], fd, 1, 0);
		submit_read(&q[i].cb);
	}
}

/* Wait until ev_total reaches target; false after ms. */
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

static int notes_of(struct req *q)
{
	int n;

	pthread_mutex_lock(&ev_lock);
	n = q->live.notes;
	pthread_mutex_unlock(&ev_lock);
	return n;
}

/* Copy what the notifications of q[0..n-1] saw into q[i].seen; returns ev_total. */
static unsigned long sync_seen(struct req *q, int n)
{
	unsigned long total;
	int i;

	pthread_mutex_lock(&ev_lock);
	for (i = 0; i < n; i++)
		q[i].seen = q[i].live;
	total = ev_total;
	pthread_mutex_unlock(&ev_lock);
	return total;
}

/* Per test (in the child with CK_FORK, and again in the same process without). */
static void reset_events(void)
{
	pthread_mutex_lock(&ev_lock);
	ev_total = 0;
	pthread_mutex_unlock(&ev_lock);
}

static unsigned long events(void)
{
	unsigned long n;

	pthread_mutex_lock(&ev_lock);
	n = ev_total;
	pthread_mutex_unlock(&ev_lock);
	return n;
}

#define SIG_NOTE (SIGRTMIN + 1)

/*
 * A signal queued to the calling thread, which blocks it.  Not to the
 * process: SIGEV_THREAD functions run with no signal blocked, as with
 * glibc, and one running meanwhile would take it (and die of it).
 */
static void with_signal_note(struct aiocb *cb, int value)
{
	cb->aio_sigevent.sigev_notify = SIGEV_THREAD_ID;
	cb->aio_sigevent.sigev_signo = SIG_NOTE;
	cb->aio_sigevent.sigev_value.sival_int = value;
	cb->aio_sigevent._sigev_un._tid = gettid();
}

/* --- argument checks --- */

START_TEST(bad_fd_is_ebadf)
{
	struct aiocb cb;
	int p[2];

	prep_aiocb(&cb, -1, NULL, 0, 0);
	assert_cancel_fails(-1, NULL, EBADF);
	assert_cancel_fails(-1, &cb, EBADF);
	assert_cancel_fails(INT_MAX, NULL, EBADF);
	/* a closed descriptor, with a request on it in the past */
	ck_assert_int_eq(pipe2(p, O_CLOEXEC), 0);
	ck_assert_int_eq(write(p[1], "x", 1), 1);
	prep_aiocb(&cb, p[0], (char[1]){ 0 }, 1, 0);
	submit_read(&cb);
	wait_final(&cb, WAIT_MS);
	assert_done(&cb, 1);
	close(p[0]);
	close(p[1]);
	assert_cancel_fails(p[0], &cb, EBADF);
	assert_cancel_fails(p[0], NULL, EBADF);
	/* nothing changed in the aiocb */
	assert_done(&cb, 1);
}
END_TEST

START_TEST(wrong_fd_is_einval)
{
	struct aiocb cb;
	int p[2], q[2];
	char c = 0;

	ck_assert_int_eq(pipe2(p, O_CLOEXEC), 0);
	ck_assert_int_eq(pipe2(q, O_CLOEXEC), 0);
	/* never submitted */
	prep_aiocb(&cb, p[0], &c, 1, 0);
	assert_cancel_fails(q[0], &cb, EINVAL);
	/* pending on p[0]: asking about it under q[0] changes nothing */
	submit_read(&cb);
	assert_cancel_fails(q[0], &cb, EINVAL);
	assert_cancel_fails(p[1], &cb, EINVAL);
	ck_assert_int_eq(aio_error(&cb), EINPROGRESS);
	ck_assert_int_eq(write(p[1], "y", 1), 1);
	wait_final(&cb, WAIT_MS);
	assert_done(&cb, 1);
	ck_assert_int_eq(c, 'y');
	close(p[0]);
	close(p[1]);
	close(q[0]);
	close(q[1]);
}
END_TEST

/* --- AIO_ALLDONE --- */

START_TEST(finished_request_is_alldone)
{
	int fd = pattern_file(4096), wfd;
	struct aiocb cb;
	char buf[100];
	char path[64];

	prep_aiocb(&cb, fd, buf, sizeof buf, 1000);
	submit_read(&cb);
	wait_final(&cb, WAIT_MS);
	assert_done(&cb, 100);
	assert_cancel(fd, &cb, AIO_ALLDONE);
	assert_cancel(fd, &cb, AIO_ALLDONE);
	assert_cancel(fd, NULL, AIO_ALLDONE);
	assert_done(&cb, 100);
	ck_assert_int_eq((unsigned char)buf[0], pattern_byte(1000));

	/* a request that failed is finished too: read(2) on a write-only fd */
	snprintf(path, sizeof path, "/proc/self/fd/%d", fd);
	wfd = open(path, O_WRONLY | O_CLOEXEC);
	ck_assert_int_ge(wfd, 0);
	prep_aiocb(&cb, wfd, buf, sizeof buf, 0);
	submit_read(&cb);
	wait_final(&cb, WAIT_MS);
	ck_assert_int_eq(aio_error(&cb), EBADF);
	assert_cancel(wfd, &cb, AIO_ALLDONE);
	assert_cancel(wfd, NULL, AIO_ALLDONE);
	ck_assert_int_eq(aio_error(&cb), EBADF);
	ck_assert_int_eq(aio_return(&cb), -1);
	close(wfd);
	close(fd);
}
END_TEST

START_TEST(unsubmitted_aiocb_is_alldone)
{
	int fd = pattern_file(0);
	struct aiocb cb, copy;
	int rc;

	/* a zeroed aiocb: __error_code 0 */
	prep_aiocb(&cb, fd, NULL, 0, 0);
	copy = cb;
	assert_cancel(fd, &cb, AIO_ALLDONE);
	ck_assert(memcmp(&cb, &copy, sizeof cb) == 0);

	/* garbage everywhere, with a final-looking status */
	memset(&cb, 0xa5, sizeof cb);
	cb.aio_fildes = fd;
	cb.__error_code = ENOENT;
	copy = cb;
	assert_cancel(fd, &cb, AIO_ALLDONE);
	ck_assert(memcmp(&cb, &copy, sizeof cb) == 0);
	ck_assert_int_eq(aio_error(&cb), ENOENT);

	/*
	 * Garbage that says EINPROGRESS, but was never submitted: rtaio
	 * knows of no such request.  AIO_ALLDONE, or glibc's -1/EINVAL for
	 * a request it does not know; never a hang, a crash or a write.
	 */
	cb.__error_code = EINPROGRESS;
	copy = cb;
	errno = 0;
	rc = aio_cancel(fd, &cb);
	ck_assert_msg(rc == AIO_ALLDONE || (rc == -1 && errno == EINVAL),
		      "aio_cancel on a foreign EINPROGRESS aiocb: %d (%s)", rc, strerror(errno));
	ck_assert(memcmp(&cb, &copy, sizeof cb) == 0);
	close(fd);
}
END_TEST

START_TEST(cancel_all_on_idle_fd_is_alldone)
{
	int p[2];

	ck_assert_int_eq(pipe2(p, O_CLOEXEC), 0);
	assert_cancel(p[0], NULL, AIO_ALLDONE);
	assert_cancel(p[1], NULL, AIO_ALLDONE);
	close(p[0]);
	close(p[1]);
}
END_TEST

/* --- AIO_CANCELED --- */

#define NPIPE 6

START_TEST(queued_pipe_reads_canceled_signal)
{
	struct aiocb cb[NPIPE];
	char buf[NPIPE], left[2 * NPIPE];
	siginfo_t si;
	bool seen[NPIPE] = { false };
	int p[2], i;

	block_signal(SIG_NOTE);
	ck_assert_int_eq(pipe2(p, O_CLOEXEC), 0);
	memset(buf, '-', sizeof buf);
	for (i = 0; i < NPIPE; i++) {
		prep_aiocb(&cb[i], p[0], &buf[i], 1, 0);
		with_signal_note(&cb[i], 100 + i);
		submit_read(&cb[i]);
	}
	/* 2..N wait behind the first, whatever state the first one is in */
	for (i = 1; i < NPIPE; i++) {
		assert_cancel(p[0], &cb[i], AIO_CANCELED);
		/* final by the time aio_cancel returns */
		assert_canceled(&cb[i]);
	}
	/* each cancelled request was notified, once, with its own value */
	for (i = 1; i < NPIPE; i++) {
		int v;

		ck_assert_msg(take_signal(SIG_NOTE, &si, WAIT_MS), "notification %d missing", i);
		ck_assert_int_eq(si.si_code, SI_ASYNCIO);
		v = si.si_value.sival_int - 100;
		ck_assert_msg(v >= 1 && v < NPIPE && !seen[v], "unexpected value %d", v + 100);
		seen[v] = true;
	}
	ck_assert_int_eq(aio_error(&cb[0]), EINPROGRESS);
	ck_assert(!take_signal(SIG_NOTE, &si, 0));

	/* the first completes normally; the cancelled ones never read anything */
	ck_assert_int_eq(write(p[1], "abcdef", NPIPE), NPIPE);
	wait_final(&cb[0], WAIT_MS);
	assert_done(&cb[0], 1);
	ck_assert_int_eq(buf[0], 'a');
	ck_assert(take_signal(SIG_NOTE, &si, WAIT_MS));
	ck_assert_int_eq(si.si_value.sival_int, 100);
	for (i = 1; i < NPIPE; i++) {
		assert_canceled(&cb[i]);
		ck_assert_int_eq(buf[i], '-');
		assert_cancel(p[0], &cb[i], AIO_ALLDONE);
	}
	ck_assert_int_eq(drain(p[0], left, sizeof left), NPIPE - 1);
	ck_assert(memcmp(left, "bcdef", NPIPE - 1) == 0);
	ck_assert(!take_signal(SIG_NOTE, &si, 0));
	close(p[0]);
	close(p[1]);
}
END_TEST

START_TEST(queued_pipe_reads_canceled_thread)
{
	struct req q[NPIPE];
	char left[2 * NPIPE];
	int p[2], i;

	ck_assert_int_eq(pipe2(p, O_CLOEXEC), 0);
	for (i = 0; i < NPIPE; i++) {
		prep_req(&q[i], p[0], 1, 0);
		q[i].buf[0] = '-';
		submit_read(&q[i].cb);
	}
	for (i = NPIPE - 1; i >= 1; i--) {	/* the tail first, this time */
		assert_cancel(p[0], &q[i].cb, AIO_CANCELED);
		assert_canceled(&q[i].cb);
	}
	ck_assert_msg(wait_events(NPIPE - 1, WAIT_MS), "%lu of %d notifications", events(),
		      NPIPE - 1);
	sync_seen(q, NPIPE);
	for (i = 1; i < NPIPE; i++) {
		ck_assert_int_eq(q[i].seen.notes, 1);
		/* the notification saw the final status */
		ck_assert_int_eq(q[i].seen.err, ECANCELED);
		ck_assert_int_eq(q[i].seen.ret, -1);
		ck_assert_int_ne(q[i].seen.tid, gettid());
	}
	ck_assert_int_eq(notes_of(&q[0]), 0);
	ck_assert_int_eq(aio_error(&q[0].cb), EINPROGRESS);
	ck_assert_int_eq(write(p[1], "ABCDEF", NPIPE), NPIPE);
	wait_final(&q[0].cb, WAIT_MS);
	assert_done(&q[0].cb, 1);
	ck_assert_int_eq(q[0].buf[0], 'A');
	ck_assert(wait_events(NPIPE, WAIT_MS));
	sync_seen(q, NPIPE);
	ck_assert_int_eq(q[0].seen.err, 0);
	ck_assert_int_eq(q[0].seen.ret, 1);
	for (i = 1; i < NPIPE; i++) {
		ck_assert_int_eq(notes_of(&q[i]), 1);
		ck_assert_int_eq(q[i].buf[0], '-');
	}
	ck_assert_int_eq(drain(p[0], left, sizeof left), NPIPE - 1);
	ck_assert(memcmp(left, "BCDEF", NPIPE - 1) == 0);
	close(p[0]);
	close(p[1]);
}
END_TEST

START_TEST(queued_file_read_behind_full_pool)
{
	int fd = pattern_file(65536);
	struct blocker b;
	struct req q[3];
	siginfo_t si;
	int i;

	use_backend("threads");	/* the thread pool's queue */
	no_inline_reads();

	block_signal(SIG_NOTE);
	set_pool(1, 4);
	start_blocker(&b, 1);
	/* regular-file preads: bounded class, so they queue behind the blocker */
	for (i = 0; i < 3; i++) {
		prep_req(&q[i], fd, 512, 4096 * (i + 1));
		memset(q[i].buf, '-', sizeof q[i].buf);
	}
	with_signal_note(&q[2].cb, 77);
	for (i = 0; i < 3; i++)
		submit_read(&q[i].cb);
	ck_assert_int_eq(aio_error(&q[0].cb), EINPROGRESS);

	assert_cancel(fd, &q[0].cb, AIO_CANCELED);
	assert_canceled(&q[0].cb);
	assert_cancel(fd, &q[0].cb, AIO_ALLDONE);
	/* the rest of the fd, all queued: AIO_CANCELED */
	assert_cancel(fd, NULL, AIO_CANCELED);
	assert_canceled(&q[1].cb);
	assert_canceled(&q[2].cb);
	assert_cancel(fd, NULL, AIO_ALLDONE);
	ck_assert(wait_events(2, WAIT_MS));
	sync_seen(q, 2);
	ck_assert_int_eq(q[0].seen.notes, 1);
	ck_assert_int_eq(q[1].seen.notes, 1);
	ck_assert_int_eq(q[0].seen.err, ECANCELED);
	ck_assert_int_eq(q[1].seen.err, ECANCELED);
	ck_assert(take_signal(SIG_NOTE, &si, WAIT_MS));
	ck_assert_int_eq(si.si_code, SI_ASYNCIO);
	ck_assert_int_eq(si.si_value.sival_int, 77);

	/* the worker is free again: file I/O goes on, and the cancelled reads never ran */
	release_blocker(&b);
	prep_req(&q[0], fd, 512, 8192);
	submit_read(&q[0].cb);
	wait_final(&q[0].cb, WAIT_MS);
	assert_done(&q[0].cb, 512);
	ck_assert_int_eq(first_bad_byte(q[0].buf, 8192, 512), -1);
	for (i = 1; i < 3; i++) {
		ck_assert_int_eq(q[i].buf[0], '-');
		ck_assert_int_eq(q[i].buf[511], '-');
	}
	ck_assert(wait_events(3, WAIT_MS));
	ck_assert_int_eq(events(), 3);
	ck_assert(!take_signal(SIG_NOTE, &si, 0));
	close(fd);
}
END_TEST

/*
 * Does a read into buf, whose second page is not writable, stop there with
 * the first page (Linux), or fail whole (qemu-user checks the whole buffer
 * before the system call)?
 */
static bool reads_stop_at_unwritable_page(int fd, unsigned char *buf, size_t page)
{
	ssize_t n = pread(fd, buf, 2 * page, 0);

	if (n == (ssize_t)page)
		return true;
	printf("SKIP: a read into a buffer with an unwritable second page returns %zd (%s) "
	       "here, not its first page\n", n, n < 0 ? strerror(errno) : "short");
	return false;
}

/*
 * A read that aio_read served in part has written to the buffer already,
 * so aio_cancel must not call it cancelled.  A held worker keeps the rest
 * queued.  What stops the copy at submission is the buffer's second page,
 * not writable yet (made writable before the worker reads).  An uncached
 * second page of the file did that only now and then: the read at
 * submission starts the page's I/O, and a virtual disk fast enough (the
 * host's cache) completes it within the same call, so that the whole read
 * is served (half of 200 RWF_NOWAIT reads on CI's kind of machine, and a
 * CI run where 20 tries in a row were).
 */
START_TEST(partly_cached_read_is_notcanceled)
{
	size_t page = (size_t)sysconf(_SC_PAGESIZE);
	int fd = pattern_file(4 * page);
	unsigned char *buf = mmap(NULL, 2 * page, PROT_READ | PROT_WRITE,
				  MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	struct blocker b;
	struct aiocb cb;

	ck_assert_ptr_ne(buf, MAP_FAILED);
	ck_assert_int_eq(mprotect(buf + page, page, PROT_NONE), 0);
	if (skip_without_nowait_reads(fd) || !reads_stop_at_unwritable_page(fd, buf, page)) {
		munmap(buf, 2 * page);
		close(fd);
		return;
	}
	use_backend("threads");
	set_pool(1, 4);
	start_blocker(&b, 1);
	memset(buf, '-', page);
	prep_aiocb(&cb, fd, buf, 2 * page, 0);
	submit_read(&cb);
	ck_assert_int_eq(aio_error(&cb), EINPROGRESS);
	ck_assert_int_eq(first_bad_byte(buf, 0, page), -1);
	assert_cancel(fd, &cb, AIO_NOTCANCELED);
	assert_cancel(fd, NULL, AIO_NOTCANCELED);
	ck_assert_int_eq(mprotect(buf + page, page, PROT_READ | PROT_WRITE), 0);
	release_blocker(&b);
	wait_final(&cb, WAIT_MS);
	assert_done(&cb, (ssize_t)(2 * page));
	ck_assert_int_eq(first_bad_byte(buf, 0, 2 * page), -1);
	munmap(buf, 2 * page);
	close(fd);
}
END_TEST

/* --- AIO_NOTCANCELED --- */

START_TEST(running_read_is_notcanceled)
{
	struct req q;
	int p[2];

	ck_assert_int_eq(pipe2(p, O_CLOEXEC), 0);
	prep_req(&q, p[0], 8, 0);
	submit_read(&q.cb);
	wait_in_read(p[0]);
	assert_cancel(p[0], &q.cb, AIO_NOTCANCELED);
	ck_assert_int_eq(aio_error(&q.cb), EINPROGRESS);
	assert_cancel(p[0], NULL, AIO_NOTCANCELED);
	ck_assert_int_eq(aio_error(&q.cb), EINPROGRESS);
	ck_assert_int_eq(notes_of(&q), 0);
	/* it then completes normally, notified once */
	ck_assert_int_eq(write(p[1], "hello", 5), 5);
	wait_final(&q.cb, WAIT_MS);
	assert_done(&q.cb, 5);
	ck_assert(memcmp(q.buf, "hello", 5) == 0);
	ck_assert(wait_events(1, WAIT_MS));
	sync_seen(&q, 1);
	ck_assert_int_eq(q.seen.err, 0);
	ck_assert_int_eq(q.seen.ret, 5);
	assert_cancel(p[0], &q.cb, AIO_ALLDONE);
	assert_cancel(p[0], NULL, AIO_ALLDONE);
	ck_assert_int_eq(events(), 1);
	close(p[0]);
	close(p[1]);
}
END_TEST

START_TEST(cancel_all_mixed_is_notcanceled)
{
	struct req q[4];
	int p[2], i;
	char left[8];

	ck_assert_int_eq(pipe2(p, O_CLOEXEC), 0);
	submit_byte_reads(q, 0, 4, p[0]);
	wait_in_read(p[0]);
	assert_cancel(p[0], NULL, AIO_NOTCANCELED);
	ck_assert_int_eq(aio_error(&q[0].cb), EINPROGRESS);
	for (i = 1; i < 4; i++)
		assert_canceled(&q[i].cb);
	ck_assert(wait_events(3, WAIT_MS));
	ck_assert_int_eq(write(p[1], "xyz", 3), 3);
	wait_final(&q[0].cb, WAIT_MS);
	assert_done(&q[0].cb, 1);
	ck_assert_int_eq(q[0].buf[0], 'x');
	ck_assert(wait_events(4, WAIT_MS));
	for (i = 0; i < 4; i++)
		ck_assert_int_eq(notes_of(&q[i]), 1);
	ck_assert_int_eq(drain(p[0], left, sizeof left), 2);
	close(p[0]);
	close(p[1]);
}
END_TEST

/* More requests than aio_cancel looks at on its stack. */
START_TEST(cancel_all_many)
{
	enum { N = 300 };
	struct req *q = calloc(N, sizeof *q);
	int p[2], i;

	ck_assert_ptr_nonnull(q);
	ck_assert_int_eq(pipe2(p, O_CLOEXEC), 0);
	submit_byte_reads(q, 0, N, p[0]);
	wait_in_read(p[0]);
	assert_cancel(p[0], NULL, AIO_NOTCANCELED);
	for (i = 1; i < N; i++)
		assert_canceled(&q[i].cb);
	ck_assert_msg(wait_events(N - 1, WAIT_MS), "%lu of %d notifications", events(), N - 1);
	ck_assert_int_eq(write(p[1], "!", 1), 1);
	wait_final(&q[0].cb, WAIT_MS);
	assert_done(&q[0].cb, 1);
	ck_assert(wait_events(N, WAIT_MS));
	for (i = 0; i < N; i++)
		ck_assert_int_eq(notes_of(&q[i]), 1);
	close(p[0]);
	close(p[1]);
	free(q);
}
END_TEST

START_TEST(cancel_all_leaves_other_fds)
{
	struct req a[3], b[3];
	int pa[2], pb[2], i;

	ck_assert_int_eq(pipe2(pa, O_CLOEXEC), 0);
	ck_assert_int_eq(pipe2(pb, O_CLOEXEC), 0);
	for (i = 0; i < 3; i++) {
		prep_req(&a[i], pa[0], 1, 0);
		prep_req(&b[i], pb[0], 1, 0);
		submit_read(&a[i].cb);
		submit_read(&b[i].cb);
	}
	wait_in_read(pa[0]);
	assert_cancel(pa[0], NULL, AIO_NOTCANCELED);
	ck_assert(wait_events(2, WAIT_MS));
	for (i = 0; i < 3; i++)
		ck_assert_int_eq(aio_error(&b[i].cb), EINPROGRESS);
	ck_assert_int_eq(write(pb[1], "123", 3), 3);
	for (i = 0; i < 3; i++) {
		wait_final(&b[i].cb, WAIT_MS);
		assert_done(&b[i].cb, 1);
		ck_assert_int_eq(b[i].buf[0], '1' + i);
	}
	ck_assert_int_eq(write(pa[1], "a", 1), 1);
	wait_final(&a[0].cb, WAIT_MS);
	assert_done(&a[0].cb, 1);
	ck_assert(wait_events(6, WAIT_MS));
	close(pa[0]);
	close(pa[1]);
	close(pb[0]);
	close(pb[1]);
}
END_TEST

/* --- per-fd order after a cancel (glibc defect 2) --- */

/*
 * glibc strands every later request on an fd when the request at the head
 * of the fd's queue is cancelled.  Here the head of the waiting queue (the
 * 2nd read; the 1st is running) is cancelled, and the 3rd still runs, in
 * order.
 */
START_TEST(regression_cancel_queue_head_strands_later_requests)
{
	struct req q[3];
	int p[2];

	ck_assert_int_eq(pipe2(p, O_CLOEXEC), 0);
	submit_byte_reads(q, 0, 3, p[0]);
	if (!backend_is_uring())
		wait_in_read(p[0]);
	assert_cancel(p[0], &q[1].cb, AIO_CANCELED);
	assert_canceled(&q[1].cb);
	ck_assert_int_eq(aio_error(&q[2].cb), EINPROGRESS);
	ck_assert_int_eq(write(p[1], "ab", 2), 2);
	wait_final(&q[0].cb, WAIT_MS);
	wait_final(&q[2].cb, WAIT_MS);
	assert_done(&q[0].cb, 1);
	assert_done(&q[2].cb, 1);
	ck_assert_int_eq(q[0].buf[0], 'a');
	ck_assert_int_eq(q[2].buf[0], 'b');
	ck_assert(wait_events(3, WAIT_MS));
	close(p[0]);
	close(p[1]);
}
END_TEST

/*
 * pthread_mutex_unlock, interposed (the library calls it through its PLT):
 * a thread that armed itself stops right after its n-th unlock, until the
 * test lets it go on.  So a test can act at each point where aio_cancel
 * has just released a lock, without a hook in the library.
 */
static __thread unsigned stop_after;	/* 0: disarmed */
static __thread unsigned unlocks;
static sem_t stopped, go_on;

int pthread_mutex_unlock(pthread_mutex_t *m)
{
	static int (*real)(pthread_mutex_t *);
	int (*f)(pthread_mutex_t *) = __atomic_load_n(&real, __ATOMIC_RELAXED);
	int rc;

	if (!f) {
		/* the next definition: libc's, or a sanitizer's interceptor */
		*(void **)&f = dlsym(RTLD_NEXT, "pthread_mutex_unlock");
		__atomic_store_n(&real, f, __ATOMIC_RELAXED);
	}
	rc = f(m);
	if (stop_after && ++unlocks == stop_after) {
		sem_post(&stopped);
		while (sem_wait(&go_on) < 0)
			;
	}
	return rc;
}

struct stopping_cancel {
	int fd;
	struct aiocb *cb;
	unsigned stop_after;
	int answer;
	sem_t finished;
};

static void *cancel_with_a_stop(void *arg)
{
	struct stopping_cancel *c = arg;

	unlocks = 0;
	stop_after = c->stop_after;
	c->answer = aio_cancel(c->fd, c->cb);
	stop_after = 0;
	sem_post(&c->finished);
	return NULL;
}

/*
 * Stopped (true) or returned, whichever first; fails the test after ms.  A
 * stopped canceller cannot return until go_on: if it returned, it did not
 * stop.
 */
static bool stops_or_finishes(struct stopping_cancel *c, long ms)
{
	double end = now_sec() + (double)ms / 1000.0;

	for (;;) {
		struct timespec tick = deadline_rt(1);

		if (sem_timedwait(&stopped, &tick) == 0)
			return true;
		if (sem_trywait(&c->finished) == 0)
			return false;
		ck_assert_msg(now_sec() < end, "aio_cancel neither stopped nor returned in %ld ms",
			      ms);
	}
}

/* Is cb final within ms?  (No assertion: a stopped canceller may hold up its completion.) */
static bool final_within(const struct aiocb *cb, long ms)
{
	const struct aiocb *list[1] = { cb };
	struct timespec t = ms_ts(ms);

	if (aio_error(cb) != EINPROGRESS)
		return true;
	aio_suspend(list, 1, &t);
	return aio_error(cb) != EINPROGRESS;
}

/*
 * Regression (7f50693): aio_cancel of an ordered request that has not
 * started took it out of its fd's order queue and released the fd's lock
 * before it published ECANCELED.  In between, the request after it could
 * start, run and publish: a program saw a later read of the stream final
 * while the earlier one, whose turn it had taken, still said EINPROGRESS.
 *
 * Three one-byte reads of a pipe: the 1st runs (the pipe is empty), the
 * 2nd and 3rd wait for their turn, and another thread cancels the 2nd.
 * For each n, that thread stops after its n-th mutex unlock; meanwhile
 * the pipe gets two bytes, the 1st read finishes, and the 3rd must not
 * finish while the 2nd is in progress.  The time given the 3rd is a
 * deadline for something that must not happen: before the fix, it
 * finished within microseconds.  The stops go up through every unlock
 * of the call, and one of them must have fallen in the window: the 2nd
 * read in progress at the stop, the 1st finished during it, and
 * aio_cancel then answering AIO_CANCELED.
 */
START_TEST(cancelled_read_is_final_before_the_next_starts)
{
	unsigned n, windows = 0;

	ck_assert_int_eq(sem_init(&stopped, 0, 0), 0);
	ck_assert_int_eq(sem_init(&go_on, 0, 0), 0);
	for (n = 1;; n++) {
		struct stopping_cancel c = { .stop_after = n };
		struct aiocb q[3];
		char buf[3] = { 0 };
		bool stop, second_running_at_stop = false, first_done = false;
		pthread_t th;
		int p[2], i;

		ck_assert_msg(n < 1000, "aio_cancel released a lock 1000 times");
		ck_assert_int_eq(pipe2(p, O_CLOEXEC), 0);
		for (i = 0; i < 3; i++) {
			prep_aiocb(&q[i], p[0], &buf[i], 1, 0);
			submit_read(&q[i]);
		}
		if (!backend_is_uring())
			wait_in_read(p[0]);
		c.fd = p[0];
		c.cb = &q[1];
		ck_assert_int_eq(sem_init(&c.finished, 0, 0), 0);
		ck_assert_int_eq(pthread_create(&th, NULL, cancel_with_a_stop, &c), 0);
		stop = stops_or_finishes(&c, WAIT_MS);
		ck_assert_int_eq(write(p[1], "ab", 2), 2);
		if (stop) {
			second_running_at_stop = aio_error(&q[1]) == EINPROGRESS;
			first_done = final_within(&q[0], 1000);
			if (first_done && final_within(&q[2], 300))
				ck_assert_msg(aio_error(&q[1]) != EINPROGRESS,
					      "stop %u: read 3 finished ('%c') while read 2, "
					      "being cancelled, was still in progress",
					      n, buf[2]);
			sem_post(&go_on);
		}
		join_within(th, WAIT_MS);
		wait_final(&q[0], WAIT_MS);
		assert_done(&q[0], 1);
		ck_assert_int_eq(buf[0], 'a');
		if (c.answer == AIO_CANCELED) {
			assert_canceled(&q[1]);
			wait_final(&q[2], WAIT_MS);
			assert_done(&q[2], 1);
			ck_assert_int_eq(buf[2], 'b');
			windows += second_running_at_stop && first_done;
		} else {
			/* the 2nd had started (its turn came during a stop before the decision) */
			ck_assert_msg(c.answer == AIO_NOTCANCELED || c.answer == AIO_ALLDONE,
				      "aio_cancel answered %d", c.answer);
			ck_assert_int_eq(write(p[1], "c", 1), 1);
			wait_final(&q[1], WAIT_MS);
			wait_final(&q[2], WAIT_MS);
			assert_done(&q[1], 1);
			assert_done(&q[2], 1);
			ck_assert_int_eq(buf[1], 'b');
			ck_assert_int_eq(buf[2], 'c');
		}
		sem_destroy(&c.finished);
		close(p[0]);
		close(p[1]);
		if (!stop)
			break;	/* every unlock of the call had its stop */
	}
	fprintf(stderr, "cancelled_read_is_final_before_the_next_starts: %u stops, %u in the window\n",
		n - 1, windows);
	ck_assert_msg(windows > 0, "no stop fell between the cancel's decision and its ECANCELED");
}
END_TEST

/* Cancel the head and the tail of the waiting queue, then queue more. */
START_TEST(cancel_head_and_tail_then_submit)
{
	struct req q[7];
	int p[2], i;
	const int kept[] = { 0, 2, 3, 5, 6 };

	ck_assert_int_eq(pipe2(p, O_CLOEXEC), 0);
	submit_byte_reads(q, 0, 5, p[0]);
	assert_cancel(p[0], &q[4].cb, AIO_CANCELED);	/* tail */
	assert_cancel(p[0], &q[1].cb, AIO_CANCELED);	/* head of the waiting ones */
	submit_byte_reads(q, 5, 7, p[0]);
	ck_assert_int_eq(write(p[1], "vwxyz", 5), 5);
	for (i = 0; i < 5; i++) {
		struct req *r = &q[kept[i]];

		wait_final(&r->cb, WAIT_MS);
		assert_done(&r->cb, 1);
		ck_assert_msg(r->buf[0] == "vwxyz"[i], "read %d got '%c', expected '%c'", kept[i],
			      r->buf[0], "vwxyz"[i]);
	}
	assert_canceled(&q[1].cb);
	assert_canceled(&q[4].cb);
	ck_assert(wait_events(7, WAIT_MS));
	for (i = 0; i < 7; i++)
		ck_assert_int_eq(notes_of(&q[i]), 1);
	close(p[0]);
	close(p[1]);
}
END_TEST

/* --- races --- */

#define RACE_K 16
/* Spin rounds before a cancel: from none to some tens of microseconds, a hand-off's time. */
#define RACE_SPIN 50000u

/* Rounds at least, whatever RTAIO_TEST_SCALE says: fewer leave one side of a race to luck. */
#define RACE_MIN_ROUNDS 500ul

/* How the requests of a race test ended, over all its rounds. */
struct race_tally {
	unsigned long canceled;		/* ECANCELED: never ran */
	unsigned long completed;	/* ran to their normal result despite the cancel */
	unsigned long answers[3];	/* aio_cancel's answers, by value (AIO_CANCELED...) */
};

/*
 * Both sides of the race happened: some requests were cancelled, others
 * completed normally although aio_cancel was tried on them.  Reads of a
 * regular file under io_uring are RUNNING from the moment they are in the
 * ring, and nothing interrupts them: there (cancellable false) the race is
 * between aio_cancel and the completion, and it must have answered both
 * AIO_NOTCANCELED (in flight) and AIO_ALLDONE (already done).
 */
static void assert_both_sides(const char *test, const struct race_tally *t, bool cancellable)
{
	fprintf(stderr, "%s: %lu cancelled, %lu completed; answers %lu/%lu/%lu\n", test,
		t->canceled, t->completed, t->answers[AIO_CANCELED], t->answers[AIO_NOTCANCELED],
		t->answers[AIO_ALLDONE]);
	ck_assert_msg(t->completed > 0, "%s: no request completed despite a cancel", test);
	if (cancellable)
		ck_assert_msg(t->canceled > 0, "%s: no request was cancelled", test);
	else
		ck_assert_msg(t->answers[AIO_NOTCANCELED] > 0 && t->answers[AIO_ALLDONE] > 0,
			      "%s: aio_cancel never found a request %s", test,
			      t->answers[AIO_NOTCANCELED] ? "done" : "in flight");
}

/* Are regular-file reads cancellable before they run (queued for a worker)? */
static bool file_reads_cancellable(void)
{
	return !backend_is_uring();
}

/*
 * One request of a race round, final and notified: exactly one notification
 * that saw the final status, and, with check_answer, a final status that
 * agrees with what aio_cancel said about it.  Counted in t.
 */
static void race_check_one(struct req *q, size_t len, bool check_answer, struct race_tally *t)
{
	int err = aio_error(&q->cb);

	ck_assert_msg(err == 0 || err == ECANCELED, "final status %d (%s)", err, strerror(err));
	ck_assert_int_eq(q->seen.notes, 1);
	ck_assert_int_eq(q->seen.err, err);
	if (err == 0) {
		ck_assert_int_eq(aio_return(&q->cb), (ssize_t)len);
		ck_assert_int_eq(q->seen.ret, (ssize_t)len);
	} else {
		ck_assert_int_eq(aio_return(&q->cb), -1);
		ck_assert_int_eq(q->seen.ret, -1);
	}
	if (err == 0)
		t->completed++;
	else
		t->canceled++;
	if (!check_answer)
		return;
	switch (q->answer) {
	case AIO_CANCELED:
		ck_assert_int_eq(err, ECANCELED);
		break;
	case AIO_NOTCANCELED:
	case AIO_ALLDONE:
		ck_assert_int_eq(err, 0);
		break;
	default:
		ck_abort_msg("aio_cancel answered %d", q->answer);
	}
	t->answers[q->answer]++;
}

struct race {
	struct req q[RACE_K];
	int fd;
	pthread_mutex_t lock;
	pthread_cond_t more;
	unsigned submitted;	/* requests submitted so far in this round, under lock */
	bool waiting;		/* the canceller waits for `more`, under lock */
	unsigned seed;		/* the canceller's random delays */
	const char *failure;	/* set by the canceller when it sees an inconsistency */
	int bad;
};

static struct race *race_new(void)
{
	struct race *r = calloc(1, sizeof *r);

	ck_assert_ptr_nonnull(r);
	pthread_mutex_init(&r->lock, NULL);
	pthread_cond_init(&r->more, NULL);
	return r;
}

static void race_free(struct race *r)
{
	pthread_mutex_destroy(&r->lock);
	pthread_cond_destroy(&r->more);
	free(r);
}

/* The submitter: n requests are out. */
static void race_submitted(struct race *r, unsigned n)
{
	pthread_mutex_lock(&r->lock);
	r->submitted = n;
	if (r->waiting)
		pthread_cond_signal(&r->more);
	pthread_mutex_unlock(&r->lock);
}

/* The canceller: wait until request i is out; false after 10 s. */
static bool race_wait_submitted(struct race *r, unsigned i)
{
	struct timespec dl;
	bool ok = true;

	clock_gettime(CLOCK_REALTIME, &dl);
	dl.tv_sec += 10;
	pthread_mutex_lock(&r->lock);
	while (ok && r->submitted <= i) {
		r->waiting = true;
		ok = pthread_cond_timedwait(&r->more, &r->lock, &dl) == 0 || r->submitted > i;
		r->waiting = false;
	}
	pthread_mutex_unlock(&r->lock);
	return ok;
}

static void *per_request_canceller(void *arg)
{
	struct race *r = arg;
	unsigned i;

	for (i = 0; i < RACE_K; i++) {
		struct req *q = &r->q[i];
		int rc, err;

		if (!race_wait_submitted(r, i)) {
			r->failure = "submitter stalled";
			return NULL;
		}
		spin_random(&r->seed, RACE_SPIN);	/* vary who wins */
		rc = aio_cancel(r->fd, &q->cb);
		err = aio_error(&q->cb);
		q->answer = rc;
		/* what aio_cancel said must already show in aio_error */
		if ((rc == AIO_CANCELED && err != ECANCELED) ||
		    (rc == AIO_ALLDONE && (err == EINPROGRESS || err == ECANCELED)) ||
		    (rc == AIO_NOTCANCELED && err == ECANCELED) || rc < 0) {
			r->failure = "aio_cancel's answer disagrees with aio_error";
			r->bad = rc * 1000 + err;
			return NULL;
		}
	}
	return NULL;
}

/*
 * One round of a race: a canceller thread cancels each of r's RACE_K
 * requests, prepared by the caller, as submit hands it to rtaio; then
 * every request is final and its notification has run, once (*expected
 * counts the notifications of all rounds so far).
 */
static void race_round(struct race *r, unsigned long it, void (*submit)(struct aiocb *),
		       unsigned long *expected)
{
	pthread_t canceller;
	int i;

	r->submitted = 0;
	ck_assert_int_eq(pthread_create(&canceller, NULL, per_request_canceller, r), 0);
	for (i = 0; i < RACE_K; i++) {
		submit(&r->q[i].cb);
		race_submitted(r, (unsigned)i + 1);
	}
	ck_assert_int_eq(pthread_join(canceller, NULL), 0);
	ck_assert_msg(!r->failure, "iteration %lu: %s (%d)", it, r->failure, r->bad);
	for (i = 0; i < RACE_K; i++)
		wait_final(&r->q[i].cb, WAIT_MS);
	*expected += RACE_K;
	ck_assert_msg(wait_events(*expected, WAIT_MS), "iteration %lu: %lu of %lu notifications",
		      it, events(), *expected);
	ck_assert_int_eq(sync_seen(r->q, RACE_K), *expected);
}

static void submit_write(struct aiocb *cb)
{
	ck_assert_msg(aio_write(cb) == 0, "aio_write: %s", strerror(errno));
}

/*
 * A canceller thread cancels each of RACE_K reads of a cached file as it is
 * submitted, after a random delay.  The reads are not served from the page
 * cache at submission (which would leave nothing to race): they wait for a
 * worker, or run in the ring.
 */
START_TEST(race_cancel_file_reads)
{
	struct race *r = race_new();
	struct race_tally tally = { 0 };
	unsigned long iters = scaled_at_least(2000, RACE_MIN_ROUNDS), it, expected = 0;
	int i;

	no_inline_reads();
	r->fd = pattern_file(RACE_K * 512 + 4096);
	r->seed = 4242u;
	set_pool(2, 2);
	for (it = 0; it < iters; it++) {
		for (i = 0; i < RACE_K; i++)
			prep_req(&r->q[i], r->fd, 512, (off_t)(i * 512 + it % 4096));
		race_round(r, it, submit_read, &expected);
		for (i = 0; i < RACE_K; i++) {
			struct req *q = &r->q[i];

			race_check_one(q, 512, true, &tally);
			if (aio_error(&q->cb) == 0) {
				long bad = first_bad_byte(q->buf, (uint64_t)q->cb.aio_offset, 512);

				ck_assert_msg(bad < 0, "iteration %lu, read %d: byte %ld wrong", it,
					      i, bad);
			}
		}
	}
	ck_assert_int_eq(events(), expected);
	assert_both_sides("race_cancel_file_reads", &tally, file_reads_cancellable());
	close(r->fd);
	race_free(r);
}
END_TEST

/* Writes RACE_K bytes 0..RACE_K-1 into the pipe, one at a time. */
struct feeder {
	int wfd;
	unsigned iter;
};

static void *feed(void *arg)
{
	struct feeder *f = arg;
	unsigned char i;

	for (i = 0; i < RACE_K; i++) {
		if ((i + f->iter) % 4 == 0)
			sched_yield();
		if (write(f->wfd, &i, 1) != 1)
			abort();
	}
	return NULL;
}

/*
 * Reads of a pipe, cancelled one by one after random delays as they are
 * submitted, while a feeder thread writes the bytes they wait for: the
 * reads that ran got the bytes in order, the cancelled ones left theirs.
 */
START_TEST(race_cancel_pipe_reads)
{
	struct race *r = race_new();
	struct race_tally tally = { 0 };
	unsigned long iters = scaled_at_least(2000, RACE_MIN_ROUNDS), it, expected = 0;
	int p[2], i;

	ck_assert_int_eq(pipe2(p, O_CLOEXEC), 0);
	r->fd = p[0];
	r->seed = 2424u;
	for (it = 0; it < iters; it++) {
		struct feeder f = { p[1], (unsigned)it };
		pthread_t feeder;
		unsigned char left[RACE_K + 1], next = 0;
		size_t nleft;

		for (i = 0; i < RACE_K; i++) {
			prep_req(&r->q[i], p[0], 1, 0);
			r->q[i].buf[0] = (char)0xee;
		}
		/* every read that is not cancelled has a byte to read */
		ck_assert_int_eq(pthread_create(&feeder, NULL, feed, &f), 0);
		race_round(r, it, submit_read, &expected);
		ck_assert_int_eq(pthread_join(feeder, NULL), 0);
		/* the reads that ran got the bytes in submission order */
		for (i = 0; i < RACE_K; i++) {
			struct req *q = &r->q[i];

			race_check_one(q, 1, true, &tally);
			if (aio_error(&q->cb) == 0) {
				ck_assert_msg((unsigned char)q->buf[0] == next,
					      "iteration %lu: read %d got %d, expected %d", it, i,
					      (unsigned char)q->buf[0], next);
				next++;
			} else {
				ck_assert_int_eq((unsigned char)q->buf[0], 0xee);
			}
		}
		/* and the cancelled ones left theirs in the pipe */
		nleft = drain(p[0], (char *)left, sizeof left);
		ck_assert_int_eq(nleft, RACE_K - next);
		for (i = 0; i < (int)nleft; i++)
			ck_assert_int_eq(left[i], next + i);
	}
	/* a pipe read is cancellable under both backends: queued, or interrupted in the ring */
	assert_both_sides("race_cancel_pipe_reads", &tally, true);
	close(p[0]);
	close(p[1]);
	race_free(r);
}
END_TEST

/*
 * Writes of one byte each to a pipe that has the number of a file written
 * a moment before, cancelled one by one after random delays as they are
 * submitted.  rtaio sends such a write as a file's, and when it fails with
 * ESPIPE, as the stream's write (on io_uring, a write that leaves the
 * thread backend for the ring): aio_cancel must find the write where it
 * is, or say it is too late, and never both cancel it and let it write.
 * The writes that ran put their bytes in the pipe in submission order,
 * before a last write that ends the round; the cancelled ones, none.  The
 * statistics tell that writes did find the stream.
 */
START_TEST(race_cancel_writes_finding_a_stream)
{
	const char *found = "writes that found a stream where a file was: ";
	struct race *r = race_new();
	struct race_tally tally = { 0 };
	unsigned long iters = scaled_at_least(1000, RACE_MIN_ROUNDS), it, expected = 0;
	unsigned long restreamed;
	int i;

	setenv("RTAIO_STATS", "/dev/null", 1);	/* before the first request */
	r->seed = 7117u;
	for (it = 0; it < iters; it++) {
		unsigned char got[RACE_K + 2], next = 0, last = 0xff;
		struct aiocb end;
		size_t n;
		int p[2];

		ck_assert_int_eq(pipe2(p, O_CLOEXEC), 0);
		r->fd = file_number_given_to(p[1]);
		for (i = 0; i < RACE_K; i++) {
			prep_req(&r->q[i], r->fd, 1, i);
			r->q[i].buf[0] = (char)i;
		}
		race_round(r, it, submit_write, &expected);
		/* after every write of the round: a cancelled one that wrote anyway shows before it */
		prep_aiocb(&end, r->fd, &last, 1, 0);
		ck_assert_int_eq(aio_write(&end), 0);
		wait_final(&end, WAIT_MS);
		assert_status(&end, 0, 1);
		n = drain(p[0], (char *)got, sizeof got);
		for (i = 0; i < RACE_K; i++) {
			race_check_one(&r->q[i], 1, true, &tally);
			if (aio_error(&r->q[i].cb) == 0)
				ck_assert_msg(next < n && got[next++] == i,
					      "iteration %lu: write %d is not byte %u of the pipe", it,
					      i, next - 1u);
		}
		ck_assert_msg(n == next + 1u && got[next] == last,
			      "iteration %lu: the pipe holds %zu bytes after the %u written", it, n,
			      next);
		close(p[0]);
		close(r->fd);
	}
	restreamed = reported(found);
	fprintf(stderr, "race_cancel_writes_finding_a_stream: %lu writes found the stream\n",
		restreamed);
	ck_assert_uint_ge(restreamed, iters);
	assert_both_sides("race_cancel_writes_finding_a_stream", &tally, true);
	race_free(r);
}
END_TEST

/* aio_cancel(fd, NULL) from two threads while requests are submitted and complete. */
struct all_canceller {
	int fd;
	unsigned *stop;
	unsigned long answers[3];
	int bad;
};

static void *cancel_all_loop(void *arg)
{
	struct all_canceller *c = arg;

	while (!__atomic_load_n(c->stop, __ATOMIC_ACQUIRE)) {
		int rc = aio_cancel(c->fd, NULL);

		if (rc < AIO_CANCELED || rc > AIO_ALLDONE) {
			c->bad = rc;
			return NULL;
		}
		c->answers[rc]++;
		sched_yield();
	}
	return NULL;
}

/*
 * Two threads call aio_cancel(fd, NULL) over and over while RACE_K reads
 * of a cached file are submitted and complete; the reads are not served
 * from the page cache at submission, as in race_cancel_file_reads.
 */
START_TEST(race_cancel_all_two_threads)
{
	struct race *r = race_new();
	struct race_tally tally = { 0 };
	unsigned long iters = scaled_at_least(1000, RACE_MIN_ROUNDS), it, expected = 0;
	int i, t;

	no_inline_reads();
	r->fd = pattern_file(RACE_K * 512);
	set_pool(2, 2);
	for (it = 0; it < iters; it++) {
		struct all_canceller c[2];
		pthread_t th[2];
		unsigned stop = 0;
		unsigned long canceled_before = tally.canceled;

		for (i = 0; i < RACE_K; i++)
			prep_req(&r->q[i], r->fd, 512, (off_t)i * 512);
		for (t = 0; t < 2; t++) {
			c[t] = (struct all_canceller){ r->fd, &stop, { 0, 0, 0 }, 0 };
			ck_assert_int_eq(pthread_create(&th[t], NULL, cancel_all_loop, &c[t]), 0);
		}
		for (i = 0; i < RACE_K; i++)
			submit_read(&r->q[i].cb);
		for (i = 0; i < RACE_K; i++)
			wait_final(&r->q[i].cb, WAIT_MS);
		__atomic_store_n(&stop, 1, __ATOMIC_RELEASE);
		for (t = 0; t < 2; t++) {
			ck_assert_int_eq(pthread_join(th[t], NULL), 0);
			ck_assert_msg(!c[t].bad, "aio_cancel(fd, NULL) returned %d", c[t].bad);
		}
		expected += RACE_K;
		ck_assert_msg(wait_events(expected, WAIT_MS), "iteration %lu: %lu of %lu notifications",
			      it, events(), expected);
		ck_assert_int_eq(sync_seen(r->q, RACE_K), expected);
		for (i = 0; i < RACE_K; i++)
			race_check_one(&r->q[i], 512, false, &tally);
		/* a request is cancelled only by an aio_cancel that said it cancelled something */
		if (tally.canceled > canceled_before)
			ck_assert_msg(c[0].answers[AIO_CANCELED] + c[0].answers[AIO_NOTCANCELED] +
					      c[1].answers[AIO_CANCELED] +
					      c[1].answers[AIO_NOTCANCELED] > 0,
				      "iteration %lu: %lu cancelled, but every aio_cancel said AIO_ALLDONE",
				      it, tally.canceled - canceled_before);
		for (t = 0; t < 3; t++)
			tally.answers[t] += c[0].answers[t] + c[1].answers[t];
	}
	assert_cancel(r->fd, NULL, AIO_ALLDONE);
	assert_both_sides("race_cancel_all_two_threads", &tally, file_reads_cancellable());
	close(r->fd);
	race_free(r);
}
END_TEST

/* --- io_uring: a read in the kernel is interrupted --- */

START_TEST(uring_running_read_is_canceled)
{
	struct req q;
	int p[2];
	char left;

	if (!require_uring())
		return;
	ck_assert_int_eq(pipe2(p, O_CLOEXEC), 0);
	prep_req(&q, p[0], 8, 0);
	submit_read(&q.cb);
	assert_cancel(p[0], &q.cb, AIO_CANCELED);
	assert_canceled(&q.cb);
	ck_assert(wait_events(1, WAIT_MS));
	sync_seen(&q, 1);
	ck_assert_int_eq(q.seen.err, ECANCELED);
	/* the data written afterwards stays for the next reader */
	ck_assert_int_eq(write(p[1], "k", 1), 1);
	ck_assert_int_eq(drain(p[0], &left, 1), 1);
	ck_assert_int_eq(left, 'k');
	assert_cancel(p[0], &q.cb, AIO_ALLDONE);
	ck_assert_int_eq(events(), 1);
	close(p[0]);
	close(p[1]);
}
END_TEST

START_TEST(uring_cancel_all_pipe_reads)
{
	enum { N = 300 };
	struct req *q = calloc(N, sizeof *q);
	int p[2], i;

	if (!require_uring())
		return;
	ck_assert_ptr_nonnull(q);
	ck_assert_int_eq(pipe2(p, O_CLOEXEC), 0);
	submit_byte_reads(q, 0, N, p[0]);
	assert_cancel(p[0], NULL, AIO_CANCELED);
	for (i = 0; i < N; i++)
		assert_canceled(&q[i].cb);
	ck_assert_msg(wait_events(N, WAIT_MS), "%lu of %d notifications", events(), N);
	for (i = 0; i < N; i++)
		ck_assert_int_eq(notes_of(&q[i]), 1);
	/* and the fd takes new requests, in order */
	prep_req(&q[0], p[0], 1, 0);
	submit_read(&q[0].cb);
	ck_assert_int_eq(write(p[1], "n", 1), 1);
	wait_final(&q[0].cb, WAIT_MS);
	assert_done(&q[0].cb, 1);
	ck_assert(wait_events(N + 1, WAIT_MS));	/* its notification is over too */
	close(p[0]);
	close(p[1]);
	free(q);
}
END_TEST

static void thread_backend(void)
{
	use_backend("threads");
}

static Suite *make_suite(void)
{
	Suite *s = suite_create("aio_cancel");
	TCase *tc;

	tc = tcase_create("arguments");
	tcase_set_timeout(tc, 60);
	tcase_add_checked_fixture(tc, reset_events, NULL);
	tcase_add_test(tc, bad_fd_is_ebadf);
	tcase_add_test(tc, wrong_fd_is_einval);
	suite_add_tcase(s, tc);

	tc = tcase_create("alldone");
	tcase_set_timeout(tc, 60);
	tcase_add_checked_fixture(tc, reset_events, NULL);
	tcase_add_test(tc, finished_request_is_alldone);
	tcase_add_test(tc, unsubmitted_aiocb_is_alldone);
	tcase_add_test(tc, cancel_all_on_idle_fd_is_alldone);
	suite_add_tcase(s, tc);

	tc = tcase_create("canceled");
	tcase_set_timeout(tc, 60);
	tcase_add_checked_fixture(tc, reset_events, NULL);
	tcase_add_test(tc, queued_pipe_reads_canceled_signal);
	tcase_add_test(tc, queued_pipe_reads_canceled_thread);
	tcase_add_test(tc, queued_file_read_behind_full_pool);
	suite_add_tcase(s, tc);

	tc = tcase_create("notcanceled");
	/* reads that a worker runs: the thread backend cannot interrupt them */
	tcase_add_checked_fixture(tc, thread_backend, NULL);
	tcase_set_timeout(tc, 60);
	tcase_add_checked_fixture(tc, reset_events, NULL);
	tcase_add_test(tc, running_read_is_notcanceled);
	tcase_add_test(tc, cancel_all_mixed_is_notcanceled);
	tcase_add_test(tc, cancel_all_many);
	tcase_add_test(tc, cancel_all_leaves_other_fds);
	tcase_add_test(tc, partly_cached_read_is_notcanceled);
	suite_add_tcase(s, tc);

	tc = tcase_create("io_uring");
	tcase_set_timeout(tc, 60);
	tcase_add_checked_fixture(tc, reset_events, NULL);
	tcase_add_test(tc, uring_running_read_is_canceled);
	tcase_add_test(tc, uring_cancel_all_pipe_reads);
	suite_add_tcase(s, tc);

	tc = tcase_create("order");
	tcase_set_timeout(tc, 60);
	tcase_add_checked_fixture(tc, reset_events, NULL);
	tcase_add_test(tc, regression_cancel_queue_head_strands_later_requests);
	tcase_add_test(tc, cancel_head_and_tail_then_submit);
	tcase_add_test(tc, cancelled_read_is_final_before_the_next_starts);
	suite_add_tcase(s, tc);

	tc = tcase_create("races");
	tcase_set_timeout(tc, 300);
	tcase_add_checked_fixture(tc, reset_events, NULL);
	tcase_add_test(tc, race_cancel_file_reads);
	tcase_add_test(tc, race_cancel_pipe_reads);
	tcase_add_test(tc, race_cancel_writes_finding_a_stream);
	tcase_add_test(tc, race_cancel_all_two_threads);
	suite_add_tcase(s, tc);
	return s;
}

TEST_MAIN(make_suite)
