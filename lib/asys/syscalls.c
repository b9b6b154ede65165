/*
 * The allow-list: the system calls that asys runs on another thread, and
 * whether each can block indefinitely.  Anything absent (exit, clone, execve,
 * mmap, set*id, signals, prctl, ...) changes the process itself, or only
 * makes sense on the calling thread, and is refused with EINVAL.
 * asys(7) documents this table; keep the two in step.
 */
#include <sys/syscall.h>

#include "internal.h"

#define B ASYS__KIND_BOUNDED
#define F ASYS__KIND_FD
#define W ASYS__KIND_BLOCKING

static const unsigned char syscall_kind[] = {
	/* file I/O: argument 0 is the fd */
	[SYS_read] = F, [SYS_write] = F,
	[SYS_pread64] = F, [SYS_pwrite64] = F,
	[SYS_readv] = F, [SYS_writev] = F,
	[SYS_preadv] = F, [SYS_pwritev] = F,
	[SYS_preadv2] = F, [SYS_pwritev2] = F,
	[SYS_sendfile] = F,
	/* data and metadata on files */
	[SYS_fsync] = B, [SYS_fdatasync] = B,
	[SYS_fallocate] = B, [SYS_ftruncate] = B, [SYS_readahead] = B,
	[SYS_copy_file_range] = B,
#ifdef SYS_sync_file_range
	[SYS_sync_file_range] = B,
#endif
#ifdef SYS_sync_file_range2	/* 32-bit arm, powerpc: the flags second, for the register pairs */
	[SYS_sync_file_range2] = B,
#endif
#ifdef SYS_fadvise64
	[SYS_fadvise64] = B,
#endif
#ifdef SYS_arm_fadvise64_64	/* 32-bit arm's only fadvise: the advice second, as above */
	[SYS_arm_fadvise64_64] = B,
#endif
	[SYS_close] = B,
	[SYS_statx] = B, [SYS_fstat] = B,
#ifdef SYS_newfstatat	/* 64-bit architectures */
	[SYS_newfstatat] = B,
#endif
#ifdef SYS_fstatat64	/* 32-bit ones: the calls with a 64-bit off_t or struct stat64 */
	[SYS_fstatat64] = B, [SYS_fstat64] = B, [SYS_ftruncate64] = B,
#endif
#ifdef SYS_fadvise64_64	/* 32-bit x86: fadvise64 takes a 32-bit length */
	[SYS_fadvise64_64] = B,
#endif
#ifdef SYS_sendfile64
	[SYS_sendfile64] = F,
#endif
	[SYS_renameat2] = B, [SYS_unlinkat] = B, [SYS_mkdirat] = B,
	[SYS_linkat] = B, [SYS_symlinkat] = B, [SYS_readlinkat] = B,
	[SYS_getdents64] = B,
	/* may wait for another party or for time (openat: a FIFO's other end) */
	[SYS_openat] = W, [SYS_splice] = W,
	[SYS_sendmsg] = W, [SYS_recvmsg] = W, [SYS_sendto] = W,
	[SYS_recvfrom] = W, [SYS_accept4] = W, [SYS_connect] = W,
#ifdef SYS_poll	/* not on arm64 and riscv64, which have only ppoll */
	[SYS_poll] = W,
#endif
	[SYS_ppoll] = W,
	[SYS_nanosleep] = W, [SYS_clock_nanosleep] = W,
	/*
	 * 32-bit: the same with a 64-bit time_t, as programs built with
	 * _TIME_BITS=64 pass it (nanosleep has no such twin: glibc sleeps
	 * with clock_nanosleep_time64)
	 */
#ifdef SYS_ppoll_time64
	[SYS_ppoll_time64] = W,
#endif
#ifdef SYS_clock_nanosleep_time64
	[SYS_clock_nanosleep_time64] = W,
#endif
};

enum asys__kind asys__syscall_kind(long nr)
{
	if (nr < 0 || (unsigned long)nr >= sizeof syscall_kind)
		return ASYS__NOT_ALLOWED;
	return (enum asys__kind)syscall_kind[nr];
}
