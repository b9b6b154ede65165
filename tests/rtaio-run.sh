#!/bin/sh
# rtaio-run(1) as a user meets it: the command runs on rtaio (the glibc-built
# tests/glibc_aio_prog finds aio_read in librtaio), with its exit status,
# its options and an LD_PRELOAD already set kept; from the build tree, from
# an install tree moved elsewhere and through a symlink; and it says so, with
# status 125, when something is wrong.
set -u
run=${top_builddir:?}/tools/rtaio-run
prog=$top_builddir/tests/glibc_aio_prog
lib=$(readlink -f "$top_builddir/lib/.libs/librtaio.so.0")
. "${top_srcdir:?}/tests/checks.sh"
# expect WHAT STATUS COMMAND...: COMMAND's exit status is STATUS; output in $dir/out.
expect() {
	what=$1 want=$2
	shift 2
	"$@" >"$dir/out" 2>&1
	got=$?
	if [ "$got" = "$want" ]; then
		pass "$what: status $got"
	else
		flunk "$what: status $got, not $want"
		sed 's/^/# /' "$dir/out"
	fi
}
# said WHAT TEXT: the last command's output has TEXT in it.
said() {
	if grep -qF -- "$2" "$dir/out"; then
		pass "$1"
	else
		flunk "$1: no '$2' in:"
		sed 's/^/# /' "$dir/out"
	fi
}
# said_line WHAT LINE: the last command's output has LINE as a line.
said_line() {
	if grep -qxF -- "$2" "$dir/out"; then
		pass "$1"
	else
		flunk "$1: no line '$2' in:"
		sed 's/^/# /' "$dir/out"
	fi
}

# The LD_PRELOAD that rtaio-run must keep: a sanitizer-built library's
# runtime, which must come first anyway, or else a library that defines no
# AIO name (the first library in LD_PRELOAD that defines one wins).
# The shell and coreutils run with it: their leaks at exit are not rtaio's
# (the Check suites look for those).
. "${top_srcdir:?}/tests/preload-runtime.sh"
if [ "$runtime" = tsan ]; then
	# rtaio-run is a shell script, and sh crashes with libtsan preloaded
	echo "SKIP: a TSan-built librtaio needs libtsan first in LD_PRELOAD, under which" \
		"the shell that runs rtaio-run crashes: tested in the plain and ASan builds"
	exit 77
fi
keep=$runtime_lib
[ -n "$keep" ] || keep=$(readlink -f "$(${CC:-cc} -print-file-name=libm.so.6)")
if [ -n "$runtime" ]; then
	ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=0"
	export ASAN_OPTIONS
fi
# with_keep COMMAND...: COMMAND with that LD_PRELOAD.
with_keep() { env LD_PRELOAD="$keep" "$@"; }

expect "--version" 0 with_keep "$run" --version
said "--version names the program" "rtaio-run (rtaio) "
expect "--help" 0 with_keep "$run" --help
said "--help shows --backend" "--backend"

expect "the command's status" 7 with_keep "$run" sh -c 'exit 7'
expect "the command's status after --" 3 with_keep "$run" -- sh -c 'exit 3'
expect "a command that does not exist" 127 with_keep "$run" "$dir/no-such-command"
expect "an unknown option" 125 with_keep "$run" --frobnicate true
said "an unknown option is named" "unknown option '--frobnicate'"
expect "a bad backend" 125 with_keep "$run" --backend=fast true
said "a bad backend is named" "not 'fast'"
expect "no command" 125 with_keep "$run"
expect "--backend without a value" 125 with_keep "$run" --backend

# The environment the command gets.
expect "environment" 0 env RTAIO_BACKEND=keep LD_PRELOAD="$keep" \
	"$run" sh -c 'printf "%s|%s\n" "$LD_PRELOAD" "$RTAIO_BACKEND"'
said_line "LD_PRELOAD kept, librtaio after it; RTAIO_BACKEND left alone" "$keep $lib|keep"
expect "--backend threads" 0 with_keep "$run" --backend threads sh -c 'echo "$RTAIO_BACKEND"'
said_line "--backend sets RTAIO_BACKEND" threads
expect "--backend=uring" 0 with_keep "$run" --backend=uring sh -c 'echo "$RTAIO_BACKEND"'
said_line "--backend= sets RTAIO_BACKEND" uring
expect "--stats" 0 with_keep "$run" --stats sh -c 'echo "$RTAIO_STATS"'
said_line "--stats sets RTAIO_STATS=1" 1
expect "--stats=FILE" 0 with_keep "$run" --stats=/x/%p sh -c 'echo "$RTAIO_STATS"'
said_line "--stats= sets RTAIO_STATS" /x/%p
expect "--stats= without a name" 125 with_keep "$run" --stats= true

# The command runs on rtaio, and does its AIO.
expect "from the build tree" 0 with_keep "$run" "$prog" which
said_line "aio_read is librtaio's" "$lib"
expect "a glibc-built AIO program" 0 with_keep "$run" --backend threads "$prog" basic
expect "--stats: the report on stderr" 0 with_keep "$run" --backend threads --stats "$prog" basic
said_line "--stats names the backend" "backend: threads (RTAIO_BACKEND=threads)"
# sh, which does no AIO, writes no report: the program's is the only one
mkdir "$dir/stats"
expect "--stats=FILE: the report in a file" 0 with_keep "$run" --backend threads \
	--stats="$dir/stats/%p" sh -c "\"$prog\" basic"
set -- "$dir"/stats/*
if [ $# = 1 ] && [ -f "$1" ] && grep -q '^requests: read [1-9]' "$1"; then
	pass "--stats=FILE: one report, from the AIO program, with its reads"
else
	flunk "--stats=FILE: not one report with reads in $dir/stats:"
	head -n 20 "$dir"/stats/* | sed 's/^/# /'
fi

# An install tree moved as a whole, reached through a symlink.
rel=$(sed -n "s/^libdir_from_bindir='\(.*\)'\$/\1/p" "$run")
mkdir -p "$dir/tree/bin" "$dir/tree/bin/$rel" "$dir/links"
cp "$run" "$dir/tree/bin/rtaio-run"
cp "$lib" "$dir/tree/bin/$rel/librtaio.so.0"
ln -s "$dir/tree/bin/rtaio-run" "$dir/links/rtaio-run"
installed=$(readlink -f "$dir/tree/bin/$rel/librtaio.so.0")
expect "from an install tree, through a symlink" 0 with_keep "$dir/links/rtaio-run" "$prog" which
said_line "aio_read is the install tree's librtaio" "$installed"

# Without the library.
mkdir "$dir/alone"
cp "$run" "$dir/alone/rtaio-run"
expect "without the library" 125 with_keep "$dir/alone/rtaio-run" true
said "the missing library is named" "librtaio.so.0 is missing"

exit $fail
