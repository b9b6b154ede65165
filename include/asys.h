/*
 * asys: an asynchronous system-call engine.
 *
 * Submit a list of system calls; each one completes on its own, with a
 * 32-bit futex completion word that a thread can sleep on, and a later call
 * can take an earlier call's result as one of its arguments
 * (fd = openat(...); read(fd, ...); close(fd)), all without blocking the
 * submitting thread.  See asys(7).
 */
#ifndef ASYS_H
#define ASYS_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Call states: the low bits of asys_call.state; read them with asys_state(). */
enum {
	ASYS_IDLE = 0,		/* never submitted (a zeroed call) */
	ASYS_QUEUED = 1,	/* submitted, not started; can be cancelled */
	ASYS_RUNNING = 2,	/* the system call is executing */
	ASYS_DONE = 3,		/* finished; result holds its return value or -errno */
	ASYS_CANCELED = 4	/* never ran; result is -ECANCELED */
};

#define ASYS_STATE_MASK 0xfu

/* asys_call.flags */
#define ASYS_LINK	0x1u	/* run after call `link` of the same list; -ECANCELED if it failed */
#define ASYS_LINK_ARG	0x2u	/* also replace arg[link_arg] by call `link`'s result (implies ASYS_LINK) */
#define ASYS_BOUNDED	0x4u	/* the caller vouches that the call cannot block indefinitely */
#define ASYS_UNBOUNDED	0x8u	/* the caller knows that the call may block indefinitely */
#define ASYS_SERIAL	0x10u	/* hint: calls on fd arg[0] with this flag contend; run one at a time */
#define ASYS_DIRECT	0x20u	/* hint: fd arg[0] has O_DIRECT: send a pread from this thread */

#define ASYS_MAX_ARGS 6

struct asys_call {
	long nr;			/* system call number (SYS_xxx) */
	long arg[ASYS_MAX_ARGS];
	long result;			/* return value, or -errno; valid once final */
	uint32_t state;			/* futex completion word: see asys_state() */
	uint32_t flags;			/* ASYS_LINK, ASYS_LINK_ARG, ASYS_BOUNDED, ASYS_UNBOUNDED,
					   ASYS_SERIAL, ASYS_DIRECT */
	uint32_t link;			/* with ASYS_LINK: index of an earlier call in the list */
	uint32_t link_arg;		/* with ASYS_LINK_ARG: which argument, 0 to 5 */
	void (*done)(struct asys_call *); /* optional completion hook */
	void *data;			/* the caller's; the engine never reads it */
	/* Owned by the engine while the call is pending. */
	struct asys_call *__qnext, *__qprev, *__cnext, *__cprev, *__src;
	long __input;
	uint32_t __class, __saved, __bstate, __serial;
};

struct asys_config {
	unsigned max_threads;		/* workers for calls that complete in bounded time */
	unsigned max_blocking_threads;	/* workers for calls that may block indefinitely */
	unsigned idle_msec;		/* an idle worker exits after this long */
};

/*
 * With _TIME_BITS=64 where time_t has 32 bits by default (i386, armhf),
 * struct timespec has a 64-bit tv_sec: the waits that take it are others.
 */
#ifdef __USE_TIME_BITS64
#define __ASYS_TIME64(name) __asm__(#name "_time64")
#else
#define __ASYS_TIME64(name) /* the plain symbol */
#endif

int asys_submit(struct asys_call *const calls[], size_t n);
int asys_wait(struct asys_call *call, const struct timespec *timeout) __ASYS_TIME64(asys_wait);
int asys_wait_any(struct asys_call *const calls[], size_t n,
		  const struct timespec *timeout) __ASYS_TIME64(asys_wait_any);
int asys_cancel(struct asys_call *call);
int asys_configure(const struct asys_config *set, struct asys_config *old);

/* The call's state, one of ASYS_IDLE ... ASYS_CANCELED (async-signal-safe). */
static inline unsigned asys_state(const struct asys_call *call)
{
	return __atomic_load_n(&call->state, __ATOMIC_ACQUIRE) & ASYS_STATE_MASK;
}

/* Fill in a call to system call `nr` with its arguments; clears the rest. */
static inline void asys_prep(struct asys_call *call, long nr, long a0, long a1,
			     long a2, long a3, long a4, long a5)
{
	__builtin_memset(call, 0, sizeof *call);
	call->nr = nr;
	call->arg[0] = a0;
	call->arg[1] = a1;
	call->arg[2] = a2;
	call->arg[3] = a3;
	call->arg[4] = a4;
	call->arg[5] = a5;
}

/*
 * Make `call` run after call number `earlier` of the same list; with
 * arg >= 0, argument `arg` becomes that call's result.
 */
static inline void asys_link(struct asys_call *call, unsigned earlier, int arg)
{
	call->flags |= ASYS_LINK;
	call->link = earlier;
	if (arg >= 0) {
		call->flags |= ASYS_LINK_ARG;
		call->link_arg = (uint32_t)arg;
	}
}

#ifdef __cplusplus
}
#endif

#endif /* ASYS_H */
