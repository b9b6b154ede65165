/*
 * lio_listio(3): LIO_WAIT and LIO_NOWAIT, failures per element, skipped
 * entries, argument checks, the list notification (once, after every
 * element), interruption by a signal (glibc crashes later: defect 1; an
 * SA_RESTART handler restarts the wait), and big lists.
 *
 * Elements are kept pending deterministically with reads on an empty pipe
 * (they run one at a time, in list order); every wait has a deadline, and
 * nothing sleeps to synchronise.
 */
#include <aio.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>

#include "aioutil.h"

#define WAIT_MS 20000L
#define SIG_LIST (SIGRTMIN + 2)
#define SIG_ELEM (SIGRTMIN + 3)

/* --- helpers --- */

static void prep_cb(struct aiocb *cb, int op, int fd, volatile void *buf, size_t len, off_t off)
{
	prep_aiocb(cb, fd, buf, len, off);
	cb->aio_lio_opcode = op;
}

static void assert_fails(int rc, int err)
{
	int e = errno;

	ck_assert_msg(rc == -1 && e == err, "lio_listio returned %d, errno %d (%s); expected -1/%s",
		      rc, e, strerror(e), strerror(err));
}

static void signal_note(struct sigevent *sev, int sig, int value)
{
	memset(sev, 0, sizeof *sev);
	sev->sigev_notify = SIGEV_SIGNAL;
	sev->sigev_signo = sig;
	sev->sigev_value.sival_int = value;
}

/*
 * SIGEV_THREAD bookkeeping.  A notification records, under ev_lock, how
 * often it ran and whether everything it should follow was final.
 */
struct tnote {
	int runs;
	int value;		/* sigev_value seen */
	bool all_final;		/* every watched aiocb was final when it ran */
	pid_t tid;
};

static pthread_mutex_t ev_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t ev_cond = PTHREAD_COND_INITIALIZER;
static unsigned long ev_total;

/* What a list notification watches: set before lio_listio, read by the callback. */
static struct aiocb *const *watch_list;
static int watch_n;
static struct tnote list_note;

static bool all_final(struct aiocb *const *list, int n)
{
	int i;

	for (i = 0; i < n; i++)
		if (list[i] && list[i]->aio_lio_opcode != LIO_NOP &&
		    aio_error(list[i]) == EINPROGRESS)
			return false;
	return true;
}

static void on_list_done(union sigval v)
{
	bool final = all_final(watch_list, watch_n);

	pthread_mutex_lock(&ev_lock);
	list_note.runs++;
	list_note.value = v.sival_int;
	list_note.all_final = final;
	list_note.tid = gettid();
	ev_total++;
	pthread_cond_broadcast(&ev_cond);
	pthread_mutex_unlock(&ev_lock);
}

/* Element notification: sival_ptr is the element's struct elem. */
struct elem {
	struct aiocb cb;
	struct tnote live;	/* under ev_lock */
	int err_seen;		/* under ev_lock */
	ssize_t ret_seen;
	char buf[256];
};

static void on_elem_done(union sigval v)
{
	struct elem *e = v.sival_ptr;
	int err = aio_error(&e->cb);
	ssize_t ret = aio_return(&e->cb);

	pthread_mutex_lock(&ev_lock);
	e->live.runs++;
	e->live.all_final = err != EINPROGRESS;
	e->live.tid = gettid();
	e->err_seen = err;
	e->ret_seen = ret;
	ev_total++;
	pthread_cond_broadcast(&ev_cond);
	pthread_mutex_unlock(&ev_lock);
}

static void thread_note(struct sigevent *sev, void (*fn)(union sigval), union sigval v)
{
	memset(sev, 0, sizeof *sev);
	sev->sigev_notify = SIGEV_THREAD;
	sev->sigev_notify_function = fn;
	sev->sigev_value = v;
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

static struct tnote list_note_copy(void)
{
	struct tnote t;

	pthread_mutex_lock(&ev_lock);
	t = list_note;
	pthread_mutex_unlock(&ev_lock);
	return t;
}

/* Wait until the waiting thread has queued every element of cb[n]. */
static void wait_all_queued(const struct aiocb *cb, int n)
{
	int i;

	for (i = 0; i < n; i++) {
		double end = now_sec() + 10;

		while (aio_error(&cb[i]) != EINPROGRESS) {
			ck_assert_msg(now_sec() < end, "element %d never submitted", i);
			sched_yield();
		}
	}
}

static void reset_events(void)
{
	pthread_mutex_lock(&ev_lock);
	ev_total = 0;
	memset(&list_note, 0, sizeof list_note);
	pthread_mutex_unlock(&ev_lock);
	watch_list = NULL;
	watch_n = 0;
}

/* --- LIO_WAIT --- */

START_TEST(wait_all_done_data_verified)
{
	enum { NR = 8, NW = 4 };
	int src = pattern_file(1 << 20), dst = pattern_file(0), i;
	static char rbuf[NR][4096], wbuf[NW][1000];
	struct aiocb cb[NR + NW];
	struct aiocb *list[NR + NW];

	for (i = 0; i < NR; i++) {
		memset(rbuf[i], 0, sizeof rbuf[i]);
		prep_cb(&cb[i], LIO_READ, src, rbuf[i], 1000 + (size_t)i * 300,
			(off_t)i * 100003);
		list[i] = &cb[i];
	}
	for (i = 0; i < NW; i++) {
		memset(wbuf[i], 'A' + i, sizeof wbuf[i]);
		prep_cb(&cb[NR + i], LIO_WRITE, dst, wbuf[i], sizeof wbuf[i],
			(off_t)i * (off_t)sizeof wbuf[i]);
		list[NR + i] = &cb[NR + i];
	}
	ck_assert_int_eq(lio_listio(LIO_WAIT, list, NR + NW, NULL), 0);
	/* all final by the time it returns */
	for (i = 0; i < NR; i++) {
		size_t len = 1000 + (size_t)i * 300;

		assert_status(&cb[i], 0, (ssize_t)len);
		ck_assert_int_eq(first_bad_byte(rbuf[i], (uint64_t)i * 100003, len), -1);
	}
	for (i = 0; i < NW; i++) {
		char back[1000];

		assert_status(&cb[NR + i], 0, 1000);
		ck_assert_int_eq(pread(dst, back, sizeof back, (off_t)i * 1000), 1000);
		ck_assert(memcmp(back, wbuf[i], sizeof back) == 0);
	}
	close(src);
	close(dst);
}
END_TEST

/* LIO_WAIT sleeps until the last element is done, not the first. */
struct waiter {
	struct aiocb *const *list;
	int n, rc, err;
	int returned;		/* atomic */
};

static void *wait_list_thread(void *arg)
{
	struct waiter *w = arg;

	w->rc = lio_listio(LIO_WAIT, w->list, w->n, NULL);
	w->err = errno;
	__atomic_store_n(&w->returned, 1, __ATOMIC_RELEASE);
	return NULL;
}

START_TEST(wait_returns_after_last)
{
	struct aiocb cb[3];
	struct aiocb *list[3];
	char buf[3] = { 0, 0, 0 };
	struct waiter w = { list, 3, 0, 0, 0 };
	pthread_t th;
	int p[2], i;

	ck_assert_int_eq(pipe2(p, O_CLOEXEC), 0);
	for (i = 0; i < 3; i++) {
		prep_cb(&cb[i], LIO_READ, p[0], &buf[i], 1, 0);
		cb[i].__error_code = -1;	/* "not submitted yet", for the loop below */
		list[i] = &cb[i];
	}
	ck_assert_int_eq(pthread_create(&th, NULL, wait_list_thread, &w), 0);
	wait_all_queued(cb, 3);
	ck_assert_int_eq(write(p[1], "a", 1), 1);
	wait_final(&cb[0], WAIT_MS);
	ck_assert_int_eq(__atomic_load_n(&w.returned, __ATOMIC_ACQUIRE), 0);
	ck_assert_int_eq(write(p[1], "b", 1), 1);
	wait_final(&cb[1], WAIT_MS);
	ck_assert_int_eq(__atomic_load_n(&w.returned, __ATOMIC_ACQUIRE), 0);
	ck_assert_int_eq(write(p[1], "c", 1), 1);
	join_within(th, WAIT_MS);
	ck_assert_int_eq(w.rc, 0);
	for (i = 0; i < 3; i++) {
		assert_status(&cb[i], 0, 1);
		ck_assert_int_eq(buf[i], "abc"[i]);
	}
	close(p[0]);
	close(p[1]);
}
END_TEST

START_TEST(wait_eio_when_an_element_fails)
{
	int fd = pattern_file(8192), wfd, closed, p[2];
	char path[64], b0[100], b1[100], b2[100], b3[100], b4[100];
	struct aiocb cb[5];
	struct aiocb *list[5] = { &cb[0], &cb[1], &cb[2], &cb[3], &cb[4] };

	snprintf(path, sizeof path, "/proc/self/fd/%d", fd);
	wfd = open(path, O_WRONLY | O_CLOEXEC);
	ck_assert_int_ge(wfd, 0);
	ck_assert_int_eq(pipe2(p, O_CLOEXEC), 0);
	/* a number far above the descriptors the engine may open meanwhile */
	closed = fcntl(p[0], F_DUPFD_CLOEXEC, 900);
	ck_assert_int_ge(closed, 900);
	close(closed);
	close(p[0]);
	close(p[1]);
	prep_cb(&cb[0], LIO_READ, fd, b0, sizeof b0, 0);
	prep_cb(&cb[1], LIO_READ, wfd, b1, sizeof b1, 0);	/* EBADF from read */
	prep_cb(&cb[2], LIO_READ, closed, b2, sizeof b2, 0);	/* EBADF: no such fd */
	prep_cb(&cb[3], LIO_READ, fd, b3, sizeof b3, 4096);
	prep_cb(&cb[4], LIO_READ, fd, b4, sizeof b4, 0);
	cb[4].aio_reqprio = AIO_PRIO_DELTA_MAX + 1;		/* refused: EINVAL */
	errno = 0;
	assert_fails(lio_listio(LIO_WAIT, list, 5, NULL), EIO);
	/* each element has its own status, all final */
	assert_status(&cb[0], 0, 100);
	assert_status(&cb[1], EBADF, -1);
	assert_status(&cb[2], EBADF, -1);
	assert_status(&cb[3], 0, 100);
	assert_status(&cb[4], EINVAL, -1);
	ck_assert_int_eq(first_bad_byte(b0, 0, 100), -1);
	ck_assert_int_eq(first_bad_byte(b3, 4096, 100), -1);
	close(wfd);
	close(fd);
}
END_TEST

START_TEST(null_and_nop_entries_skipped)
{
	int fd = pattern_file(4096);
	char buf[64];
	struct aiocb rd, nop1, nop2, nop1_copy, nop2_copy;
	struct aiocb *list[6] = { NULL, &nop1, &rd, NULL, &nop2, NULL };

	prep_cb(&rd, LIO_READ, fd, buf, sizeof buf, 100);
	/* a NOP is not looked at beyond its opcode: garbage everywhere else */
	memset(&nop1, 0x5a, sizeof nop1);
	nop1.aio_lio_opcode = LIO_NOP;
	memset(&nop2, 0xff, sizeof nop2);
	nop2.aio_lio_opcode = LIO_NOP;
	nop1_copy = nop1;
	nop2_copy = nop2;
	ck_assert_int_eq(lio_listio(LIO_WAIT, list, 6, NULL), 0);
	assert_status(&rd, 0, 64);
	ck_assert_int_eq(first_bad_byte(buf, 100, 64), -1);
	ck_assert(memcmp(&nop1, &nop1_copy, sizeof nop1) == 0);
	ck_assert(memcmp(&nop2, &nop2_copy, sizeof nop2) == 0);

	/* only NULL and NOP entries: nothing to do */
	{
		struct aiocb *none[4] = { NULL, &nop1, NULL, &nop2 };

		ck_assert_int_eq(lio_listio(LIO_WAIT, none, 4, NULL), 0);
		ck_assert_int_eq(lio_listio(LIO_NOWAIT, none, 4, NULL), 0);
		ck_assert(memcmp(&nop1, &nop1_copy, sizeof nop1) == 0);
	}
	close(fd);
}
END_TEST

/*
 * Opcodes other than LIO_READ, LIO_WRITE and LIO_NOP, including the values
 * next to them and those a library might use internally for aio_fsync:
 * the element fails with EINVAL through aio_error.
 */
static const int unknown_opcodes[] = { -1, 3, 4, 15, 16, 17, 18, 99, INT_MAX, INT_MIN };

START_TEST(unknown_opcode_element_einval)
{
	int fd = pattern_file(4096);
	char b0[32], b1[32], b2[32], wrong[512] = "";
	struct aiocb cb[3];
	struct aiocb *list[3] = { &cb[0], &cb[1], &cb[2] };
	unsigned k;

	for (k = 0; k < sizeof unknown_opcodes / sizeof unknown_opcodes[0]; k++) {
		int op = unknown_opcodes[k], rc, err;

		prep_cb(&cb[0], LIO_READ, fd, b0, sizeof b0, 0);
		prep_cb(&cb[1], op, fd, b1, sizeof b1, 0);
		prep_cb(&cb[2], LIO_READ, fd, b2, sizeof b2, 32);
		errno = 0;
		rc = lio_listio(LIO_WAIT, list, 3, NULL);
		err = errno;
		assert_status(&cb[0], 0, 32);
		assert_status(&cb[2], 0, 32);
		if (rc != -1 || err != EIO || aio_error(&cb[1]) != EINVAL ||
		    aio_return(&cb[1]) != -1)
			snprintf(wrong + strlen(wrong), sizeof wrong - strlen(wrong),
				 " [opcode %d: lio_listio %d/%s, element %d (%s)/%zd]", op, rc,
				 strerror(err), aio_error(&cb[1]), strerror(aio_error(&cb[1])),
				 aio_return(&cb[1]));
	}
	ck_assert_msg(!wrong[0], "unknown opcodes not refused:%s", wrong);
	close(fd);
}
END_TEST

/* LIO_NOWAIT: queued, fails through aio_error, and the list still completes. */
START_TEST(unknown_opcode_element_nowait)
{
	int fd = pattern_file(4096);
	char b0[32], b1[32], b2[32];
	struct aiocb cb[3];
	struct aiocb *list[3] = { &cb[0], &cb[1], &cb[2] };
	siginfo_t si;
	struct sigevent sig;

	block_signal(SIG_LIST);
	signal_note(&sig, SIG_LIST, 5);
	prep_cb(&cb[0], LIO_READ, fd, b0, sizeof b0, 64);
	prep_cb(&cb[1], -1, fd, b1, sizeof b1, 0);
	prep_cb(&cb[2], 99, fd, b2, sizeof b2, 0);
	ck_assert_int_eq(lio_listio(LIO_NOWAIT, list, 3, &sig), 0);
	ck_assert(take_signal(SIG_LIST, &si, WAIT_MS));
	ck_assert_int_eq(si.si_value.sival_int, 5);
	assert_status(&cb[0], 0, 32);
	assert_status(&cb[1], EINVAL, -1);
	assert_status(&cb[2], EINVAL, -1);
	ck_assert_int_eq(first_bad_byte(b0, 64, 32), -1);
	ck_assert(!take_signal(SIG_LIST, &si, 50));
	close(fd);
}
END_TEST

/* --- argument checks --- */

START_TEST(bad_mode_einval)
{
	int p[2];
	char c;
	struct aiocb cb, copy;
	struct aiocb *list[1] = { &cb };
	const int modes[] = { -1, 2, 3, INT_MAX, INT_MIN };
	unsigned i;

	ck_assert_int_eq(pipe2(p, O_CLOEXEC), 0);
	ck_assert_int_eq(write(p[1], "z", 1), 1);
	prep_cb(&cb, LIO_READ, p[0], &c, 1, 0);
	cb.__error_code = 12345;
	copy = cb;
	for (i = 0; i < sizeof modes / sizeof modes[0]; i++) {
		errno = 0;
		assert_fails(lio_listio(modes[i], list, 1, NULL), EINVAL);
	}
	/* nothing was queued: the aiocb is untouched and the byte still there */
	ck_assert(memcmp(&cb, &copy, sizeof cb) == 0);
	ck_assert_int_eq(drain(p[0], &c, 1), 1);
	ck_assert_int_eq(c, 'z');
	close(p[0]);
	close(p[1]);
}
END_TEST

START_TEST(negative_nent_einval)
{
	struct aiocb cb, copy;
	struct aiocb *list[1] = { &cb };

	prep_cb(&cb, LIO_READ, 0, NULL, 0, 0);
	cb.__error_code = 12345;
	copy = cb;
	errno = 0;
	assert_fails(lio_listio(LIO_WAIT, list, -1, NULL), EINVAL);
	errno = 0;
	assert_fails(lio_listio(LIO_NOWAIT, list, -1, NULL), EINVAL);
	errno = 0;
	assert_fails(lio_listio(LIO_WAIT, list, INT_MIN, NULL), EINVAL);
	ck_assert(memcmp(&cb, &copy, sizeof cb) == 0);
}
END_TEST

START_TEST(zero_nent_returns_zero)
{
	struct aiocb *list[1] = { NULL };
	struct sigevent sig;
	siginfo_t si;

	ck_assert_int_eq(lio_listio(LIO_WAIT, list, 0, NULL), 0);
	ck_assert_int_eq(lio_listio(LIO_WAIT, NULL, 0, NULL), 0);
	ck_assert_int_eq(lio_listio(LIO_NOWAIT, list, 0, NULL), 0);
	/* with nothing to wait for, the list is complete at once: notified, as glibc does */
	block_signal(SIG_LIST);
	signal_note(&sig, SIG_LIST, 31);
	ck_assert_int_eq(lio_listio(LIO_NOWAIT, NULL, 0, &sig), 0);
	ck_assert(take_signal(SIG_LIST, &si, WAIT_MS));
	ck_assert_int_eq(si.si_value.sival_int, 31);
	ck_assert_int_eq(si.si_code, SI_ASYNCIO);
	ck_assert(!take_signal(SIG_LIST, &si, 50));
}
END_TEST

START_TEST(nowait_invalid_sig_einval)
{
	int p[2], i;
	char buf[4] = { 0 }, left[8];
	struct aiocb cb[2], copy[2];
	struct aiocb *list[2] = { &cb[0], &cb[1] };
	struct sigevent sig;

	ck_assert_int_eq(pipe2(p, O_CLOEXEC), 0);
	ck_assert_int_eq(write(p[1], "ab", 2), 2);
	for (i = 0; i < 2; i++) {
		prep_cb(&cb[i], LIO_READ, p[0], &buf[i], 1, 0);
		cb[i].__error_code = 4321;
		copy[i] = cb[i];
	}
	for (i = 0; i < 4; i++) {
		memset(&sig, 0, sizeof sig);
		switch (i) {
		case 0:	/* unknown notification method */
			sig.sigev_notify = 12345;
			break;
		case 1:	/* no such signal */
			sig.sigev_notify = SIGEV_SIGNAL;
			sig.sigev_signo = _NSIG + 10;
			break;
		case 2:
			sig.sigev_notify = SIGEV_SIGNAL;
			sig.sigev_signo = -3;
			break;
		case 3:	/* a thread with no function */
			sig.sigev_notify = SIGEV_THREAD;
			sig.sigev_notify_function = NULL;
			break;
		}
		errno = 0;
		assert_fails(lio_listio(LIO_NOWAIT, list, 2, &sig), EINVAL);
	}
	/* nothing was queued */
	ck_assert(memcmp(cb, copy, sizeof cb) == 0);
	ck_assert_int_eq(drain(p[0], left, sizeof left), 2);
	ck_assert(memcmp(left, "ab", 2) == 0);
	close(p[0]);
	close(p[1]);
}
END_TEST

/* POSIX: with LIO_WAIT, sig is ignored. */
START_TEST(wait_ignores_sig)
{
	int fd = pattern_file(4096);
	char buf[16];
	struct aiocb cb;
	struct aiocb *list[1] = { &cb };
	struct sigevent sig;
	siginfo_t si;

	block_signal(SIG_LIST);
	signal_note(&sig, SIG_LIST, 9);
	prep_cb(&cb, LIO_READ, fd, buf, sizeof buf, 0);
	ck_assert_int_eq(lio_listio(LIO_WAIT, list, 1, &sig), 0);
	assert_status(&cb, 0, 16);
	sig.sigev_notify = 12345;
	prep_cb(&cb, LIO_READ, fd, buf, sizeof buf, 16);
	ck_assert_int_eq(lio_listio(LIO_WAIT, list, 1, &sig), 0);
	assert_status(&cb, 0, 16);
	ck_assert(!take_signal(SIG_LIST, &si, 50));
	close(fd);
}
END_TEST

/*
 * POSIX: with LIO_NOWAIT, lio_listio returns 0 "if the I/O operations are
 * successfully queued; otherwise -1"; glibc returns -1 when an element
 * cannot be queued (aio_reqprio out of range).  The other elements run,
 * and the list still completes.
 */
START_TEST(nowait_unqueueable_element_fails)
{
	int fd = pattern_file(4096), rc;
	char b0[16], b1[16];
	struct aiocb cb[2];
	struct aiocb *list[2] = { &cb[0], &cb[1] };
	struct sigevent sig;
	siginfo_t si;

	block_signal(SIG_LIST);
	signal_note(&sig, SIG_LIST, 3);
	prep_cb(&cb[0], LIO_READ, fd, b0, sizeof b0, 0);
	prep_cb(&cb[1], LIO_READ, fd, b1, sizeof b1, 0);
	cb[1].aio_reqprio = -1;
	errno = 0;
	rc = lio_listio(LIO_NOWAIT, list, 2, &sig);
	ck_assert_msg(rc == -1 && (errno == EIO || errno == EINVAL),
		      "lio_listio(LIO_NOWAIT) with an element it could not queue returned %d "
		      "(errno %s), expected -1 with EIO or EINVAL", rc, strerror(errno));
	assert_status(&cb[1], EINVAL, -1);
	ck_assert(take_signal(SIG_LIST, &si, WAIT_MS));
	assert_status(&cb[0], 0, 16);
	close(fd);
}
END_TEST

/* --- LIO_NOWAIT notification --- */

START_TEST(nowait_signal_once_after_all)
{
	enum { N = 4 };
	struct aiocb cb[N];
	struct aiocb *list[N];
	char buf[N];
	struct sigevent sig;
	siginfo_t si;
	bool seen[N] = { false };
	int p[2], i;

	block_signal(SIG_LIST);
	block_signal(SIG_ELEM);
	ck_assert_int_eq(pipe2(p, O_CLOEXEC), 0);
	for (i = 0; i < N; i++) {
		prep_cb(&cb[i], LIO_READ, p[0], &buf[i], 1, 0);
		signal_note(&cb[i].aio_sigevent, SIG_ELEM, 200 + i);
		list[i] = &cb[i];
	}
	signal_note(&sig, SIG_LIST, 4242);
	sig.sigev_value.sival_ptr = &sig;
	ck_assert_int_eq(lio_listio(LIO_NOWAIT, list, N, &sig), 0);
	/* sig is the caller's to reuse at once */
	memset(&sig, 0, sizeof sig);
	ck_assert(!take_signal(SIG_LIST, &si, 0));

	/* one element done: its own notification, not the list's */
	ck_assert_int_eq(write(p[1], "w", 1), 1);
	ck_assert(take_signal(SIG_ELEM, &si, WAIT_MS));
	ck_assert_int_eq(si.si_value.sival_int, 200);
	seen[0] = true;
	ck_assert(!take_signal(SIG_LIST, &si, 0));
	for (i = 1; i < N; i++)
		ck_assert_int_eq(aio_error(&cb[i]), EINPROGRESS);

	ck_assert_int_eq(write(p[1], "xyz", 3), 3);
	ck_assert(take_signal(SIG_LIST, &si, WAIT_MS));
	ck_assert_int_eq(si.si_code, SI_ASYNCIO);
	ck_assert_int_eq(si.si_pid, getpid());
	ck_assert_ptr_eq(si.si_value.sival_ptr, &sig);
	/* the list is complete only when every element is */
	for (i = 0; i < N; i++) {
		assert_status(&cb[i], 0, 1);
		ck_assert_int_eq(buf[i], "wxyz"[i]);
	}
	for (i = 1; i < N; i++) {
		int v;

		ck_assert_msg(take_signal(SIG_ELEM, &si, WAIT_MS), "element notification missing");
		v = si.si_value.sival_int - 200;
		ck_assert_msg(v >= 0 && v < N && !seen[v], "element value %d", v + 200);
		seen[v] = true;
	}
	ck_assert(!take_signal(SIG_ELEM, &si, 50));
	ck_assert(!take_signal(SIG_LIST, &si, 50));
	close(p[0]);
	close(p[1]);
}
END_TEST

START_TEST(nowait_thread_once_after_all)
{
	enum { N = 5 };
	static struct elem e[N];
	struct aiocb *list[N];
	struct sigevent sig;
	struct tnote ln;
	int p[2], i;

	ck_assert_int_eq(pipe2(p, O_CLOEXEC), 0);
	for (i = 0; i < N; i++) {
		memset(&e[i], 0, sizeof e[i]);
		prep_cb(&e[i].cb, LIO_READ, p[0], e[i].buf, 1, 0);
		thread_note(&e[i].cb.aio_sigevent, on_elem_done, (union sigval){ .sival_ptr = &e[i] });
		list[i] = &e[i].cb;
	}
	watch_list = list;
	watch_n = N;
	thread_note(&sig, on_list_done, (union sigval){ .sival_int = 777 });
	ck_assert_int_eq(lio_listio(LIO_NOWAIT, list, N, &sig), 0);
	ck_assert_int_eq(write(p[1], "ab", 2), 2);
	ck_assert(wait_events(2, WAIT_MS));
	ck_assert_int_eq(list_note_copy().runs, 0);
	ck_assert_int_eq(write(p[1], "cde", 3), 3);
	ck_assert_msg(wait_events(N + 1, WAIT_MS), "%lu of %d notifications", events(), N + 1);
	ln = list_note_copy();
	ck_assert_int_eq(ln.runs, 1);
	ck_assert_int_eq(ln.value, 777);
	ck_assert(ln.all_final);
	ck_assert_int_ne(ln.tid, gettid());
	for (i = 0; i < N; i++) {
		struct tnote t;
		int err;

		pthread_mutex_lock(&ev_lock);
		t = e[i].live;
		err = e[i].err_seen;
		pthread_mutex_unlock(&ev_lock);
		ck_assert_int_eq(t.runs, 1);
		ck_assert(t.all_final);
		ck_assert_int_eq(err, 0);
		ck_assert_int_eq(e[i].buf[0], "abcde"[i]);
	}
	close(p[0]);
	close(p[1]);
}
END_TEST

START_TEST(nowait_without_sig)
{
	int fd = pattern_file(8192), i;
	char buf[4][100];
	struct aiocb cb[4];
	struct aiocb *list[4];

	for (i = 0; i < 4; i++) {
		prep_cb(&cb[i], LIO_READ, fd, buf[i], 100, (off_t)i * 1000);
		list[i] = &cb[i];
	}
	ck_assert_int_eq(lio_listio(LIO_NOWAIT, list, 4, NULL), 0);
	for (i = 0; i < 4; i++) {
		wait_final(&cb[i], WAIT_MS);
		assert_status(&cb[i], 0, 100);
		ck_assert_int_eq(first_bad_byte(buf[i], (uint64_t)i * 1000, 100), -1);
	}
	close(fd);
}
END_TEST

/* --- interrupted LIO_WAIT (glibc defect 1) --- */

static int handled;	/* atomic */

static void on_usr1(int sig)
{
	(void)sig;
	__atomic_fetch_add(&handled, 1, __ATOMIC_RELAXED);
}

struct interrupted {
	struct aiocb *cb;	/* elements, owned by the test, not by the waiter */
	int n, rc, err;
	int returned;		/* atomic */
	pid_t tid;		/* the waiter's, set before it calls lio_listio */
};

/* Overwrite a good part of this thread's stack. */
static __attribute__((noinline)) void scribble_stack(void)
{
	volatile char junk[64 * 1024];
	size_t i;

	for (i = 0; i < sizeof junk; i++)
		junk[i] = (char)0xdb;
}

static void *interrupted_waiter(void *arg)
{
	struct interrupted *w = arg;
	struct aiocb *list[64];	/* on this thread's stack, which goes away */
	int i;

	for (i = 0; i < w->n; i++)
		list[i] = &w->cb[i];
	__atomic_store_n(&w->tid, gettid(), __ATOMIC_RELEASE);
	w->rc = lio_listio(LIO_WAIT, list, w->n, NULL);
	w->err = errno;
	memset(list, 0xdb, sizeof list);
	scribble_stack();
	__atomic_store_n(&w->returned, 1, __ATOMIC_RELEASE);
	return NULL;
}

/*
 * SIGUSR1's handler installed with sa_flags, then a thread in
 * lio_listio(LIO_WAIT) on w's w->n one-byte reads of a new empty pipe p
 * (into buf), every element queued: it is asleep there, or about to be.
 */
static void start_waiter(struct interrupted *w, char *buf, int p[2], int sa_flags,
			 pthread_t *th)
{
	struct sigaction sa;
	int i;

	memset(&sa, 0, sizeof sa);
	sa.sa_handler = on_usr1;
	sa.sa_flags = sa_flags;
	sigemptyset(&sa.sa_mask);
	ck_assert_int_eq(sigaction(SIGUSR1, &sa, NULL), 0);
	ck_assert_int_eq(pipe2(p, O_CLOEXEC), 0);
	for (i = 0; i < w->n; i++) {
		prep_cb(&w->cb[i], LIO_READ, p[0], &buf[i], 1, 0);
		w->cb[i].__error_code = -1;
	}
	ck_assert_int_eq(pthread_create(th, NULL, interrupted_waiter, w), 0);
	wait_all_queued(w->cb, w->n);
}

START_TEST(regression_wait_interrupted_then_completes)
{
	enum { N = 8 };
	static struct aiocb cb[N];
	static char buf[N];
	struct interrupted w = { cb, N, 0, 0, 0, 0 };
	pthread_t th;
	double end;
	int p[2], i, kills = 0;

	start_waiter(&w, buf, p, 0, &th);	/* no SA_RESTART */
	/* signal it until it gives up waiting */
	end = now_sec() + 10;
	while (!__atomic_load_n(&w.returned, __ATOMIC_ACQUIRE)) {
		struct timespec ms = ms_ts(1);

		ck_assert_msg(now_sec() < end, "LIO_WAIT not interrupted after %d signals", kills);
		ck_assert_int_eq(pthread_kill(th, SIGUSR1), 0);
		kills++;
		nanosleep(&ms, NULL);
	}
	join_within(th, WAIT_MS);
	ck_assert_int_eq(w.rc, -1);
	ck_assert_int_eq(w.err, EINTR);
	ck_assert_int_gt(__atomic_load_n(&handled, __ATOMIC_RELAXED), 0);
	/* the requests go on: still pending, then completed, in order, without a crash */
	for (i = 0; i < N; i++)
		ck_assert_int_eq(aio_error(&cb[i]), EINPROGRESS);
	scribble_stack();
	ck_assert_int_eq(write(p[1], "01234567", N), N);
	for (i = 0; i < N; i++) {
		wait_final(&cb[i], WAIT_MS);
		assert_status(&cb[i], 0, 1);
		ck_assert_int_eq(buf[i], '0' + i);
	}
	/* and lio_listio still works */
	{
		struct aiocb *list[1] = { &cb[0] };

		ck_assert_int_eq(write(p[1], "!", 1), 1);
		prep_cb(&cb[0], LIO_READ, p[0], &buf[0], 1, 0);
		ck_assert_int_eq(lio_listio(LIO_WAIT, list, 1, NULL), 0);
		assert_status(&cb[0], 0, 1);
		ck_assert_int_eq(buf[0], '!');
	}
	close(p[0]);
	close(p[1]);
}
END_TEST

#ifdef TSAN_BUILD
/*
 * ThreadSanitizer runs a handler only once the thread is out of the system
 * call the signal interrupted (and several of one signal as one): what the
 * test can see is that the kernel delivered it, none pending for the thread.
 */
static bool usr1_taken(pid_t tid, int k)
{
	unsigned long long pending = ~0ull;
	char path[64], line[128];
	FILE *f;

	(void)k;
	snprintf(path, sizeof path, "/proc/self/task/%d/status", (int)tid);
	f = fopen(path, "r");
	/* gone: the signal ended the wait, and the thread returned */
	if (!f && errno == ENOENT)
		return true;
	ck_assert_msg(f, "%s: %s", path, strerror(errno));
	while (fgets(line, sizeof line, f))
		if (sscanf(line, "SigPnd: %llx", &pending) == 1)
			break;
	fclose(f);
	return !(pending & (1ull << (SIGUSR1 - 1)));
}
#else
/* Has the handler of the k-th SIGUSR1 sent to thread tid run? */
static bool usr1_taken(pid_t tid, int k)
{
	(void)tid;
	return __atomic_load_n(&handled, __ATOMIC_RELAXED) > k;
}
#endif

/*
 * Issue 14, item 13: handlers run in the thread asleep in
 * lio_listio(LIO_WAIT) on pipe reads.  _i 1: installed with SA_RESTART,
 * they restart the wait (POSIX), so that lio_listio returns 0 with every
 * element done once the pipe is written: a program that retries on EINTR
 * would otherwise submit elements still in flight a second time.  _i 0:
 * without SA_RESTART, the first one ends the wait with -1/EINTR, the
 * elements still in progress.
 */
START_TEST(wait_interrupted_restarts_only_with_sa_restart)
{
	enum { N = 4, SIGNALS = 3 };
	static struct aiocb cb[N];
	static char buf[N];
	struct interrupted w = { cb, N, 0, 0, 0, 0 };
	bool restart = _i;
	int sent = restart ? SIGNALS : 1;
	pthread_t th;
	pid_t tid;
	int p[2], i, k;

	__atomic_store_n(&handled, 0, __ATOMIC_RELAXED);
	start_waiter(&w, buf, p, restart ? SA_RESTART : 0, &th);
	tid = __atomic_load_n(&w.tid, __ATOMIC_ACQUIRE);
	/* each handler runs while the waiter sleeps in lio_listio, the pipe still empty */
	for (k = 0; k < sent; k++) {
		double end = now_sec() + 10;

		ck_assert_msg(!__atomic_load_n(&w.returned, __ATOMIC_ACQUIRE),
			      "lio_listio returned %d (%s) after %d SA_RESTART handlers", w.rc,
			      strerror(w.err), k);
		ck_assert_msg(thread_asleep(tid, 10000), "the waiter never slept");
		ck_assert_int_eq(pthread_kill(th, SIGUSR1), 0);
		while (!usr1_taken(tid, k)) {
			struct timespec ms = ms_ts(1);

			ck_assert_msg(now_sec() < end, "signal %d never handled", k + 1);
			nanosleep(&ms, NULL);
		}
	}
	for (i = 0; i < N; i++)
		ck_assert_int_eq(aio_error(&cb[i]), EINPROGRESS);
	if (!restart) {
		join_within(th, WAIT_MS);
		ck_assert_int_eq(w.rc, -1);
		ck_assert_int_eq(w.err, EINTR);
	}
	ck_assert_int_eq(write(p[1], "0123", N), N);
	if (restart) {
		join_within(th, WAIT_MS);
		ck_assert_msg(w.rc == 0, "lio_listio returned %d (%s)", w.rc, strerror(w.err));
	}
	for (i = 0; i < N; i++) {
		wait_final(&cb[i], WAIT_MS);
		assert_status(&cb[i], 0, 1);
		ck_assert_int_eq(buf[i], '0' + i);
	}
	ck_assert_int_ge(__atomic_load_n(&handled, __ATOMIC_RELAXED), 1);
	close(p[0]);
	close(p[1]);
}
END_TEST

/* --- big lists --- */

START_TEST(big_list_wait)
{
	enum { N = 1024, LEN = 256 };
	int fd = pattern_file((size_t)N * LEN), i;
	struct aiocb *cb = calloc(N, sizeof *cb);
	struct aiocb **list = calloc(N, sizeof *list);
	char *buf = calloc(N, LEN);
	int bad = -1;

	ck_assert(cb && list && buf);
	for (i = 0; i < N; i++) {
		/* a permutation of the blocks, so the order matters */
		int blk = (i * 389) % N;

		prep_cb(&cb[i], LIO_READ, fd, buf + (size_t)i * LEN, LEN, (off_t)blk * LEN);
		list[i] = &cb[i];
	}
	ck_assert_int_eq(lio_listio(LIO_WAIT, list, N, NULL), 0);
	for (i = 0; i < N && bad < 0; i++)
		if (aio_error(&cb[i]) != 0 || aio_return(&cb[i]) != LEN ||
		    first_bad_byte(buf + (size_t)i * LEN, (uint64_t)cb[i].aio_offset, LEN) >= 0)
			bad = i;
	ck_assert_msg(bad < 0, "element %d: aio_error %d, aio_return %zd", bad,
		      bad < 0 ? 0 : aio_error(&cb[bad]), bad < 0 ? 0 : aio_return(&cb[bad]));
	free(cb);
	free(list);
	free(buf);
	close(fd);
}
END_TEST

/*
 * Elements that go to the engine are handed over in batches: a list longer
 * than a batch, over three files in turn (so an fd's type is asked again at
 * each change), reads and writes, every element done once, data verified.
 */
START_TEST(batched_list_over_several_files)
{
	enum { N = 1000, LEN = 512 };
	int src[2] = { pattern_file((size_t)N * LEN), pattern_file((size_t)N * LEN) };
	int dst = pattern_file((size_t)N * LEN), i, bad = -1;
	struct aiocb *cb = calloc(N, sizeof *cb);
	struct aiocb **list = calloc(N, sizeof *list);
	unsigned char *buf = calloc(N, LEN), *out = malloc((size_t)N * LEN);

	ck_assert(cb && list && buf && out);
	no_inline_reads();	/* every read goes to the engine */
	for (i = 0; i < N; i++) {
		int blk = (i * 389) % N;
		unsigned char *b = buf + (size_t)i * LEN;

		if (i % 3 == 2) {
			memset(b, i & 0xff, LEN);
			prep_cb(&cb[i], LIO_WRITE, dst, b, LEN, (off_t)i * LEN);
		} else {
			prep_cb(&cb[i], LIO_READ, src[i % 3], b, LEN, (off_t)blk * LEN);
		}
		list[i] = &cb[i];
	}
	ck_assert_int_eq(lio_listio(LIO_WAIT, list, N, NULL), 0);
	ck_assert_int_eq(pread(dst, out, (size_t)N * LEN, 0), (ssize_t)N * LEN);
	for (i = 0; i < N && bad < 0; i++) {
		const unsigned char *b = buf + (size_t)i * LEN;

		if (aio_error(&cb[i]) != 0 || aio_return(&cb[i]) != LEN)
			bad = i;
		else if (i % 3 == 2 && memcmp(out + (size_t)i * LEN, b, LEN))
			bad = i;
		else if (i % 3 != 2 && first_bad_byte(b, (uint64_t)cb[i].aio_offset, LEN) >= 0)
			bad = i;
	}
	ck_assert_msg(bad < 0, "element %d: aio_error %d, aio_return %zd", bad,
		      bad < 0 ? 0 : aio_error(&cb[bad]), bad < 0 ? 0 : aio_return(&cb[bad]));
	free(cb);
	free(list);
	free(buf);
	free(out);
	close(src[0]);
	close(src[1]);
	close(dst);
}
END_TEST

/* aio_cancel(fd, NULL) over and over, from the first call on, until stop. */
struct fd_canceller {
	int fd;
	unsigned long calls;	/* made so far (atomic) */
	bool stop;		/* (atomic) */
};

static void *cancel_fd_repeatedly(void *arg)
{
	struct fd_canceller *k = arg;

	while (!__atomic_load_n(&k->stop, __ATOMIC_ACQUIRE)) {
		int rc = aio_cancel(k->fd, NULL);

		ck_assert_msg(rc == AIO_CANCELED || rc == AIO_NOTCANCELED || rc == AIO_ALLDONE,
			      "aio_cancel: %d", rc);
		__atomic_fetch_add(&k->calls, 1, __ATOMIC_RELEASE);
	}
	return NULL;
}

/* Start a canceller thread, and wait until it is cancelling. */
static void start_fd_canceller(pthread_t *th, struct fd_canceller *k, int fd)
{
	double end = now_sec() + 10;

	*k = (struct fd_canceller){ fd, 0, false };
	ck_assert_int_eq(pthread_create(th, NULL, cancel_fd_repeatedly, k), 0);
	while (!__atomic_load_n(&k->calls, __ATOMIC_ACQUIRE)) {
		ck_assert_msg(now_sec() < end, "the canceller never started");
		sched_yield();
	}
}

/*
 * Every kind of element in one list, each with its own right result: the
 * page cache serves the file reads at once where it can (on io_uring all
 * together), and what it serves only in part, or not at all, still comes
 * back whole.  e0 finds its first page alone cached, e1 and e2 reach the
 * end of the file, e3 is cached, e4 has a closed fd, e5 reads a pipe that
 * holds data, e6 has a negative offset, e7 reads with O_DIRECT.
 */
START_TEST(list_of_every_kind_of_read)
{
	enum { N = 8 };
	size_t page = (size_t)sysconf(_SC_PAGESIZE), tail = 100;
	int part = pattern_file(4 * page + tail), whole = pattern_file(1 << 20), p[2], i;
	int direct, gone;
	unsigned char *buf[N];
	struct aiocb cb[N];
	struct aiocb *list[N];

	ck_assert_int_eq(pipe2(p, O_CLOEXEC), 0);
	ck_assert_int_eq(write(p[1], "piped", 5), 5);
	ck_assert_int_eq(fdatasync(part), 0);
	ck_assert_int_eq(posix_fadvise(part, 0, 0, POSIX_FADV_RANDOM), 0);
	ck_assert_int_eq(fdatasync(whole), 0);
	{
		char path[64];

		snprintf(path, sizeof path, "/proc/self/fd/%d", whole);
		direct = open(path, O_RDONLY | O_DIRECT | O_CLOEXEC);
	}
	/* high: rtaio opens fds of its own (rings) at the lowest free numbers */
	gone = dup2(whole, 1000);
	ck_assert_int_eq(gone, 1000);
	ck_assert_int_eq(close(gone), 0);
	for (i = 0; i < N; i++) {
		ck_assert_int_eq(posix_memalign((void **)&buf[i], page, 2 * page), 0);
		memset(buf[i], '-', 2 * page);
		list[i] = &cb[i];
	}
	prep_cb(&cb[0], LIO_READ, part, buf[0], 2 * page, 0);
	prep_cb(&cb[1], LIO_READ, part, buf[1], 2 * page, (off_t)(3 * page));
	prep_cb(&cb[2], LIO_READ, part, buf[2], page, (off_t)(4 * page + tail));
	prep_cb(&cb[3], LIO_READ, whole, buf[3], 1000, 5);
	prep_cb(&cb[4], LIO_READ, gone, buf[4], 10, 0);
	prep_cb(&cb[5], LIO_READ, p[0], buf[5], 5, 0);
	prep_cb(&cb[6], LIO_READ, whole, buf[6], 10, -1);
	/* a filesystem without O_DIRECT: the element reads the file the usual way */
	prep_cb(&cb[7], LIO_READ, direct >= 0 ? direct : whole, buf[7], page, (off_t)(8 * page));
	cache_first_page_only(part);
	errno = 0;
	ck_assert_int_eq(lio_listio(LIO_WAIT, list, N, NULL), -1);
	ck_assert_int_eq(errno, EIO);
	assert_status(&cb[0], 0, (ssize_t)(2 * page));
	ck_assert_int_eq(first_bad_byte(buf[0], 0, 2 * page), -1);
	assert_status(&cb[1], 0, (ssize_t)(page + tail));
	ck_assert_int_eq(first_bad_byte(buf[1], 3 * page, page + tail), -1);
	ck_assert_int_eq(buf[1][page + tail], '-');
	assert_status(&cb[2], 0, 0);
	ck_assert_int_eq(buf[2][0], '-');
	assert_status(&cb[3], 0, 1000);
	ck_assert_int_eq(first_bad_byte(buf[3], 5, 1000), -1);
	assert_status(&cb[4], EBADF, -1);
	assert_status(&cb[5], 0, 5);
	ck_assert(memcmp(buf[5], "piped", 5) == 0);
	assert_status(&cb[6], EINVAL, -1);
	assert_status(&cb[7], 0, (ssize_t)page);
	ck_assert_int_eq(first_bad_byte(buf[7], 8 * page, page), -1);
	for (i = 0; i < N; i++)
		free(buf[i]);
	if (direct >= 0)
		close(direct);
	close(part);
	close(whole);
	close(p[0]);
	close(p[1]);
}
END_TEST

/*
 * aio_cancel of the fd, over and over, while lio_listio is still handing
 * the list over and after: each element ends once, done or canceled, and
 * the list's notification comes exactly once, after all of them.  The
 * reads wait for a worker or the ring (not served from the page cache at
 * submission), one worker on the thread backend, so that some are
 * cancelled while others run.  The submitter cancels too, as soon as
 * lio_listio returns, for a canceller that the scheduler kept off the CPU
 * during lio_listio; rounds go on until both outcomes were seen.
 */
START_TEST(cancel_while_list_is_submitted)
{
	enum { N = 2048, LEN = 64, ROUNDS = 20, MAX_ROUNDS = 400 };
	struct aioinit one_worker = { .aio_threads = 1 };
	int fd = pattern_file((size_t)N * LEN), round, i;
	unsigned long canceled = 0, completed = 0;
	struct aiocb *cb = calloc(N, sizeof *cb);
	struct aiocb **list = calloc(N, sizeof *list);
	char *buf = calloc(N, LEN);
	pthread_t th;

	ck_assert(cb && list && buf);
	no_inline_reads();
	aio_init(&one_worker);
	for (round = 0; round < ROUNDS || (round < MAX_ROUNDS && !(canceled && completed));
	     round++) {
		struct sigevent sig;
		struct tnote ln;
		struct fd_canceller k;
		int rc;

		reset_events();
		for (i = 0; i < N; i++) {
			prep_cb(&cb[i], LIO_READ, fd, buf + (size_t)i * LEN, LEN, (off_t)i * LEN);
			list[i] = &cb[i];
		}
		watch_list = list;
		watch_n = N;
		thread_note(&sig, on_list_done, (union sigval){ .sival_int = round });
		start_fd_canceller(&th, &k, fd);
		ck_assert_int_eq(lio_listio(LIO_NOWAIT, list, N, &sig), 0);
		rc = aio_cancel(fd, NULL);
		ck_assert_msg(rc == AIO_CANCELED || rc == AIO_NOTCANCELED || rc == AIO_ALLDONE,
			      "aio_cancel: %d", rc);
		__atomic_store_n(&k.stop, true, __ATOMIC_RELEASE);
		join_within(th, WAIT_MS);
		ck_assert_msg(wait_events(1, WAIT_MS), "list notification missing");
		ln = list_note_copy();
		ck_assert_int_eq(ln.runs, 1);
		ck_assert(ln.all_final);
		for (i = 0; i < N; i++) {
			int err = aio_error(&cb[i]);

			ck_assert_msg(err == 0 || err == ECANCELED, "element %d: %d", i, err);
			if (err == 0)
				ck_assert_int_eq(first_bad_byte(buf + (size_t)i * LEN,
								(uint64_t)i * LEN, LEN), -1);
			ck_assert_int_eq(aio_return(&cb[i]), err ? -1 : LEN);
			if (err)
				canceled++;
			else
				completed++;
		}
	}
	fprintf(stderr, "cancel_while_list_is_submitted: %d rounds, %lu cancelled, %lu completed\n",
		round, canceled, completed);
	/* both sides of the race: elements cancelled, and elements that ran despite the cancels */
	ck_assert_msg(canceled > 0 && completed > 0, "%lu cancelled, %lu completed", canceled,
		      completed);
	free(cb);
	free(list);
	free(buf);
	close(fd);
}
END_TEST

/* 1024 reads of an empty pipe in one list: they run in list order. */
START_TEST(big_list_nowait_pipe_in_order)
{
	enum { N = 1024 };
	struct aiocb *cb = calloc(N, sizeof *cb);
	struct aiocb **list = calloc(N, sizeof *list);
	unsigned char *buf = calloc(N, 1), data[N];
	struct sigevent sig;
	struct tnote ln;
	int p[2], i, bad = -1;

	ck_assert(cb && list && buf);
	ck_assert_int_eq(pipe2(p, O_CLOEXEC), 0);
	for (i = 0; i < N; i++) {
		prep_cb(&cb[i], LIO_READ, p[0], &buf[i], 1, 0);
		list[i] = &cb[i];
		data[i] = (unsigned char)(i * 7 + i / 256);
	}
	watch_list = list;
	watch_n = N;
	thread_note(&sig, on_list_done, (union sigval){ .sival_int = N });
	ck_assert_int_eq(lio_listio(LIO_NOWAIT, list, N, &sig), 0);
	ck_assert_int_eq(list_note_copy().runs, 0);
	ck_assert_int_eq(write(p[1], data, N), N);
	ck_assert_msg(wait_events(1, WAIT_MS), "list notification missing");
	ln = list_note_copy();
	ck_assert_int_eq(ln.runs, 1);
	ck_assert(ln.all_final);
	ck_assert_int_eq(ln.value, N);
	for (i = 0; i < N && bad < 0; i++)
		if (aio_error(&cb[i]) != 0 || aio_return(&cb[i]) != 1 || buf[i] != data[i])
			bad = i;
	ck_assert_msg(bad < 0, "element %d: aio_error %d, got %d, expected %d", bad,
		      bad < 0 ? 0 : aio_error(&cb[bad]), bad < 0 ? 0 : buf[bad],
		      bad < 0 ? 0 : data[bad]);
	free(cb);
	free(list);
	free(buf);
	close(p[0]);
	close(p[1]);
}
END_TEST

/* --- element notifications --- */

START_TEST(element_sigev_thread_each_once)
{
	enum { N = 64 };
	struct elem *e = calloc(N, sizeof *e);
	struct aiocb *list[N];
	int fd = pattern_file((size_t)N * 256), i, bad = -1;

	ck_assert_ptr_nonnull(e);
	for (i = 0; i < N; i++) {
		prep_cb(&e[i].cb, LIO_READ, fd, e[i].buf, 256, (off_t)i * 256);
		thread_note(&e[i].cb.aio_sigevent, on_elem_done, (union sigval){ .sival_ptr = &e[i] });
		list[i] = &e[i].cb;
	}
	ck_assert_int_eq(lio_listio(LIO_WAIT, list, N, NULL), 0);
	ck_assert_msg(wait_events(N, WAIT_MS), "%lu of %d notifications", events(), N);
	pthread_mutex_lock(&ev_lock);
	for (i = 0; i < N && bad < 0; i++)
		if (e[i].live.runs != 1 || !e[i].live.all_final || e[i].err_seen != 0 ||
		    e[i].ret_seen != 256)
			bad = i;
	pthread_mutex_unlock(&ev_lock);
	ck_assert_msg(bad < 0, "element %d: %d notifications, saw %d/%zd", bad,
		      bad < 0 ? 0 : e[bad].live.runs, bad < 0 ? 0 : e[bad].err_seen,
		      bad < 0 ? 0 : e[bad].ret_seen);
	for (i = 0; i < N; i++)
		if (first_bad_byte(e[i].buf, (uint64_t)i * 256, 256) >= 0)
			bad = i;
	ck_assert_int_eq(bad, -1);
	ck_assert_int_eq(events(), N);
	free(e);
	close(fd);
}
END_TEST

START_TEST(element_sigev_signal_each)
{
	enum { N = 16 };
	int fd = pattern_file(N * 64), i;
	struct aiocb cb[N];
	struct aiocb *list[N];
	char buf[N][64];
	bool seen[N] = { false };
	siginfo_t si;

	block_signal(SIG_ELEM);
	for (i = 0; i < N; i++) {
		prep_cb(&cb[i], LIO_READ, fd, buf[i], 64, (off_t)i * 64);
		signal_note(&cb[i].aio_sigevent, SIG_ELEM, 500 + i);
		list[i] = &cb[i];
	}
	ck_assert_int_eq(lio_listio(LIO_WAIT, list, N, NULL), 0);
	for (i = 0; i < N; i++) {
		int v;

		ck_assert(take_signal(SIG_ELEM, &si, WAIT_MS));
		v = si.si_value.sival_int - 500;
		ck_assert_msg(v >= 0 && v < N && !seen[v], "value %d", v + 500);
		seen[v] = true;
	}
	ck_assert(!take_signal(SIG_ELEM, &si, 50));
	close(fd);
}
END_TEST

static Suite *make_suite(void)
{
	Suite *s = suite_create("lio_listio");
	TCase *tc;

	tc = tcase_create("wait");
	tcase_set_timeout(tc, 60);
	tcase_add_checked_fixture(tc, reset_events, NULL);
	tcase_add_test(tc, wait_all_done_data_verified);
	tcase_add_test(tc, wait_returns_after_last);
	tcase_add_test(tc, wait_eio_when_an_element_fails);
	tcase_add_test(tc, null_and_nop_entries_skipped);
	tcase_add_test(tc, unknown_opcode_element_einval);
	tcase_add_test(tc, unknown_opcode_element_nowait);
	suite_add_tcase(s, tc);

	tc = tcase_create("arguments");
	tcase_set_timeout(tc, 60);
	tcase_add_checked_fixture(tc, reset_events, NULL);
	tcase_add_test(tc, bad_mode_einval);
	tcase_add_test(tc, negative_nent_einval);
	tcase_add_test(tc, zero_nent_returns_zero);
	tcase_add_test(tc, nowait_invalid_sig_einval);
	tcase_add_test(tc, wait_ignores_sig);
	tcase_add_test(tc, nowait_unqueueable_element_fails);
	suite_add_tcase(s, tc);

	tc = tcase_create("nowait");
	tcase_set_timeout(tc, 60);
	tcase_add_checked_fixture(tc, reset_events, NULL);
	tcase_add_test(tc, nowait_signal_once_after_all);
	tcase_add_test(tc, nowait_thread_once_after_all);
	tcase_add_test(tc, nowait_without_sig);
	suite_add_tcase(s, tc);

	tc = tcase_create("interrupted");
	tcase_set_timeout(tc, 60);
	tcase_add_checked_fixture(tc, reset_events, NULL);
	tcase_add_test(tc, regression_wait_interrupted_then_completes);
	tcase_add_loop_test(tc, wait_interrupted_restarts_only_with_sa_restart, 0, 2);
	suite_add_tcase(s, tc);

	tc = tcase_create("big");
	tcase_set_timeout(tc, 120);
	tcase_add_checked_fixture(tc, reset_events, NULL);
	tcase_add_test(tc, big_list_wait);
	tcase_add_test(tc, big_list_nowait_pipe_in_order);
	tcase_add_test(tc, batched_list_over_several_files);
	tcase_add_test(tc, list_of_every_kind_of_read);
	tcase_add_test(tc, cancel_while_list_is_submitted);
	suite_add_tcase(s, tc);

	tc = tcase_create("elements");
	tcase_set_timeout(tc, 60);
	tcase_add_checked_fixture(tc, reset_events, NULL);
	tcase_add_test(tc, element_sigev_thread_each_once);
	tcase_add_test(tc, element_sigev_signal_each);
	suite_add_tcase(s, tc);
	return s;
}

TEST_MAIN(make_suite)
