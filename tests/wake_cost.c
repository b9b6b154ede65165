/*
 * Run by wake-cost.sh under strace: completes a batch of calls that nobody
 * waits for, then the same batch with a waiter on each call.  The script
 * counts the futex system calls on the calls' completion words in each
 * phase, which write(2) markers on stdout separate; the first line gives the
 * words' address range.  Futex calls elsewhere (the submission's wake-up of
 * the worker, a sanitizer runtime's own locks) are not what is measured.
 * Then lio_listio(LIO_WAIT) lists that the page cache serves at submission,
 * which have finished before the caller could sleep: in that phase there
 * is nobody to wake at all.  Last, reads that complete together at
 * submission while another thread sleeps in aio_suspend for something
 * else: they do not wake it where the aiocb has room for a waiter's mark
 * (64-bit layouts), and elsewhere may wake it once for each time it went
 * to sleep, not once each; then its own read completes, which wakes it.
 */
#include <aio.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "asys.h"

#define BATCH 2000
#define LISTS 100
#define LIST 16
#define READS 2048
#define BURST 64

static struct asys_call calls[BATCH];
static struct asys_call *list[BATCH];
static const struct timespec zero;

static void submit_batch(void)
{
	int i;

	for (i = 0; i < BATCH; i++) {
		asys_prep(&calls[i], SYS_nanosleep, (long)&zero, 0, 0, 0, 0, 0);
		list[i] = &calls[i];
	}
	if (asys_submit(list, BATCH) < 0) {
		perror("asys_submit");
		exit(1);
	}
}

static void marker(const char *m)
{
	if (write(1, m, 2) != 2)
		exit(1);
}

/* A file of LIST blocks, in the page cache. */
static int cached_file(void)
{
	static char data[LIST][4096];
	char path[] = "/tmp/rtaio-wake-cost.XXXXXX";
	int fd = mkstemp(path);

	if (fd < 0 || unlink(path) < 0 || write(fd, data, sizeof data) != sizeof data) {
		perror("wake_cost: test file");
		exit(1);
	}
	return fd;
}

/* lio_listio(LIO_WAIT) of n reads (n <= BURST) of the file's blocks, in turn */
static void read_list(int fd, int n)
{
	static char buf[BURST][4096];
	struct aiocb cbs[BURST], *cbl[BURST];
	int i;

	for (i = 0; i < n; i++) {
		cbs[i] = (struct aiocb){ .aio_fildes = fd, .aio_buf = buf[i],
					 .aio_nbytes = sizeof buf[i],
					 .aio_offset = (off_t)(i % LIST) * 4096,
					 .aio_lio_opcode = LIO_READ };
		cbl[i] = &cbs[i];
	}
	if (lio_listio(LIO_WAIT, cbl, n, NULL) < 0) {
		perror("lio_listio");
		exit(1);
	}
}

/* LISTS lists of LIST reads of the file */
static void cached_lists(int fd)
{
	int n;

	/* the first list also sets the POSIX layer up (pthread_once wakes) */
	for (n = -1; n < LISTS; n++) {
		if (n == 0)
			marker("D\n");
		read_list(fd, LIST);
	}
	marker("E\n");
}

static struct aiocb pipe_cb;
static int waiter_tid;

static void *suspend_on_pipe(void *arg)
{
	const struct aiocb *one[1] = { &pipe_cb };

	(void)arg;
	__atomic_store_n(&waiter_tid, (int)syscall(SYS_gettid), __ATOMIC_RELEASE);
	while (aio_error(&pipe_cb) == EINPROGRESS)
		aio_suspend(one, 1, NULL);
	return NULL;
}

/* Wait (10 s at most) until thread tid sleeps: state S in its stat. */
static void until_asleep(int tid)
{
	struct timespec pause = { 0, 1000000 };
	char path[64], line[512], *p;
	int i;

	snprintf(path, sizeof path, "/proc/self/task/%d/stat", tid);
	for (i = 0; i < 10000; i++) {
		FILE *f = fopen(path, "r");

		p = f && fgets(line, sizeof line, f) ? strrchr(line, ')') : NULL;
		if (f)
			fclose(f);
		if (p && p[1] == ' ' && p[2] == 'S')
			return;
		nanosleep(&pause, NULL);
	}
	fprintf(stderr, "wake_cost: the aio_suspend thread never slept\n");
	exit(1);
}

/*
 * READS cached reads, in lists of BURST that complete together (one
 * system call with io_uring), while another thread sleeps in aio_suspend
 */
static void reads_while_suspended(int fd)
{
	static char byte;
	int pipe_fds[2], n, tid;
	pthread_t t;

	if (pipe2(pipe_fds, O_CLOEXEC) < 0) {
		perror("pipe2");
		exit(1);
	}
	pipe_cb = (struct aiocb){ .aio_fildes = pipe_fds[0], .aio_buf = &byte, .aio_nbytes = 1 };
	if (aio_read(&pipe_cb) < 0 || pthread_create(&t, NULL, suspend_on_pipe, NULL)) {
		perror("wake_cost: the aio_suspend thread");
		exit(1);
	}
	while (!(tid = __atomic_load_n(&waiter_tid, __ATOMIC_ACQUIRE)))
		sched_yield();
	until_asleep(tid);
	printf("waiter %d\nmarks %d\n", tid, (int)(sizeof(long) == 8));
	fflush(stdout);
	marker("F\n");
	for (n = 0; n < READS / BURST; n++)
		read_list(fd, BURST);
	marker("G\n");
	/* the read it waits for: the wake-up that shows the script sees them */
	if (write(pipe_fds[1], "x", 1) != 1 || pthread_join(t, NULL)) {
		perror("wake_cost: ending the aio_suspend thread");
		exit(1);
	}
	close(pipe_fds[0]);
	close(pipe_fds[1]);
}

int main(void)
{
	struct asys_config one = { .max_threads = 1, .max_blocking_threads = 1 };
	int i, fd;

	printf("%016lx %016lx\n", (unsigned long)&calls[0],
	       (unsigned long)&calls[BATCH]);
	fflush(stdout);
	/* one worker, started before the measured phases */
	asys_configure(&one, NULL);
	submit_batch();
	for (i = 0; i < BATCH; i++)
		asys_wait(&calls[i], NULL);

	marker("A\n");
	submit_batch();
	for (i = 0; i < BATCH; i++)	/* watch without waiting: no futex */
		while (asys_state(&calls[i]) != ASYS_DONE)
			sched_yield();
	marker("B\n");
	submit_batch();
	for (i = 0; i < BATCH; i++)
		asys_wait(&calls[i], NULL);
	marker("C\n");
	fd = cached_file();
	cached_lists(fd);
	reads_while_suspended(fd);
	close(fd);
	return 0;
}
