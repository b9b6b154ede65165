/*
 * What the process holds between scenarios: descriptors, threads and
 * memory, read from /proc/self (and, for the heap, from malloc), watched
 * across scenarios so that what a library leaks shows up as growth.
 *
 * Memory.  A library may keep memory for good once it is in use (rtaio's
 * request records grow in slabs and are recycled, never freed; glibc keeps
 * its AIO request pool): a step during the first scenarios that then stays
 * flat.  A leak is growth that goes on with the number of requests.  Both
 * measures are taken after the threads have settled (the libraries' idle
 * threads gone, with what they had allocated), and compared with a baseline
 * taken once WARMUP scenarios have run:
 *
 * - the heap bytes in use, mallinfo2()'s uordblks + hblkhd.  There is one
 *   malloc in the process, glibc's, whatever library calls it: under
 *   LD_PRELOAD rtaio's allocations are in these figures as much as the
 *   model's own, and glibc sums them over every arena.  Free memory that
 *   malloc keeps in its arenas and thread stacks are not in them, but the
 *   chunks a living thread freed into its own cache (tcache: up to 7 of
 *   each size up to 1032 bytes, some 235 KiB at most) are: the main
 *   thread's fills slowly as the scenarios free blocks of sizes not seen
 *   before (+145 KiB after 2700 scenarios under io_uring; +7 KiB with
 *   GLIBC_TUNABLES=glibc.malloc.tcache_count=0).  HEAP_MARGIN is that
 *   cache's bound and as much again for the library's long-lived threads'
 *   caches and pools.  A request record that is never released (about 330
 *   bytes in rtaio) adds some 4 KiB a scenario: HEAP_MARGIN is passed
 *   within about 130 scenarios after the baseline.
 * - the process's anonymous resident memory, RssAnon of /proc/self/status,
 *   which also counts what a library maps itself.  malloc_trim first gives
 *   every arena's free pages back, so what remains beside the heap in use
 *   is each arena's header pages (an arena per thread that ran malloc while
 *   others did: at most 8 per CPU) and the touched pages of the stacks that
 *   glibc caches for new threads (at most 40 MiB of stacks, a few dozen KiB
 *   of each resident): about 1 MiB of growth after the warm-up, for rtaio's
 *   workers and notification threads and the model's peers and waiters.
 *   RSS_MARGIN leaves room for more CPUs and threads than that.  The
 *   model's own buffers, up to a few MiB a request, must not be in it:
 *   glibc raises its mmap threshold each time a mapped block is freed,
 *   after which such buffers come from the heap and its high-water mark
 *   stays resident; leaks_start fixes the threshold, so that they are
 *   mapped and unmapped each time.
 *
 * With an allocator other than glibc's (a sanitizer's runtime preloaded
 * before an instrumented librtaio: ASan keeps freed blocks in a quarantine
 * of 256 MiB, TSan has its own allocator) neither figure means the same:
 * memory is not watched then, and the sanitizer's leak check at exit stands
 * in for it.
 */
#include "model.h"

#include <dirent.h>
#include <dlfcn.h>
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

/* ---------------------------------------------------------------- descriptors, threads */

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

static struct watch fds = { "open descriptors", "/proc/self/fd", 0, 0, 0 };
static struct watch tasks = { "threads", "/proc/self/task", 0, 0, 0 };

/* ---------------------------------------------------------------- memory */

/* The scenarios of warm-up, and how much each measure may then grow (the
 * comment at the top says why). */
enum { WARMUP = 32, HEAP_MARGIN = 512 << 10, RSS_MARGIN = 8 << 20 };

struct memory {
	size_t heap; /* bytes malloc has handed out and not had back */
	size_t anon; /* RssAnon */
};

static struct {
	bool watched;
	bool based;
	struct memory base;
	unsigned base_requests; /* at the baseline */
	long long heap, anon;   /* growth since, at the last check */
} mem;

static struct memory measure(void)
{
	malloc_trim(0); /* free pages are not a leak */
	struct mallinfo2 m = mallinfo2();
	struct memory now = { m.uordblks + m.hblkhd, 0 };
	char line[256];
	FILE *f = fopen("/proc/self/status", "r");
	unsigned long kib;
	while (f && fgets(line, sizeof line, f))
		if (sscanf(line, "RssAnon: %lu kB", &kib) == 1)
			now.anon = kib << 10;
	if (f)
		fclose(f);
	return now;
}

/* Is malloc glibc's (and not a preloaded sanitizer runtime's, say)? */
static bool glibc_malloc(void)
{
	Dl_info info;
	return dladdr((void *)malloc, &info) && info.dli_fname &&
	       strstr(info.dli_fname, "libc.so");
}

static void memory_check(const struct scenario *sc, unsigned ran, unsigned requests)
{
	if (!mem.watched || ran < WARMUP)
		return;
	struct memory now = measure();
	if (!mem.based) {
		mem.based = true;
		mem.base = now;
		mem.base_requests = requests;
		vlog("memory: baseline after scenario %u: heap %zu KiB in use, RssAnon %zu KiB\n",
		     sc->number, now.heap >> 10, now.anon >> 10);
		return;
	}
	long long heap = mem.heap = (long long)now.heap - (long long)mem.base.heap;
	long long anon = mem.anon = (long long)now.anon - (long long)mem.base.anon;
	vlog("memory: after scenario %u: heap %+lld KiB, RssAnon %+lld KiB since the baseline\n",
	     sc->number, heap >> 10, anon >> 10);
	if (heap > HEAP_MARGIN || anon > RSS_MARGIN)
		violation(sc, "memory left behind: %u requests since the baseline (after %u "
			      "scenarios) and the heap has %lld KiB more in use (%zu KiB, limit +%d), "
			      "RssAnon %lld KiB more (%zu KiB, limit +%d); this scenario finished "
			      "and the threads settled.  The run up to here reproduces it: "
			      "aio-model --seed %llu --first %u --scenarios %u, with the same options",
			  requests - mem.base_requests, WARMUP, heap >> 10, now.heap >> 10,
			  HEAP_MARGIN >> 10, anon >> 10, now.anon >> 10, RSS_MARGIN >> 10,
			  (unsigned long long)sc->seed, opt.first, ran);
}

/* ---------------------------------------------------------------- the checks */

bool leaks_start(void)
{
	fds.base = count_entries(fds.dir);
	tasks.base = count_entries(tasks.dir);
	mem.watched = glibc_malloc();
	if (mem.watched)
		mallopt(M_MMAP_THRESHOLD, 128 << 10); /* glibc's initial value, kept */
	return mem.watched;
}

void leaks_after_scenario(const struct scenario *sc, unsigned ran, unsigned requests)
{
	if (ran == 1) {
		/* what the library keeps once it is in use (a ring thread, say) */
		int f = settle(fds.dir, fds.base, 3), t = settle(tasks.dir, tasks.base + 1, 3);
		fds.base = f > fds.base ? f : fds.base;
		tasks.base = t > tasks.base ? t : tasks.base;
	}
	watch_check(&fds, sc, 2);
	/* idle library threads take a second or so to leave: look now and then */
	if (ran % WARMUP == 0) {
		watch_check(&tasks, sc, 3);
		memory_check(sc, ran, requests);
	}
}

void leaks_at_end(const struct scenario *sc, unsigned ran, unsigned requests)
{
	watch_check(&tasks, sc, 3);
	if (ran % WARMUP)
		memory_check(sc, ran, requests);
}

const char *leaks_summary(void)
{
	static char out[160];
	if (!mem.watched)
		return "memory not watched";
	if (!mem.based)
		return "memory not watched (too few scenarios)";
	snprintf(out, sizeof out, "memory since scenario %u: heap %+lld KiB, RssAnon %+lld KiB",
		 WARMUP, mem.heap >> 10, mem.anon >> 10);
	return out;
}
