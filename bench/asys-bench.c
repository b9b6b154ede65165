/*
 * asys-bench: figures for the asys engine, printed as a table.
 *
 *   - throughput of 4 KiB pread64 calls on a page-cached 64 MiB file with
 *     1, 32 and 256 calls in flight, against the same reads done with
 *     pread(2) in a loop on the calling thread (median of 3 runs);
 *   - wake-up latency: a thread sleeps in asys_wait on a pipe read; the main
 *     thread writes to the pipe at t0 and the waiter notes when it returns;
 *   - submit-to-wait-return latency of one cached 4 KiB pread64, against a
 *     plain pread(2).
 *
 * Usage: asys-bench [--quick]   (--quick: well under 10 s; default: under a
 * minute).  The file goes to $TMPDIR, else /tmp, and is removed at once.
 * Nothing here asserts anything about time: the figures are for reading.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <sched.h>
#include <semaphore.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/utsname.h>
#include <time.h>
#include <unistd.h>

#include "asys.h"

#define FILE_SIZE (64ull << 20)
#define BLOCK 4096
#define MAX_DEPTH 256
#define RUNS 3

struct options {
	double run_sec;		/* length of one throughput run */
	unsigned wake_samples;
	unsigned e2e_samples;
};

static int g_fd = -1;
static unsigned char *g_bufs;	/* MAX_DEPTH blocks */

static void die(const char *what)
{
	fprintf(stderr, "asys-bench: %s: %s\n", what, strerror(errno));
	exit(1);
}

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static uint64_t xorshift(uint64_t *s)
{
	uint64_t x = *s;

	x ^= x << 13;
	x ^= x >> 7;
	x ^= x << 17;
	return *s = x;
}

static long random_block(uint64_t *rng)
{
	return (long)((xorshift(rng) % (FILE_SIZE / BLOCK)) * BLOCK);
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

static double median3(double v[RUNS])
{
	qsort(v, RUNS, sizeof v[0], cmp_double);
	return v[RUNS / 2];
}

/* A 64 MiB unlinked file, written then read once so that it is page-cached. */
static void make_file(void)
{
	const char *dir = getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp";
	char path[4096];
	unsigned char *buf = malloc(1 << 20);
	uint64_t off;

	if (!buf)
		die("malloc");
	snprintf(path, sizeof path, "%s/asys-bench-XXXXXX", dir);
	g_fd = mkstemp(path);
	if (g_fd < 0)
		die(path);
	unlink(path);
	for (off = 0; off < (1 << 20); off++)
		buf[off] = (unsigned char)(off * 131);
	for (off = 0; off < FILE_SIZE; off += 1 << 20)
		if (pwrite(g_fd, buf, 1 << 20, (off_t)off) != 1 << 20)
			die("writing the test file");
	for (off = 0; off < FILE_SIZE; off += 1 << 20)
		if (pread(g_fd, buf, 1 << 20, (off_t)off) != 1 << 20)
			die("reading the test file");
	free(buf);
}

static void check_result(const struct asys_call *c)
{
	if (asys_state(c) != ASYS_DONE || c->result != BLOCK) {
		fprintf(stderr, "asys-bench: pread64 failed: state %u result %ld\n",
			asys_state(c), c->result);
		exit(1);
	}
}

/* ---- throughput ---- */

static double run_sync(double sec)
{
	uint64_t rng = 88172645463325252ull;
	unsigned long n = 0;
	double t0 = now(), t;

	do {
		unsigned i;

		for (i = 0; i < 256; i++, n++)
			if (pread(g_fd, g_bufs, BLOCK, random_block(&rng)) != BLOCK)
				die("pread");
		t = now() - t0;
	} while (t < sec);
	return (double)n / t;
}

static void prep_read(struct asys_call *c, unsigned slot, uint64_t *rng)
{
	asys_prep(c, SYS_pread64, g_fd, (long)(g_bufs + (size_t)slot * BLOCK), BLOCK,
		  random_block(rng), 0, 0);
}

/* depth calls in flight, each resubmitted as soon as it is collected. */
static double run_async(unsigned depth, double sec)
{
	static struct asys_call calls[MAX_DEPTH];
	struct asys_call *live[MAX_DEPTH], *ready[MAX_DEPTH];
	uint64_t rng = 88172645463325252ull;
	unsigned long n = 0;
	unsigned i, k, pending;
	double t0 = now(), t;
	int stop = 0;

	for (i = 0; i < depth; i++) {
		prep_read(&calls[i], i, &rng);
		live[i] = ready[i] = &calls[i];
	}
	if (asys_submit(ready, depth) != 0)
		die("asys_submit");
	pending = depth;
	while (pending) {
		struct timespec to = { 30, 0 };

		if (depth == 1) {
			if (asys_wait(&calls[0], &to) != 0)
				die("asys_wait");
		} else if (asys_wait_any(live, depth, &to) < 0) {
			die("asys_wait_any");
		}
		t = now() - t0;
		stop = stop || t >= sec;
		for (i = k = 0; i < depth; i++) {
			if (!live[i] || asys_state(live[i]) < ASYS_DONE)
				continue;
			check_result(live[i]);
			n++;
			if (stop) {
				live[i] = NULL;
				pending--;
			} else {
				prep_read(live[i], i, &rng);
				ready[k++] = live[i];
			}
		}
		if (k && asys_submit(ready, k) != 0)
			die("asys_submit");
	}
	return (double)n / (now() - t0);
}

static void throughput(const struct options *o)
{
	static const unsigned depths[] = { 1, 32, 256 };
	double v[RUNS], sync_rate;
	unsigned d, r;

	printf("\nThroughput: 4 KiB pread64 at random offsets of a page-cached 64 MiB file\n");
	printf("(median of %d runs of %.2f s each)\n\n", RUNS, o->run_sec);
	printf("  %-34s %12s %10s %14s\n", "mode", "calls/s", "us/call", "runs (calls/s)");
	printf("  %-34s %12s %10s %14s\n", "----", "-------", "-------", "--------------");
	for (r = 0; r < RUNS; r++)
		v[r] = run_sync(o->run_sec);
	{
		double raw[RUNS];

		memcpy(raw, v, sizeof raw);
		sync_rate = median3(v);
		printf("  %-34s %12.0f %10.2f   %.0f %.0f %.0f\n",
		       "pread(2) loop, calling thread", sync_rate, 1e6 / sync_rate,
		       raw[0], raw[1], raw[2]);
	}
	for (d = 0; d < sizeof depths / sizeof depths[0]; d++) {
		double raw[RUNS], m;
		char label[64];

		for (r = 0; r < RUNS; r++)
			raw[r] = v[r] = run_async(depths[d], o->run_sec);
		m = median3(v);
		snprintf(label, sizeof label, "asys, %u in flight", depths[d]);
		printf("  %-34s %12.0f %10.2f   %.0f %.0f %.0f  (%.2fx sync)\n", label, m, 1e6 / m,
		       raw[0], raw[1], raw[2], m / sync_rate);
	}
}

/* ---- latency ---- */

static void print_percentiles(const char *label, double *us, unsigned n)
{
	qsort(us, n, sizeof us[0], cmp_double);
	printf("  %-38s %8.1f %8.1f %8.1f %9.1f %8u\n", label, us[n / 2], us[n * 9 / 10],
	       us[(size_t)n * 99 / 100], us[n - 1], n);
}

struct waiter {
	pthread_t thread;
	pid_t tid;
	struct asys_call call;
	sem_t go, done;
	unsigned armed;		/* sample number the waiter is about to wait for */
	int64_t t0_ns;		/* when the main thread wrote to the pipe */
	double *us;
	unsigned samples;
	int failed;
};

static int64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static void *waiter_main(void *arg)
{
	struct waiter *w = arg;
	unsigned k;

	__atomic_store_n(&w->tid, (pid_t)syscall(SYS_gettid), __ATOMIC_RELEASE);
	for (k = 1; k <= w->samples; k++) {
		struct timespec to = { 10, 0 };
		int64_t t1;

		while (sem_wait(&w->go) != 0)
			;
		__atomic_store_n(&w->armed, k, __ATOMIC_RELEASE);
		if (asys_wait(&w->call, &to) != 0) {
			w->failed = errno;
			sem_post(&w->done);
			return NULL;
		}
		t1 = now_ns();
		w->us[k - 1] = (double)(t1 - __atomic_load_n(&w->t0_ns, __ATOMIC_ACQUIRE)) / 1e3;
		sem_post(&w->done);
	}
	return NULL;
}

/* The waiter thread's scheduler state from /proc ('S': asleep), or 0. */
static char thread_state(pid_t tid)
{
	char path[64], buf[256], *p;
	ssize_t n;
	int fd;

	snprintf(path, sizeof path, "/proc/self/task/%d/stat", (int)tid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return 0;
	n = read(fd, buf, sizeof buf - 1);
	close(fd);
	if (n <= 0)
		return 0;
	buf[n] = 0;
	p = strrchr(buf, ')');
	return p && p[1] == ' ' ? p[2] : 0;
}

static void wake_latency(const struct options *o)
{
	struct waiter w;
	struct timespec pause = { 0, 100000 };
	unsigned k, unconfirmed = 0;
	char byte;
	int p[2];

	memset(&w, 0, sizeof w);
	w.samples = o->wake_samples;
	w.us = calloc(w.samples, sizeof *w.us);
	if (!w.us || pipe(p) != 0 || sem_init(&w.go, 0, 0) || sem_init(&w.done, 0, 0))
		die("wake set-up");
	if (pthread_create(&w.thread, NULL, waiter_main, &w))
		die("pthread_create");
	while (!__atomic_load_n(&w.tid, __ATOMIC_ACQUIRE))
		sched_yield();
	for (k = 1; k <= w.samples; k++) {
		struct asys_call *l[] = { &w.call };
		double end;

		asys_prep(&w.call, SYS_read, p[0], (long)&byte, 1, 0, 0, 0);
		if (asys_submit(l, 1) != 0)
			die("asys_submit");
		sem_post(&w.go);
		/* The waiter asleep in asys_wait, the worker (very likely) in read(2). */
		end = now() + 1;
		while (__atomic_load_n(&w.armed, __ATOMIC_ACQUIRE) != k)
			sched_yield();
		while ((asys_state(&w.call) != ASYS_RUNNING || thread_state(w.tid) != 'S') &&
		       now() < end)
			sched_yield();
		if (asys_state(&w.call) != ASYS_RUNNING || thread_state(w.tid) != 'S')
			unconfirmed++;
		nanosleep(&pause, NULL);
		__atomic_store_n(&w.t0_ns, now_ns(), __ATOMIC_RELEASE);
		if (write(p[1], "w", 1) != 1)
			die("write");
		while (sem_wait(&w.done) != 0)
			;
		if (w.failed) {
			errno = w.failed;
			die("asys_wait in the waiter");
		}
		if (w.call.result != 1) {
			fprintf(stderr, "asys-bench: pipe read returned %ld\n", w.call.result);
			exit(1);
		}
	}
	pthread_join(w.thread, NULL);
	print_percentiles("pipe write -> asys_wait returns", w.us, w.samples);
	if (unconfirmed)
		printf("  (%u samples where the waiter was not seen asleep first)\n", unconfirmed);
	free(w.us);
	close(p[0]);
	close(p[1]);
	sem_destroy(&w.go);
	sem_destroy(&w.done);
}

static void e2e_latency(const struct options *o)
{
	double *us = calloc(o->e2e_samples, sizeof *us);
	uint64_t rng = 1234567;
	struct asys_call c, *l[] = { &c };
	unsigned k;

	if (!us)
		die("calloc");
	for (k = 0; k < o->e2e_samples; k++) {
		struct timespec to = { 10, 0 };
		int64_t t0;

		prep_read(&c, 0, &rng);
		t0 = now_ns();
		if (asys_submit(l, 1) != 0 || asys_wait(&c, &to) != 0)
			die("asys_submit/asys_wait");
		us[k] = (double)(now_ns() - t0) / 1e3;
		check_result(&c);
	}
	print_percentiles("submit -> asys_wait returns (pread64)", us, o->e2e_samples);
	for (k = 0; k < o->e2e_samples; k++) {
		int64_t t0 = now_ns();

		if (pread(g_fd, g_bufs, BLOCK, random_block(&rng)) != BLOCK)
			die("pread");
		us[k] = (double)(now_ns() - t0) / 1e3;
	}
	print_percentiles("pread(2) on the calling thread", us, o->e2e_samples);
	free(us);
}

static void latency(const struct options *o)
{
	printf("\nLatency (microseconds)\n\n");
	printf("  %-38s %8s %8s %8s %9s %8s\n", "what", "p50", "p90", "p99", "max", "samples");
	printf("  %-38s %8s %8s %8s %9s %8s\n", "----", "---", "---", "---", "---", "-------");
	wake_latency(o);
	e2e_latency(o);
}

static void usage(FILE *f)
{
	fprintf(f, "usage: asys-bench [--quick]\n"
		   "  --quick   short runs (well under 10 s in all)\n");
}

int main(int argc, char **argv)
{
	struct options o = { .run_sec = 2.0, .wake_samples = 5000, .e2e_samples = 50000 };
	struct asys_config cfg;
	struct utsname u;
	double t0 = now();
	int i;

	for (i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--quick")) {
			o.run_sec = 0.25;
			o.wake_samples = 1000;
			o.e2e_samples = 5000;
		} else if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
			usage(stdout);
			return 0;
		} else {
			usage(stderr);
			return 2;
		}
	}
	g_bufs = aligned_alloc(BLOCK, (size_t)MAX_DEPTH * BLOCK);
	if (!g_bufs)
		die("aligned_alloc");
	make_file();
	if (asys_configure(NULL, &cfg) != 0)
		die("asys_configure");
	uname(&u);
	printf("asys-bench%s: Linux %s, %ld CPUs online, thread backend: max_threads %u, "
	       "max_blocking_threads %u, idle_msec %u\n",
	       o.run_sec < 1 ? " --quick" : "", u.release, sysconf(_SC_NPROCESSORS_ONLN),
	       cfg.max_threads, cfg.max_blocking_threads, cfg.idle_msec);
	throughput(&o);
	latency(&o);
	printf("\ntotal time %.1f s\n", now() - t0);
	close(g_fd);
	free(g_bufs);
	return 0;
}
