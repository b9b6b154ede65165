/*
 * Descriptors that rtaio has to keep because the kernel offers no other
 * way: a ring on kernels older than 5.18 (asys__ring_own), the ring
 * thread's eventfd doorbell before 6.7.  The program may close any number,
 * rtaio's among them (daemons close every fd they did not open), and its
 * next open() takes the lowest number free.  So a kept fd is moved high,
 * out of the way of the numbers the program gets, and is known by its file
 * (device and inode) as well as by its number: rtaio reads, writes, polls
 * or closes it only while the number still holds that file.
 *
 * The check cannot tell two anonymous-inode files apart (eventfds, epoll
 * instances and, on some kernels, rings share one inode): a program that
 * puts one of its own on the very number rtaio keeps is not caught.  A
 * file, pipe, socket or device there is.
 */
#ifndef ASYS_FD_ASIDE_H
#define ASYS_FD_ASIDE_H

#include <stdbool.h>
#include <sys/types.h>

#include "futex.h"

struct asys__fd_aside {
	int fd;		/* -1: none */
	dev_t dev;
	ino_t ino;
};

/*
 * Keep fd in a, moved to a high number when one is free (the number it had
 * is then closed).
 */
ASYS__HIDDEN void asys__fd_put_aside(struct asys__fd_aside *a, int fd);
/* Does a->fd still hold the file that was put aside? */
ASYS__HIDDEN bool asys__fd_still_aside(const struct asys__fd_aside *a);
/* Close a->fd if it still holds that file (else it is the program's now); forget it. */
ASYS__HIDDEN void asys__fd_close_aside(struct asys__fd_aside *a);

#endif
