/*
 * struct timespec as programs built with _TIME_BITS=64 pass it where time_t
 * has 32 bits by default (i386, armhf), to the entry points that take theirs
 * (__aio_suspend_time64, asys_wait_time64, asys_wait_any_time64): the
 * library itself keeps the default 32-bit time_t, whose struct timespec its
 * plain names take from older programs.
 */
#ifndef ASYS_TIME64_H
#define ASYS_TIME64_H

#include <stdint.h>
#include <time.h>

#if __TIMESIZE == 32
/* glibc's: a 64-bit tv_sec, tv_nsec a 32-bit long beside 32 bits of padding */
struct asys__timespec64 {
	int64_t tv_sec;
#if __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
	int32_t pad;
#endif
	int32_t tv_nsec;
#if __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
	int32_t pad;
#endif
};

/*
 * The same relative timeout in *t, or NULL for none.  A tv_sec past what a
 * 32-bit time_t holds saturates, and then waits as long as no timeout (any
 * past 2^30 s does: futex.c); it must not wrap to a short one.  A negative
 * one stays negative: EINVAL.
 */
static inline const struct timespec *asys__timeout_from64(const struct asys__timespec64 *in,
							  struct timespec *t)
{
	if (!in)
		return NULL;
	t->tv_sec = in->tv_sec > INT32_MAX ? INT32_MAX : in->tv_sec < 0 ? -1 : (time_t)in->tv_sec;
	t->tv_nsec = in->tv_nsec;
	return t;
}
#endif

#endif /* ASYS_TIME64_H */
