/*
 * aio-model [--seed S] [--seconds N] [--scenarios N] [--first K] [--verbose]
 *           [--dir D] [--close-foreign yes|no] [--no-cancel] [--fork yes|no]
 *           [--interrupt yes|no] [--pty yes|no] [--plans]
 *
 * Runs scenarios K, K+1, ... of seed S (model.h says what a scenario is)
 * until N of them ran or N seconds passed, judges each, and watches
 * /proc/self for descriptors and threads left behind.  Exit 0 when every
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
 * 4/265 and 9/117);
 * --plans prints the scenarios' plans and runs none (to find a seed that
 * makes a given kind of scenario).
 */
#include "model.h"

#include <dirent.h>
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
	/* requests may be in flight: no exit handlers, no cleanup */
	_exit(1);
}

/* ---------------------------------------------------------------- leaks */

/* The kernel's io_uring workers (iou-wrk-*, iou-sqp-*) appear among a
 * process's threads and idle out on the kernel's schedule: not the
 * library's. */
static bool kernel_worker(const char *task)
{
	char path[300], comm[32] = "";
	snprintf(path, sizeof path, "/proc/self/task/%s/comm", task);
	FILE *f = fopen(path, "r");
	bool yes = f && fgets(comm, sizeof comm, f) && !strncmp(comm, "iou-", 4);
	if (f)
		fclose(f);
	return yes;
}

static int count_entries(const char *dir)
{
	bool tasks = dir[strlen(dir) - 1] == 'k';
	DIR *d = opendir(dir);
	struct dirent *e;
	int n = 0;
	if (!d)
		return -1;
	while ((e = readdir(d)))
		n += e->d_name[0] != '.' && !(tasks && kernel_worker(e->d_name));
	closedir(d);
	return n - !tasks; /* /proc/self/fd counts the DIR's own */
}

/* Wait (against a deadline) until /proc/self/DIR has at most `limit`
 * entries: library threads and descriptors may take a moment to go. */
static int settle(const char *dir, int limit, int seconds)
{
	long long deadline = now_ns() + seconds * 1000000000LL;
	int n;
	while ((n = count_entries(dir)) > limit && now_ns() < deadline)
		nanosleep(&(struct timespec){ 0, 10000000 }, NULL);
	return n;
}

/* What each entry of /proc/self/DIR is: a thread's name, a descriptor's
 * file. */
static const char *list_entries(const char *dir)
{
	static char out[2048];
	char path[300], what[256];
	size_t len = 0;
	DIR *d = opendir(dir);
	struct dirent *e;
	out[0] = 0;
	while (d && (e = readdir(d)) && len < sizeof out - 300) {
		ssize_t n;
		if (e->d_name[0] == '.')
			continue;
		if (dir[strlen(dir) - 1] == 'd') {
			snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
			n = readlink(path, what, sizeof what - 1);
		} else {
			snprintf(path, sizeof path, "%s/%s/comm", dir, e->d_name);
			FILE *f = fopen(path, "r");
			n = f && fgets(what, sizeof what, f) ? (ssize_t)strcspn(what, "\n") : -1;
			if (f)
				fclose(f);
		}
		what[n > 0 ? n : 0] = 0;
		len += (size_t)snprintf(out + len, sizeof out - len, "\n    %s: %s", e->d_name, what);
	}
	if (d)
		closedir(d);
	return out;
}

/* A resource watched across scenarios.  The library may keep some for
 * good once in use (a ring per thread that used one, say), a step that then
 * stays flat; a leak is growth at three checks in a row, or by more than
 * LEAK_MARGIN at once. */
enum { LEAK_MARGIN = 16 };
struct watch {
	const char *what, *dir;
	int base, last, growths;
};

static void watch_check(struct watch *w, const struct scenario *sc, int seconds)
{
	int n = settle(w->dir, w->base, seconds);
	if (n <= w->base)
		w->growths = 0;
	else if (n > w->last)
		w->growths++;
	w->last = n;
	if (n > w->base)
		vlog("%s: %d after scenario %u (base %d)\n", w->what, n, sc->number, w->base);
	if (w->growths >= 3 || n > w->base + LEAK_MARGIN)
		violation(sc, "%d %s after this scenario finished and settled for %d s, %d at the "
			      "baseline (after the first scenario); %s:%s",
			  n, w->what, seconds, w->base,
			  w->growths >= 3 ? "they grew at the last three checks" : "far more",
			  list_entries(w->dir));
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
		"          [--interrupt yes|no] [--pty yes|no] [--plans]\n",
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
}

int main(int argc, char **argv)
{
	static struct request pool[POOL_REQUESTS];
	pthread_t dog;
	unsigned ran = 0, requests = 0, refused = 0;
	long long start = now_ns();
	options(argc, argv);
	notify_setup();
	progress("starting", 0);
	if (pthread_create(&dog, NULL, watchdog, NULL))
		return 2;
	struct watch fds = { "open descriptors", "/proc/self/fd", count_entries("/proc/self/fd"), 0, 0 };
	struct watch tasks = { "threads", "/proc/self/task", count_entries("/proc/self/task"), 0, 0 };
	sc.seed = opt.seed;
	sc.dir = opt.dir;
	printf("aio-model: seed %llu, AIO functions from %s%s\n", (unsigned long long)opt.seed,
	       aio_library, opt.close_foreign ? "" : " (closing others' descriptors: off)");
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
		progress("the checks for threads and descriptors left behind", 0);
		ran++;
		for (int i = 0; i < sc.nreqs; i++)
			refused += !pool[i].submitted;
		requests += (unsigned)sc.nreqs;
		if (ran == 1) {
			/* what the library keeps once it is in use (a ring thread, say) */
			int f = settle(fds.dir, fds.base, 3), t = settle(tasks.dir, tasks.base + 1, 3);
			fds.base = f > fds.base ? f : fds.base;
			tasks.base = t > tasks.base ? t : tasks.base;
		}
		watch_check(&fds, &sc, 2);
		/* idle library threads take a second or so to leave: look now and then */
		if (ran % 32 == 0)
			watch_check(&tasks, &sc, 3);
	}
	watch_check(&tasks, &sc, 3);
	if (requests && refused == requests) {
		/* RTAIO_BACKEND=uring where no ring can be set up, say */
		printf("aio-model: every request was refused with EAGAIN: nothing to judge\n");
		return 77;
	}
	if (opt.plans_only)
		return 0;
	printf("aio-model: seed %llu: %u scenarios (%u requests, %u refused) from %u, every "
	       "outcome allowed, %.1f s\n",
	       (unsigned long long)opt.seed, ran, requests, refused, opt.first,
	       (double)(now_ns() - start) / 1e9);
	return 0;
}
