/*
 * A libFuzzer target for rtaio's POSIX AIO layer: the input is a small
 * program of operations (aio_read, aio_write, aio_fsync, lio_listio,
 * aio_cancel, aio_suspend, aio_error/aio_return, short waits) over a fixed
 * pool of POOL aiocbs, each with a buffer of its own, and a fixed set of
 * descriptors.  Every field of every aiocb comes from the input, within
 * what a correct program may do:
 *
 * - an aiocb in progress is never submitted again, changed or listed for
 *   lio_listio, and its buffer is never touched until it is final;
 * - aio_buf points into the aiocb's own buffer for at most what is left of
 *   it, or else at memory that the kernel refuses (NULL, a PROT_NONE page,
 *   non-canonical and kernel addresses), which rtaio must never touch
 *   itself; /dev/null alone also gets huge aio_nbytes;
 * - a pipe read can block until drain closes the pipe's write end, so
 *   LIO_WAIT is used only when the pipe holds enough for every read listed
 *   so far, and pipe writes stay within what the pipe holds;
 * - signals are ones the process ignores, SIGEV_THREAD functions only count.
 *
 * After the program, drain: cancel what is in progress, wait (10 s at most,
 * then abort: a hang), close the pipe's write end, wait for the pipe reads,
 * and check: the status of every request, the data every read returned
 * (each file has a position-dependent pattern; concurrent writes to the
 * read-write file only ever write each position's own pattern byte), the
 * order of the pipe's and the O_APPEND file's data, the files' sizes, the
 * buffers' bytes outside what each request may write, and SIGEV_THREAD
 * notifications (at most once each; exactly once where POSIX says).
 *
 * Input format, all integers little-endian, missing bytes read as 0:
 * a sequence of at most MAX_OPS operations, each an opcode byte (mod 12:
 * 0-1 aio_read, 2-3 aio_write, 4 aio_fsync, 5-6 lio_listio (either
 * version: lio_listio@GLIBC_2.2.5 ignores the elements' sigevents),
 * 7 aio_cancel, 8 aio_suspend, 9 aio_error+aio_return, 10 wait for one
 * aiocb, 11 nanosleep) followed by its arguments; see the functions below
 * for their bytes.  FUZZ_AIO_TRACE=1 prints what each operation did.
 */
#include <aio.h>
#include <limits.h>
#include <stdarg.h>
#include <stddef.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/stat.h>

#include "testutil.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define POOL 8			/* aiocbs */
#define BUFSZ 4096		/* each aiocb's buffer */
#define LIST_MAX 16		/* lio_listio and aio_suspend arrays */
#define MAX_OPS 48		/* operations per input */
#define DATA_SIZE (3 * 4096 + 123)	/* the read-only file */
#define PREFILL 8192		/* bytes in the pipe at the start */
#define PIPE_BUDGET 16384	/* bytes the program may write to the pipe */
#define RW_CHECK (256 * 1024)	/* what is checked of the read-write file */
#define DRAIN_SEC 10		/* a request unfinished after that is a hang */
#define NOTE_RING (1u << 16)
#define CANARY 0xA5
#define MAX_RW_COUNT 0x7ffff000L	/* the kernel's cap on one read or write */

/* --- the descriptors --- */

enum {
	FD_RO,		/* DATA_SIZE bytes of pattern_byte(), O_RDONLY */
	FD_RO_DIRECT,	/* the same file, O_DIRECT (-1 where unsupported) */
	FD_RW,		/* rw_byte() or holes, O_RDWR, emptied for each input */
	FD_APPEND,	/* O_RDWR|O_APPEND, emptied for each input */
	FD_NULL,	/* /dev/null */
	FD_PIPE_R,	/* PREFILL bytes, then what the pipe writes add */
	FD_PIPE_W,
	FD_DIR,		/* the temporary directory */
	FD_NEG,		/* -1 */
	FD_HUGE,	/* 999999 */
	FD_CLOSED,	/* a high fd closed at start-up, never reused */
	NFD
};
static int fds[NFD];
static const char *const fd_names[NFD] = { "ro", "ro-direct", "rw", "append", "null",
					   "pipe-r", "pipe-w", "dir", "neg", "huge", "closed" };

/* --- the input --- */

static const uint8_t *in_p;
static size_t in_n;

static uint8_t get8(void)
{
	if (!in_n)
		return 0;
	in_n--;
	return *in_p++;
}

static uint16_t get16(void)
{
	uint16_t v = get8();

	return (uint16_t)(v | (uint16_t)get8() << 8);
}

static uint32_t get32(void)
{
	uint32_t v = get16();

	return v | (uint32_t)get16() << 16;
}

static uint64_t get64(void)
{
	uint64_t v = get32();

	return v | (uint64_t)get32() << 32;
}

/* --- patterns --- */

/* Never 0: a hole in the read-write file reads as 0. */
static uint8_t rw_byte(uint64_t p)
{
	return (uint8_t)((p * 0x9E3779B97F4A7C15ull) >> 56) % 255 + 1;
}

/* The bytes of the request numbered seq, for the pipe and the append file. */
static uint8_t seq_byte(uint32_t seq, size_t k)
{
	uint32_t x = seq * 0x9E3779B1u + (uint32_t)k * 0x85EBCA77u;

	x ^= x >> 15;
	return (uint8_t)x;
}

static uint8_t prefill_byte(size_t k)
{
	return (uint8_t)(k * 13 + 1);
}

/* --- failing --- */

__attribute__((noreturn, format(printf, 1, 2))) static void die(const char *fmt, ...)
{
	va_list ap;

	fputs("fuzz_aio: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	abort();
}

/* FUZZ_AIO_TRACE=1: say what each operation did (to read a reproducer). */
static bool tracing;

__attribute__((format(printf, 1, 2))) static void trace(const char *fmt, ...)
{
	va_list ap;

	if (!tracing)
		return;
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

#define CHECK(cond, ...)			\
	do {					\
		if (!(cond))			\
			die(__VA_ARGS__);	\
	} while (0)

/* --- SIGEV_THREAD notifications, counted by token --- */

static struct note {
	uint32_t token;
	uint32_t count;
} notes[NOTE_RING];
static uint32_t next_token = 1;
static uint64_t stale_notes;

enum expect { EXP_NONE, EXP_MAYBE, EXP_EXACT };
static struct expectation {
	uint32_t token;
	enum expect expect;
} expects[MAX_OPS * (LIST_MAX + 1) + 16];
static size_t n_expects;

static void note_fn(union sigval v)
{
	uint32_t t = (uint32_t)v.sival_int;
	struct note *n = &notes[t & (NOTE_RING - 1)];

	if (__atomic_load_n(&n->token, __ATOMIC_ACQUIRE) != t) {
		__atomic_fetch_add(&stale_notes, 1, __ATOMIC_RELAXED);
		return;
	}
	CHECK(__atomic_fetch_add(&n->count, 1, __ATOMIC_ACQ_REL) == 0,
	      "SIGEV_THREAD notification for token %u delivered more than once", t);
}

static uint32_t new_token(void)
{
	uint32_t t = next_token++;
	struct note *n = &notes[t & (NOTE_RING - 1)];

	if (!next_token)
		next_token = 1;
	__atomic_store_n(&n->count, 0, __ATOMIC_RELAXED);
	__atomic_store_n(&n->token, t, __ATOMIC_RELEASE);
	return t;
}

static void expect_note(uint32_t token, enum expect e)
{
	if (n_expects < sizeof expects / sizeof expects[0])
		expects[n_expects++] = (struct expectation){ token, e };
}

/* --- sigevents --- */

enum sev_class { SEV_QUIET, SEV_THREAD, SEV_BAD };
static pthread_attr_t detached_attr;
static pid_t main_tid;

/* Signals that the process ignores (SIG_IGN at start-up, or ignored by default). */
static int safe_signal(uint8_t b)
{
	switch (b % 5) {
	case 0:
		return 0;
	case 1:
		return SIGRTMIN + 2;
	case 2:
		return SIGRTMIN + 3;
	case 3:
		return SIGURG;
	default:
		return SIGWINCH;
	}
}

/* Fill sev from the input; *token: the SIGEV_THREAD token, or 0. */
static enum sev_class build_sigevent(struct sigevent *sev, uint32_t *token)
{
	static const int bad_signals[] = { 32, 33, -1, 65, 1000, INT_MIN };
	uint8_t c = get8();

	memset(sev, 0, sizeof *sev);
	*token = 0;
	sev->sigev_value.sival_int = (int)get8();
	switch (c % 16) {
	case 6:
		sev->sigev_notify = SIGEV_SIGNAL;
		sev->sigev_signo = safe_signal(get8());
		return SEV_QUIET;
	case 7:
		sev->sigev_notify = SIGEV_SIGNAL;
		sev->sigev_signo = bad_signals[get8() % 6];
		return SEV_BAD;
	case 8:
		sev->sigev_notify = SIGEV_THREAD_ID;
		sev->sigev_signo = safe_signal(get8());
		sev->_sigev_un._tid = main_tid;
		return SEV_QUIET;
	case 9: {
		uint8_t t = get8();

		sev->sigev_notify = SIGEV_THREAD_ID;
		sev->sigev_signo = safe_signal(get8());
		/* only this process's threads can be reached: the signal is ignored */
		sev->_sigev_un._tid = t % 3 == 0 ? 0 : t % 3 == 1 ? -1 : (int)(get32() >> 1) | 1;
		return sev->_sigev_un._tid > 0 ? SEV_QUIET : SEV_BAD;
	}
	case 10:
	case 11:
	case 12:
	case 13:
		sev->sigev_notify = SIGEV_THREAD;
		sev->sigev_notify_function = note_fn;
		sev->sigev_notify_attributes = c % 16 == 13 ? &detached_attr : NULL;
		*token = new_token();
		sev->sigev_value.sival_int = (int)*token;
		return SEV_THREAD;
	case 14:
		sev->sigev_notify = SIGEV_THREAD;
		sev->sigev_notify_function = NULL;
		return SEV_BAD;
	case 15: {
		int v = (int)get32();

		if (v == SIGEV_NONE || v == SIGEV_SIGNAL || v == SIGEV_THREAD ||
		    v == SIGEV_THREAD_ID)
			v = 3;
		sev->sigev_notify = v;
		sev->sigev_signo = (int)get8();
		return SEV_BAD;
	}
	default:
		sev->sigev_notify = SIGEV_NONE;
		sev->sigev_signo = (int)get8();
		return SEV_QUIET;
	}
}

/* --- the aiocbs --- */

enum kind { K_READ, K_WRITE, K_FSYNC, K_BADOP };
static const char *const kind_names[] = { "read", "write", "fsync", "bad-opcode" };

static struct aiocb cbs[POOL];
static unsigned char bufs[POOL][BUFSZ] __attribute__((aligned(4096)));
static unsigned char *noaccess;	/* a PROT_NONE page */

static struct sub {
	bool active;		/* submitted (perhaps refused), not retired yet */
	bool in_list;		/* a lio_listio element */
	bool order_checked;
	enum kind kind;
	int fdk;
	long long off;
	size_t nbytes;
	size_t bufoff;
	bool bufvalid;		/* aio_buf == bufs[i] + bufoff */
	bool prio_ok;
	enum sev_class sev;
	uint32_t token;
	uint32_t seq;		/* submission order within the input */
	int sync_err;		/* errno of a synchronous refusal, or 0 */
} subs[POOL];
static uint32_t next_seq;

/* What the current program has done, for the checks after drain. */
static size_t pipe_read_asked, pipe_written_asked;
struct rec {
	uint32_t seq;
	long long off;
	size_t len;
	unsigned char *data;	/* reads only */
};
static struct rec *pipe_reads, *pipe_writes, *app_reads, *app_writes;
static size_t n_pipe_reads, n_pipe_writes, n_app_reads, n_app_writes;
static unsigned char rw_written[RW_CHECK / 8];
static long long rw_end;	/* the end of the furthest successful write */
static long long rw_fail_end;	/* of a failed one, which may extend the file too */

static void add_rec(struct rec **v, size_t *n, uint32_t seq, long long off, size_t len,
		    const unsigned char *data)
{
	struct rec *r;

	/* grows by powers of two */
	if (!(*n & (*n - 1)) || !*n) {
		r = realloc(*v, (*n ? *n * 2 : 8) * sizeof **v);
		if (!r)
			die("out of memory");
		*v = r;
	}
	r = &(*v)[(*n)++];
	r->seq = seq;
	r->off = off;
	r->len = len;
	r->data = NULL;
	if (data && len) {
		r->data = malloc(len);
		if (!r->data)
			die("out of memory");
		memcpy(r->data, data, len);
	}
}

static void free_recs(struct rec **v, size_t *n)
{
	size_t i;

	for (i = 0; i < *n; i++)
		free((*v)[i].data);
	free(*v);
	*v = NULL;
	*n = 0;
}

static bool in_progress(int i)
{
	return subs[i].active && aio_error(&cbs[i]) == EINPROGRESS;
}

static void describe(int i, char *out, size_t len)
{
	const struct sub *s = &subs[i];

	snprintf(out, len, "aiocb %d: %s%s on %s (fd %d), offset %lld, nbytes %zu, buf %s+%zu, "
		 "seq %u, aio_error %d",
		 i, kind_names[s->kind], s->in_list ? " (lio_listio)" : "", fd_names[s->fdk],
		 cbs[i].aio_fildes, s->off, s->nbytes, s->bufvalid ? "own" : "bad", s->bufoff,
		 s->seq, aio_error(&cbs[i]));
}

/* Requests on the same fd that must have finished before i ran. */
static bool ordered(const struct sub *s)
{
	return s->kind == K_FSYNC || s->fdk == FD_PIPE_R || s->fdk == FD_PIPE_W ||
	       s->fdk == FD_DIR || s->fdk == FD_NULL ||
	       (s->fdk == FD_APPEND && s->kind == K_WRITE);
}

/*
 * An fsync that succeeded ran after everything submitted before it on its
 * fd had finished; an ordered request that succeeded, after every ordered
 * one before it.  (A read on /dev/null, or of 0 bytes on a directory, may
 * complete at submission, out of turn: preadv2 works there.)
 */
static void check_order(int b)
{
	const struct sub *sb = &subs[b];
	char what[256], other[256];
	int a;

	if (sb->order_checked || !sb->active || aio_error(&cbs[b]) != 0)
		return;
	subs[b].order_checked = true;
	if (!ordered(sb) || ((sb->fdk == FD_NULL || sb->fdk == FD_DIR) && sb->kind == K_READ) ||
	    sb->sync_err)
		return;
	for (a = 0; a < POOL; a++) {
		const struct sub *sa = &subs[a];

		if (a == b || !sa->active || sa->fdk != sb->fdk || sa->seq > sb->seq ||
		    (sb->kind != K_FSYNC && !ordered(sa)))
			continue;
		if (aio_error(&cbs[a]) == EINPROGRESS) {
			describe(b, what, sizeof what);
			describe(a, other, sizeof other);
			die("out of order: %s finished while an earlier one is in progress: %s",
			    what, other);
		}
	}
}

/* Bytes of buffer i outside [from, to) must still be the canary. */
static void check_canary(int i, size_t from, size_t to)
{
	char what[256];
	size_t k;

	for (k = 0; k < BUFSZ; k++)
		if ((k < from || k >= to) && bufs[i][k] != CANARY) {
			describe(i, what, sizeof what);
			die("%s: buffer byte %zu changed outside [%zu, %zu)", what, k, from, to);
		}
}

/* A final request: check its status and data, and log what the final checks need. */
static void retire(int i)
{
	struct sub *s = &subs[i];
	struct aiocb *cb = &cbs[i];
	int err = s->active ? aio_error(cb) : 0;
	ssize_t ret = s->active ? aio_return(cb) : 0;
	const unsigned char *data = s->bufvalid ? bufs[i] + s->bufoff : NULL;
	char what[256];
	size_t k;

	if (!s->active)
		return;
	describe(i, what, sizeof what);
	check_order(i);
	CHECK(err != EINPROGRESS, "retiring %s", what);
	CHECK(err >= 0 && err < 4096, "%s: aio_error %d", what, err);
	CHECK(err ? ret == -1 : ret >= 0, "%s: aio_return %zd with aio_error %d", what, ret, err);
	CHECK(aio_return(cb) == ret, "%s: aio_return changed", what);
	if (s->sync_err)
		CHECK(err != 0, "%s: refused with %d, yet aio_error 0", what, s->sync_err);
	if (s->kind == K_BADOP)
		CHECK(err == EINVAL, "%s: an unknown lio_listio opcode gave %d, not EINVAL", what,
		      err);
	if (s->kind == K_FSYNC) {
		CHECK(ret <= 0, "%s: fsync returned %zd", what, ret);
		s->active = false;
		return;
	}
	if (s->kind == K_BADOP) {
		s->active = false;
		return;
	}
	if (!err)
		CHECK((size_t)ret <= s->nbytes && ret <= MAX_RW_COUNT,
		      "%s: returned %zd for %zu bytes", what, ret, s->nbytes);
	/* a negative offset is EINVAL where there are offsets */
	if (s->off < 0 && (s->fdk == FD_RO || s->fdk == FD_RO_DIRECT || s->fdk == FD_RW ||
			   (s->fdk == FD_APPEND && s->kind == K_READ)))
		CHECK(err != 0, "%s: a negative offset succeeded (%zd bytes)", what, ret);
	if (s->kind == K_WRITE && (s->fdk == FD_RO || s->fdk == FD_RO_DIRECT ||
				   s->fdk == FD_PIPE_R || s->fdk == FD_DIR))
		CHECK(err != 0, "%s: a write on a read-only fd succeeded", what);
	if (s->kind == K_READ && s->fdk == FD_PIPE_W)
		CHECK(err != 0, "%s: a read on a pipe's write end succeeded", what);
	if (s->fdk == FD_NEG || s->fdk == FD_HUGE || s->fdk == FD_CLOSED)
		CHECK(err != 0, "%s: succeeded on a bad fd", what);
	if (err && s->kind == K_WRITE && s->fdk == FD_RW && s->off >= 0 &&
	    s->off <= LLONG_MAX - BUFSZ && s->off + (long long)s->nbytes > rw_fail_end)
		rw_fail_end = s->off + (long long)s->nbytes;
	if (!s->bufvalid) {
		/* the kernel refuses the buffer, but for /dev/null, which never looks */
		if (s->fdk != FD_NULL && s->nbytes)
			CHECK(err != 0 || (s->kind == K_READ && ret == 0),
			      "%s: succeeded with a bad buffer (%zd bytes)", what, ret);
		check_canary(i, 0, 0);
		s->active = false;
		return;
	}
	/* nothing is written outside what the request may write, nor past a read's end */
	if (s->kind == K_READ && !err && s->fdk != FD_RO_DIRECT)
		check_canary(i, s->bufoff, s->bufoff + (size_t)ret);
	else if (s->kind == K_READ)
		check_canary(i, s->bufoff, s->bufoff + s->nbytes);
	if (s->kind == K_WRITE) {
		check_canary(i, s->bufoff, s->bufoff + s->nbytes);
		for (k = 0; k < s->nbytes && s->fdk != FD_NULL; k++) {
			uint8_t want = s->fdk == FD_RW ? rw_byte((uint64_t)s->off + k)
						       : seq_byte(s->seq, k);

			CHECK(data[k] == want, "%s: a write changed its buffer at %zu", what, k);
		}
	}
	if (err) {
		s->active = false;
		return;
	}
	switch (s->fdk) {
	case FD_RO:
	case FD_RO_DIRECT:
		if (s->kind != K_READ)
			break;
		if (s->fdk == FD_RO) {
			long long want = s->off >= DATA_SIZE ? 0 : DATA_SIZE - s->off;

			if ((unsigned long long)want > s->nbytes)
				want = (long long)s->nbytes;
			CHECK(ret == want, "%s: read %zd bytes, expected %lld", what, ret, want);
		}
		for (k = 0; k < (size_t)ret; k++)
			CHECK(data[k] == pattern_byte((uint64_t)s->off + k),
			      "%s: read byte %zu is %#x, not %#x", what, k, data[k],
			      pattern_byte((uint64_t)s->off + k));
		break;
	case FD_RW:
		if (s->kind == K_READ) {
			for (k = 0; k < (size_t)ret; k++)
				CHECK(!data[k] || data[k] == rw_byte((uint64_t)s->off + k),
				      "%s: read byte %zu is %#x: neither a hole nor %#x", what, k,
				      data[k], rw_byte((uint64_t)s->off + k));
		} else if (ret) {
			for (k = 0; k < (size_t)ret; k++) {
				unsigned long long p = (unsigned long long)s->off + k;

				if (p < RW_CHECK)
					rw_written[p / 8] |= (unsigned char)(1u << (p % 8));
			}
			if (s->off + ret > rw_end)
				rw_end = s->off + ret;
		}
		break;
	case FD_APPEND:
		if (s->kind == K_READ)
			add_rec(&app_reads, &n_app_reads, s->seq, s->off, (size_t)ret, data);
		else
			add_rec(&app_writes, &n_app_writes, s->seq, 0, (size_t)ret, NULL);
		break;
	case FD_PIPE_R:
		if (s->kind == K_READ)
			add_rec(&pipe_reads, &n_pipe_reads, s->seq, 0, (size_t)ret, data);
		break;
	case FD_PIPE_W:
		if (s->kind == K_WRITE)
			add_rec(&pipe_writes, &n_pipe_writes, s->seq, 0, (size_t)ret, NULL);
		break;
	case FD_NULL:
		if (s->kind == K_READ)
			CHECK(ret == 0, "%s: /dev/null read %zd bytes", what, ret);
		else if (s->nbytes <= BUFSZ)
			CHECK((size_t)ret == s->nbytes, "%s: /dev/null took %zd bytes", what, ret);
		break;
	default:
		break;
	}
	s->active = false;
}

/* A free aiocb, from `start` on, its last request retired; -1 if all are busy. */
static int pick_free(uint8_t start, unsigned exclude)
{
	int k, i;

	for (k = 0; k < POOL; k++) {
		i = (start + k) % POOL;
		if ((exclude & (1u << i)) || in_progress(i))
			continue;
		retire(i);
		return i;
	}
	return -1;
}

static const int fd_choice[] = { FD_RO,	    FD_RO,     FD_RO_DIRECT, FD_RW,   FD_RW,
				 FD_RW,	    FD_APPEND, FD_APPEND,    FD_NULL, FD_PIPE_R,
				 FD_PIPE_R, FD_PIPE_W, FD_PIPE_W,    FD_DIR,  FD_NEG,
				 FD_HUGE,   FD_CLOSED };

static long long pick_offset(void)
{
	static const long long neg[] = { -1, -2, -512, -4096, LLONG_MIN, LLONG_MIN + 1 };
	static const long long huge[] = { LLONG_MAX,	  LLONG_MAX - 4095, 1LL << 62,
					  (1LL << 44) - 1, 1LL << 40,	     1LL << 31 };

	switch (get8() % 10) {
	case 0:
		return 0;
	case 1:
		return get16() % (DATA_SIZE + 2 * BUFSZ);
	case 2:
		return (get8() % 40) * 512;
	case 3:
		return DATA_SIZE - get8() % 64;
	case 4:
		return neg[get8() % 6];
	case 5:
		return huge[get8() % 6];
	case 6:
		return (long long)get64();
	default:
		return get16() % (DATA_SIZE + 512);
	}
}

/*
 * Fill aiocb i for a request of kind k from the input, and prepare its
 * buffer: the canary, and for a write the bytes it writes.
 */
static void fill(int i, enum kind k, bool for_list)
{
	static const size_t huge_nbytes[] = { SIZE_MAX, SSIZE_MAX, 1ul << 31, MAX_RW_COUNT + 1 };
	struct aiocb *cb = &cbs[i];
	struct sub *s = &subs[i];
	uint8_t c;
	int prio;
	size_t n;

	memset(cb, 0, sizeof *cb);
	memset(s, 0, sizeof *s);
	s->kind = k;
	s->in_list = for_list;
	s->fdk = fd_choice[get8() % (sizeof fd_choice / sizeof fd_choice[0])];
	cb->aio_fildes = fds[s->fdk];
	s->off = pick_offset();
	cb->aio_offset = (off_t)s->off;
	s->bufvalid = true;
	c = get8();
	switch (c % 16) {
	case 0: {
		static const uintptr_t bad[] = { 0, 1, 0x8000000000000000u, 0xffff888000000000u };
		uint8_t b = get8();

		s->bufvalid = false;
		s->nbytes = get16() % (BUFSZ + 1);
		if (s->fdk == FD_APPEND && k == K_WRITE) {
			/*
			 * Not memory that passes access_ok: ext4 extends a file
			 * before it finds the buffer unreadable (EFAULT, yet a
			 * hole at the end) and the appends' order would not show.
			 */
			cb->aio_buf = (void *)bad[2 + b % 2];
		} else if (b % 5 == 4) {
			cb->aio_buf = noaccess;
		} else {
			cb->aio_buf = (void *)bad[b % 4];
			if (b % 4 < 2 && s->nbytes > BUFSZ - 1)	/* stay in page 0 */
				s->nbytes = BUFSZ - 1;
		}
		break;
	}
	case 1:
		if (s->fdk == FD_NULL) {
			s->nbytes = huge_nbytes[get8() % 4];
			s->bufvalid = get8() & 1;
			cb->aio_buf = s->bufvalid ? bufs[i] : NULL;
			break;
		}
		/* fall through */
	case 2:
		s->nbytes = 0;
		break;
	case 3:
		s->nbytes = BUFSZ;
		break;
	case 4:
		s->nbytes = 512 * (1 + get8() % 8);
		break;
	case 5:
		s->bufoff = 512 * (get8() % 8);
		s->nbytes = 512 * (get8() % (BUFSZ / 512 - s->bufoff / 512 + 1));
		break;
	case 6:
		s->bufoff = get16() % BUFSZ;
		s->nbytes = get16() % (BUFSZ - s->bufoff + 1);
		break;
	default:
		s->bufoff = get8() % 64;
		s->nbytes = get16() % (BUFSZ - s->bufoff + 1);
		break;
	}
	/* the pipe never holds more than it can take: no write blocks for ever */
	if (s->fdk == FD_PIPE_W && k == K_WRITE) {
		if (s->nbytes > PIPE_BUDGET - pipe_written_asked)
			s->nbytes = PIPE_BUDGET - pipe_written_asked;
		pipe_written_asked += s->nbytes;
	}
	if (s->bufvalid && cb->aio_buf == NULL)
		cb->aio_buf = bufs[i] + s->bufoff;
	cb->aio_nbytes = s->nbytes;
	memset(bufs[i], CANARY, BUFSZ);
	if (k == K_WRITE && s->bufvalid)
		for (n = 0; n < s->nbytes && n < BUFSZ; n++)
			bufs[i][s->bufoff + n] = s->fdk == FD_RW ? rw_byte((uint64_t)s->off + n)
								 : seq_byte(next_seq, n);
	switch (get8() % 8) {
	case 5:
		prio = get8() % 21;
		break;
	case 6:
		prio = (int)get32();
		break;
	case 7: {
		static const int bad_prio[] = { -1, 21, INT_MAX, INT_MIN };

		prio = bad_prio[get8() % 4];
		break;
	}
	default:
		prio = 0;
		break;
	}
	cb->aio_reqprio = prio;
	s->prio_ok = prio >= 0 && prio <= 20;
	s->sev = build_sigevent(&cb->aio_sigevent, &s->token);
	s->seq = next_seq++;
	if (k == K_READ && s->fdk == FD_PIPE_R)
		pipe_read_asked += s->nbytes;
}

/* --- the operations --- */

/*
 * aio_read, aio_write or aio_fsync (`call`) on aiocb i returned r, errno e:
 * a refusal must be the one expected (want: an errno; 0: none but EAGAIN)
 * and leave the aiocb final, and a SIGEV_THREAD notification must come
 * exactly when the request was accepted.
 */
static void after_submit(int i, const char *call, int r, int e, int want)
{
	struct sub *s = &subs[i];
	char what[256];

	s->active = true;
	describe(i, what, sizeof what);
	trace("%s(%s): %d (errno %d)", call, what, r, e);
	if (want)
		CHECK(r == -1 && e == want, "%s: %s returned %d (errno %d), not %d", what, call, r, e,
		      want);
	else
		CHECK(r == 0 || (r == -1 && e == EAGAIN), "%s: %s returned %d (errno %d)", what, call,
		      r, e);
	if (r) {
		s->sync_err = e;
		CHECK(aio_error(&cbs[i]) != EINPROGRESS, "%s: refused, yet in progress", what);
	}
	if (s->token)
		expect_note(s->token, r == 0 ? EXP_EXACT : EXP_NONE);
}

static void op_rw(enum kind k)
{
	int i = pick_free(get8(), 0), r, e;

	if (i < 0)
		return;
	fill(i, k, false);
	cbs[i].aio_lio_opcode = (int)get8() - 1;	/* ignored */
	errno = 0;
	r = k == K_READ ? aio_read(&cbs[i]) : aio_write(&cbs[i]);
	e = errno;
	after_submit(i, k == K_READ ? "aio_read" : "aio_write", r, e,
		     !subs[i].prio_ok || subs[i].sev == SEV_BAD ? EINVAL : 0);
}

static void op_fsync(void)
{
	int i = pick_free(get8(), 0), r, e, op, want;
	char call[32];

	if (i < 0)
		return;
	fill(i, K_FSYNC, false);
	switch (get8() % 8) {
	case 6:
		op = 0;
		break;
	case 7:
		op = (int)get32();
		break;
	default:
		op = get8() & 1 ? O_DSYNC : O_SYNC;
		break;
	}
	if (op != O_SYNC && op != O_DSYNC)
		want = EINVAL;
	else if (fcntl(cbs[i].aio_fildes, F_GETFL) < 0)
		want = EBADF;
	else if (subs[i].sev == SEV_BAD)
		want = EINVAL;
	else
		want = 0;
	errno = 0;
	r = aio_fsync(op, &cbs[i]);
	e = errno;
	snprintf(call, sizeof call, "aio_fsync(%#x)", op);
	after_submit(i, call, r, e, want);
}

#ifdef AIO__GLIBC_OLD_LIO_LISTIO
/*
 * lio_listio@GLIBC_2.2.5 on x86_64, for programs linked before glibc 2.4:
 * the same, but each element's aio_sigevent is ignored.
 */
int lio_listio_old(int mode, struct aiocb *const list[], int nent, struct sigevent *sig);
__asm__(".symver lio_listio_old, lio_listio@" AIO__GLIBC_BASE);
#define HAS_OLD_LIO_LISTIO true
#else
#define lio_listio_old lio_listio	/* the architecture has no such version */
#define HAS_OLD_LIO_LISTIO false
#endif

static void op_listio(void)
{
	struct aiocb *list[LIST_MAX] = { NULL };
	int slot_of[LIST_MAX], before[LIST_MAX];
	bool submitted[LIST_MAX] = { false };
	struct sigevent lsig, *sig = NULL;
	enum sev_class lsev = SEV_QUIET;
	uint32_t ltoken = 0;
	unsigned used = 0;
	int mode, len, nent, e, r, k, i;
	bool einval, refusal = false, use_null_list, all_ok, any_failed, on_pipe_r = false;
	bool old_abi;
	uint8_t c;

	c = get8();
	old_abi = HAS_OLD_LIO_LISTIO && c / 8 % 8 == 7;
	c %= 8;
	if (c < 3 || c == 7) {
		mode = LIO_NOWAIT;
	} else if (c < 6) {
		mode = LIO_WAIT;
	} else {
		static const int bad_mode[] = { 2, -1, INT_MAX, INT_MIN };

		mode = bad_mode[get8() % 4];
	}
	len = get8() % (LIST_MAX + 1);
	for (k = 0; k < len; k++) {
		uint8_t b = get8();

		slot_of[k] = -1;
		if (b % 8 == 0)
			continue;
		i = pick_free(b / 8, used);
		if (i < 0)
			continue;
		used |= 1u << i;
		slot_of[k] = i;
		list[k] = &cbs[i];
		c = get8() % 8;
		if (c < 3) {
			fill(i, K_READ, true);
			cbs[i].aio_lio_opcode = LIO_READ;
		} else if (c < 6) {
			fill(i, K_WRITE, true);
			cbs[i].aio_lio_opcode = LIO_WRITE;
		} else if (c == 6) {
			fill(i, K_READ, true);
			cbs[i].aio_lio_opcode = LIO_NOP;
		} else {
			static const int bad_op[] = { 3, -1, 16, 17, INT_MAX };

			fill(i, K_BADOP, true);
			cbs[i].aio_lio_opcode = bad_op[get8() % 5];
		}
		before[k] = aio_error(&cbs[i]);
	}
	c = get8() % 8;
	if (c == 6)
		nent = get8() & 1 ? -1 : INT_MIN;
	else if (c == 7)
		nent = get8() % (len + 1);
	else
		nent = len;
	use_null_list = get8() % 16 == 0;
	if (get8() % 4) {
		lsev = build_sigevent(&lsig, &ltoken);
		sig = &lsig;
	}
	einval = (mode != LIO_WAIT && mode != LIO_NOWAIT) || nent < 0 ||
		 (use_null_list && nent > 0) || (mode == LIO_NOWAIT && sig && lsev == SEV_BAD);
	for (k = 0; k < nent && !einval && !use_null_list; k++) {
		if (!list[k] || list[k]->aio_lio_opcode == LIO_NOP)
			continue;
		submitted[k] = true;
		i = slot_of[k];
		if (!subs[i].prio_ok || (subs[i].sev == SEV_BAD && !old_abi))
			refusal = true;
		if (subs[i].fdk == FD_PIPE_R)
			on_pipe_r = true;
	}
	/*
	 * LIO_WAIT only where every element can finish: a request on the
	 * pipe's read end (even a write, or a read of 0 bytes) waits for every
	 * read queued before it there, and each of those, and of the listed
	 * reads, must find its bytes among those the pipe started with.
	 */
	if (mode == LIO_WAIT && on_pipe_r && pipe_read_asked > PREFILL) {
		mode = LIO_NOWAIT;
		if (lsev == SEV_BAD)
			sig = NULL;	/* LIO_WAIT ignored it; LIO_NOWAIT would refuse it */
	}
	/* pipe_read_asked counted every listed pipe read; not those left out */
	for (k = 0; k < len; k++)
		if (slot_of[k] >= 0 && !submitted[k] && subs[slot_of[k]].kind == K_READ &&
		    subs[slot_of[k]].fdk == FD_PIPE_R)
			pipe_read_asked -= subs[slot_of[k]].nbytes;
	errno = 0;
	r = (old_abi ? lio_listio_old : lio_listio)(mode, use_null_list ? NULL : list, nent, sig);
	e = errno;
	trace("lio_listio%s(mode %d, %s of %d, nent %d, sig %s): %d (errno %d)",
	      old_abi ? "@" AIO__GLIBC_BASE : "", mode, use_null_list ? "NULL" : "list", len, nent,
	      !sig ? "NULL" : lsev == SEV_BAD ? "bad" : lsev == SEV_THREAD ? "thread" : "quiet", r,
	      e);
	if (einval) {
		CHECK(r == -1 && e == EINVAL,
		      "lio_listio(mode %d, %s, nent %d, sig %d) returned %d (errno %d), not EINVAL",
		      mode, use_null_list ? "NULL" : "list", nent, sig ? (int)lsev : -1, r, e);
	} else {
		/* EINTR: libFuzzer's SIGALRM handler (-timeout) runs every few seconds */
		CHECK(r == 0 || (r == -1 && (e == EAGAIN || e == EIO ||
					     (e == EINTR && mode == LIO_WAIT))),
		      "lio_listio(mode %d, nent %d, sig %p: notify %d signo %d tid %d class %d) "
		      "returned %d (errno %d)", mode, nent, (void *)sig, sig ? lsig.sigev_notify : 0,
		      sig ? lsig.sigev_signo : 0, sig ? lsig._sigev_un._tid : 0, (int)lsev, r, e);
		if (refusal)
			CHECK(r == -1, "lio_listio(mode %d, nent %d): an element with a bad "
			      "aio_reqprio or sigevent was accepted", mode, nent);
	}
	all_ok = true;
	any_failed = false;
	for (k = 0; k < len; k++) {
		char what[256];
		int err;

		i = slot_of[k];
		if (i < 0)
			continue;
		if (!submitted[k]) {
			/* a NOP, an element past nent, or a list refused whole: untouched */
			CHECK(aio_error(&cbs[i]) == before[k],
			      "lio_listio changed element %d's status (%d to %d) without running it",
			      k, before[k], aio_error(&cbs[i]));
			if (subs[i].token)
				expect_note(subs[i].token, EXP_NONE);
			memset(&subs[i], 0, sizeof subs[i]);
			continue;
		}
		subs[i].active = true;
		describe(i, what, sizeof what);
		trace("  element %d: %s", k, what);
		err = aio_error(&cbs[i]);
		if (mode == LIO_WAIT && !(r == -1 && e == EINTR))
			CHECK(err != EINPROGRESS, "lio_listio(LIO_WAIT) returned %d (errno %d) with "
			      "%s", r, e, what);
		if (err)
			all_ok = false;
		if (err && err != EINPROGRESS)
			any_failed = true;
		if (subs[i].token)
			expect_note(subs[i].token, !subs[i].prio_ok || old_abi ? EXP_NONE
						   : r == 0		       ? EXP_EXACT
									       : EXP_MAYBE);
	}
	if (mode == LIO_WAIT && !einval && !(r == -1 && e == EINTR)) {
		if (r == 0)
			CHECK(all_ok, "lio_listio(LIO_WAIT) returned 0 with a failed element");
		else if (e == EIO)
			CHECK(any_failed, "lio_listio(LIO_WAIT) failed with EIO, every element fine");
	}
	if (ltoken)
		expect_note(ltoken, einval || mode == LIO_WAIT ? EXP_NONE
				    : r == 0		      ? EXP_EXACT
							      : EXP_MAYBE);
}

static void op_cancel(void)
{
	int fdk = fd_choice[get8() % (sizeof fd_choice / sizeof fd_choice[0])];
	int fd = fds[fdk], i = -1, r, e, pre = 0, k;
	uint8_t c = get8();
	struct aiocb *cb = NULL;
	bool fd_ok = fcntl(fd, F_GETFD) >= 0;
	char what[256] = "";

	if (c % 3) {
		i = get8() % POOL;
		cb = &cbs[i];
		pre = aio_error(cb);
		if (subs[i].active)
			describe(i, what, sizeof what);
	}
	errno = 0;
	r = aio_cancel(fd, cb);
	e = errno;
	trace("aio_cancel(%s fd %d, aiocb %d): %d (errno %d)", fd_names[fdk], fd, i, r, e);
	if (!fd_ok) {
		CHECK(r == -1 && e == EBADF, "aio_cancel(%s fd %d) returned %d (errno %d), not EBADF",
		      fd_names[fdk], fd, r, e);
		return;
	}
	if (cb && cb->aio_fildes != fd) {
		CHECK(r == -1 && e == EINVAL,
		      "aio_cancel(%d, aiocb on fd %d) returned %d (errno %d), not EINVAL", fd,
		      cb->aio_fildes, r, e);
		return;
	}
	CHECK(r == AIO_CANCELED || r == AIO_NOTCANCELED || r == AIO_ALLDONE,
	      "aio_cancel(%s, %s) returned %d (errno %d)", fd_names[fdk], cb ? what : "NULL", r, e);
	if (cb) {
		if (pre != EINPROGRESS)
			CHECK(r == AIO_ALLDONE, "aio_cancel(%s) on a final aiocb returned %d", what,
			      r);
		if (r == AIO_CANCELED)
			CHECK(aio_error(cb) == ECANCELED,
			      "aio_cancel(%s) returned AIO_CANCELED, aio_error says %d", what,
			      aio_error(cb));
		if (r == AIO_ALLDONE)
			CHECK(aio_error(cb) != EINPROGRESS,
			      "aio_cancel(%s) returned AIO_ALLDONE, still in progress", what);
		return;
	}
	for (k = 0; k < POOL; k++) {
		if (!subs[k].active || cbs[k].aio_fildes != fd)
			continue;
		if (r == AIO_ALLDONE && aio_error(&cbs[k]) == EINPROGRESS) {
			describe(k, what, sizeof what);
			die("aio_cancel(%s, NULL) returned AIO_ALLDONE with %s in progress",
			    fd_names[fdk], what);
		}
	}
}

static void op_suspend(void)
{
	const struct aiocb *list[LIST_MAX] = { NULL };
	struct timespec ts = { 0, 0 }, *tsp = &ts;
	bool null_list, bad_ts = false, any_done = false, any_listed = false;
	int n = get8() % (LIST_MAX + 1), nent, k, r, e;
	uint8_t c;

	for (k = 0; k < n; k++) {
		uint8_t b = get8();

		if (b % 4)
			list[k] = &cbs[(b / 4) % POOL];
	}
	c = get8() % 8;
	nent = c == 6 ? -1 : c == 7 ? get8() % (n + 1) : n;
	null_list = get8() % 16 == 0;
	for (k = 0; k < nent && !null_list; k++) {
		if (!list[k])
			continue;
		any_listed = true;
		if (aio_error(list[k]) != EINPROGRESS)
			any_done = true;
	}
	switch (get8() % 8) {
	case 3:
		ts.tv_nsec = get16();
		break;
	case 4:
		ts.tv_nsec = 1000000;
		break;
	case 5: {
		uint8_t b = get8();

		bad_ts = true;
		if (b % 3 == 0)
			ts.tv_nsec = -1;
		else if (b % 3 == 1)
			ts.tv_nsec = 1000000000;
		else
			ts.tv_sec = -1;
		break;
	}
	case 6:
		/* no timeout only where the call must return at once */
		if (any_done)
			tsp = NULL;
		break;
	case 7:
		ts.tv_nsec = get8() * 1000L;
		break;
	default:
		break;
	}
	errno = 0;
	r = aio_suspend(null_list ? NULL : list, nent, tsp);
	e = errno;
	trace("aio_suspend(%s of %d, nent %d, timeout %s%ld.%09ld): %d (errno %d)",
	      null_list ? "NULL" : "list", n, nent, tsp ? "" : "NULL ", (long)ts.tv_sec, ts.tv_nsec,
	      r, e);
	if (nent < 0 || (null_list && nent > 0) || bad_ts) {
		CHECK(r == -1 && e == EINVAL,
		      "aio_suspend(%s, %d, bad timeout %d) returned %d (errno %d), not EINVAL",
		      null_list ? "NULL" : "list", nent, bad_ts, r, e);
		return;
	}
	if (any_done)
		CHECK(r == 0, "aio_suspend returned %d (errno %d) with a listed aiocb final", r, e);
	if (r == 0 && any_listed) {
		any_done = false;
		for (k = 0; k < nent; k++)
			if (list[k] && aio_error(list[k]) != EINPROGRESS)
				any_done = true;
		CHECK(any_done, "aio_suspend returned 0 with every listed aiocb in progress");
	} else if (r) {
		CHECK(r == -1 && (e == EAGAIN || e == EINTR), "aio_suspend returned %d (errno %d)",
		      r, e);
	}
}

static void op_status(void)
{
	int i = get8() % POOL, err = aio_error(&cbs[i]);
	ssize_t ret = aio_return(&cbs[i]);

	CHECK(err >= 0, "aio_error %d", err);
	if (err != EINPROGRESS)
		CHECK(err ? ret == -1 : ret >= 0, "aiocb %d: aio_return %zd with aio_error %d", i,
		      ret, err);
}

/* Wait a little for one aiocb. */
static void op_wait(void)
{
	int i = get8() % POOL;
	const struct aiocb *list[1] = { &cbs[i] };
	struct timespec ts = { 0, 1000000 };

	if (in_progress(i) && aio_suspend(list, 1, &ts) < 0)
		CHECK(errno == EAGAIN || errno == EINTR, "aio_suspend: errno %d", errno);
}

static void op_nap(void)
{
	struct timespec ts = { 0, get8() * 1000L };

	nanosleep(&ts, NULL);
}

/* --- drain and the final checks --- */

/* Wait until nothing (on fds other than `skip`'s) is in progress: a hang otherwise. */
static void wait_all(int skip, double deadline)
{
	const struct aiocb *list[POOL];
	struct timespec ts = { 0, 10000000 };
	char what[256];
	int i, n;

	for (;;) {
		n = 0;
		for (i = 0; i < POOL; i++)
			if (in_progress(i) && subs[i].fdk != skip)
				list[n++] = &cbs[i];
		if (!n)
			return;
		if (now_sec() > deadline) {
			for (i = 0; i < POOL; i++)
				if (in_progress(i)) {
					describe(i, what, sizeof what);
					fprintf(stderr, "fuzz_aio: still in progress: %s\n", what);
				}
			die("hang: requests unfinished %d s after drain began", DRAIN_SEC);
		}
		if (aio_suspend(list, n, &ts) < 0)
			CHECK(errno == EAGAIN || errno == EINTR, "aio_suspend in drain: errno %d",
			      errno);
	}
}

static int by_seq(const void *a, const void *b)
{
	const struct rec *x = a, *y = b;

	return x->seq < y->seq ? -1 : x->seq > y->seq;
}

/* The pipe's reads, in order, read a prefix of what went in, in order. */
static void check_pipe(void)
{
	size_t pos = 0, k, j, w = 0, wpos = 0, total = PREFILL;

	if (n_pipe_reads)
		qsort(pipe_reads, n_pipe_reads, sizeof *pipe_reads, by_seq);
	if (n_pipe_writes)
		qsort(pipe_writes, n_pipe_writes, sizeof *pipe_writes, by_seq);
	for (k = 0; k < n_pipe_writes; k++)
		total += pipe_writes[k].len;
	for (k = 0; k < n_pipe_reads; k++) {
		const struct rec *r = &pipe_reads[k];

		for (j = 0; j < r->len; j++, pos++) {
			uint8_t want;

			CHECK(pos < total, "pipe: read %zu bytes, %zu went in", pos + 1, total);
			if (pos < PREFILL) {
				want = prefill_byte(pos);
			} else {
				while (wpos >= pipe_writes[w].len) {
					w++;
					wpos = 0;
				}
				want = seq_byte(pipe_writes[w].seq, wpos++);
			}
			CHECK(r->data[j] == want,
			      "pipe: byte %zu of the stream (read seq %u, byte %zu) is %#x, not %#x",
			      pos, r->seq, j, r->data[j], want);
		}
	}
}

/* The O_APPEND file: its writes, in order; its reads, of what is there. */
static void check_append(void)
{
	size_t total = 0, k, j, pos = 0;
	unsigned char *want, *have;
	struct stat st;

	if (n_app_writes)
		qsort(app_writes, n_app_writes, sizeof *app_writes, by_seq);
	for (k = 0; k < n_app_writes; k++)
		total += app_writes[k].len;
	CHECK(fstat(fds[FD_APPEND], &st) == 0, "fstat: %s", strerror(errno));
	CHECK((size_t)st.st_size == total, "append file: %lld bytes, the writes returned %zu",
	      (long long)st.st_size, total);
	want = malloc(total + 1);
	have = malloc(total + 1);
	CHECK(want && have, "out of memory");
	for (k = 0; k < n_app_writes; k++)
		for (j = 0; j < app_writes[k].len; j++)
			want[pos++] = seq_byte(app_writes[k].seq, j);
	CHECK(pread(fds[FD_APPEND], have, total, 0) == (ssize_t)total, "pread: %s",
	      strerror(errno));
	for (k = 0; k < total; k++)
		CHECK(have[k] == want[k], "append file: byte %zu is %#x, not %#x (writes in "
		      "submission order)", k, have[k], want[k]);
	for (k = 0; k < n_app_reads; k++) {
		const struct rec *r = &app_reads[k];

		if (!r->len)
			continue;	/* at or past the end of the file then */
		CHECK(r->off >= 0 && (size_t)r->off + r->len <= total,
		      "append file: read [%lld, +%zu) past the %zu bytes written", r->off, r->len,
		      total);
		for (j = 0; j < r->len; j++)
			CHECK(r->data[j] == want[r->off + j],
			      "append file: read (seq %u) byte %zu is %#x, not %#x", r->seq, j,
			      r->data[j], want[r->off + j]);
	}
	free(want);
	free(have);
}

/* The read-write file: what was written, holes elsewhere, and the right size. */
static void check_rw(void)
{
	static unsigned char have[RW_CHECK];
	struct stat st;
	size_t n, k;

	CHECK(fstat(fds[FD_RW], &st) == 0, "fstat: %s", strerror(errno));
	CHECK(st.st_size >= rw_end && (st.st_size == rw_end || st.st_size <= rw_fail_end),
	      "rw file: %lld bytes, the writes reach %lld (the failed ones %lld)",
	      (long long)st.st_size, rw_end, rw_fail_end);
	n = st.st_size < RW_CHECK ? (size_t)st.st_size : RW_CHECK;
	CHECK(pread(fds[FD_RW], have, n, 0) == (ssize_t)n, "pread: %s", strerror(errno));
	for (k = 0; k < n; k++) {
		if (rw_written[k / 8] & (1u << (k % 8)))
			CHECK(have[k] == rw_byte(k), "rw file: written byte %zu is %#x, not %#x", k,
			      have[k], rw_byte(k));
		else
			CHECK(!have[k] || have[k] == rw_byte(k),
			      "rw file: unwritten byte %zu is %#x", k, have[k]);
	}
}

static void check_notes(void)
{
	double deadline = now_sec() + DRAIN_SEC;
	size_t k;

	for (k = 0; k < n_expects; k++) {
		const struct expectation *x = &expects[k];
		struct note *n = &notes[x->token & (NOTE_RING - 1)];

		if (x->expect == EXP_EXACT)
			while (!__atomic_load_n(&n->count, __ATOMIC_ACQUIRE)) {
				CHECK(now_sec() < deadline,
				      "SIGEV_THREAD notification for token %u never came", x->token);
				sched_yield();
			}
		else if (x->expect == EXP_NONE)
			CHECK(!__atomic_load_n(&n->count, __ATOMIC_ACQUIRE),
			      "SIGEV_THREAD notification for token %u of a refused request",
			      x->token);
	}
	n_expects = 0;
}

static void open_pipe(void)
{
	unsigned char fill_bytes[PREFILL];
	int p[2];
	size_t k;

	CHECK(pipe2(p, O_CLOEXEC) == 0, "pipe2: %s", strerror(errno));
	fds[FD_PIPE_R] = p[0];
	fds[FD_PIPE_W] = p[1];
	for (k = 0; k < PREFILL; k++)
		fill_bytes[k] = prefill_byte(k);
	CHECK(write(p[1], fill_bytes, PREFILL) == PREFILL, "pipe prefill: %s", strerror(errno));
}

static void drain(bool by_fd)
{
	int i;

	for (i = 0; i < POOL; i++) {
		if (!in_progress(i))
			continue;
		if (by_fd)
			aio_cancel(cbs[i].aio_fildes, NULL);
		else
			aio_cancel(cbs[i].aio_fildes, &cbs[i]);
	}
	trace("drain");
	wait_all(FD_PIPE_R, now_sec() + DRAIN_SEC);
	/* the pipe's reads see the end of the file now */
	close(fds[FD_PIPE_W]);
	fds[FD_PIPE_W] = -1;
	wait_all(-1, now_sec() + DRAIN_SEC);
	for (i = 0; i < POOL; i++)
		retire(i);
	check_pipe();
	check_append();
	check_rw();
	check_notes();
}

/* Ready for the next input: files emptied, a new pipe, nothing logged. */
static void reset(void)
{
	close(fds[FD_PIPE_R]);
	open_pipe();
	CHECK(ftruncate(fds[FD_RW], 0) == 0 && ftruncate(fds[FD_APPEND], 0) == 0,
	      "ftruncate: %s", strerror(errno));
	memset(cbs, 0, sizeof cbs);
	memset(subs, 0, sizeof subs);
	memset(rw_written, 0, sizeof rw_written);
	rw_end = rw_fail_end = 0;
	pipe_read_asked = pipe_written_asked = 0;
	next_seq = 1;
	free_recs(&pipe_reads, &n_pipe_reads);
	free_recs(&pipe_writes, &n_pipe_writes);
	free_recs(&app_reads, &n_app_reads);
	free_recs(&app_writes, &n_app_writes);
}

/* An empty temporary file (see temp_file) with the file status flags `flags`. */
static int new_temp_file(int flags)
{
	int fd = temp_file();

	CHECK(fd >= 0, "O_TMPFILE in $TMPDIR or /tmp: %s", strerror(errno));
	if (flags)
		CHECK(fcntl(fd, F_SETFL, flags) == 0, "F_SETFL: %s", strerror(errno));
	return fd;
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	const char *dir = getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp";
	unsigned char data[DATA_SIZE];
	struct sigaction sa;
	struct rlimit rl;
	char path[64];
	int closed = 900, fd, k;

	(void)argc;
	(void)argv;
	tracing = getenv("FUZZ_AIO_TRACE") && strcmp(getenv("FUZZ_AIO_TRACE"), "0");
	memset(&sa, 0, sizeof sa);
	sa.sa_handler = SIG_IGN;
	for (k = 2; k <= 4; k++)
		sigaction(SIGRTMIN + k, &sa, NULL);
	main_tid = (pid_t)syscall(SYS_gettid);
	pthread_attr_init(&detached_attr);
	pthread_attr_setdetachstate(&detached_attr, PTHREAD_CREATE_DETACHED);
	noaccess = mmap(NULL, BUFSZ, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	CHECK(noaccess != MAP_FAILED, "mmap: %s", strerror(errno));

	fd = new_temp_file(0);
	for (k = 0; k < DATA_SIZE; k++)
		data[k] = pattern_byte((uint64_t)k);
	CHECK(pwrite(fd, data, DATA_SIZE, 0) == DATA_SIZE, "pwrite: %s", strerror(errno));
	snprintf(path, sizeof path, "/proc/self/fd/%d", fd);
	fds[FD_RO] = open(path, O_RDONLY | O_CLOEXEC);
	CHECK(fds[FD_RO] >= 0, "%s: %s", path, strerror(errno));
	fds[FD_RO_DIRECT] = open(path, O_RDONLY | O_CLOEXEC | O_DIRECT);	/* -1 on tmpfs */
	close(fd);
	fds[FD_RW] = new_temp_file(0);
	fds[FD_APPEND] = new_temp_file(O_APPEND);
	fds[FD_NULL] = open("/dev/null", O_RDWR | O_CLOEXEC);
	CHECK(fds[FD_NULL] >= 0, "/dev/null: %s", strerror(errno));
	fds[FD_DIR] = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	CHECK(fds[FD_DIR] >= 0, "%s: %s", dir, strerror(errno));
	fds[FD_NEG] = -1;
	fds[FD_HUGE] = 999999;
	/* closed, and too high to be handed out again */
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur <= (rlim_t)closed)
		closed = (int)rl.rlim_cur - 1;
	CHECK(dup2(fds[FD_NULL], closed) == closed, "dup2: %s", strerror(errno));
	close(closed);
	fds[FD_CLOSED] = closed;
	CHECK(fcntl(fds[FD_HUGE], F_GETFD) < 0, "fd 999999 is open");
	open_pipe();
	next_seq = 1;
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	int ops, i;
	bool by_fd = size && data[size - 1] & 1;

	in_p = data;
	in_n = size;
	trace("-- input of %zu bytes", size);
	for (ops = 0; ops < MAX_OPS && in_n; ops++) {
		switch (get8() % 12) {
		case 0:
		case 1:
			op_rw(K_READ);
			break;
		case 2:
		case 3:
			op_rw(K_WRITE);
			break;
		case 4:
			op_fsync();
			break;
		case 5:
		case 6:
			op_listio();
			break;
		case 7:
			op_cancel();
			break;
		case 8:
			op_suspend();
			break;
		case 9:
			op_status();
			break;
		case 10:
			op_wait();
			break;
		default:
			op_nap();
			break;
		}
		for (i = 0; i < POOL; i++)
			check_order(i);
	}
	drain(by_fd);
	reset();
	return 0;
}
