/*
 * A small POSIX AIO program whose requests are known in advance, for
 * tests/debian-packages.sh: it builds the program against the C library's
 * <aio.h> (to run under rtaio-run) and against the installed librtaio-dev
 * (pkg-config), and compares rtaio's statistics report with what this
 * program prints.
 *
 * In a scratch file in the working directory: BLOCKS aio_write calls of
 * one block each, waited for with aio_suspend; one aio_fsync(O_SYNC); then
 * one lio_listio(LIO_WAIT) of BLOCKS reads.  Every byte read back is
 * checked.  It prints the three lines that rtaio's report must then hold
 * (rtaio_stats(3)) and exits 0, or prints "FAIL: ..." and exits 1.
 */
#include <aio.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

enum { BLOCKS = 16, BLOCK_SIZE = 4096 };

static unsigned char written[BLOCKS][BLOCK_SIZE];
static unsigned char read_back[BLOCKS][BLOCK_SIZE];

static int fail(const char *what, int error)
{
	printf("FAIL: %s: %s\n", what, strerror(error));
	return 1;
}

/* wait: aio_suspend until CB is done; its aio_return, or -1 with errno. */
static ssize_t wait_for(struct aiocb *cb)
{
	const struct aiocb *list[1] = { cb };
	int error;

	while ((error = aio_error(cb)) == EINPROGRESS)
		if (aio_suspend(list, 1, NULL) != 0 && errno != EINTR)
			return -1;
	if (error != 0) {
		errno = error;
		return -1;
	}
	return aio_return(cb);
}

int main(void)
{
	static struct aiocb writes[BLOCKS], reads[BLOCKS];
	struct aiocb *list[BLOCKS];
	struct aiocb sync;
	const char *name = "aio_counts.data";
	int fd = open(name, O_RDWR | O_CREAT | O_TRUNC, 0600);

	if (fd < 0)
		return fail(name, errno);
	unlink(name);
	for (int i = 0; i < BLOCKS; i++) {
		memset(written[i], 'a' + i, BLOCK_SIZE);
		writes[i] = (struct aiocb){ .aio_fildes = fd, .aio_buf = written[i],
					    .aio_nbytes = BLOCK_SIZE,
					    .aio_offset = (off_t)i * BLOCK_SIZE };
		if (aio_write(&writes[i]) != 0)
			return fail("aio_write", errno);
	}
	for (int i = 0; i < BLOCKS; i++)
		if (wait_for(&writes[i]) != BLOCK_SIZE)
			return fail("a write's result", errno);

	sync = (struct aiocb){ .aio_fildes = fd };
	if (aio_fsync(O_SYNC, &sync) != 0)
		return fail("aio_fsync", errno);
	if (wait_for(&sync) != 0)
		return fail("aio_fsync's result", errno);

	for (int i = 0; i < BLOCKS; i++) {
		reads[i] = (struct aiocb){ .aio_fildes = fd, .aio_buf = read_back[i],
					   .aio_nbytes = BLOCK_SIZE,
					   .aio_offset = (off_t)i * BLOCK_SIZE,
					   .aio_lio_opcode = LIO_READ };
		list[i] = &reads[i];
	}
	if (lio_listio(LIO_WAIT, list, BLOCKS, NULL) != 0)
		return fail("lio_listio", errno);
	for (int i = 0; i < BLOCKS; i++)
		if (aio_error(&reads[i]) != 0 || aio_return(&reads[i]) != BLOCK_SIZE)
			return fail("a listed read's result", aio_error(&reads[i]));
	if (memcmp(read_back, written, sizeof written) != 0) {
		printf("FAIL: the blocks read back differ from those written\n");
		return 1;
	}
	close(fd);
	printf("requests: read %d, write %d, fsync 1, fdatasync 0, invalid 0\n", BLOCKS, BLOCKS);
	printf("lio_listio lists: 1\n");
	/* every request and the list asked for no notification */
	printf("notifications asked: none %d, signal 0, thread 0, thread_id 0\n", 2 * BLOCKS + 2);
	return 0;
}
