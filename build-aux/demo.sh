#!/bin/sh
# The main job: set up, build, then show rtaio at work: unmodified programs
# built against glibc's <aio.h> (fio, bench/aio-bench) running the same POSIX
# AIO workloads under glibc and under rtaio (LD_PRELOAD, both backends), side
# by side with raw io_uring, then the engine's own benchmark and a file copy
# built on asys chains.
set -eu
cd "$(dirname "$0")/.."
sh build-aux/setup-debian.sh
autoreconf -fi >/dev/null
mkdir -p build/plain
cd build/plain
[ -f Makefile ] || ../../configure -q
make -s -j"$(nproc)"

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

echo
echo "== bench/compare.sh --quick: the same unmodified binaries under glibc and under rtaio"
sh ../../bench/compare.sh --quick .

echo
echo "== bench/asys-bench --quick: the engine alone"
./bench/asys-bench --quick

echo
echo "== examples/asys-copy: a 64 MiB file copied as pread -> pwrite chains"
head -c 67108864 /dev/urandom >"$tmp/src"
./examples/asys-copy "$tmp/src" "$tmp/dst"
cmp "$tmp/src" "$tmp/dst" && echo "copied and verified"
