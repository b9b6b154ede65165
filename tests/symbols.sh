#!/bin/sh
# librtaio.so exports exactly the names in lib/librtaio.map, under its version node.
set -eu
lib="${top_builddir:?}/lib/.libs/librtaio.so"
map="${top_srcdir:?}/lib/librtaio.map"
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT

# The global names of the version script, one per line, sorted.
sed -n '/global:/,/local:/p' "$map" | tr -d ' \t;' | grep -v -e '^global:' -e '^local:' -e '^$' |
	sort >"$dir/want"
node=$(sed -n 's/^\([A-Z_0-9.]*\) {.*/\1/p' "$map")
# What the dynamic symbol table defines, besides the version node itself.
nm -D --defined-only --with-symbol-versions "$lib" | awk '{print $3}' |
	grep -v "^$node\$" | grep -v "^$node@@$node\$" | sort >"$dir/got"
sed "s/\$/@@$node/" "$dir/want" >"$dir/want-versioned"
if diff -u "$dir/want-versioned" "$dir/got"; then
	echo "ok: $(wc -l <"$dir/got") exported names, all under $node"
else
	echo "FAIL: exported names differ from $map (- expected, + found)"
	exit 1
fi
