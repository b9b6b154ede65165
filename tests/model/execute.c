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
#include <poll.h>
#include <pty.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

/* A waiting SIGEV_THREAD function gives up after WAIT_S, the functions
 * must all have returned FUNCTIONS_S after the last request finished, a
 * fork child after CHILD_S: all within the watchdog's HANG_S. */
enum { SLOTS = 1 << 20, DEADLINE_S = 10, NOTIFY_DEADLINE_S = 5, WAIT_S = 8, FUNCTIONS_S = 10,
       CHILD_S = 5 };

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

int fd_of(const struct scenario *sc, const struct request *r)
{
	return r->second ? sc->targets[r->target].fd2 : sc->targets[r->target].fd;
}

int error_of(const struct request *r)
{
	return r->large ? aio_error64(&r->u->cb64) : aio_error(&r->u->cb);
}

/* Still in progress, as far as the program may ask: a reaped request's
 * aiocb may carry another request by now. */
static bool in_progress(const struct request *r)
{
	return !atomic_load(&r->reaped) && error_of(r) == EINPROGRESS;
}

/* Async-signal-safe: called from the signal handler and from SIGEV_THREAD
 * functions.  look: whether to ask aio_error if the notification came
 * early; not from glibc's handler, where aio_error takes a lock that the
 * interrupted thread may be taking (man/rtaio.7, NOTES, 10). */
static void record(unsigned id, bool look)
{
	struct scenario *sc = atomic_load(&current);
	atomic_fetch_add(&counts[id % SLOTS], 1);
	if (!sc || !look)
		return;
	for (int i = 0; i < sc->nreqs; i++)
		/* reaped is set before the aiocb is reused: read after the status,
		 * it tells an EINPROGRESS of the next request from this one's */
		if (sc->reqs[i].id == id && error_of(&sc->reqs[i]) == EINPROGRESS &&
		    !atomic_load(&sc->reqs[i].reaped)) {
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
	record((unsigned)si->si_value.sival_int, !opt.glibc_rules);
}

/* ---------------------------------------------------------------- SIGEV_THREAD functions, fork children */

static char failure_text[400];
static _Atomic bool failure_claimed, failure_ready;

static void function_failed(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void function_failed(const char *fmt, ...)
{
	bool no = false;
	va_list ap;
	if (!atomic_compare_exchange_strong(&failure_claimed, &no, true))
		return; /* the first one only */
	va_start(ap, fmt);
	vsnprintf(failure_text, sizeof failure_text, fmt, ap);
	va_end(ap);
	atomic_store(&failure_ready, true);
}

const char *function_failure(void)
{
	return atomic_load(&failure_ready) ? failure_text : NULL;
}

enum child_status { CHILD_OK, CHILD_SETUP, CHILD_SUBMIT, CHILD_HUNG, CHILD_WRONG, CHILD_INHERITED };

/* Wait (against a deadline) for a request of the executor's own: a fork
 * child's, or a disguise's. */
static bool own_wait(struct aiocb *cb, long long deadline)
{
	const struct aiocb *one[1] = { cb };
	while (aio_error(cb) == EINPROGRESS) {
		if (now_ns() > deadline)
			return false;
		aio_suspend(one, 1, &(struct timespec){ 0, 10000000 });
	}
	return true;
}

/* In a fork child: an aio_read of /dev/zero and an aio_write to a pipe of
 * its own must work, whatever the parent had in flight; under rtaio's rules
 * (man/rtaio.7, fork), none of the parent's requests is in progress in the
 * child.  The status for _exit. */
static int child_aio(const struct scenario *sc)
{
	static unsigned char buf[4096], back[512];
	long long deadline = now_ns() + (CHILD_S - 1) * 1000000000LL;
	struct aiocb cb;
	int p[2];
	for (int i = 0; i < sc->nreqs && opt.rtaio_rules; i++)
		if (atomic_load(&sc->reqs[i].published) && sc->reqs[i].submitted &&
		    in_progress(&sc->reqs[i]))
			return CHILD_INHERITED;
	memset(&cb, 0, sizeof cb);
	memset(buf, 0xa5, sizeof buf);
	cb.aio_fildes = open("/dev/zero", O_RDONLY | O_CLOEXEC);
	if (cb.aio_fildes < 0 || pipe(p))
		return CHILD_SETUP;
	cb.aio_buf = buf;
	cb.aio_nbytes = sizeof buf;
	cb.aio_sigevent.sigev_notify = SIGEV_NONE;
	if (aio_read(&cb))
		return CHILD_SUBMIT;
	if (!own_wait(&cb, deadline))
		return CHILD_HUNG;
	if (aio_return(&cb) != (ssize_t)sizeof buf || buf[0] || memcmp(buf, buf + 1, sizeof buf - 1))
		return CHILD_WRONG;
	cb.aio_fildes = p[1];
	cb.aio_nbytes = sizeof back;
	if (aio_write(&cb))
		return CHILD_SUBMIT;
	if (!own_wait(&cb, deadline))
		return CHILD_HUNG;
	if (aio_return(&cb) != (ssize_t)sizeof back || read(p[0], back, sizeof back) != sizeof back ||
	    memcmp(back, buf, sizeof back))
		return CHILD_WRONG;
	return CHILD_OK;
}

/* Fork a child that runs child_aio; false, with what went wrong in why, if
 * it did not exit 0 within CHILD_S. */
static bool fork_child(const struct scenario *sc, char *why, size_t len)
{
	static const char *const texts[] = {
		[CHILD_SETUP] = "could not open /dev/zero or make a pipe",
		[CHILD_SUBMIT] = "had its own aio_read or aio_write refused",
		[CHILD_HUNG] = "saw its own aio_read of /dev/zero or aio_write to a pipe still "
			       "EINPROGRESS after seconds",
		[CHILD_WRONG] = "got a wrong aio_return or wrong data from its own request",
		[CHILD_INHERITED] = "saw one of the parent's requests EINPROGRESS (rtaio's child "
				    "starts with none)",
	};
	long long deadline = now_ns() + CHILD_S * 1000000000LL;
	int st;
	pid_t pid = fork(), got;
	if (pid == 0)
		_exit(child_aio(sc));
	if (pid < 0) {
		snprintf(why, len, "fork failed: %s", strerror(errno));
		return false;
	}
	while ((got = waitpid(pid, &st, WNOHANG)) == 0 || (got < 0 && errno == EINTR)) {
		if (now_ns() > deadline) {
			kill(pid, SIGKILL);
			waitpid(pid, &st, 0);
			snprintf(why, len, "the child had not exited %d s after the fork (stuck in "
					   "its own aio_read of /dev/zero or aio_write to a pipe)",
				 CHILD_S);
			return false;
		}
		nanosleep(&(struct timespec){ 0, 1000000 }, NULL);
	}
	if (got == pid && WIFEXITED(st) && WEXITSTATUS(st) == CHILD_OK)
		return true;
	if (got == pid && WIFEXITED(st) && WEXITSTATUS(st) < sizeof texts / sizeof texts[0])
		snprintf(why, len, "the child %s", texts[WEXITSTATUS(st)]);
	else
		snprintf(why, len, "the child ended with wait status 0x%x", got == pid ? st : -1);
	return false;
}

static struct request *request_of(struct scenario *sc, unsigned id)
{
	for (int i = 0; i < sc->nreqs; i++)
		if (sc->reqs[i].id == id)
			return &sc->reqs[i];
	return NULL; /* a lio_listio list's */
}

static void submit_one(struct scenario *sc, struct request *r);

/* Has the later request's notification done all it does: its function
 * returned, its signal was handled (or it was refused and has none; or,
 * where signals merge, it finished and its signal may be lost)? */
static bool notification_over(const struct request *later)
{
	if (atomic_load(&later->published) && !later->submitted)
		return true;
	if (later->notify == N_THREAD)
		return atomic_load(&later->call) == CALL_RETURNED;
	return notified(later->id) > 0 ||
	       (opt.signals_merge && atomic_load(&later->published) && !in_progress(later));
}

/* F_WAIT: for the notification of a later request to be over. */
static void wait_for_notification(const struct scenario *sc, const struct request *r)
{
	const struct request *later = &sc->reqs[r->fn_arg];
	long long deadline = now_ns() + WAIT_S * 1000000000LL;
	while (!notification_over(later)) {
		if (now_ns() > deadline) {
			function_failed("the SIGEV_THREAD function of request #%u waited %d s for %s "
					"of request #%u, in vain (no notification may wait for "
					"another's function to return)",
					r->index, WAIT_S,
					later->notify == N_THREAD ? "the SIGEV_THREAD function"
								  : "the notification",
					later->index);
			return;
		}
		nanosleep(&(struct timespec){ 0, 200000 }, NULL);
	}
}

static void call_function(struct scenario *sc, struct request *r)
{
	char why[200];
	switch (r->fn) {
	case F_COUNT:
		break;
	case F_BLOCK:
		nanosleep(&(struct timespec){ 0, r->fn_arg * 1000L }, NULL);
		break;
	case F_WAIT:
		wait_for_notification(sc, r);
		break;
	case F_EXIT:
		atomic_store(&r->call, CALL_RETURNED);
		pthread_exit(NULL);
	case F_SUBMIT:
		submit_one(sc, &sc->reqs[r->fn_arg]);
		break;
	case F_FORK:
		if (!fork_child(sc, why, sizeof why))
			function_failed("the SIGEV_THREAD function of request #%u forked: %s", r->index,
					why);
		break;
	}
	atomic_store(&r->call, CALL_RETURNED);
}

static void on_thread(union sigval v)
{
	unsigned id = (unsigned)v.sival_int;
	struct scenario *sc = atomic_load(&current);
	struct request *r = sc ? request_of(sc, id) : NULL;
	if (r)
		atomic_store(&r->call, CALL_RUNNING);
	record(id, true);
	if (r && r->notify == N_THREAD)
		call_function(sc, r);
}

/* ---------------------------------------------------------------- signals while waiting */

static _Atomic unsigned interruptions;

static void on_interrupt(int sig)
{
	(void)sig;
	atomic_fetch_add(&interruptions, 1);
}

static int interrupt_signal(void)
{
	return SIGRTMIN + 3;
}

struct signaller {
	struct scenario *sc;
	pthread_t main, thread;
	_Atomic bool stop;
};

/* Interrupts the main thread (in lio_listio with LIO_WAIT, aio_suspend)
 * and the suspend threads, every few hundred microseconds. */
static void *signaller(void *arg)
{
	struct signaller *s = arg;
	while (!atomic_load(&s->stop)) {
		pthread_kill(s->main, interrupt_signal());
		for (int w = 0; w < s->sc->nwaiters; w++)
			pthread_kill(s->sc->waiters[w].thread, interrupt_signal());
		nanosleep(&(struct timespec){ 0, 300000 }, NULL);
	}
	return NULL;
}

static void start_signals(struct scenario *sc, struct signaller *s)
{
	struct sigaction sa = { .sa_handler = on_interrupt };
	if (sc->signals == SIG_NONE)
		return;
	sa.sa_flags = sc->signals == SIG_RESTART ? SA_RESTART : 0;
	sigemptyset(&sa.sa_mask);
	sigaction(interrupt_signal(), &sa, NULL);
	s->sc = sc;
	s->main = pthread_self();
	atomic_store(&s->stop, false);
	if (pthread_create(&s->thread, NULL, signaller, s))
		violation(sc, "cannot create the signalling thread");
}

static void stop_signals(const struct scenario *sc, struct signaller *s)
{
	if (sc->signals == SIG_NONE)
		return;
	atomic_store(&s->stop, true);
	pthread_join(s->thread, NULL);
	vlog("%u interrupting signals handled so far\n", atomic_load(&interruptions));
}

void notify_setup(void)
{
	struct sigaction sa = { .sa_sigaction = on_signal, .sa_flags = SA_SIGINFO | SA_RESTART };
	sigemptyset(&sa.sa_mask);
	sigaction(notify_signal(), &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
	sa.sa_handler = on_interrupt;
	sa.sa_flags = 0;
	sigaction(interrupt_signal(), &sa, NULL);
}

unsigned notified(unsigned id)
{
	return atomic_load(&counts[id % SLOTS]);
}

bool notified_as_allowed(enum notify kind, unsigned want, unsigned got)
{
	return got == want || (opt.signals_merge && kind == N_SIGNAL && got < want);
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
	/* The end of the data: our reads past it see end of file (a pty has
	 * none: closing the slave would fail them with EIO). */
	if (t->kind == T_SOCKET) {
		shutdown(fd, SHUT_WR);
	} else if (t->kind != T_PTY) {
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
		if (room) /* read at the end of a pty before its master closes */
			__atomic_store_n(&t->received_len, t->received_len + (size_t)n,
					 __ATOMIC_RELEASE);
		else
			t->received_overflow = true;
	}
	return NULL;
}

/* Until a datagram peer should stop: false once the scenario is over, else
 * after waiting (shortly) for the socket to be ready for `events`. */
static bool dgram_wait(const struct target *t, int fd, short events)
{
	if (atomic_load(&t->ending))
		return false;
	poll(&(struct pollfd){ .fd = fd, .events = events }, 1, 10);
	return true;
}

/* A datagram peer that writes: the datagrams for our reads, in order;
 * never blocked for good by reads that were cancelled. */
static void *peer_dgram_writer(void *arg)
{
	struct target *t = arg;
	int fd = t->peer_fd;
	unsigned char *dgram = malloc(DGRAM_MAX);
	wait_for_release(t);
	if (t->peer_delay_us)
		nanosleep(&(struct timespec){ 0, (long)t->peer_delay_us * 1000 }, NULL);
	for (int k = 0; dgram && k < t->ndgrams; k++) {
		for (size_t i = 0; i < t->dgram_sizes[k]; i++)
			dgram[i] = dgram_byte(t, k, i);
		while (send(fd, dgram, t->dgram_sizes[k], MSG_DONTWAIT) < 0)
			if (errno != EINTR && (errno != EAGAIN || !dgram_wait(t, fd, POLLOUT)))
				goto out;
		if (t->peer_pause_us)
			nanosleep(&(struct timespec){ 0, (long)t->peer_pause_us * 1000 }, NULL);
	}
out:
	free(dgram);
	return NULL;
}

/* A datagram peer that reads: every datagram and its size, until the
 * scenario is over and none is left. */
static void *peer_dgram_reader(void *arg)
{
	struct target *t = arg;
	int fd = t->peer_fd;
	unsigned char *dgram = malloc(DGRAM_MAX + 1);
	wait_for_release(t);
	while (dgram) {
		bool over = atomic_load(&t->ending); /* then what is queued is all */
		ssize_t n = recv(fd, dgram, DGRAM_MAX + 1, MSG_DONTWAIT);
		if (n < 0) {
			if (errno != EINTR && (errno != EAGAIN || over || !dgram_wait(t, fd, POLLIN)))
				break;
			continue;
		}
		if (t->nreceived == MAX_REQUESTS || (size_t)n > t->received_cap - t->received_len) {
			t->received_overflow = true;
			continue;
		}
		memcpy(t->received + t->received_len, dgram, (size_t)n);
		t->received_len += (size_t)n;
		t->received_sizes[t->nreceived++] = (unsigned)n;
	}
	free(dgram);
	return NULL;
}

/* A pty in raw mode: bytes go through it as they are, both ways. */
static bool open_pty(int p[2])
{
	struct termios tio;
	if (openpty(&p[0], &p[1], NULL, NULL, NULL))
		return false;
	fcntl(p[0], F_SETFD, FD_CLOEXEC);
	fcntl(p[1], F_SETFD, FD_CLOEXEC);
	if (tcgetattr(p[1], &tio) == 0) {
		cfmakeraw(&tio);
		if (tcsetattr(p[1], TCSANOW, &tio) == 0)
			return true;
	}
	close(p[0]);
	close(p[1]);
	return false;
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
	int ours = open(path, flags);
	if (ours < 0 && t->kind == T_FILE_DIRECT) {
		/* the filesystem refuses O_DIRECT: the same requests, buffered */
		t->kind = T_FILE;
		t->disguised = false;
		flags &= ~O_DIRECT;
		ours = open(path, flags);
	}
	t->fd2 = t->number2 = t->two_fds ? open(path, flags) : -1;
	if (t->disguised) {
		/* on disk: an O_DIRECT read that RWF_NOWAIT asks not to wait
		 * for the writeback of a dirty page is refused (EAGAIN), and
		 * would not reach the device */
		fdatasync(fd);
		t->direct_fd = open(path, flags);
		t->buffered_fd = open(path, flags & ~O_DIRECT);
	}
	close(fd);
	unlink(path);
	if ((t->two_fds && t->fd2 < 0) || (t->disguised && (t->direct_fd < 0 || t->buffered_fd < 0))) {
		const int opened[] = { ours, t->fd2, t->direct_fd, t->buffered_fd };
		for (size_t i = 0; i < sizeof opened / sizeof opened[0]; i++)
			if (opened[i] >= 0)
				close(opened[i]);
		t->fd2 = t->direct_fd = t->buffered_fd = -1;
		return -1;
	}
	return ours;
}

/* A disguised target's number is its file's buffered open() for the time
 * of an aio_write and an aio_read of 0 bytes through it (the library then
 * takes the number for a buffered file's for a second), then the O_DIRECT
 * one's again.  The target's requests in flight meanwhile may run through
 * either: the same file, their outcome the same. */
static void disguise(struct scenario *sc, struct target *t)
{
	static char none;
	struct aiocb cbs[2];
	long long deadline = now_ns() + DEADLINE_S * 1000000000LL;
	if (dup3(t->buffered_fd, t->fd, O_CLOEXEC) < 0)
		violation(sc, "cannot disguise fd %d: %s", t->fd, strerror(errno));
	for (int i = 0; i < 2; i++) {
		memset(&cbs[i], 0, sizeof cbs[i]);
		cbs[i].aio_fildes = t->fd;
		cbs[i].aio_buf = &none;
		cbs[i].aio_sigevent.sigev_notify = SIGEV_NONE;
		if (i ? aio_read(&cbs[i]) : aio_write(&cbs[i]))
			violation(sc, "an %s of 0 bytes through fd %d (disguised) was refused: %s",
				  i ? "aio_read" : "aio_write", t->fd, strerror(errno));
	}
	for (int i = 0; i < 2; i++) {
		if (!own_wait(&cbs[i], deadline))
			violation(sc, "an %s of 0 bytes through fd %d (disguised) still EINPROGRESS "
				      "after %d s", i ? "aio_read" : "aio_write", t->fd, DEADLINE_S);
		if (aio_error(&cbs[i]) || aio_return(&cbs[i]))
			violation(sc, "an %s of 0 bytes through fd %d (disguised) failed: %s",
				  i ? "aio_read" : "aio_write", t->fd, strerror(aio_error(&cbs[i])));
	}
	if (dup3(t->direct_fd, t->fd, O_CLOEXEC) < 0)
		violation(sc, "cannot undisguise fd %d: %s", t->fd, strerror(errno));
}

static bool open_target(struct scenario *sc, int ti)
{
	struct target *t = &sc->targets[ti];
	int p[2];
	t->received = NULL;
	t->received_len = t->received_cap = 0;
	t->received_overflow = t->has_reader = t->has_writer = false;
	t->nreceived = 0;
	atomic_store(&t->ending, false);
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
	case T_DGRAM:
	case T_PTY:
		if (t->kind == T_PTY ? !open_pty(p)
				     : socketpair(AF_UNIX, (t->kind == T_SOCKET ? SOCK_STREAM : SOCK_DGRAM) |
						  SOCK_CLOEXEC, 0, p))
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
	if (t->disguised)
		disguise(sc, t);
	bool dgram = t->kind == T_DGRAM;
	if (t->kind == T_PIPE_IN || both_ways(t->kind))
		t->has_writer = !pthread_create(&t->writer, NULL, dgram ? peer_dgram_writer : peer_writer,
						t);
	if (t->never_reads)
		t->pipe_size = fcntl(t->fd, F_GETPIPE_SZ);
	else if (t->kind == T_PIPE_OUT || both_ways(t->kind)) {
		t->received_cap = bytes_written_to(sc, ti) + 1;
		t->received = malloc(t->received_cap);
		t->has_reader = t->received && !pthread_create(&t->reader, NULL,
							       dgram ? peer_dgram_reader : peer_reader, t);
	}
	return true;
}

/* ---------------------------------------------------------------- requests */

static void prepare(struct scenario *sc, struct request *r)
{
	struct aiocb *cb = &r->u->cb;
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
	memset(r->u, 0, sizeof *r->u);
	cb->aio_fildes = fd_of(sc, r);
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
	atomic_store(&r->submit_ns, now_ns());
	if (r->large) {
		struct aiocb64 *cb = &r->u->cb64;
		rc = r->op == OP_READ ? aio_read64(cb) : r->op == OP_WRITE ? aio_write64(cb)
									   : aio_fsync64(op, cb);
	} else {
		struct aiocb *cb = &r->u->cb;
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
			items[m] = sc->reqs[l->members[m]].u;
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
	/* a reaped request is over: its aiocb may be another's by now */
	if (!r->submitted || atomic_load(&r->reaped))
		return;
	int fd = fd_of(sc, r);
	int answer = r->large ? aio_cancel64(fd, &r->u->cb64) : aio_cancel(fd, &r->u->cb);
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
	/*
	 * Only the requests whose submission had returned before aio_cancel
	 * was called must be seen by it: a SIGEV_THREAD function may submit
	 * one at the same moment, which aio_cancel may or may not find (so
	 * may cancel: one whose submission began before aio_cancel returned).
	 */
	bool before[POOL_REQUESTS] = { false };
	for (int i = 0; i < sc->nreqs; i++)
		before[i] = atomic_load(&sc->reqs[i].published) && sc->reqs[i].submitted;
	int answer = aio_cancel(sc->targets[ti].fd, NULL);
	long long end = now_ns();
	if (answer != AIO_CANCELED && answer != AIO_NOTCANCELED && answer != AIO_ALLDONE)
		violation(sc, "aio_cancel(fd of target %d, NULL) answered %d (%s)", ti, answer,
			  strerror(errno));
	for (int i = 0; i < sc->nreqs; i++) {
		struct request *r = &sc->reqs[i];
		long long began = atomic_load(&r->submit_ns);
		if (r->target != ti || r->second || atomic_load(&r->reaped))
			continue;
		if (!before[i]) {
			if (began && began <= end)
				r->cancel_touched = true;
			continue;
		}
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
			ours = ours || fd == sc->targets[i].fd || fd == sc->targets[i].fd2 ||
			       fd == sc->targets[i].buffered_fd || fd == sc->targets[i].direct_fd ||
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
		const struct request *of[MAX_REQUESTS];
		int n = 0;
		bool all_published = true;
		for (int i = 0; i < w->count; i++)
			all_published = all_published && atomic_load(&sc->reqs[w->members[i]].published);
		for (int i = 0; i < w->count; i++) {
			struct request *r = &sc->reqs[w->members[i]];
			if (atomic_load(&r->published) && r->submitted && in_progress(r)) {
				of[n] = r;
				list[n++] = r->u;
			}
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
			/* a request reaped meanwhile was done, whatever its aiocb
			 * (reused) says now */
			for (int i = 0; i < n; i++)
				any = any ||
				      (w->large ? aio_error64(list[i]) : aio_error(list[i])) !=
					      EINPROGRESS ||
				      atomic_load(&of[i]->reaped);
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
			/* follow-ups count once their function submitted them */
			if (atomic_load(&r->published) && r->submitted &&
			    (held || !sc->targets[r->target].held) && in_progress(r)) {
				pending[n++] = &r->u->cb;
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

/* The notifications to wait for: none of a signal that may have merged
 * with another (opt.signals_merge), which would cost the whole deadline. */
static unsigned expected_notifications(const struct scenario *sc, unsigned id)
{
	for (int i = 0; i < sc->nreqs; i++)
		if (sc->reqs[i].id == id)
			return sc->reqs[i].submitted && sc->reqs[i].notify != N_NONE &&
			       !(opt.signals_merge && sc->reqs[i].notify == N_SIGNAL);
	for (int l = 0; l < sc->nlists; l++)
		if (sc->lists[l].id == id)
			return sc->lists[l].mode == LIO_NOWAIT && sc->lists[l].answer == 0 &&
			       sc->lists[l].notify != N_NONE &&
			       !(opt.signals_merge && sc->lists[l].notify == N_SIGNAL);
	return 0;
}

/* A_REAP: what a program does before it reuses an aiocb. */
static void reap(struct scenario *sc, struct request *r)
{
	long long deadline = now_ns() + DEADLINE_S * 1000000000LL;
	const struct aiocb *one[1] = { &r->u->cb };
	while (r->submitted && error_of(r) == EINPROGRESS) {
		if (now_ns() > deadline) {
			char d[256];
			describe_request(sc, r, d, sizeof d);
			violation(sc, "%s, whose aiocb the program reuses next, still EINPROGRESS %d s "
				      "after it waited for it, though nothing in the scenario blocks it",
				  d, DEADLINE_S);
		}
		aio_suspend(one, 1, &(struct timespec){ 0, 100000000 });
	}
	if (r->submitted) {
		r->status = error_of(r);
		r->ret = r->large ? aio_return64(&r->u->cb64) : aio_return(&r->u->cb);
	}
	atomic_store(&r->reaped, true);
}

/* Wait (against a deadline) for the SIGEV_THREAD functions to return; the
 * judge reports one that did not. */
static void wait_functions(const struct scenario *sc)
{
	long long deadline = now_ns() + FUNCTIONS_S * 1000000000LL;
	for (int i = 0; i < sc->nreqs; i++) {
		const struct request *r = &sc->reqs[i];
		if (!atomic_load(&r->published) || !r->submitted || r->notify != N_THREAD)
			continue;
		while (atomic_load(&r->call) != CALL_RETURNED && now_ns() < deadline)
			nanosleep(&(struct timespec){ 0, 200000 }, NULL);
	}
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

/* Until the peer of a pty has read all that the completed writes wrote
 * (against a deadline: the judge reports what is missing). */
static void wait_received(const struct scenario *sc, int ti)
{
	const struct target *t = &sc->targets[ti];
	long long deadline = now_ns() + NOTIFY_DEADLINE_S * 1000000000LL;
	size_t written = 0;
	for (int i = 0; i < sc->nreqs; i++) {
		const struct request *r = &sc->reqs[i];
		if (r->target == ti && r->op == OP_WRITE && r->submitted && r->status == 0)
			written += (size_t)r->ret;
	}
	while (__atomic_load_n(&t->received_len, __ATOMIC_ACQUIRE) < written && now_ns() < deadline)
		nanosleep(&(struct timespec){ 0, 1000000 }, NULL);
}

void execute(struct scenario *sc)
{
	struct signaller signals;
	char why[200];
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
	start_signals(sc, &signals);
	for (int a = 0; a < sc->nactions; a++) {
		const struct action *ac = &sc->actions[a];
		static const char *const what[] = {
			[A_SUBMIT] = "submitting a request", [A_LIST] = "lio_listio",
			[A_CANCEL] = "aio_cancel of a request", [A_CANCEL_FD] = "aio_cancel(fd, NULL)",
			[A_PAUSE] = "a pause", [A_CLOSE_FOREIGN] = "closing descriptors",
			[A_REAP] = "waiting for a request whose aiocb is reused",
			[A_FORK] = "fork with requests in flight",
			[A_DISGUISE] = "disguising an O_DIRECT file",
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
		case A_REAP:
			reap(sc, &sc->reqs[ac->arg]);
			break;
		case A_FORK:
			if (!fork_child(sc, why, sizeof why))
				violation(sc, "a fork with requests in flight (action [%d]): %s", a, why);
			break;
		case A_DISGUISE:
			disguise(sc, &sc->targets[ac->arg]);
			break;
		}
	}
	progress("waiting for the requests that no held peer blocks", 0);
	wait_final(sc, false);
	for (int i = 0; i < sc->ntargets; i++) {
		struct target *t = &sc->targets[i];
		if (t->never_reads) {
			close(t->peer_fd);
			__atomic_store_n(&t->peer_fd, -1, __ATOMIC_RELEASE);
		}
		atomic_store(&t->released, true);
	}
	progress("waiting for every request to finish", 0);
	wait_final(sc, true);
	stop_signals(sc, &signals);
	progress("joining the aio_suspend threads", 0);
	for (int w = 0; w < sc->nwaiters; w++) {
		struct timespec until;
		clock_gettime(CLOCK_REALTIME, &until);
		until.tv_sec += NOTIFY_DEADLINE_S;
		if (pthread_timedjoin_np(sc->waiters[w].thread, NULL, &until))
			violation(sc, "suspend thread %d still waits in aio_suspend %d s after every "
				      "request it waits for finished", w, NOTIFY_DEADLINE_S);
	}
	progress("waiting for the SIGEV_THREAD functions to return", 0);
	wait_functions(sc);
	progress("waiting for the requests that the functions submitted", 0);
	wait_final(sc, true);
	for (int i = 0; i < sc->nreqs; i++) {
		struct request *r = &sc->reqs[i];
		if (!atomic_load(&r->published) || !r->submitted || atomic_load(&r->reaped))
			continue;
		r->status = error_of(r);
		r->ret = r->large ? aio_return64(&r->u->cb64) : aio_return(&r->u->cb);
	}
	progress("waiting for the notifications", 0);
	wait_notifications(sc);
	progress("ending the streams and joining their peers", 0);
	/* End the streams: the peers see end of file, a closed pipe, a pty
	 * whose master is gone (once they have read what was written: that
	 * ends a pty's data too), or the end of the datagrams. */
	for (int i = 0; i < sc->ntargets; i++) {
		struct target *t = &sc->targets[i];
		if (t->kind == T_SOCKET)
			shutdown(t->fd, SHUT_WR);
		if (t->kind == T_PTY)
			wait_received(sc, i);
		if (t->kind == T_PIPE_OUT || t->kind == T_PIPE_IN || t->kind == T_PTY) {
			close(t->fd);
			t->fd = -1;
		}
		atomic_store(&t->ending, true);
		if (t->has_reader)
			pthread_join(t->reader, NULL);
		if (t->kind == T_SOCKET || t->kind == T_DGRAM) {
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
		if (t->fd2 >= 0)
			close(t->fd2);
		if (t->disguised) {
			close(t->buffered_fd);
			close(t->direct_fd);
		}
		t->fd = t->fd2 = t->buffered_fd = t->direct_fd = -1;
		free(t->received);
		t->received = NULL;
	}
	for (int i = 0; i < sc->nreqs; i++) {
		free(sc->reqs[i].buf);
		sc->reqs[i].buf = NULL;
	}
}
