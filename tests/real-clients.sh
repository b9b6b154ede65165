#!/bin/sh
# Real, unmodified POSIX AIO clients run on librtaio under LD_PRELOAD:
# fio --ioengine=posixaio writes with crc32c verification at queue depths 1,
# 8 (with aio_fsync) and 32, verifies again in a read-only pass, and reads;
# stress-ng --aio runs its SIGEV_SIGNAL stressor.  LD_DEBUG=bindings proves
# that their AIO calls reached librtaio.  Both programs are Debian packages
# (build-aux/setup-debian.sh installs them).
set -u
lib="${top_builddir:?}/lib/.libs/librtaio.so"
case "${CFLAGS-}" in
*-fsanitize*)
	# An instrumented librtaio in an uninstrumented fio needs the sanitizer
	# runtime preloaded first, and then reports fio's own leaks and races:
	# the real clients run in the plain build.
	echo "SKIP: sanitizer build (CFLAGS has -fsanitize): real clients run in the plain build"
	exit 77
	;;
esac
. "${top_srcdir:?}/tests/checks.sh"

if command -v timeout >/dev/null 2>&1; then
	limit="timeout 120"
else
	limit=
fi

# bound LOG PROG NAMES...: PROG's references to NAMES, as LD_DEBUG=bindings
# logged them in LOG.*, all bind to librtaio.so (at GLIBC_2.34).
bound() {
	log=$1 who=$2
	shift 2
	cat "$log".* | tr -d "\`'[]" |
		awk -v who="$who" '$3 == "file" && $4 ~ who "$" && $11 ~ /^(aio|lio)_/ {
			print $11, $7, $12 }' | sort -u >"$log.bound"
	missing=''
	for n in "$@"; do
		grep -q "^$n " "$log.bound" || missing="$missing $n"
	done
	elsewhere=$(awk -v lib="$lib" '$2 != lib || $3 != "GLIBC_2.34"' "$log.bound")
	if [ -z "$missing" ] && [ -z "$elsewhere" ]; then
		list=$(cut -d' ' -f1 "$log.bound" | tr '\n' ' ' | sed 's/ $//')
		pass "LD_DEBUG=bindings: $who binds $(wc -l <"$log.bound") AIO names, all to librtaio.so: $list"
	else
		flunk "LD_DEBUG=bindings: $who: not bound:$missing; bound elsewhere: $elsewhere"
		show "$log.bound"
	fi
}

# ---------------------------------------------------------------- fio
# fio JOB ARGS...: run fio on librtaio, its report in $dir/JOB, and what
# the dynamic linker bound in $dir/JOB.ld.*.
fio_run() {
	job=$1
	shift
	# fio leaves its verify state files in the working directory: the scratch one
	# shellcheck disable=SC2086
	(cd "$dir" && LD_PRELOAD="$lib" LD_BIND_NOW=1 LD_DEBUG=bindings LD_DEBUG_OUTPUT="$dir/$job.ld" \
		$limit fio --name="$job" --ioengine=posixaio --filename="$dir/fio.dat" \
		--size=16m --bs=4k --output="$dir/$job" "$@" >"$dir/$job.err" 2>&1)
}
# fio_ok JOB WHAT: fio succeeded, reported no error and no verification failure.
fio_ok() {
	job=$1 status=$2
	w=$(sed -n 's/^ *write: IOPS=\([^,]*\),.*/\1/p' "$dir/$job")
	r=$(sed -n 's/^ *read: IOPS=\([^,]*\),.*/\1/p' "$dir/$job")
	if [ "$status" -eq 0 ] && grep -q 'err= 0:' "$dir/$job" &&
		! grep -qi 'verify:\|bad magic\|crc32c' "$dir/$job" "$dir/$job.err"; then
		pass "fio $3 (write IOPS ${w:--}, read IOPS ${r:--})"
	else
		flunk "fio $3 (status $status)"
		show "$dir/$job"
		show "$dir/$job.err"
	fi
}

if ! command -v fio >/dev/null 2>&1; then
	flunk "fio is not installed (build-aux/setup-debian.sh installs it)"
else
	for qd in 1 8 32; do
		extra=
		[ "$qd" = 8 ] && extra="--fsync=64"
		# shellcheck disable=SC2086
		fio_run "w$qd" --rw=randwrite --iodepth="$qd" --verify=crc32c --do_verify=1 \
			--verify_fatal=1 $extra
		fio_ok "w$qd" $? "randwrite 16 MiB, iodepth $qd${extra:+, $extra}, crc32c verified"
	done
	# fio references the *64 names only (it is built with _FILE_OFFSET_BITS=64).
	bound "$dir/w8.ld" fio aio_read64 aio_write64 aio_error64 aio_return64 aio_suspend64 \
		aio_fsync64 aio_cancel64
	# Read the last job's blocks again and check them, without writing.
	fio_run v32 --rw=randwrite --iodepth=32 --verify=crc32c --verify_only --verify_fatal=1
	fio_ok v32 $? "verify_only pass (reads) of the iodepth 32 file"
	# ... and that pass does look at the data: one damaged block fails it.
	printf 'rtaio was here' | dd of="$dir/fio.dat" bs=1 seek=409600 conv=notrunc 2>/dev/null
	if fio_run bad --rw=randwrite --iodepth=32 --verify=crc32c --verify_only \
		--verify_fatal=1 || ! grep -q 'verify: bad' "$dir/bad" "$dir/bad.err"; then
		flunk "fio verify_only missed a damaged block"
		show "$dir/bad"
	else
		pass "fio verify_only reports a damaged block (the check can fail)"
	fi
	fio_run r16 --rw=read --bs=64k --iodepth=16
	if grep -q 'READ: .*io=16.0MiB' "$dir/r16"; then
		fio_ok r16 0 "sequential read, bs 64k, iodepth 16, all 16 MiB"
	else
		fio_ok r16 1 "sequential read, bs 64k, iodepth 16, all 16 MiB"
	fi
fi

# ---------------------------------------------------------------- stress-ng
if ! command -v stress-ng >/dev/null 2>&1; then
	flunk "stress-ng is not installed (build-aux/setup-debian.sh installs it)"
else
	# shellcheck disable=SC2086
	env LD_PRELOAD="$lib" LD_BIND_NOW=1 LD_DEBUG=bindings LD_DEBUG_OUTPUT="$dir/stress.ld" \
		$limit stress-ng --aio 2 --aio-requests 16 --timeout 5s --metrics-brief \
		--temp-path "$dir" >"$dir/stress" 2>&1
	status=$?
	# "stress-ng: metrc: [PID] aio OPS ..." and "... aio RATE async I/O signals per sec"
	ops=$(awk '$4 == "aio" && $5 ~ /^[0-9]+$/ { print $5; exit }' "$dir/stress")
	sigs=$(awk '$4 == "aio" && /signals per sec/ { print $5; exit }' "$dir/stress")
	if [ "$status" -eq 0 ] && grep -q 'successful run completed' "$dir/stress" &&
		! grep -qi 'fail\|error' "$dir/stress" && [ "${ops:-0}" -gt 0 ] &&
		awk -v s="${sigs:-0}" 'BEGIN { exit !(s > 0) }'; then
		pass "stress-ng --aio 2 --aio-requests 16, 5 s: $ops bogo ops, $sigs SIGEV_SIGNAL notifications/s"
	else
		flunk "stress-ng --aio (status $status)"
		show "$dir/stress"
	fi
	bound "$dir/stress.ld" stress-ng aio_read64 aio_write64 aio_error64 aio_fsync64 \
		aio_cancel64
fi
exit "$fail"
