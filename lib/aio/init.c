/*
 * The POSIX layer's process-wide set-up, on the first request (a preloaded
 * library must start nothing in processes that never use AIO), its fork
 * handling, and GNU aio_init.
 */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"
#include "stats.h"
#include "../asys/engine.h"

static pthread_once_t once = PTHREAD_ONCE_INIT;

bool aio__inline_reads = true;
bool aio__spawn_notifications;

/* The fd locks, then the notification pool's, so that the child finds both consistent. */
static void fork_prepare(void)
{
	aio__fd_lock_all();
	aio__notify_fork_prepare();
}

static void fork_parent(void)
{
	aio__notify_fork_parent();
	aio__fd_unlock_all();
}

/*
 * The child starts with no requests, no lists, no notification threads; the
 * parent's requests are not inherited (POSIX), and their aiocbs in the
 * child's memory say ECANCELED rather than EINPROGRESS for ever.
 */
static void fork_child(void)
{
	aio__fd_fork_child();
	aio__request_fork_child();
	aio__notify_fork_child();
	aio__stats_fork_child();
	aio__completions.seq = 0;
}

/*
 * The engine's fork handlers must be registered first: prepare handlers run
 * in reverse order, and the fd locks come before the engine's.
 */
static void setup(void)
{
	const char *inline_reads = secure_getenv("RTAIO_INLINE_READS");
	const char *sigev_thread = secure_getenv("RTAIO_SIGEV_THREAD");

	aio__inline_reads = !(inline_reads && !strcmp(inline_reads, "0"));
	aio__spawn_notifications = sigev_thread && !strcmp(sigev_thread, "spawn");
	aio__stats_init();
	asys_configure(NULL, NULL);
	/* it publishes, notifies and accounts; it never waits for a request */
	asys__prompt_hook(aio__call_done);
	pthread_atfork(fork_prepare, fork_parent, fork_child);
}

void aio__init(void)
{
	pthread_once(&once, setup);
}

/*
 * Unloading the library, or exiting: the statistics report first, which
 * waits for nothing, then the notifications' retry (it may sleep on an
 * engine worker), the engine's workers, since their completions
 * queue notifications, then the notification threads, then the memory (a
 * program that unloads rtaio has no request pending).
 */
__attribute__((destructor)) static void unload(void)
{
	aio__stats_at_exit();
	aio__notify_stop_retry();
	asys__unload();
	aio__notify_unload();
	if (asys__exiting())
		return;	/* other threads may still use the memory until the process ends */
	aio__request_unload();
	aio__fd_unload();
}

void aio__init_gnu(const struct aioinit *init);

/* aio_threads caps the workers for file I/O; aio_idle_time is in seconds. */
void aio__init_gnu(const struct aioinit *init)
{
	struct asys_config cfg = { 0 };

	if (!init)
		return;
	if (init->aio_threads > 0)
		cfg.max_threads = init->aio_threads > 4096 ? 4096 : (unsigned)init->aio_threads;
	if (init->aio_idle_time > 0)
		cfg.idle_msec = init->aio_idle_time > 3600 ? 3600000u
							   : (unsigned)init->aio_idle_time * 1000;
	asys_configure(&cfg, NULL);
}
extern __typeof(aio__init_gnu) aio__init_gnu_base __attribute__((alias("aio__init_gnu")));
__asm__(".symver aio__init_gnu, aio_init@@GLIBC_2.34");
__asm__(".symver aio__init_gnu_base, aio_init@" AIO__GLIBC_BASE);
