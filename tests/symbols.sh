#!/bin/sh
# librtaio.so exports exactly the names of lib/librtaio.map (made by
# configure for the host), each with every version node that lists it: the
# newest node as the default (@@), the older ones as plain versions (@),
# just as glibc exports the POSIX AIO names; and those are exactly the
# versions that the host's libc.so.6 gives the POSIX AIO names.
set -eu
lib="${top_builddir:?}/lib/.libs/librtaio.so"
map="$top_builddir/lib/librtaio.map"
nm=${NM:-nm}
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT

# "node name" pairs, in the order the nodes appear in the map.
grep -v '^[[:space:]]*/\{0,1\}\*' "$map" | sed 's/[{};]/ & /g' | tr -s ' \t' '\n' | awk '
	$0 == "{" { node = last; inside = 1; local = 0; next }
	$0 == "}" { inside = 0; next }
	!inside { last = $0; next }
	$0 == "global:" { next }
	$0 == "local:" { local = 1; next }
	$0 == ";" || $0 == "" { next }
	!local { print node, $0 }
' >"$dir/pairs"
awk '{ last[$2] = $1; pairs[NR] = $0 }
	END { for (i = 1; i <= NR; i++) { split(pairs[i], p, " ");
		print p[2] (last[p[2]] == p[1] ? "@@" : "@") p[1] } }' "$dir/pairs" | sort >"$dir/want"
nodes=$(cut -d' ' -f1 "$dir/pairs" | sort -u)
# What the dynamic symbol table defines, less the version nodes themselves.
$nm -D --defined-only --with-symbol-versions "$lib" | awk '{print $3}' | sort >"$dir/all"
grep -vxF -f /dev/stdin "$dir/all" >"$dir/got" <<EOF2
$(for n in $nodes; do echo "$n"; echo "$n@@$n"; done)
EOF2
if diff -u "$dir/want" "$dir/got"; then
	echo "ok: $(wc -l <"$dir/got") exported symbol versions, exactly those of $(basename "$map")"
else
	echo "FAIL: exported names differ from $map (- expected, + found)"
	exit 1
fi

# The POSIX AIO names and versions of the host's glibc (configure found its libc.so.6).
if [ -z "${HOST_LIBC:-}" ]; then
	echo "SKIP: no libc.so.6 of the host's to compare with"
	exit 0
fi
aio='^(__)?(aio_|lio_)'
$nm -D --defined-only --with-symbol-versions "$HOST_LIBC" | awk '{print $3}' |
	grep -E "$aio" | sort >"$dir/glibc"
grep -E "$aio" "$dir/got" >"$dir/ours" || true
if diff -u "$dir/glibc" "$dir/ours"; then
	echo "ok: the POSIX AIO names carry exactly the versions of $HOST_LIBC"
else
	echo "FAIL: versions differ from $HOST_LIBC's (- glibc's, + rtaio's)"
	exit 1
fi
