/*
 * Run by wake-cost.sh under strace: completes a batch of calls that nobody
 * waits for, then the same batch with a waiter on each call.  The script
 * counts the futex system calls on the calls' completion words in each
 * phase, which write(2) markers on stdout separate; the first line gives the
 * words' address range.  Futex calls elsewhere (the submission's wake-up of
 * the worker, a sanitizer runtime's own locks) are not what is measured.
 */
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "asys.h"

#define BATCH 2000

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
	return 0;
}
