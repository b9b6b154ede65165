/*
 * aio_read, aio_write, aio_fsync, aio_error and aio_return: the exact
 * POSIX and glibc outcomes, one test per behaviour, and the glibc defects
 * (glibc-aio-abi.md, section 4) that rtaio must not have.
 *
 * Requests that must stay pending are reads on empty pipes: they stay in
 * progress until the test writes.  Every wait is bounded (wait_cb), so a
 * lost completion fails a test instead of hanging it.  Forked children
 * report through their exit status only and are reaped with a deadline.
 */
#include <aio.h>
#include <rtaio.h>
#include <limits.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include "aioutil.h"

#define WAIT_MS 30000

/* Wait until cb is no longer in progress, at most WAIT_MS. */
static void wait_cb(const struct aiocb *cb)
{
	const struct aiocb *list[1] = { cb };
	double end = now_sec() + WAIT_MS / 1000.0;

	while (aio_error(cb) == EINPROGRESS) {
		struct timespec t = ms_ts(500);

		if (aio_suspend(list, 1, &t) < 0)
			ck_assert_msg(errno == EAGAIN || errno == EINTR, "aio_suspend: %s",
				      strerror(errno));
		ck_assert_msg(now_sec() < end, "request still in progress after %d ms", WAIT_MS);
	}
}

/* Spin on aio_error alone (no aio_suspend), at most WAIT_MS. */
static int spin_cb(const struct aiocb *cb)
{
	double end = now_sec() + WAIT_MS / 1000.0;
	int err;

	while ((err = aio_error(cb)) == EINPROGRESS) {
		ck_assert_msg(now_sec() < end, "request still in progress after %d ms", WAIT_MS);
		sched_yield();
	}
	return err;
}

/* Wait for cb, then check its final status. */
static void expect_done(struct aiocb *cb, int err, ssize_t ret)
{
	wait_cb(cb);
	ck_assert_int_eq(aio_error(cb), err);
	ck_assert_int_eq(aio_return(cb), ret);
}

static void check_pattern(const unsigned char *buf, size_t n, uint64_t off)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (buf[i] != pattern_byte(off + i))
			ck_abort_msg("byte %zu (file offset %llu): 0x%02x, expected 0x%02x", i,
				     (unsigned long long)(off + i), buf[i], pattern_byte(off + i));
}

/* fd's bytes [off, off+n) are the pattern. */
static void check_file_pattern(int fd, uint64_t off, size_t n)
{
	unsigned char *buf = malloc(n ? n : 1);

	ck_assert_ptr_nonnull(buf);
	ck_assert_int_eq(pread(fd, buf, n, (off_t)off), (ssize_t)n);
	check_pattern(buf, n, off);
	free(buf);
}

/* buf still holds the 0xee filler. (Check's asserts are slow per byte: not in loops.) */
static int untouched(const unsigned char *buf, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (buf[i] != 0xee)
			return 0;
	return 1;
}

/* A descriptor number that is not open. */
static int closed_fd(void)
{
	int fd = pattern_file(16);

	ck_assert_int_eq(close(fd), 0);
	return fd;
}

static void make_pipe(int p[2], int socket)
{
	if (socket)
		ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, p), 0);
	else
		ck_assert_int_eq(pipe2(p, O_CLOEXEC), 0);
}

/* Wait (until end, by now_sec()) for the pipe read at rfd to hold size bytes. */
static void wait_pipe_full(int rfd, int size, double end)
{
	int queued;

	for (;;) {
		ck_assert_int_eq(ioctl(rfd, FIONREAD, &queued), 0);
		if (queued >= size)
			return;
		ck_assert_msg(now_sec() < end, "the write filled %d bytes of the pipe", queued);
		sched_yield();
	}
}

/* Reap pid within ms milliseconds (killing it otherwise); its exit status. */
static int reap(pid_t pid, long ms)
{
	int status = reap_child(pid, ms);

	ck_assert_msg(WIFEXITED(status), "child killed by signal %d",
		      WIFSIGNALED(status) ? WTERMSIG(status) : 0);
	return WEXITSTATUS(status);
}

/* ---------------------------------------------------------------- data */

START_TEST(read_returns_file_data_at_offset)
{
	size_t size = 1 << 20, n = 8192;
	int fd = pattern_file(size);
	unsigned char *buf = malloc(n);
	struct aiocb cb;

	prep_aiocb(&cb, fd, buf, n, 123457);
	ck_assert_int_eq(aio_read(&cb), 0);
	expect_done(&cb, 0, (ssize_t)n);
	check_pattern(buf, n, 123457);
	/* the fd's file position is not used, and not moved */
	ck_assert_int_eq(lseek(fd, 0, SEEK_CUR), 0);
	free(buf);
	close(fd);
}
END_TEST

START_TEST(read_at_or_past_eof_is_short)
{
	int fd = pattern_file(10000);
	unsigned char buf[8192];
	struct aiocb cb;

	prep_aiocb(&cb, fd, buf, sizeof buf, 8000);
	ck_assert_int_eq(aio_read(&cb), 0);
	expect_done(&cb, 0, 2000);
	check_pattern(buf, 2000, 8000);
	prep_aiocb(&cb, fd, buf, sizeof buf, 10000);
	ck_assert_int_eq(aio_read(&cb), 0);
	expect_done(&cb, 0, 0);
	prep_aiocb(&cb, fd, buf, sizeof buf, far_offset());
	ck_assert_int_eq(aio_read(&cb), 0);
	expect_done(&cb, 0, 0);
	prep_aiocb(&cb, fd, buf, 0, 0);
	ck_assert_int_eq(aio_read(&cb), 0);
	expect_done(&cb, 0, 0);
	close(fd);
}
END_TEST

START_TEST(write_lands_at_offset)
{
	int fd = pattern_file(65536);
	unsigned char data[4096], back[4096];
	struct aiocb cb;
	struct stat st;

	memset(data, 'W', sizeof data);
	prep_aiocb(&cb, fd, data, sizeof data, 5000);
	ck_assert_int_eq(aio_write(&cb), 0);
	expect_done(&cb, 0, (ssize_t)sizeof data);
	check_file_pattern(fd, 0, 5000);
	ck_assert_int_eq(pread(fd, back, sizeof back, 5000), (ssize_t)sizeof back);
	ck_assert_mem_eq(back, data, sizeof data);
	check_file_pattern(fd, 5000 + sizeof data, 65536 - 5000 - sizeof data);
	ck_assert_int_eq(lseek(fd, 0, SEEK_CUR), 0);

	/* past the end: the file grows */
	prep_aiocb(&cb, fd, data, 100, 100000);
	ck_assert_int_eq(aio_write(&cb), 0);
	expect_done(&cb, 0, 100);
	ck_assert_int_eq(fstat(fd, &st), 0);
	ck_assert_int_eq(st.st_size, 100100);
	close(fd);
}
END_TEST

/*
 * Two requests on overlapping bytes of a file, both queued before either is
 * waited for, 200 rounds with a different overlap each: a read queued after
 * a write sees the written bytes (_i 0, and _i 1 without reads at
 * submission), and a write queued after a read does not change what the
 * read returns (_i 2, without reads at submission), as glibc, which runs an fd's requests in turn, has
 * them.  A third request on bytes that overlap neither is queued in
 * between and must not be held up by them: it completes too.  (Before, the
 * read saw the old bytes in 13-30% of the rounds.)  _i 3 and 4: the three
 * in one lio_listio, read first and write first, the file's pages dropped
 * before each round, so that the read is not served at submission.
 * (Before, under io_uring, the read listed before the write waited for it
 * and returned the new bytes.)
 */
START_TEST(overlapping_requests_keep_their_order)
{
	enum { ROUNDS = 200, LEN = 8192, FILE_LEN = 65536 };
	static unsigned char data[LEN], got[LEN], other[512], model[FILE_LEN];
	int fd = pattern_file(FILE_LEN), round;
	bool read_first = _i == 2 || _i == 3, in_list = _i >= 3;
	size_t k;

	if (_i == 1 || _i == 2)
		no_inline_reads();
	for (k = 0; k < FILE_LEN; k++)
		model[k] = pattern_byte(k);
	for (round = 0; round < ROUNDS; round++) {
		size_t woff = (size_t)(round * 4096) % (FILE_LEN / 2), roff = woff + (round % 7) * 1000;
		struct aiocb w, r, x;

		memset(data, round + 1, sizeof data);
		prep_aiocb(&w, fd, data, sizeof data, (off_t)woff);
		prep_aiocb(&r, fd, got, sizeof got, (off_t)roff);
		prep_aiocb(&x, fd, other, sizeof other, FILE_LEN - sizeof other);
		if (in_list) {
			struct aiocb *list[3] = { &r, &x, &w };

			if (!read_first) {
				list[0] = &w;
				list[2] = &r;
				memcpy(model + woff, data, LEN);
			}
			r.aio_lio_opcode = x.aio_lio_opcode = LIO_READ;
			w.aio_lio_opcode = LIO_WRITE;
			ck_assert_int_eq(fdatasync(fd), 0);
			ck_assert_int_eq(posix_fadvise(fd, 0, FILE_LEN, POSIX_FADV_DONTNEED), 0);
			ck_assert_int_eq(lio_listio(LIO_NOWAIT, list, 3, NULL), 0);
		} else if (read_first) {
			ck_assert_int_eq(aio_read(&r), 0);
			ck_assert_int_eq(aio_read(&x), 0);
			ck_assert_int_eq(aio_write(&w), 0);
		} else {
			memcpy(model + woff, data, LEN);
			ck_assert_int_eq(aio_write(&w), 0);
			ck_assert_int_eq(aio_read(&x), 0);
			ck_assert_int_eq(aio_read(&r), 0);
		}
		expect_done(&r, 0, LEN);
		expect_done(&w, 0, LEN);
		expect_done(&x, 0, (ssize_t)sizeof other);
		for (k = 0; k < LEN && got[k] == model[roff + k]; k++)
			;
		ck_assert_msg(k == LEN, "round %d: byte %zu of the read is %u, expected %u",
			      round, k, got[k % LEN], model[(roff + k) % FILE_LEN]);
		memcpy(model + woff, data, LEN);
	}
	close(fd);
}
END_TEST

/* Reads of a pattern area and writes to another area, interleaved, all in flight at once. */
static void run_mixed(int fd, size_t first, size_t count, size_t half)
{
	const size_t slot = 8192;
	struct aiocb *cbs = calloc(count, sizeof *cbs);
	unsigned char **bufs = calloc(count, sizeof *bufs);
	size_t i, j;

	ck_assert_ptr_nonnull(cbs);
	ck_assert_ptr_nonnull(bufs);
	for (i = 0; i < count; i++) {
		size_t k = first + i;
		size_t len = slot - (k * 37) % 4096;
		off_t off = (off_t)(k * slot + (k % 7));

		bufs[i] = malloc(slot);
		ck_assert_ptr_nonnull(bufs[i]);
		if (k % 2) {	/* a write into the second half */
			memset(bufs[i], (int)(k & 0xff), slot);
			prep_aiocb(&cbs[i], fd, bufs[i], len, (off_t)half + off);
			ck_assert_int_eq(aio_write(&cbs[i]), 0);
		} else {
			memset(bufs[i], 0, slot);
			prep_aiocb(&cbs[i], fd, bufs[i], len, off);
			ck_assert_int_eq(aio_read(&cbs[i]), 0);
		}
	}
	for (i = 0; i < count; i++) {
		size_t k = first + i;
		size_t len = slot - (k * 37) % 4096;
		off_t off = (off_t)(k * slot + (k % 7));

		expect_done(&cbs[i], 0, (ssize_t)len);
		if (k % 2) {
			unsigned char *back = malloc(len);

			ck_assert_ptr_nonnull(back);
			ck_assert_int_eq(pread(fd, back, len, (off_t)half + off), (ssize_t)len);
			for (j = 0; j < len; j++)
				if (back[j] != (unsigned char)(k & 0xff))
					ck_abort_msg("write %zu: byte %zu is 0x%02x", k, j,
						     back[j]);
			free(back);
		} else {
			check_pattern(bufs[i], len, (uint64_t)off);
		}
		free(bufs[i]);
	}
	free(bufs);
	free(cbs);
}

START_TEST(many_concurrent_requests_on_one_fd)
{
	size_t n = scaled(512), half = n * 8192 + 8192;
	int fd = pattern_file(half);

	run_mixed(fd, 0, n, half);
	close(fd);
}
END_TEST

struct submitter {
	int fd;
	size_t first, count, half;
};

static void *submitter_main(void *arg)
{
	struct submitter *s = arg;

	run_mixed(s->fd, s->first, s->count, s->half);
	return NULL;
}

START_TEST(many_threads_submit_on_one_fd)
{
	enum { THREADS = 4 };
	size_t per = scaled(128), half = THREADS * per * 8192 + 8192;
	int fd = pattern_file(half);
	struct submitter s[THREADS];
	pthread_t t[THREADS];
	int i;

	for (i = 0; i < THREADS; i++) {
		s[i] = (struct submitter){ fd, (size_t)i * per, per, half };
		ck_assert_int_eq(pthread_create(&t[i], NULL, submitter_main, &s[i]), 0);
	}
	for (i = 0; i < THREADS; i++)
		ck_assert_int_eq(pthread_join(t[i], NULL), 0);
	close(fd);
}
END_TEST

/* -------------------------------------------------- aio_error, aio_return */

START_TEST(error_is_einprogress_then_zero)
{
	struct aiocb cb;
	int p[2];
	char c = 0;

	make_pipe(p, 0);
	prep_aiocb(&cb, p[0], &c, 1, 0);
	ck_assert_int_eq(aio_read(&cb), 0);
	ck_assert_int_eq(aio_error(&cb), EINPROGRESS);
	ck_assert_int_eq(aio_error(&cb), EINPROGRESS);
	ck_assert_int_eq(write(p[1], "x", 1), 1);
	wait_cb(&cb);
	ck_assert_int_eq(aio_error(&cb), 0);
	ck_assert_int_eq(aio_return(&cb), 1);
	ck_assert_int_eq(c, 'x');
	close(p[0]);
	close(p[1]);
}
END_TEST

START_TEST(return_before_completion_is_einval)
{
	struct aiocb cb;
	int p[2];
	char c = 0;

	make_pipe(p, 0);
	prep_aiocb(&cb, p[0], &c, 1, 0);
	ck_assert_int_eq(aio_read(&cb), 0);
	errno = 0;
	ck_assert_int_eq(aio_return(&cb), -1);
	ck_assert_int_eq(errno, EINVAL);
	/* it changed nothing: the request completes normally */
	ck_assert_int_eq(aio_error(&cb), EINPROGRESS);
	ck_assert_int_eq(write(p[1], "y", 1), 1);
	expect_done(&cb, 0, 1);
	ck_assert_int_eq(c, 'y');
	close(p[0]);
	close(p[1]);
}
END_TEST

START_TEST(return_is_repeatable)
{
	int fd = pattern_file(4096);
	unsigned char buf[1000];
	struct aiocb cb;

	prep_aiocb(&cb, fd, buf, sizeof buf, 100);
	ck_assert_int_eq(aio_read(&cb), 0);
	expect_done(&cb, 0, 1000);
	ck_assert_int_eq(aio_return(&cb), 1000);
	ck_assert_int_eq(aio_return(&cb), 1000);
	ck_assert_int_eq(aio_error(&cb), 0);

	/* a failure's -1 as well */
	prep_aiocb(&cb, closed_fd(), buf, sizeof buf, 0);
	ck_assert_int_eq(aio_read(&cb), 0);
	expect_done(&cb, EBADF, -1);
	ck_assert_int_eq(aio_return(&cb), -1);
	ck_assert_int_eq(aio_error(&cb), EBADF);
	close(fd);
}
END_TEST

/* ---------------------------------------------------- submission checks */

static const int bad_prios[] = { -1, 21, 22, 1000, INT_MAX, INT_MIN };

START_TEST(reqprio_out_of_range_is_einval)
{
	int fd = pattern_file(4096), prio = bad_prios[_i / 2], write_op = _i % 2;
	unsigned char buf[4096];
	struct aiocb cb, sync_cb;

	memset(buf, 0xee, sizeof buf);
	prep_aiocb(&cb, fd, buf, sizeof buf, 0);
	cb.aio_reqprio = prio;
	errno = 0;
	ck_assert_int_eq(write_op ? aio_write(&cb) : aio_read(&cb), -1);
	ck_assert_int_eq(errno, EINVAL);
	ck_assert_int_eq(aio_error(&cb), EINVAL);
	ck_assert_int_eq(aio_return(&cb), -1);

	/* nothing was queued: an fsync, which waits for earlier requests, finds none */
	prep_aiocb(&sync_cb, fd, NULL, 0, 0);
	ck_assert_int_eq(aio_fsync(O_SYNC, &sync_cb), 0);
	expect_done(&sync_cb, 0, 0);
	ck_assert_int_eq(aio_error(&cb), EINVAL);
	if (write_op) {
		check_file_pattern(fd, 0, 4096);
	} else {
		ck_assert_msg(untouched(buf, sizeof buf), "the refused read wrote the buffer");
	}
	close(fd);
}
END_TEST

START_TEST(reqprio_in_range_is_accepted)
{
	int fd = pattern_file(65536), prio;
	unsigned char buf[21][512];
	struct aiocb cb[21];

	for (prio = 0; prio <= 20; prio++) {
		prep_aiocb(&cb[prio], fd, buf[prio], 512, prio * 1000);
		cb[prio].aio_reqprio = prio;
		ck_assert_int_eq(aio_read(&cb[prio]), 0);
	}
	for (prio = 0; prio <= 20; prio++) {
		expect_done(&cb[prio], 0, 512);
		check_pattern(buf[prio], 512, (uint64_t)prio * 1000);
	}
	close(fd);
}
END_TEST

/* glibc checks no fd at submission: EBADF comes through aio_error. */
START_TEST(bad_fd_fails_through_aio_error)
{
	const int fds[] = { -1, -12345, INT_MAX, 100000 };
	unsigned char buf[64];
	struct aiocb cb;
	size_t i;

	for (i = 0; i < sizeof fds / sizeof fds[0]; i++) {
		ck_assert_int_eq(fcntl(fds[i], F_GETFD), -1);
		prep_aiocb(&cb, fds[i], buf, sizeof buf, 0);
		ck_assert_int_eq(aio_read(&cb), 0);
		expect_done(&cb, EBADF, -1);
		prep_aiocb(&cb, fds[i], buf, sizeof buf, 0);
		ck_assert_int_eq(aio_write(&cb), 0);
		expect_done(&cb, EBADF, -1);
	}
}
END_TEST

START_TEST(closed_fd_fails_through_aio_error)
{
	int fd = closed_fd();
	unsigned char buf[64];
	struct aiocb cb;

	prep_aiocb(&cb, fd, buf, sizeof buf, 0);
	ck_assert_int_eq(aio_read(&cb), 0);
	expect_done(&cb, EBADF, -1);
	prep_aiocb(&cb, fd, buf, sizeof buf, 0);
	ck_assert_int_eq(aio_write(&cb), 0);
	expect_done(&cb, EBADF, -1);
}
END_TEST

START_TEST(read_only_fd_write_is_ebadf)
{
	int fd = pattern_file(4096), ro;
	char path[64];
	unsigned char buf[64];
	struct aiocb cb;

	snprintf(path, sizeof path, "/proc/self/fd/%d", fd);
	ro = open(path, O_RDONLY | O_CLOEXEC);
	ck_assert_int_ge(ro, 0);
	memset(buf, 0, sizeof buf);
	prep_aiocb(&cb, ro, buf, sizeof buf, 0);
	ck_assert_int_eq(aio_write(&cb), 0);
	expect_done(&cb, EBADF, -1);
	check_file_pattern(fd, 0, 4096);
	close(ro);
	close(fd);
}
END_TEST

START_TEST(negative_offset_fails_through_aio_error)
{
	const off_t offs[] = { -1, -4096, OFF_T_MIN };
	int fd = pattern_file(4096);
	unsigned char buf[64];
	struct aiocb cb;
	size_t i;

	for (i = 0; i < sizeof offs / sizeof offs[0]; i++) {
		prep_aiocb(&cb, fd, buf, sizeof buf, offs[i]);
		ck_assert_int_eq(aio_read(&cb), 0);
		expect_done(&cb, EINVAL, -1);
		prep_aiocb(&cb, fd, buf, sizeof buf, offs[i]);
		ck_assert_int_eq(aio_write(&cb), 0);
		expect_done(&cb, EINVAL, -1);
	}
	check_file_pattern(fd, 0, 4096);
	close(fd);
}
END_TEST

START_TEST(bad_buffer_fails_with_efault)
{
	int fd = pattern_file(65536);
	struct aiocb cb;

	prep_aiocb(&cb, fd, (void *)1, 4096, 0);
	ck_assert_int_eq(aio_read(&cb), 0);
	expect_done(&cb, EFAULT, -1);
	prep_aiocb(&cb, fd, (void *)1, 4096, 0);
	ck_assert_int_eq(aio_write(&cb), 0);
	expect_done(&cb, EFAULT, -1);
	check_file_pattern(fd, 0, 65536);
	close(fd);
}
END_TEST

/* op: 0 aio_read, 1 aio_write, 2 aio_fsync(O_SYNC) */
static int submit_op(int op, struct aiocb *cb)
{
	switch (op) {
	case 0:
		return aio_read(cb);
	case 1:
		return aio_write(cb);
	default:
		return aio_fsync(O_SYNC, cb);
	}
}

/* A sigevent rtaio cannot deliver is refused at submission, for every op. */
static void expect_sigevent_refused(const struct sigevent *sev)
{
	int fd = pattern_file(4096), op;
	unsigned char buf[64];
	struct aiocb cb;

	for (op = 0; op < 3; op++) {
		prep_aiocb(&cb, fd, buf, sizeof buf, 0);
		cb.aio_sigevent = *sev;
		errno = 0;
		ck_assert_msg(submit_op(op, &cb) == -1, "op %d accepted sigev_notify %d signo %d",
			      op, sev->sigev_notify, sev->sigev_signo);
		ck_assert_int_eq(errno, EINVAL);
		ck_assert_int_eq(aio_error(&cb), EINVAL);
		ck_assert_int_eq(aio_return(&cb), -1);
	}
	close(fd);
}

START_TEST(unknown_sigev_notify_is_einval)
{
	const int notify[] = { 99, -1, 3, 5, INT_MAX };
	struct sigevent sev;
	size_t i;

	for (i = 0; i < sizeof notify / sizeof notify[0]; i++) {
		memset(&sev, 0, sizeof sev);
		sev.sigev_notify = notify[i];
		sev.sigev_signo = SIGUSR1;
		expect_sigevent_refused(&sev);
	}
}
END_TEST

START_TEST(sigev_signal_bad_signo_is_einval)
{
	const int signo[] = { 200, -1, 65, _NSIG, INT_MAX, INT_MIN };
	struct sigevent sev;
	size_t i;

	for (i = 0; i < sizeof signo / sizeof signo[0]; i++) {
		memset(&sev, 0, sizeof sev);
		sev.sigev_notify = SIGEV_SIGNAL;
		sev.sigev_signo = signo[i];
		expect_sigevent_refused(&sev);
	}
}
END_TEST

/*
 * A zeroed aiocb asks for SIGEV_SIGNAL (0) with signal 0: programs rely on
 * that meaning "no notification", as with glibc.  (Signal 0 is accepted.)
 */
START_TEST(zeroed_sigevent_means_no_notification)
{
	int fd = pattern_file(65536), op;
	unsigned char buf[4096];
	struct aiocb cb;

	for (op = 0; op < 3; op++) {
		memset(&cb, 0, sizeof cb);
		cb.aio_fildes = fd;
		cb.aio_buf = buf;
		cb.aio_nbytes = sizeof buf;
		cb.aio_offset = 100;
		ck_assert_int_eq(cb.aio_sigevent.sigev_notify, SIGEV_SIGNAL);
		ck_assert_int_eq(submit_op(op, &cb), 0);
		expect_done(&cb, 0, op == 2 ? 0 : (ssize_t)sizeof buf);
		if (op == 0)
			check_pattern(buf, sizeof buf, 100);
	}
	close(fd);
}
END_TEST

START_TEST(sigev_thread_null_function_is_einval)
{
	struct sigevent sev;

	memset(&sev, 0, sizeof sev);
	sev.sigev_notify = SIGEV_THREAD;
	sev.sigev_notify_function = NULL;
	expect_sigevent_refused(&sev);
}
END_TEST

/* Nothing in an aiocb's private fields or reserved area is read. */
START_TEST(uninitialised_private_fields_are_ignored)
{
	int fd = pattern_file(65536);
	unsigned char buf[4096];
	struct aiocb cb;

	memset(&cb, 0xa5, sizeof cb);
	cb.aio_fildes = fd;
	cb.aio_reqprio = 0;
	cb.aio_buf = buf;
	cb.aio_nbytes = sizeof buf;
	cb.aio_offset = 777;
	cb.aio_sigevent.sigev_notify = SIGEV_NONE;
	ck_assert_int_eq(aio_read(&cb), 0);
	expect_done(&cb, 0, (ssize_t)sizeof buf);
	check_pattern(buf, sizeof buf, 777);
	close(fd);
}
END_TEST

/* ------------------------------------------------------------- ordering */

/*
 * 200 writes through an O_APPEND descriptor land in submission order.  The
 * descriptor gains O_APPEND by F_SETFL (_i 0), by F_SETFL right after rtaio
 * wrote to it as a plain file (_i 1), or is the file opened again with
 * O_APPEND in that number right after (_i 2).  rtaio asks nothing of a
 * number that it saw as a plain file less than a second before (rtaio.7):
 * the statistics tell that it sent writes on that stale look (_i 1 and 2),
 * which must append all the same, and none on a descriptor never seen.
 * The aio_offset of every other write is the same, and the others' are
 * apart: taken for offsets, they would hold back the third write behind
 * the first while the fourth went on.  In one lio_listio list (_i 3 to 5,
 * as 0 to 2), the third finds the first unfinished for certain.  None
 * overlaps the plain write before them, which may not have left rtaio's
 * books yet: the first write is sent on the stale look.
 */
START_TEST(append_writes_complete_in_submission_order)
{
	enum { REC = 9, FAR = 1 << 20 };
	const char *unasked = "writes sent on a look at their fd under a second old: ";
	size_t n = 200, i;
	int fd = pattern_file(0), how = _i % 3;
	bool list = _i >= 3;
	struct aiocb *cbs = calloc(n, sizeof *cbs);
	struct aiocb **entries = calloc(n, sizeof *entries);
	char *recs = malloc(n * REC + 1), *back = malloc(n * REC + 1);
	off_t base = how ? 4096 : 0;
	struct stat st;

	ck_assert_ptr_nonnull(cbs);
	ck_assert_ptr_nonnull(entries);
	ck_assert_ptr_nonnull(recs);
	ck_assert_ptr_nonnull(back);
	setenv("RTAIO_STATS", "/dev/null", 1);	/* before the first request */
	if (how == 2) {
		char path[64];
		int appender;

		snprintf(path, sizeof path, "/proc/self/fd/%d", fd);
		appender = file_number_given_to(open(path, O_RDWR | O_APPEND | O_CLOEXEC));
		close(fd);
		fd = appender;
		ck_assert_int_eq(fstat(fd, &st), 0);
		ck_assert_int_eq(st.st_size, 0);	/* the file written is another */
		base = 0;
	} else if (how == 1) {
		char block[4096];

		memset(block, 'F', sizeof block);
		prep_aiocb(&cbs[0], fd, block, sizeof block, 0);
		ck_assert_int_eq(aio_write(&cbs[0]), 0);
		expect_done(&cbs[0], 0, sizeof block);
	}
	if (how != 2)
		ck_assert_int_eq(fcntl(fd, F_SETFL, O_APPEND), 0);
	for (i = 0; i < n; i++)
		snprintf(recs + i * REC, REC + 1, "rec%05zu\n", i);
	for (i = 0; i < n; i++) {
		/* aio_offset is ignored for appends */
		prep_aiocb(&cbs[i], fd, recs + i * REC, REC, FAR + (i % 2 ? (off_t)i << 12 : 0));
		cbs[i].aio_lio_opcode = LIO_WRITE;
		entries[i] = &cbs[i];
		if (!list)
			ck_assert_int_eq(aio_write(&cbs[i]), 0);
	}
	if (list)
		ck_assert_int_eq(lio_listio(LIO_WAIT, entries, (int)n, NULL), 0);
	for (i = 0; i < n; i++)
		expect_done(&cbs[i], 0, REC);
	if (how)
		ck_assert_uint_ge(reported(unasked), 1);
	else
		ck_assert_uint_eq(reported(unasked), 0);
	ck_assert_int_eq(fstat(fd, &st), 0);
	ck_assert_int_eq(st.st_size, base + (off_t)(n * REC));
	ck_assert_int_eq(pread(fd, back, n * REC, base), (ssize_t)(n * REC));
	for (i = 0; i < n; i++)
		ck_assert_msg(memcmp(back + i * REC, recs + i * REC, REC) == 0,
			      "record %zu in the file is %.8s", i, back + i * REC);
	free(back);
	free(recs);
	free(entries);
	free(cbs);
	close(fd);
}
END_TEST

static const char order_chars[] =
	"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

/* _i: 0 a pipe, 1 a socketpair */
START_TEST(stream_reads_run_in_submission_order)
{
	enum { N = 50 };
	struct aiocb cbs[N];
	char got[N];
	int p[2], i;

	make_pipe(p, _i);
	memset(got, 0, sizeof got);
	for (i = 0; i < N; i++) {
		prep_aiocb(&cbs[i], p[0], &got[i], 1, 0);
		ck_assert_int_eq(aio_read(&cbs[i]), 0);
	}
	for (i = 0; i < N; i++)
		ck_assert_int_eq(aio_error(&cbs[i]), EINPROGRESS);
	ck_assert_int_eq(write(p[1], order_chars, N), N);
	for (i = 0; i < N; i++) {
		expect_done(&cbs[i], 0, 1);
		ck_assert_msg(got[i] == order_chars[i], "read %d got '%c', expected '%c'", i,
			      got[i], order_chars[i]);
	}
	close(p[0]);
	close(p[1]);
}
END_TEST

START_TEST(stream_writes_run_in_submission_order)
{
	enum { N = 50 };
	struct aiocb cbs[N];
	char got[N];
	int p[2], i;
	size_t have = 0;

	make_pipe(p, _i);
	for (i = 0; i < N; i++) {
		prep_aiocb(&cbs[i], p[1], (char *)&order_chars[i], 1, 0);
		ck_assert_int_eq(aio_write(&cbs[i]), 0);
	}
	for (i = 0; i < N; i++)
		expect_done(&cbs[i], 0, 1);
	while (have < N) {
		ssize_t r = read(p[0], got + have, N - have);

		ck_assert_int_gt(r, 0);
		have += (size_t)r;
	}
	ck_assert_msg(memcmp(got, order_chars, N) == 0, "pipe carries %.50s", got);
	close(p[0]);
	close(p[1]);
}
END_TEST

/*
 * /dev/zero is not seekable but takes preadv2: a read on it still waits
 * for an earlier request on the same fd (here a write held behind the only
 * worker for blocking calls) instead of completing inside aio_read.
 */
START_TEST(device_read_waits_for_earlier_write)
{
	static const char src[16] = "ordered";
	char buf[16];
	struct aiocb w, r;
	struct blocker b;
	int fd = open("/dev/zero", O_RDWR | O_CLOEXEC);

	ck_assert_int_ge(fd, 0);
	use_backend("threads");
	set_pool(4, 1);
	start_blocker(&b, 0);
	prep_aiocb(&w, fd, (char *)src, sizeof src, 0);
	ck_assert_int_eq(aio_write(&w), 0);
	memset(buf, '-', sizeof buf);
	prep_aiocb(&r, fd, buf, sizeof buf, 0);
	submit_read(&r);
	ck_assert_int_eq(aio_error(&w), EINPROGRESS);
	ck_assert_msg(aio_error(&r) == EINPROGRESS, "the read overtook the write: %s",
		      strerror(aio_error(&r)));
	ck_assert_int_eq(buf[0], '-');
	release_blocker(&b);
	expect_done(&w, 0, sizeof src);
	expect_done(&r, 0, sizeof buf);
	ck_assert_int_eq(buf[0], 0);
	ck_assert_int_eq(buf[sizeof buf - 1], 0);
	close(fd);
}
END_TEST

/*
 * Writes that block (more than a pipe holds) still come out whole and in
 * submission order as the reader drains the pipe.
 */
START_TEST(blocking_stream_writes_stay_in_order)
{
	enum { N = 64, LEN = 4096 };
	struct aiocb cbs[N];
	unsigned char *data = malloc(N * LEN), *got = malloc(N * LEN);
	size_t have = 0, k;
	int p[2], i;
	double end = now_sec() + WAIT_MS / 1000.0;

	ck_assert_ptr_nonnull(data);
	ck_assert_ptr_nonnull(got);
	make_pipe(p, _i);
	for (i = 0; i < N; i++) {
		memset(data + i * LEN, i + 1, LEN);
		prep_aiocb(&cbs[i], p[1], data + i * LEN, LEN, 0);
		ck_assert_int_eq(aio_write(&cbs[i]), 0);
	}
	while (have < N * LEN) {
		struct pollfd pfd = { p[0], POLLIN, 0 };
		ssize_t r;

		ck_assert_msg(now_sec() < end && poll(&pfd, 1, WAIT_MS) == 1,
			      "the pipe stalled after %zu bytes", have);
		r = read(p[0], got + have, N * LEN - have);
		ck_assert_int_gt(r, 0);
		have += (size_t)r;
	}
	for (i = 0; i < N; i++)
		expect_done(&cbs[i], 0, LEN);
	for (k = 0; k < N * LEN; k++)
		if (got[k] != data[k])
			ck_abort_msg("byte %zu is from write %d, expected write %zu", k, got[k] - 1,
				     k / LEN);
	free(got);
	free(data);
	close(p[0]);
	close(p[1]);
}
END_TEST

/*
 * Two writes larger than the stream holds, queued back to back on a blocking
 * pipe or socket, while the reader takes 1000 bytes at a time: each returns
 * its whole length and the reader sees all of the first, then all of the
 * second, as with write(2).  (io_uring ends such a write at the first short
 * count: 64 KiB of 'A', then 'B'.)
 */
/*
 * Two 256 KiB writes queued at once on wfd (by aio_write, or in one
 * lio_listio list), the second at offset `second` (a stream has none: equal
 * offsets overlap, which on a file would hold the second back), read as
 * they come from rfd: each whole, in order.
 */
static void stream_writes_are_whole(int rfd, int wfd, off_t second, bool list)
{
	enum { LEN = 256 * 1024, CHUNK = 1000 };
	unsigned char *a = malloc(LEN), *b = malloc(LEN), *got = malloc(2 * LEN);
	struct aiocb cbs[2], *l[2] = { &cbs[0], &cbs[1] };
	size_t have = 0, k;
	double end = now_sec() + WAIT_MS / 1000.0;

	ck_assert(a && b && got);
	memset(a, 'A', LEN);
	memset(b, 'B', LEN);
	prep_aiocb(&cbs[0], wfd, a, LEN, 0);
	prep_aiocb(&cbs[1], wfd, b, LEN, second);
	cbs[0].aio_lio_opcode = cbs[1].aio_lio_opcode = LIO_WRITE;
	if (list) {
		ck_assert_int_eq(lio_listio(LIO_NOWAIT, l, 2, NULL), 0);
	} else {
		ck_assert_int_eq(aio_write(&cbs[0]), 0);
		ck_assert_int_eq(aio_write(&cbs[1]), 0);
	}
	while (have < 2 * LEN) {
		struct pollfd pfd = { rfd, POLLIN, 0 };
		ssize_t r;

		ck_assert_msg(now_sec() < end && poll(&pfd, 1, WAIT_MS) == 1,
			      "the stream stalled after %zu bytes", have);
		r = read(rfd, got + have, CHUNK < 2 * LEN - have ? CHUNK : 2 * LEN - have);
		ck_assert_int_gt(r, 0);
		have += (size_t)r;
	}
	expect_done(&cbs[0], 0, LEN);
	expect_done(&cbs[1], 0, LEN);
	for (k = 0; k < 2 * LEN; k++)
		if (got[k] != (k < LEN ? 'A' : 'B'))
			ck_abort_msg("byte %zu of the stream is '%c'", k, got[k]);
	free(got);
	free(b);
	free(a);
}

START_TEST(blocking_stream_writes_are_whole)
{
	int p[2];

	make_pipe(p, _i);
	stream_writes_are_whole(p[0], p[1], 0, false);
	close(p[0]);
	close(p[1]);
}
END_TEST

/*
 * A write waiting on a full blocking pipe or socket while the program is
 * stopped and continued (Ctrl-Z, then fg; the cgroup freezer does the
 * same): the stop ends the wait of the thread inside write(2), which then
 * returns what it has written so far.  The program's threads made no such
 * call, and its aio_write is whole, on either backend.
 */
START_TEST(stream_write_is_whole_across_a_stop)
{
	enum { LEN = 256 * 1024 };
	char *buf = malloc(LEN), *got = malloc(LEN);
	double end = now_sec() + WAIT_MS / 1000.0;
	size_t have = 0, k;
	struct aiocb cb;
	int p[2], size;

	ck_assert(buf && got);
	memset(buf, 's', LEN);
	make_pipe(p, _i);
	if (_i) {
		socklen_t len = sizeof size;

		ck_assert_int_eq(getsockopt(p[1], SOL_SOCKET, SO_SNDBUF, &size, &len), 0);
	} else {
		size = fcntl(p[1], F_GETPIPE_SZ);
	}
	prep_aiocb(&cb, p[1], buf, LEN, 0);
	ck_assert_int_eq(aio_write(&cb), 0);
	/* a socket buffer counts its overhead too: what it takes is less */
	wait_pipe_full(p[0], _i ? size / 4 : size, end);
	ck_assert_int_eq(aio_error(&cb), EINPROGRESS);
	stop_and_continue_once(WAIT_MS);
	/* until the write is over (its result tells how much it wrote) */
	while (have < LEN) {
		struct pollfd pfd = { p[0], POLLIN, 0 };
		int ready = poll(&pfd, 1, 100);

		if (ready == 0 && aio_error(&cb) != EINPROGRESS) {
			have += drain(p[0], got + have, LEN - have);
			break;
		}
		ck_assert_msg(now_sec() < end, "the stream stalled after %zu bytes", have);
		if (ready == 1) {
			ssize_t r = read(p[0], got + have, LEN - have);

			ck_assert_int_gt(r, 0);
			have += (size_t)r;
		}
	}
	expect_done(&cb, 0, LEN);
	ck_assert_uint_eq(have, LEN);
	for (k = 0; k < LEN && got[k] == 's'; k++)
		;
	ck_assert_msg(k == LEN, "byte %zu of the stream is '%c'", k, got[k]);
	free(got);
	free(buf);
	close(p[0]);
	close(p[1]);
}
END_TEST

/*
 * A write that RLIMIT_FSIZE cuts short returns the count written, as
 * write(2) does, and the program gets no SIGXFSZ, whose default action
 * ends it: the kernel raises it for a write that starts at the limit,
 * such as the rest of a short write, where one goes on (the thread
 * running it takes no signals).  _i 0: through an O_APPEND fd; 1: at an
 * offset.
 */
START_TEST(write_cut_short_by_the_file_size_limit_raises_nothing)
{
	enum { LIMIT = 1 << 20, LEN = 4096, ROOM = 1000 };
	char buf[LEN];
	struct aiocb cb;
	struct rlimit rl;
	struct stat st;
	int fd = temp_file();

	ck_assert_int_ge(fd, 0);
	ck_assert(signal(SIGXFSZ, SIG_DFL) != SIG_ERR);	/* whatever the test inherited */
	ck_assert_int_eq(ftruncate(fd, LIMIT - ROOM), 0);
	if (_i == 0)
		ck_assert_int_eq(fcntl(fd, F_SETFL, O_APPEND), 0);
	ck_assert_int_eq(getrlimit(RLIMIT_FSIZE, &rl), 0);
	rl.rlim_cur = LIMIT;
	ck_assert_int_eq(setrlimit(RLIMIT_FSIZE, &rl), 0);
	memset(buf, 'f', sizeof buf);
	prep_aiocb(&cb, fd, buf, LEN, LIMIT - ROOM);
	ck_assert_int_eq(aio_write(&cb), 0);
	expect_done(&cb, 0, ROOM);
	ck_assert_int_eq(fstat(fd, &st), 0);
	ck_assert_int_eq(st.st_size, LIMIT);
	close(fd);
}
END_TEST

/*
 * A file's fd number, written a moment ago, closed and given to a pipe or
 * a socket: rtaio still takes the number for a file (rtaio.7 says for how
 * long), and its writes must be a stream's all the same, whole and in
 * order; the second at the first's offset (which on a file would wait for
 * the first) or past it (which would not).  The statistics tell that
 * rtaio did take the number for a file: at least the first write found the
 * stream; both, when they came in one list.
 */
START_TEST(fd_reused_by_a_pipe_writes_as_a_pipe)
{
	enum { ROUNDS = 10 };
	const char *label = "writes that found a stream where a file was: ";
	bool list = _i & 4;
	unsigned long before = 0, found;
	int round;

	setenv("RTAIO_STATS", "/dev/null", 1);	/* before the first request */
	for (round = 0; round < ROUNDS; round++) {
		int p[2], fd;

		make_pipe(p, _i & 1);
		fd = file_number_given_to(p[1]);
		stream_writes_are_whole(p[0], fd, _i & 2 ? 256 * 1024 : 0, list);
		found = reported(label) - before;
		before += found;
		if (list)
			ck_assert_uint_eq(found, 2);
		else
			ck_assert_uint_ge(found, 1);
		close(p[0]);
		close(fd);
	}
}
END_TEST

/*
 * The same reused number given to a socket, and one lio_listio list that
 * writes to it and then reads from it: the write, which may take the
 * number for a file, must not make the read take it for one (a read at an
 * offset on a socket): the read returns what the peer sent, as read(2)
 * would, and the peer gets the write whole.
 */
START_TEST(list_read_after_a_write_on_a_reused_fd_reads_the_stream)
{
	enum { ROUNDS = 10, LEN = 4096 };
	char out[LEN], in[LEN], sent[LEN], got[LEN];
	struct aiocb cbs[2], *l[2] = { &cbs[0], &cbs[1] };
	int round;

	memset(out, 'W', sizeof out);
	for (round = 0; round < ROUNDS; round++) {
		int s[2], fd;

		make_pipe(s, 1);
		fd = file_number_given_to(s[0]);
		memset(sent, 'a' + round, sizeof sent);
		ck_assert_int_eq(write(s[1], sent, sizeof sent), (ssize_t)sizeof sent);
		memset(in, 0, sizeof in);
		prep_aiocb(&cbs[0], fd, out, LEN, 0);
		cbs[0].aio_lio_opcode = LIO_WRITE;
		prep_aiocb(&cbs[1], fd, in, LEN, 8192);
		cbs[1].aio_lio_opcode = LIO_READ;
		ck_assert_int_eq(lio_listio(LIO_WAIT, l, 2, NULL), 0);
		expect_done(&cbs[0], 0, LEN);
		expect_done(&cbs[1], 0, LEN);
		ck_assert_int_eq(memcmp(in, sent, LEN), 0);
		ck_assert_int_eq(read(s[1], got, sizeof got), (ssize_t)sizeof got);
		ck_assert_int_eq(memcmp(got, out, LEN), 0);
		close(s[1]);
		close(fd);
	}
}
END_TEST

/*
 * The same reused number, nobody reading yet: a 256 KiB write fills the
 * pipe and blocks, and the two queued behind it are cancelled, once the
 * pipe is full or at once, while they may still be finding out what the fd
 * is.  Each of them is cancelled (ECANCELED, none of its bytes written) or
 * not (then whole, in its turn); the stream holds the first write whole,
 * then whichever of the others ran, in order.
 */
START_TEST(writes_cancelled_on_a_reused_fd_leave_the_stream_whole)
{
	enum { LEN = 256 * 1024, ROUNDS = 5 };
	const char *label = "writes that found a stream where a file was: ";
	char *buf[3], *got = malloc(3 * LEN);
	struct aiocb cbs[3];
	unsigned long before = 0, found;
	int round, i;

	setenv("RTAIO_STATS", "/dev/null", 1);	/* before the first request */
	for (i = 0; i < 3; i++) {
		buf[i] = malloc(LEN);
		ck_assert_ptr_nonnull(buf[i]);
		memset(buf[i], 'A' + i, LEN);
	}
	ck_assert_ptr_nonnull(got);
	for (round = 0; round < ROUNDS; round++) {
		double end = now_sec() + WAIT_MS / 1000.0;
		int p[2], fd, size;
		bool ran[3] = { true, true, true };
		size_t want = 0, have = 0, k, at;

		make_pipe(p, 0);
		fd = file_number_given_to(p[1]);
		size = fcntl(fd, F_GETPIPE_SZ);
		for (i = 0; i < 3; i++) {
			prep_aiocb(&cbs[i], fd, buf[i], LEN, (off_t)i * LEN);
			ck_assert_int_eq(aio_write(&cbs[i]), 0);
		}
		if (_i == 0)
			wait_pipe_full(p[0], size, end);
		for (i = 1; i < 3; i++) {
			int answer = aio_cancel(fd, &cbs[i]);

			ck_assert_msg(answer == AIO_CANCELED || answer == AIO_NOTCANCELED,
				      "aio_cancel of write %d: %d", i, answer);
			ran[i] = answer == AIO_NOTCANCELED;
			if (!ran[i])
				expect_done(&cbs[i], ECANCELED, -1);
		}
		for (i = 0; i < 3; i++)
			want += ran[i] ? LEN : 0;
		while (have < want) {
			struct pollfd pfd = { p[0], POLLIN, 0 };
			ssize_t r;

			ck_assert_msg(now_sec() < end && poll(&pfd, 1, WAIT_MS) == 1,
				      "the stream stalled after %zu bytes", have);
			r = read(p[0], got + have, want - have);
			ck_assert_int_gt(r, 0);
			have += (size_t)r;
		}
		for (i = 0, at = 0; i < 3; i++) {
			if (!ran[i])
				continue;
			wait_final(&cbs[i], WAIT_MS);
			expect_done(&cbs[i], 0, LEN);
			for (k = 0; k < LEN; k++, at++)
				if (got[at] != 'A' + i)
					ck_abort_msg("byte %zu of the stream is '%c'", at, got[at]);
		}
		ck_assert_uint_eq(drain(p[0], got, LEN), 0);
		found = reported(label) - before;
		before += found;
		ck_assert_uint_ge(found, 1);
		close(p[0]);
		close(fd);
	}
	for (i = 0; i < 3; i++)
		free(buf[i]);
	free(got);
}
END_TEST

/*
 * A write of more than one write(2) transfers (2 GiB to /dev/null, which
 * never touches the buffer) returns what write(2) returns, the count cut
 * to MAX_RW_COUNT, on both backends: a short write that goes on until
 * whole stops there too.  (Found by the fuzzer: 2147483648 on io_uring.)
 */
START_TEST(write_past_max_rw_count_is_cut_as_write)
{
	/* 2 GiB, or SSIZE_MAX on 32-bit architectures: past MAX_RW_COUNT either way */
	const size_t len = ((size_t)1 << 31) - 1 < SSIZE_MAX ? (size_t)1 << 31 : SSIZE_MAX;
	int fd = open("/dev/null", O_WRONLY | O_CLOEXEC);
	/* the system call itself: a sanitizer's write() would check the buffer */
	long expect = syscall(SYS_write, fd, 4096L, (long)len);
	struct aiocb cb;

	if (skip_under_qemu("write(2) checks the buffer that /dev/null never reads")) {
		close(fd);
		return;
	}
	ck_assert_int_gt(expect, 0);
	prep_aiocb(&cb, fd, (void *)4096, len, 0);
	ck_assert_int_eq(aio_write(&cb), 0);
	expect_done(&cb, 0, (ssize_t)expect);
	close(fd);
}
END_TEST

/*
 * On an O_NONBLOCK pipe, a write returns what write(2) would: as much as
 * the pipe takes, then EAGAIN once it is full.
 */
START_TEST(nonblocking_pipe_write_is_what_write_gives)
{
	enum { LEN = 256 * 1024 };
	char *buf = calloc(1, LEN);
	struct aiocb cb;
	int p[2], size;

	ck_assert_ptr_nonnull(buf);
	ck_assert_int_eq(pipe2(p, O_CLOEXEC | O_NONBLOCK), 0);
	size = fcntl(p[1], F_GETPIPE_SZ);
	ck_assert_int_gt(size, 0);
	prep_aiocb(&cb, p[1], buf, LEN, 0);
	ck_assert_int_eq(aio_write(&cb), 0);
	expect_done(&cb, 0, size);
	prep_aiocb(&cb, p[1], buf, LEN, 0);
	ck_assert_int_eq(aio_write(&cb), 0);
	expect_done(&cb, EAGAIN, -1);
	free(buf);
	close(p[0]);
	close(p[1]);
}
END_TEST

/* On an empty O_NONBLOCK pipe or socket, a read fails with EAGAIN, as read(2). */
START_TEST(nonblocking_stream_read_is_eagain)
{
	struct aiocb cb;
	char c;
	int p[2];

	make_pipe(p, _i);
	ck_assert_int_eq(fcntl(p[0], F_SETFL, O_NONBLOCK), 0);
	prep_aiocb(&cb, p[0], &c, 1, 0);
	ck_assert_int_eq(aio_read(&cb), 0);
	expect_done(&cb, EAGAIN, -1);
	close(p[0]);
	close(p[1]);
}
END_TEST

/* The write(2) calls this process has made (/proc/self/io), or -1 if the kernel does not say. */
static long writes_made(void)
{
	char text[512];
	const char *at;
	int fd = open("/proc/self/io", O_RDONLY | O_CLOEXEC);
	ssize_t n = fd < 0 ? -1 : read(fd, text, sizeof text - 1);

	if (fd >= 0)
		close(fd);
	if (n <= 0)
		return -1;
	text[n] = '\0';
	at = strstr(text, "syscw: ");
	return at ? strtol(at + 7, NULL, 10) : -1;
}

/* Is cb final within ms?  No Check assertion meanwhile: each one writes to Check's pipe. */
static bool final_within(const struct aiocb *cb, long ms)
{
	const struct aiocb *list[1] = { cb };
	double end = now_sec() + (double)ms / 1000.0;

	while (aio_error(cb) == EINPROGRESS && now_sec() < end) {
		struct timespec t = ms_ts(10);

		aio_suspend(list, 1, &t);
	}
	return aio_error(cb) != EINPROGRESS;
}

/*
 * A socket with a receive or a send timeout (SO_RCVTIMEO, SO_SNDTIMEO): an
 * aio_read with nothing to read ends with EAGAIN, and an aio_write of more
 * than the socket holds, nobody reading, ends with the count taken, as
 * read(2) and write(2) do at the timeout.  io_uring ignores the timeouts:
 * in its ring, the library before waited for ever.  The write is one
 * write(2): the library before went on with a second one on the thread
 * backend, which waited for the timeout again (the program twice as long).
 */
START_TEST(socket_timeouts_end_reads_and_writes)
{
	enum { LEN = 4 << 20 };
	struct timeval tv = { 0, 100000 };
	char *buf = malloc(LEN);
	struct aiocb cb;
	long before, after;
	bool ended;
	ssize_t n;
	int s[2], submitted;

	ck_assert_ptr_nonnull(buf);
	memset(buf, 's', LEN);
	ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, s), 0);
	ck_assert_int_eq(setsockopt(s[1], SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv), 0);
	prep_aiocb(&cb, s[1], buf, 100, 0);
	ck_assert_int_eq(aio_read(&cb), 0);
	expect_done(&cb, EAGAIN, -1);

	ck_assert_int_eq(setsockopt(s[0], SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv), 0);
	prep_aiocb(&cb, s[0], buf, LEN, 0);
	before = writes_made();
	submitted = aio_write(&cb);
	ended = submitted == 0 && final_within(&cb, WAIT_MS);
	after = writes_made();
	ck_assert_int_eq(submitted, 0);
	ck_assert_msg(ended, "the write did not end at its timeout");
	n = aio_return(&cb);
	ck_assert_int_eq(aio_error(&cb), 0);
	ck_assert_msg(n > 0 && n < LEN, "the write returned %zd", n);
	ck_assert_uint_eq(drain(s[1], buf, LEN), (size_t)n);
	if (before < 0)
		fprintf(stderr, "no /proc/self/io here: the count of write(2) calls not checked\n");
	else
		ck_assert_int_eq(after - before, 1);
	close(s[0]);
	close(s[1]);
	free(buf);
}
END_TEST

static bool aiocb_final(const void *cb)
{
	return aio_error(cb) != EINPROGRESS;
}

/*
 * An aio_read on a socket with a low-water mark (SO_RCVLOWAT 100) and 10
 * bytes there waits, as read(2) does, until the mark is reached, and then
 * takes all 110 bytes.  io_uring ignores the mark: in its ring, the
 * library before returned the 10 bytes at once.
 */
START_TEST(socket_low_water_mark_holds_a_read)
{
	char buf[200], more[100];
	struct aiocb cb;
	int s[2], low = 100;

	ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, s), 0);
	ck_assert_int_eq(setsockopt(s[1], SOL_SOCKET, SO_RCVLOWAT, &low, sizeof low), 0);
	ck_assert_int_eq(write(s[0], "0123456789", 10), 10);
	prep_aiocb(&cb, s[1], buf, sizeof buf, 0);
	ck_assert_int_eq(aio_read(&cb), 0);
	/* the rest only once the read has ended, or waits in the kernel */
	wait_in_syscall_or(-1, s[1], aiocb_final, &cb);
	memset(more, 'm', sizeof more);
	ck_assert_int_eq(write(s[0], more, sizeof more), sizeof more);
	expect_done(&cb, 0, 110);
	close(s[0]);
	close(s[1]);
}
END_TEST

/*
 * aio_cancel of a write blocked on a full pipe after part of it went in:
 * the thread backend never interrupts a running call (AIO_NOTCANCELED; the
 * write then completes whole once the pipe is drained); io_uring interrupts
 * it, and the result is the count written, as for write(2) interrupted by
 * a signal (AIO_ALLDONE).  Never ECANCELED with data in the pipe.
 */
START_TEST(cancelled_stream_write_reports_what_it_wrote)
{
	enum { LEN = 256 * 1024 };
	char *buf = malloc(LEN), *got = malloc(LEN);
	double end = now_sec() + WAIT_MS / 1000.0;
	struct aiocb cb;
	int p[2], size;

	ck_assert(buf && got);
	memset(buf, 'w', LEN);
	ck_assert_int_eq(pipe2(p, O_CLOEXEC), 0);
	size = fcntl(p[1], F_GETPIPE_SZ);
	prep_aiocb(&cb, p[1], buf, LEN, 0);
	ck_assert_int_eq(aio_write(&cb), 0);
	wait_pipe_full(p[0], size, end);
	ck_assert_int_eq(aio_error(&cb), EINPROGRESS);
	if (backend_is_uring()) {
		ck_assert_int_eq(aio_cancel(p[1], &cb), AIO_ALLDONE);
		assert_status(&cb, 0, size);
		ck_assert_int_eq(drain(p[0], got, LEN), (size_t)size);
	} else {
		ck_assert_int_eq(aio_cancel(p[1], &cb), AIO_NOTCANCELED);
		while (aio_error(&cb) == EINPROGRESS) {
			ck_assert_msg(now_sec() < end, "the write never completed");
			drain(p[0], got, LEN);
		}
		assert_status(&cb, 0, LEN);
	}
	free(got);
	free(buf);
	close(p[0]);
	close(p[1]);
}
END_TEST

/*
 * Pipes for a test: up to `want`, as many as RLIMIT_NOFILE allows once its
 * soft limit is raised to the hard one (and the hard one, for root, to
 * what the pipes need).
 */
static unsigned pipes_allowed(unsigned want)
{
	struct rlimit rl;
	rlim_t need = 2 * (rlim_t)want + 256;

	ck_assert_int_eq(getrlimit(RLIMIT_NOFILE, &rl), 0);
	if (rl.rlim_max < need) {
		struct rlimit more = { need, need };

		if (setrlimit(RLIMIT_NOFILE, &more) == 0)
			rl = more;
	}
	rl.rlim_cur = rl.rlim_max;
	ck_assert_int_eq(setrlimit(RLIMIT_NOFILE, &rl), 0);
	return rl.rlim_cur >= need ? want : (unsigned)((rl.rlim_cur - 256) / 2);
}

/*
 * Reads pending on more pipes than there are workers for blocking calls
 * (_i 0: 100 pipes), or than the io_uring backend's ring holds (_i 1:
 * 10,000, reads not served at submission), do not hold up file I/O: reads,
 * writes and a flush of a file complete in turn (glibc: 20 blocked pipe
 * reads stall everything; rtaio's ring once kept all calls past its
 * first 4080 in one queue behind the pipe reads).  On io_uring, a read of
 * a pipe whose data is there completes too.
 */
START_TEST(pending_pipe_reads_do_not_starve_file_io)
{
	unsigned pipes = pipes_allowed(_i ? 10000 : 100), i;
	int fd = pattern_file(65536), (*p)[2] = calloc(pipes, sizeof *p), ready[2];
	struct aiocb *rd = calloc(pipes, sizeof *rd), cb;
	unsigned char buf[4096];
	char *c = calloc(pipes, 1), got;

	ck_assert(p && rd && c);
	ck_assert_msg(pipes >= 100, "RLIMIT_NOFILE allows %u pipes", pipes);
	if (_i)
		no_inline_reads();
	for (i = 0; i < pipes; i++) {
		make_pipe(p[i], 0);
		prep_aiocb(&rd[i], p[i][0], &c[i], 1, 0);
		ck_assert_int_eq(aio_read(&rd[i]), 0);
	}
	for (i = 0; i < 10; i++) {
		prep_aiocb(&cb, fd, buf, sizeof buf, i * 1000);
		ck_assert_int_eq(i % 2 ? aio_write(&cb) : aio_read(&cb), 0);
		expect_done(&cb, 0, (ssize_t)sizeof buf);
	}
	ck_assert_int_eq(aio_fsync(O_SYNC, &cb), 0);
	expect_done(&cb, 0, 0);
	if (backend_is_uring()) {
		make_pipe(ready, 0);
		ck_assert_int_eq(write(ready[1], "r", 1), 1);
		prep_aiocb(&cb, ready[0], &got, 1, 0);
		ck_assert_int_eq(aio_read(&cb), 0);
		expect_done(&cb, 0, 1);
		ck_assert_int_eq(got, 'r');
		close(ready[0]);
		close(ready[1]);
	}
	for (i = 0; i < pipes && aio_error(&rd[i]) == EINPROGRESS; i++)
		;
	ck_assert_msg(i == pipes, "read %u of an empty pipe is over", i);
	for (i = 0; i < pipes; i++)
		ck_assert_int_eq(write(p[i][1], "+", 1), 1);
	for (i = 0; i < pipes; i++) {
		expect_done(&rd[i], 0, 1);
		ck_assert_int_eq(c[i], '+');
		close(p[i][0]);
		close(p[i][1]);
	}
	close(fd);
	free(c);
	free(rd);
	free(p);
}
END_TEST

/* --------------------------------------------------------------- fsync */

static const int sync_ops[] = { O_SYNC, O_DSYNC };

/* The moment the fsync is done, every write queued before it is done. */
START_TEST(fsync_completes_after_earlier_writes)
{
	size_t n = scaled(32) + 1, len = 256 * 1024, i;
	int fd = pattern_file(0);
	struct aiocb *cbs = calloc(n, sizeof *cbs), sync_cb;
	unsigned char *data = malloc(len);

	ck_assert_ptr_nonnull(cbs);
	ck_assert_ptr_nonnull(data);
	for (i = 0; i < len; i++)
		data[i] = pattern_byte(i);
	for (i = 0; i < n; i++) {
		prep_aiocb(&cbs[i], fd, data, len, (off_t)(i * len));
		cbs[i].aio_reqprio = (int)(i % 21);
		ck_assert_int_eq(aio_write(&cbs[i]), 0);
	}
	prep_aiocb(&sync_cb, fd, NULL, 0, 0);
	ck_assert_int_eq(aio_fsync(sync_ops[_i], &sync_cb), 0);
	wait_cb(&sync_cb);
	for (i = 0; i < n; i++)
		ck_assert_msg(aio_error(&cbs[i]) == 0, "write %zu: %d when the fsync was done", i,
			      aio_error(&cbs[i]));
	ck_assert_int_eq(aio_error(&sync_cb), 0);
	ck_assert_int_eq(aio_return(&sync_cb), 0);
	for (i = 0; i < n; i++)
		ck_assert_int_eq(aio_return(&cbs[i]), (ssize_t)len);
	free(data);
	free(cbs);
	close(fd);
}
END_TEST

/*
 * Deterministic: reads pending on a pipe hold back an fsync submitted after
 * them, whatever their aio_reqprio.  glibc defect 4: there the fsync
 * overtakes the queued second read when that has aio_reqprio > 0.  _i: 0..1
 * O_SYNC and O_DSYNC with reqprio 0, 2..3 with the second read at reqprio 20.
 */
START_TEST(fsync_waits_for_pending_earlier_requests)
{
	const struct aiocb *sync_list[1];
	struct aiocb rd[2], sync_cb;
	struct timespec t = ms_ts(100);
	int p[2], i, r;
	char c[2] = { 0, 0 };

	make_pipe(p, 0);
	for (i = 0; i < 2; i++) {
		prep_aiocb(&rd[i], p[0], &c[i], 1, 0);
		rd[i].aio_reqprio = i && _i >= 2 ? 20 : 0;
		ck_assert_int_eq(aio_read(&rd[i]), 0);
	}
	prep_aiocb(&sync_cb, p[0], NULL, 0, 0);
	ck_assert_int_eq(aio_fsync(sync_ops[_i % 2], &sync_cb), 0);
	sync_list[0] = &sync_cb;
	for (i = 0; i < 2; i++) {
		/* still held back a while later */
		errno = 0;
		r = aio_suspend(sync_list, 1, &t);
		ck_assert_msg(r == -1 && errno == EAGAIN && aio_error(&sync_cb) == EINPROGRESS,
			      "the fsync finished before read %d (aio_suspend %d, aio_error %d)",
			      i, r, aio_error(&sync_cb));
		ck_assert_int_eq(aio_error(&rd[i]), EINPROGRESS);
		ck_assert_int_eq(write(p[1], i ? "2" : "1", 1), 1);
		expect_done(&rd[i], 0, 1);
	}
	wait_cb(&sync_cb);
	ck_assert_int_eq(c[0], '1');
	ck_assert_int_eq(c[1], '2');
	/* fsync(2) on a pipe fails with EINVAL, as it does in glibc's worker */
	ck_assert_int_eq(aio_error(&sync_cb), EINVAL);
	ck_assert_int_eq(aio_return(&sync_cb), -1);
	close(p[0]);
	close(p[1]);
}
END_TEST

#define SHARED_SYNCS "fsyncs that shared the result of the one before them: "

/*
 * A socketpair whose s[0] has a read into *c pending, so that the requests
 * queued after it wait their turn, and an fsync fails with EINVAL when it
 * runs; statistics on.  The count of shared fsyncs so far.
 */
static unsigned long socket_behind_read(int s[2], struct aiocb *rd, char *c)
{
	setenv("RTAIO_STATS", "/dev/null", 1);	/* before the first request */
	ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, s), 0);
	prep_aiocb(rd, s[0], c, 1, 0);
	ck_assert_int_eq(aio_read(rd), 0);
	return reported(SHARED_SYNCS);
}

/*
 * Deterministic, on a socketpair, where an fsync waits behind a pending
 * read and fails with EINVAL when it runs: fsyncs submitted one right
 * after another share the first one's result, fdatasync after fsync too,
 * in order; an fsync after an fdatasync, or after a write, runs itself.
 * rtaio_stats counts the shared ones: exactly two here, so that neither a
 * library that runs every fsync nor one that shares too much passes.
 */
START_TEST(fsyncs_in_a_row_share_one_result)
{
	const int ops[] = { O_SYNC, O_SYNC, O_DSYNC, O_SYNC };	/* the 2nd and 3rd share */
	struct aiocb rd, wr, sync_cb[5];
	int s[2], i;
	char c = 0;
	unsigned long before = socket_behind_read(s, &rd, &c);

	for (i = 0; i < 4; i++) {
		prep_aiocb(&sync_cb[i], s[0], NULL, 0, 0);
		ck_assert_int_eq(aio_fsync(ops[i], &sync_cb[i]), 0);
	}
	prep_aiocb(&wr, s[0], "w", 1, 0);
	ck_assert_int_eq(aio_write(&wr), 0);
	prep_aiocb(&sync_cb[4], s[0], NULL, 0, 0);
	ck_assert_int_eq(aio_fsync(O_SYNC, &sync_cb[4]), 0);
	for (i = 0; i < 5; i++)
		ck_assert_int_eq(aio_error(&sync_cb[i]), EINPROGRESS);
	ck_assert_int_eq(write(s[1], "r", 1), 1);
	expect_done(&rd, 0, 1);
	/* in order: once one is done, those before it are, without a wait */
	expect_done(&sync_cb[2], EINVAL, -1);
	for (i = 0; i < 2; i++)
		assert_status(&sync_cb[i], EINVAL, -1);
	expect_done(&sync_cb[4], EINVAL, -1);
	assert_status(&sync_cb[3], EINVAL, -1);
	assert_status(&wr, 0, 1);
	ck_assert_uint_eq(reported(SHARED_SYNCS) - before, 2);
	ck_assert_int_eq(read(s[1], &c, 1), 1);
	ck_assert_int_eq(c, 'w');
	close(s[0]);
	close(s[1]);
}
END_TEST

/*
 * An fsync does not share the result of an fsync before it when another
 * request was queued between them, even one that has finished since: on a
 * regular file, a write queued after the earlier fsync may run and finish
 * while that one waits, and only a flush that starts later covers it.  A
 * socket shows the rule deterministically, with requests cancelled where
 * a file's would have run: fsync P, write W (cancelled), fsync q1 (W came
 * between), fsync F, fsync q2 (right after F), F cancelled: q2 must not
 * take the result of q1, queued before the request between them.
 */
START_TEST(fsync_after_a_finished_request_runs_itself)
{
	struct aiocb rd, wr, p_cb, q1, f_cb, q2;
	int s[2];
	char c = 0;
	unsigned long before = socket_behind_read(s, &rd, &c);

	prep_aiocb(&p_cb, s[0], NULL, 0, 0);
	ck_assert_int_eq(aio_fsync(O_SYNC, &p_cb), 0);
	prep_aiocb(&wr, s[0], "w", 1, 0);
	ck_assert_int_eq(aio_write(&wr), 0);
	ck_assert_int_eq(aio_cancel(s[0], &wr), AIO_CANCELED);
	expect_done(&wr, ECANCELED, -1);
	prep_aiocb(&q1, s[0], NULL, 0, 0);
	ck_assert_int_eq(aio_fsync(O_SYNC, &q1), 0);
	prep_aiocb(&f_cb, s[0], NULL, 0, 0);
	ck_assert_int_eq(aio_fsync(O_SYNC, &f_cb), 0);
	prep_aiocb(&q2, s[0], NULL, 0, 0);
	ck_assert_int_eq(aio_fsync(O_SYNC, &q2), 0);
	ck_assert_int_eq(aio_cancel(s[0], &f_cb), AIO_CANCELED);
	expect_done(&f_cb, ECANCELED, -1);
	ck_assert_int_eq(write(s[1], "r", 1), 1);
	expect_done(&rd, 0, 1);
	expect_done(&q2, EINVAL, -1);
	assert_status(&q1, EINVAL, -1);
	assert_status(&p_cb, EINVAL, -1);
	ck_assert_uint_eq(reported(SHARED_SYNCS) - before, 0);
	close(s[0]);
	close(s[1]);
}
END_TEST

/*
 * An fsync whose turn came (handed to the engine) and that aio_cancel then
 * took from the engine's queue has ECANCELED, not a flush's result: the
 * fsync queued right after it runs itself (aio-model found the second one
 * completing with ECANCELED that no aio_cancel had asked for, seed
 * 23341754515 scenario 535).  Deterministic: the thread backend's only
 * worker for file I/O is held, so the first fsync waits in its queue.
 */
START_TEST(fsync_cancelled_in_the_engine_passes_nothing_on)
{
	struct aiocb first, second;
	struct blocker b;
	int fd = pattern_file(4096);
	unsigned long before;

	use_backend("threads");
	setenv("RTAIO_STATS", "/dev/null", 1);	/* before the first request */
	set_pool(1, 4);
	start_blocker(&b, 1);
	prep_aiocb(&first, fd, NULL, 0, 0);
	ck_assert_int_eq(aio_fsync(O_SYNC, &first), 0);
	before = reported(SHARED_SYNCS);	/* counting from the first request on */
	prep_aiocb(&second, fd, NULL, 0, 0);
	ck_assert_int_eq(aio_fsync(O_DSYNC, &second), 0);
	ck_assert_int_eq(aio_cancel(fd, &first), AIO_CANCELED);
	assert_status(&first, ECANCELED, -1);
	/* not completed with the first one's ECANCELED: it waits for its turn */
	ck_assert_int_eq(aio_error(&second), EINPROGRESS);
	release_blocker(&b);
	expect_done(&second, 0, 0);
	ck_assert_uint_eq(reported(SHARED_SYNCS) - before, 0);
	close(fd);
}
END_TEST

START_TEST(fsync_bad_op_is_einval)
{
	const int ops[] = { 0, O_RDONLY, O_WRONLY, O_RDWR, O_SYNC | O_APPEND,
			    O_DSYNC | O_NONBLOCK, O_SYNC | O_WRONLY, -1, INT_MAX };
	int fd = pattern_file(4096);
	struct aiocb cb;
	size_t i;

	for (i = 0; i < sizeof ops / sizeof ops[0]; i++) {
		prep_aiocb(&cb, fd, NULL, 0, 0);
		errno = 0;
		ck_assert_msg(aio_fsync(ops[i], &cb) == -1, "op %#x accepted", ops[i]);
		ck_assert_int_eq(errno, EINVAL);
	}
	/* the op is checked before the fd, as in glibc */
	prep_aiocb(&cb, -1, NULL, 0, 0);
	errno = 0;
	ck_assert_int_eq(aio_fsync(0, &cb), -1);
	ck_assert_int_eq(errno, EINVAL);
	close(fd);
}
END_TEST

START_TEST(fsync_bad_fd_is_ebadf)
{
	const int fds[] = { -1, INT_MAX, closed_fd() };
	struct aiocb cb;
	size_t i;

	for (i = 0; i < sizeof fds / sizeof fds[0]; i++) {
		prep_aiocb(&cb, fds[i], NULL, 0, 0);
		errno = 0;
		ck_assert_int_eq(aio_fsync(O_SYNC, &cb), -1);
		ck_assert_int_eq(errno, EBADF);
		errno = 0;
		ck_assert_int_eq(aio_fsync(O_DSYNC, &cb), -1);
		ck_assert_int_eq(errno, EBADF);
	}
}
END_TEST

/* glibc's own tests give aio_fsync uninitialised aiocbs: aio_reqprio is ignored. */
START_TEST(fsync_ignores_garbage_reqprio)
{
	const int prios[] = { (int)0xa5a5a5a5, -1, 21, INT_MAX, INT_MIN };
	int fd = pattern_file(4096);
	struct aiocb cb;
	size_t i;

	for (i = 0; i < sizeof prios / sizeof prios[0]; i++) {
		memset(&cb, 0xa5, sizeof cb);
		cb.aio_fildes = fd;
		cb.aio_reqprio = prios[i];
		cb.aio_sigevent.sigev_notify = SIGEV_NONE;
		ck_assert_int_eq(aio_fsync(i % 2 ? O_DSYNC : O_SYNC, &cb), 0);
		expect_done(&cb, 0, 0);
	}
	close(fd);
}
END_TEST

/*
 * Issue 14, item 2: pipe reads hold every worker for blocking calls while
 * more wait for one, a burst of flushes starts the only worker for file
 * I/O, which then exits on idle timeout.  A worker that has left must not
 * count against the limits: the next flush starts a worker at once.
 */
START_TEST(fsync_after_idle_worker_left_starts)
{
	enum { PIPES = 64, BLOCKING = 2, BURST = 60, IDLE_MS = 20 };
	int fd = pattern_file(4096), p[PIPES][2], i;
	struct aiocb rd[PIPES], burst[BURST], last;
	char c[PIPES];
	double end;

	set_pool_idle(1, BLOCKING, IDLE_MS);
	for (i = 0; i < PIPES; i++) {
		make_pipe(p[i], 0);
		prep_aiocb(&rd[i], p[i][0], &c[i], 1, 0);
		ck_assert_int_eq(aio_read(&rd[i]), 0);
	}
	for (i = 0; i < BURST; i++) {
		prep_aiocb(&burst[i], fd, NULL, 0, 0);
		ck_assert_int_eq(aio_fsync(O_SYNC, &burst[i]), 0);
	}
	for (i = 0; i < BURST; i++)
		expect_done(&burst[i], 0, 0);
	/* the thread backend keeps only the workers stuck in pipe reads */
	end = now_sec() + 10;
	while (count_threads("rtaio-worker", 0) > BLOCKING) {
		struct timespec ms = ms_ts(1);

		ck_assert_msg(now_sec() < end, "%d workers still alive, %d blocked in reads",
			      count_threads("rtaio-worker", 0), BLOCKING);
		nanosleep(&ms, NULL);
	}
	prep_aiocb(&last, fd, NULL, 0, 0);
	ck_assert_int_eq(aio_fsync(O_SYNC, &last), 0);
	wait_final(&last, 5000);
	ck_assert_int_eq(aio_return(&last), 0);
	for (i = 0; i < PIPES; i++)
		ck_assert_int_eq(aio_error(&rd[i]), EINPROGRESS);
	for (i = 0; i < PIPES; i++) {
		ck_assert_int_eq(write(p[i][1], "+", 1), 1);
		expect_done(&rd[i], 0, 1);
		ck_assert_int_eq(c[i], '+');
		close(p[i][0]);
		close(p[i][1]);
	}
	close(fd);
}
END_TEST

/* ------------------------------------------------ status and notification */

struct seen {
	struct aiocb *cb;
	int err;
	ssize_t ret;
	int done;
};

static void record_status(union sigval v)
{
	struct seen *s = v.sival_ptr;

	s->err = aio_error(s->cb);
	s->ret = aio_return(s->cb);
	__atomic_store_n(&s->done, 1, __ATOMIC_RELEASE);
}

static void wait_flag(int *flag)
{
	double end = now_sec() + WAIT_MS / 1000.0;
	struct timespec pause = { 0, 1000000 };

	while (!__atomic_load_n(flag, __ATOMIC_ACQUIRE)) {
		ck_assert_msg(now_sec() < end, "no notification after %d ms", WAIT_MS);
		nanosleep(&pause, NULL);
	}
}

static void thread_notify(struct aiocb *cb, struct seen *s)
{
	memset(s, 0, sizeof *s);
	s->cb = cb;
	cb->aio_sigevent.sigev_notify = SIGEV_THREAD;
	cb->aio_sigevent.sigev_notify_function = record_status;
	cb->aio_sigevent.sigev_value.sival_ptr = s;
}

/* In a SIGEV_THREAD function, aio_error and aio_return already give the final status. */
START_TEST(status_is_final_in_sigev_thread_function)
{
	int fd = pattern_file(65536), p[2];
	unsigned char buf[4096];
	struct aiocb cb;
	struct seen s;
	char c;

	prep_aiocb(&cb, fd, buf, sizeof buf, 4000);
	thread_notify(&cb, &s);
	ck_assert_int_eq(aio_read(&cb), 0);
	wait_flag(&s.done);
	ck_assert_int_eq(s.err, 0);
	ck_assert_int_eq(s.ret, (ssize_t)sizeof buf);
	check_pattern(buf, sizeof buf, 4000);

	/* a failure */
	prep_aiocb(&cb, closed_fd(), buf, sizeof buf, 0);
	thread_notify(&cb, &s);
	ck_assert_int_eq(aio_read(&cb), 0);
	wait_flag(&s.done);
	ck_assert_int_eq(s.err, EBADF);
	ck_assert_int_eq(s.ret, -1);

	/* a request that completes later, on a pipe */
	make_pipe(p, 0);
	prep_aiocb(&cb, p[0], &c, 1, 0);
	thread_notify(&cb, &s);
	ck_assert_int_eq(aio_read(&cb), 0);
	ck_assert_int_eq(write(p[1], "q", 1), 1);
	wait_flag(&s.done);
	ck_assert_int_eq(s.err, 0);
	ck_assert_int_eq(s.ret, 1);
	ck_assert_int_eq(c, 'q');
	close(p[0]);
	close(p[1]);
	close(fd);
}
END_TEST

/*
 * glibc defect 5: a notification that fails (bad signal number) overwrites a
 * successful result with -1.  rtaio validates the sigevent at submission:
 * the request is refused with EINVAL, never run, and nothing changes later.
 */
START_TEST(bad_signal_refused_at_submission_not_after_io)
{
	int fd = pattern_file(4096);
	unsigned char buf[4096];
	struct aiocb cb, sync_cb;

	memset(buf, 0xee, sizeof buf);
	prep_aiocb(&cb, fd, buf, sizeof buf, 0);
	cb.aio_sigevent.sigev_notify = SIGEV_SIGNAL;
	cb.aio_sigevent.sigev_signo = 200;
	errno = 0;
	ck_assert_int_eq(aio_read(&cb), -1);
	ck_assert_int_eq(errno, EINVAL);
	ck_assert_int_eq(aio_error(&cb), EINVAL);
	/* an fsync waits for whatever was queued before it on the fd */
	prep_aiocb(&sync_cb, fd, NULL, 0, 0);
	ck_assert_int_eq(aio_fsync(O_SYNC, &sync_cb), 0);
	expect_done(&sync_cb, 0, 0);
	ck_assert_int_eq(aio_error(&cb), EINVAL);
	ck_assert_int_eq(aio_return(&cb), -1);
	ck_assert_msg(untouched(buf, sizeof buf), "the refused read wrote the buffer");
	close(fd);
}
END_TEST

/* The positive side: a delivered signal keeps the I/O result. */
START_TEST(signal_notification_keeps_result)
{
	int fd = pattern_file(65536);
	unsigned char buf[4096];
	struct aiocb cb;
	sigset_t set, old;
	siginfo_t si;
	struct timespec t = ms_ts(WAIT_MS);

	sigemptyset(&set);
	sigaddset(&set, SIGUSR1);
	ck_assert_int_eq(pthread_sigmask(SIG_BLOCK, &set, &old), 0);
	prep_aiocb(&cb, fd, buf, sizeof buf, 1);
	cb.aio_sigevent.sigev_notify = SIGEV_SIGNAL;
	cb.aio_sigevent.sigev_signo = SIGUSR1;
	cb.aio_sigevent.sigev_value.sival_int = 4242;
	ck_assert_int_eq(aio_read(&cb), 0);
	ck_assert_int_eq(sigtimedwait(&set, &si, &t), SIGUSR1);
	ck_assert_int_eq(si.si_code, SI_ASYNCIO);
	ck_assert_int_eq(si.si_value.sival_int, 4242);
	ck_assert_int_eq(aio_error(&cb), 0);
	ck_assert_int_eq(aio_return(&cb), (ssize_t)sizeof buf);
	check_pattern(buf, sizeof buf, 1);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	close(fd);
}
END_TEST

/* ------------------------------------------------------ aiocb lifetime */

/* One aiocb, many sequential requests: no state carries over. */
START_TEST(aiocb_reused_for_sequential_requests)
{
	size_t size = 1 << 20, n = scaled(10000), i;
	int fd = pattern_file(size);
	unsigned char buf[4096], back[4096];
	struct aiocb cb;

	memset(&cb, 0, sizeof cb);
	for (i = 0; i < n; i++) {
		size_t len = 1 + (i * 7919) % sizeof buf;
		off_t off = (off_t)((i * 104729) % (size - sizeof buf));

		cb.aio_fildes = fd;
		cb.aio_buf = buf;
		cb.aio_nbytes = len;
		cb.aio_offset = off;
		cb.aio_sigevent.sigev_notify = SIGEV_NONE;
		if (i % 100 == 99) {
			/* a failure now and then: the next request must not see it */
			cb.aio_offset = -1;
			ck_assert_int_eq(aio_read(&cb), 0);
			expect_done(&cb, EINVAL, -1);
		} else if (i % 3 == 2) {
			size_t j;

			for (j = 0; j < len; j++)
				buf[j] = pattern_byte((uint64_t)off + j);
			ck_assert_int_eq(aio_write(&cb), 0);
			expect_done(&cb, 0, (ssize_t)len);
			ck_assert_int_eq(pread(fd, back, len, off), (ssize_t)len);
			ck_assert(memcmp(back, buf, len) == 0);
		} else {
			memset(buf, 0, len);
			ck_assert_int_eq(aio_read(&cb), 0);
			expect_done(&cb, 0, (ssize_t)len);
			check_pattern(buf, len, (uint64_t)off);
		}
	}
	close(fd);
}
END_TEST

static int freed_notes;

static void count_note(union sigval v)
{
	__atomic_fetch_add(&freed_notes, 1, __ATOMIC_RELAXED);
}

/*
 * The aiocb may be freed (or overwritten) as soon as aio_error says done:
 * completion and notification never touch it again (ASan shows it if they do).
 */
START_TEST(aiocb_freed_as_soon_as_done)
{
	size_t n = scaled(2000), i, notes = 0;
	int fd = pattern_file(65536);
	double end;

	for (i = 0; i < n; i++) {
		struct aiocb *cb = malloc(sizeof *cb);
		unsigned char *buf = malloc(512);
		off_t off = (off_t)((i * 331) % 60000);

		ck_assert_ptr_nonnull(cb);
		ck_assert_ptr_nonnull(buf);
		prep_aiocb(cb, fd, buf, 512, off);
		if (i % 4 == 3) {
			size_t j;

			for (j = 0; j < 512; j++)
				buf[j] = pattern_byte((uint64_t)off + j);
		}
		if (i % 2) {
			cb->aio_sigevent.sigev_notify = SIGEV_THREAD;
			cb->aio_sigevent.sigev_notify_function = count_note;
			notes++;
		}
		ck_assert_int_eq(i % 4 == 3 ? aio_write(cb) : aio_read(cb), 0);
		ck_assert_int_eq(spin_cb(cb), 0);
		ck_assert_int_eq(aio_return(cb), 512);
		memset(cb, 0xff, sizeof *cb);
		free(cb);
		if (i % 4 != 3)
			check_pattern(buf, 512, (uint64_t)off);
		free(buf);
	}
	end = now_sec() + WAIT_MS / 1000.0;
	while (__atomic_load_n(&freed_notes, __ATOMIC_RELAXED) < (int)notes) {
		struct timespec pause = { 0, 1000000 };

		ck_assert_msg(now_sec() < end, "%d of %zu notifications", freed_notes, notes);
		nanosleep(&pause, NULL);
	}
	close(fd);
}
END_TEST

/*
 * A thread that exits leaves no request records behind: each thread keeps
 * a few free records for its next requests, and they go back to the pool
 * as it exits.  Thousands of short-lived threads, each with a read served
 * at once (its record freed by the thread itself) and a write (freed by a
 * worker, or the ring thread), and the pool has grown by one slab at most
 * (rtaio_stats(3) tells the records allocated: under sanitizers and
 * qemu-user, the memory resident tells nothing).
 */
struct one_shot {
	int fd;
	int failed;	/* 0, or the step that failed */
};

static int one_shot_wait(struct aiocb *cb)
{
	const struct aiocb *list[1] = { cb };
	struct timespec t = ms_ts(WAIT_MS);

	while (aio_error(cb) == EINPROGRESS)
		if (aio_suspend(list, 1, &t) && errno != EINTR)
			return -1;
	return 0;
}

static void *one_shot_main(void *arg)
{
	static char byte = 'w';
	struct one_shot *o = arg;
	unsigned char buf[512];
	struct aiocb rd, wr;

	prep_aiocb(&rd, o->fd, buf, sizeof buf, 0);
	prep_aiocb(&wr, o->fd, &byte, 1, 70000);	/* past the pattern: no overlap */
	if (aio_read(&rd) || aio_write(&wr))
		o->failed = 1;
	else if (one_shot_wait(&rd) || one_shot_wait(&wr))
		o->failed = 2;
	else if (aio_return(&rd) != (ssize_t)sizeof buf || aio_return(&wr) != 1)
		o->failed = 3;
	return NULL;
}

static void one_shot_threads(int fd, unsigned long n)
{
	unsigned long i;

	for (i = 0; i < n; i++) {
		struct one_shot o = { fd, 0 };
		pthread_t t;

		ck_assert_int_eq(pthread_create(&t, NULL, one_shot_main, &o), 0);
		ck_assert_int_eq(pthread_join(t, NULL), 0);
		ck_assert_msg(!o.failed, "thread %lu: step %d failed", i, o.failed);
	}
}


START_TEST(exited_threads_leave_no_records_behind)
{
	unsigned long n = scaled_at_least(4000, 1000), before, grown;
	int fd = pattern_file(65536);

	one_shot_threads(fd, 64);	/* the pool warm, the workers there */
	before = reported("request records: ");
	one_shot_threads(fd, n);
	grown = reported("request records: ") - before;
	printf("exited_threads_leave_no_records_behind: %lu threads, %lu more request records\n",
	       n, grown);
	/* a slab of 256 records more at most: a thread's own would be 16 */
	ck_assert_msg(grown <= 256, "%lu more request records after %lu threads exited", grown, n);
	close(fd);
}
END_TEST

/* ----------------------------------------------------------------- fork */

/*
 * In a child: read a pattern file through AIO and aio_suspend; 0 if all
 * went well.  inherited: a request pending in the parent at the fork, which
 * the child does not inherit (POSIX): its aiocb reads ECANCELED there.
 */
/* lio_listio of 8 reads of fd (pattern_file): 0 when each reads right. */
static int list_reads(int fd)
{
	static unsigned char buf[8][512];
	struct aiocb cb[8], *list[8];
	int i;
	size_t j;

	for (i = 0; i < 8; i++) {
		prep_aiocb(&cb[i], fd, buf[i], sizeof buf[i], i * 1000);
		cb[i].aio_lio_opcode = LIO_READ;
		list[i] = &cb[i];
	}
	if (lio_listio(LIO_WAIT, list, 8, NULL) != 0)
		return 1;
	for (i = 0; i < 8; i++) {
		if (aio_error(&cb[i]) != 0 || aio_return(&cb[i]) != (ssize_t)sizeof buf[i])
			return 2;
		for (j = 0; j < sizeof buf[i]; j++)
			if (buf[i][j] != pattern_byte((uint64_t)i * 1000 + j))
				return 3;
	}
	return 0;
}

/* 300 pipe reads of a byte each, all pending, then fed: 0 if each reads its own. */
static int pipe_reads_pending(const int p[2])
{
	enum { N = 300 };
	static struct aiocb cb[N];
	static unsigned char got[N], sent[N];
	const struct aiocb *list[1];
	struct timespec t = ms_ts(10000);
	int i;

	for (i = 0; i < N; i++) {
		sent[i] = (unsigned char)(i % 251);
		prep_aiocb(&cb[i], p[0], &got[i], 1, 0);
		if (aio_read(&cb[i]) != 0)
			return 30;
	}
	if (write(p[1], sent, N) != N)
		return 31;
	for (i = 0; i < N; i++) {
		list[0] = &cb[i];
		while (aio_error(&cb[i]) == EINPROGRESS)
			if (aio_suspend(list, 1, &t) != 0)
				return errno == EAGAIN ? 32 : 33;
		if (aio_error(&cb[i]) != 0 || aio_return(&cb[i]) != 1 || got[i] != sent[i])
			return 34;
	}
	return 0;
}

static int child_uses_aio(int fd, struct aiocb *inherited)
{
	unsigned char buf[4096];
	struct aiocb cb[8];
	const struct aiocb *list[1];
	struct timespec t = ms_ts(10000);
	int i, p[2];
	char c = 0;
	size_t j;

	if (inherited) {
		list[0] = inherited;
		if (aio_error(inherited) != ECANCELED || aio_return(inherited) != -1)
			return 20;
		if (aio_suspend(list, 1, &t) != 0)
			return 21;
	}
	for (i = 0; i < 8; i++) {
		prep_aiocb(&cb[i], fd, buf, sizeof buf, i * 512);
		if (aio_read(&cb[i]) != 0)
			return 10;
		list[0] = &cb[i];
		while (aio_error(&cb[i]) == EINPROGRESS)
			if (aio_suspend(list, 1, &t) != 0)
				return errno == EAGAIN ? 11 : 12;
		if (aio_error(&cb[i]) != 0 || aio_return(&cb[i]) != (ssize_t)sizeof buf)
			return 13;
		for (j = 0; j < sizeof buf; j++)
			if (buf[j] != pattern_byte((uint64_t)i * 512 + j))
				return 14;
	}
	if (list_reads(fd) != 0)	/* through a ring of its own, not the parent's */
		return 22;
	/* a pipe of its own: an ordered request */
	if (pipe(p))
		return 15;
	prep_aiocb(&cb[0], p[0], &c, 1, 0);
	if (aio_read(&cb[0]) != 0 || write(p[1], "k", 1) != 1)
		return 16;
	list[0] = &cb[0];
	while (aio_error(&cb[0]) == EINPROGRESS)
		if (aio_suspend(list, 1, &t) != 0)
			return errno == EAGAIN ? 17 : 18;
	if (aio_return(&cb[0]) != 1 || c != 'k')
		return 19;
	/*
	 * More requests pending at once than the forking thread kept free
	 * records for in the parent: the pool starts whole, each record in
	 * it once (no two requests share one).
	 */
	return pipe_reads_pending(p);
}

/*
 * A child forked while the parent has a request pending on a pipe starts
 * clean and can use AIO at once; the parent's request is not inherited (its
 * aiocb reads ECANCELED in the child) and is unaffected in the parent.
 */
/*
 * GCC 12's AddressSanitizer runtime does not hold its allocator's locks
 * across fork (fixed in LLVM later): a child can inherit one locked and
 * hang in its first allocation.  The fork cases here run in the plain and
 * TSan builds; tests/test_fork.c covers fork under ASan, with workers
 * started before each fork.
 */
#if defined(__SANITIZE_ADDRESS__)
#define FORK_UNDER_ASAN_HANGS 1
#endif

START_TEST(fork_child_uses_aio_while_parent_request_pending)
{
	int fd = pattern_file(65536), p[2];
	struct aiocb rd;
	char c = 0;
	pid_t pid;

#ifdef FORK_UNDER_ASAN_HANGS
	puts("fork_child_uses_aio_while_parent_request_pending: not under ASan (see above)");
	return;
#endif
	if (skip_under_qemu(QEMU_FORK_WITH_THREADS))
		return;
	ck_assert_int_eq(list_reads(fd), 0);	/* the parent has its rings */
	make_pipe(p, 0);
	prep_aiocb(&rd, p[0], &c, 1, 0);
	ck_assert_int_eq(aio_read(&rd), 0);
	ck_assert_int_eq(aio_error(&rd), EINPROGRESS);
	settle_rtaio_threads(5000);
	pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		alarm(60);
		_exit(child_uses_aio(fd, &rd));
	}
	ck_assert_int_eq(reap(pid, WAIT_MS), 0);
	ck_assert_int_eq(aio_error(&rd), EINPROGRESS);
	ck_assert_int_eq(write(p[1], "p", 1), 1);
	expect_done(&rd, 0, 1);
	ck_assert_int_eq(c, 'p');
	close(p[0]);
	close(p[1]);
	close(fd);
}
END_TEST

/*
 * glibc defect 3: a child forked while the parent had an idle worker hangs
 * forever on its first request.  Each round completes a request (a worker
 * is then idle, or about to be) and forks at once.
 */
START_TEST(fork_after_idle_worker_child_does_not_hang)
{
	int fd = pattern_file(65536), round, rounds = (int)scaled(20) + 1;
	unsigned char buf[512];
	struct aiocb cb;

#ifdef FORK_UNDER_ASAN_HANGS
	puts("fork_after_idle_worker_child_does_not_hang: not under ASan (see above)");
	return;
#endif
	if (skip_under_qemu(QEMU_FORK_WITH_THREADS))
		return;
	no_inline_reads();	/* the reads must go to a worker */
	for (round = 0; round < rounds; round++) {
		pid_t pid;

		prep_aiocb(&cb, fd, buf, sizeof buf, round);
		ck_assert_int_eq(aio_read(&cb), 0);
		expect_done(&cb, 0, (ssize_t)sizeof buf);
		settle_rtaio_threads(5000);
		pid = fork();
		ck_assert_int_ge(pid, 0);
		if (pid == 0) {
			alarm(60);
			_exit(child_uses_aio(fd, NULL));
		}
		ck_assert_msg(reap(pid, WAIT_MS) == 0, "round %d: child failed", round);
	}
	close(fd);
}
END_TEST

static unsigned notified;

static void count_notification(union sigval v)
{
	(void)v;
	__atomic_add_fetch(&notified, 1, __ATOMIC_RELEASE);
}

/*
 * A child forked while the parent has engine workers and notification
 * threads, and which leaves with exit(), runs rtaio's unloading: it must
 * not wait for threads that the child does not have.  Every thread of the
 * parent is asleep at the fork (settle_rtaio_threads), so none holds the
 * allocator's locks (see FORK_UNDER_ASAN_HANGS), and the case runs in
 * the ASan build too.
 */
START_TEST(fork_child_exit_does_not_wait_for_parent_threads)
{
	enum { N = 4 };
	struct aiocb cb[N];
	char c[N];
	int p[2], i;
	pid_t pid;

	make_pipe(p, 0);
	__atomic_store_n(&notified, 0, __ATOMIC_RELAXED);
	for (i = 0; i < N; i++) {
		prep_aiocb(&cb[i], p[0], &c[i], 1, 0);
		cb[i].aio_sigevent.sigev_notify = SIGEV_THREAD;
		cb[i].aio_sigevent.sigev_notify_function = count_notification;
		ck_assert_int_eq(aio_read(&cb[i]), 0);
	}
	ck_assert_int_eq(write(p[1], "abcd", N), N);
	for (i = 0; i < N; i++)
		expect_done(&cb[i], 0, 1);
	{
		double end = now_sec() + (double)WAIT_MS / 1000;

		while (__atomic_load_n(&notified, __ATOMIC_ACQUIRE) < N && now_sec() < end)
			sched_yield();
	}
	ck_assert_uint_eq(__atomic_load_n(&notified, __ATOMIC_ACQUIRE), N);
	settle_rtaio_threads(5000);
	pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		alarm(60);
		exit(0);
	}
	ck_assert_int_eq(reap(pid, WAIT_MS), 0);
	close(p[0]);
	close(p[1]);
}
END_TEST

/*
 * Reads whose data the page cache holds (a file just written) complete
 * inside aio_read: final at once, notified, and without starting any thread
 * of rtaio's.  With RTAIO_INLINE_READS=0 they go through the engine.
 */
static void cached_reads(bool inline_reads)
{
	enum { N = 16, LEN = 4096 };
	int fd = pattern_file(N * LEN), i;
	static char buf[N][LEN];
	struct aiocb cb[N];
	siginfo_t si;

	if (inline_reads && skip_without_nowait_reads(fd)) {
		close(fd);
		return;
	}
	if (!inline_reads)
		no_inline_reads();
	block_signal(SIGRTMIN + 3);
	for (i = 0; i < N; i++) {
		memset(&cb[i], 0, sizeof cb[i]);
		cb[i].aio_fildes = fd;
		cb[i].aio_buf = buf[i];
		cb[i].aio_nbytes = LEN;
		cb[i].aio_offset = (off_t)(N - 1 - i) * LEN;
		cb[i].aio_sigevent.sigev_notify = SIGEV_SIGNAL;
		cb[i].aio_sigevent.sigev_signo = SIGRTMIN + 3;
		cb[i].aio_sigevent.sigev_value.sival_int = i;
		submit_read(&cb[i]);
		if (inline_reads)
			ck_assert_int_eq(aio_error(&cb[i]), 0);
	}
	for (i = 0; i < N; i++) {
		wait_final(&cb[i], 10000);
		ck_assert_int_eq(aio_return(&cb[i]), LEN);
		ck_assert_int_eq(first_bad_byte(buf[i], (uint64_t)(N - 1 - i) * LEN, LEN), -1);
		ck_assert(take_signal(SIGRTMIN + 3, &si, 10000));
		ck_assert_int_eq(si.si_code, SI_ASYNCIO);
	}
	if (inline_reads)
		ck_assert_int_eq(rtaio_thread_count(), 0);
	else
		ck_assert_int_gt(rtaio_thread_count(), 0);
	close(fd);
}

/*
 * A flush waiting on a file (here behind the only worker for file I/O)
 * does not stop a cached read of it from completing inside aio_read: reads
 * at an offset need not wait for it, only those on non-seekable fds must
 * keep their turn.
 */
START_TEST(cached_read_not_held_by_pending_fsync)
{
	int fd = pattern_file(8192);
	unsigned char buf[4096];
	struct aiocb sync_cb, rd;
	struct blocker b;

	if (skip_without_nowait_reads(fd)) {
		close(fd);
		return;
	}
	use_backend("threads");
	set_pool(1, 4);
	start_blocker(&b, 1);
	prep_aiocb(&sync_cb, fd, NULL, 0, 0);
	ck_assert_int_eq(aio_fsync(O_SYNC, &sync_cb), 0);
	prep_aiocb(&rd, fd, buf, sizeof buf, 4096);
	submit_read(&rd);
	ck_assert_int_eq(aio_error(&rd), 0);	/* final when aio_read returned */
	ck_assert_int_eq(aio_return(&rd), sizeof buf);
	ck_assert_int_eq(aio_error(&sync_cb), EINPROGRESS);
	ck_assert_int_eq(first_bad_byte(buf, 4096, sizeof buf), -1);
	release_blocker(&b);
	expect_done(&sync_cb, 0, 0);
	close(fd);
}
END_TEST

START_TEST(cached_read_completes_in_aio_read)
{
	cached_reads(true);
}
END_TEST

START_TEST(inline_reads_can_be_turned_off)
{
	cached_reads(false);
}
END_TEST

/*
 * An O_DIRECT read must never be tried inside aio_read, where preadv2
 * would wait for the device: it goes through the engine, and a thread of
 * rtaio's does the waiting.  The file is written back first, so that a
 * read tried at once would find nothing to stop it (dirty pages make it
 * fail with EAGAIN and go the usual way anyway).
 */
static void *synced_file(int *fd, size_t size)
{
	void *buf;

	*fd = pattern_file(size);
	ck_assert_int_eq(fdatasync(*fd), 0);
	ck_assert_int_eq(posix_memalign(&buf, 4096, 4096), 0);
	return buf;
}

/*
 * Do O_DIRECT reads of direct (at its first 10 blocks, into buf) make the
 * reader sleep, waiting for the device?  Not on a device fast enough to
 * complete them inside the system call (a virtual disk backed by the
 * host's cache): there an O_DIRECT read at submission is served at once,
 * with no thread of rtaio's, and never waits long.
 */
static bool direct_reads_sleep(int direct, void *buf)
{
	int round, device_sleeps = 0;

	for (round = 0; round < 10; round++) {
		long before = thread_sleeps(gettid());

		ck_assert_int_eq(pread(direct, buf, 4096, round * 4096), 4096);
		device_sleeps += thread_sleeps(gettid()) > before;
	}
	if (device_sleeps < 5)
		printf("SKIP: an O_DIRECT read here does not wait for a device\n");
	return device_sleeps >= 5;
}

/* A 4 KiB read at off, final with the file's data. */
static void read_block(int fd, void *buf, off_t off, bool final_at_once)
{
	struct aiocb cb;

	prep_aiocb(&cb, fd, buf, 4096, off);
	submit_read(&cb);
	if (final_at_once)
		ck_assert_int_eq(aio_error(&cb), 0);
	wait_final(&cb, 10000);
	ck_assert_int_eq(aio_return(&cb), 4096);
	ck_assert_int_eq(first_bad_byte(buf, (uint64_t)off, 4096), -1);
}

/*
 * fd's file opened again with O_DIRECT, or -1 on a filesystem without
 * O_DIRECT (EINVAL, and nothing else, is allowed).
 */
static int open_direct(int fd)
{
	char path[64];
	int direct;

	snprintf(path, sizeof path, "/proc/self/fd/%d", fd);
	direct = open(path, O_RDONLY | O_DIRECT | O_CLOEXEC);
	if (direct < 0)
		ck_assert_int_eq(errno, EINVAL);
	return direct;
}

START_TEST(direct_read_goes_through_the_engine)
{
	int fd, direct;
	void *buf = synced_file(&fd, 1 << 20);

	direct = open_direct(fd);
	if (direct < 0) {
		free(buf);
		close(fd);
		return;
	}
	read_block(direct, buf, 65536, false);
	ck_assert_int_gt(rtaio_thread_count(), 0);
	free(buf);
	close(direct);
	close(fd);
}
END_TEST

/*
 * An fd that gains O_DIRECT after a cached read: its next read is not
 * served inside aio_read, goes to the device through a thread of rtaio's
 * (the engine's, or the reaper of reads that the thread's ring sent to the
 * device while rtaio still took the fd for a buffered one: rtaio.7), and
 * returns the data.  A read that the device completes while io_uring_enter
 * is still returning is served at once all the same (a preempted submitter
 * on a busy machine, once in a CI run): of eight reads, where O_DIRECT
 * reads wait for the device, some need the thread.
 */
START_TEST(fd_that_gains_o_direct_is_checked_again)
{
	int fd, round;
	void *buf = synced_file(&fd, 1 << 20);

	if (skip_without_nowait_reads(fd)) {
		free(buf);
		close(fd);
		return;
	}
	read_block(fd, buf, 0, true);
	ck_assert_int_eq(rtaio_thread_count(), 0);
	if (fcntl(fd, F_SETFL, O_DIRECT) < 0) {
		ck_assert_int_eq(errno, EINVAL);	/* a filesystem without O_DIRECT */
		return;
	}
	/* each read finds the data; one that the device holds up needs a thread */
	for (round = 0; round < 8; round++)
		read_block(fd, buf, 65536 + round * 4096, false);
	if (direct_reads_sleep(fd, buf))
		ck_assert_int_gt(rtaio_thread_count(), 0);
	free(buf);
	close(fd);
}
END_TEST

/*
 * The other way round: an fd that loses O_DIRECT after a read, which rtaio
 * still takes for an O_DIRECT one for up to a second (rtaio.7).  Its reads
 * go the engine's way rather than at once, and find the data, also bytes
 * written through another fd since (in the page cache only).
 */
START_TEST(fd_that_loses_o_direct_reads_its_data)
{
	int fd, direct, round;
	void *buf = synced_file(&fd, 1 << 20);
	struct aiocb cb;

	direct = open_direct(fd);
	if (direct < 0) {
		free(buf);
		close(fd);
		return;
	}
	read_block(direct, buf, 0, false);
	ck_assert_int_eq(fcntl(direct, F_SETFL, 0), 0);
	for (round = 0; round < 8; round++)
		read_block(direct, buf, 4096 + round * 4096, false);
	ck_assert_int_eq(pwrite(fd, "changed", 7, 65536), 7);
	prep_aiocb(&cb, direct, buf, 4096, 65536);
	submit_read(&cb);
	wait_final(&cb, 10000);
	ck_assert_int_eq(aio_return(&cb), 4096);
	ck_assert_int_eq(memcmp(buf, "changed", 7), 0);
	free(buf);
	close(direct);
	close(fd);
}
END_TEST

/*
 * A file's fd number, read at once a moment ago, closed and given to a
 * pipe: rtaio still takes the number for a buffered file (rtaio.7 says for
 * how long), and its reads must be a pipe's all the same: one on the empty
 * pipe stays in progress (not EAGAIN) until data comes, and returns what
 * read(2) would, whatever aio_offset says.
 */
START_TEST(fd_reused_by_a_pipe_reads_as_a_pipe)
{
	int fd = pattern_file(65536), p[2], i;
	char buf[4096];
	struct aiocb cb;

	if (skip_without_nowait_reads(fd)) {
		close(fd);
		return;
	}
	read_block(fd, buf, 0, true);
	ck_assert_int_eq(pipe2(p, O_CLOEXEC), 0);
	ck_assert_int_eq(dup3(p[0], fd, O_CLOEXEC), fd);
	close(p[0]);
	for (i = 0; i < 2; i++) {
		prep_aiocb(&cb, fd, buf, sizeof buf, 4096);
		submit_read(&cb);
		ck_assert_int_eq(aio_error(&cb), EINPROGRESS);
		ck_assert_int_eq(write(p[1], "abc", 3 - (size_t)i), 3 - i);
		wait_final(&cb, 10000);
		ck_assert_int_eq(aio_error(&cb), 0);
		ck_assert_int_eq(aio_return(&cb), 3 - i);
		ck_assert_int_eq(memcmp(buf, "abc", 3 - (size_t)i), 0);
	}
	close(p[1]);
	close(fd);
}
END_TEST

struct reused_read {
	int fd;
	void *buf;
	off_t off;
	bool list;
	long sleeps;	/* in aio_read or lio_listio */
	struct aiocb cb[4];
};

/* Submit r's reads (4 KiB at off; a list of 4 with `list`), counting the submitter's sleeps. */
static void *submit_reused(void *arg)
{
	struct reused_read *r = arg;
	struct aiocb *list[4];
	long before;
	int i, n = r->list ? 4 : 1;

	for (i = 0; i < n; i++) {
		prep_aiocb(&r->cb[i], r->fd, (char *)r->buf + i * 4096, 4096, r->off + i * 4096);
		r->cb[i].aio_lio_opcode = LIO_READ;
		list[i] = &r->cb[i];
	}
	before = thread_sleeps(gettid());
	if (r->list)
		ck_assert_int_eq(lio_listio(LIO_NOWAIT, list, n, NULL), 0);
	else
		ck_assert_int_eq(aio_read(&r->cb[0]), 0);
	r->sleeps = thread_sleeps(gettid()) - before;
	return NULL;
}

/* Fork: the child reads path at once, on a ring of its own, and says whether all went well. */
static void fork_and_read(const char *path)
{
	pid_t pid = fork();
	int status;

	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		char *buf = malloc(4096);
		struct aiocb cb;
		int fd = open(path, O_RDONLY | O_CLOEXEC);

		prep_aiocb(&cb, fd, buf, 4096, 8192);
		if (fd < 0 || !buf || aio_read(&cb) < 0)
			_exit(1);
		while (aio_error(&cb) == EINPROGRESS)
			aio_suspend((const struct aiocb *const[]){ &cb }, 1, NULL);
		_exit(aio_return(&cb) == 4096 && first_bad_byte(buf, 8192, 4096) == -1 ? 0 : 2);
	}
	ck_assert_int_eq(waitpid(pid, &status, 0), pid);
	ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 0, "the child's read failed: %#x",
		      status);
}

/*
 * Issue 14 item 7: rtaio keeps an fd's flags for 100 µs, and an fd number
 * closed and opened again with O_DIRECT within that time had its read done
 * inside aio_read, which slept until the device answered (94-97 of 100
 * reads).  Now such a read goes to the device through the submitter's ring
 * and is finished by the engine: aio_read never sleeps for it.  Sleeping
 * is what is counted (voluntary context switches), so a fast device changes
 * nothing; where an O_DIRECT pread does not sleep either (no device under
 * the file system), there is nothing to tell apart.  _i 0: aio_read, then
 * aio_cancel, whose answer must agree with the outcome; 1: a lio_listio
 * list; 2: aio_read from a thread that exits at once (the completion must
 * still come); 3: aio_read, then fork, the child reading on its own.
 */
START_TEST(fd_reused_with_o_direct_never_waits_for_the_device)
{
	enum { ROUNDS = 40 };
	struct reused_read r = { .list = _i == 1 };
	char path[64];
	int fd, buffered, direct, round, slept = 0, i, cancelled = -1;
	void *buf = synced_file(&fd, 1 << 20);

	if (skip_without_nowait_reads(fd)) {
		free(buf);
		close(fd);
		return;
	}
	ck_assert_int_eq(posix_memalign(&r.buf, 4096, 4 * 4096), 0);
	snprintf(path, sizeof path, "/proc/self/fd/%d", fd);
	direct = open(path, O_RDONLY | O_DIRECT | O_CLOEXEC);
	if (direct < 0) {
		ck_assert_int_eq(errno, EINVAL);	/* a filesystem without O_DIRECT */
		return;
	}
	if (!direct_reads_sleep(direct, r.buf)) {
		close(direct);
		goto out;
	}
	close(direct);
	for (round = 0; round < ROUNDS; round++) {
		pthread_t t;

		buffered = open(path, O_RDONLY | O_CLOEXEC);
		ck_assert_int_ge(buffered, 0);
		read_block(buffered, buf, 0, true);	/* the fd's flags are known now */
		close(buffered);
		direct = open(path, O_RDONLY | O_DIRECT | O_CLOEXEC);
		ck_assert_int_eq(direct, buffered);
		r.fd = direct;
		r.off = (off_t)(round % 32) * 4 * 4096;
		if (_i == 2) {
			ck_assert_int_eq(pthread_create(&t, NULL, submit_reused, &r), 0);
			ck_assert_int_eq(pthread_join(t, NULL), 0);
		} else {
			submit_reused(&r);
		}
		slept += r.sleeps > 0;
		if (_i == 0)
			cancelled = aio_cancel(direct, &r.cb[0]);
		if (_i == 3)
			fork_and_read(path);
		for (i = 0; i < (r.list ? 4 : 1); i++) {
			wait_final(&r.cb[i], 10000);
			if (cancelled == AIO_CANCELED) {
				ck_assert_int_eq(aio_error(&r.cb[i]), ECANCELED);
				continue;
			}
			ck_assert_int_eq(aio_return(&r.cb[i]), 4096);
			ck_assert_int_eq(first_bad_byte((char *)r.buf + i * 4096,
							(uint64_t)r.off + (uint64_t)i * 4096, 4096), -1);
		}
		close(direct);
	}
	/* before: nearly every round; now: only an occasional lock taken in turn */
	ck_assert_msg(slept <= ROUNDS / 4, "the submitter slept in %d of %d rounds", slept, ROUNDS);
out:
	free(r.buf);
	free(buf);
	close(fd);
}
END_TEST

/*
 * A read of /dev/zero returns all it was asked for: read(2) stops short on a
 * device only at its end or on a signal.  Issue 14 item 12: the read tried
 * at submission (preadv2 with RWF_NOWAIT), and io_uring's own first try,
 * give up at the kernel's reschedule points when another thread wants the
 * CPU, and their short count was taken as the result.  So a thread spins on
 * the CPU that the test (and every thread of rtaio's, created by it) is
 * pinned to; _i = 1: with RTAIO_INLINE_READS=0, the engine alone.
 */
struct spinner {
	int stop;
	unsigned long spins;
};

static void *spin_main(void *arg)
{
	struct spinner *s = arg;

	while (!__atomic_load_n(&s->stop, __ATOMIC_RELAXED))
		s->spins++;	/* read once joined */
	return NULL;
}

/* Pin the calling thread, and the threads it creates from now on, to one CPU of its own set. */
static void pin_to_one_cpu(void)
{
	cpu_set_t set;
	int cpu = 0;

	ck_assert_int_eq(sched_getaffinity(0, sizeof set, &set), 0);
	while (!CPU_ISSET(cpu, &set))
		cpu++;
	CPU_ZERO(&set);
	CPU_SET(cpu, &set);
	ck_assert_int_eq(sched_setaffinity(0, sizeof set, &set), 0);
}

START_TEST(device_read_is_whole_with_cpu_contention)
{
	enum { LEN = 64 << 20 };
	unsigned long reads = scaled(32), i;
	unsigned char *buf = malloc(LEN);
	struct spinner s = { 0, 0 };
	struct aiocb cb;
	pthread_t th;
	int fd = open("/dev/zero", O_RDONLY | O_CLOEXEC);

	ck_assert_int_ge(fd, 0);
	ck_assert_ptr_nonnull(buf);
	if (_i)
		no_inline_reads();
	pin_to_one_cpu();
	ck_assert_int_eq(pthread_create(&th, NULL, spin_main, &s), 0);
	for (i = 0; i < reads; i++) {
		buf[0] = buf[LEN - 1] = '-';
		prep_aiocb(&cb, fd, buf, LEN, 0);
		submit_read(&cb);
		wait_final(&cb, WAIT_MS);
		ck_assert_msg(aio_error(&cb) == 0, "read %lu: %s", i, strerror(aio_error(&cb)));
		ck_assert_msg(aio_return(&cb) == LEN, "read %lu of %d bytes returned %zd", i, LEN,
			      aio_return(&cb));
		ck_assert_int_eq(buf[0], 0);
		ck_assert_int_eq(buf[LEN - 1], 0);
	}
	__atomic_store_n(&s.stop, 1, __ATOMIC_RELAXED);
	join_within(th, WAIT_MS);
	/* the contention happened: the spinner ran while the reads did */
	ck_assert_uint_gt(s.spins, 0);
	free(buf);
	close(fd);
}
END_TEST

static Suite *rw_suite(void)
{
	Suite *s = suite_create("aio_rw");
	TCase *data = tcase_create("data");
	TCase *status = tcase_create("status");
	TCase *check = tcase_create("submission checks");
	TCase *order = tcase_create("ordering");
	TCase *sync = tcase_create("fsync");
	TCase *notify = tcase_create("status and notification");
	TCase *life = tcase_create("aiocb lifetime");
	TCase *fork_tc = tcase_create("fork");

	tcase_add_test(data, read_returns_file_data_at_offset);
	tcase_add_test(data, read_at_or_past_eof_is_short);
	tcase_add_test(data, cached_read_completes_in_aio_read);
	tcase_add_test(data, cached_read_not_held_by_pending_fsync);
	tcase_add_test(data, inline_reads_can_be_turned_off);
	tcase_add_test(data, direct_read_goes_through_the_engine);
	tcase_add_test(data, fd_that_gains_o_direct_is_checked_again);
	tcase_add_test(data, fd_that_loses_o_direct_reads_its_data);
	tcase_add_test(data, fd_reused_by_a_pipe_reads_as_a_pipe);
	tcase_add_loop_test(data, fd_reused_with_o_direct_never_waits_for_the_device, 0, 4);
	tcase_add_loop_test(data, device_read_is_whole_with_cpu_contention, 0, 2);
	tcase_add_test(data, write_lands_at_offset);
	tcase_add_loop_test(data, overlapping_requests_keep_their_order, 0, 5);
	tcase_add_test(data, many_concurrent_requests_on_one_fd);
	tcase_add_test(data, many_threads_submit_on_one_fd);
	tcase_add_test(status, error_is_einprogress_then_zero);
	tcase_add_test(status, return_before_completion_is_einval);
	tcase_add_test(status, return_is_repeatable);
	tcase_add_loop_test(check, reqprio_out_of_range_is_einval, 0,
			    (int)(2 * sizeof bad_prios / sizeof bad_prios[0]));
	tcase_add_test(check, reqprio_in_range_is_accepted);
	tcase_add_test(check, bad_fd_fails_through_aio_error);
	tcase_add_test(check, closed_fd_fails_through_aio_error);
	tcase_add_test(check, read_only_fd_write_is_ebadf);
	tcase_add_test(check, negative_offset_fails_through_aio_error);
	tcase_add_test(check, bad_buffer_fails_with_efault);
	tcase_add_test(check, unknown_sigev_notify_is_einval);
	tcase_add_test(check, sigev_signal_bad_signo_is_einval);
	tcase_add_test(check, zeroed_sigevent_means_no_notification);
	tcase_add_test(check, sigev_thread_null_function_is_einval);
	tcase_add_test(check, uninitialised_private_fields_are_ignored);
	tcase_add_loop_test(order, append_writes_complete_in_submission_order, 0, 6);
	tcase_add_loop_test(order, stream_reads_run_in_submission_order, 0, 2);
	tcase_add_loop_test(order, stream_writes_run_in_submission_order, 0, 2);
	tcase_add_loop_test(order, blocking_stream_writes_stay_in_order, 0, 2);
	tcase_add_loop_test(order, blocking_stream_writes_are_whole, 0, 2);
	tcase_add_loop_test(order, stream_write_is_whole_across_a_stop, 0, 2);
	tcase_add_loop_test(data, write_cut_short_by_the_file_size_limit_raises_nothing, 0, 2);
	tcase_add_loop_test(order, fd_reused_by_a_pipe_writes_as_a_pipe, 0, 8);
	tcase_add_test(order, list_read_after_a_write_on_a_reused_fd_reads_the_stream);
	tcase_add_loop_test(order, writes_cancelled_on_a_reused_fd_leave_the_stream_whole, 0, 2);
	tcase_add_test(order, nonblocking_pipe_write_is_what_write_gives);
	tcase_add_test(order, write_past_max_rw_count_is_cut_as_write);
	tcase_add_loop_test(order, nonblocking_stream_read_is_eagain, 0, 2);
	tcase_add_test(order, socket_timeouts_end_reads_and_writes);
	tcase_add_test(order, socket_low_water_mark_holds_a_read);
	tcase_add_test(order, cancelled_stream_write_reports_what_it_wrote);
	tcase_add_loop_test(order, pending_pipe_reads_do_not_starve_file_io, 0, 2);
	tcase_add_test(order, device_read_waits_for_earlier_write);
	tcase_add_loop_test(sync, fsync_completes_after_earlier_writes, 0, 2);
	tcase_add_loop_test(sync, fsync_waits_for_pending_earlier_requests, 0, 4);
	tcase_add_test(sync, fsyncs_in_a_row_share_one_result);
	tcase_add_test(sync, fsync_after_a_finished_request_runs_itself);
	tcase_add_test(sync, fsync_cancelled_in_the_engine_passes_nothing_on);
	tcase_add_test(sync, fsync_bad_op_is_einval);
	tcase_add_test(sync, fsync_bad_fd_is_ebadf);
	tcase_add_test(sync, fsync_ignores_garbage_reqprio);
	tcase_add_test(sync, fsync_after_idle_worker_left_starts);
	tcase_add_test(notify, status_is_final_in_sigev_thread_function);
	tcase_add_test(notify, bad_signal_refused_at_submission_not_after_io);
	tcase_add_test(notify, signal_notification_keeps_result);
	tcase_add_test(life, aiocb_reused_for_sequential_requests);
	tcase_add_test(life, aiocb_freed_as_soon_as_done);
	tcase_add_test(life, exited_threads_leave_no_records_behind);
	tcase_add_test(fork_tc, fork_child_uses_aio_while_parent_request_pending);
	tcase_add_test(fork_tc, fork_after_idle_worker_child_does_not_hang);
	tcase_add_test(fork_tc, fork_child_exit_does_not_wait_for_parent_threads);
	tcase_set_timeout(data, 120);
	tcase_set_timeout(status, 120);
	tcase_set_timeout(check, 120);
	tcase_set_timeout(order, 120);
	tcase_set_timeout(sync, 120);
	tcase_set_timeout(notify, 120);
	tcase_set_timeout(life, 300);
	tcase_set_timeout(fork_tc, 120);
	suite_add_tcase(s, data);
	suite_add_tcase(s, status);
	suite_add_tcase(s, check);
	suite_add_tcase(s, order);
	suite_add_tcase(s, sync);
	suite_add_tcase(s, notify);
	suite_add_tcase(s, life);
	suite_add_tcase(s, fork_tc);
	return s;
}

TEST_MAIN(rw_suite)
