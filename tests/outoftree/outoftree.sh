#!/bin/sh
# SPDX-License-Identifier: MIT
# Builds a reactor plugin outside the tree, the way a third party would:
# install weft into a staging folder, compile plugin.c with nothing but
# the installed headers found through pkg-config, then load the result by
# path through a configuration file.
#   $1 meson  $2 build root  $3 this source folder  $4 libdir  $5 bindir
#   $6 plugindir  $7 the conformance program (run when it exists)
set -eu
meson=$1
build=$2
src=$3
libdir=$4
bindir=$5
plugindir=$6
conformance=$7

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
stage=$tmp/stage

"$meson" install -C "$build" --destdir "$stage" --no-rebuild --quiet \
	>"$tmp/install.log" 2>&1 || {
	cat "$tmp/install.log" >&2
	echo "FAIL: staged install" >&2
	exit 1
}

# The generated weft.pc names the real prefix; the sysroot variable moves
# it into the staging folder.
pcdir=$stage$libdir/pkgconfig
cflags=$(PKG_CONFIG_SYSROOT_DIR=$stage PKG_CONFIG_LIBDIR=$pcdir \
	PKG_CONFIG_PATH=$pcdir pkg-config --cflags weft)
case $cflags in
*"$stage"*) ;;
*)
	echo "FAIL: pkg-config --cflags weft gave \"$cflags\"" >&2
	exit 1
	;;
esac

so=$tmp/weft-reactor-poll.so
# shellcheck disable=SC2086 # CC and cflags are lists of words.
${CC:-cc} -std=c11 -Wall -Wextra -Werror -fPIC -shared \
	-fvisibility=hidden $cflags -o "$so" "$src/plugin.c"

printf '# written by the out-of-tree test\nreactor = %s\n' "$so" \
	>"$tmp/weft.conf"

# The installed command and library, with the installed plugins.
weft=$stage$bindir/weft
export LD_LIBRARY_PATH="$stage$libdir"
export WEFT_PLUGIN_PATH="$stage$plugindir"
export WEFT_CONFIG="$tmp/weft.conf"
unset WEFT_EXECUTOR WEFT_REACTOR WEFT_WORKERS

# info opens a real runtime on the plugin: loader checks, init and fini.
if ! "$weft" info >"$tmp/out" 2>&1; then
	cat "$tmp/out" >&2
	echo "FAIL: weft info with the out-of-tree reactor" >&2
	exit 1
fi
cat "$tmp/out"
grep -q "^reactor  *poll .*$so" "$tmp/out" || {
	echo "FAIL: weft info does not show the poll reactor" >&2
	exit 1
}

# The plugin is also found by name in the plugin path.
WEFT_PLUGIN_PATH="$tmp:$stage$plugindir" "$weft" plugins >"$tmp/out" 2>&1 || {
	cat "$tmp/out" >&2
	echo "FAIL: weft plugins" >&2
	exit 1
}
grep -q "^reactor  *poll .* ok .*$so" "$tmp/out" || {
	cat "$tmp/out" >&2
	echo "FAIL: weft plugins does not list the poll reactor" >&2
	exit 1
}

if [ -x "$conformance" ]; then
	"$conformance" --reactor "$so"
else
	echo "conformance program not built: only the load was checked"
fi
echo "out-of-tree plugin checks passed"
