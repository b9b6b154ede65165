/*
 * The generator: a scenario from (seed, scenario number) alone, so that a
 * seed replays the same programs (their timing varies, their content not).
 */
#include "model.h"

#include <stdio.h>
#include <string.h>

uint64_t rng_next(struct rng *r)
{
	/* splitmix64: good enough, and one word of state */
	uint64_t z = (r->s += 0x9e3779b97f4a7c15ULL);
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

uint64_t rng_below(struct rng *r, uint64_t n)
{
	return n ? rng_next(r) % n : 0;
}

bool rng_chance(struct rng *r, unsigned pct)
{
	return rng_below(r, 100) < pct;
}

unsigned char pattern_byte(uint32_t salt, uint64_t pos)
{
	uint64_t z = (pos + 1) * 0x9e3779b97f4a7c15ULL ^ (uint64_t)salt * 0xbf58476d1ce4e5b9ULL;
	return (unsigned char)((z ^ (z >> 29) ^ (z >> 47)) & 0xff);
}

static const char *const kind_names[] = {
	[T_FILE] = "file", [T_FILE_DSYNC] = "file(O_DSYNC)", [T_FILE_DIRECT] = "file(O_DIRECT)",
	[T_FILE_APPEND] = "file(O_APPEND)", [T_PIPE_IN] = "pipe(we read)",
	[T_PIPE_OUT] = "pipe(we write)", [T_SOCKET] = "stream socket", [T_ZERO] = "/dev/zero",
};

const char *target_name(enum target_kind k)
{
	return kind_names[k];
}

bool is_stream(enum target_kind k)
{
	return k == T_PIPE_IN || k == T_PIPE_OUT || k == T_SOCKET;
}

bool is_file(enum target_kind k)
{
	return k <= T_FILE_APPEND;
}

enum { FILE_CAP = 8 << 20, STREAM_WRITE_CAP = 1 << 20, PEER_CAP = 4 << 20, ALIGN = 4096 };

static size_t random_size(struct rng *r, size_t cap)
{
	size_t n;
	unsigned c = (unsigned)rng_below(r, 100);
	if (c < 8)
		n = 0;
	else if (c < 38)
		n = 1 + rng_below(r, 512);
	else if (c < 70)
		n = 512 + rng_below(r, 64 << 10);
	else if (c < 92)
		n = (64 << 10) + rng_below(r, 448 << 10);
	else
		n = (512 << 10) + rng_below(r, 3 << 20);
	return n < cap ? n : cap;
}

static void setup_target(struct rng *r, struct target *t)
{
	static const enum target_kind kinds[] = { T_FILE, T_FILE, T_FILE_DSYNC, T_FILE_DIRECT,
		T_FILE_APPEND, T_PIPE_IN, T_PIPE_OUT, T_SOCKET, T_SOCKET, T_ZERO };
	memset(t, 0, sizeof *t);
	t->kind = kinds[rng_below(r, sizeof kinds / sizeof kinds[0])];
	t->fd = t->peer_fd = t->number = -1;
	t->salt = (uint32_t)rng_next(r);
	if (is_file(t->kind)) {
		t->initial_size = rng_chance(r, 20) ? 0 : random_size(r, 2 << 20);
		if (t->kind == T_FILE_DIRECT)
			t->initial_size -= t->initial_size % ALIGN;
	}
	t->peer_delay_us = rng_chance(r, 25) ? (unsigned)rng_below(r, 100000) : 0;
	t->peer_chunk = rng_chance(r, 30) ? 1 + (unsigned)rng_below(r, 4096)
					  : 4096 + (unsigned)rng_below(r, 256 << 10);
	t->peer_pause_us = rng_chance(r, 20) ? (unsigned)rng_below(r, 2000) : 0;
}

static enum op random_op(struct rng *r, enum target_kind k, bool in_list)
{
	unsigned c = (unsigned)rng_below(r, 100);
	switch (k) {
	case T_PIPE_IN:
	case T_ZERO:
		return OP_READ;
	case T_PIPE_OUT:
		return OP_WRITE;
	case T_SOCKET:
		return c < 50 ? OP_READ : OP_WRITE;
	case T_FILE_APPEND:
		return in_list || c < 85 ? OP_WRITE : (c < 93 ? OP_FSYNC : OP_DSYNC);
	default:
		if (in_list || c < 90)
			return c % 2 ? OP_READ : OP_WRITE;
		return c < 95 ? OP_FSYNC : OP_DSYNC;
	}
}

static enum notify random_notify(struct rng *r)
{
	unsigned c = (unsigned)rng_below(r, 100);
	return c < 40 ? N_NONE : c < 75 ? N_SIGNAL : N_THREAD;
}

/* A file request's bytes: near the end of the file, overlapping an earlier
 * request on it, or anywhere in it. */
static void place_in_file(struct rng *r, struct scenario *sc, struct request *q,
			  size_t *planned_size)
{
	const struct target *t = &sc->targets[q->target];
	size_t cap = FILE_CAP - *planned_size > (4u << 20) ? 4u << 20 : FILE_CAP - *planned_size;
	size_t n = random_size(r, cap), off;
	unsigned c = (unsigned)rng_below(r, 100);
	const struct request *prev = NULL;
	for (int i = sc->nreqs - 1; i >= 0; i--)
		if (sc->reqs[i].target == q->target && sc->reqs[i].op <= OP_WRITE) {
			prev = &sc->reqs[i];
			break;
		}
	if (c < 35 && prev) {
		size_t back = (size_t)rng_below(r, prev->nbytes / 2 + 1);
		off = (size_t)prev->offset + (size_t)rng_below(r, prev->nbytes + 1);
		off = off > back ? off - back : 0;
	} else if (c < 65) {
		size_t d = (size_t)rng_below(r, 8192);
		off = rng_chance(r, 50) ? *planned_size + d : (*planned_size > d ? *planned_size - d : 0);
	} else {
		off = (size_t)rng_below(r, *planned_size + 1);
	}
	if (off > FILE_CAP - n)
		off = FILE_CAP - n;
	if (t->kind == T_FILE_DIRECT) {
		off -= off % ALIGN;
		n -= n % ALIGN;
	}
	q->offset = (off_t)off;
	q->nbytes = n;
	if (q->op == OP_WRITE && off + n > *planned_size)
		*planned_size = off + n;
}

static int new_request(struct rng *r, struct scenario *sc, unsigned *next_id, bool in_list,
		       size_t *planned)
{
	struct request *q = &sc->reqs[sc->nreqs];
	int ti = (int)rng_below(r, (uint64_t)sc->ntargets);
	const struct target *t = &sc->targets[ti];
	memset(q, 0, offsetof(struct request, published));
	atomic_store(&q->published, false);
	q->id = (*next_id)++;
	q->index = (unsigned)sc->nreqs;
	q->target = ti;
	q->op = random_op(r, t->kind, in_list);
	q->large = rng_chance(r, 30);
	q->notify = random_notify(r);
	q->list = -1;
	q->cancel_answer = -2;
	if (q->op >= OP_FSYNC) {
		q->nbytes = 0;
	} else if (is_file(t->kind)) {
		place_in_file(r, sc, q, &planned[ti]);
	} else {
		q->nbytes = random_size(r, STREAM_WRITE_CAP);
		if (q->op == OP_READ && t->kind != T_ZERO)
			sc->targets[ti].peer_bytes += q->nbytes;
	}
	return sc->nreqs++;
}

void generate(struct scenario *sc, struct request *pool)
{
	/* ids of requests and lists: unique in a run, and the same when the
	 * scenario is replayed alone (they seed the data written) */
	unsigned ids = sc->number * IDS_PER_SCENARIO + 1, *next_id = &ids;
	struct rng r = { sc->seed ^ (0xd1b54a32d192ed03ULL * (sc->number + 1)) };
	size_t planned[MAX_TARGETS];
	int want = 1 + (int)rng_below(&r, rng_chance(&r, 70) ? 16 : MAX_REQUESTS - MAX_LIST);
	bool close_foreign = opt.close_foreign && rng_chance(&r, 10);

	sc->reqs = pool;
	sc->nreqs = sc->nlists = sc->nactions = sc->nwaiters = 0;
	sc->ntargets = 1 + (int)rng_below(&r, MAX_TARGETS);
	for (int i = 0; i < sc->ntargets; i++) {
		setup_target(&r, &sc->targets[i]);
		planned[i] = sc->targets[i].initial_size;
	}
	while (sc->nreqs < want && sc->nactions < MAX_ACTIONS - 2) {
		struct action *a = &sc->actions[sc->nactions++];
		unsigned c = (unsigned)rng_below(&r, 100);
		if (c < 58) {
			a->kind = A_SUBMIT;
			a->arg = new_request(&r, sc, next_id, false, planned);
		} else if (c < 73) {
			struct list *l = &sc->lists[sc->nlists];
			int n = 1 + (int)rng_below(&r, MAX_LIST);
			a->kind = A_LIST;
			a->arg = sc->nlists++;
			l->mode = rng_chance(&r, 50) ? LIO_WAIT : LIO_NOWAIT;
			l->large = rng_chance(&r, 30);
			l->notify = random_notify(&r);
			l->id = (*next_id)++;
			l->count = 0;
			for (int i = 0; i < n && sc->nreqs < MAX_REQUESTS; i++) {
				int m = rng_chance(&r, 15) ? -1 : new_request(&r, sc, next_id, true, planned);
				if (m >= 0) {
					sc->reqs[m].list = a->arg;
					sc->reqs[m].large = l->large;
				}
				l->members[l->count++] = m;
			}
		} else if (c < 83 && sc->nreqs) {
			a->kind = A_CANCEL;
			a->arg = (int)rng_below(&r, (uint64_t)sc->nreqs);
		} else if (c < 86 && sc->nreqs) {
			a->kind = A_CANCEL_FD;
			a->arg = (int)rng_below(&r, (uint64_t)sc->ntargets);
		} else {
			a->kind = A_PAUSE;
			a->arg = (int)rng_below(&r, rng_chance(&r, 80) ? 200 : 20000);
		}
		if (opt.no_cancel && (a->kind == A_CANCEL || a->kind == A_CANCEL_FD)) {
			/* the same random draws, so the rest of the scenario is unchanged */
			a->kind = A_PAUSE;
			a->arg = 0;
		}
		if (close_foreign && sc->nreqs && rng_chance(&r, 20)) {
			sc->actions[sc->nactions++].kind = A_CLOSE_FOREIGN;
			close_foreign = false;
		}
	}
	for (int i = 0; i < sc->ntargets; i++) {
		struct target *t = &sc->targets[i];
		/* the peer writes less than, as much as, or more than is read */
		t->peer_bytes = t->peer_bytes * (1 + rng_below(&r, 3)) / 2;
		if (t->peer_bytes > PEER_CAP)
			t->peer_bytes = PEER_CAP;
	}
	/* Drawn from a stream of their own, so that adding them changed no
	 * earlier scenario; never a target with a request in a LIO_WAIT list,
	 * which would wait for ever for the peer that waits for it. */
	struct rng hold = { r.s ^ 0x6a09e667f3bcc909ULL };
	for (int i = 0; i < sc->ntargets; i++) {
		struct target *t = &sc->targets[i];
		t->held = is_stream(t->kind) && rng_chance(&hold, 15);
		for (int q = 0; q < sc->nreqs; q++)
			if (sc->reqs[q].target == i && sc->reqs[q].list >= 0 &&
			    sc->lists[sc->reqs[q].list].mode == LIO_WAIT)
				t->held = false;
	}
	sc->nwaiters = (int)rng_below(&r, MAX_WAITERS + 1);
	for (int w = 0; w < sc->nwaiters; w++) {
		struct waiter *wt = &sc->waiters[w];
		wt->count = 0;
		for (int i = 0; i < sc->nreqs; i++)
			if (rng_chance(&r, 50))
				wt->members[wt->count++] = i;
		wt->timeout_ns = rng_chance(&r, 50) ? 0 : 1 + (long)rng_below(&r, 50000000);
		wt->large = rng_chance(&r, 30);
		wt->sc = sc;
	}
}

static const char *const op_names[2][4] = {
	{ "aio_read", "aio_write", "aio_fsync(O_SYNC)", "aio_fsync(O_DSYNC)" },
	{ "aio_read64", "aio_write64", "aio_fsync64(O_SYNC)", "aio_fsync64(O_DSYNC)" },
};
static const char *const notify_names[] = { "SIGEV_NONE", "SIGEV_SIGNAL", "SIGEV_THREAD" };

void describe_request(const struct scenario *sc, const struct request *r, char *out, size_t len)
{
	const struct target *t = &sc->targets[r->target];
	char where[64] = "", fd[24] = "";
	if (t->number >= 0)
		snprintf(fd, sizeof fd, " fd %d", t->number);
	if (is_file(t->kind) && r->op <= OP_WRITE && t->kind != T_FILE_APPEND)
		snprintf(where, sizeof where, " at offset %lld", (long long)r->offset);
	snprintf(out, len, "request #%u (%s on target %d, %s%s: %zu bytes%s, %s%s)", r->index,
		 op_names[r->large][r->op], r->target, target_name(t->kind), fd, r->nbytes, where,
		 notify_names[r->notify], r->list >= 0 ? ", in a lio_listio list" : "");
}

void print_plan(const struct scenario *sc)
{
	char d[256];
	printf("scenario %u of seed %llu: %d targets, %d requests, %d suspend threads\n",
	       sc->number, (unsigned long long)sc->seed, sc->ntargets, sc->nreqs, sc->nwaiters);
	for (int i = 0; i < sc->ntargets; i++) {
		const struct target *t = &sc->targets[i];
		printf("  target %d: %s, initial size %zu, peer writes %zu bytes (late %u us, "
		       "chunks %u, pauses %u us)%s\n",
		       i, target_name(t->kind), t->initial_size, t->peer_bytes, t->peer_delay_us,
		       t->peer_chunk, t->peer_pause_us,
		       t->held ? ", peer held until the other targets' requests finished" : "");
	}
	for (int i = 0; i < sc->nactions; i++) {
		const struct action *a = &sc->actions[i];
		printf("  [%d]", i);
		switch (a->kind) {
		case A_SUBMIT:
			describe_request(sc, &sc->reqs[a->arg], d, sizeof d);
			printf(" submit %s\n", d);
			break;
		case A_LIST: {
			const struct list *l = &sc->lists[a->arg];
			printf(" lio_listio%s(%s, %d elements, list %s):\n", l->large ? "64" : "",
			       l->mode == LIO_WAIT ? "LIO_WAIT" : "LIO_NOWAIT", l->count,
			       notify_names[l->notify]);
			for (int m = 0; m < l->count; m++) {
				if (l->members[m] < 0) {
					printf("      LIO_NOP\n");
					continue;
				}
				describe_request(sc, &sc->reqs[l->members[m]], d, sizeof d);
				printf("      %s\n", d);
			}
			break;
		}
		case A_CANCEL:
			printf(" aio_cancel of request #%d\n", a->arg);
			break;
		case A_CANCEL_FD:
			printf(" aio_cancel of every request on target %d\n", a->arg);
			break;
		case A_PAUSE:
			printf(" pause %d us\n", a->arg);
			break;
		case A_CLOSE_FOREIGN:
			printf(" close every descriptor the program did not open\n");
			break;
		}
	}
	for (int w = 0; w < sc->nwaiters; w++)
		printf("  suspend thread %d: %d requests, timeout %ld ns\n", w, sc->waiters[w].count,
		       sc->waiters[w].timeout_ns);
}
