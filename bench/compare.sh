#!/bin/sh
# bench/compare.sh [--quick] [BUILDDIR]: the same POSIX AIO workloads under
# glibc and under rtaio (LD_PRELOAD on the same unmodified binaries, with
# each backend), with raw io_uring as the reference, alternating in rounds
# within one run; prints the medians and the ratios.
#
#   fio:   fio --ioengine=posixaio (glibc, rtaio threads, rtaio io_uring)
#          against fio --ioengine=io_uring on the same job
#   micro: bench/aio-bench (glibc, rtaio threads, rtaio io_uring) against
#          bench/uring-ref (liburing) where io_uring has an equivalent
#   psync: the rows that the kernel bounds, again on fio --ioengine=psync
#          (see ceilings below), in a second table
#
# --quick: one round of the main workloads, under a minute.  The default:
# three rounds of everything, about 15 minutes on 2 cores; --rounds N for
# more (or fewer) rounds of everything.  --baseline LIB:
# another librtaio.so (an older commit's, say) runs each workload under both
# backends right after this one, and a second table compares the two: this
# VM's figures drift by a quarter over minutes, so only runs side by side
# tell whether a change made something slower.  BUILDDIR (default
# build/plain) must hold a built tree.  Figures only: nothing is asserted.
set -eu
quick=0 baseline= rounds=3
while :; do
	case ${1:-} in
	--quick) quick=1; shift ;;
	--rounds)
		case ${2:-} in
		'' | *[!0-9]* | 0) echo "compare.sh: --rounds needs a positive count" >&2; exit 1 ;;
		esac
		rounds=$2
		shift 2 ;;
	--baseline)
		[ -f "${2:-}" ] || { echo "compare.sh: --baseline needs a library" >&2; exit 1; }
		baseline=$(cd "$(dirname "$2")" && pwd)/$(basename "$2")
		shift 2 ;;
	*) break ;;
	esac
done
build=$(cd "${1:-build/plain}" && pwd)
lib=$build/lib/.libs/librtaio.so
configs="glibc threads uring"
[ -z "$baseline" ] || configs="glibc threads threads-base uring uring-base"
aiob=$build/bench/aio-bench
ref=$build/bench/uring-ref
for f in "$lib" "$aiob"; do
	[ -e "$f" ] || { echo "compare.sh: $f is missing: build first" >&2; exit 1; }
done
[ -x "$ref" ] || ref=
command -v fio >/dev/null || { echo "compare.sh: fio is missing" >&2; exit 1; }

if [ $quick = 1 ]; then
	rounds=1 runtime=2 n=5000 wake=300 listn=20000
else
	runtime=3 n=20000 wake=2000 listn=200000
fi
tmp=$(mktemp -d "${TMPDIR:-/tmp}/rtaio-bench.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
results=$tmp/results

# run CONFIG COMMAND...: under glibc, rtaio (each backend) or as it is
run() {
	config=$1
	shift
	case $config in
	glibc | ref | psync) "$@" ;;
	threads) LD_PRELOAD=$lib RTAIO_BACKEND=threads "$@" ;;
	uring) LD_PRELOAD=$lib RTAIO_BACKEND=uring "$@" ;;
	threads-base) LD_PRELOAD=$baseline RTAIO_BACKEND=threads "$@" ;;
	uring-base) LD_PRELOAD=$baseline RTAIO_BACKEND=uring "$@" ;;
	esac
}

# fio_job NAME PATH ENGINE CONFIG ARGS...: record the job's IOPS (reads + writes,
# of all its jobs), and the CPU time that the whole process (fio, and the
# threads of the AIO library in it) spent per I/O, in microseconds: on this
# VM, whose speed swings with its host, a steadier figure than IOPS for
# telling whether a change made the library cheaper.  It counts fio's set-up
# too (its --pre_read of the cached file, some milliseconds, alike in every
# configuration).  PATH is a file, or a directory holding bench.0, bench.1, ...:
# one file per job (--numjobs), the jobs being threads of one process, as two
# threads of a program submitting at once.
# sh has no local variables: these names must not be the caller's.
fio_job() {
	job=$1 path=$2 engine=$3 config=$4
	shift 4
	# fio would lay out a missing file itself, and every configuration must
	# run on the one prepared file
	if [ -d "$path" ]; then
		[ -f "$path/bench.0" ] || { echo "compare.sh: $path/bench.0 is missing" >&2; exit 1; }
		# shellcheck disable=SC2016
		set -- --directory="$path" --filename_format='$jobname.$jobnum' --thread \
			--group_reporting "$@"
	else
		[ -f "$path" ] || { echo "compare.sh: $path is missing" >&2; exit 1; }
		set -- --filename="$path" "$@"
	fi
	# the pages the previous write job dirtied are written back now, not during this job
	sync
	run "$config" /usr/bin/time -f '%U %S' -o "$tmp/cpu" fio --name=bench \
		--ioengine="$engine" --time_based --runtime="$runtime" --invalidate=0 \
		--output-format=terse,json --terse-version=3 "$@" >"$tmp/terse"
	# terse v3 (the first line): read IOPS and runtime (ms) in fields 8 and
	# 9, writes' in 49 and 50; the fsyncs from the JSON that follows.  fio
	# 3.33's --fsync=N, once N writes are issued, issues an fsync in every
	# slot it refills until one of them completes, so how many a job makes
	# depends on how fast the engine completes them (measured: 0.27 per
	# write on rtaio, 0.50 on io_uring, 0.85 on glibc): the fsyncs per
	# write say what the IOPS of such a row paid for.
	awk -F';' -v job="$job" -v config="$config" -v cpu="$(cat "$tmp/cpu")" '
	/^3;/ {
		ios = $8 * $9 / 1000 + $49 * $50 / 1000
		writes = $49 * $50 / 1000
		split(cpu, t, " ")
		printf "%s %s %.0f\n", job, config, $8 + $49
		if (ios > 0)
			printf "%s:cpu_per_io %s %.2f us\n", job, config, (t[1] + t[2]) * 1e6 / ios
	}
	/"sync" : \{/ { in_sync = 1 }
	in_sync && /"total_ios"/ {
		in_sync = 0
		if (match($0, /[0-9]+/))
			syncs = substr($0, RSTART, RLENGTH)
	}
	END {
		if (syncs > 0 && writes > 0)
			printf "%s:fsyncs_per_write %s %.3f\n", job, config, syncs / writes
	}' "$tmp/terse" >>"$results"
}

# The fio workloads: name, file, fio arguments.
workloads() {
	echo "cached-randread-qd1 cached --rw=randread --bs=4k --iodepth=1"
	echo "cached-randread-qd32 cached --rw=randread --bs=4k --iodepth=32"
	[ $quick = 1 ] || echo "cached-randread-qd128 cached --rw=randread --bs=4k --iodepth=128"
	[ $quick = 1 ] || echo "direct-randread-qd1 direct --rw=randread --bs=4k --iodepth=1 --direct=1"
	echo "direct-randread-qd32 direct --rw=randread --bs=4k --iodepth=32 --direct=1"
	[ $quick = 1 ] || echo "direct-randread-qd128 direct --rw=randread --bs=4k --iodepth=128 --direct=1"
	[ $quick = 1 ] || echo "randwrite-qd32 cached --rw=randwrite --bs=4k --iodepth=32"
	[ $quick = 1 ] || echo "direct-randwrite-qd32 direct --rw=randwrite --bs=4k --iodepth=32 --direct=1"
	[ $quick = 1 ] || echo "randrw-70-30-qd32 cached --rw=randrw --rwmixread=70 --bs=4k --iodepth=32"
	[ $quick = 1 ] || echo "randwrite-fsync32-qd32 cached --rw=randwrite --bs=4k --iodepth=32 --fsync=32"
	[ $quick = 1 ] || echo "seqread-128k-qd32 cached --rw=read --bs=128k --iodepth=32"
	[ $quick = 1 ] || echo "2jobs-cached-randread-qd32 two --rw=randread --bs=4k --iodepth=32 --numjobs=2"
	[ $quick = 1 ] || echo "2jobs-randwrite-qd32 two --rw=randwrite --bs=4k --iodepth=32 --numjobs=2"
}

# Where the kernel is what bounds a row: the same job on fio's psync engine,
# one thread (per job) making its own system calls, with no queue and no
# hand-off.  A buffered write takes its inode's lock, so no number of
# threads writing one file outruns one thread's pwrite loop (the last line
# runs two on one file to show it); a cached read at qd 1 costs one system
# call at least; an O_DIRECT read at qd 1 is the device's latency.  Not
# the 128 KiB reads: psync copies into one buffer, which stays in the CPU's
# cache, where qd 32 cycles through 4 MiB of them.
ceilings() {
	echo "cached-randread-qd1 cached --rw=randread --bs=4k"
	[ $quick = 1 ] || echo "direct-randread-qd1 direct --rw=randread --bs=4k --direct=1"
	[ $quick = 1 ] || echo "randwrite-qd32 cached --rw=randwrite --bs=4k"
	[ $quick = 1 ] || echo "2jobs-randwrite-qd32 two --rw=randwrite --bs=4k --numjobs=2"
	[ $quick = 1 ] ||
		echo "randwrite-2threads-1file cached --rw=randwrite --bs=4k --numjobs=2 --thread --group_reporting"
}

# micro CONFIG: the micro-benchmarks, as "name value unit" lines
micro() {
	config=$1
	for what in "sigev-thread $n" "sigev-signal $n" "suspend-wake $wake" \
		"listio 64 $listn" "listio 1024 $listn" "outstanding 10000" "read-cpu $listn"; do
		# shellcheck disable=SC2086
		set -- $what
		label=$1
		[ "$1" = listio ] && label="listio-$2"
		# shellcheck disable=SC2086
		run "$config" "$aiob" $what | while read -r metric value unit; do
			echo "$label:$metric $config $value $unit"
		done >>"$results"
	done
}

micro_ref() {
	[ -n "$ref" ] || return 0
	for pair in "sigev-thread reap $n" "sigev-signal reap $n" "suspend-wake pipe-wake $wake" \
		"listio-64 batch 64 $listn" "listio-1024 batch 1024 $listn"; do
		# shellcheck disable=SC2086
		set -- $pair
		label=$1
		shift
		"$ref" "$@" | while read -r metric value unit; do
			echo "$label:$metric ref $value $unit"
		done >>"$results"
	done
}

fio --name=prep --filename="$tmp/cached" --size=64m --rw=write --bs=1m >/dev/null
fio --name=prep --filename="$tmp/direct" --size=512m --rw=write --bs=1m >/dev/null
mkdir "$tmp/two"
for job in 0 1; do
	fio --name=prep --filename="$tmp/two/bench.$job" --size=64m --rw=write --bs=1m >/dev/null
done
: >"$results"
round=1
while [ $round -le $rounds ]; do
	echo "round $round of $rounds" >&2
	workloads | while read -r name file args; do
		# the cached file is read into the page cache before each job
		size=64m cache=--pre_read=1
		[ "$file" = direct ] && size=512m cache=
		for config in $configs; do
			# shellcheck disable=SC2086
			fio_job "$name" "$tmp/$file" posixaio "$config" --size=$size $cache $args
		done
		# shellcheck disable=SC2086
		fio_job "$name" "$tmp/$file" io_uring ref --size=$size $cache $args
	done
	ceilings | while read -r name file args; do
		size=64m cache=--pre_read=1
		[ "$file" = direct ] && size=512m cache=
		# shellcheck disable=SC2086
		fio_job "$name" "$tmp/$file" psync psync --size=$size $cache $args
	done
	for config in $configs; do
		micro "$config"
	done
	micro_ref
	round=$((round + 1))
done

echo
echo "== $(nproc) CPUs, $(uname -r), $(fio --version), $(sed -n 's/^model name[^:]*: //p' /proc/cpuinfo | head -1)"
echo "== medians of $rounds round(s); fio runs ${runtime} s each, files in ${TMPDIR:-/tmp}"
# The table: medians per workload and configuration, then the ratios.
awk '
function median(key,    n, i, j, t, v) {
	n = split(vals[key], v, " ")
	if (n == 0) return ""
	for (i = 1; i <= n; i++) for (j = i + 1; j <= n; j++)
		if (v[j] + 0 < v[i] + 0) { t = v[i]; v[i] = v[j]; v[j] = t }
	return v[int((n + 1) / 2)]
}
function ratio(a, b) { return (a == "" || b == "" || b + 0 == 0) ? "-" : sprintf("%.2fx", a / b) }
{
	if (!($1 in seen)) { seen[$1] = 1; order[++rows] = $1 }
	vals[$1 SUBSEP $2] = vals[$1 SUBSEP $2] " " $3
	if (NF > 3) unit[$1] = $4
}
END {
	printf "%-40s %11s %11s %11s %11s %9s %9s %9s\n", "workload (fio: IOPS)", "glibc",
	       "rtaio-thr", "rtaio-uring", "io_uring", "thr/glibc", "urg/glibc", "urg/ring"
	for (r = 1; r <= rows; r++) {
		k = order[r]
		g = median(k SUBSEP "glibc"); t = median(k SUBSEP "threads")
		u = median(k SUBSEP "uring"); f = median(k SUBSEP "ref")
		if (g == "") continue	# a psync job alone: in the table below
		name = k (k in unit ? " (" unit[k] ")" : "")
		printf "%-40s %11s %11s %11s %11s %9s %9s %9s\n", name, g, t, u,
		       f == "" ? "-" : f, ratio(t, g), ratio(u, g), ratio(u, f)
	}
	print "ratios are value / value: above 1 is better for IOPS and per_s, worse for us and bytes"
	print ""
	print "== the same jobs on fio --ioengine=psync: one thread per job, making its own system calls"
	printf "%-40s %11s %11s %11s %11s %11s\n", "workload (fio: IOPS)", "psync",
	       "glibc/psync", "thr/psync", "urg/psync", "ring/psync"
	for (r = 1; r <= rows; r++) {
		k = order[r]
		p = median(k SUBSEP "psync")
		if (p == "") continue
		g = median(k SUBSEP "glibc"); t = median(k SUBSEP "threads")
		u = median(k SUBSEP "uring"); f = median(k SUBSEP "ref")
		printf "%-40s %11s %11s %11s %11s %11s\n", k, p, ratio(g, p), ratio(t, p),
		       ratio(u, p), ratio(f, p)
	}
}' "$results"

[ -n "$baseline" ] || exit 0
echo
echo "== against $baseline: medians, and the range of the rounds"
awk '
function sorted(key, v,    n, i, j, t) {
	n = split(vals[key], v, " ")
	for (i = 1; i <= n; i++) for (j = i + 1; j <= n; j++)
		if (v[j] + 0 < v[i] + 0) { t = v[i]; v[i] = v[j]; v[j] = t }
	return n
}
function cell(key,    v, n) {
	n = sorted(key, v)
	return n == 0 ? "-" : sprintf("%s [%s-%s]", v[int((n + 1) / 2)], v[1], v[n])
}
function med(key,    v, n) { n = sorted(key, v); return n == 0 ? "" : v[int((n + 1) / 2)] }
function ratio(a, b) { return (a == "" || b == "" || b + 0 == 0) ? "-" : sprintf("%.2fx", a / b) }
{
	if (!($1 in seen)) { seen[$1] = 1; order[++rows] = $1 }
	vals[$1 SUBSEP $2] = vals[$1 SUBSEP $2] " " $3
}
END {
	printf "%-36s %22s %22s %8s %22s %22s %8s\n", "workload", "threads", "threads-base",
	       "thr/base", "uring", "uring-base", "urg/base"
	for (r = 1; r <= rows; r++) {
		k = order[r]
		if (!((k SUBSEP "threads") in vals)) continue
		printf "%-36s %22s %22s %8s %22s %22s %8s\n", k,
		       cell(k SUBSEP "threads"), cell(k SUBSEP "threads-base"),
		       ratio(med(k SUBSEP "threads"), med(k SUBSEP "threads-base")),
		       cell(k SUBSEP "uring"), cell(k SUBSEP "uring-base"),
		       ratio(med(k SUBSEP "uring"), med(k SUBSEP "uring-base"))
	}
}' "$results"
