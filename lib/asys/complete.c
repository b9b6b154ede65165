/*
 * Running a call and completing it: result passing along a chain, the
 * publication of the final state, the done hook.  See internal.h for the
 * state machine and the chain invariants.
 */
#include <fcntl.h>
#include <limits.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "internal.h"

/*
 * The kernel's endless memory devices (/dev/zero, /dev/full, /dev/random,
 * /dev/urandom: major 1, minors 5, 7, 8, 9), which read(2) fills whole
 * unless a signal ends it.
 */
static bool endless_device(int fd)
{
	struct stat st;

	if (fstat(fd, &st) < 0 || !S_ISCHR(st.st_mode) || major(st.st_rdev) != 1)
		return false;
	switch (minor(st.st_rdev)) {
	case 5: case 7: case 8: case 9:
		return true;
	default:
		return false;
	}
}

bool asys__times_out(int fd, int opt)
{
	struct timeval tv;
	socklen_t len = sizeof tv;

	return !getsockopt(fd, SOL_SOCKET, opt, &tv, &len) && (tv.tv_sec || tv.tv_usec);
}

/*
 * Does recv(2) with MSG_WAITALL wait for the whole length?  On a stream
 * socket (not on datagrams or records), without a receive timeout.
 */
static bool waits_for_all(int fd)
{
	socklen_t len = sizeof(int);
	int type;

	if (getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &len) || type != SOCK_STREAM)
		return false;
	return !asys__times_out(fd, SO_RCVTIMEO);
}

bool asys__goes_on(long nr, const long a[ASYS_MAX_ARGS], long done, int nonblock)
{
	long most = INT_MAX & ~((long)getpagesize() - 1);

	if (done >= (a[2] < most ? a[2] : most))
		return false;
	switch (nr) {
	case SYS_recvfrom:
		/* a peek would read the same bytes again; the receive timeout: waits_for_all */
		if ((a[3] & (MSG_WAITALL | MSG_PEEK | MSG_DONTWAIT)) != MSG_WAITALL ||
		    !waits_for_all((int)a[0]))
			return false;
		break;
	case SYS_sendto:
		if (a[3] & MSG_DONTWAIT)
			return false;
		/* fall through */
	case SYS_write:
		/* asked only once a call came back short: ENOTSOCK on a pipe */
		if (asys__times_out((int)a[0], SO_SNDTIMEO))
			return false;
		break;
	case SYS_read:
		return done % getpagesize() == 0 && endless_device((int)a[0]);
	default:
		return false;
	}
	if (nonblock < 0) {
		int fl = fcntl((int)a[0], F_GETFL);

		nonblock = fl < 0 || (fl & O_NONBLOCK);
	}
	return !nonblock;
}

long asys__execute(struct asys_call *call)
{
	long a[ASYS_MAX_ARGS];
	long r, done;
	int i;

	for (i = 0; i < ASYS_MAX_ARGS; i++)
		a[i] = call->arg[i];
	if (call->flags & ASYS_LINK_ARG)
		a[call->link_arg] = call->__input;
	r = syscall(call->nr, a[0], a[1], a[2], a[3], a[4], a[5]);
	if (r <= 0)
		return r == -1 ? -errno : r;
	/*
	 * The thread running the call takes no signals, but a stop (SIGSTOP,
	 * Ctrl-Z) or the cgroup freezer still ends its wait inside the call,
	 * which then returns what it has transferred: the program, none of
	 * whose threads made the call, gets it whole, as from the ring.  A
	 * failure of the rest leaves the count: write(2) would have returned
	 * it and left the error to the next call.
	 */
	for (done = r; asys__goes_on(call->nr, a, done, -1); done += r) {
		r = syscall(call->nr, a[0], a[1] + done, a[2] - done, a[3], a[4], a[5]);
		if (r <= 0)
			break;
	}
	return done;
}

/*
 * Make a claimed call final: the result first, then the state (so that a
 * waiter that sees the state sees the result), then wake whoever sleeps.
 * After the exchange the call may be freed by its owner: only its address
 * is used from then on, and a futex wake on a stale address is harmless.
 */
void asys__publish(struct asys_call *call, long result, uint32_t final_state)
{
	uint32_t prev;

	call->result = result;
	prev = __atomic_exchange_n(&call->state, final_state, __ATOMIC_SEQ_CST);
	if (prev & ASYS__WAITERS)
		asys__wake(&call->state);
	asys__seq_bump(&asys__engine.completions);
}

static bool link_failed(const struct asys_call *call)
{
	return call->__src && call->__input == ASYS__INPUT_FAILED;
}

/*
 * With chain_lock held: take a call that has its outcome out of its chain,
 * hand that outcome to the later calls that link to it, and return the call
 * that becomes ready because of it: NULL when there is none, or when it went
 * back to the backend's queue (requeue); otherwise claimed (RUNNING) for the
 * caller to run, or to cancel if its link failed.
 */
static struct asys_call *detach(struct asys_call *call, long result, bool requeue)
{
	struct asys_call *m, *next = call->__cnext, *prev = call->__cprev;

	for (m = next; m; m = m->__cnext)
		if (m->__src == call)
			m->__input = result < 0 ? ASYS__INPUT_FAILED : result;
	if (next)
		next->__cprev = prev;
	if (prev) {
		prev->__cnext = next;
		return NULL;
	}
	if (!next)
		return NULL;
	if (requeue && !link_failed(next)) {
		asys__engine.backend->requeue(next);
		return NULL;
	}
	asys__transition(next, ASYS_QUEUED, ASYS_RUNNING);
	return next;
}

struct asys_call *asys__settle(struct asys_call *call, long result, uint32_t final,
			       bool requeue, bool locked)
{
	for (;;) {
		void (*done)(struct asys_call *) = call->done;
		struct asys_call *next = NULL;

		if (call->__saved & ASYS__IN_CHAIN) {
			if (!locked)
				pthread_mutex_lock(&asys__engine.chain_lock);
			next = detach(call, result, requeue);
			pthread_mutex_unlock(&asys__engine.chain_lock);
			locked = false;
		}
		asys__publish(call, result, final);
		if (done)
			done(call);
		if (!next || !link_failed(next))
			return next;
		call = next;
		result = -ECANCELED;
		final = ASYS_CANCELED;
	}
}

struct asys_call *asys__finish(struct asys_call *call, long result)
{
	return asys__settle(call, result, ASYS_DONE, false, false);
}
