#!/bin/sh
# A completion that nobody waits for costs the completing side no system
# call: strace counts the futex calls while a batch completes unwatched.
set -eu
bin="${top_builddir:?}/tests/wake_cost"
log=$(mktemp)
trap 'rm -f "$log"' EXIT
# LeakSanitizer cannot work under ptrace: no leak check in this one run
ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=0" \
	strace -f -q -e trace=futex,write -o "$log" "$bin" >/dev/null
# futex calls between the markers A and B, then between B and C
count() {
	awk -v from="$1" -v to="$2" '
		index($0, "write(1, \"" from) { on = 1; next }
		index($0, "write(1, \"" to) { on = 0 }
		on && /futex\(/ { n++ }
		END { print n + 0 }' "$log"
}
unwatched=$(count A B)
watched=$(count B C)
echo "futex calls for 2000 completions: $unwatched unwatched, $watched with a waiter each"
# A handful for the submission's wake-up of the worker; thousands if every
# completion woke the futex.
if [ "$unwatched" -le 20 ]; then
	echo "ok: unwatched completions make no futex calls"
else
	echo "FAIL: unwatched completions made $unwatched futex calls"
	exit 1
fi
