/*
 * A program built with _TIME_BITS=64, whose struct timespec has a 64-bit
 * tv_sec on 32-bit architectures too, waits through asys and aio_suspend
 * with it: the time64 system calls are in the allow-list, and the
 * timeouts, short ones and ones past 2^32 seconds, are neither lost nor
 * wrapped.
 * make check runs it; tests/cross.sh runs it under qemu-user, where the
 * 32-bit cases are.  Exit status 0 when every check holds.
 */
#define _FILE_OFFSET_BITS 64	/* glibc takes _TIME_BITS=64 only with it */
#define _TIME_BITS 64
#include <aio.h>
#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "asys.h"

_Static_assert(sizeof(time_t) == 8, "_TIME_BITS=64 gives a 64-bit time_t");

/* The system calls that take this program's struct timespec. */
#ifdef SYS_clock_nanosleep_time64	/* 32-bit architectures */
#define NANOSLEEP_NR SYS_clock_nanosleep_time64
#define PPOLL_NR SYS_ppoll_time64
#else
#define NANOSLEEP_NR SYS_clock_nanosleep
#define PPOLL_NR SYS_ppoll
#endif

/* Past 2^32 s: a 32-bit tv_sec would wrap it to 0, read as 32-bit words to {0, 1 ns}. */
#define FAR_TIMEOUT ((struct timespec){ (time_t)1 << 32, 0 })

static int failures;

static void check(int cond, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	fputs(cond ? "ok: " : "FAIL: ", stdout);
	vprintf(fmt, ap);
	putchar('\n');
	va_end(ap);
	failures += !cond;
}

static long ms_since(const struct timespec *t0)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (long)((t.tv_sec - t0->tv_sec) * 1000 + (t.tv_nsec - t0->tv_nsec) / 1000000);
}

/* A sleep of ms milliseconds through asys, submitted: 0, or -1 with errno. */
static int submit_sleep(struct asys_call *c, struct timespec *length, long ms)
{
	struct asys_call *list[1] = { c };

	*length = (struct timespec){ ms / 1000, ms % 1000 * 1000000 };
	asys_prep(c, NANOSLEEP_NR, CLOCK_MONOTONIC, 0, (long)length, 0, 0, 0);
	return asys_submit(list, 1);
}

/* asys_wait or asys_wait_any for a 300 ms sleep with a timeout past 2^32 s. */
static void check_far_timeout(int any)
{
	struct asys_call c, *list[1] = { &c };
	struct timespec length, far = FAR_TIMEOUT, t0;
	const char *which = any ? "asys_wait_any" : "asys_wait";
	int rc, err;
	long waited;

	clock_gettime(CLOCK_MONOTONIC, &t0);
	if (submit_sleep(&c, &length, 300)) {
		check(0, "asys_submit of clock_nanosleep (%ld): %s", (long)NANOSLEEP_NR,
		      strerror(errno));
		return;
	}
	rc = any ? asys_wait_any(list, 1, &far) : asys_wait(&c, &far);
	err = errno;
	waited = ms_since(&t0);
	check(rc == 0 && c.result == 0 && waited >= 250,
	      "%s with a timeout of 2^32 s for a 300 ms clock_nanosleep: %d (%s), result %ld, "
	      "after %ld ms", which, rc, rc ? strerror(err) : "done", c.result, waited);
	if (rc)
		asys_wait(&c, NULL);
}

/* asys_wait with a 200 ms timeout for a 1 s ppoll of nothing: the timeout, then the call's. */
static void check_short_timeout(void)
{
	struct asys_call c, *list[1] = { &c };
	struct timespec poll_for = { 1, 0 }, wait_for = { 0, 200000000 }, t0;
	int rc, err;
	long waited;

	asys_prep(&c, PPOLL_NR, 0, 0, (long)&poll_for, 0, 0, 0);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	if (asys_submit(list, 1)) {
		check(0, "asys_submit of ppoll (%ld): %s", (long)PPOLL_NR, strerror(errno));
		return;
	}
	rc = asys_wait(&c, &wait_for);
	err = errno;
	waited = ms_since(&t0);
	check(rc == -1 && err == ETIMEDOUT && waited >= 150 && waited < 900,
	      "asys_wait with a 200 ms timeout for a 1 s ppoll: %d (%s) after %ld ms", rc,
	      rc ? strerror(err) : "done", waited);
	rc = asys_wait(&c, NULL);
	waited = ms_since(&t0);
	check(rc == 0 && c.result == 0 && waited >= 900,
	      "ppoll of no fds with a 1 s timeout: result %ld after %ld ms", c.result, waited);
}

static void *write_in_300_ms(void *fd)
{
	struct timespec t = { 0, 300000000 };

	nanosleep(&t, NULL);
	if (write(*(int *)fd, "x", 1) != 1)
		perror("write to the pipe");
	return NULL;
}

/*
 * aio_suspend (__aio_suspend_time64 on 32-bit) with a timeout past 2^32 s
 * for a read of a pipe that another thread writes to 300 ms later.
 */
static void check_far_suspend(void)
{
	struct aiocb cb = { 0 };
	const struct aiocb *list[1] = { &cb };
	struct timespec far = FAR_TIMEOUT, t0;
	pthread_t writer;
	char c;
	int p[2], rc, err;
	long waited;

	if (pipe(p) || (cb.aio_fildes = p[0], cb.aio_buf = &c, cb.aio_nbytes = 1, aio_read(&cb))) {
		check(0, "a pipe and an aio_read of it: %s", strerror(errno));
		return;
	}
	clock_gettime(CLOCK_MONOTONIC, &t0);
	pthread_create(&writer, NULL, write_in_300_ms, &p[1]);
	rc = aio_suspend(list, 1, &far);
	err = errno;
	waited = ms_since(&t0);
	pthread_join(writer, NULL);
	check(rc == 0 && waited >= 250,
	      "aio_suspend with a timeout of 2^32 s for a read that a write completes 300 ms "
	      "later: %d (%s) after %ld ms", rc, rc ? strerror(err) : "done", waited);
	while (aio_error(&cb) == EINPROGRESS)
		aio_suspend(list, 1, NULL);
	close(p[0]);
	close(p[1]);
}

int main(void)
{
	check_far_timeout(0);
	check_far_timeout(1);
	check_short_timeout();
	check_far_suspend();
	return failures ? 1 : 0;
}
