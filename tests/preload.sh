#!/bin/sh
# A program built against glibc's <aio.h> and linked with glibc alone
# (tests/glibc_aio_prog) runs on glibc's AIO as it is, and on rtaio's under
# LD_PRELOAD=librtaio.so: for every symbol it references (new names, *64
# names, and the versions of programs linked before glibc 2.34: GLIBC_2.2.5
# and GLIBC_2.4 on x86_64, the architecture's oldest elsewhere), and with
# rtaio's own behaviour where it differs from glibc's.
set -u
prog="${top_builddir:?}/tests/glibc_aio_prog"
lib="$top_builddir/lib/.libs/librtaio.so"
# from configure: the oldest version, and whether lio_listio has GLIBC_2.4 beside it
base_v=${GLIBC_AIO_BASE:?}
old_lio=0
[ "${GLIBC_OLD_LIO:-no}" = yes ] && old_lio=1
. "${top_srcdir:?}/tests/checks.sh"

. "${top_srcdir:?}/tests/preload-runtime.sh"
preload=$lib
if [ -n "$runtime" ]; then
	preload="$runtime_lib $lib"
	echo "ok: sanitizer build: LD_PRELOAD=\"$preload\""
fi
if [ "$runtime" = tsan ]; then
	# TSan kills a child of a threaded process that starts threads (its own
	# limitation; glibc_aio_prog probe forks, and the child uses AIO).
	TSAN_OPTIONS="${TSAN_OPTIONS:+$TSAN_OPTIONS:}die_after_fork=0"
	export TSAN_OPTIONS
fi

if command -v timeout >/dev/null 2>&1; then
	limit="timeout 120"
else
	limit=
fi

# run NAME MODE [VAR=VALUE...]: run the program, output in $dir/NAME; its status.
# RUNNER (tests/cross.sh): an emulator to run it with, qemu-user's, which
# takes the program's environment as -E VAR=VALUE.
run() {
	name=$1 mode=$2
	shift 2
	if [ -n "${RUNNER:-}" ]; then
		for v; do
			set -- "$@" -E "$v"
			shift
		done
		# shellcheck disable=SC2086
		$limit $RUNNER "$@" "$prog" "$mode" >"$dir/$name" 2>&1
		return
	fi
	# shellcheck disable=SC2086
	env "$@" $limit "$prog" "$mode" >"$dir/$name" 2>&1
}
# with NAME MODE [VAR=VALUE...]: the same under LD_PRELOAD.
with() {
	name=$1 mode=$2
	shift 2
	run "$name" "$mode" LD_PRELOAD="$preload" "$@"
}
# value FILE KEY: what "KEY: value" says in FILE.
value() { sed -n "s/^$2: //p" "$1" | head -n 1; }

# ---------------------------------------------------------------- glibc
if run glibc.which which; then
	path=$(cat "$dir/glibc.which")
	case $path in
	*/libc.so.6) pass "without LD_PRELOAD, aio_read is glibc's ($path)" ;;
	*)
		flunk "without LD_PRELOAD, aio_read comes from '$path', not libc.so.6"
		;;
	esac
else
	flunk "glibc_aio_prog which"
	show "$dir/glibc.which"
fi

for mode in basic large old widths; do
	if run "glibc.$mode" "$mode"; then
		pass "glibc_aio_prog $mode passes on glibc ($(grep -c '^ok:' "$dir/glibc.$mode") checks)"
	else
		flunk "glibc_aio_prog $mode fails on glibc"
		show "$dir/glibc.$mode"
	fi
done

run glibc.probe probe || {
	flunk "glibc_aio_prog probe fails on glibc"
	show "$dir/glibc.probe"
}
run glibc.oldlio old-lio || {
	flunk "glibc_aio_prog old-lio fails on glibc"
	show "$dir/glibc.oldlio"
}
# glibc 2.34 moved the compat lio_listio into libc.so.6, where its
# "pre-2.4" flag is no longer understood: LIO_WAIT returns at once and the
# element sigevents are delivered.  Noted, not required.
echo "note: glibc's lio_listio@$base_v: waits $(value "$dir/glibc.oldlio" \
	"lio_listio@$base_v waits"), element sigevents $(value "$dir/glibc.oldlio" \
	"lio_listio@$base_v element_events")"

# ---------------------------------------------------------------- rtaio
if with rtaio.which which; then
	path=$(cat "$dir/rtaio.which")
	if [ "$path" = "$lib" ]; then
		pass "with LD_PRELOAD, aio_read is librtaio's ($path)"
	else
		flunk "with LD_PRELOAD, aio_read comes from '$path', not $lib"
	fi
else
	flunk "glibc_aio_prog which under LD_PRELOAD"
	show "$dir/rtaio.which"
fi

# A preload lands in every process: one that does no AIO gets no thread
# (compared with the sanitizer runtime alone, in sanitizer builds).
if [ -n "$runtime" ]; then
	run base.idle idle LD_PRELOAD="$runtime_lib"
else
	run base.idle idle
fi
base=$(value "$dir/base.idle" threads)
if with rtaio.idle idle && [ -n "$base" ] &&
	[ "$(value "$dir/rtaio.idle" threads)" = "$base" ]; then
	pass "with LD_PRELOAD, a process that does no AIO has $base thread(s), as without"
else
	flunk "with LD_PRELOAD, a process that does no AIO: $(cat "$dir/rtaio.idle"), not $base"
fi

# Every reference of the program, and every (name, version) that dlvsym finds.
if with rtaio.all which-all; then
	total=$(wc -l <"$dir/rtaio.all")
	others=$(awk -v lib="$lib" '$2 != lib' "$dir/rtaio.all")
	# 17 names at two versions, and lio_listio/lio_listio64 at GLIBC_2.4 where it is not the oldest
	refs=$((34 + 2 * old_lio)) lookups=$((51 + 2 * old_lio))
	if [ "$total" -eq $((refs + lookups)) ] && [ -z "$others" ]; then
		pass "with LD_PRELOAD, all $refs references and $lookups dlvsym/dlsym look-ups find librtaio"
	else
		flunk "with LD_PRELOAD, $total look-ups (want $((refs + lookups))); not librtaio's:"
		echo "$others" | sed 's/^/# /'
	fi
else
	flunk "glibc_aio_prog which-all under LD_PRELOAD"
	show "$dir/rtaio.all"
fi

# What the dynamic linker did, symbol by symbol, version by version.
names="aio_read aio_write aio_error aio_return aio_cancel aio_suspend aio_fsync
lio_listio aio_init aio_read64 aio_write64 aio_error64 aio_return64 aio_cancel64
aio_suspend64 aio_fsync64 lio_listio64"
{
	for n in $names; do
		echo "$n GLIBC_2.34"
		echo "$n $base_v"
	done
	if [ "$old_lio" = 1 ]; then
		echo "lio_listio GLIBC_2.4"
		echo "lio_listio64 GLIBC_2.4"
	fi
	# glibc_aio_time64.c's aio_suspend, where time_t has 32 bits
	[ "${GLIBC_TIME64:-no}" = yes ] && echo "__aio_suspend_time64 GLIBC_2.34"
} | sort >"$dir/want"
if with rtaio.bind which LD_BIND_NOW=1 LD_DEBUG=bindings LD_DEBUG_OUTPUT="$dir/ld"; then
	cat "$dir"/ld.* >"$dir/bindings"
	# "PID: binding file PROG [0] to LIB [0]: normal symbol `NAME' [VERSION]"
	tr -d "\`'[]" <"$dir/bindings" |
		awk -v lib="$lib" '
			$3 == "file" && $4 ~ /glibc_aio_prog$/ && $11 ~ /^(__)?(aio|lio)_/ {
				print $11, $12, ($7 == lib ? "librtaio" : $7)
			}' | sort -u >"$dir/bound"
	sed 's/$/ librtaio/' "$dir/want" >"$dir/want-bound"
	if diff "$dir/want-bound" "$dir/bound" >"$dir/diff"; then
		pass "LD_DEBUG=bindings: all $(wc -l <"$dir/want") versioned references bound to librtaio.so"
	else
		flunk "LD_DEBUG=bindings: references bound otherwise (- wanted, + seen)"
		show "$dir/diff"
	fi
	# Nothing at all (libc.so.6 itself included) binds an AIO name to glibc.
	if grep -E "to [^ ]*libc\.so\.6 .*symbol \`(__)?(aio|lio)_" "$dir/bindings" >"$dir/libc"; then
		flunk "LD_DEBUG=bindings: AIO symbols bound to libc.so.6"
		show "$dir/libc"
	else
		pass "LD_DEBUG=bindings: no AIO symbol bound to libc.so.6"
	fi
else
	flunk "glibc_aio_prog which under LD_PRELOAD and LD_DEBUG"
	show "$dir/rtaio.bind"
fi

for mode in basic large old widths; do
	if with "rtaio.$mode" "$mode"; then
		pass "glibc_aio_prog $mode passes on librtaio ($(grep -c '^ok:' "$dir/rtaio.$mode") checks)"
	else
		flunk "glibc_aio_prog $mode fails on librtaio"
		show "$dir/rtaio.$mode"
	fi
done

# Behaviour that tells the two apart: rtaio's code ran, not glibc's.
if with rtaio.probe probe; then
	v=$(value "$dir/rtaio.probe" sigev_notify_99)
	g=$(value "$dir/glibc.probe" sigev_notify_99)
	if [ "$v" = EINVAL ] && [ "$g" != EINVAL ]; then
		pass "sigev_notify 99: -1/EINVAL with librtaio, $g with glibc"
	else
		flunk "sigev_notify 99: '$v' with librtaio (want EINVAL), '$g' with glibc"
	fi
	v=$(value "$dir/rtaio.probe" aio_suspend_nsec_1e9)
	g=$(value "$dir/glibc.probe" aio_suspend_nsec_1e9)
	if [ "$v" = EINVAL ]; then
		pass "aio_suspend with tv_nsec 1e9: -1/EINVAL with librtaio, $g with glibc"
	else
		flunk "aio_suspend with tv_nsec 1e9: '$v' with librtaio (want EINVAL), '$g' with glibc"
	fi
	v=$(value "$dir/rtaio.probe" sigev_thread_id)
	g=$(value "$dir/glibc.probe" sigev_thread_id)
	if [ -n "${RUNNER:-}" ]; then
		# qemu-user holds a guest's pending signals itself: /proc shows none
		echo "note: SIGEV_THREAD_ID not told apart under $RUNNER ($v with librtaio)"
	elif [ "$v" = thread ] && [ "$g" != thread ]; then
		pass "SIGEV_THREAD_ID: signal queued to the thread with librtaio, $g with glibc"
	else
		flunk "SIGEV_THREAD_ID: '$v' with librtaio (want thread), '$g' with glibc"
	fi
else
	flunk "glibc_aio_prog probe under LD_PRELOAD"
	show "$dir/rtaio.probe"
fi

# The oldest lio_listio, where older than GLIBC_2.4 (GLIBC_2.2.5 on x86_64):
# waits, and only the list is notified.
if with rtaio.oldlio old-lio; then
	versions="lio_listio@$base_v lio_listio64@$base_v lio_listio"
	[ "$old_lio" = 1 ] && versions="$versions lio_listio@GLIBC_2.4 lio_listio64@GLIBC_2.4"
	for v in $versions; do
		case $v in
		*@"$base_v") [ "$old_lio" = 1 ] && want=ignored || want=delivered ;;
		*) want=delivered ;;
		esac
		got="$(value "$dir/rtaio.oldlio" "$v waits")/$(value "$dir/rtaio.oldlio" \
			"$v element_events")/$(value "$dir/rtaio.oldlio" "$v list_event")"
		if [ "$got" = "yes/$want/delivered" ]; then
			pass "$v: LIO_WAIT waits, element sigevents $want, list sigevent delivered"
		else
			flunk "$v: waits/element events/list event: $got, want yes/$want/delivered"
		fi
	done
else
	flunk "glibc_aio_prog old-lio under LD_PRELOAD"
	show "$dir/rtaio.oldlio"
fi
exit "$fail"
