#!/bin/sh
# Compile and run the example program of every manual page: the first
# .EX/.EE block of the EXAMPLES section of man/*.3 and man/*.7.  Each one
# must compile without warnings against include/asys.h and the built
# librtaio, and exit 0 (within 60 seconds).  Pages without an EXAMPLES
# section are reported and skipped.
#
# Environment (the test harness sets all four): top_srcdir, top_builddir,
# CC, CFLAGS (may hold -fsanitize=...: used to compile and to link).
# Exit status: 0 all examples pass, 1 a problem.

top_srcdir=${top_srcdir:-$(cd "$(dirname "$0")/.." && pwd)}
top_builddir=$(cd "${top_builddir:-.}" && pwd) || exit 1
CC=${CC:-cc}
CFLAGS=${CFLAGS--pthread}
# Examples are held to a warning-free standard; override to relax.
EXAMPLE_CFLAGS=${EXAMPLE_CFLAGS--Wall -Wextra -Werror}

libdir=$top_builddir/lib/.libs
if [ -f "$libdir/librtaio.so" ]; then
	lib=$libdir/librtaio.so
elif [ -f "$libdir/librtaio.a" ]; then
	lib=$libdir/librtaio.a
else
	echo "FAIL: librtaio is not built in $libdir"
	exit 1
fi

tmp=$(mktemp -d "${TMPDIR:-/tmp}/man-examples.XXXXXX") || exit 1
trap 'rm -rf "$tmp"' EXIT
trap 'exit 1' HUP INT TERM

if command -v timeout >/dev/null 2>&1; then
	run_limited() { timeout 60 "$@"; }
else
	run_limited() { "$@"; }
fi

# Print the first .EX/.EE block of the EXAMPLES section of a page,
# escapes untouched.
extract() {
	awk '
		/^\.SH[ \t]/ {
			in_examples = ($0 ~ /^\.SH[ \t]+"?EXAMPLES"?[ \t]*$/)
			next
		}
		in_examples && !done && /^\.EX[ \t]*$/ { copying = 1; next }
		copying && /^\.EE[ \t]*$/ { copying = 0; done = 1; next }
		copying { print }
	' "$1"
}

# The roff escapes that a page may use in an example, and their C text.
# \e must come last, so that the backslash it produces is not read as the
# start of another escape.
unescape() {
	sed -e 's/\\-/-/g' \
	    -e "s/\\\\(aq/'/g" \
	    -e 's/\\(dq/"/g' \
	    -e 's/\\(ti/~/g' \
	    -e 's/\\(ha/^/g' \
	    -e 's/\\(rs/\\e/g' \
	    -e 's/\\&//g' \
	    -e 's/\\e/\\/g' "$1"
}

# Lines that still hold a backslash once the known escapes are gone.
unknown_escapes() {
	sed -e 's/\\e//g; s/\\-//g; s/\\(aq//g; s/\\(dq//g' \
	    -e 's/\\(ti//g; s/\\(ha//g; s/\\(rs//g; s/\\&//g' "$1" |
		grep -n '[\]'
}

status=0
found=0
for page in "$top_srcdir"/man/*.3 "$top_srcdir"/man/*.7; do
	[ -f "$page" ] || continue
	name=${page##*/}
	if ! grep -Eq '^\.SH[[:blank:]]+"?EXAMPLES"?[[:blank:]]*$' "$page"; then
		echo "skip: $name (no EXAMPLES section)"
		continue
	fi
	found=$((found + 1))
	base=$tmp/$(echo "$name" | tr . _)
	extract "$page" >"$base.roff"
	if ! [ -s "$base.roff" ]; then
		echo "FAIL: $name: no .EX/.EE program in EXAMPLES"
		status=1
		continue
	fi
	if bad=$(unknown_escapes "$base.roff"); then
		echo "FAIL: $name: unknown escapes in the example:"
		printf '%s\n' "$bad" | sed 's/^/    /'
		status=1
		continue
	fi
	unescape "$base.roff" >"$base.c"
	# shellcheck disable=SC2086 # CFLAGS and EXAMPLE_CFLAGS are word lists
	if ! "$CC" $CFLAGS $EXAMPLE_CFLAGS -I"$top_srcdir/include" \
		-o "$base" "$base.c" "$lib" >"$base.cc.log" 2>&1; then
		echo "FAIL: $name: the example does not compile:"
		sed 's/^/    /' "$base.cc.log"
		status=1
		continue
	fi
	mkdir "$base.dir"
	(
		cd "$base.dir" || exit 1
		TMPDIR=$base.dir
		LD_LIBRARY_PATH=$libdir${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}
		export TMPDIR LD_LIBRARY_PATH
		run_limited "$base" </dev/null
	) >"$base.log" 2>&1
	rc=$?
	if [ "$rc" -ne 0 ]; then
		echo "FAIL: $name: the example exited with status $rc:"
		sed 's/^/    /' "$base.log"
		status=1
	else
		echo "ok: $name"
	fi
done

if [ "$found" -eq 0 ]; then
	echo "FAIL: no manual page with an EXAMPLES section in $top_srcdir/man"
	exit 1
fi
exit $status
