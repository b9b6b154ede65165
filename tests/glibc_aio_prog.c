/*
 * An ordinary POSIX AIO program: built against the system's <aio.h> and
 * linked with glibc alone, as users' programs are.  tests/preload.sh runs
 * it as it is (glibc's AIO) and under LD_PRELOAD=librtaio.so (rtaio's), and
 * every mode but "probe" must pass either way.
 *
 *   glibc_aio_prog basic      every function through the names a program
 *                             built today references (aio_read@GLIBC_2.34)
 *   glibc_aio_prog large      the same through the *64 names, which programs
 *                             built with _FILE_OFFSET_BITS=64 reference
 *   glibc_aio_prog old        the same through the versions that programs
 *                             linked with -lrt before glibc 2.34 reference
 *                             (aio_read@GLIBC_2.2.5, lio_listio@GLIBC_2.4 on
 *                             x86_64; the oldest of the architecture's)
 *   glibc_aio_prog widths     offsets and timeouts through every generation
 *                             of names: the *64 names at 5 GiB with struct
 *                             aiocb64 (the bytes where pread64 finds them),
 *                             the plain ones at a 32-bit offset with its
 *                             padding set, aio_suspend timing out after
 *                             200 ms, also as built with _TIME_BITS=64
 *   glibc_aio_prog old-lio    "LABEL waits|element_events|list_event: ..."
 *                             for the oldest lio_listio (@GLIBC_2.2.5 on
 *                             x86_64: meant to wait and to ignore the
 *                             elements' sigevents; glibc 2.34 to 2.36 at
 *                             least do neither), @GLIBC_2.4 where there is
 *                             one, and the default version
 *   glibc_aio_prog idle       "threads: N" for a process that does no AIO
 *   glibc_aio_prog which      the path of the library that defines aio_read
 *   glibc_aio_prog which-all  "REFERENCE PATH" for each of this program's
 *                             references (name or name@VERSION) and
 *                             "dlvsym:name@VERSION PATH" for each of glibc's
 *                             symbol versions as the dynamic linker finds it
 *   glibc_aio_prog probe      "key: value" lines where glibc and rtaio differ
 *                             by design: sigev_notify 99 (glibc: accepted,
 *                             rtaio: EINVAL), SIGEV_THREAD_ID (glibc:
 *                             ignored, rtaio: thread) and aio_suspend with
 *                             tv_nsec 1e9 (glibc: EAGAIN or abort, rtaio:
 *                             EINVAL)
 *
 * The checking modes print one "ok: ..." line per check and exit 0, or
 * print "FAIL: ..." and exit 1 at the first failure; the others exit 0 once
 * they have printed what they saw (and 1 if a request went wrong).
 */
#include <aio.h>
#include <dirent.h>
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <semaphore.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

/* The interface of one generation of names, all with struct aiocb. */
struct api {
	const char *label;
	int (*read)(struct aiocb *);
	int (*write)(struct aiocb *);
	int (*error)(const struct aiocb *);
	ssize_t (*ret)(struct aiocb *);
	int (*cancel)(int, struct aiocb *);
	int (*suspend)(const struct aiocb *const[], int, const struct timespec *);
	int (*fsync)(int, struct aiocb *);
	int (*lio)(int, struct aiocb *const[], int, struct sigevent *);
	void (*init)(const struct aioinit *);
	int wide;	/* takes glibc's struct aiocb64 (the *64 names) */
};

/* The *64 names, declared here with struct aiocb (the same layout on LP64). */
#define LARGE(ret, name, args) extern ret name##_large args __asm__(#name "64")
LARGE(int, aio_read, (struct aiocb *));
LARGE(int, aio_write, (struct aiocb *));
LARGE(int, aio_error, (const struct aiocb *));
LARGE(ssize_t, aio_return, (struct aiocb *));
LARGE(int, aio_cancel, (int, struct aiocb *));
LARGE(int, aio_suspend, (const struct aiocb *const[], int, const struct timespec *));
LARGE(int, aio_fsync, (int, struct aiocb *));
LARGE(int, lio_listio, (int, struct aiocb *const[], int, struct sigevent *));

/*
 * References to the old symbol versions, as a program linked before glibc
 * 2.34 has: AIO__GLIBC_BASE (config.h) is the oldest on this architecture
 * (GLIBC_2.2.5 on x86_64, GLIBC_2.17 on aarch64), and where it is older
 * than GLIBC_2.4, lio_listio has a GLIBC_2.4 version beside it.
 */
#define BASE AIO__GLIBC_BASE
#ifdef AIO__GLIBC_OLD_LIO_LISTIO
#define OLD_LIO_LISTIO 1
#define LIO_24 "GLIBC_2.4"	/* the oldest lio_listio that counts element sigevents */
#else
#define OLD_LIO_LISTIO 0
#define LIO_24 BASE
#endif
#define OLD(ret, name, args)                                                    \
	extern ret name##_base args;                                            \
	__asm__(".symver " #name "_base," #name "@" BASE)
OLD(int, aio_read, (struct aiocb *));
OLD(int, aio_write, (struct aiocb *));
OLD(int, aio_error, (const struct aiocb *));
OLD(ssize_t, aio_return, (struct aiocb *));
OLD(int, aio_cancel, (int, struct aiocb *));
OLD(int, aio_suspend, (const struct aiocb *const[], int, const struct timespec *));
OLD(int, aio_fsync, (int, struct aiocb *));
OLD(int, lio_listio, (int, struct aiocb *const[], int, struct sigevent *));
OLD(void, aio_init, (const struct aioinit *));
OLD(int, aio_read64, (struct aiocb *));
OLD(int, aio_write64, (struct aiocb *));
OLD(int, aio_error64, (const struct aiocb *));
OLD(ssize_t, aio_return64, (struct aiocb *));
OLD(int, aio_cancel64, (int, struct aiocb *));
OLD(int, aio_suspend64, (const struct aiocb *const[], int, const struct timespec *));
OLD(int, aio_fsync64, (int, struct aiocb *));
OLD(int, lio_listio64, (int, struct aiocb *const[], int, struct sigevent *));
#ifdef AIO__GLIBC_OLD_LIO_LISTIO
extern int lio_listio_24(int, struct aiocb *const[], int, struct sigevent *);
extern int lio_listio64_24(int, struct aiocb *const[], int, struct sigevent *);
__asm__(".symver lio_listio_24,lio_listio@GLIBC_2.4");
__asm__(".symver lio_listio64_24,lio_listio64@GLIBC_2.4");
#else
/* the oldest lio_listio counts the element sigevents already */
#define lio_listio_24 lio_listio_base
#define lio_listio64_24 lio_listio64_base
#endif

static const struct api plain = {
	"", aio_read, aio_write, aio_error, aio_return, aio_cancel, aio_suspend, aio_fsync,
	lio_listio, aio_init, 0,
};
static const struct api large = {
	"64", aio_read_large, aio_write_large, aio_error_large, aio_return_large,
	aio_cancel_large, aio_suspend_large, aio_fsync_large, lio_listio_large, NULL, 1,
};
static const struct api old = {
	"@" BASE, aio_read_base, aio_write_base, aio_error_base, aio_return_base,
	aio_cancel_base, aio_suspend_base, aio_fsync_base, lio_listio_24, aio_init_base, 0,
};
static const struct api old64 = {
	"64@" BASE, aio_read64_base, aio_write64_base, aio_error64_base, aio_return64_base,
	aio_cancel64_base, aio_suspend64_base, aio_fsync64_base, lio_listio64_24, NULL, 1,
};

/* Every reference this program makes, for which-all. */
#define REF(label, fn) { label, (void *)(fn) }
static const struct {
	const char *label;
	void *addr;
} refs[] = {
	REF("aio_read", aio_read), REF("aio_write", aio_write), REF("aio_error", aio_error),
	REF("aio_return", aio_return), REF("aio_cancel", aio_cancel),
	REF("aio_suspend", aio_suspend), REF("aio_fsync", aio_fsync),
	REF("lio_listio", lio_listio), REF("aio_init", aio_init),
	REF("aio_read64", aio_read_large), REF("aio_write64", aio_write_large),
	REF("aio_error64", aio_error_large), REF("aio_return64", aio_return_large),
	REF("aio_cancel64", aio_cancel_large), REF("aio_suspend64", aio_suspend_large),
	REF("aio_fsync64", aio_fsync_large), REF("lio_listio64", lio_listio_large),
	REF("aio_read@" BASE, aio_read_base), REF("aio_write@" BASE, aio_write_base),
	REF("aio_error@" BASE, aio_error_base), REF("aio_return@" BASE, aio_return_base),
	REF("aio_cancel@" BASE, aio_cancel_base), REF("aio_suspend@" BASE, aio_suspend_base),
	REF("aio_fsync@" BASE, aio_fsync_base), REF("lio_listio@" BASE, lio_listio_base),
	REF("aio_init@" BASE, aio_init_base),
	REF("aio_read64@" BASE, aio_read64_base), REF("aio_write64@" BASE, aio_write64_base),
	REF("aio_error64@" BASE, aio_error64_base),
	REF("aio_return64@" BASE, aio_return64_base),
	REF("aio_cancel64@" BASE, aio_cancel64_base),
	REF("aio_suspend64@" BASE, aio_suspend64_base),
	REF("aio_fsync64@" BASE, aio_fsync64_base), REF("lio_listio64@" BASE, lio_listio64_base),
#ifdef AIO__GLIBC_OLD_LIO_LISTIO
	REF("lio_listio@GLIBC_2.4", lio_listio_24), REF("lio_listio64@GLIBC_2.4", lio_listio64_24),
#endif
};

#define COUNT(a) (sizeof(a) / sizeof((a)[0]))

static const char *const names[] = {
	"aio_read", "aio_write", "aio_error", "aio_return", "aio_cancel", "aio_suspend",
	"aio_fsync", "lio_listio", "aio_read64", "aio_write64", "aio_error64",
	"aio_return64", "aio_cancel64", "aio_suspend64", "aio_fsync64", "lio_listio64",
	"aio_init",
};

/* ---------------------------------------------------------------- helpers */

static const struct api *A;	/* the names under test */

static const char *api_label(void)
{
	return !A ? "-" : *A->label ? A->label : "plain names";
}

static void ok(const char *fmt, ...)
{
	va_list ap;

	printf("ok: ");
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf(" [%s]\n", api_label());
	fflush(stdout);
}

#define CHECK(cond, ...)                                                        \
	do {                                                                    \
		if (!(cond)) {                                                  \
			int e_ = errno;                                         \
			printf("FAIL: %s:%d: %s [%s]: ", __FILE__, __LINE__, #cond, \
			       api_label());                                    \
			printf(__VA_ARGS__);                                    \
			printf(" (errno %d: %s)\n", e_, strerror(e_));          \
			fflush(stdout);                                         \
			exit(1);                                                \
		}                                                               \
	} while (0)

#define SIG_REQ (SIGRTMIN + 2)	/* a request's own SIGEV_SIGNAL */
#define SIG_LIST (SIGRTMIN + 3)	/* a lio_listio list's SIGEV_SIGNAL */
#define SIG_TID (SIGRTMIN + 4)	/* SIGEV_THREAD_ID */
#define SIG_MAX_USED 8

/*
 * The notification signals stay blocked and are taken with sigtimedwait;
 * a handler catches any that land on a thread that does not block them
 * (glibc's SIGEV_THREAD threads), so that they are counted, not fatal.
 */
static struct {
	unsigned caught, taken;
	siginfo_t last;
} sigs[SIG_MAX_USED];

static void handler(int sig, siginfo_t *si, void *uc)
{
	(void)uc;
	sigs[sig - SIGRTMIN].last = *si;
	__atomic_fetch_add(&sigs[sig - SIGRTMIN].caught, 1, __ATOMIC_RELEASE);
}

static void signals_setup(void)
{
	struct sigaction sa;
	sigset_t set;
	int s;

	memset(&sa, 0, sizeof sa);
	sa.sa_sigaction = handler;
	sa.sa_flags = SA_SIGINFO | SA_RESTART;
	sigemptyset(&set);
	for (s = SIG_REQ; s <= SIG_TID; s++) {
		CHECK(sigaction(s, &sa, NULL) == 0, "sigaction");
		sigaddset(&set, s);
	}
	CHECK(pthread_sigmask(SIG_BLOCK, &set, NULL) == 0, "sigmask");
}

/* One signal `sig` within `ms` milliseconds: 1 (its siginfo in *si), or 0. */
static int take_signal(int sig, long ms, siginfo_t *si)
{
	struct timespec slice = { 0, 5000000 };
	sigset_t set;
	long waited;

	sigemptyset(&set);
	sigaddset(&set, sig);
	for (waited = 0; waited <= ms; waited += 5) {
		unsigned *taken = &sigs[sig - SIGRTMIN].taken;

		if (__atomic_load_n(&sigs[sig - SIGRTMIN].caught, __ATOMIC_ACQUIRE) > *taken) {
			++*taken;
			*si = sigs[sig - SIGRTMIN].last;
			return 1;
		}
		if (sigtimedwait(&set, si, &slice) == sig)
			return 1;
	}
	return 0;
}

static int tmpfile_fd(void)
{
	const char *dir = getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp";
	int fd = open(dir, O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);

	CHECK(fd >= 0, "O_TMPFILE in %s", dir);
	return fd;
}

static void fill(unsigned char *buf, size_t n, unsigned seed)
{
	size_t i;

	for (i = 0; i < n; i++)
		buf[i] = (unsigned char)((i * 131 + seed) ^ (i >> 9));
}

/*
 * aio_offset as the names under test read it: all 8 bytes for the *64
 * names (struct aiocb64), which on 32-bit architectures are the plain
 * aiocb's 32-bit aio_offset and the padding after it.
 */
static void set_offset(struct aiocb *cb, off64_t off)
{
	if (A && A->wide)
		memcpy((char *)cb + offsetof(struct aiocb, aio_offset), &off, sizeof off);
	else
		cb->aio_offset = (off_t)off;
}

static void prep(struct aiocb *cb, int fd, void *buf, size_t n, off_t off)
{
	memset(cb, 0, sizeof *cb);
	cb->aio_fildes = fd;
	cb->aio_buf = buf;
	cb->aio_nbytes = n;
	set_offset(cb, off);
	cb->aio_sigevent.sigev_notify = SIGEV_NONE;
}

/* Wait (10 s at most) until every listed request is done. */
static void wait_all(struct aiocb *const list[], int n)
{
	const struct timespec slice = { 0, 100000000 };
	const struct aiocb *pending[64];
	struct timespec start, now;
	int i, busy;

	CHECK(n <= 64, "wait_all: %d requests", n);
	clock_gettime(CLOCK_MONOTONIC, &start);
	for (;;) {
		/* only the unfinished ones: aio_suspend returns at once for a done one */
		for (busy = 0, i = 0; i < n; i++) {
			pending[i] = list[i] && A->error(list[i]) == EINPROGRESS ? list[i] : NULL;
			busy += pending[i] != NULL;
		}
		if (!busy)
			return;
		clock_gettime(CLOCK_MONOTONIC, &now);
		if (now.tv_sec - start.tv_sec >= 10)
			break;
		CHECK(A->suspend(pending, n, &slice) == 0 || errno == EAGAIN || errno == EINTR,
		      "aio_suspend");
	}
	for (i = 0; i < n; i++)
		if (pending[i])
			printf("# request %d (fd %d) is still in progress\n", i,
			       list[i]->aio_fildes);
	CHECK(0, "%d requests still in progress after 10 s", busy);
}

static void wait_one(struct aiocb *cb)
{
	wait_all(&cb, 1);
}

static void deadline_in(struct timespec *ts, int sec)
{
	clock_gettime(CLOCK_REALTIME, ts);
	ts->tv_sec += sec;
}

/* ----------------------------------------------------- the basic checks */

/*
 * glibc's own aio_error and aio_return, found in libc.so.6 itself (past any
 * preload), as code that bypasses the preload would call them: rtaio keeps
 * the aiocb's __error_code and __return_value as glibc does, so they agree.
 */
static int (*libc_error)(const struct aiocb *);
static ssize_t (*libc_return)(struct aiocb *);

static const char *path_of(void *addr);

static void find_libc_status(void)
{
	void *libc = dlopen("libc.so.6", RTLD_NOW | RTLD_NOLOAD);

	CHECK(libc != NULL, "dlopen(libc.so.6): %s", dlerror());
	libc_error = (int (*)(const struct aiocb *))dlvsym(libc, "aio_error", "GLIBC_2.34");
	libc_return = (ssize_t (*)(struct aiocb *))dlvsym(libc, "aio_return", "GLIBC_2.34");
	CHECK(libc_error && libc_return, "dlvsym in libc.so.6");
	CHECK(strstr(path_of((void *)libc_error), "libc.so.6") != NULL,
	      "glibc's aio_error is in %s", path_of((void *)libc_error));
}

static sem_t notified;
static union sigval notified_value;
static int notified_error = -1;
static struct aiocb *notified_cb;

static void thread_notify(union sigval v)
{
	notified_value = v;
	notified_error = notified_cb ? A->error(notified_cb) : 0;
	sem_post(&notified);
}

static void wait_thread_notify(const char *what)
{
	struct timespec ts;

	deadline_in(&ts, 10);
	while (sem_timedwait(&notified, &ts) != 0)
		CHECK(errno == EINTR, "no SIGEV_THREAD notification for %s in 10 s", what);
}

static void check_read_write(int fd)
{
	static unsigned char out[65536], in[65536];
	struct aiocb cb;

	fill(out, sizeof out, 1);
	prep(&cb, fd, out, sizeof out, 0);
	CHECK(A->write(&cb) == 0, "aio_write");
	wait_one(&cb);
	CHECK(A->error(&cb) == 0, "aio_error %d", A->error(&cb));
	CHECK(A->ret(&cb) == (ssize_t)sizeof out, "aio_return");
	CHECK(A->ret(&cb) == (ssize_t)sizeof out, "aio_return again");
	ok("aio_write of 64 KiB, aio_suspend, aio_error 0, aio_return 65536 (twice)");
	CHECK(libc_error(&cb) == 0 && libc_return(&cb) == (ssize_t)sizeof out,
	      "libc.so.6's aio_error %d, aio_return %zd", libc_error(&cb), libc_return(&cb));
	ok("libc.so.6's own aio_error and aio_return read the same status");

	memset(in, 0, sizeof in);
	prep(&cb, fd, in, 8192, 4096);
	CHECK(A->read(&cb) == 0, "aio_read");
	wait_one(&cb);
	CHECK(A->error(&cb) == 0 && A->ret(&cb) == 8192, "aio_read result");
	CHECK(!memcmp(in, out + 4096, 8192), "aio_read data differ");
	prep(&cb, fd, in, 4096, 65536 - 100);
	CHECK(A->read(&cb) == 0, "aio_read at the end");
	wait_one(&cb);
	CHECK(A->error(&cb) == 0 && A->ret(&cb) == 100, "short read: %zd", A->ret(&cb));
	ok("aio_read returns the data at aio_offset, short at end of file");

	/* what sloppy but common programs do */
	memset(&cb, 0, sizeof cb);	/* sigev_notify 0 is SIGEV_SIGNAL, with signal 0 */
	cb.aio_fildes = fd;
	cb.aio_buf = in;
	cb.aio_nbytes = 16;
	CHECK(A->read(&cb) == 0, "aio_read of a zeroed aiocb");
	wait_one(&cb);
	CHECK(A->error(&cb) == 0 && A->ret(&cb) == 16, "zeroed aiocb: %d", A->error(&cb));
	ok("a zeroed aiocb (SIGEV_SIGNAL with signal 0) is read, and nobody is signalled");
	memset(&cb, 0xa5, sizeof cb);
	cb.aio_fildes = fd;
	cb.aio_buf = in;
	cb.aio_nbytes = 16;
	set_offset(&cb, 32);
	cb.aio_reqprio = 0;
	cb.aio_sigevent.sigev_notify = SIGEV_NONE;
	CHECK(A->read(&cb) == 0, "aio_read with garbage in the internal members");
	wait_one(&cb);
	CHECK(A->error(&cb) == 0 && A->ret(&cb) == 16 && !memcmp(in, out + 32, 16),
	      "garbage aiocb: %d", A->error(&cb));
	ok("garbage in the internal members and __glibc_reserved is ignored");

	prep(&cb, fd, in, 1, 0);
	cb.aio_reqprio = 21;
	CHECK(A->read(&cb) == -1 && errno == EINVAL, "aio_reqprio 21 accepted");
	CHECK(A->error(&cb) == EINVAL, "aio_error after a refused request: %d", A->error(&cb));
	ok("aio_reqprio out of range: -1/EINVAL, and aio_error says EINVAL");

	prep(&cb, fd, in, 1, -1);
	CHECK(A->read(&cb) == 0, "aio_read at offset -1 refused at once");
	wait_one(&cb);
	CHECK(A->error(&cb) == EINVAL && A->ret(&cb) == -1, "negative offset: %d",
	      A->error(&cb));
	ok("a negative aio_offset fails through aio_error with EINVAL");
}

static void check_sigevents(int fd)
{
	static unsigned char buf[4096];
	static int marker;
	pthread_attr_t attr;
	struct aiocb cb;
	siginfo_t si;

	prep(&cb, fd, buf, sizeof buf, 0);
	cb.aio_sigevent.sigev_notify = SIGEV_SIGNAL;
	cb.aio_sigevent.sigev_signo = SIG_REQ;
	cb.aio_sigevent.sigev_value.sival_int = 4242;
	CHECK(A->read(&cb) == 0, "aio_read with SIGEV_SIGNAL");
	CHECK(take_signal(SIG_REQ, 10000, &si), "no SIGEV_SIGNAL notification in 10 s");
	CHECK(si.si_code == SI_ASYNCIO, "si_code %d", si.si_code);
	CHECK(si.si_value.sival_int == 4242, "si_value %d", si.si_value.sival_int);
	CHECK(si.si_pid == getpid(), "si_pid %d", (int)si.si_pid);
	CHECK(A->error(&cb) == 0 && A->ret(&cb) == (ssize_t)sizeof buf,
	      "status at notification time");
	ok("SIGEV_SIGNAL: si_code SI_ASYNCIO, si_value, si_pid, status already final");

	prep(&cb, fd, buf, sizeof buf, 8192);
	cb.aio_sigevent.sigev_notify = SIGEV_THREAD;
	cb.aio_sigevent.sigev_notify_function = thread_notify;
	cb.aio_sigevent.sigev_value.sival_ptr = &marker;
	notified_cb = &cb;
	CHECK(A->write(&cb) == 0, "aio_write with SIGEV_THREAD");
	wait_thread_notify("aio_write");
	CHECK(notified_value.sival_ptr == &marker, "sigev_value");
	CHECK(notified_error == 0, "aio_error in the notification function: %d", notified_error);
	CHECK(A->ret(&cb) == (ssize_t)sizeof buf, "aio_return");
	notified_cb = NULL;
	ok("SIGEV_THREAD: the function runs with sigev_value, status already final");

	CHECK(pthread_attr_init(&attr) == 0, "pthread_attr_init");
	CHECK(pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED) == 0, "detached");
	CHECK(pthread_attr_setstacksize(&attr, 256 * 1024) == 0, "stack size");
	prep(&cb, fd, buf, sizeof buf, 8192);
	cb.aio_sigevent.sigev_notify = SIGEV_THREAD;
	cb.aio_sigevent.sigev_notify_function = thread_notify;
	cb.aio_sigevent.sigev_notify_attributes = &attr;
	cb.aio_sigevent.sigev_value.sival_int = 77;
	CHECK(A->read(&cb) == 0, "aio_read with SIGEV_THREAD and attributes");
	wait_thread_notify("aio_read with attributes");
	CHECK(notified_value.sival_int == 77, "sigev_value");
	CHECK(A->error(&cb) == 0 && A->ret(&cb) == (ssize_t)sizeof buf, "aio_read result");
	pthread_attr_destroy(&attr);
	ok("SIGEV_THREAD with sigev_notify_attributes (detached, 256 KiB stack)");
}

static void check_fsync(int fd)
{
	static unsigned char buf[4096];
	struct aiocb w, s;
	int dead;

	prep(&w, fd, buf, sizeof buf, 0);
	CHECK(A->write(&w) == 0, "aio_write");
	prep(&s, fd, NULL, 0, 0);
	CHECK(A->fsync(O_SYNC, &s) == 0, "aio_fsync(O_SYNC)");
	wait_one(&s);
	CHECK(A->error(&s) == 0 && A->ret(&s) == 0, "aio_fsync(O_SYNC) result");
	CHECK(A->error(&w) == 0, "the write before the fsync is done");
	prep(&s, fd, NULL, 0, 0);
	CHECK(A->fsync(O_DSYNC, &s) == 0, "aio_fsync(O_DSYNC)");
	wait_one(&s);
	CHECK(A->error(&s) == 0 && A->ret(&s) == 0, "aio_fsync(O_DSYNC) result");
	ok("aio_fsync with O_SYNC and O_DSYNC");
	prep(&s, fd, NULL, 0, 0);
	s.aio_reqprio = 12345;
	CHECK(A->fsync(O_SYNC, &s) == 0, "aio_fsync with aio_reqprio 12345");
	wait_one(&s);
	CHECK(A->error(&s) == 0, "aio_fsync with aio_reqprio 12345: %d", A->error(&s));
	ok("aio_fsync ignores aio_reqprio (12345 accepted)");

	prep(&s, fd, NULL, 0, 0);
	CHECK(A->fsync(12345, &s) == -1 && errno == EINVAL, "aio_fsync(12345)");
	dead = dup(fd);
	close(dead);
	prep(&s, dead, NULL, 0, 0);
	CHECK(A->fsync(O_SYNC, &s) == -1 && errno == EBADF, "aio_fsync on a closed fd");
	ok("aio_fsync: bad operation -1/EINVAL, closed fd -1/EBADF");
}

static void check_suspend_and_cancel(int fd)
{
	const struct timespec short_wait = { 0, 20000000 };
	char b1, b2;
	struct aiocb r1, r2, done;
	const struct aiocb *list[3];
	siginfo_t si;
	int p[2], rc;

	prep(&done, fd, &b1, 1, 0);
	CHECK(A->read(&done) == 0, "aio_read");
	wait_one(&done);
	list[0] = NULL;
	list[1] = &done;
	CHECK(A->suspend(list, 2, NULL) == 0, "aio_suspend on a done request");
	CHECK(A->suspend(list, 0, &short_wait) == 0, "aio_suspend with nent 0");
	CHECK(A->cancel(fd, &done) == AIO_ALLDONE, "aio_cancel of a done request");
	ok("aio_suspend returns at once for a done request; aio_cancel of it: AIO_ALLDONE");

	CHECK(pipe(p) == 0, "pipe");
	CHECK(A->cancel(p[0], NULL) == AIO_ALLDONE, "aio_cancel(fd, NULL), nothing queued");
	CHECK(A->cancel(fd, NULL) == AIO_ALLDONE, "aio_cancel(fd, NULL) after completion");
	CHECK(A->cancel(-1, NULL) == -1 && errno == EBADF, "aio_cancel(-1, NULL)");
	CHECK(A->cancel(p[0], &done) == -1 && errno == EINVAL, "aio_cancel, fd mismatch");
	ok("aio_cancel: nothing queued AIO_ALLDONE, bad fd -1/EBADF, other fd -1/EINVAL");

	/* r1 blocks on the empty pipe; r2 on the same fd waits for its turn */
	prep(&r1, p[0], &b1, 1, 0);
	prep(&r2, p[0], &b2, 1, 0);
	r2.aio_sigevent.sigev_notify = SIGEV_SIGNAL;
	r2.aio_sigevent.sigev_signo = SIG_REQ;
	r2.aio_sigevent.sigev_value.sival_int = 7;
	CHECK(A->read(&r1) == 0, "aio_read of a pipe");
	list[0] = &r1;
	CHECK(A->suspend(list, 1, &short_wait) == -1 && errno == EAGAIN,
	      "aio_suspend of a blocked read: timeout");
	ok("aio_suspend times out with -1/EAGAIN");
	CHECK(libc_error(&r1) == EINPROGRESS, "libc.so.6's aio_error: %d", libc_error(&r1));
	CHECK(A->read(&r2) == 0, "second aio_read of a pipe");
	CHECK(A->error(&r2) == EINPROGRESS, "second read in progress");
	CHECK(A->cancel(p[0], &r2) == AIO_CANCELED, "aio_cancel of a queued read");
	CHECK(A->error(&r2) == ECANCELED && A->ret(&r2) == -1, "cancelled: %d", A->error(&r2));
	CHECK(take_signal(SIG_REQ, 10000, &si) && si.si_value.sival_int == 7,
	      "no notification for the cancelled request");
	ok("aio_cancel of a queued request: AIO_CANCELED, ECANCELED, -1, notified");

	rc = A->cancel(p[0], NULL);
	if (rc == AIO_NOTCANCELED) {
		CHECK(A->error(&r1) == EINPROGRESS, "running read not in progress");
		CHECK(write(p[1], "x", 1) == 1, "write");
		wait_one(&r1);
		CHECK(A->error(&r1) == 0 && A->ret(&r1) == 1 && b1 == 'x', "read of a pipe");
		ok("aio_cancel of a running read: AIO_NOTCANCELED, then it completes");
	} else {
		CHECK(rc == AIO_CANCELED, "aio_cancel(fd, NULL): %d", rc);
		CHECK(A->error(&r1) == ECANCELED, "cancelled read: %d", A->error(&r1));
		ok("aio_cancel of a read not started yet: AIO_CANCELED");
	}
	close(p[0]);
	close(p[1]);
}

static void check_listio(int fd)
{
	static unsigned char out[4][4096], in[4][4096];
	struct aiocb cbs[6], bad;
	struct aiocb *list[8];
	struct sigevent sev;
	siginfo_t si;
	int i, dead;

	for (i = 0; i < 4; i++) {
		fill(out[i], sizeof out[i], 10 + (unsigned)i);
		prep(&cbs[i], fd, out[i], sizeof out[i], (off_t)i * 4096);
		cbs[i].aio_lio_opcode = LIO_WRITE;
		list[i] = &cbs[i];
	}
	prep(&cbs[4], fd, NULL, 0, 0);
	cbs[4].aio_lio_opcode = LIO_NOP;
	list[4] = &cbs[4];
	list[5] = NULL;
	CHECK(A->lio(LIO_WAIT, list, 6, NULL) == 0, "lio_listio(LIO_WAIT)");
	for (i = 0; i < 4; i++)
		CHECK(A->error(&cbs[i]) == 0 && A->ret(&cbs[i]) == 4096, "element %d", i);
	ok("lio_listio(LIO_WAIT) of 4 writes, a LIO_NOP and a NULL entry");

	for (i = 0; i < 4; i++) {
		prep(&cbs[i], fd, in[i], sizeof in[i], (off_t)i * 4096);
		cbs[i].aio_lio_opcode = LIO_READ;
	}
	memset(&sev, 0, sizeof sev);
	sev.sigev_notify = SIGEV_SIGNAL;
	sev.sigev_signo = SIG_LIST;
	sev.sigev_value.sival_int = 99;
	CHECK(A->lio(LIO_NOWAIT, list, 4, &sev) == 0, "lio_listio(LIO_NOWAIT)");
	CHECK(take_signal(SIG_LIST, 10000, &si), "no list notification in 10 s");
	CHECK(si.si_code == SI_ASYNCIO && si.si_value.sival_int == 99, "list siginfo");
	for (i = 0; i < 4; i++) {
		CHECK(A->error(&cbs[i]) == 0 && A->ret(&cbs[i]) == 4096, "element %d", i);
		CHECK(!memcmp(in[i], out[i], sizeof in[i]), "element %d data", i);
	}
	ok("lio_listio(LIO_NOWAIT) of 4 reads: SIGEV_SIGNAL once all are done");

	for (i = 0; i < 4; i++) {
		prep(&cbs[i], fd, in[i], sizeof in[i], (off_t)i * 4096);
		cbs[i].aio_lio_opcode = LIO_READ;
	}
	memset(&sev, 0, sizeof sev);
	sev.sigev_notify = SIGEV_THREAD;
	sev.sigev_notify_function = thread_notify;
	sev.sigev_value.sival_int = 123;
	notified_cb = &cbs[3];
	CHECK(A->lio(LIO_NOWAIT, list, 4, &sev) == 0, "lio_listio(LIO_NOWAIT, SIGEV_THREAD)");
	wait_thread_notify("lio_listio");
	CHECK(notified_value.sival_int == 123 && notified_error == 0, "list SIGEV_THREAD");
	notified_cb = NULL;
	ok("lio_listio(LIO_NOWAIT) with SIGEV_THREAD");

	dead = dup(fd);
	close(dead);
	prep(&bad, dead, in[0], 1, 0);
	bad.aio_lio_opcode = LIO_READ;
	prep(&cbs[0], fd, in[1], 1, 0);
	cbs[0].aio_lio_opcode = LIO_READ;
	list[0] = &cbs[0];
	list[1] = &bad;
	CHECK(A->lio(LIO_WAIT, list, 2, NULL) == -1 && errno == EIO,
	      "lio_listio(LIO_WAIT) with a failing element");
	CHECK(A->error(&bad) == EBADF && A->ret(&bad) == -1, "failed element: %d",
	      A->error(&bad));
	CHECK(A->error(&cbs[0]) == 0 && A->ret(&cbs[0]) == 1, "good element");
	CHECK(A->lio(12345, list, 2, NULL) == -1 && errno == EINVAL, "mode 12345");
	ok("lio_listio: a failed element makes LIO_WAIT -1/EIO; bad mode -1/EINVAL");
}

typedef int lio_fn(int, struct aiocb *const[], int, struct sigevent *);

/* lio_listio(LIO_WAIT) delivers each element's own SIGEV_SIGNAL (since GLIBC_2.4). */
static void check_element_sigevents(lio_fn *lio, const char *which)
{
	static unsigned char buf[3][512];
	struct aiocb cbs[3];
	struct aiocb *list[3];
	siginfo_t si;
	int i, got = 0, mask = 0;

	for (i = 0; i < 3; i++) {
		prep(&cbs[i], tmpfile_fd(), buf[i], sizeof buf[i], (off_t)i * 512);
		cbs[i].aio_lio_opcode = LIO_WRITE;
		cbs[i].aio_sigevent.sigev_notify = SIGEV_SIGNAL;
		cbs[i].aio_sigevent.sigev_signo = SIG_REQ;
		cbs[i].aio_sigevent.sigev_value.sival_int = 1 << i;
		list[i] = &cbs[i];
	}
	CHECK(lio(LIO_WAIT, list, 3, NULL) == 0, "%s(LIO_WAIT)", which);
	for (i = 0; i < 3; i++) {
		CHECK(A->error(&cbs[i]) == 0 && A->ret(&cbs[i]) == 512, "element %d", i);
		close(cbs[i].aio_fildes);
	}
	while (got < 3 && take_signal(SIG_REQ, 10000, &si)) {
		got++;
		mask |= si.si_value.sival_int;
	}
	CHECK(got == 3 && mask == 7, "%s: %d element notifications (mask %d), want 3", which,
	      got, mask);
	CHECK(!take_signal(SIG_REQ, 100, &si), "%s: an extra notification", which);
	ok("%s(LIO_WAIT) delivers each element's SIGEV_SIGNAL once", which);
}

static int late_pipe = -1;

static void *write_late(void *unused)
{
	(void)unused;
	usleep(300000);
	CHECK(write(late_pipe, "x", 1) == 1, "write");
	return NULL;
}

/*
 * How one lio_listio entry point treats LIO_WAIT and the elements' own
 * sigevents, printed as "LABEL waits: yes|no", "LABEL element_events:
 * delivered|ignored|partial" and "LABEL list_event: delivered|missing".
 * lio_listio@GLIBC_2.2.5 is meant to wait and ignore the elements'
 * sigevents (the ABI before glibc 2.4).  One element reads a pipe that a
 * thread writes to 300 ms later, so returning early shows.
 */
static void lio_behaviour(lio_fn *lio, const char *label)
{
	static unsigned char buf[512];
	char c = 0;
	struct aiocb cbs[2], *list[2] = { &cbs[0], &cbs[1] };
	struct sigevent sev;
	siginfo_t si;
	pthread_t t;
	int p[2], fd = tmpfile_fd(), waits, mask = 0, rc, i;

	CHECK(pipe(p) == 0, "pipe");
	late_pipe = p[1];
	prep(&cbs[0], p[0], &c, 1, 0);
	cbs[0].aio_lio_opcode = LIO_READ;
	prep(&cbs[1], fd, buf, sizeof buf, 0);
	cbs[1].aio_lio_opcode = LIO_WRITE;
	for (i = 0; i < 2; i++) {
		cbs[i].aio_sigevent.sigev_notify = SIGEV_SIGNAL;
		cbs[i].aio_sigevent.sigev_signo = SIG_REQ;
		cbs[i].aio_sigevent.sigev_value.sival_int = 1 << i;
	}
	CHECK(pthread_create(&t, NULL, write_late, NULL) == 0, "pthread_create");
	rc = lio(LIO_WAIT, list, 2, NULL);
	CHECK(rc == 0, "%s(LIO_WAIT): %d", label, rc);
	waits = A->error(&cbs[0]) != EINPROGRESS;
	pthread_join(t, NULL);
	wait_all(list, 2);
	CHECK(A->error(&cbs[0]) == 0 && A->ret(&cbs[0]) == 1 && c == 'x', "pipe element");
	CHECK(A->error(&cbs[1]) == 0 && A->ret(&cbs[1]) == 512, "file element");
	while (take_signal(SIG_REQ, 300, &si))
		mask |= si.si_value.sival_int;
	printf("%s waits: %s\n", label, waits ? "yes" : "no");
	printf("%s element_events: %s\n", label,
	       mask == 3 ? "delivered" : mask ? "partial" : "ignored");

	memset(&sev, 0, sizeof sev);
	sev.sigev_notify = SIGEV_SIGNAL;
	sev.sigev_signo = SIG_LIST;
	sev.sigev_value.sival_int = 5;
	prep(&cbs[1], fd, buf, sizeof buf, 0);
	cbs[1].aio_lio_opcode = LIO_WRITE;
	CHECK(lio(LIO_NOWAIT, &list[1], 1, &sev) == 0, "%s(LIO_NOWAIT)", label);
	printf("%s list_event: %s\n", label,
	       take_signal(SIG_LIST, 10000, &si) && si.si_value.sival_int == 5 ? "delivered"
										   : "missing");
	wait_all(&list[1], 1);
	CHECK(A->error(&cbs[1]) == 0 && A->ret(&cbs[1]) == 512, "LIO_NOWAIT element");
	close(p[0]);
	close(p[1]);
	close(fd);
}

/* 64 requests in flight at once, written then read back. */
static void check_many(int fd)
{
	enum { N = 64, SZ = 4096 };
	static unsigned char out[N][SZ], in[N][SZ];
	static struct aiocb cbs[N];
	struct aiocb *list[N];
	int i;

	for (i = 0; i < N; i++) {
		fill(out[i], SZ, 100 + (unsigned)i);
		prep(&cbs[i], fd, out[i], SZ, (off_t)(N - 1 - i) * SZ);
		list[i] = &cbs[i];
		CHECK(A->write(&cbs[i]) == 0, "aio_write %d", i);
	}
	wait_all(list, N);
	for (i = 0; i < N; i++) {
		CHECK(A->error(&cbs[i]) == 0 && A->ret(&cbs[i]) == SZ, "write %d", i);
		prep(&cbs[i], fd, in[i], SZ, (off_t)(N - 1 - i) * SZ);
		CHECK(A->read(&cbs[i]) == 0, "aio_read %d", i);
	}
	wait_all(list, N);
	for (i = 0; i < N; i++) {
		CHECK(A->error(&cbs[i]) == 0 && A->ret(&cbs[i]) == SZ, "read %d", i);
		CHECK(!memcmp(in[i], out[i], SZ), "data of request %d", i);
	}
	ok("%d writes then %d reads in flight at once, data intact", N, N);
}

/* ----------------------------------------- 64-bit offsets, timed waits */

#define GIB ((off64_t)1 << 30)

/* The len bytes at off in fd, read with pread64 (not through AIO): equal to want? */
static int bytes_at(int fd, off64_t off, const unsigned char *want, size_t len)
{
	unsigned char got[4096];

	return len <= sizeof got && pread64(fd, got, len, off) == (ssize_t)len &&
	       !memcmp(got, want, len);
}

/*
 * The *64 names take a 64-bit aio_offset even where off_t has 32 bits:
 * a write at 5 GiB lands at 5 GiB (not at 1 GiB, its low 32 bits), as
 * pread64 sees it; a read and a lio_listio write there too.
 */
static void check_far_offsets(int fd)
{
	static unsigned char out[4096], in[4096], zeros[4096];
	struct aiocb64 cb;
	struct aiocb *cbp = (struct aiocb *)&cb;	/* the *64 names under test take it */

	fill(out, sizeof out, 5);
	memset(&cb, 0, sizeof cb);
	cb.aio_fildes = fd;
	cb.aio_buf = out;
	cb.aio_nbytes = sizeof out;
	cb.aio_offset = 5 * GIB;
	cb.aio_sigevent.sigev_notify = SIGEV_NONE;
	CHECK(A->write(cbp) == 0, "aio_write at 5 GiB");
	wait_one(cbp);
	CHECK(A->ret(cbp) == (ssize_t)sizeof out, "aio_return of the write at 5 GiB");
	CHECK(bytes_at(fd, 5 * GIB, out, sizeof out), "pread64 at 5 GiB finds the bytes written");
	CHECK(bytes_at(fd, GIB, zeros, sizeof zeros), "pread64 at 1 GiB finds zeros");
	cb.aio_buf = in;
	CHECK(A->read(cbp) == 0, "aio_read at 5 GiB");
	wait_one(cbp);
	CHECK(A->ret(cbp) == (ssize_t)sizeof in && !memcmp(in, out, sizeof in),
	      "aio_read at 5 GiB reads what was written there");
	cb.aio_buf = out;
	cb.aio_offset = 6 * GIB;
	cb.aio_lio_opcode = LIO_WRITE;
	CHECK(A->lio(LIO_WAIT, &cbp, 1, NULL) == 0, "lio_listio, a write at 6 GiB");
	CHECK(A->ret(cbp) == (ssize_t)sizeof out, "aio_return of the write at 6 GiB");
	CHECK(bytes_at(fd, 6 * GIB, out, sizeof out), "pread64 at 6 GiB finds the bytes written");
	CHECK(bytes_at(fd, 2 * GIB, zeros, sizeof zeros), "pread64 at 2 GiB finds zeros");
	CHECK(ftruncate64(fd, 0) == 0, "ftruncate64");
	ok("aio_write, aio_read and lio_listio at 5 and 6 GiB: the bytes are there (pread64)");
}

/*
 * The plain names of a program built with a 32-bit off_t take the 32-bit
 * aio_offset alone: the 4 bytes after it are padding, whatever they hold.
 */
static void check_narrow_offset(int fd)
{
	static unsigned char out[512];
	struct aiocb cb;

	fill(out, sizeof out, 32);
	prep(&cb, fd, out, sizeof out, 4096);
	if (sizeof cb.aio_offset < sizeof(off64_t))
		memset((char *)&cb.aio_offset + sizeof cb.aio_offset, 0xff,
		       sizeof(off64_t) - sizeof cb.aio_offset);
	CHECK(A->write(&cb) == 0, "aio_write at 4096, its padding set");
	wait_one(&cb);
	CHECK(A->ret(&cb) == (ssize_t)sizeof out, "aio_return of the write at 4096");
	CHECK(bytes_at(fd, 4096, out, sizeof out), "pread64 at 4096 finds the bytes written");
	ok("aio_write at a %zu-bit aio_offset: the bytes are at it (pread64)",
	   sizeof cb.aio_offset * 8);
}

int suspend_time64_ms(const void *const list[], int n, long ms);	/* glibc_aio_time64.c */

/* This API's aio_suspend with a timeout of ms milliseconds. */
static int suspend_ms(const void *const list[], int n, long ms)
{
	const struct timespec timeout = { ms / 1000, ms % 1000 * 1000000 };

	return A->suspend((const struct aiocb *const *)list, n, &timeout);
}

static long ms_since(const struct timespec *t0)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (t.tv_sec - t0->tv_sec) * 1000 + (t.tv_nsec - t0->tv_nsec) / 1000000;
}

/*
 * aio_suspend with a timeout of 200 ms on a read of an empty pipe: it
 * waits that long, then fails with EAGAIN (not at once).  suspend: this
 * API's, or that of a program built with _TIME_BITS=64.
 */
static void check_timed_suspend(int (*suspend)(const void *const[], int, long),
				const char *which)
{
	struct aiocb cb;
	const void *list[1] = { &cb };
	struct timespec t0;
	char c;
	int p[2], rc, err;
	long waited;

	CHECK(pipe(p) == 0, "pipe");
	prep(&cb, p[0], &c, 1, 0);
	CHECK(A->read(&cb) == 0, "aio_read of an empty pipe");
	clock_gettime(CLOCK_MONOTONIC, &t0);
	rc = suspend(list, 1, 200);
	err = errno;
	waited = ms_since(&t0);
	CHECK(write(p[1], "x", 1) == 1, "write to the pipe");
	wait_one(&cb);
	close(p[0]);
	close(p[1]);
	errno = err;
	CHECK(rc == -1 && err == EAGAIN, "%s with a 200 ms timeout: %d after %ld ms", which, rc,
	      waited);
	CHECK(waited >= 150, "%s with a 200 ms timeout returned after %ld ms", which, waited);
	ok("%s with a 200 ms timeout: EAGAIN after %ld ms", which, waited);
}

static void run_checks(const struct api *api)
{
	int fd = tmpfile_fd();

	A = api;
	find_libc_status();
	if (A->init) {
		struct aioinit init;

		memset(&init, 0, sizeof init);
		init.aio_threads = 8;
		init.aio_num = 64;
		init.aio_idle_time = 1;
		A->init(&init);
		ok("aio_init");
	}
	check_read_write(fd);
	check_sigevents(fd);
	check_fsync(fd);
	check_suspend_and_cancel(fd);
	check_listio(fd);
	check_many(fd);
	close(fd);
}

/* Offsets and timeouts through every generation of names, glibc's layouts. */
static void check_widths(void)
{
	static const struct api *const apis[] = { &plain, &large, &old, &old64 };
	unsigned i;
	int fd = tmpfile_fd();

	for (i = 0; i < COUNT(apis); i++) {
		A = apis[i];
		if (A->wide)
			check_far_offsets(fd);
		else
			check_narrow_offset(fd);
		check_timed_suspend(suspend_ms, "aio_suspend");
	}
	A = &plain;
	check_timed_suspend(suspend_time64_ms, "aio_suspend with _TIME_BITS=64");
	close(fd);
}

/* ------------------------------------------------------ which and probe */

static const char *path_of(void *addr)
{
	Dl_info info;

	if (!addr)
		return "(not found)";
	if (!dladdr(addr, &info) || !info.dli_fname)
		return "(unknown)";
	return info.dli_fname;
}

static void which_all(void)
{
	static const char *const versions[] = { BASE, "GLIBC_2.34", "GLIBC_2.4" };
	size_t i, v;

	for (i = 0; i < COUNT(refs); i++)
		printf("%s %s\n", refs[i].label, path_of(refs[i].addr));
	for (i = 0; i < COUNT(names); i++) {
		for (v = 0; v < COUNT(versions); v++) {
			/* GLIBC_2.4 exists only for the lio_listio names, where it is not the oldest */
			if (v == 2 && (strncmp(names[i], "lio_listio", 10) ||
				       !OLD_LIO_LISTIO))
				continue;
			printf("dlvsym:%s@%s %s\n", names[i], versions[v],
			       path_of(dlvsym(RTLD_DEFAULT, names[i], versions[v])));
		}
		printf("dlsym:%s %s\n", names[i], path_of(dlsym(RTLD_DEFAULT, names[i])));
	}
}

static pid_t helper_tid;
static int helper_pipe[2];

static void *helper(void *unused)
{
	char c;

	(void)unused;
	__atomic_store_n(&helper_tid, (pid_t)syscall(SYS_gettid), __ATOMIC_RELEASE);
	while (read(helper_pipe[0], &c, 1) < 0 && errno == EINTR)
		;
	return NULL;
}

/* Is `sig` pending in "SigPnd" (thread) or "ShdPnd" (process) of that status file? */
static int pending_in(const char *status, const char *field, int sig)
{
	char line[256];
	FILE *f = fopen(status, "r");
	int found = 0;

	CHECK(f != NULL, "%s", status);
	while (fgets(line, sizeof line, f)) {
		if (!strncmp(line, field, strlen(field))) {
			unsigned long long mask = strtoull(line + strlen(field) + 1, NULL, 16);

			found = (int)((mask >> (sig - 1)) & 1);
		}
	}
	fclose(f);
	return found;
}

/*
 * aio_suspend with tv_nsec 1000000000 while a request is pending: rtaio
 * fails with EINVAL; glibc 2.36 here says EAGAIN at once (and is reported
 * to abort the process in other cases).  Tried in a child, in case.
 */
static const char *suspend_bad_timeout(void)
{
	static char what[64];
	int status;
	pid_t pid = fork();

	CHECK(pid >= 0, "fork");
	if (!pid) {
		const struct timespec bad = { 0, 1000000000 };
		const struct aiocb *list[1];
		struct aiocb cb;
		char c;
		int p[2];

		if (!freopen("/dev/null", "w", stderr) || pipe(p))
			_exit(3);
		prep(&cb, p[0], &c, 1, 0);
		list[0] = &cb;
		if (aio_read(&cb))
			_exit(3);
		if (aio_suspend(list, 1, &bad) == -1)
			_exit(errno == EINVAL ? 0 : errno == EAGAIN ? 4 : 1);
		_exit(2);
	}
	CHECK(waitpid(pid, &status, 0) == pid, "waitpid");
	if (WIFSIGNALED(status))
		snprintf(what, sizeof what, "killed by signal %d", WTERMSIG(status));
	else if (WEXITSTATUS(status) == 0)
		snprintf(what, sizeof what, "EINVAL");
	else if (WEXITSTATUS(status) == 4)
		snprintf(what, sizeof what, "EAGAIN");
	else if (WEXITSTATUS(status) == 2)
		snprintf(what, sizeof what, "returned 0");
	else
		snprintf(what, sizeof what, "exit %d", WEXITSTATUS(status));
	return what;
}

static void probe(void)
{
	static char buf[512];
	struct aiocb cb;
	pthread_t t;
	char status[64];
	const char *where = "ignored";
	int fd = tmpfile_fd(), i;

	A = &plain;
	CHECK(pwrite(fd, buf, sizeof buf, 0) == (ssize_t)sizeof buf, "pwrite");

	/* glibc accepts any sigev_notify and ignores what it does not know */
	prep(&cb, fd, buf, sizeof buf, 0);
	cb.aio_sigevent.sigev_notify = 99;
	if (aio_read(&cb) == 0) {
		wait_one(&cb);
		CHECK(aio_error(&cb) == 0 && aio_return(&cb) == (ssize_t)sizeof buf,
		      "read with sigev_notify 99");
		printf("sigev_notify_99: accepted\n");
	} else {
		CHECK(errno == EINVAL, "sigev_notify 99 refused, but not with EINVAL");
		printf("sigev_notify_99: EINVAL\n");
	}

	/*
	 * SIGEV_THREAD_ID to a helper thread, with the signal blocked
	 * everywhere: where it ends up pending tells thread- from
	 * process-directed.
	 */
	CHECK(pipe(helper_pipe) == 0, "pipe");
	CHECK(pthread_create(&t, NULL, helper, NULL) == 0, "pthread_create");
	while (!__atomic_load_n(&helper_tid, __ATOMIC_ACQUIRE))
		sched_yield();
	prep(&cb, fd, buf, sizeof buf, 0);
	cb.aio_sigevent.sigev_notify = SIGEV_THREAD_ID;
	cb.aio_sigevent.sigev_signo = SIG_TID;
	cb.aio_sigevent._sigev_un._tid = helper_tid;
	CHECK(aio_read(&cb) == 0, "aio_read with SIGEV_THREAD_ID");
	wait_one(&cb);
	CHECK(aio_error(&cb) == 0 && aio_return(&cb) == (ssize_t)sizeof buf,
	      "read with SIGEV_THREAD_ID");
	snprintf(status, sizeof status, "/proc/self/task/%d/status", (int)helper_tid);
	for (i = 0; i < 300; i++) {	/* the signal may follow the status: 3 s */
		if (pending_in(status, "SigPnd", SIG_TID)) {
			where = "thread";
			break;
		}
		if (pending_in("/proc/thread-self/status", "SigPnd", SIG_TID)) {
			where = "wrong-thread";
			break;
		}
		if (pending_in("/proc/self/status", "ShdPnd", SIG_TID)) {
			where = "process";
			break;
		}
		usleep(10000);
	}
	printf("sigev_thread_id: %s\n", where);
	CHECK(write(helper_pipe[1], "x", 1) == 1, "write");
	pthread_join(t, NULL);
	close(fd);
	printf("aio_suspend_nsec_1e9: %s\n", suspend_bad_timeout());
}

int main(int argc, char **argv)
{
	const char *mode = argc > 1 ? argv[1] : "basic";

	setvbuf(stdout, NULL, _IOLBF, 0);
	signals_setup();
	sem_init(&notified, 0, 0);
	if (!strcmp(mode, "basic")) {
		run_checks(&plain);
		check_element_sigevents(lio_listio, "lio_listio");
	} else if (!strcmp(mode, "large")) {
		run_checks(&large);
		check_element_sigevents(lio_listio_large, "lio_listio64");
	} else if (!strcmp(mode, "old")) {
		run_checks(&old);
		check_element_sigevents(lio_listio_24, "lio_listio@" LIO_24);
		run_checks(&old64);
		check_element_sigevents(lio_listio64_24, "lio_listio64@" LIO_24);
	} else if (!strcmp(mode, "widths")) {
		check_widths();
	} else if (!strcmp(mode, "old-lio")) {
		A = &plain;
		lio_behaviour(lio_listio_base, "lio_listio@" BASE);
		lio_behaviour(lio_listio64_base, "lio_listio64@" BASE);
#ifdef AIO__GLIBC_OLD_LIO_LISTIO
		lio_behaviour(lio_listio_24, "lio_listio@GLIBC_2.4");
		lio_behaviour(lio_listio64_24, "lio_listio64@GLIBC_2.4");
#endif
		lio_behaviour(lio_listio, "lio_listio");
	} else if (!strcmp(mode, "idle")) {
		/* a process that does no AIO: a preloaded librtaio starts nothing */
		DIR *d = opendir("/proc/self/task");
		struct dirent *e;
		int n = 0;

		CHECK(d != NULL, "/proc/self/task");
		while ((e = readdir(d)))
			n += e->d_name[0] != '.';
		closedir(d);
		printf("threads: %d\n", n);
	} else if (!strcmp(mode, "which")) {
		printf("%s\n", path_of((void *)aio_read));
	} else if (!strcmp(mode, "which-all")) {
		which_all();
	} else if (!strcmp(mode, "probe")) {
		probe();
	} else {
		fprintf(stderr, "usage: %s basic|large|old|widths|old-lio|which|which-all|probe|idle\n", argv[0]);
		return 2;
	}
	return 0;
}
