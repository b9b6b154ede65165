/*
 * The executor: sets a scenario's targets up, runs the peers at the other
 * end of its streams and the threads that wait in aio_suspend, carries out
 * its plan, and waits (against a deadline) for every request to finish and
 * be notified.  What each call answered goes into the scenario for
 * judge.c; what can only be checked at the moment it happens (aio_cancel's
 * answer, lio_listio(LIO_WAIT) returning, aio_suspend returning, a
 * notification arriving) is checked here.
 */
#include "model.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

enum { SLOTS = 1 << 20, DEADLINE_S = 10, NOTIFY_DEADLINE_S = 5 };

/* ---------------------------------------------------------------- notifications */

/* Notifications counted per request or list id (ids are unique in a run;
 * the slots of a scenario are cleared when it starts). */
static _Atomic unsigned char counts[SLOTS];
/* The scenario running: a notification checks that what it announces is
 * final.  Requests live in a pool kept for the whole run, so reading one
 * from a late notification is safe. */
static struct scenario *_Atomic current;
static const char *_Atomic early;
static char early_text[160];

static int notify_signal(void)
{
	return SIGRTMIN + 2;
}

static int error_of(const struct request *r)
{
	return r->large ? aio_error64(&r->u.cb64) : aio_error(&r->u.cb);
}

/* Async-signal-safe: called from the signal handler and from SIGEV_THREAD
 * functions. */
static void record(unsigned id)
{
	struct scenario *sc = atomic_load(&current);
	atomic_fetch_add(&counts[id % SLOTS], 1);
	if (!sc)
		return;
	for (int i = 0; i < sc->nreqs; i++)
		if (sc->reqs[i].id == id && error_of(&sc->reqs[i]) == EINPROGRESS) {
			const char *none = NULL;
			if (atomic_compare_exchange_strong(&early, &none, "request"))
				snprintf(early_text, sizeof early_text,
					 "request #%d was notified while aio_error still said EINPROGRESS",
					 i);
		}
	for (int l = 0; l < sc->nlists; l++) {
		if (sc->lists[l].id != id)
			continue;
		for (int m = 0; m < sc->lists[l].count; m++) {
			int i = sc->lists[l].members[m];
			if (i >= 0 && sc->reqs[i].submitted && error_of(&sc->reqs[i]) == EINPROGRESS) {
				const char *none = NULL;
				if (atomic_compare_exchange_strong(&early, &none, "list"))
					snprintf(early_text, sizeof early_text,
						 "the lio_listio list of request #%d was notified while "
						 "that request was still in progress",
						 i);
			}
		}
	}
}

static _Atomic int wrong_code;

static void on_signal(int sig, siginfo_t *si, void *uc)
{
	if (si->si_code != SI_ASYNCIO)
		atomic_store(&wrong_code, si->si_code ? si->si_code : -1000);
	record((unsigned)si->si_value.sival_int);
}

static void on_thread(union sigval v)
{
	record((unsigned)v.sival_int);
}

void notify_setup(void)
{
	struct sigaction sa = { .sa_sigaction = on_signal, .sa_flags = SA_SIGINFO | SA_RESTART };
	sigemptyset(&sa.sa_mask);
	sigaction(notify_signal(), &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
}

unsigned notified(unsigned id)
{
	return atomic_load(&counts[id % SLOTS]);
}

const char *notify_early(void)
{
	int code = atomic_load(&wrong_code);
	static char text[80];
	if (code) {
		snprintf(text, sizeof text, "a notification signal came with si_code %d, not SI_ASYNCIO",
			 code);
		return text;
	}
	return atomic_load(&early) ? early_text : NULL;
}

static void notify_reset(const struct scenario *sc)
{
	for (int i = 0; i < sc->nreqs; i++)
		atomic_store(&counts[sc->reqs[i].id % SLOTS], 0);
	for (int l = 0; l < sc->nlists; l++)
		atomic_store(&counts[sc->lists[l].id % SLOTS], 0);
}

static void fill_sigevent(struct sigevent *ev, enum notify n, unsigned id)
{
	memset(ev, 0, sizeof *ev);
	ev->sigev_value.sival_int = (int)id;
	switch (n) {
	case N_NONE:
		ev->sigev_notify = SIGEV_NONE;
		break;
	case N_SIGNAL:
		ev->sigev_notify = SIGEV_SIGNAL;
		ev->sigev_signo = notify_signal();
		break;
	case N_THREAD:
		ev->sigev_notify = SIGEV_THREAD;
		ev->sigev_notify_function = on_thread;
		break;
	}
}

/* ---------------------------------------------------------------- targets and peers */

static void wait_for_release(struct target *t)
{
	while (!atomic_load(&t->released))
		nanosleep(&(struct timespec){ 0, 1000000 }, NULL);
}

static void *peer_writer(void *arg)
{
	struct target *t = arg;
	int fd = __atomic_load_n(&t->peer_fd, __ATOMIC_ACQUIRE);
	unsigned char *chunk = malloc(t->peer_chunk);
	size_t pos = 0;
	wait_for_release(t);
	if (t->peer_delay_us)
		nanosleep(&(struct timespec){ 0, (long)t->peer_delay_us * 1000 }, NULL);
	while (chunk && pos < t->peer_bytes) {
		size_t n = t->peer_bytes - pos < t->peer_chunk ? t->peer_bytes - pos : t->peer_chunk;
		for (size_t i = 0; i < n; i++)
			chunk[i] = pattern_byte(t->salt, pos + i);
		ssize_t w = write(fd, chunk, n);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			break; /* our end was closed: the scenario is over */
		pos += (size_t)w;
		if (t->peer_pause_us)
			nanosleep(&(struct timespec){ 0, (long)t->peer_pause_us * 1000 }, NULL);
	}
	free(chunk);
	/* The end of the data: our reads past it see end of file. */
	if (t->kind == T_SOCKET) {
		shutdown(fd, SHUT_WR);
	} else {
		close(fd);
		__atomic_store_n(&t->peer_fd, -1, __ATOMIC_RELEASE);
	}
	return NULL;
}

static void *peer_reader(void *arg)
{
	struct target *t = arg;
	int fd = t->peer_fd;
	unsigned char spill[4096];
	wait_for_release(t);
	for (;;) {
		size_t room = t->received_cap - t->received_len;
		unsigned char *to = room ? t->received + t->received_len : spill;
		ssize_t n = read(fd, to, room ? room : sizeof spill);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		if (room)
			t->received_len += (size_t)n;
		else
			t->received_overflow = true;
	}
	return NULL;
}

static size_t bytes_written_to(const struct scenario *sc, int ti)
{
	size_t sum = 0;
	for (int i = 0; i < sc->nreqs; i++)
		if (sc->reqs[i].target == ti && sc->reqs[i].op == OP_WRITE)
			sum += sc->reqs[i].nbytes;
	return sum;
}

static int open_file(struct scenario *sc, struct target *t)
{
	char path[4096];
	int flags = O_RDWR | O_CLOEXEC;
	snprintf(path, sizeof path, "%s/aio-model.%d.XXXXXX", sc->dir, (int)getpid());
	int fd = mkostemp(path, O_CLOEXEC);
	if (fd < 0)
		return -1;
	unsigned char *init = malloc(t->initial_size + 1);
	for (size_t i = 0; i < t->initial_size; i++)
		init[i] = pattern_byte(t->salt, i);
	ssize_t w = t->initial_size ? pwrite(fd, init, t->initial_size, 0) : 0;
	free(init);
	if (w != (ssize_t)t->initial_size) {
		close(fd);
		unlink(path);
		return -1;
	}
	if (t->kind == T_FILE_DSYNC)
		flags |= O_DSYNC;
	else if (t->kind == T_FILE_DIRECT)
		flags |= O_DIRECT;
	else if (t->kind == T_FILE_APPEND)
		flags |= O_APPEND;
	int fd2 = open(path, flags);
	if (fd2 < 0 && t->kind == T_FILE_DIRECT) {
		/* the filesystem refuses O_DIRECT: the same requests, buffered */
		t->kind = T_FILE;
		fd2 = open(path, flags & ~O_DIRECT);
	}
	close(fd);
	unlink(path);
	return fd2;
}

static bool open_target(struct scenario *sc, int ti)
{
	struct target *t = &sc->targets[ti];
	int p[2];
	t->received = NULL;
	t->received_len = t->received_cap = 0;
	t->received_overflow = t->has_reader = t->has_writer = false;
	atomic_store(&t->released, !t->held);
	switch (t->kind) {
	case T_PIPE_IN:
	case T_PIPE_OUT:
		if (pipe2(p, O_CLOEXEC))
			return false;
		t->fd = t->kind == T_PIPE_IN ? p[0] : p[1];
		t->peer_fd = t->kind == T_PIPE_IN ? p[1] : p[0];
		break;
	case T_SOCKET:
		if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, p))
			return false;
		t->fd = p[0];
		t->peer_fd = p[1];
		break;
	case T_ZERO:
		t->fd = open("/dev/zero", O_RDONLY | O_CLOEXEC);
		break;
	default:
		t->fd = open_file(sc, t);
		break;
	}
	if (t->fd < 0)
		return false;
	t->number = t->fd;
	if (t->kind == T_PIPE_IN || t->kind == T_SOCKET)
		t->has_writer = !pthread_create(&t->writer, NULL, peer_writer, t);
	if (t->kind == T_PIPE_OUT || t->kind == T_SOCKET) {
		t->received_cap = bytes_written_to(sc, ti) + 1;
		t->received = malloc(t->received_cap);
		t->has_reader = t->received && !pthread_create(&t->reader, NULL, peer_reader, t);
	}
	return true;
}

/* ---------------------------------------------------------------- requests */

static void prepare(struct scenario *sc, struct request *r)
{
	const struct target *t = &sc->targets[r->target];
	struct aiocb *cb = &r->u.cb;
	size_t size = r->nbytes ? r->nbytes : 1;
	void *buf = NULL;
	/* aligned for O_DIRECT, and for every request alike */
	if (posix_memalign(&buf, 4096, (size + 4095) & ~(size_t)4095))
		violation(sc, "out of memory");
	r->buf = buf;
	if (r->op == OP_WRITE) {
		for (size_t i = 0; i < r->nbytes; i++)
			r->buf[i] = pattern_byte(r->id * 2654435761u ^ 0x5bd1e995u, i);
	} else {
		memset(r->buf, 0xa5, size);
	}
	memset(&r->u, 0, sizeof r->u);
	cb->aio_fildes = t->fd;
	cb->aio_offset = r->offset;
	cb->aio_buf = r->buf;
	cb->aio_nbytes = r->nbytes;
	cb->aio_lio_opcode = r->op == OP_READ ? LIO_READ : LIO_WRITE;
	fill_sigevent(&cb->aio_sigevent, r->notify, r->id);
}

static void submitted(struct request *r, int rc)
{
	r->submitted = rc == 0;
	r->submit_errno = rc ? errno : 0;
	atomic_store(&r->published, true);
}

static void submit_one(struct scenario *sc, struct request *r)
{
	int rc, op = r->op == OP_FSYNC ? O_SYNC : O_DSYNC;
	prepare(sc, r);
	if (r->large) {
		struct aiocb64 *cb = &r->u.cb64;
		rc = r->op == OP_READ ? aio_read64(cb) : r->op == OP_WRITE ? aio_write64(cb)
									   : aio_fsync64(op, cb);
	} else {
		struct aiocb *cb = &r->u.cb;
		rc = r->op == OP_READ ? aio_read(cb) : r->op == OP_WRITE ? aio_write(cb)
									 : aio_fsync(op, cb);
	}
	submitted(r, rc);
}

static void submit_list(struct scenario *sc, struct list *l)
{
	static union {
		struct aiocb cb;
		struct aiocb64 cb64;
	} nop[MAX_LIST];
	void *items[MAX_LIST];
	struct sigevent ev;
	int rc;
	for (int m = 0; m < l->count; m++) {
		if (l->members[m] < 0) {
			memset(&nop[m], 0, sizeof nop[m]);
			nop[m].cb.aio_lio_opcode = LIO_NOP;
			nop[m].cb.aio_fildes = -1;
			items[m] = &nop[m];
		} else {
			prepare(sc, &sc->reqs[l->members[m]]);
			items[m] = &sc->reqs[l->members[m]].u;
		}
	}
	/* LIO_WAIT ignores the list's sigevent: one is passed all the same,
	 * and judged never delivered. */
	fill_sigevent(&ev, l->notify, l->id);
	if (l->large)
		rc = lio_listio64(l->mode, (struct aiocb64 *const *)items, l->count, &ev);
	else
		rc = lio_listio(l->mode, (struct aiocb *const *)items, l->count, &ev);
	l->answer = rc;
	l->answer_errno = rc ? errno : 0;
	for (int m = 0; m < l->count; m++) {
		struct request *r = l->members[m] < 0 ? NULL : &sc->reqs[l->members[m]];
		if (!r)
			continue;
		/* a refused element carries its error as status */
		bool refused = rc && l->answer_errno == EAGAIN && error_of(r) == EAGAIN;
		submitted(r, refused ? -1 : 0);
		if (refused)
			r->submit_errno = EAGAIN;
		if (l->mode == LIO_WAIT && (rc == 0 || l->answer_errno == EIO) &&
		    error_of(r) == EINPROGRESS) {
			char d[256];
			describe_request(sc, r, d, sizeof d);
			violation(sc, "lio_listio(LIO_WAIT) returned %d while %s was still in progress",
				  rc, d);
		}
	}
}

static void cancel_one(struct scenario *sc, struct request *r)
{
	char d[256];
	if (!r->submitted)
		return;
	int fd = sc->targets[r->target].fd;
	int answer = r->large ? aio_cancel64(fd, &r->u.cb64) : aio_cancel(fd, &r->u.cb);
	int now = error_of(r);
	describe_request(sc, r, d, sizeof d);
	r->cancel_touched = true;
	r->cancel_answer = answer;
	if (answer == AIO_CANCELED && now != ECANCELED)
		violation(sc, "aio_cancel answered AIO_CANCELED for %s, whose aio_error is then %d (%s), "
			      "not ECANCELED", d, now, strerror(now));
	if (answer == AIO_ALLDONE && now == EINPROGRESS)
		violation(sc, "aio_cancel answered AIO_ALLDONE for %s, still EINPROGRESS", d);
	if (answer != AIO_CANCELED && answer != AIO_NOTCANCELED && answer != AIO_ALLDONE)
		violation(sc, "aio_cancel of %s answered %d (%s)", d, answer, strerror(errno));
}

static void cancel_fd(struct scenario *sc, int ti)
{
	int answer = aio_cancel(sc->targets[ti].fd, NULL);
	if (answer != AIO_CANCELED && answer != AIO_NOTCANCELED && answer != AIO_ALLDONE)
		violation(sc, "aio_cancel(fd of target %d, NULL) answered %d (%s)", ti, answer,
			  strerror(errno));
	for (int i = 0; i < sc->nreqs; i++) {
		struct request *r = &sc->reqs[i];
		if (r->target != ti || !r->submitted)
			continue;
		r->cancel_touched = true;
		if (answer == AIO_ALLDONE && error_of(r) == EINPROGRESS) {
			char d[256];
			describe_request(sc, r, d, sizeof d);
			violation(sc, "aio_cancel(fd, NULL) answered AIO_ALLDONE while %s was in progress",
				  d);
		}
	}
}

/* Close every descriptor but stdio and the scenario's own, as daemons do:
 * the library must not depend on descriptors of its own staying open. */
static void close_foreign(struct scenario *sc)
{
	int victims[256], n = 0;
	DIR *d = opendir("/proc/self/fd");
	struct dirent *e;
	if (!d)
		return;
	while ((e = readdir(d)) && n < 256) {
		int fd = atoi(e->d_name);
		bool ours = fd <= 2 || fd == dirfd(d) || e->d_name[0] == '.';
		for (int i = 0; i < sc->ntargets; i++)
			ours = ours || fd == sc->targets[i].fd ||
			       fd == __atomic_load_n(&sc->targets[i].peer_fd, __ATOMIC_ACQUIRE);
		if (!ours)
			victims[n++] = fd;
	}
	closedir(d);
	for (int i = 0; i < n; i++)
		close(victims[i]);
	sc->closed_foreign = true;
	vlog("closed %d descriptors the program did not open\n", n);
}

/* ---------------------------------------------------------------- waiting */

static void *suspend_thread(void *arg)
{
	struct waiter *w = arg;
	struct scenario *sc = w->sc;
	for (;;) {
		const void *list[MAX_REQUESTS];
		int n = 0;
		bool all_published = true;
		for (int i = 0; i < w->count; i++)
			all_published = all_published && atomic_load(&sc->reqs[w->members[i]].published);
		for (int i = 0; i < w->count; i++) {
			struct request *r = &sc->reqs[w->members[i]];
			if (atomic_load(&r->published) && r->submitted && error_of(r) == EINPROGRESS)
				list[n++] = &r->u;
		}
		if (n == 0) {
			if (all_published)
				return NULL; /* all of them finished */
			/* the rest are not submitted yet: look again shortly */
			nanosleep(&(struct timespec){ 0, 100000 }, NULL);
			continue;
		}
		struct timespec ts = { 0, w->timeout_ns };
		const struct timespec *tp = w->timeout_ns ? &ts : NULL;
		int rc = w->large ? aio_suspend64((const struct aiocb64 *const *)list, n, tp)
				  : aio_suspend((const struct aiocb *const *)list, n, tp);
		int err = errno;
		if (rc == 0) {
			bool any = false;
			for (int i = 0; i < n; i++)
				any = any || (w->large ? aio_error64(list[i]) : aio_error(list[i])) !=
						     EINPROGRESS;
			if (!any)
				violation(sc, "aio_suspend returned 0 with all %d requests of its list "
					      "in progress", n);
		} else if (!(err == EINTR || (err == EAGAIN && tp))) {
			violation(sc, "aio_suspend(%d requests, %s) failed with %s", n,
				  tp ? "timeout" : "no timeout", strerror(err));
		}
	}
}

/* Wait (against a deadline) for every request that nothing blocks: with
 * `held` false, those on targets whose peer is not held. */
static void wait_final(struct scenario *sc, bool held)
{
	long long deadline = now_ns() + DEADLINE_S * 1000000000LL;
	char holders[64] = "";
	for (int i = 0, len = 0; i < sc->ntargets && !held; i++)
		if (sc->targets[i].held)
			len += snprintf(holders + len, sizeof holders - (size_t)len, " %d", i);
	for (;;) {
		const struct aiocb *pending[MAX_REQUESTS];
		int n = 0, first = -1;
		for (int i = 0; i < sc->nreqs; i++) {
			const struct request *r = &sc->reqs[i];
			if (r->submitted && (held || !sc->targets[r->target].held) &&
			    error_of(r) == EINPROGRESS) {
				pending[n++] = &r->u.cb;
				if (first < 0)
					first = i;
			}
		}
		if (!n)
			return;
		if (now_ns() > deadline) {
			char d[256];
			bool cancels = false;
			for (int i = 0; i < sc->nreqs; i++)
				cancels = cancels || (sc->reqs[i].target == sc->reqs[first].target &&
						      sc->reqs[i].cancel_touched);
			describe_request(sc, &sc->reqs[first], d, sizeof d);
			violation(sc, "%s (and %d more) still EINPROGRESS %d s after the last submission, "
				      "though nothing in the scenario blocks it (every peer reads all "
				      "and writes all it was given%s%s)%s%s",
				  d, n - 1, DEADLINE_S, holders[0] ? ", but those of targets" : "",
				  holders[0] ? holders : "",
				  sc->closed_foreign ? "; the program had closed the descriptors it "
						       "did not open" : "",
				  opt.glibc_rules && cancels
					  ? "; requests on its descriptor were cancelled (glibc's "
					    "known defect: a cancelled request strands the later ones)"
					  : "");
		}
		aio_suspend(pending, n, &(struct timespec){ 0, 100000000 });
	}
}

static unsigned expected_notifications(const struct scenario *sc, unsigned id)
{
	for (int i = 0; i < sc->nreqs; i++)
		if (sc->reqs[i].id == id)
			return sc->reqs[i].submitted && sc->reqs[i].notify != N_NONE;
	for (int l = 0; l < sc->nlists; l++)
		if (sc->lists[l].id == id)
			return sc->lists[l].mode == LIO_NOWAIT && sc->lists[l].answer == 0 &&
			       sc->lists[l].notify != N_NONE;
	return 0;
}

static void wait_notifications(struct scenario *sc)
{
	long long deadline = now_ns() + NOTIFY_DEADLINE_S * 1000000000LL;
	for (int i = 0; i < sc->nreqs + sc->nlists; i++) {
		unsigned id = i < sc->nreqs ? sc->reqs[i].id : sc->lists[i - sc->nreqs].id;
		unsigned want = expected_notifications(sc, id);
		while (notified(id) < want && now_ns() < deadline)
			nanosleep(&(struct timespec){ 0, 200000 }, NULL);
	}
}

void execute(struct scenario *sc)
{
	sc->closed_foreign = false;
	progress("setting the targets up", 0);
	for (int i = 0; i < sc->ntargets; i++)
		if (!open_target(sc, i))
			violation(sc, "cannot set target %d (%s) up: %s", i,
				  target_name(sc->targets[i].kind), strerror(errno));
	notify_reset(sc);
	atomic_store(&current, sc);
	for (int w = 0; w < sc->nwaiters; w++)
		if (pthread_create(&sc->waiters[w].thread, NULL, suspend_thread, &sc->waiters[w]))
			violation(sc, "cannot create a suspend thread");
	for (int a = 0; a < sc->nactions; a++) {
		const struct action *ac = &sc->actions[a];
		static const char *const what[] = {
			[A_SUBMIT] = "submitting a request", [A_LIST] = "lio_listio",
			[A_CANCEL] = "aio_cancel of a request", [A_CANCEL_FD] = "aio_cancel(fd, NULL)",
			[A_PAUSE] = "a pause", [A_CLOSE_FOREIGN] = "closing descriptors",
		};
		progress(what[ac->kind], a);
		switch (ac->kind) {
		case A_SUBMIT:
			submit_one(sc, &sc->reqs[ac->arg]);
			break;
		case A_LIST:
			submit_list(sc, &sc->lists[ac->arg]);
			break;
		case A_CANCEL:
			cancel_one(sc, &sc->reqs[ac->arg]);
			break;
		case A_CANCEL_FD:
			cancel_fd(sc, ac->arg);
			break;
		case A_PAUSE:
			nanosleep(&(struct timespec){ 0, ac->arg * 1000L }, NULL);
			break;
		case A_CLOSE_FOREIGN:
			close_foreign(sc);
			break;
		}
	}
	progress("waiting for the requests that no held peer blocks", 0);
	wait_final(sc, false);
	for (int i = 0; i < sc->ntargets; i++)
		atomic_store(&sc->targets[i].released, true);
	progress("waiting for every request to finish", 0);
	wait_final(sc, true);
	progress("joining the aio_suspend threads", 0);
	for (int w = 0; w < sc->nwaiters; w++) {
		struct timespec until;
		clock_gettime(CLOCK_REALTIME, &until);
		until.tv_sec += NOTIFY_DEADLINE_S;
		if (pthread_timedjoin_np(sc->waiters[w].thread, NULL, &until))
			violation(sc, "suspend thread %d still waits in aio_suspend %d s after every "
				      "request it waits for finished", w, NOTIFY_DEADLINE_S);
	}
	for (int i = 0; i < sc->nreqs; i++) {
		struct request *r = &sc->reqs[i];
		if (!r->submitted)
			continue;
		r->status = error_of(r);
		r->ret = r->large ? aio_return64(&r->u.cb64) : aio_return(&r->u.cb);
	}
	progress("waiting for the notifications", 0);
	wait_notifications(sc);
	progress("ending the streams and joining their peers", 0);
	/* End the streams: the peers see end of file, or a closed pipe. */
	for (int i = 0; i < sc->ntargets; i++) {
		struct target *t = &sc->targets[i];
		if (t->kind == T_SOCKET)
			shutdown(t->fd, SHUT_WR);
		if (t->kind == T_PIPE_OUT || t->kind == T_PIPE_IN) {
			close(t->fd);
			t->fd = -1;
		}
		if (t->has_reader)
			pthread_join(t->reader, NULL);
		if (t->kind == T_SOCKET) {
			close(t->fd);
			t->fd = -1;
		}
		if (t->has_writer)
			pthread_join(t->writer, NULL);
		if (t->peer_fd >= 0)
			close(t->peer_fd);
		t->peer_fd = -1;
	}
}

void teardown(struct scenario *sc)
{
	atomic_store(&current, NULL);
	for (int i = 0; i < sc->ntargets; i++) {
		struct target *t = &sc->targets[i];
		if (t->fd >= 0)
			close(t->fd);
		t->fd = -1;
		free(t->received);
		t->received = NULL;
	}
	for (int i = 0; i < sc->nreqs; i++) {
		free(sc->reqs[i].buf);
		sc->reqs[i].buf = NULL;
	}
}
