#!/bin/sh
# tests/soak.sh [--minutes M] [BUILDDIR]: real, unmodified POSIX AIO clients
# on librtaio (LD_PRELOAD) for about M minutes (default 5), under each
# backend (RTAIO_BACKEND=threads, and =uring where the kernel lets a program
# use io_uring), in a rotation of:
#
#   fio --ioengine=posixaio, crc32c verification: a write pass that reads
#       every block back (--do_verify, with or without --verify_backlog,
#       --verify_fatal), then a --verify_only pass that reads and checks the
#       files again; 2 to 4 jobs (processes or --thread), iodepths 1, 8 and 64,
#       4 KiB and 64/128 KiB blocks, random and sequential, buffered and
#       O_DIRECT, some with aio_fsync every 16 writes;
#   stress-ng --aio N --aio-requests R --verify: SIGEV_SIGNAL notification,
#       aio_error polling, aio_fsync and aio_cancel, 1 to 4 workers, 1 to 1024
#       requests each.
#
# Then, once, an MPI-IO client (tests/mpi-io.sh: Open MPI's OMPIO, 4 ranks
# doing MPI_File_iwrite_at and MPI_File_iread_at, every byte verified, each
# rank's aio requests counted in its rtaio-run --stats report), skipped when
# Open MPI is not installed.
#
# Every run must exit 0 with no error, fio must have verified every block it
# wrote (its reads equal its writes), and the client's processes must have
# run rtaio's threads (rtaio-worker for threads, rtaio-ring for io_uring,
# unless every request of the run may do without the ring: buffered writes
# run on the pool there too, and cached reads complete at submission;
# sampled from /proc/PID/task/*/comm during the run) with librtaio.so mapped.
# A run that outlives its limit is a hang: its threads' wait channels are
# shown, and it is killed.  A failed run is repeated once without LD_PRELOAD
# (on glibc's AIO), to tell rtaio's failures from the client's.  A summary
# table ends the output; the status is 0 only if there was no error.
#
# BUILDDIR (or $top_builddir) holds a built tree.  Scratch files go under
# $TMPDIR (default /tmp), and O_DIRECT runs use its file system.  Not part of
# `make check`: `make soak [SOAK_MINUTES=M]` runs it.
set -u
minutes=5
build=
usage() {
	echo "usage: $0 [--minutes M] [BUILDDIR]  (or top_builddir=BUILDDIR $0)" >&2
	exit 2
}
while [ $# -gt 0 ]; do
	case $1 in
	--minutes) [ $# -ge 2 ] || usage; minutes=$2; shift 2 ;;
	--minutes=*) minutes=${1#--minutes=}; shift ;;
	-h | --help) usage ;;
	-*) usage ;;
	*) build=$1; shift ;;
	esac
done
build=${build:-${top_builddir:-}}
[ -n "$build" ] || usage
case $minutes in
'' | *[!0-9.]* | *.*.* | .) usage ;;
esac
build=$(cd "$build" && pwd) || exit 2
lib=$build/lib/.libs/librtaio.so
if [ ! -e "$lib" ]; then
	echo "soak: $lib is missing: build first" >&2
	exit 1
fi
if ldd "$lib" 2>/dev/null | grep -q 'lib[atl]san\|libubsan'; then
	# fio and stress-ng are not instrumented (see tests/real-clients.sh)
	echo "SKIP: $lib is a sanitizer build: soak the plain build"
	exit 77
fi
for tool in fio stress-ng; do
	if ! command -v "$tool" >/dev/null 2>&1; then
		echo "FAIL: $tool is not installed (build-aux/setup-debian.sh installs fio and stress-ng)"
		exit 1
	fi
done

now() { date +%s.%N; }
# since T0: seconds elapsed, one decimal
since() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.1f", b - a }'; }

total=$(awk -v m="$minutes" 'BEGIN { printf "%d", m * 60 }')
# stress-ng's runs: 10 to 30 s, longer in longer soaks (fio gets the rest)
stress_secs=$(awk -v m="$minutes" 'BEGIN { s = int(m * 4); print (s < 10 ? 10 : (s > 30 ? 30 : s)) }')

dir=$(mktemp -d "${TMPDIR:-/tmp}/rtaio-soak.XXXXXX") || exit 1
data=$dir/data
mkdir "$data"
fail=0
cur=
sampler=
# shellcheck disable=SC2317 # (called by the trap)
cleanup() {
	[ -n "$sampler" ] && kill "$sampler" 2>/dev/null
	[ -n "$cur" ] && sid=$cur && stop
	rm -rf "$data"
	if [ "$fail" = 0 ]; then
		rm -rf "$dir"
	else
		echo "soak: the logs of this soak are kept in $dir"
	fi
}
trap cleanup EXIT
trap 'fail=1; echo "soak: interrupted"; exit 130' INT TERM HUP

results=$dir/results
: >"$results"
pass() { echo "ok: $*"; }
flunk() {
	echo "FAIL: $*"
	fail=1
}
# Show a run's output (its first and last lines), for the log of a failure.
show() {
	[ -s "$1" ] || return 0
	echo "# --- $1"
	if [ "$(wc -l <"$1")" -le 80 ]; then
		sed 's/^/# /' "$1"
	else
		head -n 40 "$1" | sed 's/^/# /'
		echo "# [...]"
		tail -n 40 "$1" | sed 's/^/# /'
	fi
}

# members: the client's processes, $sid and its descendants (fio's job
# processes start sessions of their own, and a kernel without
# /proc/PID/task/TID/children is common: the parents of all processes).
members() {
	cat /proc/[0-9]*/stat 2>/dev/null | awk -v root="$sid" '{
		pid = $1
		sub(/^.*\) /, "")	# state ppid ...
		parent[pid] = $2
	}
	END {
		for (p in parent) {
			for (q = p; q in parent && q != root && q > 1; q = parent[q])
				;
			if (q == root) print p
		}
	}'
}

# stop: kill the client's processes (TERM, then KILL).
stop() {
	pids=$(members)
	[ -n "$pids" ] || return 0
	# shellcheck disable=SC2086
	kill -TERM $pids 2>/dev/null
	sleep 2
	# shellcheck disable=SC2086
	kill -KILL $pids 2>/dev/null
}

# watchdog PID LOG LIMIT: until PID ends, record the rtaio threads of its
# processes and whether librtaio.so is mapped there, in LOG.threads (the
# threads every 0.02 s until one is seen, every 0.1 s after that; the
# processes and their maps every fifth time).  A fast client's workers live
# for bursts of a fraction of a second: sampled every 0.1 s, fio #4's were
# missed in one run of two.  Past LIMIT seconds, record where every thread
# waits in LOG.hang and kill the processes.
watchdog() {
	sid=$1 log=$2 limit=$3
	t0=$(now)
	pids=$sid
	i=0 seen=0
	while [ -d "/proc/$sid" ]; do
		if [ $((i % 5)) = 0 ]; then
			pids=$(members)
			for p in $pids; do
				grep -qF "$lib" "/proc/$p/maps" 2>/dev/null && echo librtaio.so-mapped
			done >>"$log.threads"
			sort -u -o "$log.threads" "$log.threads"
		fi
		i=$((i + 1))
		set --
		for p in $pids; do
			set -- "$@" "/proc/$p/task/"*/comm
		done
		[ $# -gt 0 ] && cat "$@" 2>/dev/null | grep '^rtaio-' >>"$log.threads" && seen=1
		if [ $((i % 5)) = 0 ] &&
			awk -v t="$(since "$t0")" -v l="$limit" 'BEGIN { exit !(t > l) }'; then
			{
				echo "hung: still running after $limit s; its threads:"
				for p in $(members); do
					for t in "/proc/$p/task/"*; do
						printf '%s %s %s wchan=%s syscall=%s\n' "$p" "${t##*/}" \
							"$(cat "$t/comm" 2>/dev/null)" \
							"$(cat "$t/wchan" 2>/dev/null)" \
							"$(cut -d' ' -f1 "$t/syscall" 2>/dev/null)"
					done
				done
			} >"$log.hang"
			stop
			break
		fi
		if [ $seen = 0 ]; then sleep 0.02; else sleep 0.1; fi
	done
	sort -u -o "$log.threads" "$log.threads"
}

# run BACKEND LOG LIMIT COMMAND...: run COMMAND on
# rtaio's BACKEND (threads or uring) or on glibc, output in LOG and LOG.err,
# watched; sets $status and $secs.
run() {
	rb=$1 rlog=$2 rlimit=$3
	shift 3
	case $rb in
	glibc) set -- env -u LD_PRELOAD "$@" ;;
	*) set -- env LD_PRELOAD="$lib" RTAIO_BACKEND="$rb" "$@" ;;
	esac
	: >"$rlog.threads"
	rm -f "$rlog.hang"
	start=$(now)
	(cd "$data" && exec "$@" >"$rlog" 2>"$rlog.err" </dev/null) &
	cur=$!
	watchdog "$cur" "$rlog" "$rlimit" &
	sampler=$!
	wait "$cur"
	status=$?
	wait "$sampler"
	cur='' sampler=''
	secs=$(since "$start")
}

# used BACKEND LOG [POOL_WILL_DO]: the run's processes mapped librtaio.so and
# ran the backend's threads (under io_uring, with POOL_WILL_DO=1, those of the
# pool do); prints them, or why not (returns 1).
used() {
	names=$(grep '^rtaio-' "$2.threads" | sort -u | tr '\n' ' ' | sed 's/ $//')
	if ! grep -q 'librtaio.so-mapped' "$2.threads"; then
		echo "librtaio.so was not seen mapped in the client's processes"
		return 1
	fi
	case $1 in
	threads) want=rtaio-worker ;;
	uring) want=rtaio-ring ;;
	esac
	if [ "$1" = uring ] && [ "${3:-0}" = 1 ]; then
		want="$want or rtaio-worker"
		pattern='^rtaio-\(ring\|worker\)$'
	else
		pattern="^$want\$"
	fi
	if ! grep -q "$pattern" "$2.threads"; then
		echo "no $want thread seen in the client's processes (seen: ${names:-none})"
		return 1
	fi
	echo "threads seen: $names"
}

# error_lines LOG...: lines that report an error, a failure or a bad block
error_lines() {
	grep -ih 'error\|fail\|verify: \|bad magic\|bad header\|crc32c\|mismatch\|corrupt' "$@" |
		grep -v 'err= 0:\|failed: 0' || true
}

# ------------------------------------------------------------ fio
# fio_stats LOG: "jobs bad-jobs reads writes trims syncs short dropped"
fio_stats() {
	awk '/\(groupid=[0-9]+, jobs=[0-9]+\): err=/ {
		jobs++
		e = $0; sub(/.*\): err= */, "", e); sub(/[^0-9-].*/, "", e)
		if (e + 0 != 0) bad++
	}
	/issued rwts: total=/ {
		for (i = 1; i <= NF; i++) {
			split($i, kv, "=")
			n = split(kv[2], a, ",")
			if (kv[1] == "total") { r += a[1]; w += a[2]; t += a[3]; s += a[4] }
			if (kv[1] == "short" || kv[1] == "dropped")
				for (j = 1; j <= n; j++) if (kv[1] == "short") sh += a[j]; else dr += a[j]
		}
	}
	END { printf "%d %d %d %d %d %d %d %d\n", jobs, bad, r, w, t, s, sh, dr }' "$1"
}

# fio_case K BACKEND: fio case K of the rotation on BACKEND: a write pass that
# verifies as it goes (or at its end), then a verify-only pass.  Each of the
# 24 combinations of iodepth, block size, direct and pattern comes once in
# any 24 consecutive cases.
fio_case() {
	k=$1 backend=$2
	case $((k % 3)) in 0) qd=1 ;; 1) qd=8 ;; 2) qd=64 ;; esac
	direct=$((k / 2 % 2))
	[ "$direct_ok" = 1 ] || direct=0
	# sizes for a few seconds a pass on 2 cores and a virtio disk
	if [ $((k % 2)) = 0 ]; then
		bs=4k size=64m backlog=1024
		[ $direct = 1 ] && size=32m
	else
		bs=128k size=256m backlog=64
		[ $direct = 1 ] && size=128m
		[ $((k / 8 % 2)) = 1 ] && bs=64k
	fi
	if [ $((k / 4 % 2)) = 0 ]; then rw=randwrite; else rw='write'; fi
	jobs=$((2 + k / 3 % 3))
	extra=
	[ $((k / 3 % 2)) = 1 ] && extra="$extra --verify_backlog=$backlog"
	[ $((k / 6 % 2)) = 1 ] && extra="$extra --fsync=16"
	[ $((k / 5 % 2)) = 1 ] && extra="$extra --thread"
	what="fio #$k $rw bs=$bs iodepth=$qd numjobs=$jobs direct=$direct$extra"
	log=$dir/fio$k.$backend
	rm -f "$data"/* "$log.threads"
	# shellcheck disable=SC2086
	set -- fio --name="soak$k" --directory="$data" --ioengine=posixaio --rw="$rw" --bs="$bs" \
		--size="$size" --numjobs="$jobs" --iodepth="$qd" --direct="$direct" \
		--verify=crc32c --verify_fatal=1 --verify_state_save=0 $extra
	errors=0 requests=0 took=0 notes='' written=0
	for phase in write verify; do
		only=
		[ $phase = verify ] && only=--verify_only
		plog=$log.$phase
		# shellcheck disable=SC2086
		run "$backend" "$plog" 300 "$@" --do_verify=1 $only
		took=$(awk -v a="$took" -v b="$secs" 'BEGIN { print a + b }')
		read -r nj bad r w t s sh dr <<EOF
$(fio_stats "$plog")
EOF
		cat "$plog.threads" >>"$log.threads"
		why=
		[ "$status" = 0 ] || why="$why; exit status $status"
		[ -e "$plog.hang" ] && why="$why; hung (killed after 300 s)"
		[ "$nj" = "$jobs" ] || why="$why; $nj job reports for $jobs jobs"
		[ "$bad" = 0 ] || why="$why; $bad jobs with err != 0"
		[ "$sh$dr" = 00 ] || why="$why; $sh short and $dr dropped I/Os"
		lines=$(error_lines "$plog" "$plog.err")
		[ -z "$lines" ] || why="$why; error lines: $(echo "$lines" | head -n 3 | tr '\n' '|')"
		# (a verify-only pass counts the writes it skips as issued)
		if [ $phase = write ]; then
			written=$w
			requests=$((requests + r + w + t + s))
			[ "$w" -gt 0 ] && [ "$r" = "$w" ] ||
				why="$why; the write pass wrote $w blocks and read back $r to verify them"
		else
			requests=$((requests + r + t + s))
			[ "$r" = "$written" ] ||
				why="$why; the verify-only pass read $r blocks of the $written written"
		fi
		grep -q librtaio.so-mapped "$plog.threads" ||
			why="$why; librtaio.so was not seen mapped in fio's processes"
		if [ -n "$why" ]; then
			errors=$((errors + 1))
			flunk "$what, $phase pass, on rtaio $backend: ${why#; }"
			show "$plog"
			show "$plog.err"
			show "$plog.hang"
			# The same on glibc's AIO: rtaio's failure, or the client's?
			# shellcheck disable=SC2086
			run glibc "$plog.glibc" 300 "$@" --do_verify=1 $only
			if [ "$status" = 0 ] && [ ! -e "$plog.glibc.hang" ] &&
				[ -z "$(error_lines "$plog.glibc" "$plog.glibc.err")" ]; then
				echo "# without LD_PRELOAD (glibc's AIO) the same pass succeeds"
			else
				echo "# without LD_PRELOAD (glibc's AIO) the same pass fails too (status $status)"
			fi
			break
		fi
		if [ $phase = write ]; then
			notes="$w written and $r read back in ${secs}s"
		else
			notes="$notes, $r read again in ${secs}s"
		fi
	done
	# rtaio's threads, in either pass (a pass of page-cached reads may be
	# over between two looks)
	# buffered writes without fsync, and reads of what they cached
	pool=0
	if [ "$direct" = 0 ]; then
		case $extra in *--fsync*) ;; *) pool=1 ;; esac
	fi
	if [ "$errors" = 0 ] && ! proof=$(used "$backend" "$log" $pool); then
		# The threads live in bursts (a worker leaves when it is idle):
		# looks 0.02-0.1 s apart on a busy machine can miss all of them
		# in a pass of a second.  One more write pass, watched as well.
		rm -f "$data"/*
		run "$backend" "$log.again" 300 "$@" --do_verify=1
		cat "$log.again.threads" >>"$log.threads"
		if [ "$status" = 0 ] && proof=$(used "$backend" "$log" $pool); then
			proof="$proof (seen in a second write pass)"
		else
			errors=1
			flunk "$what on rtaio $backend: $proof"
		fi
	fi
	if [ "$errors" = 0 ]; then
		pass "$what on $backend: ${notes#, }; $requests requests, every block verified twice; $proof"
	fi
	echo "fio $backend $requests $took $errors" >>"$results"
	rm -f "$data"/*
}

# ------------------------------------------------------------ stress-ng
# stress_case J BACKEND: stress-ng case J; any 12 consecutive cases have each
# of 3 worker counts with each of 4 request counts.
stress_case() {
	j=$1 backend=$2
	case $((j % 3)) in 0) n=2 ;; 1) n=4 ;; 2) n=1 ;; esac
	case $((j % 4)) in 0) r=64 ;; 1) r=1024 ;; 2) r=1 ;; 3) r=16 ;; esac
	what="stress-ng #$j --aio $n --aio-requests $r, ${stress_secs} s"
	log=$dir/stress$j.$backend
	set -- stress-ng --aio "$n" --aio-requests "$r" --timeout "${stress_secs}s" \
		--metrics-brief --verify --temp-path "$data"
	run "$backend" "$log.out" $((stress_secs + 60)) "$@"
	# its reports go to stderr or stdout: both, in order enough
	cat "$log.out" "$log.out.err" >"$log"
	mv "$log.out.threads" "$log.threads"
	rm -f "$log.out" "$log.out.err"
	[ -e "$log.out.hang" ] && mv "$log.out.hang" "$log.hang"
	# "stress-ng: metrc: [PID] aio OPS ..." and "... aio RATE async I/O signals per sec"
	ops=$(awk '$4 == "aio" && $5 ~ /^[0-9]+$/ { print $5; exit }' "$log")
	sigs=$(awk '$4 == "aio" && /signals per sec/ { print $5; exit }' "$log")
	why=
	[ "$status" = 0 ] || why="$why; exit status $status"
	[ -e "$log.hang" ] && why="$why; hung (killed after $((stress_secs + 60)) s)"
	grep -q 'successful run completed' "$log" || why="$why; no \"successful run completed\""
	lines=$(error_lines "$log")
	[ -z "$lines" ] || why="$why; error lines: $(echo "$lines" | head -n 3 | tr '\n' '|')"
	[ "${ops:-0}" -gt 0 ] 2>/dev/null || why="$why; no bogo ops reported"
	awk -v s="${sigs:-0}" 'BEGIN { exit !(s > 0) }' || why="$why; no SIGEV_SIGNAL notification"
	proof=$(used "$backend" "$log") || why="$why; $proof"
	errors=0
	if [ -n "$why" ]; then
		errors=1
		flunk "$what on rtaio $backend: ${why#; }"
		show "$log"
		show "$log.hang"
		run glibc "$log.glibc" $((stress_secs + 60)) "$@"
		if [ "$status" = 0 ] && grep -q 'successful run completed' "$log.glibc" "$log.glibc.err" &&
			[ -z "$(error_lines "$log.glibc" "$log.glibc.err")" ]; then
			echo "# without LD_PRELOAD (glibc's AIO) the same run succeeds"
		else
			echo "# without LD_PRELOAD (glibc's AIO) the same run fails too (status $status)"
		fi
	else
		pass "$what on $backend: $ops requests completed (bogo ops), $sigs SIGEV_SIGNAL notifications/s, in ${secs}s; $proof"
	fi
	echo "stress-ng $backend ${ops:-0} $secs $errors" >>"$results"
}

# ------------------------------------------------------------ set-up
fs=$(stat -f -c %T "$data" 2>/dev/null)
if out=$(dd if=/dev/zero of="$data/probe" bs=4096 count=1 oflag=direct 2>&1); then
	direct_ok=1
	echo "soak: O_DIRECT works in $data ($fs)"
else
	direct_ok=0
	echo "soak: O_DIRECT fails in $data ($fs): $(echo "$out" | head -n 1); the direct=1 runs are buffered"
fi
# io_uring, asked of the kernel by fio's own io_uring engine (not by rtaio)
backends=threads
if fio --name=probe --ioengine=io_uring --filename="$data/probe" --size=64k --bs=4k \
	--rw=read --output="$dir/uring-probe" >"$dir/uring-probe.err" 2>&1 &&
	grep -q 'err= 0:' "$dir/uring-probe"; then
	backends="threads uring"
	echo "soak: io_uring works (fio --ioengine=io_uring): soaking both backends"
else
	disabled=$(cat /proc/sys/kernel/io_uring_disabled 2>/dev/null || echo '?')
	echo "soak: io_uring does not work here (kernel.io_uring_disabled=$disabled; fio's io_uring engine says: $(error_lines "$dir/uring-probe" "$dir/uring-probe.err" | head -n 1)): soaking the threads backend only"
fi
rm -f "$data/probe"
echo "soak: $lib, about $minutes min ($total s), scratch files in $dir"

# ------------------------------------------------------------ the rotation
# Two fio cases, then one stress-ng case, each on every backend, until the
# time is up.
begin=$(now)
k=0 j=0 slot=0
while awk -v t="$(since "$begin")" -v l="$total" 'BEGIN { exit !(t < l) }'; do
	for backend in $backends; do
		if [ $((slot % 3)) = 2 ]; then
			stress_case "$j" "$backend"
		else
			fio_case "$k" "$backend"
		fi
	done
	if [ $((slot % 3)) = 2 ]; then j=$((j + 1)); else k=$((k + 1)); fi
	slot=$((slot + 1))
done

# ------------------------------------------------------------ MPI-IO
# Open MPI's OMPIO turns MPI_File_iwrite_at and MPI_File_iread_at into
# aio_write and aio_read: tests/mpi-io.sh, 4 ranks of 256 blocks of 64 KiB
# each, every byte verified and counted in each rank's statistics report.
echo "soak: MPI-IO (tests/mpi-io.sh --ranks 4 --blocks 256) on $backends"
start=$(now)
top_builddir=$build sh "$(dirname "$0")/mpi-io.sh" --ranks 4 --blocks 256 \
	--backends "$backends" >"$dir/mpi-io" 2>&1
status=$?
secs=$(since "$start")
case $status in
0)
	sed 's/^/  /' "$dir/mpi-io"
	# shellcheck disable=SC2086
	set -- $backends
	echo "mpi-io all $((4 * 256 * 2 * $#)) $secs 0" >>"$results"
	;;
77) echo "soak: MPI-IO skipped: $(tail -n 1 "$dir/mpi-io")" ;;
*)
	flunk "MPI-IO (tests/mpi-io.sh), status $status:"
	show "$dir/mpi-io"
	echo "mpi-io all 0 $secs 1" >>"$results"
	;;
esac
elapsed=$(since "$begin")

# ------------------------------------------------------------ summary
echo
echo "soak summary: $(since "$begin") s in all, library $lib"
awk '{
	key = $1 " " $2
	if (!(key in runs)) order[++n] = key
	runs[key]++; req[key] += $3; secs[key] += $4; err[key] += $5
	truns += 1; treq += $3; tsecs += $4; terr += $5
}
END {
	printf "%-10s %-8s %5s %12s %9s %7s\n", "client", "backend", "runs", "requests", "seconds", "errors"
	for (i = 1; i <= n; i++) {
		split(order[i], kb, " ")
		printf "%-10s %-8s %5d %12d %9.1f %7d\n", kb[1], kb[2], runs[order[i]],
			req[order[i]], secs[order[i]], err[order[i]]
	}
	printf "%-10s %-8s %5d %12d %9.1f %7d\n", "all", "", truns, treq, tsecs, terr
}' "$results"
echo "(fio: reads, writes and fsyncs issued by both passes, every written block read back and"
echo " checked twice; stress-ng: bogo ops, one per request completed or cancelled; mpi-io:"
echo " aio reads and writes, as each rank's rtaio report counted them)"
if [ ! -s "$results" ]; then
	flunk "nothing ran"
fi
if [ "$fail" = 0 ]; then
	echo "soak: no error in $elapsed s"
else
	echo "soak: FAILED"
fi
exit "$fail"
