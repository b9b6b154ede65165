/*
 * The process-wide engine: its one-time set-up on the first call (a preloaded
 * library must start nothing in processes that never use it), tuning from
 * the environment and asys_configure(), and fork.
 */
#include <dlfcn.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "engine.h"
#include "internal.h"

#define DEFAULT_MAX_THREADS 20
#define DEFAULT_MAX_BLOCKING_THREADS 64
#define DEFAULT_IDLE_MSEC 1000
#define MAX_THREADS_LIMIT 4096
#define MAX_IDLE_MSEC 3600000

struct asys__engine asys__engine = {
	.chain_lock = PTHREAD_MUTEX_INITIALIZER,
	.generation = 1u << 16,
};

static pthread_once_t once = PTHREAD_ONCE_INIT;

/* A value in [1, max] from a secure_getenv variable, or dflt. */
static unsigned env_value(const char *name, unsigned max, unsigned dflt)
{
	const char *s = secure_getenv(name);
	unsigned long v;
	char *end;

	if (!s || !*s)
		return dflt;
	errno = 0;
	v = strtoul(s, &end, 10);
	if (errno || *end || v < 1 || v > max)
		return dflt;
	return (unsigned)v;
}

static void fork_prepare(void)
{
	asys__init();	/* orders this thread after setup(), for TSan's sake */
	pthread_mutex_lock(&asys__engine.chain_lock);
	asys__engine.backend->fork_prepare();
	asys__read_now_fork_prepare();
}

static void fork_parent(void)
{
	asys__read_now_fork_parent();
	asys__engine.backend->fork_parent();
	pthread_mutex_unlock(&asys__engine.chain_lock);
}

/*
 * The child has none of the parent's workers: it starts with an empty engine.
 * Calls that were pending in the parent stay as they are in the child's copy
 * of memory; the new generation keeps asys_cancel() away from them.
 */
static void fork_child(void)
{
	asys__direct_fork_child();
	asys__read_now_fork_child();
	asys__engine.backend->fork_child();
	asys__engine.completions.seq = 0;
	asys__engine.generation += 1u << 16;
	if (!asys__engine.generation)
		asys__engine.generation = 1u << 16;
	pthread_mutex_unlock(&asys__engine.chain_lock);	/* held since fork_prepare() */
}

/*
 * Set by an atexit handler.  At exit() such handlers run before any
 * library's destructor; at dlclose() a library's own run after its
 * destructor (its __cxa_finalize comes last), so the destructor can tell
 * the process ending, which waits for nothing (the kernel ends every
 * thread, and a write stuck in the kernel must not keep the process
 * alive), from the library being unloaded, where rtaio's threads must
 * leave its code first.
 */
static bool exiting;

/*
 * Registered with the C library's __cxa_atexit and this library's own
 * handle, as atexit() would, but past any sanitizer's wrapper: ThreadSanitizer's
 * atexit() registers handlers for the process (they then run after
 * dlclose(), in unmapped code), and its __cxa_atexit frees its record of
 * the handler at exit with the allocator of the exiting thread, which has
 * none left when it is a fork child's last thread ending.
 */
extern void *__dso_handle;
typedef int cxa_atexit_fn(void (*fn)(void *), void *arg, void *dso);

static void note_exit(void *unused)
{
	(void)unused;
	__atomic_store_n(&exiting, true, __ATOMIC_RELAXED);
}

bool asys__exiting(void)
{
	return __atomic_load_n(&exiting, __ATOMIC_RELAXED);
}

/* RTAIO_BACKEND: auto (the default), uring or threads. */
static enum asys__choice backend_choice(void)
{
	const char *s = secure_getenv("RTAIO_BACKEND");

	if (s && !strcmp(s, "threads"))
		return ASYS__THREADS_ONLY;
	if (s && !strcmp(s, "uring"))
		return ASYS__URING_ONLY;
	return ASYS__AUTO;
}

static void setup(void)
{
	cxa_atexit_fn *cxa_atexit;
	int saved = errno;

	asys__engine.config.max_threads =
		env_value("RTAIO_MAX_THREADS", MAX_THREADS_LIMIT, DEFAULT_MAX_THREADS);
	asys__engine.config.max_blocking_threads =
		env_value("RTAIO_MAX_BLOCKING_THREADS", MAX_THREADS_LIMIT,
			  DEFAULT_MAX_BLOCKING_THREADS);
	asys__engine.config.idle_msec =
		env_value("RTAIO_IDLE_MSEC", MAX_IDLE_MSEC, DEFAULT_IDLE_MSEC);
	asys__engine.choice = backend_choice();
	__atomic_store_n(&asys__engine.backend,
			 asys__engine.choice == ASYS__THREADS_ONLY ? &asys__threads : &asys__uring,
			 __ATOMIC_RELEASE);
	asys__engine.backend->init();
	pthread_atfork(fork_prepare, fork_parent, fork_child);
	cxa_atexit = (cxa_atexit_fn *)dlsym(RTLD_NEXT, "__cxa_atexit");
	if (cxa_atexit)
		cxa_atexit(note_exit, NULL, __dso_handle);
	errno = saved;
}

void asys__init(void)
{
	pthread_once(&once, setup);
}

__attribute__((destructor)) void asys__unload(void)
{
	if (__atomic_load_n(&asys__engine.backend, __ATOMIC_ACQUIRE))
		asys__engine.backend->unload();
	asys__direct_unload();
	asys__read_now_unload();
}

void asys__stats(struct asys__stats *out)
{
	static const char *const choices[] = { "auto", "uring", "threads" };
	const struct asys__backend *b = __atomic_load_n(&asys__engine.backend, __ATOMIC_ACQUIRE);

	*out = (struct asys__stats){ .choice = b ? choices[asys__engine.choice] : NULL };
	if (b)
		b->stats(out);
	asys__owed_stats(&out->reads_owed, &out->owed_unwoken, &out->reads_direct,
			 &out->reads_refused);
}

void asys__prompt_hook(void (*done)(struct asys_call *call))
{
	__atomic_store_n(&asys__engine.prompt_done, done, __ATOMIC_RELAXED);
}

int asys_configure(const struct asys_config *set, struct asys_config *old)
{
	struct asys__engine *e = &asys__engine;

	asys__init();
	if (set && (set->max_threads > MAX_THREADS_LIMIT ||
		    set->max_blocking_threads > MAX_THREADS_LIMIT ||
		    set->idle_msec > MAX_IDLE_MSEC)) {
		errno = EINVAL;
		return -1;
	}
	e->backend->lock_config();
	if (old)
		*old = e->config;
	if (set && set->max_threads)
		e->config.max_threads = set->max_threads;
	if (set && set->max_blocking_threads)
		e->config.max_blocking_threads = set->max_blocking_threads;
	if (set && set->idle_msec)
		e->config.idle_msec = set->idle_msec;
	e->backend->unlock_config();
	return 0;
}
