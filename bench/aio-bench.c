/*
 * aio-bench: POSIX AIO micro-benchmarks, one figure per run.
 *
 * Built against the system's <aio.h> and glibc alone, like any program:
 * run as it is, it measures glibc; under LD_PRELOAD=librtaio.so, rtaio
 * (RTAIO_BACKEND picks the backend).  bench/compare.sh runs it both ways.
 *
 *   aio-bench sigev-thread [N]   4 KiB page-cached reads, 64 in flight, each
 *                                notified by SIGEV_THREAD: completions/s and
 *                                submit-to-callback latency
 *   aio-bench sigev-signal [N]   the same with SIGEV_SIGNAL, taken by sigwaitinfo
 *   aio-bench suspend-wake [N]   a pipe read; a thread sleeps in aio_suspend,
 *                                another writes: write-to-return latency
 *   aio-bench listio B [N]       lio_listio(LIO_WAIT) batches of B page-cached
 *                                4 KiB reads: reads/s
 *   aio-bench outstanding [N]    N pipe reads pending at once (default 10000,
 *                                10 per pipe): memory per request, threads
 *   aio-bench read-cpu [N]       N page-cached 4 KiB reads one at a time
 *                                (aio_read, aio_error, aio_return): CPU time
 *                                of the calling thread per read, and the
 *                                share served inside aio_read
 *
 * Output: "name value unit" lines, for the driver to parse.  Nothing here
 * asserts anything about time.
 */
#include <aio.h>
#include <signal.h>
#include <sys/resource.h>

#include "benchutil.h"

/* --- notifications: N reads, DEPTH in flight --- */

struct slot {
	struct aiocb cb;
	uint64_t submitted;
	char buf[BLOCK];
};

static struct slot slots[DEPTH];
static uint64_t *lat;
static unsigned long done_count;
static sem_t free_slots;
static pthread_mutex_t slot_lock = PTHREAD_MUTEX_INITIALIZER;
static int free_list[DEPTH], nfree;

static void finish(struct slot *s)
{
	uint64_t t = now_ns();
	unsigned long i = __atomic_fetch_add(&done_count, 1, __ATOMIC_RELAXED);

	if (aio_error(&s->cb) != 0 || aio_return(&s->cb) != BLOCK) {
		die("read", EIO);
	}
	lat[i] = t - s->submitted;
	pthread_mutex_lock(&slot_lock);
	free_list[nfree++] = (int)(s - slots);
	pthread_mutex_unlock(&slot_lock);
	sem_post(&free_slots);
}

static void on_thread(union sigval v)
{
	finish(v.sival_ptr);
}

static void *signal_taker(void *arg)
{
	unsigned long n = *(unsigned long *)arg, i;
	sigset_t set;
	siginfo_t si;

	sigemptyset(&set);
	sigaddset(&set, SIGRTMIN);
	for (i = 0; i < n; i++) {
		while (sigwaitinfo(&set, &si) < 0)
			;
		finish(si.si_value.sival_ptr);
	}
	return NULL;
}

static void notifications(int how, unsigned long n)
{
	int fd = cached_file(), i;
	pthread_t taker;
	sigset_t set;
	uint64_t t0;
	unsigned long k;

	lat = calloc(n, sizeof *lat);
	if (!lat)
		die("calloc", ENOMEM);
	sem_init(&free_slots, 0, DEPTH);
	for (i = 0; i < DEPTH; i++)
		free_list[nfree++] = i;
	if (how == SIGEV_SIGNAL) {
		sigemptyset(&set);
		sigaddset(&set, SIGRTMIN);
		pthread_sigmask(SIG_BLOCK, &set, NULL);
		if (pthread_create(&taker, NULL, signal_taker, &n))
			die("pthread_create", errno);
	}
	t0 = now_ns();
	for (k = 0; k < n; k++) {
		struct slot *s;

		while (sem_wait(&free_slots) < 0)
			;
		pthread_mutex_lock(&slot_lock);
		s = &slots[free_list[--nfree]];
		pthread_mutex_unlock(&slot_lock);
		memset(&s->cb, 0, sizeof s->cb);
		s->cb.aio_fildes = fd;
		s->cb.aio_buf = s->buf;
		s->cb.aio_nbytes = BLOCK;
		s->cb.aio_offset = random_block();
		s->cb.aio_sigevent.sigev_notify = how;
		s->cb.aio_sigevent.sigev_signo = SIGRTMIN;
		s->cb.aio_sigevent.sigev_notify_function = on_thread;
		s->cb.aio_sigevent.sigev_value.sival_ptr = s;
		s->submitted = now_ns();
		if (aio_read(&s->cb) < 0)
			die("aio_read", errno);
	}
	for (i = 0; i < DEPTH; i++)
		while (sem_wait(&free_slots) < 0)
			;
	printf("completions %.0f per_s\n", (double)n * 1e9 / (double)(now_ns() - t0));
	print_p50("latency_p50", lat, n);
	if (how == SIGEV_SIGNAL)
		pthread_join(taker, NULL);
}

/* --- aio_suspend wake-up --- */

static void suspend_wake(unsigned long n)
{
	struct waker w;
	pthread_t th;
	unsigned long i;
	char byte;

	lat = calloc(n, sizeof *lat);
	if (!lat)
		die("calloc", ENOMEM);
	start_waker(&w, n, &th);
	for (i = 0; i < n; i++) {
		struct aiocb cb = { .aio_fildes = w.p[0], .aio_buf = &byte, .aio_nbytes = 1 };
		const struct aiocb *list[1] = { &cb };

		cb.aio_sigevent.sigev_notify = SIGEV_NONE;
		if (aio_read(&cb) < 0)
			die("aio_read", errno);
		sem_post(&w.armed);
		while (aio_error(&cb) == EINPROGRESS)
			aio_suspend(list, 1, NULL);
		lat[i] = now_ns() - w.written_at;
		if (aio_return(&cb) != 1)
			die("pipe read", EIO);
	}
	pthread_join(th, NULL);
	print_p50("wake_p50", lat, n);
}

/* --- lio_listio batches --- */

static void listio(unsigned batch, unsigned long n)
{
	int fd = cached_file();
	struct aiocb *cb = calloc(batch, sizeof *cb);
	struct aiocb **list = calloc(batch, sizeof *list);
	char *buf = malloc((size_t)batch * BLOCK);
	unsigned long k;
	unsigned i;
	uint64_t t0;

	if (!cb || !list || !buf)
		die("calloc", ENOMEM);
	t0 = now_ns();
	for (k = 0; k < n; k += batch) {
		for (i = 0; i < batch; i++) {
			memset(&cb[i], 0, sizeof cb[i]);
			cb[i].aio_fildes = fd;
			cb[i].aio_lio_opcode = LIO_READ;
			cb[i].aio_buf = buf + (size_t)i * BLOCK;
			cb[i].aio_nbytes = BLOCK;
			cb[i].aio_offset = random_block();
			list[i] = &cb[i];
		}
		if (lio_listio(LIO_WAIT, list, (int)batch, NULL) < 0)
			die("lio_listio", errno);
	}
	printf("reads %.0f per_s\n", (double)k * 1e9 / (double)(now_ns() - t0));
}

/* --- many outstanding requests --- */

static long rss_kib(void)
{
	long pages = 0, resident = 0;
	FILE *f = fopen("/proc/self/statm", "r");

	if (!f || fscanf(f, "%ld %ld", &pages, &resident) != 2)
		die("statm", errno);
	fclose(f);
	return resident * (sysconf(_SC_PAGESIZE) / 1024);
}

static int threads_now(void)
{
	char line[256];
	int n = -1;
	FILE *f = fopen("/proc/self/status", "r");

	if (!f)
		die("status", errno);
	while (fgets(line, sizeof line, f))
		if (sscanf(line, "Threads: %d", &n) == 1)
			break;
	fclose(f);
	return n;
}

static void outstanding(unsigned long n)
{
	unsigned long npipes = (n + 9) / 10, i;
	struct rlimit rl;
	int (*p)[2] = calloc(npipes, sizeof *p);
	struct aiocb *cb = calloc(n, sizeof *cb);
	char *bytes = calloc(n, 1);
	long before;

	if (!p || !cb || !bytes)
		die("calloc", ENOMEM);
	getrlimit(RLIMIT_NOFILE, &rl);
	rl.rlim_cur = rl.rlim_max;
	setrlimit(RLIMIT_NOFILE, &rl);
	for (i = 0; i < npipes; i++)
		if (pipe2(p[i], O_CLOEXEC))
			die("pipe2", errno);
	before = rss_kib();
	for (i = 0; i < n; i++) {
		cb[i].aio_fildes = p[i % npipes][0];
		cb[i].aio_buf = &bytes[i];
		cb[i].aio_nbytes = 1;
		cb[i].aio_sigevent.sigev_notify = SIGEV_NONE;
		if (aio_read(&cb[i]) < 0)
			die("aio_read", errno);
	}
	printf("memory_per_request %.0f bytes\n", (double)(rss_kib() - before) * 1024.0 / (double)n);
	printf("threads %d count\n", threads_now());
	for (i = 0; i < npipes; i++)
		if (write(p[i][1], "0123456789", 10) != 10)
			die("write", errno);
	for (i = 0; i < n; i++) {
		const struct aiocb *list[1] = { &cb[i] };

		while (aio_error(&cb[i]) == EINPROGRESS)
			aio_suspend(list, 1, NULL);
		if (aio_return(&cb[i]) != 1)
			die("pipe read", EIO);
	}
}

/* --- CPU time of a cached read, start to finish, in the submitting thread --- */

static uint64_t thread_cpu_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static void read_cpu(unsigned long n)
{
	int fd = cached_file();
	static char buf[BLOCK];
	struct aiocb cb;
	const struct aiocb *list[1] = { &cb };
	unsigned long i, at_once = 0;
	uint64_t t0;

	t0 = thread_cpu_ns();
	for (i = 0; i < n; i++) {
		memset(&cb, 0, sizeof cb);
		cb.aio_fildes = fd;
		cb.aio_buf = buf;
		cb.aio_nbytes = BLOCK;
		cb.aio_offset = random_block();
		if (aio_read(&cb) < 0)
			die("aio_read", errno);
		if (aio_error(&cb) != EINPROGRESS)
			at_once++;
		while (aio_error(&cb) == EINPROGRESS)
			aio_suspend(list, 1, NULL);
		if (aio_return(&cb) != BLOCK)
			die("read", EIO);
	}
	printf("cpu_per_read %.3f us\n", (double)(thread_cpu_ns() - t0) / 1e3 / (double)n);
	printf("served_at_once %.3f share\n", (double)at_once / (double)n);
}

int main(int argc, char **argv)
{
	const char *mode = argc > 1 ? argv[1] : "";

	if (!strcmp(mode, "sigev-thread"))
		notifications(SIGEV_THREAD, argc > 2 ? strtoul(argv[2], NULL, 0) : 20000);
	else if (!strcmp(mode, "sigev-signal"))
		notifications(SIGEV_SIGNAL, argc > 2 ? strtoul(argv[2], NULL, 0) : 20000);
	else if (!strcmp(mode, "suspend-wake"))
		suspend_wake(argc > 2 ? strtoul(argv[2], NULL, 0) : 2000);
	else if (!strcmp(mode, "listio") && argc > 2)
		listio((unsigned)strtoul(argv[2], NULL, 0),
		       argc > 3 ? strtoul(argv[3], NULL, 0) : 200000);
	else if (!strcmp(mode, "outstanding"))
		outstanding(argc > 2 ? strtoul(argv[2], NULL, 0) : 10000);
	else if (!strcmp(mode, "read-cpu"))
		read_cpu(argc > 2 ? strtoul(argv[2], NULL, 0) : 300000);
	else {
		fprintf(stderr, "usage: aio-bench sigev-thread|sigev-signal|suspend-wake|"
				"listio B|outstanding|read-cpu [N]\n");
		return 2;
	}
	return 0;
}
