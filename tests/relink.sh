#!/bin/sh
# Programs built with rtaio's <aio.h> and linked with -lrtaio (the flags of
# rtaio.pc, pointed at the build tree) bind every AIO name to librtaio;
# with -D_FILE_OFFSET_BITS=64 the plain names become the *64 symbols, as
# with glibc's header; and the header serves C++ as well.
set -u
inc="${top_srcdir:?}/include"
libdir="${top_builddir:?}/lib/.libs"
cc=${CC:-cc}
. "${top_srcdir:?}/tests/checks.sh"

# rtaio.pc's own Cflags and Libs, with includedir and libdir in the build tree
# (headers install into $includedir/rtaio).
mkdir "$dir/inc"
ln -s "$inc" "$dir/inc/rtaio"
if command -v pkg-config >/dev/null 2>&1 && [ -f "$top_builddir/rtaio.pc" ] &&
	flags=$(PKG_CONFIG_PATH="$top_builddir" pkg-config --define-variable=includedir="$dir/inc" \
		--define-variable=libdir="$libdir" --cflags --libs rtaio); then
	pass "pkg-config rtaio: $flags"
else
	flunk "pkg-config cannot read $top_builddir/rtaio.pc; using plain flags"
	flags="-I$dir/inc/rtaio -pthread -L$libdir -lrtaio"
fi

# The 17 names, each called once; *64 names are called on struct aiocb64.
cat >"$dir/prog.c" <<'EOF'
#define _GNU_SOURCE 1
#include <aio.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#ifdef USE64
typedef struct aiocb64 cb_t;
#define R(f) f##64
#else
typedef struct aiocb cb_t;
#define R(f) f
#endif

static int wait_done(cb_t *cb)
{
	const cb_t *list[1] = { cb };

	while (R(aio_error)(cb) == EINPROGRESS)
		if (R(aio_suspend)(list, 1, NULL) != 0 && errno != EINTR)
			return -1;
	return R(aio_error)(cb);
}

int main(void)
{
	static char out[4096] = "relinked", in[4096];
	struct aioinit init = { .aio_threads = 4, .aio_idle_time = 1 };
	cb_t w, r, s, *list[1] = { &r };
	int fd = open(getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp", O_TMPFILE | O_RDWR, 0600);

	aio_init(&init);
	memset(&w, 0, sizeof w);
	w.aio_fildes = fd;
	w.aio_buf = out;
	w.aio_nbytes = sizeof out;
	w.aio_sigevent.sigev_notify = SIGEV_NONE;
	r = w;
	r.aio_buf = in;
	r.aio_lio_opcode = LIO_READ;
	s = w;
	if (fd < 0 || R(aio_write)(&w) || wait_done(&w) || R(aio_return)(&w) != sizeof out)
		return puts("aio_write failed"), 1;
	if (R(aio_fsync)(O_SYNC, &s) || wait_done(&s) || R(aio_return)(&s) != 0)
		return puts("aio_fsync failed"), 1;
	if (R(lio_listio)(LIO_WAIT, list, 1, NULL) || R(aio_return)(&r) != sizeof in ||
	    strcmp(in, "relinked"))
		return puts("lio_listio failed"), 1;
	memset(in, 0, sizeof in);
	if (R(aio_read)(&r) || wait_done(&r) || strcmp(in, "relinked"))
		return puts("aio_read failed"), 1;
	if (R(aio_cancel)(fd, NULL) != AIO_ALLDONE)
		return puts("aio_cancel failed"), 1;
	puts("relinked program ok");
	return 0;
}
EOF

# link NAME EXTRA-FLAGS...: build $dir/NAME from prog.c against the build tree.
link() {
	name=$1
	shift
	# shellcheck disable=SC2086
	$cc ${CFLAGS-} "$@" -o "$dir/$name" "$dir/prog.c" $flags \
		-Wl,-rpath,"$libdir" >"$dir/$name.log" 2>&1
}

# check NAME NAMES...: NAME runs, and binds each of NAMES (only) to librtaio.
check() {
	name=$1
	shift
	: >"$dir/want"
	for n in "$@"; do
		echo "$n" >>"$dir/want"
	done
	if ! LD_BIND_NOW=1 LD_DEBUG=bindings LD_DEBUG_OUTPUT="$dir/$name.ld" \
		"$dir/$name" >"$dir/$name.out" 2>&1; then
		flunk "$name does not run"
		show "$dir/$name.out"
		return
	fi
	pass "$name: $(cat "$dir/$name.out")"
	# "PID: binding file PROG [0] to LIB [0]: normal symbol `NAME' [VERSION]"
	cat "$dir/$name.ld".* | tr -d "\`'[]" |
		awk -v prog="$dir/$name" '$3 == "file" && $4 == prog && $11 ~ /^(aio|lio)_/ {
			print $11, $7, $12 }' | sort -u >"$dir/$name.bound"
	if [ "$(cut -d' ' -f1 "$dir/$name.bound")" != "$(sort "$dir/want")" ]; then
		flunk "$name references other AIO names than wanted (- wanted, + seen)"
		cut -d' ' -f1 "$dir/$name.bound" | diff "$dir/want" - | sed 's/^/# /'
	elif awk -v lib="$libdir/librtaio.so.0" '$2 != lib || $3 != "GLIBC_2.34"' \
		"$dir/$name.bound" | grep . >"$dir/$name.other"; then
		flunk "$name binds AIO names elsewhere than $libdir/librtaio.so.0 (GLIBC_2.34)"
		show "$dir/$name.other"
	else
		pass "$name: LD_DEBUG=bindings shows all $# AIO names bound to librtaio.so.0 (GLIBC_2.34)"
	fi
}

plain="aio_cancel aio_error aio_fsync aio_init aio_read aio_return aio_suspend aio_write lio_listio"
large="aio_cancel64 aio_error64 aio_fsync64 aio_init aio_read64 aio_return64 aio_suspend64
aio_write64 lio_listio64"

# shellcheck disable=SC2086
if link prog; then
	if readelf -d "$dir/prog" | grep -q 'NEEDED.*\[librtaio\.so\.0\]'; then
		pass "prog needs librtaio.so.0"
	else
		flunk "prog does not need librtaio.so.0"
	fi
	check prog $plain
else
	flunk "cannot build prog with $flags"
	show "$dir/prog.log"
fi

# shellcheck disable=SC2086
if link prog64 -DUSE64; then
	check prog64 $large
else
	flunk "cannot build prog64"
	show "$dir/prog64.log"
fi

# _FILE_OFFSET_BITS=64: the plain names are the *64 symbols (as with glibc's
# header), the layout does not change, and the program still works.
cat >"$dir/fob64.c" <<'EOF'
#define _GNU_SOURCE 1
#include <aio.h>
#include <stddef.h>

#define SAME(m) _Static_assert(offsetof(struct aiocb, m) == offsetof(struct aiocb64, m), #m)
SAME(aio_fildes); SAME(aio_lio_opcode); SAME(aio_reqprio); SAME(aio_buf);
SAME(aio_nbytes); SAME(aio_sigevent); SAME(__next_prio); SAME(__abs_prio);
SAME(__policy); SAME(__error_code); SAME(__return_value); SAME(aio_offset);
SAME(__glibc_reserved);
_Static_assert(sizeof(struct aiocb) == sizeof(struct aiocb64), "size");
_Static_assert(sizeof(((struct aiocb *)0)->aio_offset) == 8, "64-bit aio_offset");

void *refs[] = {
	(void *)aio_read, (void *)aio_write, (void *)aio_error, (void *)aio_return,
	(void *)aio_cancel, (void *)aio_suspend, (void *)aio_fsync, (void *)lio_listio,
	(void *)aio_init,
};
EOF
# shellcheck disable=SC2086
if $cc ${CFLAGS-} -D_FILE_OFFSET_BITS=64 -std=c11 -Wall -Wextra -Werror -I"$inc" \
	-c "$dir/fob64.c" -o "$dir/fob64.o" >"$dir/fob64.log" 2>&1; then
	nm -u "$dir/fob64.o" | awk '{ print $2 }' | grep -E '^(aio|lio)_' | sort >"$dir/fob64.u"
	printf '%s\n' $large | sort >"$dir/fob64.want"
	if diff "$dir/fob64.want" "$dir/fob64.u" >"$dir/fob64.diff"; then
		pass "-D_FILE_OFFSET_BITS=64: references aio_read64 etc., no plain name; same layout"
	else
		flunk "-D_FILE_OFFSET_BITS=64: wrong references (- wanted, + seen)"
		show "$dir/fob64.diff"
	fi
else
	flunk "-D_FILE_OFFSET_BITS=64: fob64.c does not compile"
	show "$dir/fob64.log"
fi
# shellcheck disable=SC2086
if link progfob -D_FILE_OFFSET_BITS=64; then
	check progfob $large
else
	flunk "cannot build prog with -D_FILE_OFFSET_BITS=64"
	show "$dir/progfob.log"
fi

# C++: the declarations, the *64 ones, and the _FILE_OFFSET_BITS=64 renames.
cat >"$dir/cxx.cc" <<'EOF'
#include <aio.h>
#include <cstring>

int use(struct aiocb *cb, struct aiocb64 *cb64, struct sigevent *sev)
{
	struct aiocb *list[1] = { cb };
	const struct aiocb *clist[1] = { cb };
	struct aiocb64 *list64[1] = { cb64 };
	const struct aiocb64 *clist64[1] = { cb64 };
	struct aioinit init;
	struct timespec ts = { 0, 0 };

	std::memset(&init, 0, sizeof init);
	aio_init(&init);
	return aio_read(cb) + aio_write(cb) + aio_error(cb) + (int)aio_return(cb) +
	       aio_cancel(cb->aio_fildes, cb) + aio_suspend(clist, 1, &ts) +
	       aio_fsync(O_SYNC, cb) + lio_listio(LIO_WAIT, list, 1, sev) +
	       aio_read64(cb64) + aio_write64(cb64) + aio_error64(cb64) +
	       (int)aio_return64(cb64) + aio_cancel64(0, cb64) +
	       aio_suspend64(clist64, 1, &ts) + aio_fsync64(O_DSYNC, cb64) +
	       lio_listio64(LIO_NOWAIT, list64, 1, sev) + AIO_CANCELED + AIO_NOTCANCELED +
	       AIO_ALLDONE + LIO_NOP;
}
EOF
cxx=
for c in "${CXX-}" g++ c++; do
	if [ -n "$c" ] && command -v "$c" >/dev/null 2>&1; then
		cxx=$c
		break
	fi
done
if [ -z "$cxx" ]; then
	echo "ok: (skipped) no C++ compiler for the C++ checks"
else
	for std in c++98 c++11 c++17; do
		for fob in 32 64; do
			if $cxx -std="$std" -D_GNU_SOURCE -D_FILE_OFFSET_BITS="$fob" -Wall -Wextra \
				-Werror -pedantic -fsyntax-only -I"$inc" -include fcntl.h \
				"$dir/cxx.cc" >"$dir/cxx.log" 2>&1; then
				pass "C++ ($cxx -std=$std -D_FILE_OFFSET_BITS=$fob -fsyntax-only)"
			else
				flunk "C++ ($cxx -std=$std -D_FILE_OFFSET_BITS=$fob)"
				show "$dir/cxx.log"
			fi
		done
	done
fi
exit "$fail"
