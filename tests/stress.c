/*
 * Stress: several threads submit a mix of POSIX AIO requests at once while
 * other threads cancel them, wait for them and fork, and every result is
 * checked.  A standalone program, not a Check suite: it exits 0 when every
 * check passed and 1 with a precise message at the first one that did not.
 * tests/stress.sh runs it under each configuration (backend, inline reads).
 *
 * What runs concurrently:
 *   - submitters (-t): each owns a window of aiocbs (slots) and a set of
 *     regions of one shared regular file, and submits aio_read and
 *     aio_write at those regions, reads of its own pipe or socketpair,
 *     aio_fsync of the shared file, and lio_listio batches (LIO_WAIT and
 *     LIO_NOWAIT, with or without a list notification); every request asks
 *     for SIGEV_NONE, SIGEV_SIGNAL, SIGEV_THREAD_ID or SIGEV_THREAD.  It
 *     waits with aio_suspend (short timeouts) and harvests what is final;
 *   - a writer feeding every pipe and socketpair with a numbered byte stream;
 *   - a canceller: aio_cancel(fd, NULL) on the file or a pipe, and
 *     aio_cancel(fd, cb) on a random request of a random submitter; now and
 *     then it interrupts a submitter or the waiter with SIGUSR1 (EINTR);
 *   - a signal thread taking the SIGEV_SIGNAL notifications (sigtimedwait):
 *     their signal is queued to it (SIGEV_THREAD_ID), not to the process,
 *     since a SIGEV_THREAD function runs with no signal blocked, as under
 *     glibc, and a process-directed signal would end the process there;
 *   - an evictor: now and then part of the file is flushed and dropped from
 *     the page cache, so that reads wait for the disk, and inline reads find
 *     part of their bytes cached;
 *   - a waiter: aio_suspend, with short timeouts, on requests of other
 *     threads;
 *   - a forker: fork(); the child checks that it inherited no request in
 *     progress, runs requests of its own on a file of its own, and reports
 *     through its exit status;
 *   - the main thread: a watchdog (no progress for --hang-sec seconds is a
 *     failure, with a list of what is still pending) and the final checks.
 *
 * What is checked:
 *   - every request ends exactly once: aio_error goes from EINPROGRESS to a
 *     final value that does not change, aio_return (called once) agrees
 *     with it: the full length for file I/O, 0 for a flush, 1..nbytes for a
 *     pipe read, or -1 with ECANCELED; nothing else is accepted;
 *   - data: a region of the file only ever holds one whole generation, and
 *     a region has either one write or any number of reads in flight, so
 *     every read must return exactly the generation that the region holds
 *     (a cancelled write must leave the old one); a cancelled read must
 *     leave its whole buffer as it was before submission (a read that
 *     aio_read served in part from the page cache has run: aio_cancel must
 *     answer AIO_NOTCANCELED to it), and a read must not write past the
 *     bytes it returns; the pipe reads of a submitter, taken in submission
 *     order, must return the stream without a byte lost or duplicated, and
 *     none may finish before one submitted before it on the same fd (rtaio
 *     runs them in order);
 *   - a successful aio_fsync comes after every request that its submitter
 *     queued on the file before it;
 *   - notifications: exactly one per request (and per LIO_NOWAIT list) that
 *     asked for one, cancelled ones included, of the kind asked for, on the
 *     thread asked for (SIGEV_THREAD_ID), with si_code SI_ASYNCIO, and only
 *     once the status is final (for a list: every element's);
 *   - aio_suspend returns 0 only when a listed request is final, never
 *     times out when one was final before the call, never before its
 *     timeout, and never hangs; aio_cancel answers AIO_CANCELED only with
 *     the status ECANCELED in place, AIO_ALLDONE only with a final status;
 *     lio_listio(LIO_WAIT) returns with every element final (unless EINTR),
 *     0 only if every element succeeded;
 *   - at the end: requests = completed + cancelled + refused (EAGAIN at
 *     submission), none left in progress, the file holds what the last
 *     successful write of each region wrote, each stream's unread rest
 *     follows on what was read, notifications received = expected, the
 *     threads of the backend asked for are the ones that ran, and a run of
 *     COVERAGE_MIN requests or more saw every kind of request, list,
 *     notification, cancellation and fork (so that it cannot pass having
 *     checked little).
 *
 * Usage: stress [-n REQUESTS] [-t THREADS] [-s SEED] [-w WINDOW]
 *               [--fork-ms MS (0: no fork)] [--hang-sec S] [-q]
 *        stress --probe-uring    exit 0 if io_uring works here, else 77
 * RTAIO_TEST_SCALE=N divides the request count (sanitizer builds).
 */
#include <aio.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdarg.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>

#include "aioutil.h"

#define REGION 4096u		/* bytes per region: one generation at a time */
#define BASE 1000u		/* regions start here: they straddle pages */
#define REGIONS 64u		/* per submitter */
#define MAX_THREADS 64u
#define MAX_WINDOW 1024u
#define PIPE_MAX 4u		/* pipe reads in flight per submitter */
#define PIPE_LEN 4096u		/* the longest pipe read */
#define LIST_MAX 16u		/* elements per lio_listio */
#define LISTS 2u		/* LIO_NOWAIT lists with a notification, per submitter */
#define GUARD 64u		/* canary bytes past every buffer */
#define CANARY 0xa5
#define CHILD_BLOCKS 8
#define CHILD_TIMEOUT_MS 30000L	/* then the parent shows what the child is in, and kills it */
#define CHILD_ALARM_SEC 60	/* a child whose parent is gone ends anyway */
#define COVERAGE_MIN 20000ul	/* requests enough for every behaviour to show */

#define LOAD(p) __atomic_load_n(p, __ATOMIC_ACQUIRE)
#define STORE(p, v) __atomic_store_n(p, v, __ATOMIC_RELEASE)
#define ADD(p, v) __atomic_fetch_add(p, v, __ATOMIC_ACQ_REL)

/* What a slot's request does. */
enum kind { K_NONE, K_READ, K_WRITE, K_PIPE, K_FSYNC, K_KINDS };
static const char *const kind_name[] = { "none", "aio_read (file)", "aio_write (file)",
					 "aio_read (pipe)", "aio_fsync" };

/*
 * slot.pin: who may look at the aiocb.  The owner submits in BUSY and then
 * stores LIVE; the canceller and the waiter take LIVE -> PINNED for the
 * time of an aio_cancel or aio_suspend and put LIVE back; the owner takes
 * LIVE -> BUSY before aio_return, so that nobody else touches an aiocb
 * that it may reuse (POSIX: the aiocb is the program's again from then on).
 */
enum { PIN_BUSY, PIN_LIVE, PIN_PINNED };

/* slot.phase, the owner's own */
enum { PH_FREE, PH_FLIGHT, PH_DONE };

/* What a submitter is doing, for a hang report. */
enum { DO_RUN, DO_SUBMIT, DO_SUSPEND, DO_LIO_WAIT, DO_HARVEST, DO_DRAIN, DO_FINISHED };
static const char *const doing_name[] = { "running", "submitting", "in aio_suspend",
					  "in lio_listio(LIO_WAIT)", "harvesting",
					  "draining", "finished" };

static const char *notify_name(int n)
{
	static const char *const names[] = { [SIGEV_SIGNAL] = "SIGEV_SIGNAL",
					     [SIGEV_NONE] = "SIGEV_NONE",
					     [SIGEV_THREAD] = "SIGEV_THREAD",
					     [SIGEV_THREAD_ID] = "SIGEV_THREAD_ID" };

	return n >= 0 && n < 5 && names[n] ? names[n] : "?";
}

/*
 * What the notification of a request or of a list must match.  The owner
 * writes the request's fields, then stores seq (release): a notification
 * carries seq in its value, so a late or duplicate one shows.
 */
struct notice {
	uint32_t seq;			/* atomic: the current request's number */
	uint32_t count;			/* atomic: notifications received for seq */
	int notify;			/* sigev_notify asked for */
	pid_t tid;			/* SIGEV_THREAD_ID: the thread */
};

struct slot {
	struct aiocb cb;
	unsigned char *buf;		/* REGION + GUARD bytes */
	uint32_t pin;			/* atomic: PIN_* */
	struct notice note;
	/* the request, written by the owner before it stores note.seq */
	int kind;
	int list;			/* a lists[] index, or -1 */
	unsigned region;		/* K_READ, K_WRITE: the submitter's region */
	size_t roff, len;		/* K_READ: bytes roff..roff+len of the region */
	uint64_t gen;			/* K_READ: expected generation; K_WRITE: new one */
	uint64_t reqno;			/* the submitter's request number */
	int opcode;			/* K_FSYNC: O_SYNC or O_DSYNC */
	/* the owner's bookkeeping */
	int phase;
	bool expect_note;
	double t_sent, t_done;
};

/* A LIO_NOWAIT list with a notification of its own. */
struct list {
	struct notice note;
	unsigned n;			/* elements (slot indices) */
	unsigned elem[LIST_MAX];
	bool busy;
	double t_sent;
};

struct region {
	uint64_t gen;			/* what the file holds */
	uint64_t last;			/* the newest generation handed to a write */
	uint64_t cancelled;		/* the last cancelled write's generation, or 0 */
	unsigned readers;
	bool writing;
};

struct suspend_counts {
	unsigned long calls, ok, again, intr;
};

/* A submitter's counts: unsigned longs only, summed as an array at the end. */
struct counts {
	unsigned long submitted, completed, cancelled, refused;
	unsigned long kinds[K_KINDS], pipe_bytes, inline_done;
	unsigned long lists_wait, lists_nowait, lio_intr;
	unsigned long notes_expected, list_notes_expected;
	struct suspend_counts suspend;
};

struct submitter {
	unsigned id;
	pthread_t th;
	pid_t tid;
	uint64_t rng;
	struct slot *slots;
	unsigned nslots;
	unsigned *freelist, nfree;
	struct region regions[REGIONS];
	struct list lists[LISTS];
	unsigned char *expect;		/* scratch: a region's expected bytes */
	struct aiocb nop;		/* a LIO_NOP element */
	/* the stream: a pipe or a socketpair, fed by the writer */
	int rfd, wfd;
	bool socket;
	uint64_t rpos;			/* bytes read (in order) so far */
	uint64_t wpos;			/* atomic: bytes the writer wrote */
	unsigned pq[PIPE_MAX], pq_head, pq_n;	/* pipe reads in flight, oldest first */
	unsigned fsyncs_in_flight;
	unsigned long quota;
	uint64_t reqno;
	struct counts c;
	uint32_t doing;			/* atomic: DO_* */
	uint32_t finished;		/* atomic */
};

static struct {
	unsigned long requests;
	unsigned threads, window, fork_ms, hang_sec;
	uint64_t seed;
	bool quiet;
	bool interrupts;		/* the canceller's SIGUSR1s */
} opt = { 1000000, 4, 32, 50, 60, 1, false, true };

/*
 * Why there are no SIGUSR1 interruptions under qemu-i386 (7.2): the
 * emulator keeps one GDT for all the threads, whose TLS entry holds the
 * TLS of the thread created last; sigreturn reloads %gs from it, and the
 * interrupted thread goes on with another thread's TLS (errno, its struct
 * pthread).  sigtimedwait then "fails" with another thread's errno
 * (EOPNOTSUPP: qemu refuses preadv2's RWF_NOWAIT), a new thread aborts
 * ("rseq registration failed").  A plain glibc program with a signal
 * handler and threads fails there the same way; Linux keeps the TLS
 * descriptors per thread, and qemu-x86_64 and qemu-aarch64 keep the
 * thread pointer per thread.
 */
#define QEMU_I386_SIGRETURN_TLS \
	"SIGUSR1 interruptions (EINTR): qemu-i386's sigreturn gives the thread another thread's TLS"

static struct submitter *submitters;
static int file_fd = -1;
static int sig_note, sig_tid;		/* SIGEV_SIGNAL's signal, SIGEV_THREAD_ID's */
static pid_t note_taker;		/* atomic: the thread that takes sig_note */
static int in_child;
static pid_t child_pid;			/* atomic: the fork child alive, or 0 */
static uint32_t failing;		/* atomic */
static uint32_t stop_helpers, stop_writer, stop_signals;	/* atomic */
static uint64_t interrupts;		/* atomic: SIGUSR1 handled */
static uint64_t progress;		/* atomic: harvests, notifications */
static uint64_t notes_by[5];		/* atomic: notifications received, per SIGEV_* */
static pthread_t waiter_th;
static pthread_attr_t detached_attr;
static const char *backend_env, *inline_env;
static const char *self_name = "stress";

/* What the helper threads did, for the summary and the coverage check. */
static struct {
	unsigned long cancel_fd_calls, cancel_cb_calls, answers[3];	/* AIO_* */
	struct suspend_counts waiter;
	unsigned long evictions, forks;
} helpers;

/* Shared with fork children, for the summary. */
struct child_report {
	uint64_t inherited, inherited_cancelled;
};
static struct child_report *creport;

/* In a fork child: its own notifications. */
static uint32_t child_notes[CHILD_BLOCKS * 2];

/* ---- failure ---- */

/*
 * Report the first failure, kill the fork child if any and exit 1; a
 * thread that fails meanwhile waits for that exit.
 */
static void die(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));
static void die(const char *fmt, ...)
{
	char msg[2048];
	va_list ap;
	pid_t kid;
	int n;

	if (__atomic_exchange_n(&failing, 1, __ATOMIC_ACQ_REL))
		for (;;)
			pause();
	n = snprintf(msg, sizeof msg, "stress: FAIL%s: ", in_child ? " in a fork child" : "");
	va_start(ap, fmt);
	n += vsnprintf(msg + n, sizeof msg - (size_t)n, fmt, ap);
	va_end(ap);
	if ((size_t)n < sizeof msg)
		n += snprintf(msg + n, sizeof msg - (size_t)n,
			      "\nstress: (seed %" PRIu64 ", %u threads, RTAIO_BACKEND=%s, "
			      "RTAIO_INLINE_READS=%s)\n",
			      opt.seed, opt.threads, backend_env ? backend_env : "(unset)",
			      inline_env ? inline_env : "(unset)");
	if ((size_t)n >= sizeof msg)
		n = sizeof msg - 1;
	if (write(2, msg, (size_t)n) < 0)
		n = 0;
	kid = LOAD(&child_pid);
	if (kid > 0 && !in_child)
		kill(kid, SIGKILL);
	_exit(1);
}

/* ---- small helpers ---- */

/* Pacing only (how often a helper acts): nothing waits for another thread by sleeping. */
static void nap_us(long us)
{
	struct timespec ts = { us / 1000000, (us % 1000000) * 1000 };

	nanosleep(&ts, NULL);
}

static uint64_t mix64(uint64_t x)
{
	x += 0x9e3779b97f4a7c15ull;
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
	x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
	return x ^ (x >> 31);
}

/* Uniform in 0..n-1 (n > 0), from the xorshift generator *s. */
static unsigned pick(uint64_t *s, unsigned n)
{
	uint64_t x = *s;

	x ^= x << 13;
	x ^= x >> 7;
	x ^= x << 17;
	*s = x;
	return (unsigned)(((x * 0x2545f4914f6cdd1dull) >> 32) % n);
}

/* A helper thread's generator: the seed, and a number of its own. */
static uint64_t helper_rng(unsigned salt)
{
	return opt.seed * 0x100000001b3ull + salt;
}

/* pread/pwrite the whole of it, retrying on EINTR (the notification signals). */
static void full_pio(bool wr, int fd, void *buf, size_t len, off_t off, const char *what)
{
	size_t done = 0;

	while (done < len) {
		ssize_t n = wr ? pwrite(fd, (char *)buf + done, len - done, off + (off_t)done)
			       : pread(fd, (char *)buf + done, len - done, off + (off_t)done);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			die("%s: %s at offset %lld: %s", what, wr ? "pwrite" : "pread",
			    (long long)off + (long long)done,
			    n < 0 ? strerror(errno) : "end of file");
		done += (size_t)n;
	}
}

static int new_temp_file(void)
{
	int fd = temp_file();

	if (fd < 0)
		die("O_TMPFILE in $TMPDIR or /tmp: %s", strerror(errno));
	return fd;
}

static void start_thread(pthread_t *th, void *(*fn)(void *), void *arg)
{
	int err = pthread_create(th, NULL, fn, arg);

	if (err)
		die("pthread_create: %s", strerror(err));
}

static void join_thread(pthread_t th, const char *name, long ms)
{
	if (!joined_within(th, ms))
		die("the %s thread did not finish in %ld ms", name, ms);
}

/* ---- the data ---- */

/* A submitter's region r: its global number, and where it lies in the file. */
static unsigned region_id(const struct submitter *t, unsigned r)
{
	return t->id * REGIONS + r;
}

static off_t region_off(unsigned gid)
{
	return (off_t)BASE + (off_t)gid * REGION;
}

/*
 * Generation gen of region gid: a header (magic ^ gid, gen) and then words
 * that depend on both and on their place.
 */
static void region_fill(unsigned char *out, unsigned gid, uint64_t gen)
{
	uint64_t w[REGION / 8];
	unsigned j;

	w[0] = 0x5354524553535247ull ^ gid;
	w[1] = gen;
	for (j = 2; j < REGION / 8; j++)
		w[j] = mix64(((uint64_t)gid << 40) ^ (gen << 12) ^ j);
	memcpy(out, w, REGION);
}

/* Bytes pos..pos+len of submitter t's stream: byte k is byte k % 8 of mix64(t, k / 8). */
static void stream_fill(unsigned char *out, unsigned t, uint64_t pos, size_t len)
{
	size_t i = 0;

	while (i < len) {
		uint64_t k = pos + i, w = mix64(((uint64_t)(t + 1) << 56) ^ (k >> 3));
		unsigned b;

		for (b = (unsigned)(k & 7); b < 8 && i < len; b++, i++)
			out[i] = (unsigned char)(w >> (b * 8));
	}
}

/* The first byte of buf[from..to) that is not the canary, or -1. */
static long canary_broken(const unsigned char *buf, size_t from, size_t to)
{
	size_t i;

	for (i = from; i < to; i++)
		if (buf[i] != CANARY)
			return (long)i;
	return -1;
}

/* The first byte where a and b differ, or -1. */
static long first_diff(const unsigned char *a, const unsigned char *b, size_t len)
{
	size_t i;

	for (i = 0; i < len; i++)
		if (a[i] != b[i])
			return (long)i;
	return -1;
}

/* ---- notifications ---- */

/*
 * A notification's sigev_value, as wide as a pointer: type, submitter,
 * slot or list, and the request's sequence number.  With 64 bits: 4, 12,
 * 16 and 32 bits; with 32 bits: 2, 6 (MAX_THREADS), 10 (MAX_WINDOW) and
 * the sequence number's low 14 bits, which still tell a late notification
 * from one for the request that the slot holds now.
 */
enum { ID_REQ = 1, ID_LIST = 2, ID_CHILD = 3 };
#define ID_WIDE (sizeof(uintptr_t) == 8)
#define ID_SEQ_BITS (ID_WIDE ? 32 : 14)
#define ID_IDX_BITS (ID_WIDE ? 16 : 10)
#define ID_T_BITS (ID_WIDE ? 12 : 6)
#define ID_IDX_SHIFT ID_SEQ_BITS
#define ID_T_SHIFT (ID_IDX_SHIFT + ID_IDX_BITS)
#define ID_TYPE_SHIFT (ID_T_SHIFT + ID_T_BITS)
#define ID_MASK(bits) (((uintptr_t)1 << (bits)) - 1)
_Static_assert(MAX_THREADS <= ID_MASK(ID_T_BITS) + 1 && MAX_WINDOW <= ID_MASK(ID_IDX_BITS) + 1,
	       "a submitter or slot number does not fit in a notification's value");

static void *make_id(unsigned type, unsigned t, unsigned idx, uint32_t seq)
{
	return (void *)(((uintptr_t)type << ID_TYPE_SHIFT) | ((uintptr_t)t << ID_T_SHIFT) |
			((uintptr_t)idx << ID_IDX_SHIFT) | (seq & ID_MASK(ID_SEQ_BITS)));
}

/* In a fork child: one of its own requests was notified. */
static void child_note(unsigned idx, int src)
{
	if (idx >= CHILD_BLOCKS * 2)
		die("child notification %u out of range", idx);
	if (ADD(&child_notes[idx], 1))
		die("child request %u notified twice (%s)", idx, notify_name(src));
}

/* A notification for notice n (what: whose) must be for its current request, as asked. */
static void check_notice(const struct notice *n, uint32_t seq, int src, pid_t tid, const char *what)
{
	uint32_t cur = LOAD(&n->seq) & ID_MASK(ID_SEQ_BITS);

	if (cur != seq)
		die("%s: a %s notification for its request #%u, but it now holds #%u: a late or "
		    "duplicate notification",
		    what, notify_name(src), seq, cur);
	if (n->notify != src)
		die("%s, request #%u: notified by %s, but it asked for %s", what, seq,
		    notify_name(src), notify_name(n->notify));
	if (src == SIGEV_THREAD_ID && tid != n->tid)
		die("%s, request #%u: SIGEV_THREAD_ID for thread %d was delivered to thread %d",
		    what, seq, (int)n->tid, (int)tid);
}

/*
 * A notification arrived (taken from its signal, or on a SIGEV_THREAD
 * thread): check it against what its request or list asked for, check that
 * the status came first, and count it.
 */
static void note_arrived(uintptr_t id, int src, pid_t tid)
{
	unsigned type = (unsigned)(id >> ID_TYPE_SHIFT);
	unsigned t = (unsigned)(id >> ID_T_SHIFT & ID_MASK(ID_T_BITS));
	unsigned idx = (unsigned)(id >> ID_IDX_SHIFT & ID_MASK(ID_IDX_BITS)), i;
	uint32_t seq = (uint32_t)(id & ID_MASK(ID_SEQ_BITS));
	struct submitter *sb;
	struct notice *n;
	char what[64];

	if (in_child) {
		if (type != ID_CHILD)
			die("a %s notification for the parent's request (submitter %u, slot %u) "
			    "arrived in the fork child",
			    notify_name(src), t, idx);
		child_note(idx, src);
		return;
	}
	sb = t < opt.threads ? &submitters[t] : NULL;
	if (!sb || !((type == ID_REQ && idx < sb->nslots) || (type == ID_LIST && idx < LISTS)))
		die("a %s notification with a value (%#" PRIxPTR ") that no request or list of "
		    "this process has",
		    notify_name(src), id);
	if (type == ID_REQ) {
		struct slot *s = &sb->slots[idx];

		n = &s->note;
		snprintf(what, sizeof what, "submitter %u slot %u", t, idx);
		check_notice(n, seq, src, tid, what);
		if (aio_error(&s->cb) == EINPROGRESS)
			die("%s, request #%u (%s): %s notification while aio_error still says "
			    "EINPROGRESS (the status must come first)",
			    what, seq, kind_name[s->kind], notify_name(src));
	} else {
		struct list *l = &sb->lists[idx];

		n = &l->note;
		snprintf(what, sizeof what, "submitter %u, LIO_NOWAIT list %u", t, idx);
		check_notice(n, seq, src, tid, what);
		for (i = 0; i < l->n; i++)
			if (aio_error(&sb->slots[l->elem[i]].cb) == EINPROGRESS)
				die("%s, lio_listio #%u (%u elements): its %s notification came while "
				    "element %u (slot %u) is still EINPROGRESS",
				    what, seq, l->n, notify_name(src), i, l->elem[i]);
	}
	if (ADD(&n->count, 1))
		die("%s, request #%u: a second %s notification: each must come exactly once", what,
		    seq, notify_name(src));
	ADD(&notes_by[src], 1);
	ADD(&progress, 1);
}

/*
 * The notification signals stay blocked in every thread and are taken with
 * sigtimedwait, one queued signal at a time.  (A handler would do in a
 * plain build, but ThreadSanitizer defers a signal that arrives outside a
 * blocking call and keeps one pending signal per number: a burst of queued
 * real-time signals would reach the handler as one.)  SIGEV_SIGNAL: the
 * signal thread; SIGEV_THREAD_ID: the thread it is for, between requests.
 */
static void note_signal(const siginfo_t *si, pid_t tid)
{
	int sig = si->si_signo;

	if (si->si_code != SI_ASYNCIO)
		die("signal %d with si_code %d, expected SI_ASYNCIO (%d)", sig, si->si_code,
		    SI_ASYNCIO);
	if (si->si_pid != getpid())
		die("signal %d from pid %d, expected this process (%d)", sig, (int)si->si_pid,
		    (int)getpid());
	note_arrived((uintptr_t)si->si_value.sival_ptr,
		     sig == sig_tid ? SIGEV_THREAD_ID : SIGEV_SIGNAL, tid);
}

/* Take what is pending of sig for this thread (or the process), waiting up to ns for the first. */
static void take_note_signals(int sig, long ns, pid_t tid)
{
	struct timespec ts = { 0, ns };
	sigset_t set;
	siginfo_t si;
	int r;

	sigemptyset(&set);
	sigaddset(&set, sig);
	while ((r = sigtimedwait(&set, &si, &ts)) == sig) {
		note_signal(&si, tid);
		ts.tv_nsec = 0;
	}
	if (r < 0 && errno != EAGAIN && errno != EINTR)
		die("sigtimedwait: %s", strerror(errno));
}

static void *signal_thread(void *arg)
{
	(void)arg;
	__atomic_store_n(&note_taker, (pid_t)syscall(SYS_gettid), __ATOMIC_RELEASE);
	while (!LOAD(&stop_signals))
		take_note_signals(sig_note, 20000000, 0);
	/* and what was queued by then: a late duplicate among it fails the run */
	take_note_signals(sig_note, 0, 0);
	return NULL;
}

/* SIGUSR1, sent to submitters and the waiter now and then: EINTR in aio_suspend, lio_listio. */
static void on_interrupt(int sig)
{
	(void)sig;
	__atomic_fetch_add(&interrupts, 1, __ATOMIC_RELAXED);
}

static void on_thread(union sigval v)
{
	note_arrived((uintptr_t)v.sival_ptr, SIGEV_THREAD, 0);
}

/* Fill in a sigevent asking for kind, identified by id; tid for SIGEV_THREAD_ID. */
static void set_sigevent(struct sigevent *sev, int kind, void *id, pid_t tid, uint64_t *rng)
{
	memset(sev, 0, sizeof *sev);
	sev->sigev_notify = kind;
	sev->sigev_value.sival_ptr = id;
	switch (kind) {
	case SIGEV_SIGNAL:
		/* to the thread that takes it: see the signal thread at the top */
		sev->sigev_notify = SIGEV_THREAD_ID;
		sev->sigev_signo = sig_note;
		sev->_sigev_un._tid = __atomic_load_n(&note_taker, __ATOMIC_ACQUIRE);
		break;
	case SIGEV_THREAD_ID:
		sev->sigev_signo = sig_tid;
		sev->_sigev_un._tid = tid;
		break;
	case SIGEV_THREAD:
		sev->sigev_notify_function = on_thread;
		/* now and then a thread of its own, with the program's attributes */
		if (!pick(rng, 500))
			sev->sigev_notify_attributes = &detached_attr;
		break;
	default:
		break;
	}
}

/* NONE 70%, SIGNAL 12%, THREAD_ID 6%, THREAD 12% */
static int pick_notify(uint64_t *rng)
{
	unsigned r = pick(rng, 100);

	if (r < 70)
		return SIGEV_NONE;
	if (r < 82)
		return SIGEV_SIGNAL;
	if (r < 88)
		return SIGEV_THREAD_ID;
	return SIGEV_THREAD;
}

/*
 * Give notice n a new request (type ID_REQ or ID_LIST, slot or list idx)
 * that asks for `notify`, and fill in sev.  Last in the preparation: it
 * publishes the fields written before it to note_arrived.
 */
static void arm_notice(struct submitter *t, struct notice *n, struct sigevent *sev, int notify,
		       unsigned type, unsigned idx)
{
	uint32_t seq = __atomic_load_n(&n->seq, __ATOMIC_RELAXED) + 1;

	n->notify = notify;
	n->tid = t->tid;
	__atomic_store_n(&n->count, 0, __ATOMIC_RELAXED);
	set_sigevent(sev, notify, make_id(type, t->id, idx, seq), t->tid, &t->rng);
	STORE(&n->seq, seq);
}

/* ---- submitting ---- */

static unsigned slot_index(const struct submitter *t, const struct slot *s)
{
	return (unsigned)(s - t->slots);
}

static void describe_slot(const struct submitter *t, const struct slot *s, char *out, size_t len)
{
	uint32_t seq = __atomic_load_n(&s->note.seq, __ATOMIC_RELAXED);
	int n = snprintf(out, len,
			 "submitter %u slot %u, request #%u (n. %" PRIu64 "): %s fd %d, %s", t->id,
			 slot_index(t, s), seq, s->reqno, kind_name[s->kind], s->cb.aio_fildes,
			 notify_name(s->note.notify));

	if (n < 0 || (size_t)n >= len)
		return;
	if (s->kind == K_READ || s->kind == K_WRITE)
		snprintf(out + n, len - (size_t)n,
			 ", offset %lld len %zu (region %u, +%zu, generation %" PRIu64 ")",
			 (long long)s->cb.aio_offset, s->cb.aio_nbytes, region_id(t, s->region),
			 s->roff, s->gen);
	else if (s->kind == K_PIPE)
		snprintf(out + n, len - (size_t)n, ", len %zu (%s)", s->cb.aio_nbytes,
			 t->socket ? "socketpair" : "pipe");
}

/* die() with the description of the slot's request first. */
static void slot_die(const struct submitter *t, const struct slot *s, const char *fmt, ...)
	__attribute__((format(printf, 3, 4), noreturn));
static void slot_die(const struct submitter *t, const struct slot *s, const char *fmt, ...)
{
	char what[300], msg[1024];
	va_list ap;

	describe_slot(t, s, what, sizeof what);
	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	die("%s: %s", what, msg);
}

/* A single request's kind: 0.3% flushes (one at a time), 5.7% stream reads, 27% writes, reads. */
static int single_kind(struct submitter *t)
{
	unsigned x = pick(&t->rng, 1000);

	if (x < 3 && !t->fsyncs_in_flight)
		return K_FSYNC;
	if (x < 60 && t->pq_n < PIPE_MAX)
		return K_PIPE;
	return x < 330 ? K_WRITE : K_READ;
}

/* A lio_listio element's kind: a stream read now and then, a third of the rest writes. */
static int element_kind(struct submitter *t)
{
	if (t->pq_n < PIPE_MAX && !pick(&t->rng, 16))
		return K_PIPE;
	return pick(&t->rng, 3) ? K_READ : K_WRITE;
}

/*
 * A region claimed for a write (nothing in flight there) or a read (no
 * write in flight there); -1 if the few regions tried are busy.
 */
static int claim_region(struct submitter *t, bool for_write)
{
	unsigned tries;

	for (tries = 0; tries < (for_write ? 4u : 8u); tries++) {
		unsigned r = pick(&t->rng, REGIONS);
		struct region *g = &t->regions[r];

		if (g->writing || (for_write && g->readers))
			continue;
		if (for_write)
			g->writing = true;
		else
			g->readers++;
		return (int)r;
	}
	return -1;
}

/* The request is over: give back what prep_slot claimed; wrote: a write completed. */
static void release_claims(struct submitter *t, struct slot *s, bool wrote)
{
	struct region *g = &t->regions[s->region];

	switch (s->kind) {
	case K_READ:
		g->readers--;
		break;
	case K_WRITE:
		g->writing = false;
		/* a write that did not complete never ran: the region keeps its generation */
		if (wrote)
			g->gen = s->gen;
		else
			g->cancelled = s->gen;
		break;
	case K_FSYNC:
		t->fsyncs_in_flight--;
		break;
	}
}

/* A new generation of region r, all of it. */
static void prep_write(struct submitter *t, struct slot *s, unsigned r)
{
	s->region = r;
	s->gen = ++t->regions[r].last;
	s->len = REGION;
	region_fill(s->buf, region_id(t, r), s->gen);
	prep_aiocb(&s->cb, file_fd, s->buf, REGION, region_off(region_id(t, r)));
	s->cb.aio_lio_opcode = LIO_WRITE;
}

/* Half the time all of region r, else a random part of it; the buffer starts as canary. */
static void prep_read(struct submitter *t, struct slot *s, unsigned r)
{
	s->region = r;
	s->gen = t->regions[r].gen;
	if (pick(&t->rng, 2)) {
		s->len = REGION;
	} else {
		s->roff = pick(&t->rng, REGION);
		s->len = 1 + pick(&t->rng, (unsigned)(REGION - s->roff));
	}
	memset(s->buf, CANARY, s->len + GUARD);
	prep_aiocb(&s->cb, file_fd, s->buf, s->len, region_off(region_id(t, r)) + (off_t)s->roff);
	s->cb.aio_lio_opcode = LIO_READ;
}

static void prep_stream_read(struct submitter *t, struct slot *s)
{
	s->len = 1 + pick(&t->rng, PIPE_LEN);
	memset(s->buf, CANARY, s->len + GUARD);
	/* the offset means nothing on a pipe or a socket: now and then a wild one */
	prep_aiocb(&s->cb, t->rfd, s->buf, s->len,
		   pick(&t->rng, 4) ? 0 : (off_t)pick(&t->rng, 1u << 30));
	s->cb.aio_lio_opcode = LIO_READ;
}

static void prep_fsync(struct submitter *t, struct slot *s)
{
	t->fsyncs_in_flight++;
	s->opcode = pick(&t->rng, 2) ? O_SYNC : O_DSYNC;
	s->len = 0;
	prep_aiocb(&s->cb, file_fd, s->buf, 0, 0);
}

/*
 * Prepare a request of `kind` in slot s: claim what it needs, fill in its
 * aiocb and its notification.  A write falls back to a read when the
 * regions tried are busy; false if a read finds none either.
 */
static bool prep_slot(struct submitter *t, struct slot *s, int kind)
{
	int r = -1;

	if (kind == K_WRITE && (r = claim_region(t, true)) < 0)
		kind = K_READ;
	if (kind == K_READ && (r = claim_region(t, false)) < 0)
		return false;
	s->kind = kind;
	s->list = -1;
	s->region = 0;
	s->roff = 0;
	s->gen = 0;
	switch (kind) {
	case K_WRITE:
		prep_write(t, s, (unsigned)r);
		break;
	case K_READ:
		prep_read(t, s, (unsigned)r);
		break;
	case K_PIPE:
		prep_stream_read(t, s);
		break;
	default:
		prep_fsync(t, s);
		break;
	}
	s->cb.aio_reqprio = pick(&t->rng, 8) ? 0 : (int)pick(&t->rng, 21);
	s->reqno = ++t->reqno;
	s->phase = PH_FLIGHT;
	s->t_sent = now_sec();
	s->expect_note = false;
	arm_notice(t, &s->note, &s->cb.aio_sigevent, pick_notify(&t->rng), ID_REQ,
		   slot_index(t, s));
	return true;
}

static void free_slot(struct submitter *t, struct slot *s)
{
	s->phase = PH_FREE;
	s->kind = K_NONE;
	t->freelist[t->nfree++] = slot_index(t, s);
}

/* A random free slot, or NULL. */
static struct slot *take_slot(struct submitter *t)
{
	unsigned i, idx;

	if (!t->nfree)
		return NULL;
	i = pick(&t->rng, t->nfree);
	idx = t->freelist[i];
	t->freelist[i] = t->freelist[--t->nfree];
	return &t->slots[idx];
}

/* A stream read joins the queue that harvest_pipe takes in order. */
static void pipe_push(struct submitter *t, struct slot *s)
{
	if (t->pq_n == PIPE_MAX)
		die("submitter %u: more than %u pipe reads", t->id, PIPE_MAX);
	t->pq[(t->pq_head + t->pq_n++) % PIPE_MAX] = slot_index(t, s);
}

static void count_submitted(struct submitter *t, const struct slot *s)
{
	t->c.submitted++;
	t->c.kinds[s->kind]++;
}

/* The request is in the library's hands: others may pin it now. */
static void went_live(struct submitter *t, struct slot *s, bool nowait)
{
	if (s->kind == K_READ && nowait && aio_error(&s->cb) != EINPROGRESS)
		t->c.inline_done++;
	STORE(&s->pin, PIN_LIVE);
}

/* One request on its own: aio_read, aio_write or aio_fsync. */
static void submit_single(struct submitter *t)
{
	struct slot *s = take_slot(t);
	int rc;

	if (!s)
		return;
	if (!prep_slot(t, s, single_kind(t))) {
		free_slot(t, s);
		return;
	}
	count_submitted(t, s);
	if (s->kind == K_FSYNC)
		rc = aio_fsync(s->opcode, &s->cb);
	else if (s->kind == K_WRITE)
		rc = aio_write(&s->cb);
	else
		rc = aio_read(&s->cb);
	if (rc) {
		if (errno != EAGAIN)
			slot_die(t, s, "submission failed: %s", strerror(errno));
		/* refused: the request never existed */
		t->c.refused++;
		release_claims(t, s, false);
		free_slot(t, s);
		return;
	}
	if (s->kind == K_PIPE)
		pipe_push(t, s);
	went_live(t, s, true);
}

/* A free list for a LIO_NOWAIT batch with a notification, or -1. */
static int free_list(struct submitter *t)
{
	unsigned li;

	for (li = 0; li < LISTS; li++)
		if (!t->lists[li].busy)
			return (int)li;
	return -1;
}

/* List li takes the k elements, and a notification (never SIGEV_NONE: it is what is checked). */
static void arm_list(struct submitter *t, unsigned li, struct slot *const *els, unsigned k,
		     struct sigevent *sev)
{
	struct list *l = &t->lists[li];
	int notify = pick_notify(&t->rng);
	unsigned i;

	l->busy = true;
	l->n = k;
	for (i = 0; i < k; i++)
		l->elem[i] = slot_index(t, els[i]);
	arm_notice(t, &l->note, sev, notify == SIGEV_NONE ? SIGEV_SIGNAL : notify, ID_LIST, li);
}

/*
 * What lio_listio answered (err: its errno, 0 if it returned 0) must agree
 * with the statuses of its k requests.
 */
static void check_lio(struct submitter *t, int mode, int err, struct slot *const *els, unsigned k,
		      unsigned entries)
{
	const char *name = mode == LIO_WAIT ? "LIO_WAIT" : "LIO_NOWAIT";
	unsigned i, in_progress = 0, failed = 0, again = 0;

	for (i = 0; i < k; i++) {
		int e = aio_error(&els[i]->cb);

		in_progress += e == EINPROGRESS;
		failed += e != EINPROGRESS && e != 0;
		again += e == EAGAIN;
	}
	if (err == EINTR) {
		/* the canceller's SIGUSR1: only a call that waits can be interrupted */
		if (mode != LIO_WAIT)
			die("submitter %u: lio_listio(LIO_NOWAIT) failed with EINTR", t->id);
		t->c.lio_intr++;
		return;
	}
	if (err && err != EAGAIN && err != EIO)
		die("submitter %u: lio_listio(%s, %u entries, %u requests) failed: %s", t->id, name,
		    entries, k, strerror(err));
	if (err == EAGAIN && !again)
		die("submitter %u: lio_listio(%s) failed with EAGAIN, but no element says EAGAIN",
		    t->id, name);
	if (!err && again)
		die("submitter %u: lio_listio(%s) returned 0, but %u of its %u elements say EAGAIN",
		    t->id, name, again, k);
	if (mode != LIO_WAIT)
		return;
	if (in_progress)
		die("submitter %u: lio_listio(LIO_WAIT, %u requests) returned (%s) with %u of them "
		    "still EINPROGRESS",
		    t->id, k, err ? strerror(err) : "success", in_progress);
	if (!err && failed)
		die("submitter %u: lio_listio(LIO_WAIT, %u requests) returned 0, but %u of them "
		    "failed",
		    t->id, k, failed);
	if (err == EIO && !failed)
		die("submitter %u: lio_listio(LIO_WAIT, %u requests) failed with EIO, but every "
		    "request succeeded",
		    t->id, k);
}

/*
 * A lio_listio batch of at most `want` requests, with NULL and LIO_NOP
 * entries here and there: LIO_WAIT, or LIO_NOWAIT with a list notification,
 * with SIGEV_NONE or with no sigevent.
 */
static void submit_list(struct submitter *t, unsigned want)
{
	struct aiocb *entries[LIST_MAX * 2];
	struct slot *els[LIST_MAX];
	struct sigevent sev, *sevp = NULL;
	int mode = pick(&t->rng, 3) ? LIO_NOWAIT : LIO_WAIT;
	int li = mode == LIO_NOWAIT && pick(&t->rng, 2) ? free_list(t) : -1;
	unsigned n = 0, k = 0, i;
	int rc;

	while (k < want) {
		struct slot *s = take_slot(t);

		if (!s)
			break;
		if (!prep_slot(t, s, element_kind(t))) {
			free_slot(t, s);
			break;
		}
		s->list = li;
		els[k++] = s;
		if (!pick(&t->rng, 8))
			entries[n++] = pick(&t->rng, 2) ? NULL : &t->nop;
		entries[n++] = &s->cb;
		if (s->kind == K_PIPE)
			pipe_push(t, s);
		count_submitted(t, s);
	}
	if (!k)
		return;
	if (li >= 0) {
		arm_list(t, (unsigned)li, els, k, &sev);
		sevp = &sev;
	} else if (mode == LIO_NOWAIT && pick(&t->rng, 2)) {
		memset(&sev, 0, sizeof sev);
		sev.sigev_notify = SIGEV_NONE;
		sevp = &sev;
	}
	if (mode == LIO_WAIT) {
		t->c.lists_wait++;
		STORE(&t->doing, DO_LIO_WAIT);
	} else {
		t->c.lists_nowait++;
	}
	rc = lio_listio(mode, entries, (int)n, sevp);
	check_lio(t, mode, rc ? errno : 0, els, k, n);
	STORE(&t->doing, DO_SUBMIT);
	if (li >= 0)
		t->lists[li].t_sent = now_sec();
	for (i = 0; i < k; i++)
		went_live(t, els[i], mode == LIO_NOWAIT);
}

/* ---- harvesting ---- */

/* Which generation of the region a read's bytes belong to, for the report. */
static void explain_read(struct submitter *t, struct slot *s, char *out, size_t len)
{
	struct region *g = &t->regions[s->region];
	unsigned gid = region_id(t, s->region);
	unsigned char now[REGION];
	uint64_t disk_gen, gen;
	int n;

	full_pio(false, file_fd, now, REGION, region_off(gid), "diagnosis");
	memcpy(&disk_gen, now + 8, 8);
	n = snprintf(out, len,
		     "the file's region now holds generation %" PRIu64
		     " (last write handed out: %" PRIu64 ", last cancelled: %" PRIu64 ")",
		     disk_gen, g->last, g->cancelled);
	if (n < 0 || (size_t)n >= len)
		return;
	for (gen = s->gen > 4 ? s->gen - 4 : 0; gen <= g->last; gen++) {
		region_fill(t->expect, gid, gen);
		if (!memcmp(t->expect + s->roff, s->buf, s->len)) {
			snprintf(out + n, len - (size_t)n,
				 "; the bytes read are generation %" PRIu64, gen);
			return;
		}
	}
	snprintf(out + n, len - (size_t)n, "; the bytes read match no generation");
}

/* Wait until nobody else has the slot pinned, and take it back. */
static void take_back(struct slot *s)
{
	uint32_t expected = PIN_LIVE;

	while (!__atomic_compare_exchange_n(&s->pin, &expected, PIN_BUSY, false, __ATOMIC_ACQUIRE,
					    __ATOMIC_RELAXED)) {
		if (expected != PIN_PINNED)
			die("slot pin state %u, expected LIVE or PINNED", expected);
		expected = PIN_LIVE;
		sched_yield();
	}
}

static void expect_return(struct submitter *t, struct slot *s, ssize_t ret, ssize_t lo, ssize_t hi)
{
	if (ret >= lo && ret <= hi)
		return;
	if (lo == hi)
		slot_die(t, s, "aio_return %zd, expected %zd", ret, lo);
	slot_die(t, s, "aio_return %zd, expected %zd..%zd", ret, lo, hi);
}

/* Bytes from..len+GUARD of the slot's buffer are still the canary, or it fails saying why. */
static void expect_untouched(struct submitter *t, struct slot *s, size_t from, const char *why)
{
	long bad = canary_broken(s->buf, from, s->len + GUARD);

	if (bad >= 0)
		slot_die(t, s, "byte %ld of the buffer was written %s", bad, why);
}

/* A file read returns all it asked for, of the generation its region held, and no more. */
static void check_read(struct submitter *t, struct slot *s, ssize_t ret)
{
	char why[300];
	long i;

	expect_return(t, s, ret, (ssize_t)s->len, (ssize_t)s->len);	/* the file is long enough */
	region_fill(t->expect, region_id(t, s->region), s->gen);
	i = first_diff(t->expect + s->roff, s->buf, s->len);
	if (i >= 0) {
		explain_read(t, s, why, sizeof why);
		slot_die(t, s, "wrong data: byte %ld is %#x, expected %#x; %s", i, s->buf[i],
			 t->expect[s->roff + (size_t)i], why);
	}
	expect_untouched(t, s, s->len, "past the bytes read");
}

/* A flush comes after what its submitter queued on the file before it. */
static void check_fsync_order(struct submitter *t, struct slot *s)
{
	unsigned i;

	for (i = 0; i < t->nslots; i++) {
		struct slot *o = &t->slots[i];
		char other[300];

		if (o->phase != PH_FLIGHT || o == s || o->cb.aio_fildes != file_fd ||
		    o->reqno > s->reqno || aio_error(&o->cb) != EINPROGRESS)
			continue;
		describe_slot(t, o, other, sizeof other);
		slot_die(t, s, "completed before %s, queued on the file before it", other);
	}
}

/* A stream read returns the next bytes of the stream (harvest_pipe takes them in order). */
static void check_stream_read(struct submitter *t, struct slot *s, ssize_t ret)
{
	long i;

	expect_return(t, s, ret, 1, (ssize_t)s->len);
	stream_fill(t->expect, t->id, t->rpos, (size_t)ret);
	i = first_diff(t->expect, s->buf, (size_t)ret);
	if (i >= 0)
		slot_die(t, s,
			 "wrong data at stream offset %" PRIu64 " (+%ld of %zd bytes read): "
			 "%#x, expected %#x: bytes lost, duplicated or out of order",
			 t->rpos, i, ret, s->buf[i], t->expect[i]);
	expect_untouched(t, s, (size_t)ret, "past the bytes read");
	t->rpos += (uint64_t)ret;
	t->c.pipe_bytes += (uint64_t)ret;
}

static void check_completed(struct submitter *t, struct slot *s, ssize_t ret)
{
	switch (s->kind) {
	case K_READ:
		check_read(t, s, ret);
		break;
	case K_WRITE:
		expect_return(t, s, ret, REGION, REGION);
		break;
	case K_FSYNC:
		expect_return(t, s, ret, 0, 0);
		check_fsync_order(t, s);
		break;
	case K_PIPE:
		check_stream_read(t, s, ret);
		break;
	}
	release_claims(t, s, true);
}

/*
 * A cancelled request never ran: a read leaves its whole buffer as it was
 * (a read that aio_read served in part from the page cache has run, and
 * aio_cancel must answer AIO_NOTCANCELED to it), a write leaves its region
 * with the generation it had (the reads and the final check see that).
 */
static void check_cancelled(struct submitter *t, struct slot *s, ssize_t ret)
{
	if (ret != -1)
		slot_die(t, s, "ECANCELED with aio_return %zd, expected -1", ret);
	if (s->kind == K_READ || s->kind == K_PIPE)
		expect_untouched(t, s, 0, "though it was cancelled (ECANCELED): the read ran");
	release_claims(t, s, false);
}

/* A final request: check its status, result and data, and give back what it held. */
static void harvest(struct submitter *t, struct slot *s)
{
	ssize_t ret;
	int e1, e2;

	STORE(&t->doing, DO_HARVEST);
	take_back(s);
	e1 = aio_error(&s->cb);
	e2 = aio_error(&s->cb);
	ret = aio_return(&s->cb);
	if (e1 == EINPROGRESS || e1 != e2)
		slot_die(t, s, "aio_error said %s, then %s: a final status must not change",
			 strerror(e1), strerror(e2));
	s->expect_note = s->note.notify != SIGEV_NONE;
	switch (e1) {
	case 0:
		t->c.completed++;
		check_completed(t, s, ret);
		break;
	case ECANCELED:
		t->c.cancelled++;
		check_cancelled(t, s, ret);
		break;
	case EAGAIN:
		/* a lio_listio element that could not be queued: never ran, never notified */
		t->c.refused++;
		s->expect_note = false;
		release_claims(t, s, false);
		break;
	default:
		slot_die(t, s, "failed with %s (aio_return %zd)", strerror(e1), ret);
	}
	if (s->expect_note)
		t->c.notes_expected++;
	s->phase = PH_DONE;
	s->t_done = now_sec();
	ADD(&progress, 1);
}

/* Pipe reads: in submission order, and none may finish before an earlier one. */
static void harvest_pipe(struct submitter *t)
{
	while (t->pq_n) {
		struct slot *head = &t->slots[t->pq[t->pq_head]], *later_done = NULL;
		unsigned i;

		/* the later ones first: a final status stays final */
		for (i = t->pq_n - 1; i >= 1; i--) {
			struct slot *o = &t->slots[t->pq[(t->pq_head + i) % PIPE_MAX]];

			if (aio_error(&o->cb) == 0)
				later_done = o;
		}
		if (aio_error(&head->cb) == EINPROGRESS) {
			if (later_done) {
				char other[300];

				describe_slot(t, head, other, sizeof other);
				slot_die(t, later_done,
					 "finished before %s, queued on the fd before it", other);
			}
			return;
		}
		harvest(t, head);
		t->pq_head = (t->pq_head + 1) % PIPE_MAX;
		t->pq_n--;
	}
}

/* Has the notification that s expects come (waiting longer than hang_sec fails)? */
static bool notified(struct submitter *t, struct slot *s, double now)
{
	if (!s->expect_note || LOAD(&s->note.count))
		return true;
	if (now - s->t_done > opt.hang_sec)
		slot_die(t, s, "final (%s) for %u s, and its notification never came",
			 strerror(aio_error(&s->cb)), opt.hang_sec);
	return false;
}

/* Free the harvested slots whose notifications (and lists' notifications) are in. */
static void release_done(struct submitter *t, double now)
{
	unsigned i, j;

	for (i = 0; i < t->nslots; i++) {
		struct slot *s = &t->slots[i];

		if (s->phase == PH_FLIGHT && now - s->t_sent > opt.hang_sec)
			slot_die(t, s,
				 "still in progress (aio_error %d) %.0f s after its submission",
				 aio_error(&s->cb), now - s->t_sent);
		if (s->phase == PH_DONE && s->list < 0 && notified(t, s, now))
			free_slot(t, s);
	}
	for (j = 0; j < LISTS; j++) {
		struct list *l = &t->lists[j];
		bool ready = l->busy;

		for (i = 0; ready && i < l->n; i++) {
			struct slot *s = &t->slots[l->elem[i]];

			ready = s->phase == PH_DONE && notified(t, s, now);
		}
		if (!ready)
			continue;
		if (!LOAD(&l->note.count)) {
			if (now - l->t_sent > opt.hang_sec)
				die("submitter %u, LIO_NOWAIT list #%u (%s): every element is final, "
				    "and no notification came in %u s",
				    t->id, l->note.seq, notify_name(l->note.notify), opt.hang_sec);
			continue;
		}
		t->c.list_notes_expected++;
		for (i = 0; i < l->n; i++)
			free_slot(t, &t->slots[l->elem[i]]);
		l->busy = false;
	}
}

/* How many of the listed requests (NULL entries aside) are final. */
static unsigned count_final(const struct aiocb *const list[], unsigned n)
{
	unsigned i, k = 0;

	for (i = 0; i < n; i++)
		k += list[i] && aio_error(list[i]) != EINPROGRESS;
	return k;
}

/*
 * aio_suspend(list, n, timeout tmo ns) on behalf of `who`, and check what
 * it answers against the listed requests' statuses: 0 only with one of
 * them final, EAGAIN only if none was final before the call and not before
 * the timeout (1 ms of slack for the clocks), EINTR (SIGUSR1), never a hang.
 * Returns what aio_suspend returned.
 */
static int checked_suspend(const char *who, const struct aiocb *const list[], unsigned n, long tmo,
			   struct suspend_counts *c)
{
	unsigned final_before = count_final(list, n);
	struct timespec ts = { 0, tmo };
	double t0 = now_sec(), dt;
	int rc = aio_suspend(list, (int)n, &ts), err = errno;

	dt = now_sec() - t0;
	c->calls++;
	if (dt > (double)tmo / 1e9 + opt.hang_sec)
		die("%s: aio_suspend(%u entries, timeout %ld ns) returned after %.1f s", who, n,
		    tmo, dt);
	if (rc == 0) {
		if (!count_final(list, n))
			die("%s: aio_suspend(%u entries, timeout %ld ns) returned 0, but every "
			    "listed request is still in progress",
			    who, n, tmo);
		c->ok++;
	} else if (err == EAGAIN) {
		if (final_before)
			die("%s: aio_suspend(%u entries) timed out (EAGAIN), but %u of them were "
			    "final before the call",
			    who, n, final_before);
		if (dt < (double)tmo / 1e9 - 0.001)
			die("%s: aio_suspend(timeout %ld ns) timed out after %.0f ns", who, tmo,
			    dt * 1e9);
		c->again++;
	} else if (err == EINTR) {
		c->intr++;
	} else {
		die("%s: aio_suspend(%u entries): %s", who, n, strerror(err));
	}
	return rc;
}

/*
 * Sleep in aio_suspend on the submitter's requests in flight (NULL entries
 * here and there); with none in flight, wait a little for notifications.
 */
static void wait_some(struct submitter *t)
{
	static const long timeouts_ns[] = { 0, 20000, 200000, 1000000, 3000000 };
	const struct aiocb *list[2 * MAX_WINDOW];
	unsigned i, n = 0, listed = 0;
	char who[32];

	for (i = 0; i < t->nslots; i++)
		if (t->slots[i].phase == PH_FLIGHT) {
			if (!pick(&t->rng, 16))
				list[n++] = NULL;
			list[n++] = &t->slots[i].cb;
			listed++;
		}
	if (!listed) {
		take_note_signals(sig_tid, 50000, t->tid);
		return;
	}
	snprintf(who, sizeof who, "submitter %u", t->id);
	STORE(&t->doing, DO_SUSPEND);
	checked_suspend(who, list, n, timeouts_ns[pick(&t->rng, 5)], &t->c.suspend);
	STORE(&t->doing, DO_RUN);
}

static void harvest_all(struct submitter *t)
{
	unsigned i;

	for (i = 0; i < t->nslots; i++) {
		struct slot *s = &t->slots[i];

		if (s->phase == PH_FLIGHT && s->kind != K_PIPE && aio_error(&s->cb) != EINPROGRESS)
			harvest(t, s);
	}
	harvest_pipe(t);
	release_done(t, now_sec());
	STORE(&t->doing, DO_RUN);
}

/* Bursts of single requests and lists up to the quota, each followed by a wait and a harvest. */
static void *submitter_main(void *arg)
{
	struct submitter *t = arg;

	t->tid = (pid_t)syscall(SYS_gettid);
	for (;;) {
		unsigned burst = 0;

		STORE(&t->doing, DO_SUBMIT);
		while (t->c.submitted < t->quota && t->nfree && burst < 16) {
			unsigned left = (unsigned)(t->quota - t->c.submitted);

			if (t->nfree >= 3 && !pick(&t->rng, 24)) {
				unsigned want = 2 + pick(&t->rng, LIST_MAX - 1);

				want = want < t->nfree ? want : t->nfree;
				want = want < left ? want : left;
				submit_list(t, want);
				burst += want;
			} else {
				submit_single(t);
				burst++;
			}
		}
		if (t->c.submitted >= t->quota) {
			if (t->nfree == t->nslots)
				break;
			STORE(&t->doing, DO_DRAIN);
		}
		wait_some(t);
		take_note_signals(sig_tid, 0, t->tid);
		harvest_all(t);
	}
	STORE(&t->doing, DO_FINISHED);
	STORE(&t->finished, 1);
	return NULL;
}

/* ---- the other threads ---- */

/* Pin a random live request of a random submitter, or NULL. */
static struct slot *pin_random(uint64_t *rng)
{
	unsigned tries;

	for (tries = 0; tries < 16; tries++) {
		struct submitter *t = &submitters[pick(rng, opt.threads)];
		struct slot *s = &t->slots[pick(rng, t->nslots)];
		uint32_t expected = PIN_LIVE;

		if (__atomic_compare_exchange_n(&s->pin, &expected, PIN_PINNED, false,
						__ATOMIC_ACQUIRE, __ATOMIC_RELAXED))
			return s;
	}
	return NULL;
}

static void unpin(struct slot *s)
{
	STORE(&s->pin, PIN_LIVE);
}

static void count_answer(const char *call, int rc)
{
	if (rc != AIO_CANCELED && rc != AIO_NOTCANCELED && rc != AIO_ALLDONE)
		die("%s = %d: %s", call, rc, strerror(errno));
	helpers.answers[rc]++;
}

/* aio_cancel(fd, cb) on a pinned request: the answer must agree with its status then. */
static void cancel_one(struct slot *s)
{
	int fd = s->cb.aio_fildes, rc = aio_cancel(fd, &s->cb), e = aio_error(&s->cb);
	char call[64];

	snprintf(call, sizeof call, "aio_cancel(%d, %s request)", fd, kind_name[s->kind]);
	if (rc == AIO_CANCELED && e != ECANCELED)
		die("%s = AIO_CANCELED, but aio_error then says %s", call,
		    e == EINPROGRESS ? "EINPROGRESS" : strerror(e));
	if (rc == AIO_ALLDONE && e == EINPROGRESS)
		die("%s = AIO_ALLDONE, but aio_error then says EINPROGRESS", call);
	count_answer(call, rc);
	helpers.cancel_cb_calls++;
}

/*
 * Every 20..320 us: 80% aio_cancel of one request, 14% aio_cancel(file,
 * NULL), 6% aio_cancel(stream, NULL), and now and then a SIGUSR1 to a
 * submitter or the waiter instead (EINTR; not under qemu-i386, see
 * QEMU_I386_SIGRETURN_TLS).
 */
static void *canceller(void *arg)
{
	uint64_t rng = helper_rng(77);

	(void)arg;
	while (!LOAD(&stop_helpers)) {
		unsigned r = pick(&rng, 100);

		nap_us(20 + pick(&rng, 300));
		if (r >= 95 && opt.interrupts) {
			struct submitter *t = &submitters[pick(&rng, opt.threads)];

			/* finished submitters are joined only after this thread */
			pthread_kill(LOAD(&t->finished) ? waiter_th : t->th, SIGUSR1);
		} else if (r < 20) {
			int fd = r < 14 ? file_fd : submitters[pick(&rng, opt.threads)].rfd;
			char call[32];

			snprintf(call, sizeof call, "aio_cancel(%d, NULL)", fd);
			count_answer(call, aio_cancel(fd, NULL));
			helpers.cancel_fd_calls++;
		} else {
			struct slot *s = pin_random(&rng);

			if (s) {
				cancel_one(s);
				unpin(s);
			}
		}
	}
	return NULL;
}

/* aio_suspend on other threads' requests, which stay pinned meanwhile. */
static void *waiter(void *arg)
{
	static const long timeouts_ns[] = { 0, 50000, 500000, 2000000 };
	uint64_t rng = helper_rng(99);

	(void)arg;
	while (!LOAD(&stop_helpers)) {
		const struct aiocb *list[8];
		struct slot *pinned[4];
		unsigned i, n = 0, np = 0, want = 1 + pick(&rng, 4);
		long tmo = timeouts_ns[pick(&rng, 4)];
		int rc;

		for (i = 0; i < want; i++) {
			struct slot *s = pin_random(&rng);

			if (!s)
				continue;
			pinned[np++] = s;
			if (!pick(&rng, 4))
				list[n++] = NULL;
			list[n++] = &s->cb;
		}
		if (!np) {
			nap_us(100);
			continue;
		}
		rc = checked_suspend("waiter", list, n, tmo, &helpers.waiter);
		for (i = 0; i < np; i++)
			unpin(pinned[i]);
		/* after a call that returned at once, pace: pins held in a loop stall the owners */
		if (rc == 0 || tmo == 0)
			nap_us(20 + pick(&rng, 200));
	}
	return NULL;
}

/*
 * Every 10..50 ms, push part of the file out of the page cache (flushed
 * first: only clean pages go): reads then wait for the disk, and an inline
 * read may find part of its bytes cached and the rest not.
 */
static void *evictor(void *arg)
{
	uint64_t rng = helper_rng(11);
	off_t size = region_off(opt.threads * REGIONS);

	(void)arg;
	while (!LOAD(&stop_helpers)) {
		off_t off = (off_t)pick(&rng, (unsigned)size), len = 4096 * (1 + pick(&rng, 64));

		nap_us(10000 + pick(&rng, 40000));
		if (fdatasync(file_fd) && errno != EINTR)
			die("fdatasync: %s", strerror(errno));
		if (posix_fadvise(file_fd, off, len, POSIX_FADV_DONTNEED))
			die("posix_fadvise: %s", strerror(errno));
		helpers.evictions++;
	}
	return NULL;
}

/* Feed every stream in chunks, pausing now and then so that reads wait. */
static void *writer(void *arg)
{
	unsigned char chunk[2048];
	uint64_t rng = helper_rng(55);
	unsigned round = 0;

	(void)arg;
	while (!LOAD(&stop_writer)) {
		unsigned i;

		for (i = 0; i < opt.threads; i++) {
			struct submitter *t = &submitters[i];
			uint64_t pos = __atomic_load_n(&t->wpos, __ATOMIC_RELAXED);
			size_t n = 1 + pick(&rng, sizeof chunk);
			ssize_t w;

			stream_fill(chunk, t->id, pos, n);
			w = write(t->wfd, chunk, n);
			if (w > 0)
				STORE(&t->wpos, pos + (uint64_t)w);
			else if (w < 0 && errno != EAGAIN && errno != EINTR)
				die("writer: write to the stream of submitter %u: %s", i,
				    strerror(errno));
		}
		nap_us(++round % 64 ? 50 + pick(&rng, 300) : 2000 + pick(&rng, 3000));
	}
	return NULL;
}

/* ---- fork children ---- */

/* Wait (at most 10 s) until cb is final, taking the notification signals meanwhile. */
static void child_wait(const struct aiocb *cb, const char *what)
{
	const struct aiocb *l[1] = { cb };
	double end = now_sec() + 10;

	while (aio_error(cb) == EINPROGRESS) {
		struct timespec ts = ms_ts(5);

		if (now_sec() > end)
			die("%s: still in progress after 10 s", what);
		if (aio_suspend(l, 1, &ts) && errno != EAGAIN && errno != EINTR)
			die("%s: aio_suspend: %s", what, strerror(errno));
		take_note_signals(sig_note, 0, 0);
	}
}

/* Wait for cb, which must succeed with the result ret. */
static void child_expect(struct aiocb *cb, ssize_t ret, const char *what, unsigned i)
{
	int e;
	ssize_t r;

	child_wait(cb, what);
	e = aio_error(cb);
	r = aio_return(cb);
	if (e || r != ret)
		die("%s %u: status %d (%s), result %zd, expected success and %zd", what, i, e,
		    strerror(e), r, ret);
}

/* A child's request number idx on fd, asking for notification `notify`. */
static void child_prep(struct aiocb *cb, int fd, void *buf, size_t len, off_t off, unsigned idx,
		       int notify, uint64_t *rng)
{
	prep_aiocb(cb, fd, buf, len, off);
	set_sigevent(&cb->aio_sigevent, notify, make_id(ID_CHILD, 0, idx, 0), 0, rng);
}

/* Every notification of the child's own requests comes, within 10 s. */
static void child_wait_notes(unsigned expected)
{
	double end = now_sec() + 10;
	unsigned i, got;

	for (;;) {
		for (i = 0, got = 0; i < CHILD_BLOCKS * 2; i++)
			got += LOAD(&child_notes[i]);
		if (got == expected)
			return;
		if (now_sec() > end)
			die("%u of the %u notifications of the child's own requests came in 10 s",
			    got, expected);
		take_note_signals(sig_note, 1000000, 0);
	}
}

/*
 * In a fork child (or one exec'd from it): requests of its own on a file
 * of its own: writes, the same blocks read back by lio_listio(LIO_WAIT), a
 * flush, a pipe read; then _exit(0).
 */
static void child_requests(void)
{
	static struct aiocb cbs[CHILD_BLOCKS * 2];	/* the writes, then the reads */
	static unsigned char data[CHILD_BLOCKS][REGION], back[CHILD_BLOCKS][REGION];
	struct aiocb *reads[CHILD_BLOCKS], sync_cb, pipe_cb;
	unsigned i, expect_notes = 0;
	uint64_t rng = mix64((uint64_t)getpid());
	int fd = new_temp_file(), p[2];
	char pbuf[16];

	for (i = 0; i < CHILD_BLOCKS; i++) {
		int notify = (int[]){ SIGEV_NONE, SIGEV_SIGNAL, SIGEV_THREAD }[i % 3];

		region_fill(data[i], i, (uint64_t)getpid());
		child_prep(&cbs[i], fd, data[i], REGION, region_off(i), i, notify, &rng);
		expect_notes += notify != SIGEV_NONE;
		if (aio_write(&cbs[i]))
			die("aio_write %u: %s", i, strerror(errno));
	}
	for (i = 0; i < CHILD_BLOCKS; i++)
		child_expect(&cbs[i], REGION, "write", i);
	for (i = 0; i < CHILD_BLOCKS; i++) {
		int notify = (int[]){ SIGEV_THREAD, SIGEV_NONE, SIGEV_SIGNAL }[i % 3];

		reads[i] = &cbs[CHILD_BLOCKS + i];
		memset(back[i], 0, REGION);
		child_prep(reads[i], fd, back[i], REGION, region_off(i), CHILD_BLOCKS + i, notify,
			   &rng);
		reads[i]->aio_lio_opcode = LIO_READ;
		expect_notes += notify != SIGEV_NONE;
	}
	/* EINTR: a signal may interrupt the wait; child_expect then waits */
	if (lio_listio(LIO_WAIT, reads, CHILD_BLOCKS, NULL) && errno != EINTR)
		die("lio_listio(LIO_WAIT, %u reads): %s", CHILD_BLOCKS, strerror(errno));
	for (i = 0; i < CHILD_BLOCKS; i++) {
		child_expect(reads[i], REGION, "read", i);
		if (memcmp(data[i], back[i], REGION))
			die("read %u: wrong data", i);
	}
	prep_aiocb(&sync_cb, fd, NULL, 0, 0);
	if (aio_fsync(O_DSYNC, &sync_cb))
		die("aio_fsync: %s", strerror(errno));
	child_expect(&sync_cb, 0, "aio_fsync", 0);
	if (pipe(p))
		die("pipe: %s", strerror(errno));
	prep_aiocb(&pipe_cb, p[0], pbuf, sizeof pbuf, 0);
	if (aio_read(&pipe_cb))
		die("aio_read (pipe): %s", strerror(errno));
	if (write(p[1], "child", 5) != 5)
		die("write to the pipe: %s", strerror(errno));
	child_expect(&pipe_cb, 5, "pipe read", 0);
	if (memcmp(pbuf, "child", 5))
		die("pipe read: wrong data");
	child_wait_notes(expect_notes);
	_exit(0);
}

/* In a fork child: an inherited request is over here, and aio_cancel leaves it alone. */
static void check_inherited(struct submitter *t, struct slot *s)
{
	uint32_t pin = LOAD(&s->pin);
	int e, rc;

	if (pin != PIN_LIVE && pin != PIN_PINNED)
		return;
	e = aio_error(&s->cb);
	if (e == EINPROGRESS)
		slot_die(t, s, "the parent's request is still EINPROGRESS in the child");
	__atomic_fetch_add(&creport->inherited, 1, __ATOMIC_RELAXED);
	if (e == ECANCELED) {
		ssize_t ret = aio_return(&s->cb);

		__atomic_fetch_add(&creport->inherited_cancelled, 1, __ATOMIC_RELAXED);
		if (ret != -1)
			slot_die(t, s, "inherited, ECANCELED with aio_return %zd", ret);
	}
	rc = aio_cancel(s->cb.aio_fildes, &s->cb);
	if (rc != AIO_ALLDONE)
		slot_die(t, s, "inherited: aio_cancel = %d in the child, expected AIO_ALLDONE", rc);
}

static void expect_all_done(int fd, const char *what)
{
	int rc = aio_cancel(fd, NULL);

	if (rc != AIO_ALLDONE)
		die("aio_cancel(%s fd %d, NULL) = %d in the child, expected AIO_ALLDONE", what, fd,
		    rc);
}

/* In a fork child: nothing of the parent's is in progress here; then requests of its own. */
static void child_main(void)
{
	unsigned i, j;

	in_child = 1;
	note_taker = (pid_t)syscall(SYS_gettid);	/* the child's only thread */
	__atomic_store_n(&failing, 0, __ATOMIC_RELAXED);
	signal(SIGALRM, SIG_DFL);
	alarm(CHILD_ALARM_SEC);
	for (i = 0; i < opt.threads; i++) {
		struct submitter *t = &submitters[i];

		for (j = 0; j < t->nslots; j++)
			check_inherited(t, &t->slots[j]);
		expect_all_done(t->rfd, "stream");
	}
	expect_all_done(file_fd, "shared file");
#ifdef TSAN_BUILD
	/*
	 * GCC 12's ThreadSanitizer does not hold its internal allocator's lock
	 * across fork: a child forked while another thread held it (starting
	 * or ending a thread) spins for ever in the first pthread_create
	 * (__tsan::ProcCreate -> InternalAlloc).  Under TSan the requests of
	 * the child's own run in a fresh image of this program.
	 */
	execl("/proc/self/exe", self_name, "--child", (char *)NULL);
	die("exec /proc/self/exe: %s", strerror(errno));
#else
	child_requests();
#endif
}

/* A hung fork child: what each of its threads is in (comm, then /proc/.../syscall). */
static void dump_hung(pid_t pid)
{
	char cmd[200];

	snprintf(
		cmd, sizeof cmd,
		"cd /proc/%d/task && for t in *; do echo \"  $t $(cat $t/comm): $(cat $t/syscall)\"; "
		"done >&2",
		(int)pid);
	fprintf(stderr, "stress: the hung fork child %d, thread by thread:\n", (int)pid);
	if (system(cmd) == -1)
		fprintf(stderr, "stress: system: %s\n", strerror(errno));
}

/* Sleep until `until` (now_sec), in short steps; false if the helpers are told to stop first. */
static bool pace_until(double until)
{
	while (now_sec() < until)
		if (LOAD(&stop_helpers))
			return false;
		else
			nap_us(5000);
	return !LOAD(&stop_helpers);
}

/* A fork every fork_ms / 2 .. 1.5 * fork_ms; each child must exit 0 in CHILD_TIMEOUT_MS. */
static void *forker(void *arg)
{
	uint64_t rng = helper_rng(33);

	(void)arg;
	while (pace_until(now_sec() + (double)opt.fork_ms / 2000 +
			  (double)pick(&rng, opt.fork_ms + 1) / 1000)) {
		pid_t pid = fork();
		int st;

		if (pid < 0)
			die("fork: %s", strerror(errno));
		if (pid == 0)
			child_main();
		STORE(&child_pid, pid);
		st = wait_child(pid, CHILD_TIMEOUT_MS);
		if (st == -1) {
			dump_hung(pid);
			kill(pid, SIGKILL);
			waitpid(pid, NULL, 0);
		}
		STORE(&child_pid, 0);
		if (st == -1)
			die("fork child %d did not exit in %ld ms (hang)", (int)pid,
			    CHILD_TIMEOUT_MS);
		if (st < 0)
			die("waitpid(%d): %s", (int)pid, strerror(errno));
		if (!WIFEXITED(st) || WEXITSTATUS(st))
			die("fork child %d: %s %d%s", (int)pid,
			    WIFEXITED(st) ? "exit status" : "killed by signal",
			    WIFEXITED(st) ? WEXITSTATUS(st) : WTERMSIG(st),
			    !WIFEXITED(st) && WTERMSIG(st) == SIGALRM ? " (its alarm: a hang)"
								      : "");
		helpers.forks++;
	}
	return NULL;
}

/* ---- the watchdog and the end ---- */

/* Which of rtaio's threads run now: bits 1 rtaio-ring, 2 rtaio-worker, 4 rtaio-notify. */
static unsigned rtaio_threads(void)
{
	static const char *const names[] = { "rtaio-ring", "rtaio-worker", "rtaio-notify" };
	unsigned k, seen = 0;

	for (k = 0; k < 3; k++)
		if (count_tasks(names[k], 0) > 0)
			seen |= 1u << k;
	return seen;
}

static void hang_report(double quiet_for)
{
	unsigned i, j;

	fprintf(stderr, "stress: no request finished and no notification came for %.0f s:\n",
		quiet_for);
	for (i = 0; i < opt.threads; i++) {
		struct submitter *t = &submitters[i];
		unsigned shown = 0;

		fprintf(stderr, "  submitter %u: %s; %lu of %lu submitted, %u slots free\n", i,
			doing_name[LOAD(&t->doing)], t->c.submitted, t->quota, t->nfree);
		for (j = 0; j < t->nslots && shown < 12; j++) {
			struct slot *s = &t->slots[j];
			char what[300];

			if (s->phase == PH_FREE)
				continue;
			describe_slot(t, s, what, sizeof what);
			fprintf(stderr, "    %s: %s, aio_error %d, %s\n", what,
				s->phase == PH_FLIGHT ? "in flight"
						      : "done, waiting for its notification",
				aio_error(&s->cb), s->expect_note ? "notification expected" : "");
			shown++;
		}
	}
	fflush(stderr);
}

/*
 * Until every submitter has finished: fail if nothing finished and no
 * notification came for hang_sec, and sample which of rtaio's threads run.
 * Returns the run's duration; *seen: the threads seen.
 */
static double watch(unsigned *seen)
{
	double t0 = now_sec(), last_change = t0, next_sample = 0;
	uint64_t last_progress = 0;

	for (;;) {
		uint64_t p = LOAD(&progress);
		unsigned i, done = 0;
		double now;

		for (i = 0; i < opt.threads; i++)
			done += LOAD(&submitters[i].finished);
		if (done == opt.threads)
			break;
		nap_us(100000);
		now = now_sec();
		if (p != last_progress) {
			last_progress = p;
			last_change = now;
		}
		if (now - last_change > opt.hang_sec) {
			hang_report(now - last_change);
			die("hang: nothing finished for %.0f s (see the list above)",
			    now - last_change);
		}
		if (now >= next_sample) {
			*seen |= rtaio_threads();
			next_sample = now + 0.5;
		}
	}
	*seen |= rtaio_threads();
	return now_sec() - t0;
}

/* The stream's unread rest follows what was read: nothing lost, nothing doubled. */
static void check_stream(struct submitter *t)
{
	uint64_t wpos = LOAD(&t->wpos), pos = t->rpos;
	unsigned char buf[8192], want[8192];
	double end = now_sec() + 10;

	if (pos > wpos)
		die("submitter %u: %" PRIu64 " stream bytes read, but only %" PRIu64
		    " were written: bytes duplicated",
		    t->id, pos, wpos);
	if (fcntl(t->rfd, F_SETFL, O_NONBLOCK))
		die("fcntl: %s", strerror(errno));
	while (pos < wpos) {
		size_t n = wpos - pos < sizeof buf ? (size_t)(wpos - pos) : sizeof buf;
		ssize_t r = read(t->rfd, buf, n);

		if (r < 0 && (errno == EINTR || errno == EAGAIN) && now_sec() < end)
			continue;
		if (r <= 0)
			die("submitter %u: the stream holds %" PRIu64 " bytes fewer than written "
			    "(%" PRIu64 " read by aio, %" PRIu64 " written): bytes lost (%s)",
			    t->id, wpos - pos, t->rpos, wpos, r < 0 ? strerror(errno) : "EOF");
		stream_fill(want, t->id, pos, (size_t)r);
		if (memcmp(buf, want, (size_t)r))
			die("submitter %u: the stream's unread rest at offset %" PRIu64
			    " does not follow what aio read: bytes lost or duplicated",
			    t->id, pos);
		pos += (uint64_t)r;
	}
	if (read(t->rfd, buf, 1) != -1 || errno != EAGAIN)
		die("submitter %u: the stream holds more bytes than were written: bytes "
		    "duplicated",
		    t->id);
}

/* Each region holds the generation of its last completed write, and the file no more. */
static void check_file(void)
{
	unsigned char got[REGION], want[REGION];
	unsigned i, r;
	struct stat st;

	for (i = 0; i < opt.threads; i++) {
		struct submitter *t = &submitters[i];

		for (r = 0; r < REGIONS; r++) {
			unsigned gid = region_id(t, r);
			uint64_t g;

			full_pio(false, file_fd, got, REGION, region_off(gid), "final check");
			region_fill(want, gid, t->regions[r].gen);
			memcpy(&g, got + 8, 8);
			if (memcmp(got, want, REGION))
				die("at the end, region %u holds generation %" PRIu64
				    ", expected %" PRIu64 " (last cancelled write: %" PRIu64 ")",
				    gid, g, t->regions[r].gen, t->regions[r].cancelled);
		}
	}
	if (fstat(file_fd, &st))
		die("fstat: %s", strerror(errno));
	if (st.st_size != region_off(opt.threads * REGIONS))
		die("the file is %lld bytes, expected %lld", (long long)st.st_size,
		    (long long)region_off(opt.threads * REGIONS));
}

/* Every submitter's requests all ended, one way or another; their counts summed. */
static void check_totals(struct counts *tot)
{
	unsigned i;
	size_t k;

	memset(tot, 0, sizeof *tot);
	for (i = 0; i < opt.threads; i++) {
		const struct counts *c = &submitters[i].c;
		const unsigned long *from = (const unsigned long *)c;

		for (k = 0; k < sizeof *tot / sizeof *from; k++)
			((unsigned long *)tot)[k] += from[k];
		if (c->submitted != c->completed + c->cancelled + c->refused)
			die("submitter %u: %lu submitted, but %lu completed + %lu cancelled + %lu "
			    "refused",
			    i, c->submitted, c->completed, c->cancelled, c->refused);
		if (c->submitted != submitters[i].quota)
			die("submitter %u: %lu submitted, quota %lu", i, c->submitted,
			    submitters[i].quota);
	}
}

static uint64_t notes_received(void)
{
	return LOAD(&notes_by[SIGEV_SIGNAL]) + LOAD(&notes_by[SIGEV_THREAD_ID]) +
	       LOAD(&notes_by[SIGEV_THREAD]);
}

/*
 * A run of COVERAGE_MIN requests or more must have seen every behaviour
 * that it claims to check (shorter runs are for debugging): a run that, say,
 * never cancelled a request or never forked would pass having checked
 * little.  (Its mix makes the rarest, flushes, about 0.3% of the requests.)
 */
static void check_coverage(const struct counts *tot, unsigned seen)
{
	const struct {
		const char *what;
		uint64_t n;
	} need[] = {
		{ "file reads", tot->kinds[K_READ] },
		{ "file writes", tot->kinds[K_WRITE] },
		{ "pipe or socket reads", tot->kinds[K_PIPE] },
		{ "flushes", tot->kinds[K_FSYNC] },
		{ "lio_listio(LIO_WAIT) calls", tot->lists_wait },
		{ "lio_listio(LIO_NOWAIT) calls", tot->lists_nowait },
		{ "completed requests", tot->completed },
		{ "cancelled requests (ECANCELED)", tot->cancelled },
		{ "AIO_CANCELED answers", helpers.answers[AIO_CANCELED] },
		{ "SIGEV_SIGNAL notifications", LOAD(&notes_by[SIGEV_SIGNAL]) },
		{ "SIGEV_THREAD_ID notifications", LOAD(&notes_by[SIGEV_THREAD_ID]) },
		{ "SIGEV_THREAD notifications", LOAD(&notes_by[SIGEV_THREAD]) },
		{ "list notifications", tot->list_notes_expected },
		{ "aio_suspend calls that returned 0", tot->suspend.ok + helpers.waiter.ok },
		{ "evictions from the page cache", helpers.evictions },
		{ "fork children", opt.fork_ms ? helpers.forks : 1 },
		{ "reads completed inside aio_read (inline)",
		  inline_env && !strcmp(inline_env, "0") ? 1 : tot->inline_done },
		{ "rtaio threads seen", seen },
	};
	size_t k;

	if (tot->submitted < COVERAGE_MIN)
		return;
	for (k = 0; k < sizeof need / sizeof need[0]; k++)
		if (!need[k].n)
			die("%lu requests, but no %s: the run did not check what it should",
			    tot->submitted, need[k].what);
}

/* The checks at the end, once every thread but the signal thread has stopped. */
static void final_checks(struct counts *tot, unsigned seen, double dt)
{
	uint64_t want;
	unsigned i;

	check_totals(tot);
	for (i = 0; i < opt.threads; i++)
		check_stream(&submitters[i]);
	check_file();
	want = tot->notes_expected + tot->list_notes_expected;
	if (notes_received() != want)
		die("%" PRIu64 " notifications received, %" PRIu64 " expected", notes_received(),
		    want);
	if (tot->refused > tot->submitted / 100)
		die("%lu of %lu requests were refused (EAGAIN): the backend does not work here?",
		    tot->refused, tot->submitted);
	if (backend_env && !strcmp(backend_env, "uring") && !(seen & 1))
		die("RTAIO_BACKEND=uring, but no rtaio-ring thread was ever seen");
	if (backend_env && !strcmp(backend_env, "threads") && (seen & 1))
		die("RTAIO_BACKEND=threads, but an rtaio-ring thread was seen");
	if (backend_env && !strcmp(backend_env, "threads") && !(seen & 2))
		die("RTAIO_BACKEND=threads, but no rtaio-worker thread was ever seen");
	if (opt.fork_ms && !helpers.forks && dt > 2.0 * opt.fork_ms / 1000 + 1)
		die("no fork child ran in %.1f s", dt);
	check_coverage(tot, seen);
}

static void print_summary(const struct counts *tot, unsigned seen, double dt)
{
	printf("stress: backend=%s inline_reads=%s requests=%lu seconds=%.2f rate=%.0f/s "
	       "completed=%lu cancelled=%lu refused=%lu errors=0\n",
	       backend_env ? backend_env : "auto",
	       inline_env && !strcmp(inline_env, "0") ? "0" : "1", tot->submitted, dt,
	       (double)tot->submitted / dt, tot->completed, tot->cancelled, tot->refused);
	if (opt.quiet)
		return;
	printf("  requests: %lu file reads (%lu final when the call returned), %lu file writes, "
	       "%lu pipe/socket reads (%lu bytes), %lu flushes; lio_listio: %lu LIO_WAIT "
	       "(%lu EINTR), %lu LIO_NOWAIT\n",
	       tot->kinds[K_READ], tot->inline_done, tot->kinds[K_WRITE], tot->kinds[K_PIPE],
	       tot->pipe_bytes, tot->kinds[K_FSYNC], tot->lists_wait, tot->lio_intr,
	       tot->lists_nowait);
	printf("  page cache: %lu times a part of the file was flushed and dropped\n",
	       helpers.evictions);
	printf("  notifications: %" PRIu64 " (SIGEV_SIGNAL %" PRIu64 ", SIGEV_THREAD_ID %" PRIu64
	       ", SIGEV_THREAD %" PRIu64 "), %lu of them for lists\n",
	       notes_received(), LOAD(&notes_by[SIGEV_SIGNAL]), LOAD(&notes_by[SIGEV_THREAD_ID]),
	       LOAD(&notes_by[SIGEV_THREAD]), tot->list_notes_expected);
	printf("  aio_cancel: %lu (fd, NULL) and %lu (fd, cb) calls: %lu AIO_CANCELED, "
	       "%lu AIO_NOTCANCELED, %lu AIO_ALLDONE\n",
	       helpers.cancel_fd_calls, helpers.cancel_cb_calls, helpers.answers[AIO_CANCELED],
	       helpers.answers[AIO_NOTCANCELED], helpers.answers[AIO_ALLDONE]);
	printf("  aio_suspend: submitters %lu done, %lu EAGAIN, %lu EINTR; waiter %lu calls, "
	       "%lu done, %lu EAGAIN, %lu EINTR (%" PRIu64 " SIGUSR1 interruptions)\n",
	       tot->suspend.ok, tot->suspend.again, tot->suspend.intr, helpers.waiter.calls,
	       helpers.waiter.ok, helpers.waiter.again, helpers.waiter.intr,
	       __atomic_load_n(&interrupts, __ATOMIC_RELAXED));
	printf("  fork: %lu children, each with %u requests of its own; they inherited %" PRIu64
	       " requests, %" PRIu64 " of them cancelled (ECANCELED in the child)\n",
	       helpers.forks, CHILD_BLOCKS * 2 + 2, creport->inherited,
	       creport->inherited_cancelled);
	printf("  rtaio threads seen:%s%s%s\n", seen & 1 ? " rtaio-ring" : "",
	       seen & 2 ? " rtaio-worker" : "", seen & 4 ? " rtaio-notify" : "");
}

/* ---- setting up ---- */

/* Submitter id: its slots, its regions (generation 0 in the file), its stream. */
static void setup_submitter(struct submitter *t, unsigned id)
{
	unsigned char region[REGION];
	unsigned i, r;
	int sv[2];

	memset(t, 0, sizeof *t);
	t->id = id;
	t->rng = mix64(opt.seed ^ ((uint64_t)id << 32)) | 1;
	t->nslots = opt.window;
	t->quota = opt.requests / opt.threads + (id < opt.requests % opt.threads);
	t->slots = calloc(t->nslots, sizeof *t->slots);
	t->freelist = calloc(t->nslots, sizeof *t->freelist);
	t->expect = aligned_alloc(64, REGION + PIPE_LEN);
	if (!t->slots || !t->freelist || !t->expect)
		die("out of memory");
	for (i = 0; i < t->nslots; i++) {
		t->slots[i].buf = aligned_alloc(64, REGION + GUARD);
		if (!t->slots[i].buf)
			die("out of memory");
		t->slots[i].pin = PIN_BUSY;
		t->freelist[t->nfree++] = i;
	}
	t->nop.aio_lio_opcode = LIO_NOP;
	t->nop.aio_fildes = file_fd;
	for (r = 0; r < REGIONS; r++) {
		region_fill(region, region_id(t, r), 0);
		full_pio(true, file_fd, region, REGION, region_off(region_id(t, r)), "setup");
	}
	t->socket = id % 2;
	if (t->socket ? socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv)
		      : pipe2(sv, O_CLOEXEC))
		die("%s: %s", t->socket ? "socketpair" : "pipe", strerror(errno));
	t->rfd = sv[0];
	t->wfd = sv[1];
	/* the writer never blocks; the read end blocks (rtaio runs pipe reads with read(2)) */
	if (fcntl(t->wfd, F_SETFL, O_NONBLOCK))
		die("fcntl O_NONBLOCK: %s", strerror(errno));
}

/*
 * The notification signals blocked (in every thread, inherited), SIGUSR1
 * handled without SA_RESTART (aio_suspend and lio_listio see EINTR).
 */
static void setup_signals(void)
{
	struct sigaction sa;
	sigset_t blocked;

	sigemptyset(&blocked);
	sigaddset(&blocked, sig_note);
	sigaddset(&blocked, sig_tid);
	if (pthread_sigmask(SIG_BLOCK, &blocked, NULL))
		die("pthread_sigmask");
	memset(&sa, 0, sizeof sa);
	sa.sa_handler = on_interrupt;
	if (sigaction(SIGUSR1, &sa, NULL))
		die("sigaction: %s", strerror(errno));
}

static void usage(void)
{
	fprintf(stderr, "usage: stress [-n REQUESTS] [-t THREADS] [-s SEED] [-w WINDOW] "
			"[--fork-ms MS] [--hang-sec S] [-q]\n"
			"       stress --probe-uring\n");
	exit(2);
}

/* The options into opt; 'p' (--probe-uring) or 'c' (--child) if asked, else 0. */
static int parse_options(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "requests", required_argument, NULL, 'n' },
		{ "threads", required_argument, NULL, 't' },
		{ "seed", required_argument, NULL, 's' },
		{ "window", required_argument, NULL, 'w' },
		{ "fork-ms", required_argument, NULL, 'f' },
		{ "hang-sec", required_argument, NULL, 'h' },
		{ "quiet", no_argument, NULL, 'q' },
		{ "probe-uring", no_argument, NULL, 'p' },
		{ "child", no_argument, NULL, 'c' },	/* a fork child's requests (TSan builds) */
		{ NULL, 0, NULL, 0 }
	};
	static const struct {
		int c;
		unsigned *value;
	} unsigned_opts[] = { { 't', &opt.threads },
			      { 'w', &opt.window },
			      { 'f', &opt.fork_ms },
			      { 'h', &opt.hang_sec } };
	int c, mode = 0;
	size_t k;

	while ((c = getopt_long(argc, argv, "n:t:s:w:q", longopts, NULL)) != -1) {
		for (k = 0; k < 4 && unsigned_opts[k].c != c; k++)
			;
		if (k < 4)
			*unsigned_opts[k].value = (unsigned)strtoul(optarg, NULL, 0);
		else if (c == 'n')
			opt.requests = strtoul(optarg, NULL, 0);
		else if (c == 's')
			opt.seed = strtoull(optarg, NULL, 0);
		else if (c == 'q')
			opt.quiet = true;
		else if (c == 'p' || c == 'c')
			mode = c;
		else
			usage();
	}
	if (optind != argc || !opt.threads || opt.threads > MAX_THREADS || opt.window < 4 ||
	    opt.window > MAX_WINDOW || !opt.requests || !opt.hang_sec)
		usage();
	opt.requests = scaled(opt.requests);
	return mode;
}

int main(int argc, char **argv)
{
	pthread_t cth, fth, wrth, sth, eth;
	struct counts tot;
	unsigned i, seen = 0;
	double dt;
	int mode;

	self_name = argv[0];
	mode = parse_options(argc, argv);
	if (mode == 'p') {
		if (!uring_available()) {
			printf("no io_uring here: io_uring_setup: %s\n", strerror(errno));
			return 77;
		}
		printf("io_uring works here\n");
		return 0;
	}
	backend_env = getenv("RTAIO_BACKEND");
	inline_env = getenv("RTAIO_INLINE_READS");
	setvbuf(stdout, NULL, _IOLBF, 0);
	sig_note = SIGRTMIN + 3;
	sig_tid = SIGRTMIN + 4;
	pthread_attr_init(&detached_attr);
	pthread_attr_setdetachstate(&detached_attr, PTHREAD_CREATE_DETACHED);
	if (mode == 'c') {
		/* exec'd by a fork child; the notification signals are blocked already */
		in_child = 1;
		note_taker = (pid_t)syscall(SYS_gettid);
		signal(SIGALRM, SIG_DFL);
		alarm(CHILD_ALARM_SEC);
		child_requests();
	}
#ifdef __i386__
	if (skip_under_qemu(QEMU_I386_SIGRETURN_TLS))
		opt.interrupts = false;
#endif
	if (opt.fork_ms && skip_under_qemu("fork children: " QEMU_FORK_WITH_THREADS))
		opt.fork_ms = 0;
	setup_signals();
	creport = mmap(NULL, sizeof *creport, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS,
		       -1, 0);
	if (creport == MAP_FAILED)
		die("mmap: %s", strerror(errno));
	file_fd = new_temp_file();
	submitters = calloc(opt.threads, sizeof *submitters);
	if (!submitters)
		die("out of memory");
	for (i = 0; i < opt.threads; i++)
		setup_submitter(&submitters[i], i);
	if (!opt.quiet)
		printf("stress: %lu requests, %u submitters, window %u, seed %" PRIu64
		       ", RTAIO_BACKEND=%s, RTAIO_INLINE_READS=%s\n",
		       opt.requests, opt.threads, opt.window, opt.seed,
		       backend_env ? backend_env : "(unset)", inline_env ? inline_env : "(unset)");

	start_thread(&wrth, writer, NULL);
	start_thread(&sth, signal_thread, NULL);
	while (!__atomic_load_n(&note_taker, __ATOMIC_ACQUIRE))
		sched_yield();	/* the submitters' SIGEV_SIGNAL requests name it */
	for (i = 0; i < opt.threads; i++)
		start_thread(&submitters[i].th, submitter_main, &submitters[i]);
	start_thread(&waiter_th, waiter, NULL);
	start_thread(&cth, canceller, NULL);
	start_thread(&eth, evictor, NULL);
	if (opt.fork_ms)
		start_thread(&fth, forker, NULL);
	dt = watch(&seen);

	/* the canceller may still signal a submitter: submitters are joined after it */
	STORE(&stop_helpers, 1);
	join_thread(cth, "canceller", 10000);
	join_thread(waiter_th, "waiter", 10000);
	join_thread(eth, "evictor", 30000);
	if (opt.fork_ms)
		join_thread(fth, "forker", CHILD_TIMEOUT_MS + 10000);
	for (i = 0; i < opt.threads; i++)
		join_thread(submitters[i].th, "submitter", 10000);
	STORE(&stop_writer, 1);
	join_thread(wrth, "writer", 10000);
	STORE(&stop_signals, 1);
	join_thread(sth, "signal", 10000);

	final_checks(&tot, seen, dt);
	print_summary(&tot, seen, dt);
	return 0;
}
