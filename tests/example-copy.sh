#!/bin/sh
# examples/asys-copy copies files of awkward sizes exactly, and fails cleanly.
set -eu
bin="${top_builddir:?}/examples/asys-copy"
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT

fail=0
for size in 0 1 4095 262144 262145 3000001; do
	head -c "$size" /dev/urandom >"$dir/src"
	"$bin" "$dir/src" "$dir/dst"
	if cmp -s "$dir/src" "$dir/dst"; then
		echo "ok: copy of $size bytes"
	else
		echo "FAIL: copy of $size bytes differs"
		fail=1
	fi
done
if "$bin" "$dir/missing" "$dir/dst2" 2>"$dir/err"; then
	echo "FAIL: copying a missing file succeeded"
	fail=1
elif grep -q 'open: No such file or directory' "$dir/err"; then
	echo "ok: missing source reported"
else
	echo "FAIL: unexpected message: $(cat "$dir/err")"
	fail=1
fi
exit "$fail"
