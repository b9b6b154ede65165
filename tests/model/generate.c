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
	[T_DGRAM] = "datagram socket", [T_PTY] = "pty",
};

const char *target_name(enum target_kind k)
{
	return kind_names[k];
}

bool is_stream(enum target_kind k)
{
	return k == T_PIPE_IN || k == T_PIPE_OUT || both_ways(k);
}

bool both_ways(enum target_kind k)
{
	return k == T_SOCKET || k == T_DGRAM || k == T_PTY;
}

unsigned char dgram_byte(const struct target *t, int k, size_t i)
{
	return pattern_byte(t->salt ^ (uint32_t)(k + 1) * 0x9e3779b9u, i);
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
	t->fd = t->peer_fd = t->number = t->fd2 = t->number2 = -1;
	t->buffered_fd = t->direct_fd = -1;
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

/* The next request of the scenario, on target ti, with nothing chosen yet. */
static struct request *blank_request(struct scenario *sc, int ti, unsigned *next_id)
{
	struct request *q = &sc->reqs[sc->nreqs];
	memset(q, 0, offsetof(struct request, published));
	atomic_store(&q->published, false);
	atomic_store(&q->reaped, false);
	atomic_store(&q->call, CALL_NONE);
	atomic_store(&q->submit_ns, 0);
	q->u = &q->own;
	q->id = (*next_id)++;
	q->index = (unsigned)sc->nreqs;
	q->target = ti;
	q->list = q->parent = q->reuses = -1;
	q->cancel_answer = -2;
	return q;
}

static int new_request(struct rng *r, struct scenario *sc, unsigned *next_id, bool in_list,
		       size_t *planned)
{
	int ti = (int)rng_below(r, (uint64_t)sc->ntargets);
	const struct target *t = &sc->targets[ti];
	struct request *q = blank_request(sc, ti, next_id);
	q->op = random_op(r, t->kind, in_list);
	q->large = rng_chance(r, 30);
	q->notify = random_notify(r);
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

static void insert_action(struct scenario *sc, int at, enum action_kind kind, int arg)
{
	memmove(&sc->actions[at + 1], &sc->actions[at],
		(size_t)(sc->nactions - at) * sizeof sc->actions[0]);
	sc->actions[at] = (struct action){ kind, arg };
	sc->nactions++;
}

/* A later request with a notification for r's function to wait for: the
 * next one with SIGEV_THREAD (chains of functions waiting for functions),
 * else any; -1 if there is none. */
static int later_notified(const struct scenario *sc, int r, bool thread_only)
{
	for (int i = r + 1; i < sc->nplanned; i++)
		if (sc->reqs[i].notify == N_THREAD)
			return i;
	for (int i = r + 1; i < sc->nplanned && !thread_only; i++)
		if (sc->reqs[i].notify != N_NONE)
			return i;
	return -1;
}

/* A follow-up read for the function of request `parent` to submit: of
 * bytes of a file that no write of the scenario touches (so that what it
 * reads does not depend on when it runs), or of /dev/zero; -1 if the
 * scenario has no such target. */
static int follow_up(struct rng *r, struct scenario *sc, int parent, unsigned *next_id)
{
	int ti = (int)rng_below(r, (uint64_t)sc->ntargets);
	const struct target *t = &sc->targets[ti];
	if (sc->nreqs == POOL_REQUESTS ||
	    !(t->kind == T_ZERO || (is_file(t->kind) && t->kind != T_FILE_APPEND)))
		return -1;
	struct request *q = blank_request(sc, ti, next_id);
	q->op = OP_READ;
	q->large = rng_chance(r, 30);
	q->notify = rng_chance(r, 50) ? N_NONE : N_SIGNAL;
	q->parent = parent;
	q->nbytes = random_size(r, 256 << 10);
	if (is_file(t->kind)) {
		size_t off = (size_t)rng_below(r, t->initial_size + 8192);
		if (t->kind == T_FILE_DIRECT) {
			off -= off % ALIGN;
			q->nbytes -= q->nbytes % ALIGN;
		}
		for (int i = 0; i < sc->nplanned; i++) {
			const struct request *w = &sc->reqs[i];
			if (w->target == ti && w->op == OP_WRITE &&
			    (size_t)w->offset < off + q->nbytes && off < (size_t)w->offset + w->nbytes)
				off = FILE_CAP; /* past every write: end of file */
		}
		q->offset = (off_t)off;
	}
	return sc->nreqs++;
}

/* What each SIGEV_THREAD function does.  One scenario in six makes chains:
 * every function waits for the next SIGEV_THREAD request's. */
static void choose_functions(struct rng *r, struct scenario *sc, unsigned *next_id)
{
	bool chains = rng_chance(r, 16);
	for (int i = 0; i < sc->nplanned; i++) {
		struct request *q = &sc->reqs[i];
		unsigned c = (unsigned)rng_below(r, 100);
		if (q->notify != N_THREAD)
			continue;
		q->fn = F_COUNT;
		q->fn_arg = -1;
		if (chains || (c >= 30 && c < 50)) {
			q->fn = F_WAIT;
			q->fn_arg = later_notified(sc, i, chains);
		} else if (c < 30) {
			q->fn = F_BLOCK;
			q->fn_arg = (int)rng_below(r, 20000);
		} else if (c < 62) {
			q->fn = F_EXIT;
		} else if (c < 80) {
			q->fn = F_SUBMIT;
			q->fn_arg = follow_up(r, sc, i, next_id);
		} else if (c < 90) {
			q->fn = F_FORK;
		}
		if (q->fn_arg < 0 && (q->fn == F_WAIT || q->fn == F_SUBMIT))
			q->fn = F_COUNT;
		if (q->fn == F_FORK && !opt.fork)
			q->fn = F_COUNT;
	}
}

/* Some requests are submitted with the aiocb of an earlier request (alone,
 * on a descriptor whose peer is not held), once the program has waited for
 * it and called aio_return. */
static void reuse_aiocbs(struct rng *r, struct scenario *sc)
{
	int last = -1;
	for (int a = 0; a < sc->nactions; a++) {
		if (sc->actions[a].kind != A_SUBMIT)
			continue;
		int k = sc->actions[a].arg;
		if (last >= 0 && rng_chance(r, 12)) {
			sc->reqs[k].reuses = last;
			sc->reqs[k].u = sc->reqs[last].u;
			insert_action(sc, a++, A_REAP, last);
		}
		last = sc->targets[sc->reqs[k].target].held ? -1 : k;
	}
}

/* glibc's aio_suspend may crash when a listed aiocb is reaped and submitted
 * again before the waiting thread looks (man/rtaio.7, NOTES, 9): under
 * glibc, suspend threads leave out the requests whose aiocb is reused. */
static void keep_waiters_off_reused_aiocbs(struct scenario *sc)
{
	for (int w = 0; w < sc->nwaiters; w++) {
		struct waiter *wt = &sc->waiters[w];
		int kept = 0;
		for (int m = 0; m < wt->count; m++) {
			bool reused = false;
			for (int q = 0; q < sc->nreqs; q++)
				reused = reused || sc->reqs[q].reuses == wt->members[m];
			if (!reused)
				wt->members[kept++] = wt->members[m];
		}
		wt->count = kept;
	}
}

/* A datagram for a read of n bytes (n > 0): as long, shorter, or longer
 * (the read then takes its first n bytes and the rest is lost). */
static unsigned dgram_size(struct rng *r, size_t n)
{
	unsigned c = (unsigned)rng_below(r, 100);
	if (c < 40)
		return (unsigned)n;
	if (c < 70)
		return 1 + (unsigned)rng_below(r, n);
	return (unsigned)(n + rng_below(r, DGRAM_MAX - n + 1));
}

/* Some stream socketpairs become datagram socketpairs (requests of at most
 * DGRAM_MAX, writes of at least a byte; a datagram for each read) or ptys
 * (whose peer writes at least what the reads take: a pty has no end of
 * file). */
static void convert_sockets(struct rng *r, struct scenario *sc)
{
	for (int ti = 0; ti < sc->ntargets; ti++) {
		struct target *t = &sc->targets[ti];
		unsigned c = (unsigned)rng_below(r, 100);
		size_t reads = 0;
		if (t->kind != T_SOCKET || c >= 55 || (c >= 30 && !opt.pty))
			continue;
		t->kind = c < 30 ? T_DGRAM : T_PTY;
		t->ndgrams = 0;
		for (int i = 0; i < sc->nplanned; i++) {
			struct request *q = &sc->reqs[i];
			if (q->target != ti)
				continue;
			if (t->kind == T_DGRAM && q->nbytes > DGRAM_MAX)
				q->nbytes = DGRAM_MAX;
			if (t->kind == T_DGRAM && q->op == OP_WRITE && !q->nbytes)
				q->nbytes = 1;
			if (q->op != OP_READ)
				continue;
			reads += q->nbytes;
			if (t->kind == T_DGRAM && q->nbytes)
				t->dgram_sizes[t->ndgrams++] = dgram_size(r, q->nbytes);
		}
		t->peer_bytes = t->kind == T_PTY ? reads + (size_t)rng_below(r, 4096) : 0;
	}
}

/* Some pipes we write get a peer that never reads (and closes its end once
 * the requests on the other targets have finished): never one with a
 * request that the program waits for before that (in a LIO_WAIT list, or
 * reaped to reuse its aiocb). */
static void choose_unread_pipes(struct rng *r, struct scenario *sc)
{
	for (int ti = 0; ti < sc->ntargets; ti++) {
		struct target *t = &sc->targets[ti];
		t->never_reads = t->kind == T_PIPE_OUT && rng_chance(r, 20);
		for (int a = 0; a < sc->nactions && t->never_reads; a++) {
			const struct action *ac = &sc->actions[a];
			t->never_reads = !(ac->kind == A_REAP && sc->reqs[ac->arg].target == ti);
		}
		for (int i = 0; i < sc->nplanned && t->never_reads; i++) {
			const struct request *q = &sc->reqs[i];
			t->never_reads = !(q->target == ti && q->list >= 0 &&
					   sc->lists[q->list].mode == LIO_WAIT);
		}
		t->held = t->held || t->never_reads;
	}
}

/* Would two requests on one file conflict (overlap, one of them writing)? */
static bool conflict(const struct request *a, const struct request *b)
{
	return (a->op == OP_WRITE || b->op == OP_WRITE) && a->op <= OP_WRITE &&
	       b->op <= OP_WRITE && a->nbytes && b->nbytes &&
	       (size_t)a->offset < (size_t)b->offset + b->nbytes &&
	       (size_t)b->offset < (size_t)a->offset + a->nbytes;
}

/* Some files are opened twice, and some of their requests go through the
 * second descriptor: those that conflict with none that stay on the first
 * (rtaio.7: different descriptors are independent, even of one file), so
 * that the file's content is judged over both as over one.  Not O_APPEND,
 * whose writes through two descriptors interleave in any order. */
static void choose_second_fds(struct rng *r, struct scenario *sc)
{
	for (int ti = 0; ti < sc->ntargets; ti++) {
		struct target *t = &sc->targets[ti];
		t->two_fds = is_file(t->kind) && t->kind != T_FILE_APPEND && rng_chance(r, 25);
		for (int i = 0; i < sc->nplanned && t->two_fds; i++) {
			struct request *q = &sc->reqs[i];
			bool alone = q->target == ti && rng_chance(r, 50);
			for (int k = 0; k < sc->nreqs && alone; k++)
				alone = k == i || sc->reqs[k].target != ti || sc->reqs[k].second ||
				       !conflict(q, &sc->reqs[k]);
			q->second = alone;
		}
	}
}

/* Does action a submit a read of target ti? */
static bool reads_target(const struct scenario *sc, const struct action *a, int ti)
{
	if (a->kind == A_SUBMIT)
		return sc->reqs[a->arg].target == ti && sc->reqs[a->arg].op == OP_READ;
	for (int m = 0; a->kind == A_LIST && m < sc->lists[a->arg].count; m++) {
		int q = sc->lists[a->arg].members[m];
		if (q >= 0 && sc->reqs[q].target == ti && sc->reqs[q].op == OP_READ)
			return true;
	}
	return false;
}

/* Half the O_DIRECT files are disguised: the library saw their number as
 * a buffered file's just before their first request, and again just before
 * up to two of the actions that submit reads of them.  A program does that
 * when it closes a file and opens another, or the same one with O_DIRECT,
 * into its number, or when it sets O_DIRECT with F_SETFL; the library's
 * stale answer must cost it time, never data nor progress. */
static void choose_disguises(struct rng *r, struct scenario *sc)
{
	for (int ti = 0; ti < sc->ntargets; ti++) {
		struct target *t = &sc->targets[ti];
		t->disguised = t->kind == T_FILE_DIRECT && rng_chance(r, 50);
		for (int n = t->disguised ? (int)rng_below(r, 3) : 0; n > 0; n--) {
			int reads[MAX_ACTIONS], nreads = 0;
			for (int a = 0; a < sc->nactions; a++)
				if (reads_target(sc, &sc->actions[a], ti))
					reads[nreads++] = a;
			if (nreads)
				insert_action(sc, reads[rng_below(r, (uint64_t)nreads)], A_DISGUISE, ti);
		}
	}
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
	while (sc->nreqs < want && sc->nactions < PLAN_ACTIONS - 2) {
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
	sc->nplanned = sc->nreqs;
	/* the later additions, from a stream of their own too */
	struct rng more = { r.s ^ 0xbb67ae8584caa73bULL };
	sc->signals = rng_chance(&more, 80) ? SIG_NONE
		    : rng_chance(&more, 50) ? SIG_RESTART : SIG_INTERRUPT;
	if (sc->signals == SIG_INTERRUPT && !opt.interrupt_lio_wait)
		sc->signals = SIG_RESTART;
	choose_functions(&more, sc, next_id);
	reuse_aiocbs(&more, sc);
	if (opt.glibc_rules)
		keep_waiters_off_reused_aiocbs(sc);
	if (rng_chance(&more, 12) && opt.fork)
		insert_action(sc, (int)rng_below(&more, (uint64_t)sc->nactions + 1), A_FORK, 0);
	struct rng kinds = { more.s ^ 0x3c6ef372fe94f82bULL };
	convert_sockets(&kinds, sc);
	choose_unread_pipes(&kinds, sc);
	choose_second_fds(&kinds, sc);
	struct rng disguises = { kinds.s ^ 0xa54ff53a5f1d36f1ULL };
	if (opt.disguise)
		choose_disguises(&disguises, sc);
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
	if (r->second && t->number2 >= 0)
		snprintf(fd, sizeof fd, " second fd %d", t->number2);
	else if (r->second)
		snprintf(fd, sizeof fd, " second fd");
	else if (t->number >= 0)
		snprintf(fd, sizeof fd, " fd %d", t->number);
	if (is_file(t->kind) && r->op <= OP_WRITE && t->kind != T_FILE_APPEND)
		snprintf(where, sizeof where, " at offset %lld", (long long)r->offset);
	static const char *const functions[] = {
		[F_COUNT] = "", [F_BLOCK] = " that blocks", [F_EXIT] = " that calls pthread_exit",
		[F_FORK] = " that forks",
	};
	char fn[48] = "", how[48] = "";
	if (r->notify == N_THREAD && r->fn == F_WAIT)
		snprintf(fn, sizeof fn, " that waits for request #%d's", r->fn_arg);
	else if (r->notify == N_THREAD && r->fn == F_SUBMIT)
		snprintf(fn, sizeof fn, " that submits request #%d", r->fn_arg);
	else if (r->notify == N_THREAD)
		snprintf(fn, sizeof fn, "%s", functions[r->fn]);
	if (r->list >= 0)
		snprintf(how, sizeof how, ", in a lio_listio list");
	else if (r->parent >= 0)
		snprintf(how, sizeof how, ", by request #%d's function", r->parent);
	else if (r->reuses >= 0)
		snprintf(how, sizeof how, ", with request #%d's aiocb", r->reuses);
	snprintf(out, len, "request #%u (%s on target %d, %s%s: %zu bytes%s, %s%s%s)", r->index,
		 op_names[r->large][r->op], r->target, target_name(t->kind), fd, r->nbytes, where,
		 notify_names[r->notify], fn, how);
}

void print_plan(const struct scenario *sc)
{
	static const char *const signals[] = {
		[SIG_NONE] = "", [SIG_RESTART] = ", signals (SA_RESTART) while they wait",
		[SIG_INTERRUPT] = ", signals (no SA_RESTART) while they wait",
	};
	char d[320];
	printf("scenario %u of seed %llu: %d targets, %d requests, %d suspend threads%s\n",
	       sc->number, (unsigned long long)sc->seed, sc->ntargets, sc->nreqs, sc->nwaiters,
	       signals[sc->signals]);
	for (int i = 0; i < sc->ntargets; i++) {
		const struct target *t = &sc->targets[i];
		char what[32];
		if (t->kind == T_DGRAM)
			snprintf(what, sizeof what, "%d datagrams", t->ndgrams);
		else
			snprintf(what, sizeof what, "%zu bytes", t->peer_bytes);
		printf("  target %d: %s%s%s, initial size %zu, peer writes %s (late %u us, "
		       "chunks %u, pauses %u us)%s\n",
		       i, target_name(t->kind), t->two_fds ? " opened twice" : "",
		       t->disguised ? ", its number a buffered file's first" : "", t->initial_size,
		       what, t->peer_delay_us,
		       t->peer_chunk, t->peer_pause_us,
		       t->never_reads ? ", peer never reads and closes its end once the other "
					"targets' requests finished"
		       : t->held      ? ", peer held until the other targets' requests finished"
				      : "");
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
		case A_REAP:
			printf(" wait for request #%d and aio_return it\n", a->arg);
			break;
		case A_FORK:
			printf(" fork: the child does AIO of its own and exits\n");
			break;
		case A_DISGUISE:
			printf(" target %d's number is a buffered file's for a moment\n", a->arg);
			break;
		}
	}
	for (int i = sc->nplanned; i < sc->nreqs; i++) {
		describe_request(sc, &sc->reqs[i], d, sizeof d);
		printf("  follow-up %s\n", d);
	}
	for (int w = 0; w < sc->nwaiters; w++)
		printf("  suspend thread %d: %d requests, timeout %ld ns\n", w, sc->waiters[w].count,
		       sc->waiters[w].timeout_ns);
}
