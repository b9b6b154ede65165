/*
 * rtaio's <aio.h>: POSIX asynchronous I/O with glibc's API and its exact
 * x86_64 ABI (struct aiocb, struct aiocb64, struct aioinit, the constants),
 * so that programs built against either header run with either library.
 * See rtaio(7) and aio_read(3).
 */
#ifndef _AIO_H
#define _AIO_H 1

#include <features.h>
#include <sys/types.h>
/* what glibc's own <aio.h> includes: usable in strict ISO C modes too */
#include <bits/types/sigevent_t.h>
#include <bits/sigevent-consts.h>
#include <bits/types/struct_timespec.h>

#ifdef __cplusplus
extern "C" {
#endif

/*
 * The members after aio_sigevent keep glibc's names and places: rtaio keeps
 * the request's status in __error_code and __return_value, as glibc does.
 */
struct aiocb {
	int aio_fildes;
	int aio_lio_opcode;
	int aio_reqprio;
	volatile void *aio_buf;
	size_t aio_nbytes;
	struct sigevent aio_sigevent;
	struct aiocb *__next_prio;
	int __abs_prio;
	int __policy;
	int __error_code;
	__ssize_t __return_value;
#if !defined __USE_FILE_OFFSET64 && __WORDSIZE == 32
	__off_t aio_offset;
	char __pad[sizeof(__off64_t) - sizeof(__off_t)];
#elif defined __USE_FILE_OFFSET64
	__off64_t aio_offset;
#else
	__off_t aio_offset;
#endif
	char __glibc_reserved[32];
};

#ifdef __USE_LARGEFILE64
struct aiocb64 {
	int aio_fildes;
	int aio_lio_opcode;
	int aio_reqprio;
	volatile void *aio_buf;
	size_t aio_nbytes;
	struct sigevent aio_sigevent;
	struct aiocb *__next_prio;
	int __abs_prio;
	int __policy;
	int __error_code;
	__ssize_t __return_value;
	__off64_t aio_offset;
	char __glibc_reserved[32];
};
#endif

#ifdef __USE_GNU
/* aio_init(3): tuning hints (rtaio uses aio_threads and aio_idle_time). */
struct aioinit {
	int aio_threads;
	int aio_num;
	int aio_locks;
	int aio_usedba;
	int aio_debug;
	int aio_numusers;
	int aio_idle_time;
	int aio_reserved;
};
#endif

enum {
	AIO_CANCELED,
#define AIO_CANCELED AIO_CANCELED
	AIO_NOTCANCELED,
#define AIO_NOTCANCELED AIO_NOTCANCELED
	AIO_ALLDONE
#define AIO_ALLDONE AIO_ALLDONE
};

enum {
	LIO_READ,
#define LIO_READ LIO_READ
	LIO_WRITE,
#define LIO_WRITE LIO_WRITE
	LIO_NOP
#define LIO_NOP LIO_NOP
};

enum {
	LIO_WAIT,
#define LIO_WAIT LIO_WAIT
	LIO_NOWAIT
#define LIO_NOWAIT LIO_NOWAIT
};

#ifdef __USE_GNU
extern void aio_init(const struct aioinit *__init);
#endif

#ifdef __cplusplus
#define __RTAIO_RESTRICT
#else
#define __RTAIO_RESTRICT restrict
#endif

/*
 * With _FILE_OFFSET_BITS=64 the plain names are bound to the *64 symbols,
 * as glibc's header does, so that such programs reference what they would
 * reference with glibc.
 */
#ifndef __USE_FILE_OFFSET64
#define __RTAIO_NAME(name, name64) /* the plain symbol */
#else
#define __RTAIO_NAME(name, name64) __asm__(#name64)
#endif
/*
 * And with _TIME_BITS=64 where time_t has 32 bits by default (i386, armhf),
 * aio_suspend takes a 64-bit struct timespec: the symbol that does is
 * __aio_suspend_time64, for aio_suspend64 too.
 */
#ifdef __USE_TIME_BITS64
#define __RTAIO_SUSPEND __asm__("__aio_suspend_time64")
#define __RTAIO_SUSPEND64 __asm__("__aio_suspend_time64")
#else
#define __RTAIO_SUSPEND __RTAIO_NAME(aio_suspend, aio_suspend64)
#define __RTAIO_SUSPEND64 /* the plain symbol */
#endif

extern int aio_read(struct aiocb *__aiocbp) __RTAIO_NAME(aio_read, aio_read64);
extern int aio_write(struct aiocb *__aiocbp) __RTAIO_NAME(aio_write, aio_write64);
extern int lio_listio(int __mode, struct aiocb *const __list[], int __nent,
		      struct sigevent *__RTAIO_RESTRICT __sig)
	__RTAIO_NAME(lio_listio, lio_listio64);
extern int aio_error(const struct aiocb *__aiocbp) __RTAIO_NAME(aio_error, aio_error64);
extern __ssize_t aio_return(struct aiocb *__aiocbp) __RTAIO_NAME(aio_return, aio_return64);
extern int aio_cancel(int __fildes, struct aiocb *__aiocbp)
	__RTAIO_NAME(aio_cancel, aio_cancel64);
extern int aio_suspend(const struct aiocb *const __list[], int __nent,
		       const struct timespec *__RTAIO_RESTRICT __timeout) __RTAIO_SUSPEND;
extern int aio_fsync(int __operation, struct aiocb *__aiocbp)
	__RTAIO_NAME(aio_fsync, aio_fsync64);

#ifdef __USE_LARGEFILE64
extern int aio_read64(struct aiocb64 *__aiocbp);
extern int aio_write64(struct aiocb64 *__aiocbp);
extern int lio_listio64(int __mode, struct aiocb64 *const __list[], int __nent,
			struct sigevent *__RTAIO_RESTRICT __sig);
extern int aio_error64(const struct aiocb64 *__aiocbp);
extern __ssize_t aio_return64(struct aiocb64 *__aiocbp);
extern int aio_cancel64(int __fildes, struct aiocb64 *__aiocbp);
extern int aio_suspend64(const struct aiocb64 *const __list[], int __nent,
			 const struct timespec *__RTAIO_RESTRICT __timeout) __RTAIO_SUSPEND64;
extern int aio_fsync64(int __operation, struct aiocb64 *__aiocbp);
#endif

#undef __RTAIO_NAME
#undef __RTAIO_SUSPEND
#undef __RTAIO_SUSPEND64
#undef __RTAIO_RESTRICT

#ifdef __cplusplus
}
#endif

#endif /* _AIO_H */
