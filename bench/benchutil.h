/* Helpers shared by aio-bench and uring-ref, so that both measure alike. */
#ifndef RTAIO_BENCHUTIL_H
#define RTAIO_BENCHUTIL_H

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <sched.h>
#include <semaphore.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define FILE_SIZE (64 << 20)
#define BLOCK 4096
#define DEPTH 64

static inline void die(const char *what, int err)
{
	fprintf(stderr, "%s: %s: %s\n", program_invocation_short_name, what, strerror(err));
	exit(1);
}

static inline uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static inline int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

/* Print the median of n latencies (ns) in microseconds. */
static inline void print_p50(const char *name, uint64_t *lat, size_t n)
{
	qsort(lat, n, sizeof *lat, cmp_u64);
	printf("%s %.2f us\n", name, (double)lat[n / 2] / 1000.0);
}

/* A FILE_SIZE file in the temporary directory, read once so that it is cached. */
static inline int cached_file(void)
{
	const char *dir = getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp";
	static char buf[1 << 20];
	int fd = open(dir, O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
	int i;

	if (fd < 0)
		die("O_TMPFILE", errno);
	memset(buf, 'b', sizeof buf);
	for (i = 0; i < FILE_SIZE / (int)sizeof buf; i++)
		if (write(fd, buf, sizeof buf) != (ssize_t)sizeof buf)
			die("write", errno);
	for (i = 0; i < FILE_SIZE / (int)sizeof buf; i++)
		if (pread(fd, buf, sizeof buf, (off_t)i * (off_t)sizeof buf) < 0)
			die("pread", errno);
	return fd;
}

/* The offset of a random block of the file (the same sequence in every program). */
static inline off_t random_block(void)
{
	static uint64_t rng = 88172645463325252ull;

	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return (off_t)(rng % (FILE_SIZE / BLOCK)) * BLOCK;
}

/* Is the thread asleep (state S in /proc)? */
static inline int thread_asleep(pid_t tid)
{
	char path[64], line[512], *p = NULL;
	FILE *f;

	snprintf(path, sizeof path, "/proc/self/task/%d/stat", (int)tid);
	f = fopen(path, "r");
	if (!f)
		return 0;
	if (fgets(line, sizeof line, f))
		p = strrchr(line, ')');
	fclose(f);
	return p && p[1] == ' ' && p[2] == 'S';
}

/*
 * Wake-up latency: the waiter posts `armed` once its read is queued; the
 * writer waits until the waiter sleeps, notes the time, and writes a byte.
 */
struct waker {
	int p[2];
	unsigned long n;
	pid_t waiter;
	sem_t armed;
	volatile uint64_t written_at;
};

static inline void *waker_thread(void *arg)
{
	struct waker *w = arg;
	unsigned long i;

	for (i = 0; i < w->n; i++) {
		while (sem_wait(&w->armed) < 0)
			;
		while (!thread_asleep(w->waiter))
			sched_yield();
		w->written_at = now_ns();
		if (write(w->p[1], "w", 1) != 1)
			die("write", errno);
	}
	return NULL;
}

/* Start the waker for the calling thread; n rounds. */
static inline void start_waker(struct waker *w, unsigned long n, pthread_t *th)
{
	w->n = n;
	w->waiter = gettid();
	if (pipe2(w->p, O_CLOEXEC) || sem_init(&w->armed, 0, 0))
		die("set-up", errno);
	if (pthread_create(th, NULL, waker_thread, w))
		die("pthread_create", errno);
}

#endif
