#!/bin/sh
# SPDX-License-Identifier: MIT
# Fails when two public headers give one name to two things, which the
# compiler cannot see: C accepts `struct weft_x;` in one header as an
# opaque type and `struct weft_x { ... }` in another as a complete one,
# and a program including both then hands one to the functions of the
# other.  Checked: a struct declared opaque in one header and defined in
# another (a header that needs the type includes the one defining it),
# and a function declared in two headers.
set -eu
[ $# -gt 0 ] || { echo "usage: $0 HEADER..." >&2; exit 2; }
decls=$(mktemp)
trap 'rm -f "$decls"' EXIT
for h in "$@"; do
	name=${h##*/}
	# the parts of abi.h (weft/abi/NAME) are abi.h split for reading: a
	# struct declared in one and defined in another is within one header
	case $h in */weft/abi/*) name=abi.h ;; esac
	# opaque: a line `struct weft_x;`; defined: `struct weft_x {`
	sed -n 's/^struct \(weft_[A-Za-z0-9_]*\);.*/opaque \1/p;
	        s/^struct \(weft_[A-Za-z0-9_]*\) {.*/defined \1/p' "$h" |
		sed "s/\$/ $name/"
	# a prototype at file scope: `type weft_f(` or `type *weft_f(`
	# (a return type on its own line precedes the name in a definition)
	sed -n 's/^[A-Za-z_][A-Za-z0-9_ ]*[ *]\(weft_[A-Za-z0-9_]*\)(.*/function \1/p;
	        s/^\(weft_[A-Za-z0-9_]*\)(.*/function \1/p' "$h" |
		sed "s/\$/ $name/"
done | sort -u >"$decls"
status=0
# a struct opaque in one header and defined in another
for s in $(awk '$1 == "opaque" { print $2 }' "$decls" | sort -u); do
	defined=$(awk -v s="$s" '$1 == "defined" && $2 == s { print $3 }' \
		"$decls" | sort -u)
	[ -n "$defined" ] || continue
	elsewhere=$(awk -v s="$s" -v d="$defined" \
		'$1 == "opaque" && $2 == s && $3 != d { print $3 }' "$decls")
	if [ -n "$elsewhere" ]; then
		echo "struct $s: opaque in" $elsewhere "but defined in" $defined
		status=1
	fi
done
# a function declared in two headers
dups=$(awk '$1 == "function" { print $2 }' "$decls" | sort | uniq -d)
for f in $dups; do
	echo "$f declared in" $(awk -v f="$f" \
		'$1 == "function" && $2 == f { print $3 }' "$decls")
	status=1
done
[ "$status" -eq 0 ] && echo "public names: $(wc -l <"$decls") declarations, no clash"
exit "$status"
