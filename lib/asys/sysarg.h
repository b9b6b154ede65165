/*
 * 64-bit arguments of system calls (loff_t: the offset of pread64 and
 * pwrite64, the offset and length of fallocate) in an asys_call's longs,
 * as syscall(2) passes them to the kernel: one long where long has 64 bits;
 * on 32-bit architectures two, the low word first, which on ARM EABI start
 * at an even-numbered argument (pread64 then has an unused argument 3).
 * preadv, pwritev and their *2 kin are not of this kind: they take the
 * offset as two longs, low then high, on every architecture.
 */
#ifndef ASYS_SYSARG_H
#define ASYS_SYSARG_H

#include <limits.h>
#include <stdint.h>

#include "asys.h"

#if LONG_MAX > INT32_MAX
#define ASYS__ARG64_LONGS 1
#elif (defined __i386__ || defined __ARM_EABI__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
#define ASYS__ARG64_LONGS 2
#else
#error "how this architecture passes 64-bit system call arguments is not known to rtaio"
#endif

/* Where a 64-bit argument that comes after argument i - 1 starts. */
static inline unsigned asys__arg64_index(unsigned i)
{
#ifdef __ARM_EABI__
	return (i + 1) & ~1u;
#else
	return i;
#endif
}

/* Store v as the 64-bit argument after argument i - 1. */
static inline void asys__arg64_put(long a[ASYS_MAX_ARGS], unsigned i, int64_t v)
{
	i = asys__arg64_index(i);
#if ASYS__ARG64_LONGS == 1
	a[i] = (long)v;
#else
	a[i] = (long)(uint32_t)v;
	a[i + 1] = (long)(uint32_t)((uint64_t)v >> 32);
#endif
}

/* preadv's offset: arguments i (low) and i + 1 (high, ignored where long has 64 bits). */
static inline int64_t asys__arg_lohi(const long a[ASYS_MAX_ARGS], unsigned i)
{
#if ASYS__ARG64_LONGS == 1
	return a[i];
#else
	return (int64_t)((uint64_t)(uint32_t)a[i + 1] << 32 | (uint32_t)a[i]);
#endif
}

/* The 64-bit argument after argument i - 1: the same two longs, where they start. */
static inline int64_t asys__arg64(const long a[ASYS_MAX_ARGS], unsigned i)
{
	return asys__arg_lohi(a, asys__arg64_index(i));
}

/* The index of the argument after the 64-bit one that comes after argument i - 1. */
static inline unsigned asys__arg64_next(unsigned i)
{
	return asys__arg64_index(i) + ASYS__ARG64_LONGS;
}

/* A pointer argument as io_uring takes it: zero-extended, never sign-extended. */
static inline uint64_t asys__arg_ptr(long a)
{
	return (uint64_t)(uintptr_t)a;
}

#endif /* ASYS_SYSARG_H */
