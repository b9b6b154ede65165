#!/bin/sh
# tests/fuzz.sh [BUILDDIR]: a bounded run of the libFuzzer target
# tests/fuzz_aio (built by configure CC=clang --enable-fuzzing): the seeds in
# tests/fuzz-corpus/ once, then $FUZZ_SECONDS seconds (default 50) of
# fuzzing, under each backend in turn (RTAIO_BACKEND=threads, then the
# default, which is io_uring where the kernel allows it).  Any crash,
# sanitizer report, leak, hang (-timeout=20: no input may take longer) or
# failed check of the target fails the run, and so does a run that executed
# fewer inputs than there are seeds.  The input that failed is kept under
# BUILDDIR/fuzz-artifacts/ (replay: tests/fuzz_aio FILE, with
# FUZZ_AIO_TRACE=1 to see its operations).  New inputs found go to a scratch
# corpus, never to the source tree.
#
# BUILDDIR (or $top_builddir, or .) holds the built tree; the sources are
# found from this script's place (or $top_srcdir).
set -u
seconds=${FUZZ_SECONDS:-50}
build=${1:-${top_builddir:-.}}
srcdir=${top_srcdir:-$(cd "$(dirname "$0")/.." && pwd)}
bin=$build/tests/fuzz_aio
seeds=$srcdir/tests/fuzz-corpus
case $seconds in '' | *[!0-9]*)
	echo "fuzz: FUZZ_SECONDS must be a whole number of seconds" >&2
	exit 2
	;;
esac
if [ ! -x "$bin" ]; then
	echo "fuzz: no $bin: configure CC=clang --enable-fuzzing, then make tests/fuzz_aio" >&2
	exit 1
fi
nseeds=$(find "$seeds" -type f | wc -l)
if [ "$nseeds" -eq 0 ]; then
	echo "fuzz: no seeds in $seeds" >&2
	exit 1
fi
build=$(cd "$build" && pwd)
artifacts=$build/fuzz-artifacts
mkdir -p "$artifacts"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT INT TERM
export UBSAN_OPTIONS="${UBSAN_OPTIONS:-print_stacktrace=1}"
status=0

# run NAME BACKEND LIBFUZZER-ARGS...: the target's temporary files go to $work
run() {
	name=$1
	backend=$2
	shift 2
	log=$work/$name.log
	if TMPDIR=$work RTAIO_BACKEND=$backend "$bin" -timeout=20 -artifact_prefix="$artifacts/" \
		-print_final_stats=1 "$@" >"$log" 2>&1; then
		units=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log")
		# what libFuzzer says of the run: the last status line and the totals
		grep -E '^#[0-9]+[[:space:]]' "$log" | tail -n 1
		grep -E '^stat::(number_of_executed_units|peak_rss_mb)' "$log"
		if [ "${units:-0}" -ge "$nseeds" ]; then
			echo "ok: $name"
			return
		fi
		echo "FAIL: $name: ${units:-no} inputs executed, fewer than the $nseeds seeds"
	else
		tail -n 60 "$log"
		echo "FAIL: $name (artifacts in $artifacts)"
	fi
	status=1
}

for backend in threads auto; do
	echo "== fuzz_aio, RTAIO_BACKEND=$backend: the $nseeds seeds"
	run "seeds-$backend" "$backend" -runs=0 "$seeds"
	echo "== fuzz_aio, RTAIO_BACKEND=$backend: $seconds s of fuzzing"
	mkdir -p "$work/corpus-$backend"
	run "fuzz-$backend" "$backend" -max_total_time="$seconds" "$work/corpus-$backend" "$seeds"
done
exit "$status"
