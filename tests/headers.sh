#!/bin/sh
# Each public header compiles on its own, as C11 and as C++, without warnings.
set -eu
inc="${top_srcdir:?}/include"
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
cc=${CC:-cc}
fail=0
for h in "$inc"/*.h; do
	name=$(basename "$h")
	printf '#include <%s>\n#include <%s>\nint main(void) { return 0; }\n' "$name" "$name" >"$dir/t.c"
	if $cc -std=c11 -Wall -Wextra -Werror -pedantic -I"$inc" -c "$dir/t.c" -o "$dir/t.o"; then
		echo "ok: $name as C11"
	else
		echo "FAIL: $name as C11"
		fail=1
	fi
	if ! command -v c++ >/dev/null 2>&1; then
		continue
	fi
	cp "$dir/t.c" "$dir/t.cc"
	if c++ -std=c++11 -Wall -Wextra -Werror -I"$inc" -c "$dir/t.cc" -o "$dir/t.o"; then
		echo "ok: $name as C++11"
	else
		echo "FAIL: $name as C++11"
		fail=1
	fi
done
exit "$fail"
