#!/bin/sh
# The whole test suite: set up, then build and run `make check` plainly, with
# AddressSanitizer + UndefinedBehaviorSanitizer, and with ThreadSanitizer; the
# soak (plain build), the stress test (plain and TSan builds) and a bounded
# libFuzzer run (clang build), the model checker on a random seed (plain
# build), test_aio_rw and the model under the cgroup freezer (plain build),
# the Debian packages; then `make distcheck`.  Exits non-zero if
# anything fails.  On 2 CPUs the soak, stress, fuzzing and model steps take
# about 14 minutes together (4.3 soak, 4.8 stress plain, 0.8 stress TSan, 0.6
# fuzz build, 1.7 fuzzing, 2 model).
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

# The model checker (tests/aio-model) on a random seed, a minute per backend;
# a failure prints the seed and the scenario that replay it, and gdb's view
# of the violating process (tests/model-hold.sh), for a violation that its
# replay does not reproduce.  Plain build:
# the sanitizer builds' make check runs tests/aio-model.sh (the regression
# scenarios and 15 s of a random seed per backend, with the sanitizer's
# runtime preloaded before librtaio), about a minute in each.
# The statistics report (RTAIO_STATS) says how many owed reads the runs
# made and how many the reaper found done with no wake-up from the kernel
# (lib/asys/read_owed.c: the scenarios' signals delay or cancel it; the
# reaper's looks finish them, and a read left in progress is the model's
# violation).
model_stats=$(mktemp)
for backend in threads uring; do
	echo "== aio-model ($backend, 60 s)"
	: >"$model_stats"
	sh tests/model-hold.sh LD_PRELOAD=build/plain/lib/.libs/librtaio.so RTAIO_BACKEND=$backend \
		RTAIO_STATS="$model_stats" \
		build/plain/tests/aio-model --seconds 60 --pty yes --disguise yes || [ $? -eq 77 ] || status=1
	grep '^reads sent to the device' "$model_stats" || true
done
rm -f "$model_stats"

# Stops and freezes (tests/freeze.sh): the cgroup freezer, which CI's
# machines use now and then, ends the wait of a thread inside write(2) or
# read(2) as Ctrl-Z does; requests must still come out as the program asked
# (whole).  test_aio_rw (both backends, about 20 s) and 30 s of the model
# per backend, frozen 50 ms in every 250 ms; skipped without a freezer.
echo "== stops and freezes (plain, about 2 minutes)"
sh tests/freeze.sh build/plain/tests/test_aio_rw || [ $? -eq 77 ] || status=1
for backend in threads uring; do
	sh tests/freeze.sh env LD_PRELOAD=build/plain/lib/.libs/librtaio.so RTAIO_BACKEND=$backend \
		build/plain/tests/aio-model --seconds 30 --pty yes --disguise yes || [ $? -eq 77 ] || status=1
done

# Real clients (fio with crc32c verification, stress-ng --aio) on librtaio
# for minutes, on both backends.
echo "== soak (plain, 4 minutes)"
sh tests/soak.sh --minutes 4 build/plain || status=1

build asan --enable-sanitizers=address,undefined
check asan RTAIO_TEST_SCALE=10 ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 \
	UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 AIO_MODEL_SEED=random AIO_MODEL_SECONDS=15

build tsan --enable-sanitizers=thread
# By design a thread inside a blocking system call or a program's SIGEV_THREAD
# function is not joined at exit; TSan's default one-second pause at exit
# (atexit_sleep_ms) would let such a thread finish and be reported as leaked.
check tsan RTAIO_TEST_SCALE=10 AIO_MODEL_SEED=random AIO_MODEL_SECONDS=15 \
	TSAN_OPTIONS=halt_on_error=1:second_deadlock_stack=1:atexit_sleep_ms=0

# Stress (tests/stress.sh): threads submitting, cancelling, waiting and
# forking at once, every result verified, under both backends with and
# without inline reads: 10 million requests in the plain build (about 5
# minutes on 2 CPUs), 400,000 (4 million / RTAIO_TEST_SCALE=10) under TSan
# (under a minute).
# stress NAME REQUESTS [VAR=VALUE...]: make stress in build/NAME.
stress() {
	name=$1
	requests=$2
	shift 2
	echo "== stress ($name)"
	(cd "build/$name" && env "$@" make -s stress STRESS_REQUESTS="$requests") || status=1
}
stress plain 10000000
stress tsan 4000000 RTAIO_TEST_SCALE=10 \
	TSAN_OPTIONS=halt_on_error=1:second_deadlock_stack=1:atexit_sleep_ms=0

# libFuzzer (clang, with ASan and UBSan) over the POSIX AIO API: the seeds,
# then 50 s of fuzzing under each backend (tests/fuzz.sh; FUZZ_SECONDS).
build fuzz CC=clang --enable-fuzzing
echo "== fuzz"
sh tests/fuzz.sh build/fuzz || status=1

# Cross builds (tests/cross.sh): aarch64, i386, armhf and s390x (the one
# big-endian) with Debian's cross toolchains, their symbol versions against
# their libc.so.6, an unmodified glibc program on them and every Check suite
# under qemu-user (2.5 to 3.5 minutes each on 2 CPUs, 10 to 14 for the
# four).  powerpc64le and riscv64 pass too, by hand (tests/cross.sh HOST).
echo "== cross (aarch64, i386, armhf, s390x, qemu-user)"
sh tests/cross.sh aarch64-linux-gnu i686-linux-gnu arm-linux-gnueabihf s390x-linux-gnu || status=1

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

# The Debian packages (tests/debian-packages.sh): built from a clean clone
# of the committed tree, lintian, installed, a POSIX AIO program, fio and
# an MPI-IO client run through the installed rtaio-run --stats with the
# reports' counts checked, removed without a trace.  4 minutes on 2 CPUs shared with other work
# (load average 7), most of it dpkg-buildpackage.
echo "== Debian packages"
sh tests/debian-packages.sh || [ $? -eq 77 ] || status=1

echo "== make distcheck"
(cd build/plain && make -s distcheck DISTCHECK_CONFIGURE_FLAGS=--enable-werror) || status=1

[ "$status" = 0 ] && echo "test-all: every suite passed" || echo "test-all: FAILED"
exit "$status"
