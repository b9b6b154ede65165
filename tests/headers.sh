#!/bin/sh
# Each public header compiles on its own, as C11 and as C++, without warnings.
# And rtaio's <aio.h> is glibc's to a program: built with each of the
# _FILE_OFFSET_BITS and _TIME_BITS settings, natively and with the 32-bit
# cross compilers present (i686, armhf), an object that uses it references
# the same symbols as one built against glibc's own <aio.h> (with
# _TIME_BITS=64 on 32-bit, __aio_suspend_time64), and sees struct aiocb of
# the same size and layout.
set -eu
inc="${top_srcdir:?}/include"
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
cc=${CC:-cc}
fail=0
for h in "$inc"/*.h; do
	name=$(basename "$h")
	printf '#include <%s>\n#include <%s>\nint main(void) { return 0; }\n' "$name" "$name" >"$dir/t.c"
	if $cc -std=c11 -Wall -Wextra -Werror -pedantic -I"$inc" -c "$dir/t.c" -o "$dir/t.o"; then
		echo "ok: $name as C11"
	else
		echo "FAIL: $name as C11"
		fail=1
	fi
	if ! command -v c++ >/dev/null 2>&1; then
		continue
	fi
	cp "$dir/t.c" "$dir/t.cc"
	if c++ -std=c++11 -Wall -Wextra -Werror -I"$inc" -c "$dir/t.cc" -o "$dir/t.o"; then
		echo "ok: $name as C++11"
	else
		echo "FAIL: $name as C++11"
		fail=1
	fi
done

# The sizes and offsets as symbol sizes (nm -S), the calls as undefined symbols.
cat >"$dir/abi.c" <<'PROG'
#include <aio.h>
#include <fcntl.h>
#include <stddef.h>
#define SIZE(name, n) char name[(n) + 1]
SIZE(size_aiocb, sizeof(struct aiocb));
SIZE(at_fildes, offsetof(struct aiocb, aio_fildes));
SIZE(at_lio_opcode, offsetof(struct aiocb, aio_lio_opcode));
SIZE(at_buf, offsetof(struct aiocb, aio_buf));
SIZE(at_nbytes, offsetof(struct aiocb, aio_nbytes));
SIZE(at_sigevent, offsetof(struct aiocb, aio_sigevent));
SIZE(at_error_code, offsetof(struct aiocb, __error_code));
SIZE(at_return_value, offsetof(struct aiocb, __return_value));
SIZE(at_offset, offsetof(struct aiocb, aio_offset));
SIZE(size_offset, sizeof(((struct aiocb *)0)->aio_offset));
void use(struct aiocb *cb, const struct timespec *t);
void use(struct aiocb *cb, const struct timespec *t)
{
	struct aiocb *list[1] = { cb };
	aio_read(cb); aio_write(cb); aio_error(cb); aio_return(cb); aio_fsync(O_SYNC, cb);
	aio_cancel(cb->aio_fildes, cb); lio_listio(LIO_WAIT, list, 1, NULL);
	aio_suspend((const struct aiocb *const *)list, 1, t);
}
PROG
# abi CC NM WIDTH: with compiler CC and its NM (commands, with their
# options); WIDTH 32 for a target where _TIME_BITS=64 changes time_t.
abi() {
	for bits in "" "-D_FILE_OFFSET_BITS=64" "-D_FILE_OFFSET_BITS=64 -D_TIME_BITS=64"; do
		what="$1 ${bits:-(defaults)}"
		# shellcheck disable=SC2086
		if ! $1 -std=gnu11 -Wall -Werror $bits -I"$inc" -c "$dir/abi.c" -o "$dir/rtaio.o" ||
			! $1 -std=gnu11 -Wall -Werror $bits -c "$dir/abi.c" -o "$dir/glibc.o"; then
			echo "FAIL: $what: abi.c does not compile"
			fail=1
			continue
		fi
		for o in rtaio glibc; do
			$2 -S "$dir/$o.o" | awk '$3 ~ /^[BCD]$/ { print $4, $2 }' | sort >"$dir/$o.layout"
			$2 -u "$dir/$o.o" | awk '{ print $NF }' | sort >"$dir/$o.calls"
		done
		if ! grep -q '^size_aiocb ' "$dir/rtaio.layout"; then
			echo "FAIL: $what: no sizes in $2 -S's output"
			fail=1
		elif ! cmp -s "$dir/rtaio.layout" "$dir/glibc.layout"; then
			echo "FAIL: $what: struct aiocb differs from glibc's (name, size + 1 in hex):"
			diff "$dir/glibc.layout" "$dir/rtaio.layout" | sed 's/^/#   /'
			fail=1
		elif ! cmp -s "$dir/rtaio.calls" "$dir/glibc.calls"; then
			echo "FAIL: $what: the calls bind to other symbols than with glibc's <aio.h>:"
			diff "$dir/glibc.calls" "$dir/rtaio.calls" | sed 's/^/#   /'
			fail=1
		elif [ "$3" = 32 ] && case $bits in *_TIME_BITS=64) true ;; *) false ;; esac &&
			! grep -qx __aio_suspend_time64 "$dir/rtaio.calls"; then
			echo "FAIL: $what: aio_suspend is not __aio_suspend_time64"
			fail=1
		else
			echo "ok: $what: struct aiocb and the symbols called as with glibc's <aio.h>" \
				"(aio_suspend: $(grep suspend "$dir/rtaio.calls" | tr '\n' ' '))"
		fi
	done
}
abi "${CC:-cc}" "${NM:-nm}" native
for host in i686-linux-gnu arm-linux-gnueabihf; do
	if command -v "$host-gcc" >/dev/null 2>&1; then
		abi "$host-gcc" "$host-nm" 32
	else
		echo "skip: no $host-gcc for the 32-bit layouts (build-aux/setup-debian.sh)"
	fi
done
exit "$fail"
