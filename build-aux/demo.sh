#!/bin/sh
# The main job: set up, build, then show the engine at work.
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
echo "== examples/asys-copy: a 64 MiB file copied as pread -> pwrite chains"
head -c 67108864 /dev/urandom >"$tmp/src"
start=$(date +%s.%N)
./examples/asys-copy "$tmp/src" "$tmp/dst"
end=$(date +%s.%N)
cmp "$tmp/src" "$tmp/dst"
echo "copied and verified in $(echo "$end - $start" | bc 2>/dev/null || echo "$start -> $end") s"
echo
echo "== bench/asys-bench --quick"
./bench/asys-bench --quick
