#!/bin/sh
# Stress: tests/stress (see tests/stress.c) under each configuration:
# RTAIO_BACKEND=threads and RTAIO_BACKEND=uring (when this machine can set
# up an io_uring), each with page-cached reads completed inside the call and
# with RTAIO_INLINE_READS=0.  The requests are split evenly across the
# configurations that run.  Not part of `make check`: `make stress`, and
# build-aux/test-all.sh.
#
# Usage: tests/stress.sh [REQUESTS]   (default $STRESS_REQUESTS, else 10000000)
# Environment: top_builddir (default .), STRESS_SEED (default: from the
# clock; printed, so that a failure can be rerun), STRESS_THREADS (4),
# STRESS_TIMEOUT (seconds per configuration, default 600: the program's own
# watchdog fails a hang after 60 s of no progress; this is the backstop), and
# RTAIO_TEST_SCALE, which the program divides the count by (sanitizer builds).
set -u
bin="${top_builddir:-.}/tests/stress"
total=${1:-${STRESS_REQUESTS:-10000000}}
seed=${STRESS_SEED:-$(date +%s)}
threads=${STRESS_THREADS:-4}
limit=${STRESS_TIMEOUT:-600}

if [ ! -x "$bin" ]; then
	echo "stress: $bin is not built (make check or make stress builds it)"
	exit 1
fi

configs="threads:1 threads:0"
if why=$("$bin" --probe-uring); then
	configs="$configs uring:1 uring:0"
else
	echo "stress: skipping RTAIO_BACKEND=uring: $why"
fi
n=$(echo "$configs" | wc -w)
each=$((total / n))
scale=${RTAIO_TEST_SCALE:-1}
if [ "$scale" -gt 1 ] 2>/dev/null; then
	echo "stress: $total requests / RTAIO_TEST_SCALE=$scale in $n configurations," \
		"seed $seed, $threads submitting threads"
else
	echo "stress: $total requests in $n configurations, seed $seed, $threads submitting threads"
fi

status=0
sum_req=0
sum_sec=0
out=$(mktemp)
trap 'rm -f "$out"' EXIT
for c in $configs; do
	backend=${c%:*}
	inline=${c#*:}
	label="RTAIO_BACKEND=$backend, inline reads $([ "$inline" = 1 ] && echo on || echo off)"
	start=$(date +%s)
	if [ "$inline" = 1 ]; then
		RTAIO_BACKEND=$backend timeout -k 10 "$limit" \
			"$bin" -n "$each" -t "$threads" -s "$seed" >"$out" 2>&1
	else
		RTAIO_BACKEND=$backend RTAIO_INLINE_READS=0 timeout -k 10 "$limit" \
			"$bin" -n "$each" -t "$threads" -s "$seed" >"$out" 2>&1
	fi
	rc=$?
	line=$(grep '^stress: backend=' "$out")
	if [ "$rc" -eq 0 ] && [ -n "$line" ]; then
		req=$(echo "$line" | sed -n 's/.* requests=\([0-9]*\).*/\1/p')
		sec=$(echo "$line" | sed -n 's/.* seconds=\([0-9.]*\).*/\1/p')
		rate=$(echo "$line" | sed -n 's/.* rate=\([0-9]*\).*/\1/p')
		can=$(echo "$line" | sed -n 's/.* cancelled=\([0-9]*\).*/\1/p')
		echo "ok: $label: $req requests, $sec s ($rate/s), $can cancelled, 0 errors"
		grep '^  ' "$out"
		sum_req=$((sum_req + req))
		sum_sec=$(awk -v a="$sum_sec" -v b="$sec" 'BEGIN { print a + b }')
	else
		cat "$out"
		if [ "$rc" -eq 124 ] || [ "$rc" -eq 137 ]; then
			echo "FAIL: $label: still running after $limit s, killed (a hang?)"
		else
			echo "FAIL: $label: exit status $rc after $(($(date +%s) - start)) s" \
				"(rerun: RTAIO_BACKEND=$backend RTAIO_INLINE_READS=$inline" \
				"${RTAIO_TEST_SCALE:+RTAIO_TEST_SCALE=$RTAIO_TEST_SCALE }$bin" \
				"-n $each -t $threads -s $seed)"
		fi
		status=1
	fi
done
if [ "$status" -eq 0 ]; then
	echo "stress: $sum_req requests in $sum_sec s, every result verified, 0 errors"
else
	echo "stress: FAILED (seed $seed)"
fi
exit "$status"
