#!/bin/sh
# A completion that nobody waits for costs the completing side no system
# call: strace counts the futex calls on the calls' completion words while a
# batch completes unwatched, then while each has a waiter; then the futex
# wake-ups anywhere while lio_listio(LIO_WAIT) lists finish at submission;
# last, the wake-ups of a thread asleep in aio_suspend while 2048 cached
# reads that it does not list complete, 64 at a time: none where the aiocb
# has room for a waiter's mark (64-bit layouts), elsewhere at most one for
# each time it went to sleep; then its own read completes and wakes it.
set -eu
bin="${top_builddir:?}/tests/wake_cost"
log=$(mktemp)
out=$(mktemp)
trap 'rm -f "$log" "$out"' EXIT
# LeakSanitizer cannot work under ptrace: no leak check in this one run
ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=0" \
	strace -f -q -e trace=futex,write -o "$log" "$bin" >"$out"
read -r lo hi <"$out"
# count FROM TO [LO HI]: futex calls between the markers FROM and TO on an
# address in [LO, HI), or the FUTEX_WAKE calls on any address; addresses
# compare as zero-padded hex strings
count() {
	awk -v from="$1" -v to="$2" -v lo="${3:-}" -v hi="${4:-}" '
		index($0, "write(1, \"" from) { on = 1; next }
		index($0, "write(1, \"" to) { on = 0 }
		on && lo == "" && /futex\(0x[0-9a-f]+, FUTEX_WAKE/ { n++ }
		on && lo != "" && match($0, /futex\(0x[0-9a-f]+/) {
			a = substr($0, RSTART + 8, RLENGTH - 8)
			while (length(a) < 16) a = "0" a
			if (a >= lo && a < hi) n++
		}
		END { print n + 0 }' "$log"
}
# suspend_cost: "DURING WAITS AFTER" on the word that the aio_suspend
# thread sleeps on: anybody's wake-ups between the markers F and G, its own
# futex waits there, and the wake-ups after G (its own read completes)
suspend_cost() {
	awk -v tid="$(sed -n 's/^waiter //p' "$out")" '
		index($0, "write(1, \"F") { phase = 1; next }
		index($0, "write(1, \"G") { phase = 2 }
		$1 == tid && match($0, /futex\(0x[0-9a-f]+, FUTEX_WAIT/) {
			word = substr($0, RSTART + 6, index(substr($0, RSTART), ",") - 7)
			if (phase == 1) waits++
		}
		phase && match($0, /futex\(0x[0-9a-f]+, FUTEX_WAKE/) {
			wakes[phase, substr($0, RSTART + 6, index(substr($0, RSTART), ",") - 7)]++
		}
		END { print wakes[1, word] + 0, waits + 0, wakes[2, word] + 0 }' "$log"
}
unwatched=$(count A B "$lo" "$hi")
watched=$(count B C "$lo" "$hi")
watched_wakes=$(count B C)
lists=$(count D E)
read -r suspend_wakes suspend_waits own_wakes <<EOF
$(suspend_cost)
EOF
echo "futex calls on 2000 completion words: $unwatched unwatched, $watched with a waiter each"
echo "futex wake-ups while 100 lists of cached reads finish at submission: $lists"
# The watched phase shows that the filters see the words and the wake-ups at all.
if [ "$watched" -eq 0 ] || [ "$watched_wakes" -eq 0 ]; then
	echo "FAIL: no futex call on a completion word even with waiters"
	exit 1
fi
echo "an aio_suspend thread woken $suspend_wakes times while 2048 reads it does not list completed; it slept $suspend_waits times; its own read woke it $own_wakes times"
# Its own read's completion must wake it: that shows the filter sees its
# word and the wake-ups on it.
if [ "$own_wakes" -eq 0 ]; then
	echo "FAIL: no futex wake-up of the aio_suspend thread when its own read completed"
	exit 1
fi
if [ "$(sed -n 's/^marks //p' "$out")" = 1 ]; then
	# a waiter's mark beside __error_code: reads it does not list wake nobody
	if [ "$suspend_wakes" -ne 0 ]; then
		echo "FAIL: reads the aio_suspend thread does not list woke it $suspend_wakes times"
		exit 1
	fi
else
	# Asleep when the reads began: the first of them wakes it.  The
	# bound tells one wake-up per sleep from one per completion only where
	# 64 reads complete together (io_uring, the default where the kernel
	# has it); the thread backend's one preadv2 each is slow enough under
	# strace for the thread to sleep again between any two.
	if [ "$suspend_wakes" -eq 0 ] || [ "$suspend_wakes" -gt $((suspend_waits + 1)) ]; then
		echo "FAIL: $suspend_wakes wake-ups of the aio_suspend thread; it went to sleep $suspend_waits times"
		exit 1
	fi
fi
if [ "$lists" -ne 0 ]; then
	echo "FAIL: lio_listio lists that nobody waited for made $lists futex wake-ups"
	exit 1
fi
if [ "$unwatched" -eq 0 ]; then
	echo "ok: unwatched completions make no futex calls"
else
	echo "FAIL: unwatched completions made $unwatched futex calls"
	exit 1
fi
