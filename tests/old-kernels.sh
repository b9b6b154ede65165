#!/bin/sh
# rtaio as it runs on kernels older than this machine's, down paths that
# this kernel never makes it take (tests/pretend_kernel.h): 6.2, where the
# ring thread's doorbell is an eventfd that rtaio keeps open, and nothing
# can be registered with a ring once its fd is closed (Debian 12's own
# kernel is 6.1), and 5.15, where every ring keeps its fd as well.  (6.6
# differs from 6.2 only in that; test_faults has rtaio see it.)
# With tests/.libs/pretend-kernel.so preloaded, the Check programs that
# drive the io_uring backend run under RTAIO_BACKEND=uring, then the model
# checker does, for AIO_MODEL_SECONDS (default 20, 5 in a sanitizer build)
# on each kernel, from AIO_MODEL_SEED (as tests/aio-model.sh): half of it with its closing of the descriptors that the
# program did not open left out (the first such close retires the ring
# for good on these kernels, and the rest of the run would not use it).
# test_faults has rtaio see these kernels itself.  77 where the machine
# has no io_uring.
set -u
shim="${top_builddir:?}/tests/.libs/pretend-kernel.so"
lib="$top_builddir/lib/.libs/librtaio.so"
. "${top_srcdir:?}/tests/preload-runtime.sh"
seconds=${AIO_MODEL_SECONDS:-20}
seed=${AIO_MODEL_SEED:-16}
[ "$seed" = random ] && seed=$(od -An -N4 -tu4 /dev/urandom | tr -d ' ')
programs='test_submit test_chain test_wait test_cancel test_fork test_aio_rw
	test_aio_suspend test_aio_cancel test_aio_listio test_aio_notify
	test_aio_concurrency test_backend test_refusals test_stats'
if [ -n "$runtime" ]; then
	# the sanitizer's runtime first; runs 3 to 10 times slower
	seconds=${AIO_MODEL_SECONDS:-5}
	programs='test_submit test_aio_rw test_aio_cancel test_aio_notify'
fi
# as tests/aio-model.sh: no forks with GCC 12's ASan runtime
forks=yes
[ "$runtime" = asan ] && forks=no
closing='no yes'
if [ "$runtime" = tsan ]; then
	# ThreadSanitizer takes a close() for a write to the descriptor: the
	# model's close of rtaio's descriptors, unordered with rtaio's threads
	# by design (rtaio copes: fd_aside.h), would be reported as a race
	closing=no
	TSAN_OPTIONS="${TSAN_OPTIONS:+$TSAN_OPTIONS:}die_after_fork=0:atexit_sleep_ms=0"
	export TSAN_OPTIONS
fi
dir=$(mktemp -d "${TMPDIR:-/tmp}/rtaio-old-kernels.XXXXXX")
trap 'rm -rf "$dir"' EXIT
fail=0
for kernel in 6.2 5.15; do
	for p in $programs; do
		out="$dir/$p-$kernel"
		start=$(date +%s)
		LD_PRELOAD="${runtime_lib:+$runtime_lib }$shim" RTAIO_TEST_PRETEND_KERNEL=$kernel \
			RTAIO_TEST_BACKEND=uring "$top_builddir/tests/$p" >"$out" 2>&1
		status=$?
		took=$(($(date +%s) - start))
		if [ $status = 77 ]; then
			echo "SKIP: $p: no io_uring here"
			exit 77
		elif [ $status != 0 ]; then
			echo "FAIL: $p as on Linux $kernel (status $status, $took s):"
			grep -v ':P:' "$out" | tail -20
			fail=1
		else
			echo "ok: $p as on Linux $kernel ($took s)"
		fi
	done
	for close in $closing; do
		out="$dir/model-$kernel-$close"
		LD_PRELOAD="${runtime_lib:+$runtime_lib }$shim $lib" RTAIO_TEST_PRETEND_KERNEL=$kernel \
			RTAIO_BACKEND=uring timeout 300 "$top_builddir/tests/aio-model" \
			--seed "$seed" --seconds $((seconds / 2 > 0 ? seconds / 2 : 1)) --close-foreign $close \
			--fork "$forks" >"$out" 2>&1
		status=$?
		if [ $status != 0 ]; then
			echo "FAIL: aio-model as on Linux $kernel, closing others' descriptors: $close (status $status):"
			head -60 "$out"
			fail=1
		else
			echo "ok: aio-model as on Linux $kernel, closing others' descriptors: $close: $(tail -1 "$out")"
		fi
	done
done
exit $fail
