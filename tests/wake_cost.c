/*
 * Run by wake-cost.sh under strace: completes a batch of calls that nobody
 * waits for, then the same batch with a waiter on each call.  The script
 * counts the futex system calls on the calls' completion words in each
 * phase, which write(2) markers on stdout separate; the first line gives the
 * words' address range.  Futex calls elsewhere (the submission's wake-up of
 * the worker, a sanitizer runtime's own locks) are not what is measured.
 * Last, lio_listio(LIO_WAIT) lists that the page cache serves at submission,
 * which have finished before the caller could sleep: in that phase there
 * is nobody to wake at all.
 */
#include <aio.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "asys.h"

#define BATCH 2000
#define LISTS 100
#define LIST 16

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

/* lio_listio(LIO_WAIT) of reads of a file that the page cache holds */
static void cached_lists(void)
{
	static char data[LIST][4096], buf[LIST][4096];
	struct aiocb cbs[LIST], *cbl[LIST];
	char path[] = "/tmp/rtaio-wake-cost.XXXXXX";
	int fd = mkstemp(path), i, n;

	if (fd < 0 || unlink(path) < 0 || write(fd, data, sizeof data) != sizeof data) {
		perror("wake_cost: test file");
		exit(1);
	}
	/* the first list also sets the POSIX layer up (pthread_once wakes) */
	for (n = -1; n < LISTS; n++) {
		if (n == 0)
			marker("D\n");
		for (i = 0; i < LIST; i++) {
			cbs[i] = (struct aiocb){ .aio_fildes = fd, .aio_buf = buf[i],
						 .aio_nbytes = sizeof buf[i],
						 .aio_offset = (off_t)i * 4096,
						 .aio_lio_opcode = LIO_READ };
			cbl[i] = &cbs[i];
		}
		if (lio_listio(LIO_WAIT, cbl, LIST, NULL) < 0) {
			perror("lio_listio");
			exit(1);
		}
	}
	marker("E\n");
	close(fd);
}

int main(void)
{
	struct asys_config one = { .max_threads = 1, .max_blocking_threads = 1 };
	int i;

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
	cached_lists();
	return 0;
}
