/*
 * Submissions the engine refuses with EAGAIN (as a backend does when no
 * worker can be had), injected at each point where rtaio submits: aio_read
 * and aio_write alone, a lio_listio batch, an ordered request started as
 * it is queued or when the one before it completes, an fsync that waited
 * behind others.  A request refused at submission makes its call fail with
 * EAGAIN and is not notified; one refused after it was accepted completes
 * with aio_error() == EAGAIN and is notified once.  Either way the fd's
 * other requests keep their order, run one at a time, and go on.
 *
 * Linked with the static library: the injection is asys__refuse_hook, a
 * hidden engine symbol that librtaio.so does not export.  The same hook
 * watches what is handed to the engine, and aio__owe_hook (hidden too)
 * lets a test act at the moment an owed read joins its fd's list, and
 * asys__owed_wake_lost takes the kernel's wake-up after it away (the last
 * two tests).
 */
#include "aioutil.h"
#include "../lib/asys/engine.h"
#include "../lib/aio/internal.h"

#define WAIT_MS 30000
#define LEN 4096

/*
 * What the hook does: refuse the submission that brings `countdown` from 1
 * to 0; with `sync_cb`, first queue an aio_fsync of it (only where the
 * refused submission holds no fd lock: aio_read, aio_write, a list batch).
 */
static struct {
	uint32_t countdown;
	struct aiocb *sync_cb;
	uint32_t nth;		/* what countdown started from, for the messages */
} inject;

static bool refuse_nth(struct asys_call *const calls[], size_t n)
{
	uint32_t left = __atomic_load_n(&inject.countdown, __ATOMIC_RELAXED);
	struct aiocb *sync_cb;

	(void)calls;
	(void)n;
	do {
		if (!left)
			return false;
	} while (!__atomic_compare_exchange_n(&inject.countdown, &left, left - 1, false,
					      __ATOMIC_RELAXED, __ATOMIC_RELAXED));
	if (left != 1)
		return false;
	sync_cb = __atomic_load_n(&inject.sync_cb, __ATOMIC_RELAXED);
	if (sync_cb)
		ck_assert_int_eq(aio_fsync(O_SYNC, sync_cb), 0);
	return true;
}

/* Refuse the nth submission from now on (1: the next one). */
static void refuse_submission(uint32_t nth, struct aiocb *sync_cb)
{
	inject.nth = nth;
	__atomic_store_n(&inject.sync_cb, sync_cb, __ATOMIC_RELAXED);
	__atomic_store_n(&inject.countdown, nth, __ATOMIC_RELAXED);
	__atomic_store_n(&asys__refuse_hook, refuse_nth, __ATOMIC_RELAXED);
}

static void assert_refusal_happened(uint32_t nth)
{
	ck_assert_msg(__atomic_load_n(&inject.countdown, __ATOMIC_RELAXED) == 0,
		      "submission %u was never made", nth);
}

/*
 * A request, what it should end with, and whether its call took it (then
 * it is notified once: NOTE_SIG with its index, queued in order).
 */
struct request {
	struct aiocb cb;
	bool accepted;
	int err;
	ssize_t ret;
};

#define NOTE_SIG SIGRTMIN

/* req[i]'s aiocb for fd, buf, len, off; success expected. */
static void prep_request(struct request *req, unsigned i, int fd, void *buf, size_t len,
			 off_t off)
{
	prep_aiocb(&req[i].cb, fd, buf, len, off);
	req[i].cb.aio_sigevent.sigev_notify = SIGEV_SIGNAL;
	req[i].cb.aio_sigevent.sigev_signo = NOTE_SIG;
	req[i].cb.aio_sigevent.sigev_value.sival_int = (int)i;
	req[i].accepted = true;
	req[i].err = 0;
	req[i].ret = (ssize_t)len;
}

/* The request is the one refused: EAGAIN, after it was accepted or not. */
static void expect_refused(struct request *req, bool accepted)
{
	req->accepted = accepted;
	req->err = EAGAIN;
	req->ret = -1;
}

/* What aio_read, aio_write or aio_fsync returned for req (refused: the one refused). */
static void submitted(struct request *req, int rc, bool refused)
{
	ck_assert_msg(rc == 0 || (refused && errno == EAGAIN), "submission: %d (%s)", rc,
		      strerror(errno));
	if (refused)
		expect_refused(req, rc == 0);
}

/*
 * Every request of req[0..n) ends as expected; each accepted one is
 * notified once, the others never; in_order: the notifications came in
 * request order (an fd's ordered requests: each completes, notification
 * sent, before the next one starts).
 */
static void check_requests(struct request *req, unsigned n, bool in_order)
{
	unsigned i, want = 0, got, count[n];
	int last = -1;
	siginfo_t si;

	for (i = 0; i < n; i++) {
		wait_final(&req[i].cb, WAIT_MS);
		ck_assert_msg(aio_error(&req[i].cb) == req[i].err,
			      "refusing submission %u: request %u: aio_error %d (%s), expected %d (%s)",
			      inject.nth, i, aio_error(&req[i].cb), strerror(aio_error(&req[i].cb)), req[i].err,
			      strerror(req[i].err));
		ck_assert_int_eq(aio_return(&req[i].cb), req[i].ret);
		want += req[i].accepted;
		count[i] = 0;
	}
	for (got = 0; got < want; got++) {
		ck_assert_msg(take_signal(NOTE_SIG, &si, WAIT_MS),
			      "refusing submission %u: %u notifications of %u", inject.nth, got, want);
		ck_assert_int_eq(si.si_code, SI_ASYNCIO);
		i = (unsigned)si.si_value.sival_int;
		ck_assert_uint_lt(i, n);
		ck_assert_msg(!in_order || (int)i > last,
			      "refusing submission %u: request %u notified after request %d",
			      inject.nth, i, last);
		last = (int)i;
		count[i]++;
	}
	ck_assert_msg(!take_signal(NOTE_SIG, &si, 0),
		      "refusing submission %u: request %d notified once more", inject.nth,
		      si.si_value.sival_int);
	for (i = 0; i < n; i++)
		ck_assert_msg(count[i] == req[i].accepted,
			      "refusing submission %u: request %u notified %u times", inject.nth, i,
			      count[i]);
}

/* The writes among req[0..n) that succeeded, one after the other, are what buf holds. */
static void check_stream(const struct request *req, unsigned n, const unsigned char *buf,
			 size_t len)
{
	size_t at = 0, k;
	unsigned i;

	for (i = 0; i < n; i++) {
		const unsigned char *data = (const unsigned char *)req[i].cb.aio_buf;

		if (req[i].cb.aio_lio_opcode != LIO_WRITE || req[i].err)
			continue;
		ck_assert_msg(at + req[i].cb.aio_nbytes <= len, "write %u is missing", i);
		for (k = 0; k < req[i].cb.aio_nbytes; k++)
			if (buf[at + k] != data[k])
				ck_abort_msg("byte %zu of write %u is '%c', expected '%c'", k, i,
					     buf[at + k], data[k]);
		at += req[i].cb.aio_nbytes;
	}
	ck_assert_uint_eq(at, len);
}

/* req[i], a write of LEN bytes 'a' + i from data (at offset 0: a stream, an append). */
static void prep_write(struct request *req, unsigned i, int fd, unsigned char *data)
{
	memset(data + i * LEN, 'a' + (int)i, LEN);
	prep_request(req, i, fd, data + i * LEN, LEN, 0);
	req[i].cb.aio_lio_opcode = LIO_WRITE;
}

static int submit(struct request *req)
{
	errno = 0;
	switch (req->cb.aio_lio_opcode) {
	case LIO_WRITE:
		return aio_write(&req->cb);
	case LIO_READ:
		return aio_read(&req->cb);
	default:
		return aio_fsync(O_SYNC, &req->cb);
	}
}

/*
 * A pipe that holds LEN bytes, full before the first request: writes
 * (of LEN, whole), reads of its write end (EBADF at once) and an fsync
 * (EINVAL: fsync(2) of a pipe), each started when the one before it
 * completes, each a submission of its own.  Refusing the nth: the stream
 * holds the other writes in order, every request ends and is notified in
 * order.  A request that started while an earlier one still ran would
 * show: the reads end at once, before a write waiting for room.
 */
START_TEST(pipe_sequence_survives_each_refusal)
{
	static const char kinds[] = "wwrwwrfw";	/* write, read, fsync */
	enum { REQS = sizeof kinds - 1 };
	static unsigned char data[REQS * LEN], got[(REQS + 1) * LEN];
	unsigned char filler[LEN], byte;
	uint32_t nth;

	block_signal(NOTE_SIG);
	memset(filler, '#', LEN);
	for (nth = 1; nth <= REQS; nth++) {
		struct request req[REQS];
		size_t want = LEN, have = 0;
		double end = now_sec() + WAIT_MS / 1000.0;
		unsigned i;
		int p[2];

		ck_assert_int_eq(pipe2(p, O_CLOEXEC), 0);
		ck_assert_int_eq(fcntl(p[1], F_SETPIPE_SZ, LEN), LEN);
		ck_assert_int_eq(write(p[1], filler, LEN), LEN);
		for (i = 0; i < REQS; i++) {
			if (kinds[i] == 'w') {
				prep_write(req, i, p[1], data);
			} else if (kinds[i] == 'r') {
				prep_request(req, i, p[1], &byte, 1, 0);
				req[i].err = EBADF;
				req[i].ret = -1;
			} else {
				prep_request(req, i, p[1], NULL, 0, 0);
				req[i].cb.aio_lio_opcode = LIO_NOP;
				req[i].err = EINVAL;
				req[i].ret = -1;
			}
		}
		refuse_submission(nth, NULL);
		for (i = 0; i < REQS; i++) {
			submitted(&req[i], submit(&req[i]), i == nth - 1);
			if (kinds[i] == 'w' && i != nth - 1)
				want += LEN;
		}
		while (have < want) {
			struct pollfd pfd = { p[0], POLLIN, 0 };
			ssize_t r;

			ck_assert_msg(now_sec() < end && poll(&pfd, 1, WAIT_MS) == 1,
				      "refusing submission %u: the pipe stalled after %zu bytes",
				      nth, have);
			r = read(p[0], got + have, want - have);
			ck_assert_int_gt(r, 0);
			have += (size_t)r;
		}
		check_requests(req, REQS, true);
		assert_refusal_happened(nth);
		ck_assert_uint_eq(drain(p[0], (char *)got + have, sizeof got - have), 0);
		ck_assert(!memcmp(got, filler, LEN));
		check_stream(req, REQS, got + LEN, have - LEN);
		close(p[0]);
		close(p[1]);
	}
}
END_TEST

/*
 * An O_APPEND file: a list of appends, an fsync, more appends, each a
 * submission of its own, started as it is queued or when the one before it
 * completes.  Refusing the nth keeps the others in order in the file, and
 * the fsync finishes.
 */
START_TEST(append_sequence_survives_each_refusal)
{
	enum { LISTED = 4, FSYNC = LISTED, REQS = 7 };
	static unsigned char data[REQS * LEN], got[REQS * LEN + 1];
	uint32_t nth;

	block_signal(NOTE_SIG);
	for (nth = 1; nth <= REQS; nth++) {
		struct request req[REQS];
		struct aiocb *list[LISTED];
		int fd = temp_file(), rc;
		ssize_t size;
		unsigned i;

		ck_assert_int_ge(fd, 0);
		ck_assert_int_eq(fcntl(fd, F_SETFL, O_APPEND), 0);
		for (i = 0; i < REQS; i++)
			prep_write(req, i, fd, data);
		prep_request(req, FSYNC, fd, NULL, 0, 0);
		req[FSYNC].cb.aio_lio_opcode = LIO_NOP;
		refuse_submission(nth, NULL);
		for (i = 0; i < LISTED; i++)
			list[i] = &req[i].cb;
		errno = 0;
		rc = lio_listio(LIO_NOWAIT, list, LISTED, NULL);
		ck_assert_msg(rc == 0 || (nth <= LISTED && errno == EAGAIN), "lio_listio: %s",
			      strerror(errno));
		if (nth <= LISTED)
			expect_refused(&req[nth - 1], rc == 0);
		for (i = LISTED; i < REQS; i++)
			submitted(&req[i], submit(&req[i]), i == nth - 1);
		check_requests(req, REQS, true);
		assert_refusal_happened(nth);
		size = pread(fd, got, sizeof got, 0);
		ck_assert_int_ge(size, 0);
		check_stream(req, REQS, got, (size_t)size);
		close(fd);
	}
}
END_TEST

/*
 * An fsync queued while a request on its fd waits to be handed to the
 * engine, which then refuses that request: the fsync must still start.  _i:
 * 0 aio_write, 1 aio_read, 2 a lio_listio batch of writes.  The hook queues
 * the fsync from within the refused submission.
 */
START_TEST(fsync_behind_refused_request_completes)
{
	enum { LISTED = 8 };
	static unsigned char buf[LISTED * LEN];
	struct request req[LISTED + 1];
	struct aiocb *list[LISTED];
	unsigned i, n = _i == 2 ? LISTED : 1;
	int fd = pattern_file(LISTED * LEN), rc;

	no_inline_reads();	/* a cached read would not be submitted */
	block_signal(NOTE_SIG);
	for (i = 0; i < n; i++) {
		prep_request(req, i, fd, buf + i * LEN, LEN, (off_t)i * LEN);
		req[i].cb.aio_lio_opcode = _i == 1 ? LIO_READ : LIO_WRITE;
		memset(buf + i * LEN, 'a' + (int)i, LEN);
		list[i] = &req[i].cb;
	}
	prep_request(req, n, fd, NULL, 0, 0);
	refuse_submission(1, &req[n].cb);
	errno = 0;
	rc = _i == 2 ? lio_listio(LIO_NOWAIT, list, LISTED, NULL) : submit(&req[0]);
	ck_assert_int_eq(rc, -1);
	ck_assert_int_eq(errno, EAGAIN);
	assert_refusal_happened(1);
	for (i = 0; i < n; i++)
		expect_refused(&req[i], false);
	check_requests(req, n + 1, false);
	/* and the fd goes on: the same request is taken now */
	prep_request(req, 0, fd, buf, LEN, 0);
	req[0].cb.aio_lio_opcode = _i == 1 ? LIO_READ : LIO_WRITE;
	ck_assert_int_eq(submit(&req[0]), 0);
	check_requests(req, 1, false);
	close(fd);
}
END_TEST

/*
 * A list of more than one batch of writes at offsets (AIO__BATCH, 64,
 * calls at a time): the refused batch's elements fail with EAGAIN, unnotified,
 * and lio_listio says EAGAIN; the other batch's are written.
 */
START_TEST(list_batch_refused_whole)
{
	enum { LISTED = 70, BATCH = 64 };
	static unsigned char data[LISTED * LEN], got[LISTED * LEN];
	static const unsigned char zero[LEN];
	static struct request req[LISTED];
	static struct aiocb *list[LISTED];
	int fds[2];
	uint32_t nth;

	block_signal(NOTE_SIG);
	for (nth = 1; nth <= 2; nth++) {
		/*
		 * A new fd number each time: a request that has reported its
		 * status may still be listed under its fd for a moment, and
		 * one at the same offset and fd number would be held behind
		 * it, then submitted on its own, not in the batch refused.
		 */
		int fd = fds[nth - 1] = temp_file();
		unsigned i, first = nth == 1 ? 0 : BATCH, last = nth == 1 ? BATCH : LISTED;

		ck_assert_int_ge(fd, 0);
		/* what a refused element would have written reads as zeros */
		ck_assert_int_eq(ftruncate(fd, sizeof got), 0);
		for (i = 0; i < LISTED; i++) {
			memset(data + i * LEN, 'A' + (int)(i % 26), LEN);
			prep_request(req, i, fd, data + i * LEN, LEN, (off_t)i * LEN);
			req[i].cb.aio_lio_opcode = LIO_WRITE;
			list[i] = &req[i].cb;
		}
		refuse_submission(nth, NULL);
		errno = 0;
		ck_assert_int_eq(lio_listio(LIO_NOWAIT, list, LISTED, NULL), -1);
		ck_assert_int_eq(errno, EAGAIN);
		assert_refusal_happened(nth);
		for (i = first; i < last; i++)
			expect_refused(&req[i], false);
		check_requests(req, LISTED, false);
		ck_assert_int_eq(pread(fd, got, sizeof got, 0), (ssize_t)sizeof got);
		for (i = 0; i < LISTED; i++)
			ck_assert_msg(!memcmp(got + i * LEN,
					      i >= first && i < last ? zero : data + i * LEN, LEN),
				      "element %u", i);
	}
	close(fds[0]);
	close(fds[1]);
}
END_TEST

/*
 * An owed read: aio_read on an fd number that a buffered file had within
 * the second, open with O_DIRECT now, tries the read at once through the
 * thread's ring, the kernel sends it to the device, and the read joins its
 * fd's list only then.  Another thread may queue writes of its bytes in
 * between (the hook plays that thread): W1, which cannot wait for a read
 * it does not see, and W2, held behind W1.  W2 must not be handed to the
 * engine before W1 has finished, whenever the read ends.  The read's end
 * used to release W2 (as if W2 had counted the read) while W1 still
 * waited for the only worker.
 */
static struct {
	int fd;
	void *w1buf, *w2buf;
	struct aiocb w1, w2;
	bool hooked;
	unsigned handed;	/* writes on fd handed to the engine (atomic) */
	bool w2_early;		/* the second one while the first was in progress (atomic) */
} owed;

/* How many writes reached the engine, and whether the second came early. */
static unsigned writes_handed(bool *early)
{
	*early = __atomic_load_n(&owed.w2_early, __ATOMIC_RELAXED);
	return __atomic_load_n(&owed.handed, __ATOMIC_RELAXED);
}

static void writes_meanwhile(void)
{
	owed.hooked = true;
	prep_aiocb(&owed.w1, owed.fd, owed.w1buf, 4096, 0);
	prep_aiocb(&owed.w2, owed.fd, owed.w2buf, 4096, 0);
	if (aio_write(&owed.w1) || aio_write(&owed.w2))
		abort();	/* no Check call inside the library */
}

static bool watch_writes(struct asys_call *const calls[], size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (calls[i]->nr == SYS_pwrite64 && (int)calls[i]->arg[0] == owed.fd &&
		    __atomic_add_fetch(&owed.handed, 1, __ATOMIC_RELAXED) == 2)
			__atomic_store_n(&owed.w2_early, aio_error(&owed.w1) == EINPROGRESS,
					 __ATOMIC_RELAXED);
	return false;
}

/*
 * path (/proc/self/fd/N of a file) opened without O_DIRECT, a read through
 * it (rtaio takes the number for a buffered file's), closed, and opened
 * again with O_DIRECT into the same number: the next read through it is
 * tried at once and, if the device does not answer inside the call, owed.
 * The fd, or -1 where the file system refuses O_DIRECT.
 */
static int reopen_direct(const char *path, void *buf)
{
	int buffered = open(path, O_RDWR | O_CLOEXEC), direct;
	struct aiocb r;

	ck_assert_int_ge(buffered, 0);
	prep_aiocb(&r, buffered, buf, 4096, 4096);
	submit_read(&r);
	wait_final(&r, WAIT_MS);
	close(buffered);
	direct = open(path, O_RDWR | O_DIRECT | O_CLOEXEC);
	if (direct < 0) {
		ck_assert_int_eq(errno, EINVAL);
		return -1;
	}
	ck_assert_int_eq(direct, buffered);
	return direct;
}

START_TEST(owed_read_starts_only_what_waited_for_it)
{
	enum { ROUNDS = 20 };
	struct blocker b;
	struct aiocb r;
	struct asys__stats before, after;
	char path[64];
	void *rbuf;
	int fd, round;
	unsigned handed;
	bool early;

	use_backend("threads");
	set_pool(1, 4);
	fd = pattern_file(1 << 20);
	ck_assert_int_eq(fdatasync(fd), 0);
	ck_assert_int_eq(posix_memalign(&rbuf, 4096, 4096), 0);
	ck_assert_int_eq(posix_memalign(&owed.w1buf, 4096, 4096), 0);
	ck_assert_int_eq(posix_memalign(&owed.w2buf, 4096, 4096), 0);
	memset(owed.w1buf, '1', 4096);
	memset(owed.w2buf, '2', 4096);
	snprintf(path, sizeof path, "/proc/self/fd/%d", fd);
	__atomic_store_n(&aio__owe_hook, writes_meanwhile, __ATOMIC_RELAXED);
	__atomic_store_n(&asys__refuse_hook, watch_writes, __ATOMIC_RELAXED);
	asys__stats(&before);
	for (round = 0; round < ROUNDS && !owed.hooked; round++) {
		owed.fd = reopen_direct(path, rbuf);
		if (owed.fd < 0) {
			printf("SKIP: no O_DIRECT on this file system\n");
			goto out;
		}
		start_blocker(&b, 1);
		prep_aiocb(&r, owed.fd, rbuf, 4096, 0);
		submit_read(&r);
		if (owed.hooked) {
			/* the device ends the read; the reaper, not the worker, finishes it */
			wait_final(&r, WAIT_MS);
			ck_assert_int_eq(aio_return(&r), 4096);
			handed = writes_handed(&early);
			ck_assert_msg(handed == 1 && !early,
				      "the owed read's end started W2 while W1 waited (%u handed)",
				      handed);
		}
		release_blocker(&b);
		wait_final(&r, WAIT_MS);
		if (!owed.hooked)
			close(owed.fd);	/* served at once, or the usual way: again */
	}
	if (!owed.hooked) {
		printf("SKIP: no read went from the ring to the device in %d rounds "
		       "(io_uring without futex operations, or a device that answers at once)\n",
		       ROUNDS);
		goto out;
	}
	wait_final(&owed.w1, WAIT_MS);
	wait_final(&owed.w2, WAIT_MS);
	assert_status(&owed.w1, 0, 4096);
	assert_status(&owed.w2, 0, 4096);
	handed = writes_handed(&early);
	ck_assert_msg(handed == 2 && !early, "W2 handed over while W1 was in progress");
	ck_assert_int_eq(pread(owed.fd, rbuf, 4096, 0), 4096);
	ck_assert_msg(!memcmp(rbuf, owed.w2buf, 4096), "the file holds W1's bytes, not W2's");
	close(owed.fd);
	asys__stats(&after);
	ck_assert_uint_gt(after.reads_owed, before.reads_owed);
	ck_assert_msg(after.owed_unwoken == before.owed_unwoken,
		      "the reaper found an owed read done with no wake-up");
out:
	__atomic_store_n(&asys__refuse_hook, NULL, __ATOMIC_RELAXED);
	__atomic_store_n(&aio__owe_hook, NULL, __ATOMIC_RELAXED);
	free(rbuf);
	free(owed.w1buf);
	free(owed.w2buf);
	close(fd);
}
END_TEST

static bool read_owed;

static void note_owed(void)
{
	__atomic_store_n(&read_owed, true, __ATOMIC_RELAXED);
}

/*
 * The reaper finishes an owed read when the kernel's wake-up after it
 * never comes (the hook leaves the FUTEX_WAKE out, loop 1, or points it at
 * another word, loop 2): the read completes all the same, with its data,
 * and the statistics count the ring found so.  The reads are large, so
 * that the reaper is asleep when the device ends one (it finishes one that
 * is done when it takes the ring without a wake-up, as it should): at
 * least one of ROUNDS must have been found so.
 */
START_TEST(owed_read_completes_without_its_wake_up)
{
	enum { ROUNDS = 20, BIG = 4 << 20, FILE_SIZE = 4 * BIG };
	struct asys__stats before, after;
	struct aiocb r;
	char path[64];
	void *rbuf;
	int fd, direct, round;

	__atomic_store_n(&read_owed, false, __ATOMIC_RELAXED);	/* CK_FORK=no runs both loops */
	fd = pattern_file(FILE_SIZE);
	ck_assert_int_eq(fdatasync(fd), 0);
	ck_assert_int_eq(posix_memalign(&rbuf, 4096, BIG), 0);
	snprintf(path, sizeof path, "/proc/self/fd/%d", fd);
	__atomic_store_n(&aio__owe_hook, note_owed, __ATOMIC_RELAXED);
	__atomic_store_n(&asys__owed_wake_lost, _i, __ATOMIC_RELAXED);
	asys__stats(&before);
	after = before;
	for (round = 0; round < ROUNDS && after.owed_unwoken == before.owed_unwoken; round++) {
		off_t off = (off_t)(round % 4) * BIG;

		direct = reopen_direct(path, rbuf);
		if (direct < 0) {
			printf("SKIP: no O_DIRECT on this file system\n");
			goto out;
		}
		prep_aiocb(&r, direct, rbuf, BIG, off);
		submit_read(&r);
		wait_final(&r, WAIT_MS);
		assert_status(&r, 0, BIG);
		ck_assert_int_eq(first_bad_byte(rbuf, (uint64_t)off, BIG), -1);
		close(direct);
		asys__stats(&after);
	}
	if (!__atomic_load_n(&read_owed, __ATOMIC_RELAXED)) {
		printf("SKIP: no read went from the ring to the device in %d rounds "
		       "(io_uring without futex operations, or a device that answers at once)\n",
		       ROUNDS);
		goto out;
	}
	printf("owed_read_completes_without_its_wake_up (%s): %lu owed reads, %lu found done "
	       "with no wake-up, in %d rounds\n", _i == 1 ? "no FUTEX_WAKE" : "another word woken",
	       after.reads_owed - before.reads_owed, after.owed_unwoken - before.owed_unwoken,
	       round);
	ck_assert_msg(after.owed_unwoken == before.owed_unwoken + 1,
		      "no owed read was found done without its wake-up in %d rounds", round);
out:
	__atomic_store_n(&asys__owed_wake_lost, 0, __ATOMIC_RELAXED);
	__atomic_store_n(&aio__owe_hook, NULL, __ATOMIC_RELAXED);
	free(rbuf);
	close(fd);
}
END_TEST

static Suite *refusals_suite(void)
{
	Suite *s = suite_create("refusals");
	TCase *tc = tcase_create("refused submissions");
	TCase *owed_reads = tcase_create("owed reads");

	tcase_add_test(tc, pipe_sequence_survives_each_refusal);
	tcase_add_test(tc, append_sequence_survives_each_refusal);
	tcase_add_loop_test(tc, fsync_behind_refused_request_completes, 0, 3);
	tcase_add_test(tc, list_batch_refused_whole);
	suite_add_tcase(s, tc);
	tcase_add_test(owed_reads, owed_read_starts_only_what_waited_for_it);
	tcase_add_loop_test(owed_reads, owed_read_completes_without_its_wake_up, 1, 3);
	suite_add_tcase(s, owed_reads);
	return s;
}

TEST_MAIN(refusals_suite)
