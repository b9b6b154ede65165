/* asys_submit: validation, all-or-nothing, and every allowed class of call run for real. */
#include <fcntl.h>
#include <limits.h>
#include <linux/stat.h>
#include <poll.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/uio.h>
#include <sys/un.h>

#include "testutil.h"

static char tmpdir[PATH_MAX];

static void make_tmpdir(void)
{
	const char *base = getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp";

	snprintf(tmpdir, sizeof tmpdir, "%s/asys-submit-XXXXXX", base);
	ck_assert_ptr_nonnull(mkdtemp(tmpdir));
}

static void remove_tmpdir(void)
{
	char cmd[PATH_MAX + 16];

	snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmpdir);
	ck_assert_int_eq(system(cmd), 0);
}

/* Submit one call, wait for it, and return its result. */
static long run1(struct asys_call *c)
{
	struct asys_call *list[] = { c };

	ck_assert_msg(asys_submit(list, 1) == 0, "submit nr %ld: %s", c->nr, strerror(errno));
	wait_done(c);
	ck_assert_uint_eq(asys_state(c), ASYS_DONE);
	return c->result;
}

static long run(long nr, long a0, long a1, long a2, long a3, long a4, long a5)
{
	struct asys_call c;

	asys_prep(&c, nr, a0, a1, a2, a3, a4, a5);
	return run1(&c);
}

START_TEST(empty_list_is_accepted)
{
	ck_assert_int_eq(asys_submit(NULL, 0), 0);
}
END_TEST

START_TEST(null_list_or_entry_is_einval)
{
	struct asys_call ok;
	struct asys_call *list[] = { &ok, NULL };

	asys_prep(&ok, SYS_fsync, -1, 0, 0, 0, 0, 0);
	errno = 0;
	ck_assert_int_eq(asys_submit(NULL, 1), -1);
	ck_assert_int_eq(errno, EINVAL);
	errno = 0;
	ck_assert_int_eq(asys_submit(list, 2), -1);
	ck_assert_int_eq(errno, EINVAL);
	ck_assert_uint_eq(asys_state(&ok), ASYS_IDLE);
}
END_TEST

/* Calls that would change the process itself are refused, and nothing else in the list runs. */
static const long refused[] = {
	SYS_exit, SYS_exit_group, SYS_clone, SYS_clone3, SYS_execve,
	SYS_execveat, SYS_munmap, SYS_mprotect, SYS_mremap, SYS_brk, SYS_setuid,
	SYS_setgid, SYS_setresuid, SYS_kill, SYS_tgkill, SYS_rt_sigaction,
	SYS_rt_sigprocmask, SYS_prctl, SYS_ptrace, SYS_getpid, SYS_futex,
	SYS_io_uring_setup, SYS_chdir, SYS_unshare, SYS_setns, -1, 100000, LONG_MAX,
#ifdef SYS_fork	/* not on the newer architectures (aarch64, riscv64) */
	SYS_fork, SYS_vfork,
#endif
#ifdef SYS_mmap	/* not on 32-bit ARM, which has mmap2 alone */
	SYS_mmap,
#endif
#ifdef SYS_mmap2	/* 32-bit architectures: offsets in pages */
	SYS_mmap2,
#endif
#ifdef SYS_arch_prctl	/* x86 */
	SYS_arch_prctl,
#endif
};

START_TEST(refused_syscalls_are_einval)
{
	int p[2];
	struct asys_call w, bad;
	struct asys_call *list[] = { &w, &bad };
	char c;

	ck_assert_int_eq(pipe2(p, O_CLOEXEC | O_NONBLOCK), 0);
	asys_prep(&w, SYS_write, p[1], (long)"x", 1, 0, 0, 0);
	asys_prep(&bad, refused[_i], 0, 0, 0, 0, 0, 0);
	errno = 0;
	ck_assert_int_eq(asys_submit(list, 2), -1);
	ck_assert_int_eq(errno, EINVAL);
	ck_assert_uint_eq(asys_state(&w), ASYS_IDLE);
	ck_assert_uint_eq(asys_state(&bad), ASYS_IDLE);
	/* the valid call did not run either */
	ck_assert_int_eq(read(p[0], &c, 1), -1);
	ck_assert_int_eq(errno, EAGAIN);
	close(p[0]);
	close(p[1]);
}
END_TEST

START_TEST(malformed_calls_are_einval)
{
	struct asys_call a, b;
	struct asys_call *list[] = { &a, &b };

	asys_prep(&a, SYS_fsync, -1, 0, 0, 0, 0, 0);
	asys_prep(&b, SYS_fsync, -1, 0, 0, 0, 0, 0);
	switch (_i) {
	case 0: /* unknown flag */
		b.flags = 0x80;
		break;
	case 1: /* link to itself */
		asys_link(&b, 1, -1);
		break;
	case 2: /* link forward */
		asys_link(&a, 1, -1);
		break;
	case 3: /* argument index out of range */
		asys_link(&b, 0, ASYS_MAX_ARGS);
		break;
	case 4: /* ASYS_LINK_ARG alone implies a link: to itself here */
		b.flags = ASYS_LINK_ARG;
		b.link = 1;
		break;
	case 5: /* bounded and unbounded at once */
		b.flags = ASYS_BOUNDED | ASYS_UNBOUNDED;
		break;
	}
	errno = 0;
	ck_assert_int_eq(asys_submit(list, 2), -1);
	ck_assert_int_eq(errno, EINVAL);
	ck_assert_uint_eq(asys_state(&a), ASYS_IDLE);
	ck_assert_uint_eq(asys_state(&b), ASYS_IDLE);
}
END_TEST

START_TEST(pending_call_is_ebusy)
{
	int p[2];
	char buf[4];
	struct asys_call r, r2;
	struct asys_call *one[] = { &r };
	struct asys_call *twice[] = { &r2, &r2 };

	ck_assert_int_eq(pipe2(p, O_CLOEXEC), 0);
	prep_pipe_read(&r, p[0], buf, 1, 0);
	ck_assert_int_eq(asys_submit(one, 1), 0);
	errno = 0;
	ck_assert_int_eq(asys_submit(one, 1), -1);
	ck_assert_int_eq(errno, EBUSY);
	/* The same call twice in one list: refused, and put back as it was. */
	asys_prep(&r2, SYS_fsync, p[1], 0, 0, 0, 0, 0);
	errno = 0;
	ck_assert_int_eq(asys_submit(twice, 2), -1);
	ck_assert_int_eq(errno, EBUSY);
	ck_assert_uint_eq(asys_state(&r2), ASYS_IDLE);
	ck_assert_int_eq(write(p[1], "z", 1), 1);
	wait_done(&r);
	ck_assert_int_eq(r.result, 1);
	ck_assert_int_eq(buf[0], 'z');
	/* A final call can be submitted again. */
	ck_assert_int_eq(write(p[1], "y", 1), 1);
	ck_assert_int_eq(asys_submit(one, 1), 0);
	wait_done(&r);
	ck_assert_int_eq(r.result, 1);
	ck_assert_int_eq(buf[0], 'y');
	close(p[0]);
	close(p[1]);
}
END_TEST

START_TEST(errors_come_back_as_negative_errno)
{
	char buf[8];

	ck_assert_int_eq(run(SYS_read, -1, (long)buf, 8, 0, 0, 0), -EBADF);
	ck_assert_int_eq(run(SYS_openat, AT_FDCWD, (long)"/nonexistent/x", O_RDONLY, 0, 0, 0),
			 -ENOENT);
	ck_assert_int_eq(run(SYS_read, 0x7fffffff, (long)buf, 8, 0, 0, 0), -EBADF);
}
END_TEST

static int hook_calls;
static unsigned hook_state;

/* The state first: the test reads it once it sees the count. */
static void count_hook(struct asys_call *c)
{
	__atomic_store_n(&hook_state, asys_state(c), __ATOMIC_SEQ_CST);
	__atomic_fetch_add(&hook_calls, 1, __ATOMIC_SEQ_CST);
}

START_TEST(done_hook_runs_once_after_final)
{
	struct asys_call c;
	struct asys_call *list[] = { &c };
	struct timespec t = ms_ts(10);
	int i;

	for (i = 0; i < 100; i++) {
		asys_prep(&c, SYS_nanosleep, (long)&t, 0, 0, 0, 0, 0);
		t = ms_ts(0);
		c.done = count_hook;
		ck_assert_int_eq(asys_submit(list, 1), 0);
		wait_done(&c);
		/* the hook may still be running when the waiter wakes: wait for it */
		while (__atomic_load_n(&hook_calls, __ATOMIC_SEQ_CST) != i + 1)
			sched_yield();
		ck_assert_uint_eq(__atomic_load_n(&hook_state, __ATOMIC_SEQ_CST), ASYS_DONE);
	}
	ck_assert_int_eq(hook_calls, 100);
}
END_TEST

/* --- every allowed class of call, run for real --- */

START_TEST(file_io_calls_run)
{
	int fd = pattern_file(8192);
	char a[16], b[16], big[4096];
	struct iovec iov[2] = { { a, 4 }, { b, 4 } };
	struct asys_call c;
	int i;

	/* positioned reads see the pattern */
	prep_at(&c, SYS_pread64, fd, (long)big, sizeof big, 4096);
	ck_assert_int_eq(run1(&c), 4096);
	for (i = 0; i < 4096; i++)
		ck_assert_uint_eq((unsigned char)big[i], pattern_byte(4096 + i));
	ck_assert_int_eq(run(SYS_preadv, fd, (long)iov, 2, 100, 0, 0), 8);
	ck_assert_uint_eq((unsigned char)a[0], pattern_byte(100));
	ck_assert_uint_eq((unsigned char)b[3], pattern_byte(107));
	if (!skip_under_qemu("preadv2 is missing (ENOSYS)")) {
		ck_assert_int_eq(run(SYS_preadv2, fd, (long)iov, 2, 200, 0, 0), 8);
		ck_assert_uint_eq((unsigned char)a[0], pattern_byte(200));
	}
	/* read/readv use and move the file offset */
	ck_assert_int_eq(lseek(fd, 10, SEEK_SET), 10);
	ck_assert_int_eq(run(SYS_read, fd, (long)a, 4, 0, 0, 0), 4);
	ck_assert_uint_eq((unsigned char)a[0], pattern_byte(10));
	ck_assert_int_eq(run(SYS_readv, fd, (long)iov, 2, 0, 0, 0), 8);
	ck_assert_uint_eq((unsigned char)a[0], pattern_byte(14));
	ck_assert_int_eq(lseek(fd, 0, SEEK_CUR), 22);
	/* writes land where asked */
	memcpy(a, "ABCD", 4);
	memcpy(b, "EFGH", 4);
	prep_at(&c, SYS_pwrite64, fd, (long)"wxyz", 4, 0);
	ck_assert_int_eq(run1(&c), 4);
	ck_assert_int_eq(run(SYS_pwritev, fd, (long)iov, 2, 4, 0, 0), 8);
	if (skip_under_qemu("pwritev2 is missing (ENOSYS), pwritev writes its bytes"))
		ck_assert_int_eq(run(SYS_pwritev, fd, (long)iov, 1, 12, 0, 0), 4);
	else
		ck_assert_int_eq(run(SYS_pwritev2, fd, (long)iov, 1, 12, 0, 0), 4);
	ck_assert_int_eq(lseek(fd, 16, SEEK_SET), 16);
	ck_assert_int_eq(run(SYS_write, fd, (long)"12", 2, 0, 0, 0), 2);
	ck_assert_int_eq(run(SYS_writev, fd, (long)iov, 1, 0, 0, 0), 4);
	ck_assert_int_eq(pread(fd, big, 22, 0), 22);
	ck_assert_int_eq(memcmp(big, "wxyzABCDEFGHABCD12ABCD", 22), 0);
	close(fd);
}
END_TEST

/*
 * sync_file_range and fadvise by the system call each architecture has: on
 * 32-bit ARM (sync_file_range2, arm_fadvise64_64) the flags or the advice
 * come second, so that the 64-bit offset and length fall on register pairs;
 * on i386 fadvise64_64 takes a 64-bit length (its fadvise64 a 32-bit one).
 */
static long run_sync_file_range(int fd, int64_t off, int64_t len, unsigned flags)
{
	struct asys_call c;

#ifdef SYS_sync_file_range2
	prep_wide(&c, SYS_sync_file_range2, 0xc, 4, (const int64_t[]){ fd, flags, off, len });
#else
	prep_wide(&c, SYS_sync_file_range, 0x6, 4, (const int64_t[]){ fd, off, len, flags });
#endif
	return run1(&c);
}

static long run_fadvise(int fd, int64_t off, int64_t len, int advice)
{
	struct asys_call c;

#if defined SYS_arm_fadvise64_64
	prep_wide(&c, SYS_arm_fadvise64_64, 0xc, 4, (const int64_t[]){ fd, advice, off, len });
#elif defined SYS_fadvise64_64
	prep_wide(&c, SYS_fadvise64_64, 0x6, 4, (const int64_t[]){ fd, off, len, advice });
#else
	prep_wide(&c, SYS_fadvise64, 0x6, 4, (const int64_t[]){ fd, off, len, advice });
#endif
	return run1(&c);
}

START_TEST(sync_and_space_calls_run)
{
	int fd = pattern_file(4096);
	struct asys_call c;
	struct stat st;

	ck_assert_int_eq(run(SYS_fsync, fd, 0, 0, 0, 0, 0), 0);
	ck_assert_int_eq(run(SYS_fdatasync, fd, 0, 0, 0, 0, 0), 0);
	ck_assert_int_eq(run_sync_file_range(fd, 0, 4096, SYNC_FILE_RANGE_WRITE), 0);
	prep_wide(&c, SYS_fallocate, 0xc, 4, (const int64_t[]){ fd, 0, 0, 1 << 20 });
	ck_assert_int_eq(run1(&c), 0);
	ck_assert_int_eq(fstat(fd, &st), 0);
	ck_assert_int_eq(st.st_size, 1 << 20);
	ck_assert_int_eq(run(SYS_ftruncate, fd, 1000, 0, 0, 0, 0), 0);
	ck_assert_int_eq(fstat(fd, &st), 0);
	ck_assert_int_eq(st.st_size, 1000);
	prep_wide(&c, SYS_readahead, 0x2, 3, (const int64_t[]){ fd, 0, 1000 });
	ck_assert_int_eq(run1(&c), 0);
	ck_assert_int_eq(run_fadvise(fd, 0, 1000, POSIX_FADV_WILLNEED), 0);
	close(fd);
}
END_TEST

START_TEST(metadata_calls_run)
{
	char path[PATH_MAX + 32], path2[PATH_MAX + 32], link[PATH_MAX + 32], target[PATH_MAX];
	char dents[4096];
	struct statx sx;
	struct stat st;
	kstat_t kst;
	int fd, dfd;

	make_tmpdir();
	snprintf(path, sizeof path, "%s/a", tmpdir);
	snprintf(path2, sizeof path2, "%s/b", tmpdir);
	snprintf(link, sizeof link, "%s/l", tmpdir);
	fd = (int)run(SYS_openat, AT_FDCWD, (long)path, O_CREAT | O_RDWR | O_CLOEXEC, 0600, 0, 0);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(write(fd, "hello", 5), 5);
	ck_assert_int_eq(run(SYS_fstat_k, fd, (long)&kst, 0, 0, 0, 0), 0);
	ck_assert_int_eq(kst.st_size, 5);
	ck_assert_int_eq(run(SYS_close, fd, 0, 0, 0, 0, 0), 0);
	ck_assert_int_eq(fcntl(fd, F_GETFD), -1);
	memset(&kst, 0, sizeof kst);
	ck_assert_int_eq(run(SYS_fstatat_k, AT_FDCWD, (long)path, (long)&kst, 0, 0, 0), 0);
	ck_assert_int_eq(kst.st_size, 5);
	ck_assert_int_eq(run(SYS_statx, AT_FDCWD, (long)path, 0, STATX_SIZE, (long)&sx, 0), 0);
	ck_assert_int_eq(sx.stx_size, 5);
	ck_assert_int_eq(run(SYS_renameat2, AT_FDCWD, (long)path, AT_FDCWD, (long)path2, 0, 0), 0);
	ck_assert_int_eq(access(path, F_OK), -1);
	ck_assert_int_eq(run(SYS_linkat, AT_FDCWD, (long)path2, AT_FDCWD, (long)path, 0, 0), 0);
	ck_assert_int_eq(run(SYS_symlinkat, (long)"b", AT_FDCWD, (long)link, 0, 0, 0), 0);
	memset(target, 0, sizeof target);
	ck_assert_int_eq(run(SYS_readlinkat, AT_FDCWD, (long)link, (long)target, sizeof target, 0, 0), 1);
	ck_assert_str_eq(target, "b");
	snprintf(link, sizeof link, "%s/d", tmpdir);
	ck_assert_int_eq(run(SYS_mkdirat, AT_FDCWD, (long)link, 0700, 0, 0, 0), 0);
	ck_assert_int_eq(stat(link, &st), 0);
	ck_assert(S_ISDIR(st.st_mode));
	dfd = open(tmpdir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	ck_assert_int_gt(run(SYS_getdents64, dfd, (long)dents, sizeof dents, 0, 0, 0), 0);
	ck_assert_int_eq(run(SYS_unlinkat, dfd, (long)"d", AT_REMOVEDIR, 0, 0, 0), 0);
	ck_assert_int_eq(run(SYS_unlinkat, dfd, (long)"a", 0, 0, 0, 0), 0);
	ck_assert_int_eq(faccessat(dfd, "a", F_OK, 0), -1);
	close(dfd);
	remove_tmpdir();
}
END_TEST

START_TEST(copy_and_splice_calls_run)
{
	int src = pattern_file(65536), dst = pattern_file(0), p[2];
	loff_t in = 0, out = 0;
	unsigned char buf[4096];
	int i;

	ck_assert_int_eq(run(SYS_copy_file_range, src, (long)&in, dst, (long)&out, 4096, 0), 4096);
	ck_assert_int_eq(pread(dst, buf, 4096, 0), 4096);
	for (i = 0; i < 4096; i++)
		ck_assert_uint_eq(buf[i], pattern_byte(i));
	ck_assert_int_eq(pipe2(p, O_CLOEXEC), 0);
	in = 8192;
	ck_assert_int_eq(run(SYS_splice, src, (long)&in, p[1], 0, 100, 0), 100);
	ck_assert_int_eq(read(p[0], buf, 100), 100);
	ck_assert_uint_eq(buf[0], pattern_byte(8192));
	in = 16384;
	ck_assert_int_eq(run(SYS_sendfile, p[1], src, (long)&in, 50, 0, 0), 50);
	ck_assert_int_eq(read(p[0], buf, 50), 50);
	ck_assert_uint_eq(buf[49], pattern_byte(16384 + 49));
	close(p[0]);
	close(p[1]);
	close(src);
	close(dst);
}
END_TEST

/* Set a receive or send timeout of 100 ms on socket fd. */
static void time_out_after_100ms(int fd, int opt)
{
	struct timeval tv = { 0, 100000 };

	ck_assert_int_eq(setsockopt(fd, SOL_SOCKET, opt, &tv, sizeof tv), 0);
}

/*
 * recv(2) with MSG_WAITALL on a stream socket returns only once it has the
 * whole length.  A stop (Ctrl-Z, then fg; the cgroup freezer does the
 * same) ends the wait of a worker inside it, which returns what it has:
 * the engine goes on, and the call is whole, in order.  _i 1: the socket
 * has a send timeout, which a receive does not heed.
 */
START_TEST(recv_waitall_is_whole_across_a_stop)
{
	enum { LEN = 64 * 1024, FIRST = 1000 };
	char *buf = calloc(1, LEN), *data = malloc(LEN);
	double end = now_sec() + 10;
	struct asys_call c;
	struct asys_call *list[] = { &c };
	int sv[2], queued = 1, i;

	ck_assert(buf && data);
	for (i = 0; i < LEN; i++)
		data[i] = (char)(i * 7 + i / 251);
	ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
	if (_i)
		time_out_after_100ms(sv[0], SO_SNDTIMEO);
	asys_prep(&c, SYS_recvfrom, sv[0], (long)buf, LEN, MSG_WAITALL, 0, 0);
	ck_assert_int_eq(asys_submit(list, 1), 0);
	ck_assert_int_eq(send(sv[1], data, FIRST, 0), FIRST);
	/* taken in: the call waits for the rest inside recv */
	while (queued && now_sec() < end) {
		ck_assert_int_eq(ioctl(sv[0], FIONREAD, &queued), 0);
		if (queued)
			sched_yield();
	}
	ck_assert_int_eq(queued, 0);
	ck_assert_uint_eq(asys_state(&c), ASYS_RUNNING);
	stop_and_continue_once(10000);
	ck_assert_int_eq(send(sv[1], data + FIRST, LEN - FIRST, 0), LEN - FIRST);
	wait_done(&c);
	ck_assert_int_eq(c.result, LEN);
	ck_assert(!memcmp(buf, data, LEN));
	free(buf);
	free(data);
	close(sv[0]);
	close(sv[1]);
}
END_TEST

/*
 * On datagrams and records, recv(2) and recvmsg(2) with MSG_WAITALL take
 * one, whatever its length: nothing goes on to merge the next one into the
 * buffer (io_uring did, on records: such calls run on the thread pool).
 * _i: SOCK_DGRAM, SOCK_SEQPACKET.
 */
START_TEST(recv_waitall_takes_one_datagram)
{
	char buf[100];
	struct iovec iov = { buf, sizeof buf };
	struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1 };
	int sv[2];

	ck_assert_int_eq(socketpair(AF_UNIX, (_i ? SOCK_SEQPACKET : SOCK_DGRAM) | SOCK_CLOEXEC, 0,
				    sv), 0);
	ck_assert_int_eq(send(sv[1], "first", 5, 0), 5);
	ck_assert_int_eq(send(sv[1], "second", 6, 0), 6);
	ck_assert_int_eq(run(SYS_recvfrom, sv[0], (long)buf, sizeof buf, MSG_WAITALL, 0, 0), 5);
	ck_assert(!memcmp(buf, "first", 5));
	ck_assert_int_eq(recv(sv[0], buf, sizeof buf, MSG_DONTWAIT), 6);
	ck_assert(!memcmp(buf, "second", 6));
	ck_assert_int_eq(send(sv[1], "third", 5, 0), 5);
	ck_assert_int_eq(send(sv[1], "fourth", 6, 0), 6);
	ck_assert_int_eq(run(SYS_recvmsg, sv[0], (long)&msg, MSG_WAITALL, 0, 0, 0), 5);
	ck_assert(!memcmp(buf, "third", 5));
	ck_assert_int_eq(recv(sv[0], buf, sizeof buf, MSG_DONTWAIT), 6);
	ck_assert(!memcmp(buf, "fourth", 6));
	close(sv[0]);
	close(sv[1]);
}
END_TEST

START_TEST(socket_calls_run)
{
	struct sockaddr_un addr = { .sun_family = AF_UNIX };
	char buf[16];
	struct iovec iov = { buf, 5 };
	struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1 };
	struct asys_call acc;
	struct asys_call *list[] = { &acc };
	int sv[2], lfd, cfd;
	socklen_t alen;

	ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
	ck_assert_int_eq(run(SYS_sendto, sv[0], (long)"hello", 5, 0, 0, 0), 5);
	ck_assert_int_eq(run(SYS_recvfrom, sv[1], (long)buf, sizeof buf, 0, 0, 0), 5);
	ck_assert_int_eq(memcmp(buf, "hello", 5), 0);
	memcpy(buf, "world", 5);
	ck_assert_int_eq(run(SYS_sendmsg, sv[1], (long)&msg, 0, 0, 0, 0), 5);
	memset(buf, 0, sizeof buf);
	ck_assert_int_eq(run(SYS_recvmsg, sv[0], (long)&msg, 0, 0, 0, 0), 5);
	ck_assert_int_eq(memcmp(buf, "world", 5), 0);
	close(sv[0]);
	close(sv[1]);

	/* accept4 pending on a worker, then connect through the engine */
	lfd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	ck_assert_int_ge(lfd, 0);
	snprintf(addr.sun_path + 1, sizeof addr.sun_path - 1, "asys-test-%d", getpid());
	alen = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + 1 + strlen(addr.sun_path + 1));
	ck_assert_int_eq(bind(lfd, (struct sockaddr *)&addr, alen), 0);
	ck_assert_int_eq(listen(lfd, 4), 0);
	asys_prep(&acc, SYS_accept4, lfd, 0, 0, SOCK_CLOEXEC, 0, 0);
	ck_assert_int_eq(asys_submit(list, 1), 0);
	cfd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	ck_assert_int_eq(run(SYS_connect, cfd, (long)&addr, alen, 0, 0, 0), 0);
	wait_done(&acc);
	ck_assert_int_ge(acc.result, 0);
	ck_assert_int_eq(write(cfd, "ok", 2), 2);
	ck_assert_int_eq(read((int)acc.result, buf, 2), 2);
	close((int)acc.result);
	close(cfd);
	close(lfd);
}
END_TEST

/* Read what socket fd holds, without waiting; the count. */
static long drain_socket(int fd)
{
	char buf[65536];
	long total = 0;
	ssize_t r;

	while ((r = recv(fd, buf, sizeof buf, MSG_DONTWAIT)) > 0)
		total += r;
	ck_assert(r == -1 && errno == EAGAIN);
	return total;
}

/*
 * Calls on sockets with a timeout (SO_RCVTIMEO, SO_SNDTIMEO) end at the
 * timeout as the system calls do: accept4, recvfrom and read with nothing
 * to take fail with EAGAIN; sendto and write of more than the socket
 * holds, with nobody reading, return the count taken, which the peer then
 * reads.  io_uring ignores the timeouts: in its ring, the library before
 * waited for ever.
 */
START_TEST(socket_timeouts_end_calls)
{
	enum { LEN = 4 << 20 };
	char *buf = malloc(LEN);
	int sv[2], lfd;
	long n;

	ck_assert_ptr_nonnull(buf);
	memset(buf, 't', LEN);
	lfd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	ck_assert_int_ge(lfd, 0);
	/* an abstract address that the kernel picks (autobind) */
	ck_assert_int_eq(bind(lfd, (struct sockaddr *)&(struct sockaddr_un){ AF_UNIX, "" },
			      sizeof(sa_family_t)), 0);
	ck_assert_int_eq(listen(lfd, 1), 0);
	time_out_after_100ms(lfd, SO_RCVTIMEO);
	ck_assert_int_eq(run(SYS_accept4, lfd, 0, 0, SOCK_CLOEXEC, 0, 0), -EAGAIN);
	close(lfd);

	ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
	time_out_after_100ms(sv[1], SO_RCVTIMEO);
	ck_assert_int_eq(run(SYS_recvfrom, sv[1], (long)buf, 100, 0, 0, 0), -EAGAIN);
	ck_assert_int_eq(run(SYS_read, sv[1], (long)buf, 100, 0, 0, 0), -EAGAIN);
	time_out_after_100ms(sv[0], SO_SNDTIMEO);
	n = run(SYS_sendto, sv[0], (long)buf, LEN, 0, 0, 0);
	ck_assert_msg(n > 0 && n < LEN, "sendto returned %ld", n);
	ck_assert_int_eq(drain_socket(sv[1]), n);
	n = run(SYS_write, sv[0], (long)buf, LEN, 0, 0, 0);
	ck_assert_msg(n > 0 && n < LEN, "write returned %ld", n);
	ck_assert_int_eq(drain_socket(sv[1]), n);
	close(sv[0]);
	close(sv[1]);
	free(buf);
}
END_TEST

static bool call_done(const void *c)
{
	return asys_state(c) == ASYS_DONE;
}

/*
 * A receive on a socket with a low-water mark (SO_RCVLOWAT 100) and 10
 * bytes there waits, as the system call does, until the mark is reached:
 * then it takes all 110 bytes.  recvfrom (_i 0) and read (_i 1).  io_uring
 * ignores the mark: in its ring, the library before returned the 10 bytes
 * at once.
 */
START_TEST(socket_low_water_mark_holds_a_receive)
{
	long nr = _i ? SYS_read : SYS_recvfrom;
	char buf[200], more[100];
	struct asys_call c, *list[] = { &c };
	int sv[2], low = 100;

	ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
	ck_assert_int_eq(setsockopt(sv[1], SOL_SOCKET, SO_RCVLOWAT, &low, sizeof low), 0);
	ck_assert_int_eq(write(sv[0], "0123456789", 10), 10);
	asys_prep(&c, nr, sv[1], (long)buf, sizeof buf, 0, 0, 0);
	ck_assert_int_eq(asys_submit(list, 1), 0);
	/* the rest only once the receive has ended, or waits in the kernel */
	wait_in_syscall_or(nr, sv[1], call_done, &c);
	memset(more, 'm', sizeof more);
	ck_assert_int_eq(write(sv[0], more, sizeof more), sizeof more);
	wait_done(&c);
	ck_assert_int_eq(c.result, 110);
	close(sv[0]);
	close(sv[1]);
}
END_TEST

START_TEST(poll_and_sleep_calls_run)
{
	struct timespec t = ms_ts(5), zero = ms_ts(0);
	struct pollfd pfd;
	int p[2];
	double t0;

	ck_assert_int_eq(pipe2(p, O_CLOEXEC), 0);
	ck_assert_int_eq(write(p[1], "x", 1), 1);
	pfd.fd = p[0];
	pfd.events = POLLIN;
#ifdef SYS_poll	/* not on the newer architectures (aarch64, riscv64) */
	ck_assert_int_eq(run(SYS_poll, (long)&pfd, 1, 1000, 0, 0, 0), 1);
	ck_assert(pfd.revents & POLLIN);
	pfd.revents = 0;
#endif
	ck_assert_int_eq(run(SYS_ppoll, (long)&pfd, 1, (long)&zero, 0, 8, 0), 1);
	ck_assert(pfd.revents & POLLIN);
	t0 = now_sec();
	ck_assert_int_eq(run(SYS_nanosleep, (long)&t, 0, 0, 0, 0, 0), 0);
	ck_assert_int_eq(run(SYS_clock_nanosleep, CLOCK_MONOTONIC, 0, (long)&t, 0, 0, 0), 0);
	/* both sleeps really slept: they ran, they were not skipped */
	ck_assert(now_sec() - t0 >= 0.010);
	close(p[0]);
	close(p[1]);
}
END_TEST

/*
 * clock_nanosleep as the system call answers, wherever it runs (io_uring
 * runs a monotonic one as a timeout): relative and absolute sleeps really
 * sleep and return 0, an absolute time already past returns 0 at once, an
 * invalid time is EINVAL (io_uring would take a tv_nsec of a second), a
 * bad pointer EFAULT (not a crash of the submitter), and another clock
 * sleeps too.
 */
START_TEST(clock_nanosleep_as_the_system_call)
{
	struct timespec t = ms_ts(20), bad = { 0, 1000000000L }, now, until;
	double t0 = now_sec();

	ck_assert_int_eq(run(SYS_clock_nanosleep, CLOCK_MONOTONIC, 0, (long)&t, 0, 0, 0), 0);
	ck_assert_msg(now_sec() - t0 >= 0.019, "slept %.3f s of 0.020", now_sec() - t0);
	ck_assert_int_eq(clock_gettime(CLOCK_MONOTONIC, &now), 0);
	until = now;
	until.tv_nsec += 20000000L;
	if (until.tv_nsec >= 1000000000L) {
		until.tv_sec++;
		until.tv_nsec -= 1000000000L;
	}
	t0 = now_sec();
	ck_assert_int_eq(run(SYS_clock_nanosleep, CLOCK_MONOTONIC, TIMER_ABSTIME, (long)&until, 0,
			     0, 0), 0);
	ck_assert_msg(now_sec() - t0 >= 0.015, "an absolute sleep ended after %.3f s",
		      now_sec() - t0);
	ck_assert_int_eq(run(SYS_clock_nanosleep, CLOCK_MONOTONIC, TIMER_ABSTIME, (long)&now, 0,
			     0, 0), 0);
	ck_assert_int_eq(run(SYS_clock_nanosleep, CLOCK_MONOTONIC, 0, (long)&bad, 0, 0, 0),
			 -EINVAL);
	ck_assert_int_eq(run(SYS_clock_nanosleep, CLOCK_MONOTONIC, 0, 8, 0, 0, 0), -EFAULT);
	t0 = now_sec();
	ck_assert_int_eq(run(SYS_clock_nanosleep, CLOCK_REALTIME, 0, (long)&t, 0, 0, 0), 0);
	ck_assert(now_sec() - t0 >= 0.019);
}
END_TEST

static Suite *submit_suite(void)
{
	Suite *s = suite_create("asys_submit");
	TCase *v = tcase_create("validation");
	TCase *r = tcase_create("allowed calls");

	tcase_add_test(v, empty_list_is_accepted);
	tcase_add_test(v, null_list_or_entry_is_einval);
	tcase_add_loop_test(v, refused_syscalls_are_einval, 0,
			    (int)(sizeof refused / sizeof refused[0]));
	tcase_add_loop_test(v, malformed_calls_are_einval, 0, 6);
	tcase_add_test(v, pending_call_is_ebusy);
	tcase_add_test(v, errors_come_back_as_negative_errno);
	tcase_add_test(v, done_hook_runs_once_after_final);
	suite_add_tcase(s, v);
	tcase_add_test(r, file_io_calls_run);
	tcase_add_test(r, sync_and_space_calls_run);
	tcase_add_test(r, metadata_calls_run);
	tcase_add_test(r, copy_and_splice_calls_run);
	tcase_add_test(r, socket_calls_run);
	tcase_add_loop_test(r, recv_waitall_is_whole_across_a_stop, 0, 2);
	tcase_add_loop_test(r, recv_waitall_takes_one_datagram, 0, 2);
	tcase_add_test(r, socket_timeouts_end_calls);
	tcase_add_loop_test(r, socket_low_water_mark_holds_a_receive, 0, 2);
	tcase_add_test(r, poll_and_sleep_calls_run);
	tcase_add_test(r, clock_nanosleep_as_the_system_call);
	suite_add_tcase(s, r);
	return s;
}

TEST_MAIN(submit_suite)
