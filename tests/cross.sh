#!/bin/sh
# tests/cross.sh [HOST...]: build rtaio with Debian's cross toolchain for
# each HOST (default: aarch64-linux-gnu, i686-linux-gnu, arm-linux-gnueabihf,
# s390x-linux-gnu), install it (DESTDIR), check that the library carries
# exactly the symbol versions of that architecture's libc.so.6, and run
# under qemu-user tests/preload.sh (an unmodified program built against the
# host's glibc, on glibc's AIO and on rtaio's through LD_PRELOAD, by every
# name and version it references),
# tests/time64_prog, then the Check suites listed in $suites, linked with
# the target's Check (Debian's multiarch check:arm64, check:i386,
# check:armhf, check:ppc64el, check:s390x; none for riscv64-linux-gnu,
# whose suites are not run), with RTAIO_TEST_UNDER_QEMU=1: the tests that
# need what qemu-user lacks skip with the reason (tests/testutil.h,
# under_qemu).  qemu-user has no io_uring, so rtaio runs
# its thread backend there.  Exits 77 when a cross compiler or qemu is
# missing (build-aux/setup-debian.sh installs them).  About two and a half
# to four minutes per host on 2 busy CPUs, most of it the suites.
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
[ $# -gt 0 ] || set -- aarch64-linux-gnu i686-linux-gnu arm-linux-gnueabihf s390x-linux-gnu
# The POSIX AIO suites and the engine's, on every architecture.  What
# qemu-user lacks (a fork of a process with threads, seccomp, userfaultfd,
# running the target's program again) each test leaves out, saying so.
suites="test_aio_abi test_aio_rw test_aio_listio test_aio_suspend test_aio_cancel test_aio_notify
	test_aio_concurrency test_chain test_wait test_cancel test_stats test_submit test_volume
	test_pool test_faults test_fork test_backend test_refusals test_unload"
status=0
for host; do
	cpu=${host%%-*}
	case $cpu in i?86) cpu=i386 ;; esac
	# qemu-user names some CPUs otherwise than the GNU triplet does.
	case $cpu in
	powerpc64le) qemu=qemu-ppc64le ;;
	*) qemu=qemu-$cpu ;;
	esac
	if ! command -v "$host-gcc" >/dev/null || ! command -v "$qemu" >/dev/null ||
		[ ! -d "/usr/$host/lib" ]; then
		echo "SKIP: $host-gcc, $qemu or /usr/$host is missing"
		exit 77
	fi
	echo "== $host"
	build=$(mktemp -d "${TMPDIR:-/tmp}/rtaio-cross.XXXXXX")
	# shellcheck disable=SC2064
	trap "rm -rf '$build'" EXIT
	# The target's Check is in Debian's multiarch directory, which the
	# compiler names (i386-linux-gnu for i686-linux-gnu); configure finds
	# it there.
	multiarch=$("$host-gcc" -print-multiarch)
	# Where time_t has 32 bits, the library is built as Debian builds the
	# packages of its 64-bit time_t architectures (armhf: dpkg-buildflags
	# adds -D_FILE_OFFSET_BITS=64 -D_TIME_BITS=64), the tests as programs
	# built without those are: test_aio_suspend then checks that
	# aio_suspend reads their 32-bit struct timespec (lib/time_bits.h).
	if ! (cd "$build" && "$top/configure" -q --host="$host" --enable-werror >configure.log 2>&1 &&
		{ ! grep -q '^GLIBC_TIME64 = yes' Makefile ||
			make -s -j"$(nproc)" lib/librtaio.la \
				CPPFLAGS="-D_FILE_OFFSET_BITS=64 -D_TIME_BITS=64" >make.log 2>&1; } &&
		make -s -j"$(nproc)" >>make.log 2>&1 &&
		make -s tests/glibc_aio_prog tests/time64_prog >>make.log 2>&1); then
		echo "FAIL: the $host build"
		tail -n 20 "$build/configure.log" "$build/make.log" 2>/dev/null | sed 's/^/# /'
		status=1
		continue
	fi
	# it installs: the library, its headers and pkg-config file, for the target
	root=$build/root
	if ! (cd "$build" && make -s install DESTDIR="$root" prefix=/usr >>make.log 2>&1) ||
		! "$host-readelf" -h "$root/usr/lib/librtaio.so.0" >"$build/elf.txt" 2>&1 ||
		[ ! -f "$root/usr/include/rtaio/aio.h" ] || [ ! -f "$root/usr/lib/pkgconfig/rtaio.pc" ]; then
		echo "FAIL: make install of the $host build"
		tail -n 20 "$build/make.log" "$build/elf.txt" 2>/dev/null | sed 's/^/# /'
		status=1
	else
		echo "PASS: make install ($(sed -n 's/^ *Machine: *//p' "$build/elf.txt"))"
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
	# Whether configure found the target's Check: automake writes no
	# HAVE_CHECK_TRUE line into the Makefile, config.status has it.
	if grep -q '^S\["HAVE_CHECK_TRUE"\]="#"' "$build/config.status"; then
		case $cpu in
		riscv64)
			# Debian 12 has no riscv64 architecture (it came with
			# Debian 13), so no check:riscv64 to install: only the
			# cross toolchain and libc are packaged for it.
			echo "NOT RUN: the Check suites for $host (Debian 12 has no riscv64 packages, no check:riscv64)"
			;;
		*)
			echo "FAIL: no Check for $host in /usr/lib/$multiarch (build-aux/setup-debian.sh installs it)"
			status=1
			;;
		esac
	elif ! (cd "$build" && for s in $suites; do echo "tests/$s"; done |
		xargs make -s -j"$(nproc)" >>make.log 2>&1); then
		echo "FAIL: the $host Check suites do not build"
		tail -n 20 "$build/make.log" | sed 's/^/# /'
		status=1
	else
		# Check's libsubunit from the multiarch directory, after the
		# target's libc in /lib (see above); the uninstalled librtaio.
		# qemu is about ten times slower: RTAIO_TEST_SCALE shortens the
		# loops, the timeouts are longer.
		# Programs that libtool did not wrap (test_refusals is static,
		# test_unload loads the library itself) are in tests/.  From the
		# build directory, as make check runs them (test_unload opens
		# ./lib/.libs/librtaio.so).
		for s in $suites; do
			rc=0
			prog=$build/tests/.libs/$s
			[ -e "$prog" ] || prog=$build/tests/$s
			(cd "$build" && env RTAIO_TEST_UNDER_QEMU=1 RTAIO_TEST_SCALE=10 \
				CK_TIMEOUT_MULTIPLIER=3 "$qemu" -L "/usr/$host" \
				-E "LD_LIBRARY_PATH=/lib:$build/lib/.libs:/usr/lib/$multiarch" \
				"$prog") >"$build/$s.log" 2>&1 || rc=$?
			case $rc in
			0)
				echo "PASS: $s ($(grep -o 'Checks: [0-9]*' "$build/$s.log" | tr '\n' ' ')under $qemu)"
				# what the suite left out, and why
				sed -n -e 's/^under qemu-user, \(.*\): not checked$/#   not checked: \1/p' \
					-e t -e 's/^\(.*\): not checked$/#   not checked: \1/p' \
					"$build/$s.log" | sort -u
				;;
			77) echo "SKIP: $s under $qemu ($(sed -n 's/^SKIP: //p' "$build/$s.log" | head -n 1))" ;;
			*)
				echo "FAIL: $s under $qemu"
				grep -v '^Running' "$build/$s.log" | tail -n 30 | sed 's/^/# /'
				status=1
				;;
			esac
		done
	fi
	rm -rf "$build"
done
exit "$status"
