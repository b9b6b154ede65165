/*
 * O_DIRECT reads sent to the device by their submitting thread, from a
 * ring of its own, and completed by the reaper (lib/asys/direct.c): their
 * data, their errors, cancellation, a thread that exits or a process that
 * forks with reads in flight, more threads than the reaper watches rings,
 * signals at the submitter, and RTAIO_INLINE_READS=0.
 *
 * Linked with the static library: each test reads the engine's hidden
 * statistics, which tell the reads sent this way from those the backend
 * took, so that a test of this path fails if the backend served it.
 */
#include <pthread.h>
#include <sys/wait.h>

#include "aioutil.h"
#include "../lib/asys/engine.h"
#include "../lib/aio/internal.h"

#define WAIT_MS 30000
#define BLOCK 4096
#define BIG (1 << 20)

static unsigned long direct_reads(void)
{
	struct asys__stats s;

	asys__stats(&s);
	return s.reads_direct;
}

static unsigned long refused_reads(void)
{
	struct asys__stats s;

	asys__stats(&s);
	return s.reads_refused;
}

/*
 * A file of `size` pattern bytes, on disk, open with O_DIRECT in *direct;
 * false (having said why) where the file system refuses O_DIRECT or the
 * kernel cannot send reads from a thread's ring (io_uring without futex
 * operations, Linux before 6.7, or qemu-user: rtaio sends them the
 * backend's way there, which other tests cover).
 */
static bool direct_file(size_t size, int *fd, int *direct)
{
	char path[64];

	if (under_qemu() || !asys__reads_owed()) {
		printf("SKIP: no reads from a thread's own ring here (io_uring with futex operations)\n");
		return false;
	}
	*fd = pattern_file(size);
	ck_assert_int_eq(fdatasync(*fd), 0);
	snprintf(path, sizeof path, "/proc/self/fd/%d", *fd);
	*direct = open(path, O_RDONLY | O_DIRECT | O_CLOEXEC);
	if (*direct < 0) {
		ck_assert_int_eq(errno, EINVAL);
		printf("SKIP: no O_DIRECT on this file system\n");
		close(*fd);
		return false;
	}
	return true;
}

static void *aligned(size_t size)
{
	void *buf;

	ck_assert_int_eq(posix_memalign(&buf, BLOCK, size), 0);
	return buf;
}

/* The end of a test: its n buffers freed, its two descriptors closed. */
static void done_with(void **bufs, int n, int direct, int fd)
{
	int i;

	for (i = 0; i < n; i++)
		free(bufs[i]);
	close(direct);
	close(fd);
}

/* Each of n reads of len bytes, at off[i] into bufs[i], final with its data. */
static void assert_read(struct aiocb *cbs, void **bufs, const off_t *off, int n, size_t len)
{
	int i;

	for (i = 0; i < n; i++) {
		wait_final(&cbs[i], WAIT_MS);
		assert_status(&cbs[i], 0, (ssize_t)len);
		ck_assert_int_eq(first_bad_byte(bufs[i], (uint64_t)off[i], len), -1);
	}
}

/*
 * More reads than a ring's 64 slots, all in flight at once: the first 64
 * go from this thread's ring, the rest wherever there is room, and each
 * completes with its own data.
 */
START_TEST(direct_reads_complete_with_their_data)
{
	enum { N = 100 };
	static struct aiocb cbs[N];
	static void *bufs[N];
	static off_t off[N];
	unsigned long before;
	int fd, direct, i;

	if (!direct_file((size_t)N * 2 * BLOCK, &fd, &direct))
		return;
	before = direct_reads();
	for (i = 0; i < N; i++) {
		bufs[i] = aligned(BLOCK);
		off[i] = (off_t)((i * 37) % N) * 2 * BLOCK;
		prep_aiocb(&cbs[i], direct, bufs[i], BLOCK, off[i]);
		submit_read(&cbs[i]);
	}
	assert_read(cbs, bufs, off, N, BLOCK);
	ck_assert_uint_ge(direct_reads() - before, 64);
	done_with(bufs, N, direct, fd);
}
END_TEST

/*
 * A read that the kernel fails at once (a buffer O_DIRECT does not take)
 * still wakes the reaper (its FUTEX_WAKE is hard-linked), and reports what
 * pread(2) would: EINVAL.  So does a read at offset -1, which io_uring
 * would serve at the file position (fuzz_aio found it).  The reads around
 * them are unharmed.
 */
START_TEST(direct_read_error_is_reported)
{
	struct aiocb bad, good, negative;
	unsigned long before;
	char *buf = aligned(2 * BLOCK);
	off_t at = BLOCK;
	int fd, direct;

	if (!direct_file(16 * BLOCK, &fd, &direct)) {
		free(buf);
		return;
	}
	before = direct_reads();
	prep_aiocb(&bad, direct, buf + 1, BLOCK, 0);
	prep_aiocb(&good, direct, buf + BLOCK, BLOCK, at);
	prep_aiocb(&negative, direct, buf, BLOCK, -1);
	submit_read(&bad);
	submit_read(&good);
	ck_assert_int_eq(aio_read(&negative), 0);
	wait_final(&bad, WAIT_MS);
	wait_final(&negative, WAIT_MS);
	ck_assert_uint_ge(direct_reads() - before, 1);
	assert_status(&bad, EINVAL, -1);
	assert_status(&negative, EINVAL, -1);
	assert_read(&good, (void *[]){ buf + BLOCK }, &at, 1, BLOCK);
	free(buf);
	close(direct);
	close(fd);
}
END_TEST

/*
 * aio_cancel of reads the device has: never ECANCELED for a read that
 * went on (AIO_NOTCANCELED while it runs, AIO_ALLDONE once done), and each
 * then completes with its data.
 */
START_TEST(direct_reads_are_not_cancelled)
{
	enum { N = 8 };
	struct aiocb cbs[N];
	void *bufs[N];
	off_t off[N];
	unsigned long before;
	int fd, direct, i, r;

	if (!direct_file((size_t)N * BIG, &fd, &direct))
		return;
	before = direct_reads();
	for (i = 0; i < N; i++) {
		bufs[i] = aligned(BIG);
		off[i] = (off_t)i * BIG;
		prep_aiocb(&cbs[i], direct, bufs[i], BIG, off[i]);
		submit_read(&cbs[i]);
	}
	r = aio_cancel(direct, &cbs[N - 1]);
	ck_assert_msg(r == AIO_NOTCANCELED || r == AIO_ALLDONE, "aio_cancel of one: %d", r);
	r = aio_cancel(direct, NULL);
	ck_assert_msg(r == AIO_NOTCANCELED || r == AIO_ALLDONE, "aio_cancel of all: %d", r);
	assert_read(cbs, bufs, off, N, BIG);
	ck_assert_uint_eq(direct_reads() - before, N);
	done_with(bufs, N, direct, fd);
}
END_TEST

enum { EXIT_READS = 8 };

static struct {
	int direct;
	struct aiocb cbs[EXIT_READS];
	void *bufs[EXIT_READS];
	off_t off[EXIT_READS];
	int in_progress;	/* of its reads, when the thread exited */
} leaver;

static void *submit_and_exit(void *arg)
{
	int i;

	(void)arg;
	for (i = 0; i < EXIT_READS; i++)
		if (aio_read(&leaver.cbs[i]))
			abort();
	for (i = 0; i < EXIT_READS; i++)
		leaver.in_progress += aio_error(&leaver.cbs[i]) == EINPROGRESS;
	pthread_exit(NULL);
}

/*
 * A thread sends large reads and exits at once: its exit waits for them
 * (the kernel would cancel an exiting thread's requests), and each
 * completes with its data.  Both sides: some round must have had reads in
 * progress when the thread left.
 */
START_TEST(direct_reads_outlive_their_thread)
{
	enum { ROUNDS = 5 };
	unsigned long before;
	int fd, round, i, left_in_progress = 0;
	pthread_t th;

	if (!direct_file((size_t)EXIT_READS * BIG, &fd, &leaver.direct))
		return;
	before = direct_reads();
	for (i = 0; i < EXIT_READS; i++)
		leaver.bufs[i] = aligned(BIG);
	for (round = 0; round < ROUNDS; round++) {
		leaver.in_progress = 0;
		for (i = 0; i < EXIT_READS; i++) {
			leaver.off[i] = (off_t)((i + round) % EXIT_READS) * BIG;
			memset(leaver.bufs[i], 0, BIG);
			prep_aiocb(&leaver.cbs[i], leaver.direct, leaver.bufs[i], BIG, leaver.off[i]);
		}
		ck_assert_int_eq(pthread_create(&th, NULL, submit_and_exit, NULL), 0);
		join_within(th, WAIT_MS);
		assert_read(leaver.cbs, leaver.bufs, leaver.off, EXIT_READS, BIG);
		left_in_progress += leaver.in_progress;
	}
	ck_assert_uint_eq(direct_reads() - before, ROUNDS * EXIT_READS);
	if (!left_in_progress)
		printf("SKIP: the device answered every read before its thread left\n");
	done_with(leaver.bufs, EXIT_READS, leaver.direct, fd);
}
END_TEST

/*
 * fork with direct reads in flight: the child starts with no ring and no
 * reads of the parent's, sends its own reads, which complete; the parent's
 * complete in the parent.
 */
START_TEST(fork_child_sends_its_own_direct_reads)
{
	enum { N = 8 };
	struct aiocb cbs[N];
	void *bufs[N];
	off_t off[N];
	int fd, direct, i, status;
	pid_t pid;

	if (!direct_file((size_t)N * BIG, &fd, &direct))
		return;
	for (i = 0; i < N; i++) {
		bufs[i] = aligned(BIG);
		off[i] = (off_t)i * BIG;
		prep_aiocb(&cbs[i], direct, bufs[i], BIG, off[i]);
		submit_read(&cbs[i]);
	}
	settle_rtaio_threads(1000);
	pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		struct aiocb mine[N];
		int bad = direct_reads() != 0;

		for (i = 0; i < N; i++) {
			memset(bufs[i], 0, BIG);
			prep_aiocb(&mine[i], direct, bufs[i], BIG, off[N - 1 - i]);
			bad |= aio_read(&mine[i]) != 0;
		}
		for (i = 0; i < N && !bad; i++) {
			const struct aiocb *l[1] = { &mine[i] };

			while (aio_error(&mine[i]) == EINPROGRESS)
				aio_suspend(l, 1, NULL);
			bad |= aio_return(&mine[i]) != BIG ||
			       first_bad_byte(bufs[i], (uint64_t)off[N - 1 - i], BIG) != -1;
		}
		_exit(bad ? 1 : direct_reads() == N ? 0 : 2);
	}
	status = reap_child(pid, WAIT_MS);
	ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 0,
		      "the child's reads: wait status %#x (exit 2: not sent from its ring)", status);
	assert_read(cbs, bufs, off, N, BIG);
	done_with(bufs, N, direct, fd);
}
END_TEST

enum { CROWD = 72 };	/* more threads than the rings the reaper watches (64) */

static struct {
	int direct;
	pthread_barrier_t all_have_read;
	int failed;
} crowd;

static bool read_once(off_t off)
{
	struct aiocb cb;
	void *buf = aligned(BLOCK);
	const struct aiocb *l[1] = { &cb };
	bool ok;

	prep_aiocb(&cb, crowd.direct, buf, BLOCK, off);
	ok = aio_read(&cb) == 0;
	while (ok && aio_error(&cb) == EINPROGRESS)
		aio_suspend(l, 1, NULL);
	ok = ok && aio_return(&cb) == BLOCK && first_bad_byte(buf, (uint64_t)off, BLOCK) == -1;
	free(buf);
	return ok;
}

static void *crowd_member(void *arg)
{
	int slot = (int)(intptr_t)arg;

	if (!read_once((off_t)slot * BLOCK))
		__atomic_fetch_add(&crowd.failed, 1, __ATOMIC_RELAXED);
	pthread_barrier_wait(&crowd.all_have_read);
	if (!read_once((off_t)(CROWD - 1 - slot) * BLOCK))
		__atomic_fetch_add(&crowd.failed, 1, __ATOMIC_RELAXED);
	return NULL;
}

/*
 * 72 threads, each with a read done and its ring kept while all the
 * others read: those beyond the reaper's 64 rings read the backend's way,
 * and every read completes with its data.
 */
START_TEST(more_threads_than_rings)
{
	pthread_t th[CROWD];
	unsigned long before, sent;
	int fd, i;

	if (!direct_file((size_t)CROWD * BLOCK, &fd, &crowd.direct))
		return;
	before = direct_reads();
	ck_assert_int_eq(pthread_barrier_init(&crowd.all_have_read, NULL, CROWD), 0);
	for (i = 0; i < CROWD; i++)
		ck_assert_int_eq(pthread_create(&th[i], NULL, crowd_member, (void *)(intptr_t)i), 0);
	for (i = 0; i < CROWD; i++)
		join_within(th[i], WAIT_MS);
	ck_assert_int_eq(crowd.failed, 0);
	/* this thread's ring, kept by an earlier test under CK_FORK=no, is one of the 64 */
	sent = direct_reads() - before;
	ck_assert_msg(sent >= 2 * 63 && sent <= 2 * 64,
		      "%lu of %d reads sent from their threads' rings, not 126 or 128", sent,
		      2 * CROWD);
	pthread_barrier_destroy(&crowd.all_have_read);
	close(crowd.direct);
	close(fd);
}
END_TEST

static struct {
	int fd;		/* the same file, without O_DIRECT */
	void *buf;
	bool stop;
} locker;

/* Buffered writes far from the reads, each holding the inode's lock a while. */
static void *hold_inode_lock(void *arg)
{
	(void)arg;
	while (!__atomic_load_n(&locker.stop, __ATOMIC_RELAXED))
		if (pwrite(locker.fd, locker.buf, 8 << 20, 64 << 20) < 0)
			abort();
	return NULL;
}

/*
 * Reads that the file system refuses without waiting (RWF_NOWAIT: ext4
 * does while another thread holds the inode's lock for a buffered write)
 * go the backend's way, and complete with their data.  Both sides: reads
 * must have been sent from the ring, and some refused.
 */
START_TEST(refused_direct_reads_go_the_usual_way)
{
	enum { DEPTH = 32, ROUNDS = 2000 };
	struct aiocb cbs[DEPTH];
	void *bufs[DEPTH];
	off_t off[DEPTH];
	unsigned long before, refused_before;
	pthread_t th;
	int fd, direct, round, k;

	if (!direct_file((size_t)DEPTH * BLOCK, &fd, &direct))
		return;
	locker.fd = fd;
	locker.buf = aligned(8 << 20);
	memset(locker.buf, 'w', 8 << 20);
	for (k = 0; k < DEPTH; k++)
		bufs[k] = aligned(BLOCK);
	before = direct_reads();
	refused_before = refused_reads();
	ck_assert_int_eq(pthread_create(&th, NULL, hold_inode_lock, NULL), 0);
	for (round = 0; round < ROUNDS && refused_reads() == refused_before; round++) {
		for (k = 0; k < DEPTH; k++) {
			off[k] = (off_t)k * BLOCK;
			memset(bufs[k], 0, BLOCK);
			prep_aiocb(&cbs[k], direct, bufs[k], BLOCK, off[k]);
			submit_read(&cbs[k]);
		}
		assert_read(cbs, bufs, off, DEPTH, BLOCK);
	}
	__atomic_store_n(&locker.stop, true, __ATOMIC_RELAXED);
	join_within(th, WAIT_MS);
	ck_assert_uint_ge(direct_reads() - before, DEPTH);
	if (refused_reads() == refused_before)
		printf("SKIP: the file system refused no read in %d rounds\n", ROUNDS);
	else
		printf("refused_direct_reads_go_the_usual_way: %lu refused in %d rounds\n",
		       refused_reads() - refused_before, round);
	for (k = 0; k < DEPTH; k++)
		free(bufs[k]);
	free(locker.buf);
	close(direct);
	close(fd);
}
END_TEST

static volatile sig_atomic_t signals_taken;

static void count_signal(int sig)
{
	(void)sig;
	signals_taken++;
}

static struct {
	pthread_t target;
	bool stop;
} pelter;

static void *pelt(void *arg)
{
	(void)arg;
	while (!__atomic_load_n(&pelter.stop, __ATOMIC_RELAXED)) {
		pthread_kill(pelter.target, SIGUSR1);
		sched_yield();
	}
	return NULL;
}

/*
 * Signals at the submitting thread, with no SA_RESTART: its io_uring_enter
 * and its waits are interrupted, and each read is sent once and completes
 * with its data.
 */
START_TEST(direct_reads_under_signals)
{
	enum { N = 2000, DEPTH = 16 };
	struct sigaction sa;
	struct aiocb cbs[DEPTH];
	void *bufs[DEPTH];
	off_t off[DEPTH];
	unsigned long before;
	pthread_t th;
	int fd, direct, i, k;

	if (!direct_file((size_t)N * BLOCK, &fd, &direct))
		return;
	memset(&sa, 0, sizeof sa);
	sa.sa_handler = count_signal;
	ck_assert_int_eq(sigaction(SIGUSR1, &sa, NULL), 0);
	for (k = 0; k < DEPTH; k++)
		bufs[k] = aligned(BLOCK);
	before = direct_reads();
	pelter.target = pthread_self();
	ck_assert_int_eq(pthread_create(&th, NULL, pelt, NULL), 0);
	for (i = 0; i < N; i += DEPTH) {
		for (k = 0; k < DEPTH; k++) {
			off[k] = (off_t)((i + k) * 7 % N) * BLOCK;
			prep_aiocb(&cbs[k], direct, bufs[k], BLOCK, off[k]);
			while (aio_read(&cbs[k]) != 0)
				ck_assert_int_eq(errno, EAGAIN);
		}
		assert_read(cbs, bufs, off, DEPTH, BLOCK);
	}
	__atomic_store_n(&pelter.stop, true, __ATOMIC_RELAXED);
	join_within(th, WAIT_MS);
	ck_assert_uint_eq(direct_reads() - before, N);
	ck_assert_int_gt(signals_taken, 0);
	done_with(bufs, DEPTH, direct, fd);
}
END_TEST

/* RTAIO_INLINE_READS=0: the submitting thread never touches a buffer. */
START_TEST(no_direct_reads_without_inline_reads)
{
	struct aiocb cb;
	void *buf = aligned(BLOCK);
	off_t at = 3 * BLOCK;
	unsigned long before;
	int fd, direct;

	no_inline_reads();
	if (!direct_file(8 * BLOCK, &fd, &direct)) {
		free(buf);
		return;
	}
	before = direct_reads();
	prep_aiocb(&cb, direct, buf, BLOCK, at);
	submit_read(&cb);
	assert_read(&cb, &buf, &at, 1, BLOCK);
	if (aio__inline_reads)
		printf("SKIP: RTAIO_INLINE_READS was read before this test (CK_FORK=no)\n");
	else
		ck_assert_uint_eq(direct_reads(), before);
	free(buf);
	close(direct);
	close(fd);
}
END_TEST

static Suite *direct_suite(void)
{
	Suite *s = suite_create("direct");
	TCase *tc = tcase_create("direct reads");

	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, direct_reads_complete_with_their_data);
	tcase_add_test(tc, direct_read_error_is_reported);
	tcase_add_test(tc, direct_reads_are_not_cancelled);
	tcase_add_test(tc, direct_reads_outlive_their_thread);
	tcase_add_test(tc, fork_child_sends_its_own_direct_reads);
	tcase_add_test(tc, more_threads_than_rings);
	tcase_add_test(tc, direct_reads_under_signals);
	tcase_add_test(tc, refused_direct_reads_go_the_usual_way);
	tcase_add_test(tc, no_direct_reads_without_inline_reads);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return run_suite_both(direct_suite);
}
