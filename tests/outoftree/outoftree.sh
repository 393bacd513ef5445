#!/bin/sh
# SPDX-License-Identifier: MIT
# Builds a reactor plugin outside the tree, the way a third party would:
# install weft into a staging folder, compile poll.c with nothing but
# the installed headers found through pkg-config, then load the result by
# path through a configuration file.
#   $1 meson  $2 build root  $3 the folder of poll.c  $4 libdir  $5 bindir
#   $6 plugindir  $7 the conformance program (run when it exists)
# No `trap ... EXIT`: dash leaks its string, and Valgrind may run this
# script; every exit goes through die or the end instead.
set -u
meson=$1
build=$2
src=$3
libdir=$4
bindir=$5
plugindir=$6
conformance=$7

tmp=$(mktemp -d) || exit 1
stage=$tmp/stage

die() {
	[ -f "$tmp/out" ] && cat "$tmp/out" >&2
	echo "FAIL: $*" >&2
	rm -rf "$tmp"
	exit 1
}

"$meson" install -C "$build" --destdir "$stage" --no-rebuild --quiet \
	>"$tmp/out" 2>&1 || die "staged install"

# The generated weft.pc names the real prefix; the sysroot variable moves
# it into the staging folder.
pcdir=$stage$libdir/pkgconfig
cflags=$(PKG_CONFIG_SYSROOT_DIR=$stage PKG_CONFIG_LIBDIR=$pcdir \
	PKG_CONFIG_PATH=$pcdir pkg-config --cflags weft) ||
	die "pkg-config --cflags weft"
case $cflags in
*"$stage"*) ;;
*) die "pkg-config --cflags weft gave \"$cflags\"" ;;
esac

# The version script that keeps every symbol but the entry local (rule
# P1), installed beside the headers.
map=$(PKG_CONFIG_SYSROOT_DIR=$stage PKG_CONFIG_LIBDIR=$pcdir \
	PKG_CONFIG_PATH=$pcdir pkg-config --variable=pluginmap weft) ||
	die "pkg-config --variable=pluginmap weft"
[ -f "$map" ] || die "pkg-config --variable=pluginmap weft gave \"$map\""

so=$tmp/weft-reactor-poll.so
# shellcheck disable=SC2086 # CC and cflags are lists of words.
${CC:-cc} -std=c11 -Wall -Wextra -Werror -fPIC -shared \
	-fvisibility=hidden $cflags -o "$so" "$src/poll.c" \
	-Wl,--version-script="$map" ||
	die "compiling the plugin with the installed headers"

printf '# written by the out-of-tree test\nreactor = %s\n' "$so" \
	>"$tmp/weft.conf"

# The installed command and library, with the installed plugins.
weft=$stage$bindir/weft
export LD_LIBRARY_PATH="$stage$libdir"
export WEFT_PLUGIN_PATH="$stage$plugindir"
export WEFT_CONFIG="$tmp/weft.conf"
unset WEFT_EXECUTOR WEFT_REACTOR WEFT_WORKERS

# info opens a real runtime on the plugin: loader checks, init and fini.
"$weft" info >"$tmp/out" 2>&1 || die "weft info with the poll reactor"
cat "$tmp/out"
grep -q "^reactor  *poll-kit .*$so" "$tmp/out" ||
	die "weft info does not show the poll reactor"

# The plugin is also found by name in the plugin path.
WEFT_PLUGIN_PATH="$tmp:$stage$plugindir" "$weft" plugins >"$tmp/out" 2>&1 ||
	die "weft plugins"
grep -q "^reactor  *poll-kit .* ok .*$so" "$tmp/out" ||
	die "weft plugins does not list the poll reactor"
rm -f "$tmp/out"

if [ -x "$conformance" ]; then
	"$conformance" --reactor "$so" || die "conformance of the poll reactor"
else
	echo "conformance program not built: only the load was checked"
fi
rm -rf "$tmp"
echo "out-of-tree plugin checks passed"
