#!/bin/sh
# Lint the manual pages: for every man/*.1, man/*.3 and man/*.7,
#   mandoc -Tlint -Wwarning  must exit 0 and print nothing, and
#   groff -t -man -ww -z     must print nothing (it exits 0 even when it
#                            warns, so its output is what counts), both for
#                            the default device and for a terminal (utf8).
# An alias page (such as aio_read64.3) holds nothing but ".so manN/page.N"
# and comments: the page it names must exist in man/, and both tools read
# it from a directory where manN/ leads to man/, as they would once it is
# installed.  mandoc always warns that .so is fragile, so alias pages are
# held to -Werror; the page they name is linted on its own turn.
# Also checks that the table of allowed system calls in asys(7) matches
# lib/asys/syscalls.c, name by name and kind by kind.
# Exit status: 0 all clean, 1 a problem, 77 (skip) mandoc or groff missing.

top_srcdir=${top_srcdir:-$(cd "$(dirname "$0")/.." && pwd)}
mandir=$(cd "$top_srcdir/man" && pwd) || exit 1

for tool in mandoc groff; do
	if ! command -v "$tool" >/dev/null 2>&1; then
		echo "SKIP: $tool is not installed"
		exit 77
	fi
done

sodir=$(mktemp -d "${TMPDIR:-/tmp}/man-lint.XXXXXX") || exit 1
trap 'rm -rf "$sodir"' EXIT
trap 'exit 1' HUP INT TERM
ln -s "$mandir" "$sodir/man3" && ln -s "$mandir" "$sodir/man7" || exit 1

status=0
found=0
for page in "$mandir"/*.1 "$mandir"/*.3 "$mandir"/*.7; do
	[ -f "$page" ] || continue
	found=$((found + 1))
	name=${page##*/}
	# The .so line of an alias page, if the page has one.
	so=$(sed -n 's/^\.so[[:blank:]]\{1,\}//p' "$page")
	if [ -n "$so" ]; then
		sec=${name##*.}
		lines=$(grep -cv '^\.\\"' "$page")
		if [ "$lines" -ne 1 ] || [ "$so" != "man$sec/${so##*/}" ] ||
			! [ -f "$mandir/${so##*/}" ]; then
			echo "FAIL: $name: an alias page must hold only" \
				"\".so man$sec/PAGE\" naming a page of man/"
			status=1
			continue
		fi
		out=$(cd "$sodir" && mandoc -Tlint -Werror "man$sec/$name" 2>&1)
		rc=$?
		lint_from=$sodir
		lint_page=man$sec/$name
	else
		out=$(mandoc -Tlint -Wwarning "$page" 2>&1)
		rc=$?
		lint_from=.
		lint_page=$page
	fi
	for dev in ps utf8; do
		more=$(cd "$lint_from" && groff -t -man -ww -z -T"$dev" "$lint_page" 2>&1)
		[ -n "$more" ] && out="$out${out:+
}groff -T$dev: $more"
	done
	if [ "$rc" -ne 0 ] || [ -n "$out" ]; then
		echo "FAIL: $name${out:+ (mandoc exit $rc)}"
		printf '%s\n' "$out" | sed 's/^/    /'
		status=1
	else
		echo "ok: $name"
	fi
done

if [ "$found" -eq 0 ]; then
	echo "FAIL: no manual pages in $mandir"
	exit 1
fi

# The allow-list: "[SYS_name] = K" in syscalls.c (K: B bounded, F depends on
# the fd, W may block) against the rows "name<TAB>no|fd|yes<TAB>..." of the
# table in asys(7).
src=$top_srcdir/lib/asys/syscalls.c
page=$mandir/asys.7
if [ -f "$src" ] && [ -f "$page" ]; then
	from_code=$(grep -o '\[SYS_[a-z0-9_]*\] *= *[BFW]' "$src" |
		sed 's/^\[SYS_\([a-z0-9_]*\)\] *= *\([BFW]\)$/\1 \2/' |
		sed 's/ B$/ no/; s/ F$/ fd/; s/ W$/ yes/' | sort)
	tab=$(printf '\t')
	from_page=$(sed -n '/^\.TS/,/^\.TE/p' "$page" |
		grep -E "^[a-z0-9_]+${tab}(no|fd|yes)${tab}" |
		cut -f1,2 | tr "$tab" ' ' | sort)
	if [ -z "$from_code" ]; then
		echo "FAIL: asys.7 table: no system calls found in $src"
		status=1
	elif [ "$from_code" != "$from_page" ]; then
		echo "FAIL: asys.7 table differs from lib/asys/syscalls.c"
		printf '%s\n' "$from_code" | while IFS= read -r line; do
			printf '%s\n' "$from_page" | grep -qxF "$line" ||
				echo "    only in syscalls.c: $line"
		done
		printf '%s\n' "$from_page" | while IFS= read -r line; do
			printf '%s\n' "$from_code" | grep -qxF "$line" ||
				echo "    only in asys.7: $line"
		done
		status=1
	else
		echo "ok: asys.7 table matches lib/asys/syscalls.c"
	fi
fi

exit $status
