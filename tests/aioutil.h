/* Helpers shared by the POSIX AIO Check programs. */
#ifndef RTAIO_AIOUTIL_H
#define RTAIO_AIOUTIL_H

#include <aio.h>
#include <rtaio.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <sys/mman.h>
#include <sys/uio.h>

#include "testutil.h"

/*
 * off_t's extremes at its width here: 32 bits on 32-bit architectures
 * (the tests are built without _FILE_OFFSET_BITS=64, as many programs are).
 */
#define OFF_T_MAX SIGNED_MAX(off_t)
#define OFF_T_MIN (-OFF_T_MAX - 1)

/* An offset far past the end of any test file: 1 TiB, or 1 GiB with a 32-bit off_t. */
static inline off_t far_offset(void)
{
	return (off_t)1 << (sizeof(off_t) == 8 ? 40 : 30);
}

/*
 * For a test of reads that complete inside aio_read: true (the test then
 * returns at once, having said why) where preadv2 refuses RWF_NOWAIT on fd
 * (qemu-user; kernels and file systems without it), so that rtaio sends
 * every read the asynchronous way.
 */
static inline bool skip_without_nowait_reads(int fd)
{
	char c;
	struct iovec iov = { &c, 1 };

	if (preadv2(fd, &iov, 1, 0, RWF_NOWAIT) >= 0 || errno != EOPNOTSUPP)
		return false;
	fprintf(stderr, "preadv2 refuses RWF_NOWAIT here (%s): no read completes inside "
		"aio_read, the test is skipped\n", strerror(errno));
	return true;
}

/* Does the page cache hold the page of fd at off? */
static inline bool page_cached(int fd, off_t off)
{
	long page = sysconf(_SC_PAGESIZE);
	unsigned char resident;
	void *map = mmap(NULL, (size_t)page, PROT_READ, MAP_SHARED, fd, off);

	ck_assert_ptr_ne(map, MAP_FAILED);
	ck_assert_int_eq(mincore(map, (size_t)page, &resident), 0);
	ck_assert_int_eq(munmap(map, (size_t)page), 0);
	return resident & 1;
}

/*
 * Leave the first page of fd, a written-back file with POSIX_FADV_RANDOM
 * set, alone in the page cache: drop the whole file (a large folio goes
 * only whole), then read the first page back (no readahead on a random fd).
 */
static inline void cache_first_page_only(int fd)
{
	char c;

	ck_assert_int_eq(posix_fadvise(fd, 0, 0, POSIX_FADV_DONTNEED), 0);
	ck_assert_int_eq(pread(fd, &c, 1, 0), 1);
	ck_assert_msg(page_cached(fd, 0) && !page_cached(fd, sysconf(_SC_PAGESIZE)),
		      "the first page alone could not be cached");
}

/* A control block with no notification, for fd, buf, len and off. */
static inline void prep_aiocb(struct aiocb *cb, int fd, volatile void *buf, size_t len, off_t off)
{
	memset(cb, 0, sizeof *cb);
	cb->aio_fildes = fd;
	cb->aio_buf = buf;
	cb->aio_nbytes = len;
	cb->aio_offset = off;
	cb->aio_sigevent.sigev_notify = SIGEV_NONE;
}

static inline void assert_status(struct aiocb *cb, int err, ssize_t ret)
{
	ck_assert_msg(aio_error(cb) == err, "aio_error %d (%s), expected %d (%s)", aio_error(cb),
		      strerror(aio_error(cb)), err, strerror(err));
	ck_assert_int_eq(aio_return(cb), ret);
}

static inline void submit_read(struct aiocb *cb)
{
	ck_assert_msg(aio_read(cb) == 0, "aio_read: %s", strerror(errno));
}

/* Wait until cb is final, failing the test after `ms`. */
static inline void wait_final(const struct aiocb *cb, long ms)
{
	const struct aiocb *list[1] = { cb };
	double end = now_sec() + (double)ms / 1000.0;

	while (aio_error(cb) == EINPROGRESS) {
		double left = end - now_sec();
		struct timespec t;

		ck_assert_msg(left > 0, "request %p still in progress after %ld ms", (void *)cb, ms);
		t = ms_ts((long)(left * 1000.0) + 1);
		if (aio_suspend(list, 1, &t) < 0)
			ck_assert_msg(errno == EAGAIN || errno == EINTR, "aio_suspend: %s",
				      strerror(errno));
	}
}

/*
 * The first byte of buf that is not pattern_byte(off + i), or -1: one
 * assertion per buffer (Check records every assertion that passes).
 */
static inline long first_bad_byte(const volatile void *buf, uint64_t off, size_t len)
{
	const volatile unsigned char *b = buf;
	size_t i;

	for (i = 0; i < len; i++)
		if (b[i] != pattern_byte(off + i))
			return (long)i;
	return -1;
}

/* Bytes waiting in a pipe, read without blocking. */
static inline size_t drain(int rfd, char *out, size_t max)
{
	int fl = fcntl(rfd, F_GETFL);
	ssize_t n;
	size_t got = 0;

	ck_assert_int_ge(fl, 0);
	ck_assert_int_eq(fcntl(rfd, F_SETFL, fl | O_NONBLOCK), 0);
	while (got < max && (n = read(rfd, out + got, max - got)) > 0)
		got += (size_t)n;
	ck_assert_int_eq(fcntl(rfd, F_SETFL, fl), 0);
	return got;
}

static inline void block_signal(int sig)
{
	sigset_t set;

	sigemptyset(&set);
	sigaddset(&set, sig);
	ck_assert_int_eq(pthread_sigmask(SIG_BLOCK, &set, NULL), 0);
}

/* Take one pending `sig` (blocked by the caller); false after ms. */
static inline bool take_signal(int sig, siginfo_t *si, long ms)
{
	sigset_t set;
	struct timespec t = ms_ts(ms);
	int r;

	sigemptyset(&set);
	sigaddset(&set, sig);
	do
		r = sigtimedwait(&set, si, &t);
	while (r < 0 && errno == EINTR);
	return r == sig;
}

static inline void join_within(pthread_t th, long ms)
{
	ck_assert_msg(joined_within(th, ms), "thread did not finish in %ld ms", ms);
}

/*
 * The thread backend's limits: worker threads for bounded calls and for
 * blocking ones, and how long a worker stays idle before it exits (0: as
 * it was).
 */
static inline void set_pool_idle(unsigned threads, unsigned blocking, unsigned idle_msec)
{
	struct asys_config cfg = { threads, blocking, idle_msec };

	ck_assert_int_eq(asys_configure(&cfg, NULL), 0);
}

static inline void set_pool(unsigned threads, unsigned blocking)
{
	set_pool_idle(threads, blocking, 0);
}

/*
 * A pipe read submitted through asys: with set_pool(1, n) and `bounded`,
 * it holds the only worker for file I/O, with set_pool(n, 1) and not
 * `bounded` the only one for blocking calls, until release_blocker().
 */
struct blocker {
	int p[2];
	char byte;
	struct asys_call c;
};

static inline void start_blocker(struct blocker *b, int bounded)
{
	struct asys_call *list[1] = { &b->c };
	double end = now_sec() + 10.0;

	ck_assert_int_eq(pipe2(b->p, O_CLOEXEC), 0);
	prep_pipe_read(&b->c, b->p[0], &b->byte, 1, bounded);
	ck_assert_int_eq(asys_submit(list, 1), 0);
	while (asys_state(&b->c) != ASYS_RUNNING) {
		ck_assert_msg(now_sec() < end, "blocker never started");
		sched_yield();
	}
}

static inline void release_blocker(struct blocker *b)
{
	ck_assert_int_eq(write(b->p[1], "!", 1), 1);
	wait_done(&b->c);
	ck_assert_int_eq(b->c.result, 1);
	close(b->p[0]);
	close(b->p[1]);
}

/*
 * A file that rtaio has just written to, so that it takes the number for a
 * file for a while (rtaio.7), the number then given to `end` (closed):
 * the number.
 */
static inline int file_number_given_to(int end)
{
	char block[4096];
	struct aiocb cb;
	int fd = temp_file();

	memset(block, 'F', sizeof block);
	prep_aiocb(&cb, fd, block, sizeof block, 0);
	ck_assert_int_eq(aio_write(&cb), 0);
	wait_final(&cb, 30000);
	assert_status(&cb, 0, sizeof block);
	ck_assert_int_eq(dup3(end, fd, O_CLOEXEC), fd);
	close(end);
	return fd;
}

/* rtaio_stats()'s report, a string in report[size]: false if none came.  No Check call. */
static inline bool read_report(char *report, size_t size)
{
	int out = temp_file();
	ssize_t n = -1;

	if (out >= 0 && rtaio_stats(out) == 0)
		n = pread(out, report, size - 1, 0);
	if (out >= 0)
		close(out);
	report[n > 0 ? n : 0] = '\0';
	return n > 0;
}

/* The count after label in rtaio_stats()'s report. */
static inline unsigned long reported(const char *label)
{
	char report[4096];
	const char *at;

	ck_assert(read_report(report, sizeof report));
	at = strstr(report, label);
	ck_assert_msg(at, "no \"%s\" in the report:\n%s", label, report);
	return strtoul(at + strlen(label), NULL, 10);
}

#endif
