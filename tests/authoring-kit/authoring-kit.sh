#!/bin/sh
# SPDX-License-Identifier: MIT
# Builds the authoring kit the way a third party would: install weft into
# a staging folder, copy each example project out of the tree, configure
# it with nothing but pkg-config pointed into the staged install, build,
# then run the installed weft-conformance on the result, loaded by path
# through a configuration file.
#   $1 meson  $2 build root  $3 the examples folder  $4 libdir  $5 bindir
#   $6 plugindir
# No `trap ... EXIT`: every exit goes through die or the end instead.
set -u
meson=$1
build=$2
examples=$3
libdir=$4
bindir=$5
plugindir=$6

tmp=$(mktemp -d) || exit 1
stage=$tmp/stage

# A failed conformance run can be long: its failures first, then its end.
die() {
	if [ -f "$tmp/out" ]; then
		grep -A 24 '^FAIL' "$tmp/out" | head -n 120 >&2
		tail -n 60 "$tmp/out" >&2
	fi
	echo "FAIL: $*" >&2
	rm -rf "$tmp"
	exit 1
}

"$meson" install -C "$build" --destdir "$stage" --no-rebuild --quiet \
	>"$tmp/out" 2>&1 || die "staged install"

# The generated weft.pc names the real prefix; the sysroot variable moves
# it into the staging folder.
pcdir=$stage$libdir/pkgconfig
export PKG_CONFIG_SYSROOT_DIR="$stage" PKG_CONFIG_LIBDIR="$pcdir"
export PKG_CONFIG_PATH="$pcdir"

for kit in third-party-executor third-party-reactor; do
	cp -R "$examples/$kit" "$tmp/$kit" || die "copying $kit"
	rm -rf "$tmp/$kit/build"
	(cd "$tmp/$kit" && "$meson" setup build >"$tmp/out" 2>&1 &&
		"$meson" compile -C build >>"$tmp/out" 2>&1) ||
		die "building $kit against the staged install"
done
exe=$tmp/third-party-executor/build/weft-executor-rr.so
rea=$tmp/third-party-reactor/build/weft-reactor-poll.so
[ -f "$exe" ] && [ -f "$rea" ] || die "the kit's plugins were not built"

conformance=$stage$bindir/weft-conformance
[ -x "$conformance" ] || die "weft-conformance is not installed"
export LD_LIBRARY_PATH="$stage$libdir"
export WEFT_PLUGIN_PATH="$stage$plugindir"
unset WEFT_EXECUTOR WEFT_REACTOR WEFT_WORKERS

# Each kit by path through a configuration file, with weft's other half.
check() {
	printf '# written by the authoring-kit test\n%s\n' "$1" \
		>"$tmp/weft.conf"
	WEFT_CONFIG="$tmp/weft.conf" "$conformance" >"$tmp/out" 2>&1 ||
		die "conformance with: $1"
	grep '^result:' "$tmp/out"
}
check "executor = $exe"
check "reactor = $rea"
check "executor = $exe
reactor = $rea"

# The reactor under each of weft's executors.
"$conformance" --reactor "$rea" >"$tmp/out" 2>&1 ||
	die "conformance of the reactor under every executor"
grep '^result:' "$tmp/out"
rm -rf "$tmp"
echo "authoring kit checks passed"
