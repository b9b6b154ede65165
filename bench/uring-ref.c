/*
 * uring-ref: the raw io_uring reference for aio-bench, through liburing,
 * doing the same work the most direct way io_uring allows.
 *
 *   uring-ref reap [N]        4 KiB page-cached reads, 64 in flight, the
 *                             submitting thread reaping: completions/s and
 *                             submit-to-CQE latency (aio-bench sigev-*)
 *   uring-ref pipe-wake [N]   a pipe read; the thread sleeps in
 *                             io_uring_wait_cqe, another writes:
 *                             write-to-return latency (aio-bench suspend-wake)
 *   uring-ref batch B [N]     batches of B reads submitted at once, all
 *                             waited for: reads/s (aio-bench listio B)
 *
 * Output: "name value unit" lines, as aio-bench's.
 */
#include <liburing.h>

#include "benchutil.h"

static void prep_read(struct io_uring *ring, int fd, char *buf, uint64_t tag)
{
	struct io_uring_sqe *sqe = io_uring_get_sqe(ring);

	io_uring_prep_read(sqe, fd, buf, BLOCK, (uint64_t)random_block());
	io_uring_sqe_set_data64(sqe, tag);
}

static void reap(unsigned long n)
{
	static char bufs[DEPTH][BLOCK];
	uint64_t submitted[DEPTH], *lat = calloc(n, sizeof *lat), t0;
	struct io_uring ring;
	unsigned long sent = 0, got = 0;
	int fd = cached_file(), err, i;

	if (!lat)
		die("calloc", ENOMEM);
	if ((err = io_uring_queue_init(DEPTH * 2, &ring, 0)))
		die("io_uring_queue_init", -err);
	t0 = now_ns();
	for (i = 0; i < DEPTH && sent < n; i++, sent++) {
		submitted[i] = now_ns();
		prep_read(&ring, fd, bufs[i], (uint64_t)i);
	}
	io_uring_submit(&ring);
	while (got < n) {
		struct io_uring_cqe *cqe;
		uint64_t slot;

		if ((err = io_uring_wait_cqe(&ring, &cqe)))
			die("io_uring_wait_cqe", -err);
		if (cqe->res != BLOCK)
			die("read", cqe->res < 0 ? -cqe->res : EIO);
		slot = io_uring_cqe_get_data64(cqe);
		lat[got++] = now_ns() - submitted[slot];
		io_uring_cqe_seen(&ring, cqe);
		if (sent < n) {
			submitted[slot] = now_ns();
			prep_read(&ring, fd, bufs[slot], slot);
			io_uring_submit(&ring);
			sent++;
		}
	}
	printf("completions %.0f per_s\n", (double)n * 1e9 / (double)(now_ns() - t0));
	print_p50("latency_p50", lat, n);
}

static void pipe_wake(unsigned long n)
{
	uint64_t *lat = calloc(n, sizeof *lat);
	struct io_uring ring;
	struct waker w;
	pthread_t th;
	unsigned long i;
	char byte;
	int err;

	if (!lat)
		die("calloc", ENOMEM);
	if ((err = io_uring_queue_init(8, &ring, 0)))
		die("io_uring_queue_init", -err);
	start_waker(&w, n, &th);
	for (i = 0; i < n; i++) {
		struct io_uring_cqe *cqe;
		struct io_uring_sqe *sqe = io_uring_get_sqe(&ring);

		io_uring_prep_read(sqe, w.p[0], &byte, 1, (uint64_t)-1);
		io_uring_submit(&ring);
		sem_post(&w.armed);
		if ((err = io_uring_wait_cqe(&ring, &cqe)))
			die("io_uring_wait_cqe", -err);
		lat[i] = now_ns() - w.written_at;
		if (cqe->res != 1)
			die("pipe read", EIO);
		io_uring_cqe_seen(&ring, cqe);
	}
	pthread_join(th, NULL);
	print_p50("wake_p50", lat, n);
}

static void batch(unsigned b, unsigned long n)
{
	char *buf = malloc((size_t)b * BLOCK);
	struct io_uring ring;
	unsigned long k;
	unsigned i;
	uint64_t t0;
	int fd = cached_file(), err;

	if (!buf)
		die("malloc", ENOMEM);
	if ((err = io_uring_queue_init(b, &ring, 0)))
		die("io_uring_queue_init", -err);
	t0 = now_ns();
	for (k = 0; k < n; k += b) {
		for (i = 0; i < b; i++)
			prep_read(&ring, fd, buf + (size_t)i * BLOCK, i);
		io_uring_submit_and_wait(&ring, b);
		for (i = 0; i < b; i++) {
			struct io_uring_cqe *cqe;

			if ((err = io_uring_wait_cqe(&ring, &cqe)))
				die("io_uring_wait_cqe", -err);
			if (cqe->res != BLOCK)
				die("read", EIO);
			io_uring_cqe_seen(&ring, cqe);
		}
	}
	printf("reads %.0f per_s\n", (double)k * 1e9 / (double)(now_ns() - t0));
}

int main(int argc, char **argv)
{
	const char *mode = argc > 1 ? argv[1] : "";

	if (!strcmp(mode, "reap"))
		reap(argc > 2 ? strtoul(argv[2], NULL, 0) : 20000);
	else if (!strcmp(mode, "pipe-wake"))
		pipe_wake(argc > 2 ? strtoul(argv[2], NULL, 0) : 2000);
	else if (!strcmp(mode, "batch") && argc > 2)
		batch((unsigned)strtoul(argv[2], NULL, 0), argc > 3 ? strtoul(argv[3], NULL, 0) : 200000);
	else {
		fprintf(stderr, "usage: uring-ref reap|pipe-wake|batch B [N]\n");
		return 2;
	}
	return 0;
}
