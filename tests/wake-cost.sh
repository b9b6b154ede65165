#!/bin/sh
# A completion that nobody waits for costs the completing side no system
# call: strace counts the futex calls on the calls' completion words while a
# batch completes unwatched, then while each has a waiter; then the futex
# wake-ups anywhere while lio_listio(LIO_WAIT) lists finish at submission;
# last, the wake-ups of a thread asleep in aio_suspend while 2048 cached
# reads complete, 64 at a time: at most one for each time it went to sleep.
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
# suspend_cost: "WAKES WAITS" between the markers F and G, on the word that
# the aio_suspend thread sleeps on: its futex waits, and anybody's wake-ups
suspend_cost() {
	awk -v tid="$(sed -n 's/^waiter //p' "$out")" '
		index($0, "write(1, \"F") { on = 1; next }
		index($0, "write(1, \"G") { on = 0 }
		$1 == tid && match($0, /futex\(0x[0-9a-f]+, FUTEX_WAIT/) {
			word = substr($0, RSTART + 6, index(substr($0, RSTART), ",") - 7)
			if (on) waits++
		}
		on && match($0, /futex\(0x[0-9a-f]+, FUTEX_WAKE/) {
			wakes[substr($0, RSTART + 6, index(substr($0, RSTART), ",") - 7)]++
		}
		END { print wakes[word] + 0, waits + 0 }' "$log"
}
unwatched=$(count A B "$lo" "$hi")
watched=$(count B C "$lo" "$hi")
watched_wakes=$(count B C)
lists=$(count D E)
read -r suspend_wakes suspend_waits <<EOF
$(suspend_cost)
EOF
echo "futex calls on 2000 completion words: $unwatched unwatched, $watched with a waiter each"
echo "futex wake-ups while 100 lists of cached reads finish at submission: $lists"
# The watched phase shows that the filters see the words and the wake-ups at all.
if [ "$watched" -eq 0 ] || [ "$watched_wakes" -eq 0 ]; then
	echo "FAIL: no futex call on a completion word even with waiters"
	exit 1
fi
echo "an aio_suspend thread woken $suspend_wakes times while 2048 reads completed; it slept $suspend_waits times"
# It was asleep when the reads began: the first of them must wake it.  The
# bound tells one wake-up per sleep from one per completion only where 64
# reads complete together (io_uring, the default where the kernel has it);
# the thread backend's one preadv2 each is slow enough under strace for the
# thread to sleep again between any two.
if [ "$suspend_wakes" -eq 0 ]; then
	echo "FAIL: no futex wake-up of the aio_suspend thread"
	exit 1
fi
if [ "$suspend_wakes" -gt $((suspend_waits + 1)) ]; then
	echo "FAIL: more wake-ups of the aio_suspend thread than times it went to sleep"
	exit 1
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
