/*
 * dlopen/dlclose of librtaio: after dlclose() with no request pending, no
 * thread of rtaio's is left and none runs the unmapped library's code
 * (both the engine's workers and the SIGEV_THREAD notification threads,
 * which are detached: unloading waits for them without a join).
 * This program does not link librtaio: it loads it from the build tree.
 */
#include <aio.h>
#include <dlfcn.h>
#include <semaphore.h>
#include <sys/wait.h>

#include "testutil.h"

typedef int (*submit_fn)(struct aiocb *);
typedef int (*error_fn)(const struct aiocb *);
typedef int (*suspend_fn)(const struct aiocb *const[], int, const struct timespec *);

static char libpath[4096];
static sem_t notified;

static void on_done(union sigval v)
{
	(void)v;
	sem_post(&notified);
}

/* Load, read a file twice (once with SIGEV_THREAD), wait, unload. */
static void use_and_unload(int fd)
{
	void *h = dlopen(libpath, RTLD_NOW | RTLD_LOCAL);
	struct aiocb cb[2];
	const struct aiocb *list[2] = { &cb[0], &cb[1] };
	struct timespec t = ms_ts(10000);
	char buf[2][64];
	submit_fn rd;
	error_fn er;
	suspend_fn su;
	int i;

	ck_assert_msg(h != NULL, "dlopen %s: %s", libpath, dlerror());
	rd = (submit_fn)dlsym(h, "aio_read");
	er = (error_fn)dlsym(h, "aio_error");
	su = (suspend_fn)dlsym(h, "aio_suspend");
	ck_assert(rd && er && su);
	memset(cb, 0, sizeof cb);
	for (i = 0; i < 2; i++) {
		cb[i].aio_fildes = fd;
		cb[i].aio_buf = buf[i];
		cb[i].aio_nbytes = sizeof buf[i];
		cb[i].aio_sigevent.sigev_notify = SIGEV_NONE;
	}
	cb[1].aio_sigevent.sigev_notify = SIGEV_THREAD;
	cb[1].aio_sigevent.sigev_notify_function = on_done;
	ck_assert_int_eq(rd(&cb[0]), 0);
	ck_assert_int_eq(rd(&cb[1]), 0);
	for (i = 0; i < 2; i++)
		while (er(&cb[i]) == EINPROGRESS)
			ck_assert_int_eq(su(&list[i], 1, &t), 0);
	ck_assert_int_eq(er(&cb[0]), 0);
	ck_assert_int_eq(sem_timedwait(&notified, &(struct timespec){ time(NULL) + 10, 0 }), 0);
	ck_assert_int_eq(dlclose(h), 0);
}

/*
 * Notification functions that meet at a barrier, so that each has a thread
 * of its own: all those threads idle in the pool when the library goes.
 */
#define MEETING 8
static pthread_barrier_t meeting;

static void meet(union sigval v)
{
	(void)v;
	pthread_barrier_wait(&meeting);
	sem_post(&notified);
}

static void meet_and_unload(int fd)
{
	void *h = dlopen(libpath, RTLD_NOW | RTLD_LOCAL);
	struct aiocb cb[MEETING];
	char buf[MEETING][16];
	submit_fn rd;
	int i;

	ck_assert_msg(h != NULL, "dlopen %s: %s", libpath, dlerror());
	rd = (submit_fn)dlsym(h, "aio_read");
	ck_assert(rd);
	ck_assert_int_eq(pthread_barrier_init(&meeting, NULL, MEETING), 0);
	memset(cb, 0, sizeof cb);
	for (i = 0; i < MEETING; i++) {
		cb[i].aio_fildes = fd;
		cb[i].aio_buf = buf[i];
		cb[i].aio_nbytes = sizeof buf[i];
		cb[i].aio_sigevent.sigev_notify = SIGEV_THREAD;
		cb[i].aio_sigevent.sigev_notify_function = meet;
		ck_assert_int_eq(rd(&cb[i]), 0);
	}
	for (i = 0; i < MEETING; i++)
		ck_assert_int_eq(sem_timedwait(&notified,
					       &(struct timespec){ time(NULL) + 10, 0 }), 0);
	ck_assert_int_eq(dlclose(h), 0);
	pthread_barrier_destroy(&meeting);
}

/* Many notification threads, detached: unloading still leaves none behind. */
START_TEST(unload_after_many_notification_threads)
{
	int fd = pattern_file(64);

	ck_assert_int_eq(sem_init(&notified, 0, 0), 0);
	meet_and_unload(fd);
	ck_assert_int_eq(rtaio_thread_count(), 0);
	meet_and_unload(fd);
	ck_assert_int_eq(rtaio_thread_count(), 0);
	close(fd);
}
END_TEST

START_TEST(unload_leaves_no_thread)
{
	int fd = pattern_file(64);

	ck_assert_int_eq(sem_init(&notified, 0, 0), 0);
	use_and_unload(fd);
	/* joined, not merely told to go: none is left at once */
	ck_assert_int_eq(rtaio_thread_count(), 0);
	use_and_unload(fd);	/* and it loads and works again */
	ck_assert_int_eq(rtaio_thread_count(), 0);
	close(fd);
}
END_TEST

/* Any thread left running in the unmapped library would crash a child. */
START_TEST(unload_then_linger_does_not_crash)
{
	unsigned long i, n = scaled(100);
	int fd = pattern_file(64);

	for (i = 0; i < n; i++) {
		int status;
		pid_t pid = fork();

		ck_assert_int_ge(pid, 0);
		if (pid == 0) {
			struct timespec linger = ms_ts(20);

			sem_init(&notified, 0, 0);
			use_and_unload(fd);
			nanosleep(&linger, NULL);
			_exit(0);
		}
		ck_assert_int_eq(waitpid(pid, &status, 0), pid);
		ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 0,
			      "child %lu: status %#x", i, status);
	}
	close(fd);
}
END_TEST

static Suite *unload_suite(void)
{
	Suite *s = suite_create("unload");
	TCase *t = tcase_create("dlclose");
	const char *top = getenv("top_builddir");

	snprintf(libpath, sizeof libpath, "%s/lib/.libs/librtaio.so", top ? top : ".");
	tcase_set_timeout(t, 120);
	tcase_add_test(t, unload_leaves_no_thread);
	tcase_add_test(t, unload_then_linger_does_not_crash);
	tcase_add_test(t, unload_after_many_notification_threads);
	suite_add_tcase(s, t);
	return s;
}

TEST_MAIN(unload_suite)
