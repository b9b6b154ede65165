#!/bin/sh
# The main job: set up, build, then show rtaio at work: an unmodified fio
# (built against glibc's <aio.h>) running the same POSIX AIO workload under
# glibc and under rtaio (LD_PRELOAD), side by side, then the engine's own
# benchmark and a file copy built on asys chains.
set -eu
cd "$(dirname "$0")/.."
sh build-aux/setup-debian.sh
autoreconf -fi >/dev/null
mkdir -p build/plain
cd build/plain
[ -f Makefile ] || ../../configure -q
make -s -j"$(nproc)"
lib=$(pwd)/lib/.libs/librtaio.so

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# iops JOBNAME IODEPTH [LD_PRELOAD]: fio posixaio 4 KiB random reads of a
# page-cached file for 3 s; prints the IOPS.
iops() {
	LD_PRELOAD=${3:-} fio --name="$1" --filename="$tmp/data" --size=256m --ioengine=posixaio \
		--rw=randread --bs=4k --iodepth="$2" --time_based --runtime=3 \
		--output-format=terse --terse-version=3 | awk -F';' '{print $8}'
}

echo
echo "== fio --ioengine=posixaio, 4 KiB random reads, page-cached 256 MiB file, 3 s each"
fio --name=prep --filename="$tmp/data" --size=256m --rw=write --bs=1m >/dev/null
printf '%-10s %14s %14s %8s\n' iodepth "glibc IOPS" "rtaio IOPS" ratio
for depth in 1 32; do
	g=$(iops glibc "$depth")
	r=$(iops rtaio "$depth" "$lib")
	printf '%-10s %14s %14s %8s\n' "$depth" "$g" "$r" \
		"$(awk -v g="$g" -v r="$r" 'BEGIN { printf "%.2fx", g ? r / g : 0 }')"
done

echo
echo "== bench/asys-bench --quick: the engine alone"
./bench/asys-bench --quick

echo
echo "== examples/asys-copy: a 64 MiB file copied as pread -> pwrite chains"
head -c 67108864 /dev/urandom >"$tmp/src"
./examples/asys-copy "$tmp/src" "$tmp/dst"
cmp "$tmp/src" "$tmp/dst" && echo "copied and verified"
