/*
 * The statistics report: RTAIO_STATS=1 writes it to stderr when the process
 * exits (or the library is unloaded), RTAIO_STATS=FILE appends it to FILE
 * (%p: the pid), and rtaio_stats(fd) writes it on demand.
 *
 * A process that made no request writes no report at exit: a preloaded
 * rtaio lands in every process that a wrapped command starts, most of which
 * never use AIO.  A fork child counts its own requests from zero.
 *
 * Writing the report reads counters, formats them on the stack and calls
 * write(2): no lock, no allocation, no stdio, so it is async-signal-safe,
 * and at exit it never waits for a request that is still running.
 *
 * A request the program has seen done is in the report: its latency (from
 * submission to its status) is counted just before the status is
 * published, and the notification it asks for at submission.  Latencies
 * go in a log2 histogram per operation: a percentile is reported as the
 * upper bound of its bucket ("p99 < 64 us"), the maximum exactly.
 */
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "rtaio.h"
#include "stats.h"

enum { OP_READ, OP_WRITE, OP_FSYNC, OP_FDATASYNC, OP_INVALID, NOPS };
enum { KIND_FILE, KIND_DIRECT, KIND_STREAM, KIND_OTHER, NKINDS };
#define BUCKETS 64	/* bucket i: latencies in [2^(i-1), 2^i) ns; bucket 0: 0 ns */

static const char *const op_names[NOPS] = { "read", "write", "fsync", "fdatasync", "invalid" };
static const char *const kind_names[NKINDS] = { "file", "direct", "pipe-or-socket", "other" };

bool aio__stats_on;

/* Where the report goes at exit: "" for stderr, else a path that may hold %p. */
static char target[PATH_MAX];

static struct {
	uint64_t requests[NOPS];
	uint64_t kinds[NKINDS];
	uint64_t events[AIO__NEVENTS];
	uint64_t pending, peak;
	uint64_t latency[NOPS][BUCKETS];
	uint64_t max_ns[NOPS];
	uint64_t note_threads;	/* counted on or off: thread starts are rare */
} stats;

static void bump(uint64_t *counter)
{
	__atomic_fetch_add(counter, 1, __ATOMIC_RELAXED);
}

static uint64_t get(const uint64_t *counter)
{
	return __atomic_load_n(counter, __ATOMIC_RELAXED);
}

static void raise_to(uint64_t *max, uint64_t v)
{
	uint64_t m = get(max);

	while (v > m && !__atomic_compare_exchange_n(max, &m, v, true, __ATOMIC_RELAXED,
						     __ATOMIC_RELAXED))
		;
}

static uint64_t now_ns(void)
{
	struct timespec ts;

	asys__now(&ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static int op_index(int op)
{
	switch (op) {
	case LIO_READ:
		return OP_READ;
	case LIO_WRITE:
		return OP_WRITE;
	case AIO__FSYNC:
		return OP_FSYNC;
	case AIO__FDATASYNC:
		return OP_FDATASYNC;
	default:
		return OP_INVALID;
	}
}

/*
 * A pipe or a socket?  Submission may have learnt that the fd is not
 * seekable from an ESPIPE alone (nowait.c), without asking what it is.
 */
static bool stream(struct aio__fdtype *t)
{
	struct stat st;

	if (t->stream == -1)
		t->stream = fstat(t->fd, &st) == 0 && (S_ISFIFO(st.st_mode) || S_ISSOCK(st.st_mode));
	return t->stream;
}

static int fd_kind(struct aio__fdtype *t)
{
	int seekable, flags;

	/* what submission took it for, without asking: asking would change its path */
	if (t->buffered == 1 || t->unverified == 1)
		return KIND_FILE;
	seekable = aio__fd_seekable(t);
	if (seekable < 0)
		return KIND_OTHER;
	if (!seekable)
		return stream(t) ? KIND_STREAM : KIND_OTHER;
	flags = aio__fd_flags(t);
	return flags >= 0 && (flags & O_DIRECT) ? KIND_DIRECT : KIND_FILE;
}

void aio__stats_count(enum aio__event ev)
{
	bump(&stats.events[ev]);
}

/* Signal 0 sends nothing (notify.c): a zeroed aiocb asks for no notification. */
static void count_notification(const struct aio__notification *n)
{
	switch (n->notify) {
	case SIGEV_SIGNAL:
		aio__stats_count(n->signo ? AIO__EV_NOTE_SIGNAL : AIO__EV_NOTE_NONE);
		break;
	case SIGEV_THREAD:
		aio__stats_count(AIO__EV_NOTE_THREAD);
		break;
	case SIGEV_THREAD_ID:
		aio__stats_count(n->signo ? AIO__EV_NOTE_THREAD_ID : AIO__EV_NOTE_NONE);
		break;
	default:
		aio__stats_count(AIO__EV_NOTE_NONE);
		break;
	}
}

void aio__stats_list(const struct aio__notification *n)
{
	aio__stats_count(AIO__EV_LIST);
	count_notification(n);
}

void aio__stats_submitted(struct aio__request *r)
{
	bump(&stats.requests[op_index(r->op)]);
	count_notification(&r->note);
	raise_to(&stats.peak, __atomic_add_fetch(&stats.pending, 1, __ATOMIC_RELAXED));
	r->submitted_ns = now_ns();
}

static int bucket_of(uint64_t ns)
{
	int b = ns ? BUCKETS - __builtin_clzl(ns) : 0;

	return b < BUCKETS ? b : BUCKETS - 1;
}

void aio__stats_fd(struct aio__fdtype *t)
{
	bump(&stats.kinds[fd_kind(t)]);
}

/*
 * A request that succeeds without ever having been entered in its fd's
 * table (r->fd) completed at submission: the reads that the page cache
 * served (nowait.c), counted here rather than there, where a hook would
 * cost the hot path more than this test costs when statistics are on.
 */
void aio__stats_finished(const struct aio__request *r, bool ran, long result)
{
	uint64_t ns;
	int op = op_index(r->op);

	__atomic_fetch_sub(&stats.pending, 1, __ATOMIC_RELAXED);
	if (!ran) {
		bump(&stats.events[AIO__EV_REFUSED]);
		return;
	}
	if (!r->fd && result >= 0)
		bump(&stats.events[AIO__EV_INLINE]);
	ns = now_ns() - r->submitted_ns;
	bump(&stats.latency[op][bucket_of(ns)]);
	raise_to(&stats.max_ns[op], ns);
}

void aio__stats_thread_started(void)
{
	bump(&stats.note_threads);
}

void aio__stats_init(void)
{
	const char *s = secure_getenv("RTAIO_STATS");

	if (!s || !*s || !strcmp(s, "0"))
		return;
	/* a path too long for open() falls back to stderr: the report is not lost */
	if (strcmp(s, "1") && strlen(s) < sizeof target)
		strcpy(target, s);
	__atomic_store_n(&aio__stats_on, true, __ATOMIC_RELAXED);
}

void aio__stats_fork_child(void)
{
	memset(&stats, 0, sizeof stats);
}

/* --- the report --- */

/* A line-buffered writer to an fd, on the stack. */
struct out {
	int fd;
	int err;	/* the first write error, as -errno */
	size_t n;
	char buf[512];
};

static void flush(struct out *o)
{
	size_t done = 0;
	ssize_t w;

	while (done < o->n && !o->err) {
		w = write(o->fd, o->buf + done, o->n - done);
		if (w < 0 && errno != EINTR)
			o->err = -errno;
		else if (w > 0)
			done += (size_t)w;
	}
	o->n = 0;
}

static void put(struct out *o, const char *s)
{
	while (*s) {
		if (o->n == sizeof o->buf)
			flush(o);
		o->buf[o->n++] = *s++;
	}
}

static void put_num(struct out *o, uint64_t v)
{
	char digits[24], *p = digits + sizeof digits;

	*--p = '\0';
	do
		*--p = (char)('0' + v % 10);
	while (v /= 10);
	put(o, p);
}

/* ns, in a unit that keeps it to four or five digits, rounded up. */
static void put_duration(struct out *o, uint64_t ns)
{
	static const char *const units[] = { " ns", " us", " ms", " s" };
	unsigned u = 0;

	while (u < 3 && ns >= 10000) {
		ns = (ns + 999) / 1000;
		u++;
	}
	put_num(o, ns);
	put(o, units[u]);
}

/* "label: name1 v1, name2 v2, ...\n" */
static void put_counts(struct out *o, const char *label, const char *const names[],
		       const uint64_t *values, int n)
{
	int i;

	put(o, label);
	put(o, ":");
	for (i = 0; i < n; i++) {
		put(o, i ? ", " : " ");
		put(o, names[i]);
		put(o, " ");
		put_num(o, get(&values[i]));
	}
	put(o, "\n");
}

/* The upper bound of the bucket that holds the pct-th percentile of n latencies. */
static uint64_t percentile(const uint64_t hist[BUCKETS], uint64_t n, unsigned pct)
{
	uint64_t seen = 0;
	int i;

	for (i = 0; i < BUCKETS - 1; i++) {
		seen += get(&hist[i]);
		if (seen * 100 >= n * pct)
			break;
	}
	return i ? 1ul << i : 1;
}

static void put_latency(struct out *o, int op)
{
	uint64_t n = 0;
	int i;

	for (i = 0; i < BUCKETS; i++)
		n += get(&stats.latency[op][i]);
	if (!n)
		return;
	put(o, "latency ");
	put(o, op_names[op]);
	put(o, ": count ");
	put_num(o, n);
	put(o, ", p50 < ");
	put_duration(o, percentile(stats.latency[op], n, 50));
	put(o, ", p99 < ");
	put_duration(o, percentile(stats.latency[op], n, 99));
	put(o, ", max ");
	put_duration(o, get(&stats.max_ns[op]));
	put(o, "\n");
}

/* Why the kernel may have refused a ring, where the error number suggests it. */
static const char *ring_hint(int err)
{
	switch (err) {
	case EPERM:
		return " (seccomp, or sysctl kernel.io_uring_disabled?)";
	case ENOSYS:
		return " (a kernel without io_uring, or older than 5.6)";
	case ENOMEM:
		return " (RLIMIT_MEMLOCK too low for the ring?)";
	case EMFILE:
	case ENFILE:
		return " (out of file descriptors)";
	case EAGAIN:
		return " (no thread could be started for the ring)";
	default:
		return "";
	}
}

static void put_ring_refusal(struct out *o, int err)
{
	const char *name = strerrorname_np(err);

	put(o, "io_uring refused: ");
	if (name)
		put(o, name);
	else
		put_num(o, (uint64_t)err);
	put(o, ring_hint(err));
}

static void put_backend(struct out *o, const struct asys__stats *e)
{
	put(o, "backend: ");
	if (!e->choice) {
		put(o, "not set up (no request yet)\n");
		return;
	}
	if (!strcmp(e->choice, "threads")) {
		put(o, "threads (RTAIO_BACKEND=threads)\n");
	} else if (e->ring == 1) {
		put(o, "io_uring (RTAIO_BACKEND=");
		put(o, e->choice);
		put(o, "; operations io_uring lacks go to worker threads)\n");
	} else if (e->ring == -EBADF) {
		/* a ring that ran, and that the program took away (asys's retire()) */
		put(o, "threads (RTAIO_BACKEND=");
		put(o, e->choice);
		put(o, ": io_uring given up: the program closed the ring's descriptors)\n");
	} else if (e->ring < 0 && !strcmp(e->choice, "uring")) {
		put(o, "none (RTAIO_BACKEND=uring: ");
		put_ring_refusal(o, -e->ring);
		put(o, "; every request failed with EAGAIN)\n");
	} else if (e->ring < 0) {
		put(o, "threads (RTAIO_BACKEND=auto: ");
		put_ring_refusal(o, -e->ring);
		put(o, ")\n");
	} else {
		put(o, "io_uring (RTAIO_BACKEND=");
		put(o, e->choice);
		put(o, "), no ring needed yet: requests ran on worker threads or at submission\n");
	}
}

static int write_report(int fd)
{
	static const char *const note_names[] = { "none", "signal", "thread", "thread_id" };
	static const char *const cancel_names[] = { "AIO_CANCELED", "AIO_NOTCANCELED",
						    "AIO_ALLDONE" };
	static const char *const thread_names[] = { "workers", "ring", "notification" };
	struct out o = { .fd = fd };
	struct asys__stats e;
	uint64_t threads[3];
	size_t records = aio__request_records();	/* one look: count and bytes agree */
	int op;

	asys__stats(&e);
	put(&o, "rtaio statistics, pid ");
	put_num(&o, (uint64_t)getpid());
	put(&o, "\n");
	put_backend(&o, &e);
	threads[0] = e.workers;
	threads[1] = e.ring_threads;
	threads[2] = get(&stats.note_threads);
	put_counts(&o, "threads started", thread_names, threads, 3);
	put(&o, "request records: ");
	put_num(&o, records);
	put(&o, " allocated (");
	put_num(&o, records * sizeof(struct aio__request));
	put(&o, " bytes)\n");
	put(&o, "reads sent to the device at submission: ");
	put_num(&o, e.reads_owed);
	put(&o, " (rings of them found done with no wake-up: ");
	put_num(&o, e.owed_unwoken);
	put(&o, ")\n");
	put(&o, "O_DIRECT reads sent to the device by their submitting thread: ");
	put_num(&o, e.reads_direct);
	put(&o, " (refused by the device and sent again the usual way: ");
	put_num(&o, e.reads_refused);
	put(&o, ")\n");
	if (!aio__stats_enabled()) {
		put(&o, "requests: not counted (RTAIO_STATS unset)\n");
		flush(&o);
		return o.err;
	}
	put_counts(&o, "requests", op_names, stats.requests, NOPS);
	put_counts(&o, "fd kinds", kind_names, stats.kinds, NKINDS);
	put(&o, "completed at submission: ");
	put_num(&o, get(&stats.events[AIO__EV_INLINE]));
	put(&o, "\nlio_listio lists: ");
	put_num(&o, get(&stats.events[AIO__EV_LIST]));
	put(&o, "\nwrites sent on a look at their fd under a second old: ");
	put_num(&o, get(&stats.events[AIO__EV_UNASKED]));
	put(&o, "\nwrites that found a stream where a file was: ");
	put_num(&o, get(&stats.events[AIO__EV_RESTREAMED]));
	put(&o, "\nfsyncs that shared the result of the one before them: ");
	put_num(&o, get(&stats.events[AIO__EV_SYNC_SHARED]));
	put(&o, "\nrefused by the engine: ");
	put_num(&o, get(&stats.events[AIO__EV_REFUSED]));
	put(&o, "\npending: peak ");
	put_num(&o, get(&stats.peak));
	put(&o, ", now ");
	put_num(&o, get(&stats.pending));
	put(&o, "\n");
	for (op = 0; op < NOPS; op++)
		put_latency(&o, op);
	put_counts(&o, "notifications asked", note_names, &stats.events[AIO__EV_NOTE_NONE], 4);
	put_counts(&o, "aio_cancel", cancel_names, &stats.events[AIO__EV_CANCELED], 3);
	flush(&o);
	return o.err;
}

int rtaio_stats(int fd)
{
	int saved = errno, err = write_report(fd);

	if (err) {
		errno = -err;
		return -1;
	}
	errno = saved;
	return 0;
}

/* target with every %p replaced by the pid; false if it does not fit. */
static bool expand(char *path, size_t size)
{
	char pid[24], *p = pid + sizeof pid;
	uint64_t v = (uint64_t)getpid();
	const char *s;
	size_t n = 0, len;

	*--p = '\0';
	do
		*--p = (char)('0' + v % 10);
	while (v /= 10);
	for (s = target; *s; s++) {
		const char *piece = s[0] == '%' && s[1] == 'p' ? p : NULL;

		len = piece ? strlen(piece) : 1;
		if (n + len >= size)
			return false;
		memcpy(path + n, piece ? piece : s, len);
		n += len;
		s += piece != NULL;
	}
	path[n] = '\0';
	return true;
}

void aio__stats_at_exit(void)
{
	char path[PATH_MAX];
	uint64_t requests = 0;
	int op, fd = STDERR_FILENO;

	if (!aio__stats_enabled())
		return;
	for (op = 0; op < NOPS; op++)
		requests += get(&stats.requests[op]);
	if (!requests)
		return;
	if (*target) {
		if (!expand(path, sizeof path))
			return;
		fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0666);
		if (fd < 0)
			return;
	}
	write_report(fd);
	if (fd != STDERR_FILENO)
		close(fd);
}
