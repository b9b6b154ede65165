/*
 * Faults and misuse: a full disk, offsets past the largest file, an fd
 * closed under its queued requests, an aiocb submitted twice, no threads to
 * be had, exec and fork at awkward moments.  Each case asserts the exact
 * outcome that rtaio documents, and that every request ends once.
 */
#include <aio.h>
#include <limits.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <sys/mount.h>
#include <sys/resource.h>
#include <sys/wait.h>

#include "aioutil.h"

#define WAIT_MS 30000

static void assert_final(struct aiocb *cb, int err, ssize_t ret)
{
	wait_final(cb, WAIT_MS);
	assert_status(cb, err, ret);
}

/* --- a full disk --- */

/*
 * Writes to a 64 KiB tmpfs (mounted in a mount namespace of the test's
 * own): those that find no room fail with ENOSPC, each through aio_error;
 * once room is made, the next write succeeds.  Needs root (CAP_SYS_ADMIN):
 * the suite leaves this case out otherwise, and says so.
 */
START_TEST(full_disk_write_is_enospc)
{
	enum { N = 32, LEN = 4096 };
	static char buf[N][LEN];
	char dir[] = "/tmp/rtaio-full-XXXXXX", path[64];
	struct aiocb cb[N];
	int fd, i, ok = 0, full = 0;

	ck_assert_ptr_nonnull(mkdtemp(dir));
	ck_assert_msg(unshare(CLONE_NEWNS) == 0, "unshare: %s", strerror(errno));
	ck_assert_int_eq(mount("none", "/", NULL, MS_REC | MS_PRIVATE, NULL), 0);
	ck_assert_msg(mount("rtaio", dir, "tmpfs", 0, "size=64k") == 0, "mount: %s",
		      strerror(errno));
	snprintf(path, sizeof path, "%s/f", dir);
	fd = open(path, O_CREAT | O_RDWR | O_CLOEXEC, 0600);
	ck_assert_int_ge(fd, 0);
	for (i = 0; i < N; i++) {
		memset(buf[i], 'a' + i % 26, LEN);
		prep_aiocb(&cb[i], fd, buf[i], LEN, (off_t)i * LEN);
		ck_assert_int_eq(aio_write(&cb[i]), 0);
	}
	for (i = 0; i < N; i++) {
		wait_final(&cb[i], WAIT_MS);
		if (aio_error(&cb[i]) == 0) {
			ck_assert_int_eq(aio_return(&cb[i]), LEN);
			ok++;
		} else {
			ck_assert_int_eq(aio_error(&cb[i]), ENOSPC);
			ck_assert_int_eq(aio_return(&cb[i]), -1);
			full++;
		}
	}
	ck_assert_int_gt(ok, 0);
	ck_assert_int_le(ok * LEN, 64 * 1024);
	ck_assert_int_gt(full, 0);
	/* room again: the same request now succeeds */
	ck_assert_int_eq(ftruncate(fd, 0), 0);
	ck_assert_int_eq(aio_write(&cb[N - 1]), 0);
	assert_final(&cb[N - 1], 0, LEN);
	close(fd);
	ck_assert_int_eq(umount(dir), 0);
	rmdir(dir);
}
END_TEST

/* --- offsets --- */

/* What pwrite says at that offset: -errno. */
static int pwrite_error(int fd, const void *buf, size_t len, off_t off)
{
	return pwrite(fd, buf, len, off) < 0 ? -errno : 0;
}

/*
 * Past the largest file size the file system allows (1 PiB here), a write
 * fails with EFBIG and a read finds the end of the file; where the offset
 * plus the length overflows, both fail with EINVAL.  The same as pwrite
 * and pread say.
 */
START_TEST(offset_past_max_file_size)
{
	static const struct {
		off_t off;
		int write_err, read_err;
	} cases[] = { { (off_t)1 << 50, EFBIG, 0 }, { LLONG_MAX - 100, EINVAL, EINVAL } };
	static char buf[4096];
	int fd = pattern_file(4096), i;
	struct aiocb cb;

	for (i = 0; i < 2; i++) {
		off_t off = cases[i].off;

		int werr = cases[i].write_err, rerr = cases[i].read_err;

		ck_assert_int_eq(pwrite_error(fd, buf, sizeof buf, off), -werr);
		prep_aiocb(&cb, fd, buf, sizeof buf, off);
		ck_assert_int_eq(aio_write(&cb), 0);
		assert_final(&cb, werr, -1);

		ck_assert_int_eq(pread(fd, buf, sizeof buf, off), rerr ? -1 : 0);
		prep_aiocb(&cb, fd, buf, sizeof buf, off);
		ck_assert_int_eq(aio_read(&cb), 0);
		assert_final(&cb, rerr, rerr ? -1 : 0);
	}
	close(fd);
}
END_TEST

/* --- an fd closed under its requests --- */

/*
 * Three reads queued on a pipe, then both ends closed: the first read
 * sees the end of the pipe if it had started, or finds the fd gone; the two
 * that wait behind it find the fd gone.  None is lost, none hangs.
 */
START_TEST(fd_closed_while_requests_queued)
{
	char b[3];
	struct aiocb cb[3];
	int p[2], i;

	ck_assert_int_eq(pipe2(p, O_CLOEXEC), 0);
	for (i = 0; i < 3; i++) {
		prep_aiocb(&cb[i], p[0], &b[i], 1, 0);
		submit_read(&cb[i]);
	}
	ck_assert_int_eq(aio_error(&cb[0]), EINPROGRESS);
	ck_assert_int_eq(close(p[0]), 0);
	ck_assert_int_eq(close(p[1]), 0);
	wait_final(&cb[0], WAIT_MS);
	if (aio_error(&cb[0]) == 0)
		ck_assert_int_eq(aio_return(&cb[0]), 0);
	else
		assert_final(&cb[0], EBADF, -1);
	assert_final(&cb[1], EBADF, -1);
	assert_final(&cb[2], EBADF, -1);
}
END_TEST

/* --- lists --- */

/*
 * rtaio has no AIO_LISTIO_MAX, as glibc has none: a list of a million
 * entries is accepted (here all NULL but one, which runs).
 */
START_TEST(huge_list_is_accepted)
{
	enum { N = 1 << 20 };
	struct aiocb **list = calloc(N, sizeof *list), cb;
	int fd = pattern_file(4096);
	char buf[16];

	ck_assert_ptr_nonnull(list);
	prep_aiocb(&cb, fd, buf, sizeof buf, 100);
	cb.aio_lio_opcode = LIO_READ;
	list[N / 2] = &cb;
	ck_assert_int_eq(lio_listio(LIO_WAIT, list, N, NULL), 0);
	assert_final(&cb, 0, sizeof buf);
	ck_assert_int_eq(first_bad_byte(buf, 100, sizeof buf), -1);
	free(list);
	close(fd);
}
END_TEST

/* --- an aiocb used again while in progress --- */

static int notes[3];

static void count_note(union sigval v)
{
	__atomic_fetch_add(&notes[v.sival_int], 1, __ATOMIC_RELEASE);
}

/*
 * POSIX leaves this undefined; rtaio defines it: both requests run, each
 * with the sigevent it was submitted with, each notified once; the aiocb
 * shows the status of whichever finished last.
 */
START_TEST(aiocb_submitted_again_while_in_progress)
{
	char b;
	struct aiocb cb;
	int p[2], i;
	double end;

	ck_assert_int_eq(pipe2(p, O_CLOEXEC), 0);
	prep_aiocb(&cb, p[0], &b, 1, 0);
	cb.aio_sigevent.sigev_notify = SIGEV_THREAD;
	cb.aio_sigevent.sigev_notify_function = count_note;
	for (i = 1; i <= 2; i++) {
		cb.aio_sigevent.sigev_value.sival_int = i;
		submit_read(&cb);
	}
	ck_assert_int_eq(aio_error(&cb), EINPROGRESS);
	ck_assert_int_eq(write(p[1], "xy", 2), 2);
	end = now_sec() + WAIT_MS / 1000;
	while (__atomic_load_n(&notes[1], __ATOMIC_ACQUIRE) +
		       __atomic_load_n(&notes[2], __ATOMIC_ACQUIRE) < 2) {
		ck_assert_msg(now_sec() < end, "notifications missing");
		sched_yield();
	}
	ck_assert_int_eq(notes[1], 1);
	ck_assert_int_eq(notes[2], 1);
	ck_assert_int_eq(notes[0], 0);
	assert_final(&cb, 0, 1);
	ck_assert_int_eq(b, 'y');	/* reads of a pipe run in submission order */
	close(p[0]);
	close(p[1]);
}
END_TEST

/* A zeroed aiocb never submitted counts as finished: aio_suspend returns. */
START_TEST(suspend_on_unsubmitted_aiocb_returns)
{
	struct aiocb cb;
	const struct aiocb *list[1] = { &cb };
	struct timespec t = { 30, 0 };

	memset(&cb, 0, sizeof cb);
	ck_assert_int_eq(aio_suspend(list, 1, &t), 0);
	ck_assert_int_eq(aio_error(&cb), 0);
}
END_TEST

/* --- no threads to be had --- */

/*
 * With RLIMIT_NPROC at 0 no thread can be created: a request that needs
 * a worker (or the ring's thread) fails with EAGAIN at submission, and
 * nothing else happens.  Once the limit is lifted, requests work again.
 * Root is not bound by RLIMIT_NPROC: as root, the test first becomes
 * nobody (Check runs it in a child of its own).
 */
START_TEST(no_thread_then_recovery)
{
	struct rlimit none, lifted;
	char b = 0;
	struct aiocb cb;
	int p[2];

	ck_assert_int_eq(pipe2(p, O_CLOEXEC), 0);
	ck_assert_int_eq(getrlimit(RLIMIT_NPROC, &lifted), 0);
	none = lifted;
	none.rlim_cur = 0;
	if (geteuid() == 0)
		ck_assert_msg(setgid(65534) == 0 && setuid(65534) == 0, "setuid: %s",
			      strerror(errno));
	ck_assert_int_eq(setrlimit(RLIMIT_NPROC, &none), 0);
	prep_aiocb(&cb, p[0], &b, 1, 0);
	ck_assert_int_eq(aio_read(&cb), -1);
	ck_assert_int_eq(errno, EAGAIN);
	ck_assert_int_eq(aio_error(&cb), EAGAIN);
	ck_assert_int_eq(aio_return(&cb), -1);

	ck_assert_int_eq(setrlimit(RLIMIT_NPROC, &lifted), 0);
	submit_read(&cb);
	ck_assert_int_eq(write(p[1], "z", 1), 1);
	assert_final(&cb, 0, 1);
	ck_assert_int_eq(b, 'z');
	close(p[0]);
	close(p[1]);
}
END_TEST

/* --- exec and fork --- */

/* The descriptors that a program exec'd now would find open, as "0 1 2 ...". */
static void fds_across_exec(char *out, size_t size)
{
	int p[2], status;
	size_t n = 0;
	ssize_t r;
	pid_t pid;

	ck_assert_int_eq(pipe2(p, O_CLOEXEC), 0);
	pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		dup2(p[1], 1);
		execl("/bin/sh", "sh", "-c", "cd /proc/self/fd && echo *", (char *)NULL);
		_exit(127);
	}
	close(p[1]);
	while (n < size - 1 && (r = read(p[0], out + n, size - 1 - n)) > 0)
		n += (size_t)r;
	out[n] = 0;
	close(p[0]);
	ck_assert_int_eq(waitpid(pid, &status, 0), pid);
	ck_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0);
}

/*
 * A program exec'd after rtaio has set up its workers, its ring and its
 * eventfd finds exactly the descriptors it found before rtaio's first use.
 */
START_TEST(exec_inherits_no_rtaio_descriptor)
{
	char before[512], after[512], b;
	struct aiocb cb;
	int p[2];

	ck_assert_int_eq(pipe2(p, O_CLOEXEC), 0);
	fds_across_exec(before, sizeof before);
	prep_aiocb(&cb, p[0], &b, 1, 0);
	submit_read(&cb);	/* a worker or the ring, and its doorbell */
	ck_assert_int_eq(write(p[1], "e", 1), 1);
	assert_final(&cb, 0, 1);
	fds_across_exec(after, sizeof after);
	ck_assert_str_eq(after, before);
	close(p[0]);
	close(p[1]);
}
END_TEST

static int child_status = -1;

/* A SIGEV_THREAD function that forks: the child reads a file through rtaio. */
static void fork_in_note(union sigval v)
{
	int fd = v.sival_int, status;
	pid_t pid = fork();

	if (pid == 0) {
		char buf[64];
		struct aiocb cb;
		const struct aiocb *list[1] = { &cb };
		struct timespec t = { 30, 0 };

		prep_aiocb(&cb, fd, buf, sizeof buf, 512);
		if (aio_read(&cb) < 0)
			_exit(2);
		while (aio_error(&cb) == EINPROGRESS)
			if (aio_suspend(list, 1, &t) < 0 && errno != EINTR)
				_exit(3);
		_exit(aio_return(&cb) == sizeof buf && first_bad_byte(buf, 512, sizeof buf) < 0 ? 0
											     : 4);
	}
	if (pid < 0 || waitpid(pid, &status, 0) != pid)
		status = -2;
	__atomic_store_n(&child_status, status, __ATOMIC_RELEASE);
}

START_TEST(fork_from_sigev_thread_function)
{
	int fd = pattern_file(4096), status;
	char b;
	struct aiocb cb;
	double end = now_sec() + WAIT_MS / 1000;

	prep_aiocb(&cb, fd, &b, 1, 0);
	cb.aio_sigevent.sigev_notify = SIGEV_THREAD;
	cb.aio_sigevent.sigev_notify_function = fork_in_note;
	cb.aio_sigevent.sigev_value.sival_int = fd;
	submit_read(&cb);
	while ((status = __atomic_load_n(&child_status, __ATOMIC_ACQUIRE)) == -1) {
		ck_assert_msg(now_sec() < end, "the notification's child never ended");
		sched_yield();
	}
	ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 0, "child status %#x", status);
	assert_final(&cb, 0, 1);
	close(fd);
}
END_TEST

static Suite *faults_suite(void)
{
	Suite *s = suite_create("faults");
	TCase *tc = tcase_create("faults");

	tcase_set_timeout(tc, 60);
	if (geteuid() == 0)
		tcase_add_test(tc, full_disk_write_is_enospc);
	else
		printf("Not root: the full-disk case (it mounts a tmpfs) is left out\n");
	tcase_add_test(tc, offset_past_max_file_size);
	tcase_add_test(tc, fd_closed_while_requests_queued);
	tcase_add_test(tc, huge_list_is_accepted);
	tcase_add_test(tc, aiocb_submitted_again_while_in_progress);
	tcase_add_test(tc, suspend_on_unsubmitted_aiocb_returns);
	tcase_add_test(tc, no_thread_then_recovery);
	tcase_add_test(tc, exec_inherits_no_rtaio_descriptor);
	tcase_add_test(tc, fork_from_sigev_thread_function);
	suite_add_tcase(s, tc);
	return s;
}

TEST_MAIN(faults_suite)
