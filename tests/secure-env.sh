#!/bin/sh
# rtaio ignores its environment variables in a setuid or setgid program
# (secure-execution mode, where secure_getenv returns NULL): a setgid copy of
# secure_env, run with RTAIO_* set, must behave as with none set.
set -eu
bin="${top_builddir:?}/tests/secure_env"
if [ "$(id -u)" != 0 ]; then
	echo "needs root to make a setgid program of another group"
	exit 77
fi
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
chmod 755 "$dir"
if findmnt -no OPTIONS -T "$dir" | grep -qw nosuid; then
	echo "$dir is on a nosuid mount: no secure-execution mode there"
	exit 77
fi
cp "$bin" "$dir/plain"
cp "$bin" "$dir/setgid"
chgrp nogroup "$dir/setgid"
chmod 2755 "$dir/setgid"
set -- RTAIO_MAX_THREADS=3 RTAIO_MAX_BLOCKING_THREADS=5 RTAIO_BACKEND=threads RTAIO_STATS=1
defaults=$(env -u RTAIO_MAX_THREADS -u RTAIO_MAX_BLOCKING_THREADS -u RTAIO_BACKEND \
	-u RTAIO_STATS "$dir/plain")
# RTAIO_STATS=1: the statistics report on stderr at exit
honoured=$(env "$@" "$dir/plain" 2>"$dir/honoured.err")
ignored=$(env "$@" "$dir/setgid" 2>"$dir/ignored.err")
echo "no variables:         $defaults"
echo "variables:            $honoured"
echo "variables, setgid:    $ignored"
fail=0
case $honoured in
"secure=0 max_threads=3 max_blocking_threads=5 ring=0") ;;
*) echo "FAIL: the variables were not honoured in a plain program"; fail=1 ;;
esac
case $ignored in
secure=1*) ;;
*) echo "FAIL: the setgid copy did not run in secure-execution mode"; fail=1 ;;
esac
if ! grep -q '^rtaio statistics' "$dir/honoured.err"; then
	echo "FAIL: RTAIO_STATS=1 wrote no report in a plain program"; fail=1
fi
if [ -s "$dir/ignored.err" ]; then
	echo "FAIL: the setgid copy wrote to stderr (RTAIO_STATS not ignored?):"
	sed 's/^/# /' "$dir/ignored.err"
	fail=1
fi
if [ "${ignored#secure=1}" != "${defaults#secure=0}" ]; then
	echo "FAIL: the setgid copy did not ignore the variables"
	fail=1
fi
[ "$fail" = 0 ] && echo "ok: RTAIO_* ignored in secure-execution mode"
exit "$fail"
