#!/bin/sh
# tests/mpi-io.sh [--rtaio-run PATH] [--ranks N] [--blocks B]
#                  [--backends LIST]: an MPI-IO client on rtaio.  tests/mpi_io.c, built with Open MPI's mpicc, runs as N
# ranks (default 3) under mpirun, itself under `rtaio-run --backend BACKEND
# --stats=FILE` for each backend of LIST (default "threads uring"): each rank writes B blocks of 64 KiB
# (default 16) with MPI_File_iwrite_at, all in flight at once, then reads
# the next rank's blocks with MPI_File_iread_at and checks every byte.
# Open MPI's default MPI-IO component (OMPIO, its fbtl posix) turns each of
# them into one aio_write or aio_read: every rank's statistics report must
# count B reads and B writes, proof that rtaio served them.
#
# PATH defaults to the build tree's tools/rtaio-run ($top_builddir, as
# `make check` sets it); tests/debian-packages.sh passes the installed one,
# tests/soak.sh a longer run.  Exit status 77 when mpicc or mpirun is
# missing (Debian: openmpi-bin, libopenmpi-dev; build-aux/setup-debian.sh
# installs them), or in a sanitizer build.
set -u
run=${top_builddir:+$top_builddir/tools/rtaio-run}
ranks=3
blocks=16
block_size=65536
backends="threads uring"
usage() {
	echo "usage: $0 [--rtaio-run PATH] [--ranks N] [--blocks B] [--backends LIST]" >&2
	exit 2
}
while [ $# -gt 0 ]; do
	[ $# -ge 2 ] || usage
	case $1 in
	--rtaio-run) run=$2 ;;
	--ranks) ranks=$2 ;;
	--blocks) blocks=$2 ;;
	--backends) backends=$2 ;;
	*) usage ;;
	esac
	shift 2
done
[ -n "$run" ] || usage
case ${CFLAGS-} in
*-fsanitize*)
	# mpirun and Open MPI are not instrumented (see tests/real-clients.sh)
	echo "SKIP: sanitizer build (CFLAGS has -fsanitize): MPI-IO runs in the plain build"
	exit 77
	;;
esac
for tool in mpicc mpirun; do
	if ! command -v "$tool" >/dev/null 2>&1; then
		echo "SKIP: $tool is missing: Open MPI is not installed (Debian: openmpi-bin, libopenmpi-dev)"
		exit 77
	fi
done
. "$(dirname "$0")/checks.sh"

if command -v timeout >/dev/null 2>&1; then
	limit="timeout 300"
else
	limit=
fi

if ! mpicc -O2 -o "$dir/mpi_io" "$(dirname "$0")/mpi_io.c" >"$dir/mpicc.log" 2>&1; then
	flunk "mpicc tests/mpi_io.c:"
	show "$dir/mpicc.log"
	exit 1
fi

for backend in $backends; do
	stats=$dir/stats.$backend
	mkdir "$stats"
	# --allow-run-as-root: CI runs as root; --oversubscribe: more ranks than CPUs
	# shellcheck disable=SC2086
	$limit "$run" --backend "$backend" --stats="$stats/%p" \
		mpirun --allow-run-as-root --oversubscribe -np "$ranks" \
		"$dir/mpi_io" "$dir/data.$backend" "$blocks" "$block_size" >"$dir/out.$backend" 2>&1
	status=$?
	what="MPI-IO, $ranks ranks, $blocks blocks of $block_size bytes each, on $backend"
	verified=$(grep -c '^rank [0-9]*: .*every byte verified$' "$dir/out.$backend")
	if [ "$status" != 0 ] || [ "$verified" != "$ranks" ] || ! grep -qx 'mpi_io: ok' "$dir/out.$backend"; then
		flunk "$what: exit status $status, $verified ranks verified their reads:"
		show "$dir/out.$backend"
		continue
	fi
	# every rank's report: its B reads and B writes
	reports=0 counted=0
	for report in "$stats"/*; do
		[ -f "$report" ] || continue
		reports=$((reports + 1))
		grep -q "^requests: read $blocks, write $blocks, " "$report" && counted=$((counted + 1))
	done
	backend_line=$(cat "$stats"/* 2>/dev/null | grep '^backend:' | sort -u | tr '\n' ' ')
	case $backend in
	threads) want='backend: threads' ;;
	uring) want='backend: io_uring' ;;
	esac
	if [ "$reports" = "$ranks" ] && [ "$counted" = "$ranks" ] &&
		[ "$(echo "$backend_line" | grep -c "^$want")" = 1 ]; then
		pass "$what: every byte verified; $ranks reports, each counting $blocks aio reads and" \
			"$blocks aio writes (${backend_line% })"
	else
		flunk "$what: $reports reports for $ranks ranks, $counted counting $blocks reads and" \
			"$blocks writes; backends: $backend_line"
		for report in "$stats"/*; do
			[ -f "$report" ] && show "$report"
		done
	fi
done
exit "$fail"
