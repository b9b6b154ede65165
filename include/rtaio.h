/*
 * rtaio's own functions, beside the POSIX AIO names of <aio.h> (glibc's
 * API) and the engine of <asys.h>.  See rtaio_stats(3).
 */
#ifndef RTAIO_H
#define RTAIO_H

#ifdef __cplusplus
extern "C" {
#endif

/*
 * Write the statistics report (RTAIO_STATS, rtaio(7)) to the file
 * descriptor fd: 0, or -1 with errno.  An fd rather than a FILE *, so that
 * it takes no stdio lock and allocates nothing: it is async-signal-safe.
 */
extern int rtaio_stats(int __fd);

#ifdef __cplusplus
}
#endif

#endif /* RTAIO_H */
