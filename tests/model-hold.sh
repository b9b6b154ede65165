#!/bin/sh
# tests/model-hold.sh COMMAND...: run the model checker (COMMAND, such as
# "env LD_PRELOAD=... build/plain/tests/aio-model --seconds 60") so that a
# violation leaves evidence even when its replay does not reproduce it (a
# request stuck EINPROGRESS once in hours of runs, say): the violating
# process stays as it was (AIO_MODEL_HOLD); first the kernel's view of it,
# before a debugger's attach wakes its threads (where each thread sleeps,
# and the reads and writes the block devices have in flight: a request
# stuck at the device, or one that no thread of the library waits for);
# then gdb prints where the library's
# rings stand and what the reaper waits for (tests/model-hold.py), every
# thread's backtrace, the thread pool, the reaper, the ring backend and the
# engine; then the process is killed.  The model's output, then gdb's, on
# standard output; the status is the model's (a violation's: not 0).
# Without gdb, only the model's own account is printed.
set -u
out=$(mktemp "${TMPDIR:-/tmp}/rtaio-model-hold.XXXXXX")
trap 'rm -f "$out"' EXIT
# env execs the command, so $! is the model's own pid
AIO_MODEL_HOLD=1 env "$@" >"$out" 2>&1 &
pid=$!
held=no
while kill -0 "$pid" 2>/dev/null; do
	if grep -q 'kept for a debugger' "$out"; then
		held=yes
		break
	fi
	sleep 1
done
if [ $held = no ]; then
	wait "$pid"
	status=$?
	cat "$out"
	exit $status
fi
cat "$out"
echo "== the kernel's view of process $pid (thread, state, where it sleeps, its kernel stack)"
for task in /proc/"$pid"/task/*; do
	echo "${task##*/} $(cat "$task/comm" 2>/dev/null)" \
		"$(sed -n 's/^State:[[:space:]]*//p' "$task/status" 2>/dev/null)" \
		"wchan $(cat "$task/wchan" 2>/dev/null)"
	sed 's/^/    /' "$task/stack" 2>/dev/null
done
busy=no
for dev in /sys/block/*; do
	read -r reads writes 2>/dev/null <"$dev/inflight" || continue
	[ "$reads$writes" = 00 ] && continue
	echo "${dev##*/}: $reads reads and $writes writes in flight at the device"
	busy=yes
done
[ $busy = yes ] || echo "no read or write in flight at any block device"
if command -v gdb >/dev/null 2>&1; then
	echo "== gdb: the violating process $pid as it is"
	# each -ex runs whatever the one before said; a name this build lacks
	# only prints an error
	gdb -p "$pid" -batch -nx -ex 'set pagination off' \
		-ex "source $(dirname "$0")/model-hold.py" -ex 'info threads' \
		-ex 'thread apply all bt' \
		-ex "print 'backend_threads.c'::pool" \
		-ex "print 'read_owed.c'::reaper" \
		-ex "print 'backend_uring.c'::uring" \
		-ex "print asys__engine" 2>&1 | grep -v '^\[New LWP\|^\[Thread debugging'
else
	echo "== no gdb here: no backtraces of the violating process"
fi
kill -9 "$pid" 2>/dev/null
wait "$pid" 2>/dev/null
exit 1
