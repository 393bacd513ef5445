#!/bin/sh
# SPDX-License-Identifier: MIT
# Installs weft into a staging folder and runs the installed programs
# from there with LD_LIBRARY_PATH unset, as from a custom prefix: weft,
# weft-conformance and weft-demo must each find libweft.so.0 by their run
# path.  Then moves the staged tree and runs them again.
#   $1 meson  $2 build root  $3 bindir  $4 libdir  $5 plugindir
#   $6 "relocatable" if the run path is relative to the program
# No `trap ... EXIT`: every exit goes through die or the end instead.
set -u
meson=$1
build=$2
bindir=$3
libdir=$4
plugindir=$5
kind=$6

if [ "$kind" != relocatable ]; then
	# An absolute libdir gives an absolute run path, which points at the
	# real prefix, not into a staging folder.
	echo "SKIP: libdir or bindir is absolute; the run path is not relative"
	exit 77
fi

tmp=$(mktemp -d) || exit 1
stage=$tmp/stage

die() {
	[ -f "$tmp/out" ] && tail -n 40 "$tmp/out" >&2
	echo "FAIL: $*" >&2
	rm -rf "$tmp"
	exit 1
}

"$meson" install -C "$build" --destdir "$stage" --no-rebuild --quiet \
	>"$tmp/out" 2>&1 || die "staged install"

unset LD_LIBRARY_PATH

# Runs one installed program (bounded by timeout; 124 is a hang): it must
# exit 0 and the dynamic loader must not have complained.
run() { # label program args...
	label=$1
	shift
	timeout 60 "$@" >"$tmp/out" 2>&1
	rc=$?
	grep -q 'error while loading shared libraries' "$tmp/out" &&
		die "$label: the dynamic loader did not find a library"
	[ "$rc" -ne 124 ] || die "$label: hung"
	[ "$rc" -eq 0 ] || die "$label: exited $rc"
}

# Every check against the tree rooted at $1 (the staging folder, then the
# moved copy).
check_tree() { # root
	root=$1
	bin=$root$bindir
	for p in weft weft-conformance weft-demo; do
		[ -x "$bin/$p" ] || die "$p is not installed in $bin"
	done
	# libweft must come from this tree, not from an earlier install
	# into the system that would hide a missing run path.  ldd runs
	# nothing of the program on glibc.
	if command -v ldd >/dev/null 2>&1; then
		for p in weft weft-conformance weft-demo; do
			ldd "$bin/$p" >"$tmp/out" 2>&1
			# ($ORIGIN/.. is not folded away.)
			grep -F -q "libweft.so.0 => $root/" "$tmp/out" ||
				die "$p does not load libweft from $root"
		done
	fi
	run "weft --version" "$bin/weft" --version
	grep -q '^weft ABI 1\.' "$tmp/out" || die "weft --version: no version"
	# Every installed plugin loads.
	run "weft plugins" env WEFT_PLUGIN_PATH="$root$plugindir" \
		"$bin/weft" plugins
	grep -q 'executor  single .* ok' "$tmp/out" ||
		die "weft plugins: the single executor is not listed"
	run "weft-conformance --list" "$bin/weft-conformance" --list
	grep -q '^rule ' "$tmp/out" || die "weft-conformance --list: no rules"
	run "weft-demo" env WEFT_PLUGIN_PATH="$root$plugindir" \
		"$bin/weft-demo"
	grep -q 'runtime loaded' "$tmp/out" || die "weft-demo: no runtime"
}

check_tree "$stage"
# A relative run path moves with the tree (an archive unpacked elsewhere).
mv "$stage" "$tmp/moved" || die "moving the staged tree"
check_tree "$tmp/moved"

rm -rf "$tmp"
echo "installed programs start from a staged and a moved tree"
