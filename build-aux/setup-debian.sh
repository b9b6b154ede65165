#!/bin/sh
# Install what rtaio needs to build and test, on Debian 12, when it is missing.
set -eu
packages="autoconf automake libtool pkg-config make gcc g++ clang libclang-rt-dev check mandoc groff-base strace gdb fio stress-ng liburing-dev time\
	gcc-aarch64-linux-gnu libc6-dev-arm64-cross gcc-i686-linux-gnu libc6-dev-i386-cross \
	gcc-arm-linux-gnueabihf libc6-dev-armhf-cross gcc-s390x-linux-gnu libc6-dev-s390x-cross \
	qemu-user \
	dpkg-dev debhelper lintian git openmpi-bin libopenmpi-dev \
	check:arm64 check:i386 check:armhf check:s390x"
# Check for the cross builds' suites under qemu-user (tests/cross.sh), from
# Debian's own packages of those architectures (multiarch).
foreign="arm64 i386 armhf s390x"
missing=
for p in $packages; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'ok installed' ||
		missing="$missing $p"
done
[ -z "$missing" ] && exit 0
if [ "$(id -u)" != 0 ]; then
	echo "setup-debian: missing packages:$missing (run as root to install them)" >&2
	exit 1
fi
echo "setup-debian: installing$missing"
export DEBIAN_FRONTEND=noninteractive
for arch in $foreign; do
	dpkg --print-foreign-architectures | grep -qx "$arch" || dpkg --add-architecture "$arch"
done
# An index that fails to download (a mirror caught mid-sync, as the
# security archive's i386 and armhf lists were on 2026-12-06) must not stop
# the install: apt then uses the lists it has, and a package truly missing
# still fails below.
apt-get update -qq ||
	echo "setup-debian: apt-get update reported errors; installing from the lists it has" >&2
# shellcheck disable=SC2086
apt-get install -y -qq --no-install-recommends $missing
