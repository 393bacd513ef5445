#!/bin/sh
# SPDX-License-Identifier: MIT
# Usage: test_probes.sh LIBWEFT readelf|bpftrace
# Checks that libweft carries the USDT probes of provider "weft".  Exit 77
# (skipped) when the library was built without <sys/sdt.h> or, for the
# bpftrace check, when bpftrace is absent or may not run here.
lib=$1
tool=$2
probes="task__spawn poll__begin poll__end task__wake park unpark"
notes=$(readelf -n "$lib") || exit 1
if ! printf '%s\n' "$notes" | grep -q 'stapsdt'; then
	echo "no .note.stapsdt in $lib: built without <sys/sdt.h>"
	exit 77
fi
case $tool in
readelf)
	for p in $probes; do
		printf '%s\n' "$notes" | grep -A2 'stapsdt' |
			grep -q "Provider: weft" || { echo "no provider weft"; exit 1; }
		printf '%s\n' "$notes" | grep -q "Name: $p\$" ||
			{ echo "probe $p missing"; exit 1; }
	done
	;;
bpftrace)
	command -v bpftrace >/dev/null 2>&1 ||
		{ echo "bpftrace not installed"; exit 77; }
	out=$(bpftrace -l "usdt:$lib:weft:*" 2>&1)
	status=$?
	if [ $status -ne 0 ]; then
		echo "bpftrace -l failed here: $out"
		exit 77
	fi
	for p in $probes; do
		printf '%s\n' "$out" | grep -q "usdt:.*:weft:$p\$" ||
			{ echo "bpftrace does not list $p:"; echo "$out"; exit 1; }
	done
	;;
*)
	exit 2
	;;
esac
echo "ok: $tool sees the weft probes"
