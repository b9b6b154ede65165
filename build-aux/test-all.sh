#!/bin/sh
# The whole test suite: set up, then build and run `make check` plainly, with
# AddressSanitizer + UndefinedBehaviorSanitizer, and with ThreadSanitizer,
# then `make distcheck`.  Exits non-zero if anything fails.
set -eu
cd "$(dirname "$0")/.."
top=$(pwd)
sh build-aux/setup-debian.sh
autoreconf -fi >/dev/null
jobs=$(nproc)
status=0

# build NAME CONFIGURE-ARGS...: configure and build in build/NAME.
build() {
	name=$1
	shift
	rm -rf "build/$name"
	mkdir -p "build/$name"
	(cd "build/$name" && "$top/configure" -q --enable-werror "$@" && make -s -j"$jobs")
}

# check NAME [VAR=VALUE...]: make check in build/NAME; show the logs of failures.
check() {
	name=$1
	shift
	echo "== make check ($name)"
	if ! (cd "build/$name" && env "$@" make -s -j"$jobs" check); then
		cat "build/$name/test-suite.log" || true
		status=1
	fi
}

build plain
check plain

build asan --enable-sanitizers=address,undefined
check asan RTAIO_TEST_SCALE=10 ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 \
	UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1

build tsan --enable-sanitizers=thread
# By design a thread inside a blocking system call or a program's SIGEV_THREAD
# function is not joined at exit; TSan's default one-second pause at exit
# (atexit_sleep_ms) would let such a thread finish and be reported as leaked.
check tsan RTAIO_TEST_SCALE=10 \
	TSAN_OPTIONS=halt_on_error=1:second_deadlock_stack=1:atexit_sleep_ms=0

# An installed rtaio is found through pkg-config, and programs run against it.
echo "== install and pkg-config"
dest=$(mktemp -d)
# shellcheck disable=SC2086
if (cd build/plain && make -s install DESTDIR="$dest" prefix=/usr/local >/dev/null) &&
	flags=$(PKG_CONFIG_PATH="$dest/usr/local/lib/pkgconfig" PKG_CONFIG_SYSROOT_DIR="$dest" \
		pkg-config --cflags --libs rtaio) &&
	cc -o "$dest/copy" examples/asys-copy.c $flags &&
	LD_LIBRARY_PATH="$dest/usr/local/lib" "$dest/copy" README.md "$dest/readme" &&
	cmp README.md "$dest/readme" &&
	LD_LIBRARY_PATH="$dest/usr/local/lib" ldd "$dest/copy" | grep -q "$dest/usr/local/lib/librtaio.so" &&
	[ -f "$dest/usr/local/include/rtaio/asys.h" ] &&
	[ -f "$dest/usr/local/share/man/man7/asys.7" ]; then
	echo "ok: installed under DESTDIR, built with pkg-config, ran against the installed library"
else
	echo "FAIL: install or pkg-config use"
	status=1
fi
rm -rf "$dest"

echo "== make distcheck"
(cd build/plain && make -s distcheck DISTCHECK_CONFIGURE_FLAGS=--enable-werror) || status=1

[ "$status" = 0 ] && echo "test-all: every suite passed" || echo "test-all: FAILED"
exit "$status"
