/*
 * The thread-pool backend: the reference backend, portable, any allowed call.
 *
 * Ready calls wait in one FIFO queue per class.  Workers start on demand, up
 * to max_threads running bounded calls plus max_blocking_threads running
 * calls that may block forever, so that a crowd of pipe reads or polls can
 * never starve file I/O, and the thread count stays bounded whatever the
 * number of pending calls.  An idle worker exits after idle_msec.  Workers
 * block every signal (a process-directed signal must never land on one).
 *
 * pool.lock guards everything here.  Idle workers sleep on a stack, each
 * on a condition variable of its own, and kick() wakes the one on top: the
 * last to go idle, whose cache is warm.  One shared condition variable
 * wakes the one idle longest: once a second worker had started (the worker
 * that completes a call still counts busy if the program's next call comes
 * at once), a program with one call in flight kept two workers taking
 * turns, a CPU migration a call.  The stack also lets the workers at its
 * bottom time out, so the pool shrinks to what is used.  Wake-ups are
 * counted: kick() takes the worker it wakes off the stack, so `idle` is
 * exactly the number asleep and not woken, and kick() knows how many
 * workers are awake and looking for work.
 *
 * A worker completing a call counts as awake too (`finishing`) when the
 * call's hook cannot wait for another call (no hook, or the POSIX layer's):
 * it will look at the queue within microseconds.  A program that submits
 * its next request as soon as the last one completes (one request in
 * flight) would otherwise find the only worker still busy completing and
 * wake a second one, every time; the two then take turns, each turn a
 * wake-up on the other CPU.  Not for other hooks: one that waits for a
 * call submitted meanwhile would wait for ever.
 *
 * Calls with ASYS_SERIAL on one fd (buffered writes to a file, which all
 * take the inode's lock) run one at a time: the first takes its fd's serial
 * slot as it is queued, the later ones wait beside the queue in the slot,
 * and the worker that finishes one runs the next itself, with no wake-up.
 * Twenty workers writing to one file would spend their time in the
 * kernel's rwsem.  The slot is taken at queueing, not when a worker starts
 * the call: a program that submits its writes one by one while the first
 * still waits for a worker must not wake a worker per write, each only to
 * find the slot taken.  A slot serves the fds equal modulo SERIAL_SLOTS,
 * one at a time: a call whose slot another fd holds runs as if it had no
 * hint.
 *
 * Workers form a crew (crew.h).  One that has left no longer counts against
 * the limits: it takes no call any more, and spawn() joins every worker that
 * left (each only returning from its function) before it starts another,
 * so the workers never outnumber the limits.  Counting it until it was joined made a pool whose only file I/O
 * worker had timed out refuse to start another (nobody joins it until the
 * next spawn): file I/O then waited for ever.  Unloading the library (or exiting) stops the workers from
 * taking calls and joins every one that is not inside a call that may never
 * end: after dlclose() with no call pending, no thread of rtaio's is left,
 * and none runs the library's code any more.
 */
#include <time.h>

#include "crew.h"
#include "engine.h"
#include "internal.h"

#define WORKER_STACK_SIZE (256 * 1024)

struct queue {
	struct asys_call *head, *tail;
	unsigned len;
};


#define SERIAL_SLOTS 64
#define NO_FD (-1)

/* An fd whose serial calls run one at a time (fd NO_FD: free), and the ones that wait. */
struct serial_slot {
	int fd;
	struct queue waiting;
};

/* call->__serial */
enum {
	NOT_SERIAL,
	HOLDS_SLOT,	/* queued to run, or running, while its fd's next ones wait */
	WAITS_IN_SLOT,
};

/* An idle worker, on its own stack while it sleeps. */
struct idler {
	struct idler *below;
	pthread_cond_t wake;
	bool woken;		/* taken off the stack by wake_top() */
};

static struct {
	pthread_mutex_t lock;
	pthread_condattr_t wake_attr;	/* CLOCK_MONOTONIC, for every idler's wake */
	struct queue queue[ASYS__NCLASSES];
	struct serial_slot serial[SERIAL_SLOTS];
	unsigned busy[ASYS__NCLASSES];	/* workers running a call of each class */
	unsigned threads;		/* workers alive, starting ones included */
	struct idler *idlers;		/* the stack of idle workers, last idle on top */
	unsigned idle;			/* on it */
	unsigned finishing;		/* busy, but about to look at the queue (atomic) */
	struct asys__crew crew;
} pool = {
	.lock = PTHREAD_MUTEX_INITIALIZER,
	.serial = { [0 ... SERIAL_SLOTS - 1] = { .fd = NO_FD } },
	.crew = ASYS__CREW_INITIALIZER(&pool.lock),
};

/*
 * The slot of a serial call's fd, whoever holds it; NULL for other calls,
 * and for one that may block forever, which must hold up nothing.
 */
static struct serial_slot *slot_of(const struct asys_call *call)
{
	if (!(call->flags & ASYS_SERIAL) || call->__class != ASYS__BOUNDED)
		return NULL;
	return &pool.serial[(unsigned long)call->arg[0] % SERIAL_SLOTS];
}

/* Where the call waits: its class's queue, or its fd's serial slot. */
static struct queue *queue_of(const struct asys_call *call)
{
	return call->__serial == WAITS_IN_SLOT ? &slot_of(call)->waiting
					       : &pool.queue[call->__class];
}

static void append(struct queue *q, struct asys_call *call)
{
	call->__qnext = NULL;
	call->__qprev = q->tail;
	if (q->tail)
		q->tail->__qnext = call;
	else
		q->head = call;
	q->tail = call;
	q->len++;
}

static void push(struct asys_call *call)
{
	struct serial_slot *s = slot_of(call);
	int fd = (int)call->arg[0];

	call->__serial = NOT_SERIAL;
	if (s && s->fd == NO_FD) {
		s->fd = fd;
		call->__serial = HOLDS_SLOT;
	} else if (s && s->fd == fd) {
		call->__serial = WAITS_IN_SLOT;
	}
	append(queue_of(call), call);
}

static void unlink_call(struct asys_call *call)
{
	struct queue *q = queue_of(call);

	if (call->__qprev)
		call->__qprev->__qnext = call->__qnext;
	else
		q->head = call->__qnext;
	if (call->__qnext)
		call->__qnext->__qprev = call->__qprev;
	else
		q->tail = call->__qprev;
	q->len--;
}

static unsigned limit(int class)
{
	const struct asys_config *c = &asys__engine.config;

	return class == ASYS__BOUNDED ? c->max_threads : c->max_blocking_threads;
}

static unsigned room(int class)
{
	return pool.busy[class] < limit(class) ? limit(class) - pool.busy[class] : 0;
}

/* Calls that an awake worker could start now. */
static unsigned runnable(void)
{
	unsigned n = 0;
	int c;

	for (c = 0; c < ASYS__NCLASSES; c++)
		n += pool.queue[c].len < room(c) ? pool.queue[c].len : room(c);
	return n;
}

static void claim(struct asys_call *call)
{
	unlink_call(call);
	asys__transition(call, ASYS_QUEUED, ASYS_RUNNING);
}

/* The next call a worker may start, claimed (RUNNING), or NULL. */
static struct asys_call *take(void)
{
	int c;

	for (c = 0; c < ASYS__NCLASSES && !asys__crew_stopping(&pool.crew); c++) {
		struct asys_call *call = pool.queue[c].head;

		if (call && room(c)) {
			claim(call);
			return call;
		}
	}
	return NULL;
}

/* The slot's serial call is over: its next one, claimed, or NULL (slot freed). */
static struct asys_call *next_serial(struct serial_slot *s)
{
	struct asys_call *call = s->waiting.head;

	if (call && !asys__crew_stopping(&pool.crew)) {
		claim(call);
		call->__serial = HOLDS_SLOT;
		return call;
	}
	/* unloading: the calls left wait where a worker would look for them */
	while ((call = s->waiting.head)) {
		unlink_call(call);
		call->__serial = NOT_SERIAL;
		append(&pool.queue[call->__class], call);
	}
	s->fd = NO_FD;
	return NULL;
}

/* The slot's call was canceled before it ran: the next one waiting holds the slot, queued. */
static void pass_slot(struct serial_slot *s)
{
	struct asys_call *call = s->waiting.head;

	if (!call) {
		s->fd = NO_FD;
		return;
	}
	unlink_call(call);
	call->__serial = HOLDS_SLOT;
	append(&pool.queue[call->__class], call);
}

static void *worker(struct asys__member *self);

static int spawn(void)
{
	int err;

	asys__crew_reap(&pool.crew);
	err = asys__crew_start(&pool.crew, worker, "rtaio-worker", WORKER_STACK_SIZE);
	if (!err)
		pool.threads++;
	return err;
}

/* Wake the worker that went idle last. */
static void wake_top(void)
{
	struct idler *w = pool.idlers;

	pool.idlers = w->below;
	pool.idle--;
	w->woken = true;
	pthread_cond_signal(&w->wake);
}

/* Make sure every runnable call has an awake worker: wake one, else spawn. */
static void kick(void)
{
	unsigned awake = pool.threads - pool.busy[0] - pool.busy[1] - pool.idle +
			 __atomic_load_n(&pool.finishing, __ATOMIC_RELAXED);
	unsigned need = runnable();

	for (; need > awake; awake++) {
		if (pool.idlers) {
			wake_top();
		} else if (pool.threads >= limit(0) + limit(1) || spawn() < 0) {
			return;
		}
	}
}

/* Does the call's completion end promptly, with no chain to go on with? */
static bool finishes_promptly(const struct asys_call *call)
{
	void (*prompt)(struct asys_call *) =
		__atomic_load_n(&asys__engine.prompt_done, __ATOMIC_RELAXED);

	return !(call->__saved & ASYS__IN_CHAIN) && (!call->done || call->done == prompt);
}

/* Run a call; unloading does not wait for one that may never end. */
static long execute(struct asys_call *call)
{
	long r;

	if (call->__class != ASYS__BLOCKING)
		return asys__execute(call);
	asys__crew_away(&pool.crew);
	r = asys__execute(call);
	asys__crew_back(&pool.crew);
	return r;
}

/*
 * Sleep on top of the idle stack until wake_top() or the deadline: true if
 * woken.  One that times out takes itself off the stack, wherever it is.
 */
static bool sleep_idle(struct idler *me, const struct timespec *deadline)
{
	struct idler **p;
	int rc = 0;

	me->woken = false;
	me->below = pool.idlers;
	pool.idlers = me;
	pool.idle++;
	while (!me->woken && rc != ETIMEDOUT)
		rc = pthread_cond_timedwait(&me->wake, &pool.lock, deadline);
	if (me->woken)
		return true;
	for (p = &pool.idlers; *p != me; p = &(*p)->below)
		;
	*p = me->below;
	pool.idle--;
	return false;
}

static void *worker(struct asys__member *self)
{
	struct idler me;

	pthread_cond_init(&me.wake, &pool.wake_attr);
	pthread_mutex_lock(&pool.lock);
	for (;;) {
		struct asys_call *call = take();
		struct timespec deadline;
		int class;

		if (call) {
			struct serial_slot *s =
				call->__serial == HOLDS_SLOT ? slot_of(call) : NULL;

			class = call->__class;
			pool.busy[class]++;
			for (;;) {
				bool prompt = finishes_promptly(call);

				pthread_mutex_unlock(&pool.lock);
				do {
					long result = execute(call);

					/* before the completion can prompt a submission */
					if (prompt)
						__atomic_fetch_add(&pool.finishing, 1,
								   __ATOMIC_RELEASE);
					call = asys__finish(call, result);
				} while (call);
				pthread_mutex_lock(&pool.lock);
				if (prompt)
					__atomic_fetch_sub(&pool.finishing, 1, __ATOMIC_RELAXED);
				if (!s || !(call = next_serial(s)))
					break;
				/* not back to the queue yet: it may need another worker */
				if (prompt)
					kick();
			}
			pool.busy[class]--;
			/*
			 * Its slot is free now.  A submission that counted it
			 * as about to take a call (finishing) left its slot out
			 * of the calls that could start, and woke one worker
			 * too few: with 4 slots, 3 calls ran and the 4th waited
			 * beside a sleeping worker until the next completion.
			 */
			kick();
			continue;
		}
		asys__deadline(&(struct timespec){ asys__engine.config.idle_msec / 1000,
						   (asys__engine.config.idle_msec % 1000) * 1000000L },
			       &deadline);
		if (asys__crew_stopping(&pool.crew))
			break;
		if ((!sleep_idle(&me, &deadline) && !runnable()) || asys__crew_stopping(&pool.crew))
			break;
	}
	pool.threads--;
	asys__crew_leave(&pool.crew, self);
	pthread_mutex_unlock(&pool.lock);
	pthread_cond_destroy(&me.wake);
	return NULL;
}

/*
 * Unloading the library, or exiting: workers take no more calls; wait for
 * all but those inside a call that may never end (exit ends them; dlclose()
 * with such calls pending is the program's error), and join them.
 */
static void threads_unload(void)
{
	pthread_mutex_lock(&pool.lock);
	while (pool.idlers)
		wake_top();
	asys__crew_dismiss(&pool.crew, &pool.threads);
	pthread_mutex_unlock(&pool.lock);
}

/* The idle deadlines are on CLOCK_MONOTONIC (asys__now()). */
static void init_wake(void)
{
	pthread_condattr_init(&pool.wake_attr);
	pthread_condattr_setclock(&pool.wake_attr, CLOCK_MONOTONIC);
}


static int threads_submit(struct asys_call *const calls[], size_t n)
{
	size_t i;

	pthread_mutex_lock(&pool.lock);
	if (!pool.threads && spawn() < 0) {
		pthread_mutex_unlock(&pool.lock);
		return -EAGAIN;
	}
	for (i = 0; i < n; i++) {
		/* chain followers wait for their turn; __bstate: another backend's */
		if ((calls[i]->flags & (ASYS_LINK | ASYS_LINK_ARG)) || calls[i]->__bstate)
			continue;
		__atomic_fetch_and(&calls[i]->state, ~ASYS__SUBMITTING, __ATOMIC_RELEASE);
		push(calls[i]);
	}
	kick();
	pthread_mutex_unlock(&pool.lock);
	return 0;
}

static int threads_cancel(struct asys_call *call)
{
	int err = 0;

	pthread_mutex_lock(&pool.lock);
	if (asys__transition(call, ASYS_QUEUED, ASYS_RUNNING)) {
		unlink_call(call);
		if (call->__serial == HOLDS_SLOT) {
			pass_slot(slot_of(call));
			kick();
		}
	} else {
		err = -EBUSY;
	}
	pthread_mutex_unlock(&pool.lock);
	return err;
}

static void threads_requeue(struct asys_call *call)
{
	pthread_mutex_lock(&pool.lock);
	push(call);
	kick();
	pthread_mutex_unlock(&pool.lock);
}

static void threads_lock(void)
{
	pthread_mutex_lock(&pool.lock);
}

static void threads_unlock_config(void)
{
	kick();
	pthread_mutex_unlock(&pool.lock);
}

static void threads_unlock(void)
{
	pthread_mutex_unlock(&pool.lock);
}

/* Join the workers that have left, so that no child inherits them unjoined. */
static void threads_fork_prepare(void)
{
	pthread_mutex_lock(&pool.lock);
	asys__crew_reap(&pool.crew);
}

/* The child has no workers: nothing queued in the parent belongs to it. */
static void threads_fork_child(void)
{
	int c;

	for (c = 0; c < ASYS__NCLASSES; c++) {
		pool.queue[c] = (struct queue){ NULL, NULL, 0 };
		pool.busy[c] = 0;
	}
	for (c = 0; c < SERIAL_SLOTS; c++)
		pool.serial[c] = (struct serial_slot){ .fd = NO_FD };
	asys__crew_forget(&pool.crew);
	pool.idlers = NULL;
	pool.threads = pool.idle = pool.finishing = 0;
	pthread_mutex_unlock(&pool.lock);	/* held since threads_fork_prepare() */
}

static void threads_stats(struct asys__stats *out)
{
	out->workers = asys__crew_started(&pool.crew);
}

const struct asys__backend asys__threads = {
	.name = "threads",
	.init = init_wake,
	.submit = threads_submit,
	.cancel = threads_cancel,
	.requeue = threads_requeue,
	.lock_config = threads_lock,
	.unlock_config = threads_unlock_config,
	.fork_prepare = threads_fork_prepare,
	.fork_parent = threads_unlock,
	.fork_child = threads_fork_child,
	.unload = threads_unload,
	.stats = threads_stats,
};
