#!/bin/sh
# tests/freeze.sh COMMAND [ARG...]: run COMMAND in a cgroup of its own that
# the cgroup freezer freezes for 50 ms of every 250 ms until it exits; its
# exit status.  77 when there is no freezer to use (not root, or neither
# cgroup v1's freezer nor cgroup v2's cgroup.freeze).
#
# Freezing a process ends the wait of each of its threads inside a system
# call as a stop (Ctrl-Z) does: a blocking write(2) of more than PIPE_BUF
# bytes to a pipe returns what it has written, a read(2) of /dev/zero what
# it has read.  CI's machines freeze processes now and then (a test's
# blocking pipe write came back short, 24,576 bytes of 34,464, twice, with
# no signal sent).  Under this script the requests that rtaio's threads
# run see it every quarter of a second, and must still complete as the
# program asked (whole).
set -u
[ "$(id -u)" = 0 ] || exit 77
if [ -w /sys/fs/cgroup/freezer ]; then
	cg=/sys/fs/cgroup/freezer/rtaio-freeze.$$
	frozen=FROZEN thawed=THAWED state=freezer.state
else
	root=/sys/fs/cgroup
	[ -f $root/unified/cgroup.controllers ] && root=$root/unified
	[ -f $root/cgroup.controllers ] || exit 77
	cg=$root/rtaio-freeze.$$
	frozen=1 thawed=0 state=cgroup.freeze
fi
mkdir "$cg" 2>/dev/null || exit 77
if [ ! -f "$cg/$state" ]; then
	rmdir "$cg"
	exit 77
fi
(echo 0 >"$cg/cgroup.procs" && exec "$@") &
pid=$!
# the cgroup goes once empty: the last of its processes may take a moment
remove_cgroup() {
	for i in 1 2 3 4 5 6 7 8 9 10; do
		rmdir "$cg" 2>/dev/null && return
		sleep 0.5
	done
}
# stopped from outside (CI's timeout, ^C): the command ends thawed, not
# frozen for ever
trap 'echo $thawed >"$cg/$state"; kill $pid 2>/dev/null; wait $pid; remove_cgroup; exit 130' \
	INT TERM HUP
while kill -0 $pid 2>/dev/null; do
	echo $frozen >"$cg/$state"
	sleep 0.05
	echo $thawed >"$cg/$state"
	sleep 0.2
done
wait $pid
rc=$?
remove_cgroup
exit $rc
