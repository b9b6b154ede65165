/*
 * Have rtaio see an older kernel than the one it runs on, to test the
 * paths that only older kernels take.  rtaio makes its io_uring system
 * calls through syscall(), which a program (or a library preloaded before
 * librtaio: tests/pretend_kernel.c) that includes this file takes over.
 * It hides the newer operations from the kernel's probe, and refuses what
 * older kernels refuse of the registration of a ring with a thread:
 *
 *   PRETEND_6_6   no IORING_OP_FUTEX_WAIT: the ring thread's doorbell is an
 *                 eventfd that rtaio keeps open;
 *   PRETEND_6_2   nor io_uring_register(2) of a registered ring's index
 *                 (IORING_REGISTER_USE_REGISTERED_RING): a ring registered
 *                 with its thread can no longer have anything registered;
 *   PRETEND_5_15  nor IORING_REGISTER_RING_FDS: every ring keeps its fd.
 *
 * uname(2) is not changed: what a test reads there is the real kernel.
 */
#ifndef RTAIO_TEST_PRETEND_KERNEL_H
#define RTAIO_TEST_PRETEND_KERNEL_H

#include <dlfcn.h>
#include <errno.h>
#include <linux/io_uring.h>
#include <stdarg.h>
#include <stdint.h>
#include <sys/syscall.h>

enum pretend { PRETEND_NOW, PRETEND_6_6, PRETEND_6_2, PRETEND_5_15 };

static enum pretend pretend_kernel;

/*
 * As glibc's does, it reads six arguments whatever the call takes: past
 * those passed, in the caller's frame, which AddressSanitizer would report.
 */
__attribute__((no_sanitize_address)) long syscall(long nr, ...);
__attribute__((no_sanitize_address)) long syscall(long nr, ...)
{
	static long (*real)(long, ...);
	long (*fn)(long, ...) = __atomic_load_n(&real, __ATOMIC_RELAXED);
	unsigned op;
	va_list ap;
	long a[6], r;
	int i;

	va_start(ap, nr);
	for (i = 0; i < 6; i++)
		a[i] = va_arg(ap, long);
	va_end(ap);
	if (!fn) {
		fn = (long (*)(long, ...))dlsym(RTLD_NEXT, "syscall");
		__atomic_store_n(&real, fn, __ATOMIC_RELAXED);
	}
	op = (unsigned)a[1] & ~(1u << 31);	/* without IORING_REGISTER_USE_REGISTERED_RING */
	if (nr == SYS_io_uring_register &&
	    ((pretend_kernel >= PRETEND_6_2 && op != (unsigned)a[1]) ||
	     (pretend_kernel >= PRETEND_5_15 && op == IORING_REGISTER_RING_FDS))) {
		errno = EINVAL;	/* an opcode that the kernel does not know */
		return -1;
	}
	r = fn(nr, a[0], a[1], a[2], a[3], a[4], a[5]);
	if (nr == SYS_io_uring_register && pretend_kernel != PRETEND_NOW &&
	    op == IORING_REGISTER_PROBE && r == 0) {
		struct io_uring_probe *p = (struct io_uring_probe *)a[2];

		/* IORING_OP_WAITID (50) and after came with 6.7 */
		for (i = 50; i < p->ops_len && i < (int)a[3]; i++)
			p->ops[i].flags &= (uint16_t)~IO_URING_OP_SUPPORTED;
	}
	return r;
}

#endif
