/*
 * aio_suspend as a program built with _TIME_BITS=64 calls it, for
 * tests/glibc_aio_prog: glibc's <aio.h> then names __aio_suspend_time64,
 * which takes a 64-bit struct timespec, on architectures whose time_t has
 * 32 bits (i386, armhf), and aio_suspend64 elsewhere.
 */
#define _FILE_OFFSET_BITS 64	/* glibc takes _TIME_BITS=64 only with it */
#define _TIME_BITS 64
#include <aio.h>

/* aio_suspend(list, n, a timeout of ms milliseconds); list: struct aiocb of any layout. */
int suspend_time64_ms(const void *const list[], int n, long ms);

int suspend_time64_ms(const void *const list[], int n, long ms)
{
	const struct timespec timeout = { ms / 1000, ms % 1000 * 1000000 };

	return aio_suspend((const struct aiocb *const *)list, n, &timeout);
}
