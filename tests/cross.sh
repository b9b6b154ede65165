#!/bin/sh
# tests/cross.sh [HOST...]: build rtaio with Debian's cross toolchain for
# each HOST (default: aarch64-linux-gnu, i686-linux-gnu, arm-linux-gnueabihf),
# check that the library carries exactly the symbol versions of that
# architecture's libc.so.6, and run
# tests/preload.sh under qemu-user: an unmodified program built against the
# host's glibc, on glibc's AIO and on rtaio's through LD_PRELOAD, by every
# name and version it references.  qemu-user has no io_uring, so rtaio runs
# its thread backend there.  Exits 77 when a cross compiler or qemu is
# missing (build-aux/setup-debian.sh installs them).  About two minutes per
# host on 2 CPUs.
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
[ $# -gt 0 ] || set -- aarch64-linux-gnu i686-linux-gnu arm-linux-gnueabihf
status=0
for host; do
	cpu=${host%%-*}
	case $cpu in i?86) cpu=i386 ;; esac
	qemu=qemu-$cpu
	if ! command -v "$host-gcc" >/dev/null || ! command -v "$qemu" >/dev/null ||
		[ ! -d "/usr/$host/lib" ]; then
		echo "SKIP: $host-gcc, $qemu or /usr/$host is missing"
		exit 77
	fi
	echo "== $host"
	build=$(mktemp -d "${TMPDIR:-/tmp}/rtaio-cross.XXXXXX")
	# shellcheck disable=SC2064
	trap "rm -rf '$build'" EXIT
	if ! (cd "$build" && "$top/configure" -q --host="$host" --enable-werror >configure.log 2>&1 &&
		make -s -j"$(nproc)" >make.log 2>&1 &&
		make -s tests/glibc_aio_prog tests/time64_prog >>make.log 2>&1); then
		echo "FAIL: the $host build"
		tail -n 20 "$build/configure.log" "$build/make.log" 2>/dev/null | sed 's/^/# /'
		status=1
		continue
	fi
	vars="NM=$host-nm $(sed -n 's/^\(HOST_LIBC\|GLIBC_AIO_BASE\|GLIBC_OLD_LIO\|GLIBC_TIME64\) = /\1=/p' \
		"$build/Makefile" | tr '\n' ' ')"
	# shellcheck disable=SC2086
	env $vars top_srcdir="$top" top_builddir="$build" sh "$top/tests/symbols.sh" || status=1
	# shellcheck disable=SC2086
	# The target's libraries first: the build machine's ld.so.cache, which
	# the target's ld.so reads too, may list another build of them (/lib32
	# of libc6-i386, which hangs in pthread_create with the cross ld.so).
	env $vars top_srcdir="$top" top_builddir="$build" \
		RUNNER="$qemu -L /usr/$host -E LD_LIBRARY_PATH=/lib" \
		sh "$top/tests/preload.sh" || status=1
	# a program built with _TIME_BITS=64 waits through asys
	$qemu -L "/usr/$host" -E LD_LIBRARY_PATH=/lib "$build/tests/time64_prog" || status=1
	rm -rf "$build"
done
exit "$status"
