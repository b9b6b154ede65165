/*
 * A library to preload before librtaio, so that a whole program runs as
 * rtaio would on an older kernel (pretend_kernel.h), chosen by
 * RTAIO_TEST_PRETEND_KERNEL: 6.6, 6.2 or 5.15.  tests/old-kernels.sh uses
 * it.
 */
#include <stdlib.h>
#include <string.h>

#include "pretend_kernel.h"

__attribute__((constructor)) static void pretend_from_environment(void)
{
	const char *k = getenv("RTAIO_TEST_PRETEND_KERNEL");

	if (k && !strcmp(k, "6.6"))
		pretend_kernel = PRETEND_6_6;
	else if (k && !strcmp(k, "6.2"))
		pretend_kernel = PRETEND_6_2;
	else if (k && !strcmp(k, "5.15"))
		pretend_kernel = PRETEND_5_15;
}
