/*
 * asys-copy SRC DST: copy a file with the asys engine.  Each block is one
 * two-call chain, pread64 -> pwrite64, where the write's length is the read's
 * result; eight chains are in flight at a time, and the files are opened,
 * synced and closed through the engine as well.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>

#include "asys.h"

#define SLOTS 8
#define BLOCK (256 * 1024)

struct slot {
	struct asys_call read, write;
	off_t offset;
	char *buf;
};

static int fail(const char *what, long err)
{
	fprintf(stderr, "asys-copy: %s: %s\n", what, strerror((int)-err));
	return 1;
}

/* Submit a list and wait for all of it; the first failed result, or 0. */
static long run_all(struct asys_call *const calls[], size_t n)
{
	size_t i;

	if (asys_submit(calls, n) < 0)
		return -errno;
	for (i = 0; i < n; i++)
		if (asys_wait(calls[i], NULL) < 0)
			return -errno;
	for (i = 0; i < n; i++)
		if (calls[i]->result < 0)
			return calls[i]->result;
	return 0;
}

static int start_block(struct slot *s, int in, int out, off_t offset)
{
	struct asys_call *chain[] = { &s->read, &s->write };

	s->offset = offset;
	asys_prep(&s->read, SYS_pread64, in, (long)s->buf, BLOCK, offset, 0, 0);
	asys_prep(&s->write, SYS_pwrite64, out, (long)s->buf, 0, offset, 0, 0);
	asys_link(&s->write, 0, 2);	/* write as many bytes as were read */
	return asys_submit(chain, 2) < 0 ? -errno : 0;
}

int main(int argc, char **argv)
{
	struct asys_call open_in, open_out, sync_out, close_out, close_in;
	struct asys_call *opens[] = { &open_in, &open_out };
	struct asys_call *closes[] = { &sync_out, &close_out, &close_in };
	struct asys_call *writes[SLOTS];
	struct slot slot[SLOTS];
	off_t next = 0;
	int in, out, busy = 0, eof = 0, i;
	long err;

	if (argc != 3) {
		fprintf(stderr, "usage: asys-copy SRC DST\n");
		return 2;
	}
	asys_prep(&open_in, SYS_openat, AT_FDCWD, (long)argv[1], O_RDONLY | O_CLOEXEC, 0, 0, 0);
	asys_prep(&open_out, SYS_openat, AT_FDCWD, (long)argv[2],
		  O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644, 0, 0);
	err = run_all(opens, 2);
	if (err)
		return fail("open", err);
	in = (int)open_in.result;
	out = (int)open_out.result;

	for (i = 0; i < SLOTS; i++) {
		slot[i].buf = malloc(BLOCK);
		if (!slot[i].buf)
			return fail("malloc", -ENOMEM);
		err = start_block(&slot[i], in, out, next);
		if (err)
			return fail("submit", err);
		writes[i] = &slot[i].write;
		next += BLOCK;
		busy++;
	}
	while (busy) {
		struct slot *s;

		i = asys_wait_any(writes, SLOTS, NULL);
		if (i < 0)
			return fail("wait", -errno);
		s = &slot[i];
		writes[i] = NULL;
		busy--;
		if (s->read.result < 0)
			return fail("read", s->read.result);
		if (s->write.result < 0)
			return fail("write", s->write.result);
		if (s->write.result != s->read.result)
			return fail("write", -EIO);
		if (s->read.result < BLOCK)
			eof = 1;	/* a short read of a regular file: its end */
		if (eof)
			continue;
		err = start_block(s, in, out, next);
		if (err)
			return fail("submit", err);
		writes[i] = &s->write;
		next += BLOCK;
		busy++;
	}

	asys_prep(&sync_out, SYS_fsync, out, 0, 0, 0, 0, 0);
	asys_prep(&close_out, SYS_close, out, 0, 0, 0, 0, 0);
	asys_link(&close_out, 0, -1);
	asys_prep(&close_in, SYS_close, in, 0, 0, 0, 0, 0);
	err = run_all(closes, 3);
	if (err)
		return fail("fsync/close", err);
	for (i = 0; i < SLOTS; i++)
		free(slot[i].buf);
	return 0;
}
