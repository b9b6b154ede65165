/*
 * The judge: once every request of a scenario has finished, was each
 * outcome one that POSIX and rtaio's documented rules (man/rtaio.7,
 * "Order of requests on a file descriptor") allow?
 *
 * - Every request: an error only where the synchronous call could fail
 *   (none of the generated requests can), ECANCELED only after an
 *   aio_cancel named it or its descriptor, aio_return -1 exactly with an
 *   error, notified exactly once as its sigevent says (a lio_listio list
 *   with LIO_NOWAIT too, with LIO_WAIT never).
 * - Files: requests on overlapping bytes of one descriptor take effect in
 *   submission order (generate.c sends through a file's second descriptor
 *   only requests that conflict with none through the first), and writes through O_APPEND go in submission order;
 *   so the final content is the initial one with every completed write
 *   applied in submission order, and a read sees every earlier write on
 *   its bytes and no later one.  Only the size of the file may differ for
 *   a read: a write elsewhere (earlier or later) may or may not have
 *   extended it yet.
 * - Streams: a write on a blocking descriptor is whole (short only if it
 *   was cancelled while running, which io_uring can do); the peer received
 *   exactly the completed writes, in submission order; the reads, in
 *   submission order, return consecutive pieces of what the peer wrote,
 *   and end of file only after all of it.
 * - Datagram socketpairs: each read takes the next datagram (up to
 *   aio_nbytes of it; a read of nothing takes none), each write sends
 *   one, whole; the peer received exactly the completed writes', in
 *   submission order.  A pty is judged as a stream.
 * - A pipe whose peer never reads, then closes: the writes took at most
 *   what the pipe holds, and once one ended short or with EPIPE every
 *   later one (of a byte or more) failed with EPIPE.
 * - /dev/zero: reads are whole (short only if cancelled while running) and
 *   zero.
 * - SIGEV_THREAD functions: every one returned (or ended its thread), none
 *   waited in vain for a later request's function (execute.c reports what
 *   a function or a fork child met); a follow-up that a function submitted
 *   is judged like the others.
 * - lio_listio(LIO_WAIT) fails with EINTR only after a handler installed
 *   without SA_RESTART.
 */
#include "model.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static const char *errname(int e)
{
	return e == 0 ? "0" : strerror(e);
}

static void fail_request(const struct scenario *sc, const struct request *r, const char *expected,
			 const char *seen_extra)
{
	char d[256];
	describe_request(sc, r, d, sizeof d);
	violation(sc, "%s:\n  expected: %s\n  seen: aio_error %d (%s), aio_return %zd%s", d, expected,
		  r->status, errname(r->status), r->ret, seen_extra);
}

static void judge_status(const struct scenario *sc, const struct request *r)
{
	unsigned got = notified(r->id);
	char extra[96];
	if (r->parent >= 0 && !atomic_load(&r->published))
		return; /* its function never ran: the parent's notification is judged */
	if (!r->submitted) {
		/* the only legal refusal of these requests: no resources */
		if (r->submit_errno != EAGAIN) {
			snprintf(extra, sizeof extra, "; submission failed with %s",
				 strerror(r->submit_errno));
			fail_request(sc, r, "accepted (a valid request on a valid descriptor)", extra);
		}
		return;
	}
	snprintf(extra, sizeof extra, "; notified %u times", got);
	if (!notified_as_allowed(r->notify, r->notify != N_NONE, got))
		fail_request(sc, r, r->notify == N_NONE ? "no notification (SIGEV_NONE)"
							: "notified exactly once, cancelled or not",
			     extra);
	if (r->notify == N_THREAD && atomic_load(&r->call) != CALL_RETURNED)
		fail_request(sc, r, "its SIGEV_THREAD function returned (or ended its thread)",
			     "; its function is still running, seconds after every request finished");
	if (r->status == ECANCELED) {
		if (!r->cancel_touched)
			fail_request(sc, r, "ECANCELED only after an aio_cancel of it or its descriptor",
				     "");
		if (r->ret != -1)
			fail_request(sc, r, "aio_return -1 with ECANCELED", "");
		return;
	}
	if (r->status == EPIPE && sc->targets[r->target].never_reads)
		return; /* judge_unread_pipe */
	if (r->status != 0)
		fail_request(sc, r, "success: the synchronous call could not have failed", "");
	if (r->ret < 0 || (size_t)r->ret > r->nbytes)
		fail_request(sc, r, "aio_return between 0 and aio_nbytes", "");
}

static bool completed_write(const struct request *r)
{
	return r->submitted && r->op == OP_WRITE && r->status == 0;
}

static bool completed_read(const struct request *r)
{
	return r->submitted && r->op == OP_READ && r->status == 0;
}

/* The bytes a file held: its initial content, grown by the writes applied. */
struct image {
	unsigned char *bytes;
	size_t size, cap;
};

static void image_write(struct image *im, size_t off, const unsigned char *src, size_t n)
{
	if (n == 0)
		return; /* pwrite(2) of nothing does not extend the file */
	if (off + n > im->cap) {
		im->cap = (off + n) * 2;
		im->bytes = realloc(im->bytes, im->cap);
	}
	if (off > im->size)
		memset(im->bytes + im->size, 0, off - im->size);
	memcpy(im->bytes + off, src, n);
	if (off + n > im->size)
		im->size = off + n;
}

static bool overlaps(size_t a, size_t an, size_t b, size_t bn)
{
	return a < b + bn && b < a + an;
}

/* May a write elsewhere have made the file end at off + ret for this read? */
static bool size_explained(const struct scenario *sc, const struct request *rd, size_t end)
{
	for (int i = 0; i < sc->nreqs; i++) {
		const struct request *w = &sc->reqs[i];
		size_t wend = (size_t)w->offset + (size_t)w->ret;
		if (w->target != rd->target || !completed_write(w) || w->ret <= 0 ||
		    overlaps((size_t)w->offset, w->nbytes, (size_t)rd->offset, rd->nbytes))
			continue;
		if (wend == end || (wend >= end && end == (size_t)rd->offset + rd->nbytes))
			return true;
	}
	return false;
}

static void judge_read_of_file(const struct scenario *sc, const struct request *r,
			       const struct image *im)
{
	const struct target *t = &sc->targets[r->target];
	size_t off = (size_t)r->offset, ret = (size_t)r->ret;
	/* Only the earlier writes on its bytes surely ran before it. */
	size_t size = t->initial_size;
	for (unsigned i = 0; i < r->index; i++) {
		const struct request *w = &sc->reqs[i];
		size_t wend = (size_t)w->offset + (size_t)w->ret;
		if (w->target == r->target && completed_write(w) && w->ret > 0 &&
		    overlaps((size_t)w->offset, w->nbytes, off, r->nbytes) && wend > size)
			size = wend;
	}
	size_t least = size > off ? size - off : 0;
	char extra[160];
	if (least > r->nbytes)
		least = r->nbytes;
	if (ret != least && !(ret > least && size_explained(sc, r, off + ret))) {
		snprintf(extra, sizeof extra,
			 "; the file held %zu bytes after the earlier writes on these bytes", size);
		fail_request(sc, r, "aio_return as pread(2) would give, after every earlier write "
				    "on these bytes",
			     extra);
	}
	for (size_t i = 0; i < ret; i++) {
		unsigned char want = off + i < im->size ? im->bytes[off + i] : 0;
		if (r->buf[i] != want) {
			snprintf(extra, sizeof extra,
				 "; byte %zu (file offset %zu) is 0x%02x, not 0x%02x", i, off + i,
				 r->buf[i], want);
			fail_request(sc, r, "the bytes that every earlier write on them left, and no "
					    "later write's",
				     extra);
		}
	}
}

static void judge_file(const struct scenario *sc, int ti)
{
	const struct target *t = &sc->targets[ti];
	struct image im = { malloc(t->initial_size + 1), t->initial_size, t->initial_size + 1 };
	for (size_t i = 0; i < t->initial_size; i++)
		im.bytes[i] = pattern_byte(t->salt, i);
	for (int i = 0; i < sc->nreqs; i++) {
		const struct request *r = &sc->reqs[i];
		if (r->target != ti)
			continue;
		if (completed_write(r))
			image_write(&im, t->kind == T_FILE_APPEND ? im.size : (size_t)r->offset, r->buf,
				    (size_t)r->ret);
		else if (completed_read(r))
			judge_read_of_file(sc, r, &im);
		if (completed_write(r) && (size_t)r->ret != r->nbytes)
			fail_request(sc, r, "a whole write to a regular file", "");
	}
	/* the final content, through a descriptor of its own (no O_DIRECT) */
	char path[64];
	snprintf(path, sizeof path, "/proc/self/fd/%d", t->fd);
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	struct stat st;
	if (fd < 0 || fstat(fd, &st))
		violation(sc, "cannot reopen target %d: %s", ti, strerror(errno));
	if ((size_t)st.st_size != im.size)
		violation(sc, "target %d (%s): the file ends at %lld bytes; the writes in submission "
			      "order make it %zu bytes",
			  ti, target_name(t->kind), (long long)st.st_size, im.size);
	unsigned char *got = malloc(im.size + 1);
	if (pread(fd, got, im.size, 0) != (ssize_t)im.size)
		violation(sc, "cannot read target %d back", ti);
	close(fd);
	for (size_t i = 0; i < im.size; i++) {
		if (got[i] == im.bytes[i])
			continue;
		int last = -1; /* the last completed write on that byte */
		for (int k = 0; k < sc->nreqs; k++) {
			const struct request *w = &sc->reqs[k];
			if (w->target == ti && completed_write(w) && t->kind != T_FILE_APPEND &&
			    overlaps((size_t)w->offset, w->nbytes, i, 1))
				last = k;
		}
		violation(sc, "target %d (%s): byte %zu of the final file is 0x%02x, not 0x%02x%s%d%s",
			  ti, target_name(t->kind), i, got[i], im.bytes[i],
			  last >= 0 ? " (written last by request #" : " (",
			  last >= 0 ? last : 0,
			  last >= 0 ? ", in submission order)" : "initial content)");
	}
	free(got);
	free(im.bytes);
}

static void judge_stream_reads(const struct scenario *sc, int ti)
{
	const struct target *t = &sc->targets[ti];
	size_t pos = 0;
	char extra[160];
	for (int i = 0; i < sc->nreqs; i++) {
		const struct request *r = &sc->reqs[i];
		if (r->target != ti || !completed_read(r))
			continue;
		if (r->ret == 0 && r->nbytes && pos < t->peer_bytes) {
			snprintf(extra, sizeof extra, "; the reads before it took %zu of the %zu bytes "
						      "the peer wrote",
				 pos, t->peer_bytes);
			fail_request(sc, r, "data (end of file only after all the peer wrote)", extra);
		}
		for (size_t k = 0; k < (size_t)r->ret; k++)
			if (r->buf[k] != pattern_byte(t->salt, pos + k)) {
				snprintf(extra, sizeof extra,
					 "; its byte %zu is 0x%02x, not stream byte %zu (0x%02x)", k,
					 r->buf[k], pos + k, pattern_byte(t->salt, pos + k));
				fail_request(sc, r, "the next bytes of the stream, the reads taking "
						    "them in submission order",
					     extra);
			}
		pos += (size_t)r->ret;
	}
}

static void judge_stream_writes(const struct scenario *sc, int ti)
{
	const struct target *t = &sc->targets[ti];
	size_t pos = 0;
	char extra[200];
	for (int i = 0; i < sc->nreqs; i++) {
		const struct request *r = &sc->reqs[i];
		if (r->target != ti || !completed_write(r))
			continue;
		/* glibc's worker thread returns short when a stop or the cgroup
		 * freezer ends its wait in write(2) (man/rtaio.7, NOTES) */
		if ((size_t)r->ret != r->nbytes && !r->cancel_touched && !opt.glibc_rules)
			fail_request(sc, r, "a whole write (the descriptor blocks; write(2) would "
					    "have written it all)",
				     "");
		for (size_t k = 0; k < (size_t)r->ret; k++) {
			if (pos + k < t->received_len && t->received[pos + k] == r->buf[k])
				continue;
			snprintf(extra, sizeof extra,
				 "; the peer received %zu bytes in all, and its byte %zu is not this "
				 "request's byte %zu (the completed writes before it hold %zu bytes)",
				 t->received_len, pos + k, k, pos);
			fail_request(sc, r, "its data on the stream right after that of the completed "
					    "writes submitted before it",
				     extra);
		}
		pos += (size_t)r->ret;
	}
	if (t->received_len != pos || t->received_overflow)
		violation(sc, "target %d (%s): the peer received %s%zu bytes, the completed writes "
			      "hold %zu",
			  ti, target_name(t->kind), t->received_overflow ? "more than " : "",
			  t->received_len, pos);
}

static void judge_datagram_reads(const struct scenario *sc, int ti)
{
	const struct target *t = &sc->targets[ti];
	char extra[160];
	int k = 0; /* the next datagram */
	for (int i = 0; i < sc->nreqs; i++) {
		const struct request *r = &sc->reqs[i];
		if (r->target != ti || !completed_read(r))
			continue;
		if (!r->nbytes) {
			if (r->ret)
				fail_request(sc, r, "0 (a read of nothing takes no datagram)", "");
			continue;
		}
		size_t want = k < t->ndgrams && t->dgram_sizes[k] < r->nbytes ? t->dgram_sizes[k]
									 : r->nbytes;
		snprintf(extra, sizeof extra, "; the reads before it took %d of the %d datagrams, the "
					      "next one has %u bytes",
			 k, t->ndgrams, k < t->ndgrams ? t->dgram_sizes[k] : 0);
		if (k == t->ndgrams || (size_t)r->ret != want)
			fail_request(sc, r, "the next datagram (up to aio_nbytes of it), the reads "
					    "taking one each in submission order",
				     extra);
		for (size_t b = 0; b < want; b++)
			if (r->buf[b] != dgram_byte(t, k, b))
				fail_request(sc, r, "the bytes of the next datagram, the reads taking one "
						    "each in submission order",
					     extra);
		k++;
	}
}

static void judge_datagram_writes(const struct scenario *sc, int ti)
{
	const struct target *t = &sc->targets[ti];
	size_t pos = 0;
	int k = 0; /* the datagram the peer received for the next completed write */
	char extra[160];
	for (int i = 0; i < sc->nreqs; i++) {
		const struct request *r = &sc->reqs[i];
		if (r->target != ti || !completed_write(r))
			continue;
		snprintf(extra, sizeof extra, "; the peer received %d datagrams, the completed writes "
					      "before it sent %d",
			 t->nreceived, k);
		if ((size_t)r->ret != r->nbytes)
			fail_request(sc, r, "a whole datagram", "");
		if (k == t->nreceived || t->received_sizes[k] != r->nbytes ||
		    memcmp(t->received + pos, r->buf, r->nbytes))
			fail_request(sc, r, "its datagram received right after those of the completed "
					    "writes submitted before it",
				     extra);
		pos += r->nbytes;
		k++;
	}
	if (k != t->nreceived || t->received_overflow)
		violation(sc, "target %d (%s): the peer received %s%d datagrams, the completed writes "
			      "sent %d",
			  ti, target_name(t->kind), t->received_overflow ? "more than " : "",
			  t->nreceived, k);
}

/* A pipe whose peer never read and then closed its end: the writes took
 * what the pipe holds at most, in submission order, and those blocked on
 * it then ended (short, or with EPIPE); none after them wrote a byte. */
static void judge_unread_pipe(const struct scenario *sc, int ti)
{
	const struct target *t = &sc->targets[ti];
	size_t taken = 0;
	int ended = -1; /* the first write that ended short or with EPIPE */
	char extra[160];
	for (int i = 0; i < sc->nreqs; i++) {
		const struct request *r = &sc->reqs[i];
		if (r->target != ti || !r->submitted || r->status == ECANCELED)
			continue;
		snprintf(extra, sizeof extra, "; request #%d before it ended short or with EPIPE",
			 ended);
		if (ended >= 0 && r->nbytes && r->status != EPIPE)
			fail_request(sc, r, "EPIPE (an earlier write found the pipe closed)", extra);
		if (r->status == 0)
			taken += (size_t)r->ret;
		if (r->status == EPIPE || (r->status == 0 && (size_t)r->ret < r->nbytes &&
					   !r->cancel_touched))
			ended = ended < 0 ? i : ended;
	}
	if (taken > (size_t)t->pipe_size)
		violation(sc, "target %d (%s, its peer never read): the writes took %zu bytes, the "
			      "pipe holds %d",
			  ti, target_name(t->kind), taken, t->pipe_size);
}

static void judge_zero(const struct scenario *sc, const struct request *r)
{
	if (!completed_read(r))
		return;
	/* rtaio's io_uring backend interrupts a running device read that
	 * aio_cancel names: like read(2) interrupted by a signal, it returns
	 * what it had read (man/rtaio.7, Cancellation; aio_cancel(3)).  A
	 * stop cuts glibc's read short, as its writes to streams. */
	if ((size_t)r->ret != r->nbytes && !r->cancel_touched && !opt.glibc_rules)
		fail_request(sc, r, "a whole read of /dev/zero", "");
	for (size_t k = 0; k < (size_t)r->ret; k++)
		if (r->buf[k])
			fail_request(sc, r, "zeros from /dev/zero", "");
}

void judge(const struct scenario *sc)
{
	const char *early = notify_early(), *failure = function_failure();
	if (failure)
		violation(sc, "%s", failure);
	if (early)
		violation(sc, "%s", early);
	for (int i = 0; i < sc->nreqs; i++) {
		judge_status(sc, &sc->reqs[i]);
		if (sc->targets[sc->reqs[i].target].kind == T_ZERO)
			judge_zero(sc, &sc->reqs[i]);
	}
	for (int l = 0; l < sc->nlists; l++) {
		const struct list *li = &sc->lists[l];
		unsigned want = li->mode == LIO_NOWAIT && li->answer == 0 && li->notify != N_NONE;
		if (!notified_as_allowed(li->notify, want, notified(li->id)))
			violation(sc, "the lio_listio(%s) list #%d was notified %u times, expected %u%s",
				  li->mode == LIO_WAIT ? "LIO_WAIT" : "LIO_NOWAIT", l, notified(li->id),
				  want, li->mode == LIO_WAIT ? " (LIO_WAIT ignores the sigevent)" : "");
		if (li->answer && li->answer_errno != EINTR && li->answer_errno != EAGAIN &&
		    li->answer_errno != EIO)
			violation(sc, "lio_listio list #%d failed with %s", l,
				  strerror(li->answer_errno));
		if (li->answer && li->answer_errno == EINTR && sc->signals == SIG_RESTART)
			violation(sc, "lio_listio(LIO_WAIT) list #%d failed with EINTR, though the "
				      "signal's handler was installed with SA_RESTART", l);
	}
	for (int ti = 0; ti < sc->ntargets; ti++) {
		enum target_kind k = sc->targets[ti].kind;
		if (is_file(k))
			judge_file(sc, ti);
		if (k == T_PIPE_IN || k == T_SOCKET || k == T_PTY)
			judge_stream_reads(sc, ti);
		if (sc->targets[ti].never_reads)
			judge_unread_pipe(sc, ti);
		else if (k == T_PIPE_OUT || k == T_SOCKET || k == T_PTY)
			judge_stream_writes(sc, ti);
		if (k == T_DGRAM) {
			judge_datagram_reads(sc, ti);
			judge_datagram_writes(sc, ti);
		}
	}
}

void print_outcomes(const struct scenario *sc)
{
	for (int i = 0; i < sc->nreqs; i++) {
		const struct request *r = &sc->reqs[i];
		static const char *const answers[] = { [AIO_CANCELED] = "AIO_CANCELED",
			[AIO_NOTCANCELED] = "AIO_NOTCANCELED", [AIO_ALLDONE] = "AIO_ALLDONE" };
		const char *answer = r->cancel_answer >= 0 ? answers[r->cancel_answer]
				   : r->cancel_touched ? "(its fd's)" : NULL;
		if (r->submitted)
			printf("  #%d: aio_error %d, aio_return %zd, notified %u%s%s\n", i, r->status,
			       r->ret, notified(r->id), answer ? ", aio_cancel answered " : "",
			       answer ? answer : "");
		else
			printf("  #%d: refused: %s\n", i, strerror(r->submit_errno));
	}
}
