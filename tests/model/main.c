/*
 * aio-model [--seed S] [--seconds N] [--scenarios N] [--first K] [--verbose]
 *           [--dir D] [--close-foreign yes|no] [--no-cancel] [--fork yes|no]
 *           [--interrupt yes|no] [--pty yes|no] [--disguise yes|no] [--plans]
 *
 * Runs scenarios K, K+1, ... of seed S (model.h says what a scenario is)
 * until N of them ran or N seconds passed, judges each, and watches
 * for descriptors, threads and memory left behind (leaks.c).  Exit 0 when every
 * outcome was allowed; 1, with the seed, the scenario number, a readable
 * account of the first violation and the scenario's plan, otherwise; 2 on
 * bad usage; 77 when every request was refused (EAGAIN), as with
 * RTAIO_BACKEND=uring where no io_uring can be set up.  Scenario K of seed S is the same program on every run:
 * "--seed S --first K --scenarios 1" replays it.  --close-foreign (default:
 * yes under rtaio) lets scenarios close the descriptors the program did not
 * open; --no-cancel turns the scenarios' aio_cancel calls into no-ops, for
 * glibc, where cancelling the first request of a descriptor strands the
 * later ones; --fork (default: no under glibc, whose fork child hangs on
 * its first request) lets scenarios and SIGEV_THREAD functions fork with
 * requests in flight; --interrupt (default: no under glibc, which returns
 * EINTR from lio_listio(LIO_WAIT) and later writes to the wait list it left
 * on the caller's stack) lets scenarios send signals whose handler has no
 * SA_RESTART; --pty yes turns some stream socketpairs into ptys (off by
 * default, so that the seeds found before keep their scenarios; it found
 * rtaio's io_uring backend running pty writes in its ring thread, seeds
 * 4/265 and 9/117); --disguise yes has the library see the number of
 * some O_DIRECT files as a buffered file's just before their first
 * requests (off by default, for the same reason; rtaio then sends their
 * first reads the way of cached reads, and they find the device);
 * --plans prints the scenarios' plans and runs none (to find a seed that
 * makes a given kind of scenario).  With AIO_MODEL_HOLD set in the
 * environment, a process that found a violation stays as it is, printing
 * its pid, for a debugger to look at the library's threads and state: a
 * violation that its replay does not reproduce can then still be studied.
 */
#include "model.h"

#include <dlfcn.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

struct options opt;
static const char *aio_library = "?";
static pthread_mutex_t report_lock = PTHREAD_MUTEX_INITIALIZER;

long long now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

void vlog(const char *fmt, ...)
{
	va_list ap;
	if (!opt.verbose)
		return;
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
}

_Noreturn void violation(const struct scenario *sc, const char *fmt, ...)
{
	va_list ap;
	/* the first violation only, whichever thread finds it */
	pthread_mutex_lock(&report_lock);
	fflush(stdout);
	printf("aio-model: VIOLATION in scenario %u of seed %llu\n  ", sc->number,
	       (unsigned long long)sc->seed);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf("\n  AIO functions from %s, RTAIO_BACKEND=%s\n", aio_library,
	       getenv("RTAIO_BACKEND") ? getenv("RTAIO_BACKEND") : "(unset)");
	printf("  replay: aio-model --seed %llu --first %u --scenarios 1 --verbose\n",
	       (unsigned long long)sc->seed, sc->number);
	if (!opt.verbose)
		print_plan(sc);
	fflush(stdout);
	/* AIO_MODEL_HOLD: the process stays, as it is, for a debugger */
	if (getenv("AIO_MODEL_HOLD")) {
		printf("  AIO_MODEL_HOLD: process %d kept for a debugger\n", (int)getpid());
		fflush(stdout);
		for (;;)
			pause();
	}
	/* requests may be in flight: no exit handlers, no cleanup */
	_exit(1);
}

/* ---------------------------------------------------------------- watchdog */

/* A call that never returns (lio_listio with LIO_WAIT, say) would stop the
 * executor's own deadlines; the watchdog reports it instead. */
enum { HANG_S = 20 };
static struct scenario sc;
static _Atomic long long progress_at;
static const char *_Atomic phase = "starting";
static _Atomic int phase_item;

void progress(const char *what, int item)
{
	atomic_store(&phase_item, item);
	atomic_store(&phase, what);
	atomic_store(&progress_at, now_ns());
}

static void *watchdog(void *unused)
{
	for (;;) {
		nanosleep(&(struct timespec){ 0, 100000000 }, NULL);
		if (now_ns() - atomic_load(&progress_at) > HANG_S * 1000000000LL)
			violation(&sc, "no progress for %d s: the program is stuck in %s (action [%d] of the "
				       "plan below)",
				  HANG_S, atomic_load(&phase), atomic_load(&phase_item));
	}
	return unused;
}

/* ---------------------------------------------------------------- main */

static void usage(const char *me)
{
	fprintf(stderr,
		"usage: %s [--seed S] [--seconds N] [--scenarios N] [--first K] [--verbose]\n"
		"          [--dir DIR] [--close-foreign yes|no] [--no-cancel] [--fork yes|no]\n"
		"          [--interrupt yes|no] [--pty yes|no] [--disguise yes|no] [--plans]\n",
		me);
	exit(2);
}

static unsigned long long parse_number(const char *s, const char *me)
{
	char *end;
	errno = 0;
	unsigned long long v = s ? strtoull(s, &end, 0) : 0;
	if (!s || errno || *end || !*s)
		usage(me);
	return v;
}

static void options(int argc, char **argv)
{
	const char *close_arg = NULL, *fork_arg = NULL, *interrupt_arg = NULL;
	opt.seed = (unsigned long long)time(NULL) ^ ((unsigned long long)getpid() << 20);
	opt.dir = getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp";
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i], *v = argv[i + 1];
		if (!strcmp(a, "--verbose")) {
			opt.verbose = true;
			continue;
		}
		if (!strcmp(a, "--no-cancel")) {
			opt.no_cancel = true;
			continue;
		}
		if (!strcmp(a, "--plans")) {
			opt.plans_only = true;
			continue;
		}
		if (!strcmp(a, "--seed"))
			opt.seed = parse_number(v, argv[0]);
		else if (!strcmp(a, "--seconds"))
			opt.seconds = (unsigned)parse_number(v, argv[0]);
		else if (!strcmp(a, "--scenarios"))
			opt.scenarios = (unsigned)parse_number(v, argv[0]);
		else if (!strcmp(a, "--first"))
			opt.first = (unsigned)parse_number(v, argv[0]);
		else if (!strcmp(a, "--dir") && v)
			opt.dir = v;
		else if (!strcmp(a, "--close-foreign") && v)
			close_arg = v;
		else if (!strcmp(a, "--fork") && v)
			fork_arg = v;
		else if (!strcmp(a, "--interrupt") && v)
			interrupt_arg = v;
		else if (!strcmp(a, "--pty") && v)
			opt.pty = !strcmp(v, "yes");
		else if (!strcmp(a, "--disguise") && v)
			opt.disguise = !strcmp(v, "yes");
		else
			usage(argv[0]);
		i++;
	}
	if (!opt.scenarios && !opt.seconds)
		opt.scenarios = 100;
	Dl_info info;
	if (dladdr((void *)aio_read, &info) && info.dli_fname)
		aio_library = info.dli_fname;
	opt.glibc_rules = strstr(aio_library, "libc.so") != NULL;
	/* glibc's AIO holds no descriptor; rtaio documents that a program may
	 * close those it did not open; other libraries promise nothing */
	opt.close_foreign = close_arg ? !strcmp(close_arg, "yes") : strstr(aio_library, "rtaio") != NULL;
	opt.rtaio_rules = strstr(aio_library, "rtaio") != NULL;
	/* glibc's fork child hangs on its first request (man/rtaio.7, NOTES) */
	opt.fork = fork_arg ? !strcmp(fork_arg, "yes") : !opt.glibc_rules;
	/* glibc leaves lio_listio(LIO_WAIT)'s wait list on the stack it
	 * returned from with EINTR, and crashes later (NOTES, 1) */
	opt.interrupt_lio_wait = interrupt_arg ? !strcmp(interrupt_arg, "yes") : !opt.glibc_rules;
	opt.signals_merge = dlsym(RTLD_DEFAULT, "__tsan_init") != NULL;
}

static void *exit_at_once(void *unused)
{
	(void)unused;
	pthread_exit(NULL);
}

/*
 * glibc loads libgcc_s.so.1 (its unwinder) the first time a thread calls
 * pthread_exit, and aborts ("libgcc_s.so.1 must be installed for
 * pthread_exit to work") if that fails.  A scenario that closes every
 * descriptor the program did not open, while a SIGEV_THREAD function makes
 * the process's first pthread_exit, can close the library's fd as glibc
 * maps it (seed 3, scenario 19, once in CI): glibc's doing, whatever the
 * AIO library.  Loaded once here, it stays.
 */
static void load_unwinder(void)
{
	pthread_t t;

	if (pthread_create(&t, NULL, exit_at_once, NULL) == 0)
		pthread_join(t, NULL);
}

int main(int argc, char **argv)
{
	static struct request pool[POOL_REQUESTS];
	pthread_t dog;
	unsigned ran = 0, requests = 0, refused = 0;
	long long start = now_ns();
	options(argc, argv);
	load_unwinder();
	notify_setup();
	progress("starting", 0);
	if (pthread_create(&dog, NULL, watchdog, NULL))
		return 2;
	bool memory = leaks_start();
	sc.seed = opt.seed;
	sc.dir = opt.dir;
	printf("aio-model: seed %llu, AIO functions from %s%s%s%s\n", (unsigned long long)opt.seed,
	       aio_library, opt.close_foreign ? "" : " (closing others' descriptors: off)",
	       memory ? "" : " (memory: not watched, malloc is not glibc's)",
	       opt.signals_merge ? " (ThreadSanitizer merges queued signals: SIGEV_SIGNAL "
				   "notifications judged at most once)"
				 : "");
	fflush(stdout);
	for (unsigned k = opt.first;; k++) {
		if (opt.scenarios && ran == opt.scenarios)
			break;
		if (opt.seconds && now_ns() - start >= opt.seconds * 1000000000LL)
			break;
		sc.number = k;
		progress("generating the scenario", 0);
		generate(&sc, pool);
		if (opt.verbose || opt.plans_only)
			print_plan(&sc);
		if (opt.plans_only) {
			ran++;
			continue;
		}
		execute(&sc);
		judge(&sc);
		if (opt.verbose)
			print_outcomes(&sc);
		teardown(&sc);
		progress("the checks for descriptors, threads and memory left behind", 0);
		ran++;
		for (int i = 0; i < sc.nreqs; i++)
			refused += !pool[i].submitted;
		requests += (unsigned)sc.nreqs;
		leaks_after_scenario(&sc, ran, requests);
	}
	if (!opt.plans_only)
		leaks_at_end(&sc, ran, requests);
	if (requests && refused == requests) {
		/* RTAIO_BACKEND=uring where no ring can be set up, say */
		printf("aio-model: every request was refused with EAGAIN: nothing to judge\n");
		return 77;
	}
	if (opt.plans_only)
		return 0;
	printf("aio-model: seed %llu: %u scenarios (%u requests, %u refused) from %u, every "
	       "outcome allowed, %.1f s, %s\n",
	       (unsigned long long)opt.seed, ran, requests, refused, opt.first,
	       (double)(now_ns() - start) / 1e9, leaks_summary());
	return 0;
}
