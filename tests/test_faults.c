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
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/utsname.h>
#include <linux/userfaultfd.h>
#include <sys/wait.h>

#include "aioutil.h"
#include "pretend_kernel.h"

#define WAIT_MS 30000
#define VICTIM "vvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvv"

#ifdef ASAN_BUILD
/*
 * LeakSanitizer's check at exit() (its documented switch), off in children
 * that end with exit(): one forked from a thread has lost the stacks that
 * referred to the test runner's memory, and the check stops every thread,
 * which one stuck in the kernel never does.
 */
static int leak_check_off;
int __lsan_is_turned_off(void);
int __lsan_is_turned_off(void)
{
	return leak_check_off;
}
#define NO_LEAK_CHECK_AT_EXIT() (leak_check_off = 1)
#else
#define NO_LEAK_CHECK_AT_EXIT() ((void)0)
#endif

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
 * and pread say.  With a 32-bit off_t neither offset exists: there the
 * largest one, which the kernel takes as a 64-bit loff_t (no overflow),
 * must give what pwrite and pread give there (EFBIG natively, the file
 * being open without O_LARGEFILE; a write under qemu-user, whose 64-bit
 * host kernel forces O_LARGEFILE).
 */
START_TEST(offset_past_max_file_size)
{
	const bool wide = sizeof(off_t) == 8;
	const struct {
		off_t off;
		int write_err, read_err;
	} cases[] = { { (off_t)1 << (wide ? 50 : 0), EFBIG, 0 }, { OFF_T_MAX - 100, EINVAL, EINVAL } };
	static char buf[4096];
	int fd = pattern_file(4096), i;
	struct aiocb cb;

	for (i = wide ? 0 : 1; i < 2; i++) {
		off_t off = cases[i].off;
		int werr = cases[i].write_err, rerr = cases[i].read_err;
		ssize_t wret, rret;

		if (!wide) {
			werr = -pwrite_error(fd, buf, sizeof buf, off);
			rerr = pread(fd, buf, sizeof buf, off) < 0 ? errno : 0;
		}
		ck_assert_int_eq(pwrite_error(fd, buf, sizeof buf, off), -werr);
		wret = werr ? -1 : (ssize_t)sizeof buf;
		prep_aiocb(&cb, fd, buf, sizeof buf, off);
		ck_assert_int_eq(aio_write(&cb), 0);
		assert_final(&cb, werr, wret);

		rret = pread(fd, buf, sizeof buf, off);
		ck_assert_int_eq(rret, rerr ? -1 : wide ? 0 : rret);
		prep_aiocb(&cb, fd, buf, sizeof buf, off);
		ck_assert_int_eq(aio_read(&cb), 0);
		assert_final(&cb, rerr, rerr ? -1 : rret);
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
static int fork_mode;	/* _i of fork_from_sigev_thread_function */
static unsigned later_notes;

/* In the child: one aio_read of fd at 512, checked; 0 or the step that failed. */
static int child_file_read(int fd)
{
	char buf[64];
	struct aiocb cb;
	const struct aiocb *list[1] = { &cb };
	struct timespec t = { 30, 0 };

	prep_aiocb(&cb, fd, buf, sizeof buf, 512);
	if (aio_read(&cb) < 0)
		return 2;
	while (aio_error(&cb) == EINPROGRESS)
		if (aio_suspend(list, 1, &t) < 0 && errno != EINTR)
			return 3;
	return aio_return(&cb) == sizeof buf && first_bad_byte(buf, 512, sizeof buf) < 0 ? 0 : 4;
}

/* A thread of the child: two pipe reads, then the child's exit status. */
static void *child_pipe_reads(void *arg)
{
	struct aiocb cb[2];
	char got[2];
	int p[2], i, fd = (int)(long)arg;

	(void)fd;
	if (pipe2(p, O_CLOEXEC))
		_exit(5);
	for (i = 0; i < 2; i++) {
		prep_aiocb(&cb[i], p[0], &got[i], 1, 0);
		if (aio_read(&cb[i]))
			_exit(6);
	}
	if (write(p[1], "xy", 2) != 2)
		_exit(7);
	for (i = 0; i < 2; i++) {
		const struct aiocb *list[1] = { &cb[i] };
		struct timespec t = { 30, 0 };

		while (aio_error(&cb[i]) == EINPROGRESS)
			if (aio_suspend(list, 1, &t) < 0 && errno != EINTR)
				_exit(8);
		if (aio_return(&cb[i]) != 1)
			_exit(9);
	}
	_exit(got[0] == 'x' && got[1] == 'y' ? child_file_read(fd) : 10);
}

/*
 * A SIGEV_THREAD function that forks.  The child: _i 0 reads a file
 * through rtaio and leaves with _exit; _i 1 starts a thread that reads a
 * pipe twice and a file through rtaio and ends the child, and returns from
 * the function meanwhile; _i 2 returns from the function at once, which
 * ends the child (status 0), as the end of the only thread would.
 */
static void fork_in_note(union sigval v)
{
	int fd = v.sival_int, status;
	pthread_t t;
	pid_t pid = fork();

	if (pid == 0) {
		if (fork_mode == 0)
			_exit(child_file_read(fd));
		if (fork_mode == 1 &&
		    pthread_create(&t, NULL, child_pipe_reads, (void *)(long)fd))
			_exit(11);
		NO_LEAK_CHECK_AT_EXIT();
		return;
	}
	if (pid < 0 || waitpid(pid, &status, 0) != pid)
		status = -2;
	__atomic_store_n(&child_status, status, __ATOMIC_RELEASE);
}

static void count_later_note(union sigval v)
{
	(void)v;
	__atomic_fetch_add(&later_notes, 1, __ATOMIC_RELEASE);
}

/*
 * fork in a SIGEV_THREAD function: the child works, whether it returns
 * from the function or not, starts threads or not; and the parent goes on
 * (a later notification runs).  (Before, a child that returned from the
 * function freed the notification's record a second time: under io_uring
 * it died of SIGSEGV, under the thread pool its first read never ended.)
 */
START_TEST(fork_from_sigev_thread_function)
{
	int fd = pattern_file(4096), status, i;
	char b;
	struct aiocb cb;
	double end = now_sec() + WAIT_MS / 1000;

#ifdef ASAN_BUILD
	/*
	 * Not under ASan: the child allocates and starts a thread, and GCC 12's
	 * libasan leaves its locks as a parent thread held them at the fork
	 * (see start_all_workers()).  Here the fork comes from the
	 * notification thread while the engine's threads start, and CI saw
	 * the child hang at its first allocation.  The plain and TSan builds
	 * run it.
	 */
	printf("ASan build: fork_from_sigev_thread_function runs in the plain and TSan builds\n");
	return;
#endif
	fork_mode = _i;
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
	for (i = 0; i < 8; i++) {
		prep_aiocb(&cb, fd, &b, 1, i);
		cb.aio_sigevent.sigev_notify = SIGEV_THREAD;
		cb.aio_sigevent.sigev_notify_function = count_later_note;
		submit_read(&cb);
		assert_final(&cb, 0, 1);
	}
	while (__atomic_load_n(&later_notes, __ATOMIC_ACQUIRE) < 8)
		ck_assert_msg(now_sec() < end, "%u of 8 later notifications ran",
			      __atomic_load_n(&later_notes, __ATOMIC_ACQUIRE));
	close(fd);
}
END_TEST

/* --- a program that closes descriptors it did not open --- */

/*
 * fn(arg) in a child, which leaves with its result: the child must end
 * within ms, with status 0 (else the result names the step that failed).
 */
static void expect_child_ok(int (*fn)(int), int arg, long ms)
{
	pid_t pid;
	int status;

	settle_rtaio_threads(WAIT_MS);
	pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0)
		_exit(fn(arg));
	status = reap_child(pid, ms);
	ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 0,
		      "the child failed at step %d (status %#x)", WEXITSTATUS(status), status);
}

/* Wait for cb in a child, with no Check call: true if it ended with len bytes. */
static bool child_done(struct aiocb *cb, ssize_t len)
{
	const struct aiocb *l[1] = { cb };
	double end = now_sec() + 10;

	while (aio_error(cb) == EINPROGRESS && now_sec() < end) {
		struct timespec t = ms_ts(100);

		aio_suspend(l, 1, &t);
	}
	return aio_error(cb) == 0 && aio_return(cb) == len;
}

/* lio_listio(LIO_WAIT) of 4 cached reads of fd: true if each is whole (in a child). */
static bool child_list_reads(int fd)
{
	static char buf[4][512];
	struct aiocb cbs[4], *l[4];
	int i;

	for (i = 0; i < 4; i++) {
		memset(&cbs[i], 0, sizeof cbs[i]);
		cbs[i].aio_fildes = fd;
		cbs[i].aio_buf = buf[i];
		cbs[i].aio_nbytes = sizeof buf[i];
		cbs[i].aio_offset = i * 512;
		cbs[i].aio_lio_opcode = LIO_READ;
		l[i] = &cbs[i];
	}
	if (lio_listio(LIO_WAIT, l, 4, NULL))
		return false;
	for (i = 0; i < 4; i++)
		if (aio_return(&cbs[i]) != 512)
			return false;
	return true;
}

/* Does the kernel let rtaio hold no descriptor (registered rings, 5.18; futex waits in the ring, 6.7)? */
static bool kernel_needs_no_rtaio_fd(void)
{
	struct utsname u;
	int major = 0, minor = 0;

	return uname(&u) == 0 && sscanf(u.release, "%d.%d", &major, &minor) == 2 &&
	       (major > 6 || (major == 6 && minor >= 7));
}

/* rtaio's descriptors in this process (io_uring and eventfd instances), at most max in fds. */
static int rtaio_fds(int *fds, int max)
{
	char path[64], link[64];
	int fd, n = 0;

	for (fd = 0; fd < 1024; fd++) {
		ssize_t len;

		snprintf(path, sizeof path, "/proc/self/fd/%d", fd);
		len = readlink(path, link, sizeof link - 1);
		if (len < 0)
			continue;
		link[len] = 0;
		if (strstr(link, "io_uring") || strstr(link, "eventfd")) {
			if (n < max)
				fds[n] = fd;
			n++;
		}
	}
	return n;
}

/* Does the line of rtaio_stats()'s report that starts with `line` ("\nname: ") contain `has`? */
static bool report_says(const char *line, const char *has)
{
	char report[4096], *at, *end;

	if (!read_report(report, sizeof report))
		return false;
	at = strstr(report, line);
	if (!at)
		return false;
	end = strchr(at + 1, '\n');
	if (end)
		*end = '\0';
	return strstr(at, has) != NULL;
}

/*
 * Wait (10 s at most) for rtaio's ring thread to sleep in io_uring_enter,
 * the calls that were put in the ring taken by the kernel.  No Check call:
 * for a child.
 */
static bool ring_thread_sleeps_in_ring(void)
{
	double end = now_sec() + 10;

	while (task_in_syscall("rtaio-ring", SYS_io_uring_enter, -1) != 1) {
		if (now_sec() > end)
			return false;
		usleep(1000);
	}
	return true;
}

/* Is fd still the victim file: open, 64 bytes of 'v', at offset 0? */
static bool victim_untouched(int fd)
{
	char buf[65];
	struct stat st;

	return fstat(fd, &st) == 0 && st.st_size == 64 && lseek(fd, 0, SEEK_CUR) == 0 &&
	       pread(fd, buf, sizeof buf, 0) == 64 && !memcmp(buf, VICTIM, 64);
}

/*
 * The child of closing_every_fd_loses_no_completion: 0, or the step that
 * failed.  Three pipe reads in flight and lists read through the ring,
 * then it closes every descriptor but its own, puts a file of its own (the
 * victim) on each number rtaio had, and opens /dev/null over the lowest:
 * the reads complete, new requests work (one while a read still waits in
 * the ring), in a child forked after that too, and every descriptor of its
 * own is still open, the victim neither read nor written.
 */
static int close_everything_child(int kernel)
{
	int p1[2], p2[2], fd, keep[5], nulls[8], had[16], nhad, victim, i, k;
	long lowest_aside;
	struct aiocb r1, r2, r3, cb;
	char c1, c2, c3, page[512];
	struct rlimit lim;
	pid_t pid;

	pretend_kernel = (enum pretend)kernel;
	fd = temp_file();
	memset(page, 'f', sizeof page);
	for (i = 0; i < 8; i++)
		if (fd < 0 || pwrite(fd, page, sizeof page, i * 512) != 512)
			return 1;
	if (pipe2(p1, O_CLOEXEC) || pipe2(p2, O_CLOEXEC) || !child_list_reads(fd))
		return 2;
	memset(&r1, 0, sizeof r1);
	r1.aio_fildes = p1[0];
	r1.aio_buf = &c1;
	r1.aio_nbytes = 1;
	r2 = r1;
	r2.aio_fildes = p2[0];
	r2.aio_buf = &c2;
	r3 = r2;
	r3.aio_buf = &c3;
	if (aio_read(&r1) || aio_read(&r2) || aio_read(&r3))
		return 3;
	/* the reads in the kernel when the numbers go (an old kernel's thread then polls) */
	if (backend_is_uring() && !ring_thread_sleeps_in_ring())
		return 18;
	nhad = rtaio_fds(had, 16);
	if (kernel) {
		/* rtaio keeps descriptors, put aside: high, out of the program's way */
		lowest_aside = getrlimit(RLIMIT_NOFILE, &lim) == 0 && lim.rlim_cur < 1024 ?
				       (long)lim.rlim_cur / 2 : 512;
		/* the eventfd alone, while rings can be registered */
		if (kernel == PRETEND_5_15 ? nhad < 2 || nhad > 16 : nhad != 1)
			return 12;
		for (i = 0; i < nhad; i++)
			if (had[i] < lowest_aside)
				return 13;
	}
	/*
	 * Through syscall(): this program's close of rtaio's numbers, which
	 * nothing orders with rtaio's threads, is what the test is about, not
	 * a race for ThreadSanitizer (which sees close() and dup2()) to report.
	 */
	keep[0] = p1[0], keep[1] = p1[1], keep[2] = p2[0], keep[3] = p2[1], keep[4] = fd;
	for (i = 3; i < 1024; i++) {
		for (k = 0; k < 5 && keep[k] != i; k++)
			;
		if (k == 5)
			syscall(SYS_close, i);
	}
	victim = temp_file();
	if (victim < 0 || pwrite(victim, VICTIM, 64, 0) != 64)
		return 14;
	for (i = 0; i < nhad; i++)
		if (syscall(SYS_dup3, victim, had[i], 0) != had[i])
			return 14;
	for (i = 0; i < 8; i++)
		if ((nulls[i] = open("/dev/null", O_RDONLY | O_CLOEXEC)) < 0)
			return 4;
	if (write(p1[1], "1", 1) != 1 || write(p2[1], "2", 1) != 1)
		return 5;
	if (!child_done(&r1, 1) || c1 != '1')
		return 6;
	/* r2 and r3 read the same pipe: either may get the byte */
	if (aio_error(&r2) == EINPROGRESS && aio_error(&r3) == EINPROGRESS) {
		const struct aiocb *both[2] = { &r2, &r3 };
		struct timespec t = ms_ts(10000);

		aio_suspend(both, 2, &t);
	}
	if (aio_error(&r2) == EINPROGRESS) {
		struct aiocb tmp = r2;

		r2 = r3, r3 = tmp;
		c2 = c3;
	}
	if (aio_error(&r2) != 0 || aio_return(&r2) != 1 || c2 != '2' ||
	    aio_error(&r3) != EINPROGRESS)
		return 6;
	/*
	 * A request while the ring thread sleeps in the ring, for the pipe
	 * read: where it kept a doorbell, this finds it gone (step 17).  (As
	 * on 5.15 the ring's own fd went too: the thread, having found that
	 * out, reaps the ring without it.)
	 */
	if (backend_is_uring() && kernel != PRETEND_5_15 && !ring_thread_sleeps_in_ring())
		return 19;
	cb = r1;
	if (write(p1[1], "3", 1) != 1 || aio_read(&cb) || !child_done(&cb, 1) || c1 != '3')
		return 7;
	memset(&cb, 0, sizeof cb);
	cb.aio_fildes = fd;
	if (!child_list_reads(fd) || aio_fsync(O_SYNC, &cb) || !child_done(&cb, 0))
		return 8;
	if (!skip_under_qemu(QEMU_FORK_WITH_THREADS)) {
		pid = fork();
		if (pid == 0) {
			cb = r1;
			_exit(write(p1[1], "4", 1) != 1 || aio_read(&cb) || !child_done(&cb, 1) ||
			      !child_list_reads(fd) || fcntl(nulls[0], F_GETFD) < 0 ||
			      !victim_untouched(victim) || (nhad && !victim_untouched(had[0])));
		}
		if (pid < 0 || wait_child(pid, 20000) != 0)
			return 9;
	}
	if (write(p2[1], "5", 1) != 1 || !child_done(&r3, 1))
		return 15;
	for (i = 0; i < 8; i++)
		if (fcntl(nulls[i], F_GETFD) < 0)
			return 10;
	for (i = 0; i < nhad; i++)
		if (!victim_untouched(had[i]))
			return 16;
	if (kernel == 0 && kernel_needs_no_rtaio_fd() && rtaio_fds(had, 0))
		return 11;
	/* the ring took no call once its doorbell or its fd was gone */
	if (kernel && !report_says("\nbackend: ", "the program closed the ring's descriptors"))
		return 17;
	return 0;
}

/*
 * A daemon closes every descriptor it did not open (closefrom() before
 * exec, loops over 3..N), rtaio's among them, and its own new files may
 * get their numbers: no completion is lost, no request hangs, and rtaio
 * never reads, writes or closes a number it no longer owns.  On Linux 6.7
 * and later rtaio holds no descriptor at all once its ring runs (_i 0);
 * _i 1 to 3 have rtaio see an older kernel, where it has to keep some: 6.6
 * and 6.2 its eventfd doorbell, 5.15 its rings' fds too (pretend_kernel.h).  (Before: the ring thread left on EBADF, and the
 * second pipe read stayed in progress for ever; on an older kernel, a
 * request wrote the doorbell's 8 bytes into the victim file and hung.)
 */
START_TEST(closing_every_fd_loses_no_completion)
{
	if (_i && skip_under_qemu("no io_uring: no descriptor of rtaio's to close"))
		return;
	if (_i && !backend_is_uring()) {
		fprintf(stderr, "no ring (RTAIO_BACKEND=threads, or io_uring refused here): "
				"no descriptor of rtaio's to close\n");
		return;
	}
	expect_child_ok(close_everything_child, _i, WAIT_MS);
}
END_TEST

/* --- exit with a call stuck in the kernel --- */

/*
 * A page whose first touch blocks until a userfaultfd handler serves it,
 * which never comes; *uffd gets the descriptor.  NULL where the process may
 * not handle kernel faults (not root, vm.unprivileged_userfaultfd 0).
 */
static void *unserved_page(int *uffd)
{
	struct uffdio_api api = { .api = UFFD_API };
	struct uffdio_register reg;
	long page = sysconf(_SC_PAGESIZE);
	void *p;

	*uffd = (int)syscall(SYS_userfaultfd, O_CLOEXEC | O_NONBLOCK);
	if (*uffd < 0 || ioctl(*uffd, UFFDIO_API, &api) < 0)
		return NULL;
	p = mmap(NULL, (size_t)page, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED)
		return NULL;
	reg.range.start = (unsigned long)p;
	reg.range.len = (unsigned long)page;
	reg.mode = UFFDIO_REGISTER_MODE_MISSING;
	return ioctl(*uffd, UFFDIO_REGISTER, &reg) < 0 ? NULL : p;
}

/*
 * The child of exit_does_not_wait_for_a_stuck_call: a call that will never
 * end is in flight, then exit(0).  _i 0: a read of an empty pipe submitted
 * through asys with ASYS_BOUNDED (a caller's broken promise, the same to
 * the engine as a write to a frozen filesystem); _i 1: an aio_write whose
 * buffer faults into a userfaultfd that never answers (needs root).  2:
 * the stuck call could not be set up.
 */
static int exit_with_stuck_call(int kind)
{
	static struct asys_call c;
	struct asys_call *l[1] = { &c };
	struct pollfd pfd;
	struct aiocb cb;
	static char byte;
	int p[2], fd, uffd;
	void *page;

	if (kind == 0) {
		if (pipe2(p, O_CLOEXEC))
			return 2;
		asys_prep(&c, SYS_read, p[0], (long)&byte, 1, 0, 0, 0);
		c.flags |= ASYS_BOUNDED;
		if (asys_submit(l, 1))
			return 2;
		while (asys_state(&c) != ASYS_RUNNING)
			sched_yield();
	} else {
		page = unserved_page(&uffd);
		fd = temp_file();
		if (!page || fd < 0)
			return 2;
		memset(&cb, 0, sizeof cb);
		cb.aio_fildes = fd;
		cb.aio_buf = page;
		cb.aio_nbytes = 4096;
		if (aio_write(&cb))
			return 2;
		/* the fault is reported: the write is stuck in the kernel */
		pfd.fd = uffd;
		pfd.events = POLLIN;
		if (poll(&pfd, 1, 10000) != 1)
			return 2;
	}
	NO_LEAK_CHECK_AT_EXIT();
	exit(0);
}

/*
 * exit() does not wait for a call that may never end: the process ends at
 * once, status 0.  (Before: rtaio's destructor waited for the worker or the
 * ring thread, and the process never ended.)
 */
START_TEST(exit_does_not_wait_for_a_stuck_call)
{
	expect_child_ok(exit_with_stuck_call, _i, 10000);
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
	tcase_add_loop_test(tc, fork_from_sigev_thread_function, 0, 3);
	tcase_add_loop_test(tc, closing_every_fd_loses_no_completion, 0, 4);
	tcase_add_test(tc, exit_does_not_wait_for_a_stuck_call);
	if (geteuid() == 0 && !skip_under_qemu("userfaultfd (ENOSYS), exit with a write stuck on "
					       "a userfaultfd page"))
		tcase_add_loop_test(tc, exit_does_not_wait_for_a_stuck_call, 1, 2);
	else if (geteuid() != 0)
		printf("Not root: exit with a write stuck on a userfaultfd page is left out\n");
	suite_add_tcase(s, tc);
	return s;
}

TEST_MAIN(faults_suite)
