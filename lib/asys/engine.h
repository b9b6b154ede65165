/*
 * What the layers above use of the engine beyond include/asys.h: its
 * lifetime, and what it tells them about its backend so that they can
 * choose their own fast paths.
 */
#ifndef ASYS_ENGINE_H
#define ASYS_ENGINE_H

#include <stdbool.h>

#include "futex.h"

/*
 * Unloading the library (or exiting): stop the engine's threads.  Layers
 * above call it first from their own unloading, since the engine's
 * completions feed them.  Idempotent.
 */
ASYS__HIDDEN void asys__unload(void);

/*
 * Does a list of calls reach the kernel in one system call (io_uring)?  A
 * layer that could run some of the calls itself, one system call each,
 * then does better to hand the list over whole.
 */
ASYS__HIDDEN bool asys__lists_whole(void);

#endif /* ASYS_ENGINE_H */
