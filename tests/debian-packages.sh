#!/bin/sh
# tests/debian-packages.sh: the Debian packages, built, checked, used and
# removed on this machine (Debian 12, as root; build-aux/test-all.sh runs it,
# `make check` does not):
#
#   - dpkg-buildpackage -us -uc -b in a clean clone of the committed tree
#     (DEB_BUILD_OPTIONS=nocheck and the nocheck profile: test-all.sh has run
#     `make check` on the same tree in its plain, ASan and TSan builds;
#     debian/rules keeps the symbols file exact, dpkg-gensymbols -c4);
#   - lintian: no error (its warnings are shown);
#   - apt-get install ./librtaio0_*.deb ./librtaio-dev_*.deb ./rtaio-tools_*.deb;
#   - tests/aio_counts.c built against the C library's <aio.h> and run
#     through the installed rtaio-run --stats=FILE on each backend, then
#     built with `pkg-config --cflags --libs rtaio` (rtaio's aio.h from
#     /usr/include/rtaio, linked with the installed librtaio) and run with
#     RTAIO_STATS=FILE: each report's request, list and notification counts
#     are the ones the program made;
#   - fio --ioengine=posixaio with crc32c verification through rtaio-run
#     --stats=FILE: the report's reads and writes are those fio issued;
#   - tests/mpi-io.sh (Open MPI's MPI-IO, nonblocking) through the installed
#     rtaio-run: each rank's report counts its aio reads and writes;
#   - apt-get remove: none of the files the packages had installed is left.
#
# The packages are removed (purged) on any exit, so the machine is left as
# it was found; the script refuses to run if one of them is installed
# already.  Exit status 77: not root, or not Debian.
set -u
top=$(cd "$(dirname "$0")/.." && pwd)
packages="librtaio0 librtaio-dev rtaio-tools"

if [ "$(id -u)" != 0 ] || ! command -v dpkg-buildpackage >/dev/null 2>&1; then
	echo "SKIP: needs root and dpkg-buildpackage (build-aux/setup-debian.sh installs it)"
	exit 77
fi
for tool in lintian git cc pkg-config; do
	if ! command -v "$tool" >/dev/null 2>&1; then
		echo "FAIL: $tool is not installed (build-aux/setup-debian.sh installs it)"
		exit 1
	fi
done
# installed PACKAGE: dpkg knows PACKAGE as installed (or half so)
installed() {
	case $(dpkg-query -W -f='${db:Status-Status}' "$1" 2>/dev/null) in
	'' | not-installed) return 1 ;;
	*) return 0 ;;
	esac
}
for p in $packages; do
	if installed "$p"; then
		echo "FAIL: $p is installed already: this test would remove it"
		exit 1
	fi
done

. "$top/tests/checks.sh"
# shellcheck disable=SC2317 # (called by the trap)
cleanup() {
	left=
	for p in $packages; do
		installed "$p" && left="$left $p"
	done
	if [ -n "$left" ]; then
		echo "debian-packages: purging$left"
		# shellcheck disable=SC2086
		DEBIAN_FRONTEND=noninteractive apt-get purge -y -qq $left >/dev/null
	fi
	rm -rf "$dir"
}
trap cleanup EXIT
trap 'fail=1; echo "debian-packages: interrupted"; exit 130' INT TERM HUP

now() { date +%s; }
t0=$(now)

# ---------------------------------------------------------- build, lintian
git clone -q "$top" "$dir/rtaio" || exit 1
echo "# packaging $(git -C "$dir/rtaio" log -1 --format='%h %s')"
if (cd "$dir/rtaio" && DEB_BUILD_OPTIONS="nocheck noautodbgsym parallel=$(nproc)" \
	dpkg-buildpackage -us -uc -b -Pnocheck) >"$dir/build.log" 2>&1; then
	pass "dpkg-buildpackage -us -uc -b, in $(($(now) - t0)) s"
else
	flunk "dpkg-buildpackage -us -uc -b; its last lines:"
	tail -n 40 "$dir/build.log" | sed 's/^/# /'
	exit 1
fi
set --
for p in $packages; do
	set -- "$@" "$dir/${p}_"*.deb
done
if [ $# != 3 ] || ! ls "$@" >/dev/null 2>&1; then
	flunk "not one .deb for each of $packages: $(ls "$dir"/*.deb 2>/dev/null | tr '\n' ' ')"
	exit 1
fi
debs="$*"
lintian --fail-on error "$dir"/rtaio_*.changes >"$dir/lintian" 2>&1
status=$?
grep -v '^running with root' "$dir/lintian" >"$dir/lintian.shown"
if [ "$status" = 0 ]; then
	pass "lintian: no error ($(grep -c '^W:' "$dir/lintian.shown") warnings)"
	[ -s "$dir/lintian.shown" ] && show "$dir/lintian.shown"
else
	flunk "lintian (status $status):"
	show "$dir/lintian.shown"
fi

# ---------------------------------------------------------- install
# shellcheck disable=SC2086
if ! DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $debs >"$dir/install.log" 2>&1; then
	flunk "apt-get install ./*.deb:"
	show "$dir/install.log"
	exit 1
fi
for p in $packages; do
	dpkg -L "$p" >>"$dir/files"
done
pass "apt-get install: $packages, $(wc -l <"$dir/files") paths"
# where the files go (a Debian image may exclude /usr/share/man from
# installs: the packages' lists say where the pages are)
for path in "/usr/include/rtaio/aio.h" "/usr/share/man/man3/aio_read.3rtaio.gz" \
	"/usr/share/man/man1/rtaio-run.1.gz" "/usr/share/man/man7/rtaio.7.gz" /usr/bin/rtaio-run; do
	grep -qxF "$path" "$dir/files" || missing_paths="${missing_paths-} $path"
done
if [ -z "${missing_paths-}" ]; then
	pass "the packages hold rtaio's aio.h in /usr/include/rtaio, aio_read(3rtaio), rtaio-run(1), rtaio(7)"
else
	flunk "not in the packages:$missing_paths"
fi

# ---------------------------------------------------------- use
multiarch=$(dpkg-architecture -qDEB_HOST_MULTIARCH)
lib=$(readlink -f "/usr/lib/$multiarch/librtaio.so.0")
mkdir "$dir/work" "$dir/stats"
cd "$dir/work" || exit 1

# counted LABEL EXPECTED DIR: DIR holds one report, and every line of
# EXPECTED is one of its lines
counted() {
	set -- "$1" "$2" "$3" "$3"/*
	if [ $# != 4 ] || [ ! -f "$4" ]; then
		flunk "$1: not one report in $3: $(ls "$3" | tr '\n' ' ')"
		return
	fi
	missing=$(grep -vxF -f "$4" "$2")
	if [ -s "$2" ] && [ -z "$missing" ]; then
		pass "$1: the report counts what the program did ($(grep '^backend:' "$4"))"
	else
		flunk "$1: lines missing from the report: $missing; the report:"
		show "$4"
	fi
}

cc -O2 -o "$dir/aio_counts" "$top/tests/aio_counts.c" || exit 1
for backend in threads uring; do
	mkdir "$dir/stats/$backend"
	if rtaio-run --backend "$backend" --stats="$dir/stats/$backend/%p" \
		"$dir/aio_counts" >"$dir/$backend.out" 2>&1; then
		counted "rtaio-run --backend $backend --stats=FILE aio_counts" "$dir/$backend.out" \
			"$dir/stats/$backend"
	else
		flunk "rtaio-run --backend $backend aio_counts:"
		show "$dir/$backend.out"
	fi
done

# Built against the installed librtaio-dev.
# shellcheck disable=SC2046
if cc -O2 -o "$dir/aio_counts.dev" "$top/tests/aio_counts.c" $(pkg-config --cflags --libs rtaio) &&
	cc -M "$top/tests/aio_counts.c" $(pkg-config --cflags rtaio) | grep -q '/usr/include/rtaio/aio\.h' &&
	linked=$(ldd "$dir/aio_counts.dev" | awk '$1 == "librtaio.so.0" { print $3 }') &&
	[ "$(readlink -f "$linked")" = "$lib" ]; then
	pass "cc \$(pkg-config --cflags --libs rtaio): /usr/include/rtaio/aio.h, linked with $lib"
	mkdir "$dir/stats/dev"
	if RTAIO_STATS="$dir/stats/dev/%p" "$dir/aio_counts.dev" >"$dir/dev.out" 2>&1; then
		counted "aio_counts linked with librtaio, RTAIO_STATS=FILE" "$dir/dev.out" \
			"$dir/stats/dev"
	else
		flunk "aio_counts linked with librtaio:"
		show "$dir/dev.out"
	fi
else
	flunk "cc \$(pkg-config --cflags --libs rtaio): not rtaio's aio.h, or not linked with $lib"
	pkg-config --cflags --libs rtaio | sed 's/^/# /'
	ldd "$dir/aio_counts.dev" 2>&1 | sed 's/^/# /'
fi

if command -v fio >/dev/null 2>&1; then
	mkdir "$dir/stats/fio"
	# --thread: fio's job processes end with _exit(2), which writes no report
	rtaio-run --stats="$dir/stats/fio/%p" fio --thread --name=pkg --directory="$dir/work" \
		--ioengine=posixaio --rw=randwrite --bs=4k --size=8m --iodepth=16 \
		--verify=crc32c --do_verify=1 --verify_fatal=1 >"$dir/fio.out" 2>&1
	status=$?
	# "issued rwts: total=READS,WRITES,TRIMS,SYNCS short=... dropped=..."
	issued=$(sed -n 's/.*issued rwts: total=\([0-9]*\),\([0-9]*\),.*/\1 \2/p' "$dir/fio.out")
	report=$(ls "$dir/stats/fio"/* 2>/dev/null | head -n 1)
	counts=$(sed -n 's/^requests: read \([0-9]*\), write \([0-9]*\),.*/\1 \2/p' "${report:-/dev/null}")
	if [ "$status" = 0 ] && [ "$(ls "$dir/stats/fio" | wc -l)" = 1 ] &&
		[ -n "$issued" ] && [ "$issued" = "$counts" ] && [ "${issued#* }" = 2048 ]; then
		pass "fio --ioengine=posixaio through rtaio-run --stats=FILE: reads and writes" \
			"$issued issued, $counts in the report ($(grep '^backend:' "$report"))"
	else
		flunk "fio through rtaio-run: status $status; fio issued '$issued' (reads writes)," \
			"the report counts '$counts'"
		show "$dir/fio.out"
		[ -n "$report" ] && show "$report"
	fi
else
	echo "# fio is not installed: no fio step (build-aux/setup-debian.sh installs it)"
fi
cd "$top" || exit 1

# Open MPI's OMPIO through the installed rtaio-run (skipped without Open MPI)
sh "$top/tests/mpi-io.sh" --rtaio-run /usr/bin/rtaio-run --ranks 3 --blocks 16 >"$dir/mpi-io" 2>&1
case $? in
0) sed 's/^ok: /ok: installed rtaio-run: /' "$dir/mpi-io" ;;
77) echo "# $(tail -n 1 "$dir/mpi-io")" ;;
*)
	flunk "tests/mpi-io.sh through the installed rtaio-run:"
	show "$dir/mpi-io"
	;;
esac

# ---------------------------------------------------------- remove
# shellcheck disable=SC2086
if DEBIAN_FRONTEND=noninteractive apt-get remove -y -qq $packages >"$dir/remove.log" 2>&1; then
	left=
	for p in $packages; do
		installed "$p" && left="$left $p"
	done
	# the paths the packages owned alone; the directories they share
	# with the rest of the system stay
	while read -r path; do
		[ "$path" = /. ] && continue
		[ -e "$path" ] || [ -L "$path" ] || continue
		[ -d "$path" ] && [ ! -L "$path" ] && dpkg -S "$path" >/dev/null 2>&1 && continue
		echo "$path"
	done <"$dir/files" >"$dir/left"
	if [ -z "$left" ] && [ ! -s "$dir/left" ]; then
		pass "apt-get remove: the packages are gone, and none of their paths is left"
	else
		flunk "apt-get remove: still known to dpkg:${left:- none}; paths left:"
		show "$dir/left"
	fi
else
	flunk "apt-get remove $packages:"
	show "$dir/remove.log"
fi

echo "# debian-packages: $(($(now) - t0)) s"
exit $fail
