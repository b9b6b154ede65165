/*
 * Which backend runs the calls: io_uring where the kernel allows it, the
 * thread pool when io_uring_setup(2) is refused (a seccomp filter here, as
 * container runtimes install), RTAIO_BACKEND=uring|threads to choose.  And
 * lio_listio's EAGAIN: with io_uring forced and refused, requests cannot be
 * queued, and each element says so.  The statistics report's backend line
 * (rtaio_stats) tells which backend runs and why.
 */
#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/io_uring.h>
#include <linux/seccomp.h>
#include <rtaio.h>
#include <stddef.h>
#include <sys/prctl.h>

#include "aioutil.h"

/* The architecture the seccomp filter sees this program's system calls as. */
#if defined __x86_64__ && !defined __ILP32__
#define FILTER_ARCH AUDIT_ARCH_X86_64
#elif defined __i386__
#define FILTER_ARCH AUDIT_ARCH_I386
#elif defined __aarch64__ && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
#define FILTER_ARCH AUDIT_ARCH_AARCH64
#elif defined __arm__ && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
#define FILTER_ARCH AUDIT_ARCH_ARM
#endif

/*
 * From here on, io_uring_setup(2) fails with EPERM in this process: the
 * refusal as rtaio_stats() reports it.  Under qemu-user, whose prctl has no
 * PR_SET_SECCOMP (EINVAL), no filter is installed: the emulator's own
 * refusal (it has no io_uring: ENOSYS) stands in for it.  NULL (the test
 * then returns, having said why) on an architecture whose seccomp audit
 * number this test does not know.
 */
static const char *refuse_io_uring(void)
{
#ifdef FILTER_ARCH
	struct sock_filter filter[] = {
		BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, arch)),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, FILTER_ARCH, 1, 0),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
		BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, SYS_io_uring_setup, 0, 1),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | EPERM),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
	};
	struct sock_fprog prog = { sizeof filter / sizeof filter[0], filter };

	if (skip_under_qemu("io_uring refused by a seccomp filter (PR_SET_SECCOMP fails with "
			    "EINVAL; refused with the emulator's ENOSYS instead)")) {
		ck_assert(!uring_available());
		ck_assert_int_eq(errno, ENOSYS);
		return "ENOSYS (a kernel without io_uring, or older than 5.6)";
	}
	ck_assert_int_eq(prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0), 0);
	ck_assert_int_eq(prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &prog), 0);
	ck_assert(!uring_available());
	return "EPERM (seccomp, or sysctl kernel.io_uring_disabled?)";
#else
	fprintf(stderr, "no seccomp audit number known for this architecture: not checked\n");
	return NULL;
#endif
}

/*
 * io_uring rings of this process: the mappings of their SQ rings (rtaio
 * keeps no descriptor of a ring where the kernel lets it register the ring
 * instead, so descriptors would not tell).
 */
static int rings_open(void)
{
	FILE *f = fopen("/proc/self/maps", "r");
	char line[512];
	int n = 0;

	ck_assert_ptr_nonnull(f);
	while (fgets(line, sizeof line, f)) {
		unsigned long off;

		if (strstr(line, "[io_uring]") && sscanf(line, "%*s %*s %lx", &off) == 1 &&
		    off == IORING_OFF_SQ_RING)
			n++;
	}
	fclose(f);
	return n;
}

/* The descriptors the test runner left open, before rtaio's first request. */
static bool inherited[1024];

static void note_inherited(void)
{
	int fd;

	for (fd = 0; fd < 1024; fd++)
		inherited[fd] = fcntl(fd, F_GETFD) >= 0;
}

/* Is every descriptor opened since note_inherited() close-on-exec? */
static void assert_new_fds_cloexec(void)
{
	int fd;

	for (fd = 0; fd < 1024; fd++) {
		int flags = fcntl(fd, F_GETFD);

		if (flags >= 0 && !inherited[fd])
			ck_assert_msg(flags & FD_CLOEXEC, "fd %d is not close-on-exec", fd);
	}
}

/* Does the "backend: " line of rtaio_stats()'s report read `want`? */
static void assert_backend_line(const char *want)
{
	char report[2048], *line, *end;

	ck_assert(read_report(report, sizeof report));
	line = strstr(report, "\nbackend: ");
	ck_assert_msg(line, "no backend line in:\n%s", report);
	line++;
	end = strchr(line, '\n');
	if (end)
		*end = '\0';
	ck_assert_str_eq(line, want);
}

/* One pipe read through aio_read, completed by a write. */
static void pipe_read_roundtrip(void)
{
	struct aiocb cb;
	char byte = 0;
	int p[2];

	ck_assert_int_eq(pipe2(p, O_CLOEXEC), 0);
	memset(&cb, 0, sizeof cb);
	cb.aio_fildes = p[0];
	cb.aio_buf = &byte;
	cb.aio_nbytes = 1;
	cb.aio_sigevent.sigev_notify = SIGEV_NONE;
	submit_read(&cb);
	ck_assert_int_eq(write(p[1], "r", 1), 1);
	wait_final(&cb, 10000);
	ck_assert_int_eq(aio_return(&cb), 1);
	ck_assert_int_eq(byte, 'r');
	close(p[0]);
	close(p[1]);
}

START_TEST(auto_uses_uring_where_available)
{
	if (!require_uring())
		return;
	use_backend("auto");
	note_inherited();
	pipe_read_roundtrip();
	ck_assert_int_eq(count_threads("rtaio-ring", 0), 1);
	ck_assert_int_eq(count_threads("rtaio-worker", 0), 0);
	ck_assert_int_eq(rings_open(), 1);
	assert_new_fds_cloexec();
	assert_backend_line("backend: io_uring (RTAIO_BACKEND=auto; operations io_uring lacks go"
			    " to worker threads)");
}
END_TEST

START_TEST(auto_falls_back_when_uring_is_refused)
{
	struct asys_call c, *l[1] = { &c };
	const char *refusal;
	char want[256], dents[64];

	if (!(refusal = refuse_io_uring()))
		return;
	use_backend("auto");
	note_inherited();
	pipe_read_roundtrip();
	/* a buffer: qemu-user allocates count bytes before the call, ENOMEM for 0 */
	asys_prep(&c, SYS_getdents64, -1, (long)dents, sizeof dents, 0, 0, 0);
	ck_assert_int_eq(asys_submit(l, 1), 0);
	wait_done(&c);
	ck_assert_int_eq(c.result, -EBADF);
	ck_assert_int_eq(count_threads("rtaio-ring", 0), 0);
	ck_assert_int_gt(count_threads("rtaio-worker", 0), 0);
	ck_assert_int_eq(rings_open(), 0);
	assert_new_fds_cloexec();
	snprintf(want, sizeof want, "backend: threads (RTAIO_BACKEND=auto: io_uring refused: %s)",
		 refusal);
	assert_backend_line(want);
}
END_TEST

START_TEST(threads_backend_sets_up_no_ring)
{
	use_backend("threads");
	pipe_read_roundtrip();
	ck_assert_int_eq(count_threads("rtaio-ring", 0), 0);
	ck_assert_int_eq(rings_open(), 0);
	assert_backend_line("backend: threads (RTAIO_BACKEND=threads)");
}
END_TEST

/*
 * RTAIO_BACKEND=uring with io_uring refused means one thing: every request
 * fails with EAGAIN at submission, a pipe read, a read the page cache could
 * serve, a buffered write, and a call that io_uring lacks alike (before,
 * cached reads and buffered writes succeeded, and a read of the same file
 * failed once its data was evicted).
 */
START_TEST(uring_only_fails_with_eagain_when_refused)
{
	struct asys_call c, *l[1] = { &c };
	int fd = pattern_file(8192), p[2];
	const char *refusal;
	char buf[512], want[256];
	struct aiocb cb;

	ck_assert_int_eq(pread(fd, buf, sizeof buf, 0), (ssize_t)sizeof buf);	/* cached */
	if (!(refusal = refuse_io_uring()))
		return;
	use_backend("uring");
	asys_prep(&c, SYS_close, -1, 0, 0, 0, 0, 0);	/* io_uring has it */
	errno = 0;
	ck_assert_int_eq(asys_submit(l, 1), -1);
	ck_assert_int_eq(errno, EAGAIN);
	ck_assert_uint_eq(asys_state(&c), ASYS_IDLE);	/* as it was */
	asys_prep(&c, SYS_getdents64, -1, 0, 0, 0, 0, 0);	/* io_uring lacks it */
	errno = 0;
	ck_assert_int_eq(asys_submit(l, 1), -1);
	ck_assert_int_eq(errno, EAGAIN);
	ck_assert_int_eq(pipe2(p, O_CLOEXEC), 0);
	prep_aiocb(&cb, p[0], buf, 1, 0);
	errno = 0;
	ck_assert_int_eq(aio_read(&cb), -1);
	ck_assert_int_eq(errno, EAGAIN);
	assert_status(&cb, EAGAIN, -1);
	prep_aiocb(&cb, fd, buf, sizeof buf, 0);
	errno = 0;
	ck_assert_int_eq(aio_read(&cb), -1);
	ck_assert_int_eq(errno, EAGAIN);
	assert_status(&cb, EAGAIN, -1);
	errno = 0;
	ck_assert_int_eq(aio_write(&cb), -1);
	ck_assert_int_eq(errno, EAGAIN);
	assert_status(&cb, EAGAIN, -1);
	ck_assert_int_eq(count_threads("rtaio-", 0), 0);
	snprintf(want, sizeof want, "backend: none (RTAIO_BACKEND=uring: io_uring refused: %s;"
		 " every request failed with EAGAIN)", refusal);
	assert_backend_line(want);
	close(p[0]);
	close(p[1]);
	close(fd);
}
END_TEST

/* A process whose calls io_uring cannot run sets up no ring. */
START_TEST(no_ring_without_a_call_for_it)
{
	struct asys_call c, *l[1] = { &c };

	if (!require_uring())
		return;
	use_backend("auto");
	asys_prep(&c, SYS_getdents64, -1, 0, 0, 0, 0, 0);
	ck_assert_int_eq(asys_submit(l, 1), 0);
	wait_done(&c);
	ck_assert_int_eq(rings_open(), 0);
	ck_assert_int_eq(count_threads("rtaio-ring", 0), 0);
}
END_TEST

static unsigned list_notes;

static void on_list(union sigval v)
{
	(void)v;
	__atomic_fetch_add(&list_notes, 1, __ATOMIC_RELEASE);
}

/*
 * Elements that cannot be queued fail with EAGAIN, each in its own aiocb;
 * lio_listio says EAGAIN, and the list's notification still comes, once.
 * With RTAIO_BACKEND=uring and io_uring refused, every element is refused,
 * the read of a cached file too, whether reads at submission are on
 * (_i == 0) or off.
 */
START_TEST(listio_eagain_accounts_every_element)
{
	int fd = pattern_file(8192), p[2], mode;
	char b0[100], b1, b2;
	struct aiocb cb[3];
	struct aiocb *list[3] = { &cb[0], &cb[1], &cb[2] };
	struct sigevent sev;

	if (!refuse_io_uring())
		return;
	use_backend("uring");
	if (_i)
		no_inline_reads();
	ck_assert_int_eq(pipe2(p, O_CLOEXEC), 0);
	for (mode = LIO_WAIT; mode <= LIO_NOWAIT; mode++) {
		double end = now_sec() + 10;

		memset(cb, 0, sizeof cb);
		cb[0].aio_fildes = fd;	/* cached: a read at submission could serve it */
		cb[0].aio_lio_opcode = LIO_READ;
		cb[0].aio_buf = b0;
		cb[0].aio_nbytes = sizeof b0;
		cb[1].aio_fildes = p[0];	/* needs the engine: refused */
		cb[1].aio_lio_opcode = LIO_READ;
		cb[1].aio_buf = &b1;
		cb[1].aio_nbytes = 1;
		cb[2] = cb[1];
		cb[2].aio_buf = &b2;
		memset(&sev, 0, sizeof sev);
		sev.sigev_notify = SIGEV_THREAD;
		sev.sigev_notify_function = on_list;
		errno = 0;
		ck_assert_int_eq(lio_listio(mode, list, 3, &sev), -1);
		ck_assert_int_eq(errno, EAGAIN);
		ck_assert_int_eq(aio_error(&cb[0]), EAGAIN);
		ck_assert_int_eq(aio_return(&cb[0]), -1);
		ck_assert_int_eq(aio_error(&cb[1]), EAGAIN);
		ck_assert_int_eq(aio_return(&cb[1]), -1);
		ck_assert_int_eq(aio_error(&cb[2]), EAGAIN);
		if (mode == LIO_NOWAIT) {
			while (!__atomic_load_n(&list_notes, __ATOMIC_ACQUIRE)) {
				ck_assert_msg(now_sec() < end, "no list notification");
				sched_yield();
			}
		}
	}
	ck_assert_int_eq(__atomic_load_n(&list_notes, __ATOMIC_ACQUIRE), 1);
	close(p[0]);
	close(p[1]);
	close(fd);
}
END_TEST

static Suite *backend_suite(void)
{
	Suite *s = suite_create("backend");
	TCase *tc = tcase_create("choice");

	tcase_add_test(tc, auto_uses_uring_where_available);
	tcase_add_test(tc, auto_falls_back_when_uring_is_refused);
	tcase_add_test(tc, threads_backend_sets_up_no_ring);
	tcase_add_test(tc, no_ring_without_a_call_for_it);
	tcase_add_test(tc, uring_only_fails_with_eagain_when_refused);
	tcase_add_loop_test(tc, listio_eagain_accounts_every_element, 0, 2);
	tcase_set_timeout(tc, 60);
	suite_add_tcase(s, tc);
	return s;
}

/* Each test chooses its backend: one pass is enough. */
int main(void)
{
	return run_suite_with(backend_suite, NULL) ? EXIT_FAILURE : EXIT_SUCCESS;
}
