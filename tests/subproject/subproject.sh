#!/bin/sh
# SPDX-License-Identifier: MIT
# weft as a meson subproject: copies the consumer project in consumer/ out
# of the tree, makes its subprojects/weft a link to this source tree, sets
# it up with --wrap-mode=forcefallback (so an installed weft is never
# picked), builds it, and runs the program on the plugins the subproject
# built, on each executor.
#   $1 meson  $2 weft's source root  $3 the consumer project
# No `trap ... EXIT`: every exit goes through die or the end instead.
set -u
meson=$1
source=$2
consumer=$3

tmp=$(mktemp -d) || exit 1
tmp=$(cd "$tmp" && pwd -P) || exit 1
proj=$tmp/consumer
build=$proj/build

die() {
	[ -f "$tmp/out" ] && tail -n 60 "$tmp/out" >&2
	echo "FAIL: $*" >&2
	rm -rf "$tmp"
	exit 1
}

cp -R "$consumer" "$proj" || die "copying the consumer"
rm -rf "$proj/build" "$proj/subprojects"
mkdir "$proj/subprojects" || die "making subprojects/"
ln -s "$source" "$proj/subprojects/weft" || die "linking subprojects/weft"

unset WEFT_CONFIG WEFT_EXECUTOR WEFT_REACTOR WEFT_WORKERS \
	WEFT_BLOCKING_THREADS WEFT_PLUGIN_PATH

# plain: no optimisation, the quickest build of weft's sources.
(cd "$proj" && "$meson" setup build --wrap-mode=forcefallback \
	--buildtype=plain) >"$tmp/out" 2>&1 ||
	die "setting up the consumer with weft as a subproject"
grep -q '^Dependency weft found: YES.*(overridden)' "$tmp/out" ||
	die "dependency('weft') did not resolve to the subproject's override"
"$meson" compile -C "$build" >"$tmp/out" 2>&1 ||
	die "building the consumer with weft as a subproject"
[ -x "$build/weft-consumer" ] || die "the consumer was not built"

# The plugin folders of the subproject's build, as weft's own build puts
# them in WEFT_PLUGIN_PATH.
sub=$build/subprojects/weft
path=$(find "$sub" -name 'weft-executor-*.so' -o -name 'weft-reactor-*.so' |
	sed 's|/[^/]*$||' | sort -u | tr '\n' ':')
path=${path%:}
[ -n "$path" ] || die "the subproject built no plugins"
export WEFT_PLUGIN_PATH="$path"

for exe in "" single multi worksteal; do
	WEFT_EXECUTOR=$exe timeout 30 "$build/weft-consumer" >"$tmp/out" 2>&1 ||
		die "running the consumer (executor ${exe:-default})"
	grep -qx 'weft-consumer: 42' "$tmp/out" ||
		die "the consumer printed no answer (executor ${exe:-default})"
	for kind in executor reactor; do
		grep -q "^$kind: $sub/" "$tmp/out" ||
			die "the $kind was not loaded from the subproject's build"
	done
	if [ -n "$exe" ]; then
		grep -q "^executor: .*/weft-executor-$exe\.so\$" "$tmp/out" ||
			die "the executor is not $exe"
	fi
	sed "s|$sub/||" "$tmp/out"
done

# The conformance program is built too: the subproject's tests are not.
[ -x "$sub/conformance/weft-conformance" ] ||
	die "weft-conformance was not built in the subproject"
[ ! -e "$sub/tests" ] || die "the subproject built weft's tests"

rm -rf "$tmp"
echo "subproject checks passed"
