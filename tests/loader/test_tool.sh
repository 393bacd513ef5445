#!/bin/sh
# SPDX-License-Identifier: MIT
# Runs the weft command as an operator would: usage, a bad configuration,
# files that are not regular ones, and the plugin listing of the mock
# plugins.
#   $1: the weft command   $2: the folder of the mock plugins
set -u
weft=$1
mocks=$2
# No `trap ... EXIT`: dash leaks its string, and Valgrind may run this.
tmp=$(mktemp -d) || exit 1
fails=0

fail() {
	echo "FAIL: $*" >&2
	fails=$((fails + 1))
}

# Runs the command given (which may start with env VAR=value); leaves its
# exit status in $rc and its output in $tmp/out and $tmp/err.  Under the
# valgrind test setup, the weft command itself runs under Valgrind too,
# since Valgrind only watches this shell.
run() {
	if [ -n "${WEFT_UNDER_VALGRIND:-}" ]; then
		n=$#
		while [ "$n" -gt 0 ]; do
			a=$1
			shift
			if [ "$a" = "$weft" ]; then
				set -- "$@" valgrind --quiet --leak-check=full \
					--show-leak-kinds=definite,indirect,possible \
					--errors-for-leak-kinds=definite,indirect,possible \
					--error-exitcode=99 "$a"
			else
				set -- "$@" "$a"
			fi
			n=$((n - 1))
		done
	fi
	"$@" >"$tmp/out" 2>"$tmp/err"
	rc=$?
	if [ "$rc" -eq 99 ]; then
		fail "Valgrind found errors in: $*"
		cat "$tmp/err" >&2
	fi
}

expect() {
	grep -F -q -- "$2" "$tmp/$1" || {
		fail "$3: no \"$2\" in std$1:"
		cat "$tmp/out" "$tmp/err" >&2
	}
}

run "$weft" --help
[ "$rc" -eq 0 ] || fail "--help exited $rc"
expect out "usage: weft" "--help"

run "$weft" version
[ "$rc" -eq 0 ] || fail "version exited $rc"
expect out "weft ABI 1." "version"

run "$weft" frobnicate
[ "$rc" -ne 0 ] || fail "an unknown command exited 0"
expect err "unknown command \"frobnicate\"" "unknown command"

# The plugins of the build tree (WEFT_PLUGIN_PATH from meson) open.
run "$weft" info
[ "$rc" -eq 0 ] || fail "info with the default plugins exited $rc"
expect out "executor     single" "info"
expect out "reactor      epoll" "info"

# A bad configuration file: non-zero exit, and the file, the line and the
# reason on stderr.
printf 'executor = single\n\nexector = multi\n' >"$tmp/bad.conf"
run "$weft" info --config "$tmp/bad.conf"
[ "$rc" -ne 0 ] || fail "info with a bad config exited 0"
expect err "$tmp/bad.conf:3: unknown key \"exector\"" "info --config"

# The same through WEFT_CONFIG.
run env WEFT_CONFIG="$tmp/bad.conf" "$weft" info
[ "$rc" -ne 0 ] || fail "info with a bad WEFT_CONFIG exited 0"
expect err "bad.conf:3: unknown key" "info with WEFT_CONFIG"

# A plugin that does not exist.
run env WEFT_EXECUTOR=nosuch WEFT_PLUGIN_PATH="$mocks" "$weft" info
[ "$rc" -ne 0 ] || fail "info with a missing executor exited 0"
expect err "no executor plugin named \"nosuch\"" "info, missing executor"

# Each refusal the loader owes an operator, through a config file that
# names the plugin by path: a non-zero exit and a message naming the file
# and the reason.
refuse() { # kind path expected-text label
	printf '%s = %s\n' "$1" "$2" >"$tmp/refuse.conf"
	run "$weft" info --config "$tmp/refuse.conf"
	[ "$rc" -ne 0 ] || fail "$4: exited 0"
	expect err "$2" "$4 (names the file)"
	expect err "$3" "$4 (gives the reason)"
}
printf 'not an ELF file\n' >"$tmp/weft-executor-text.so"
refuse executor "$tmp/weft-executor-text.so" "cannot load" "not a shared object"
refuse executor "$mocks/weft-executor-noentry.so" "no entry symbol" "no entry symbol"
refuse executor "$mocks/weft-executor-abi2.so" "ABI major 2" "another ABI major"
refuse reactor "$mocks/weft-executor-good.so" "is an executor plugin, not a reactor plugin" "executor given as reactor"

# A FIFO, a device or a folder as the configuration or as a plugin: each
# is refused at once as what it is.  Opening a FIFO to read waits for a
# writer, so `timeout` turns a hang into a failure (status 124).
mkfifo "$tmp/fifo" || fail "mkfifo"
not_regular() { # expected-text label command...
	want=$1
	label=$2
	shift 2
	run timeout 10 "$@"
	[ "$rc" -ne 124 ] || fail "$label: hung"
	[ "$rc" -ne 0 ] || fail "$label: exited 0"
	expect err "$want" "$label"
	! grep -q allow_writable_plugins "$tmp/err" ||
		fail "$label: advises allow_writable_plugins"
}
fifo_says="$tmp/fifo: not a regular file: a FIFO"
null_says="/dev/null: not a regular file: a character device"
not_regular "$fifo_says" "info --config FIFO" \
	"$weft" info --config "$tmp/fifo"
not_regular "$null_says" "info --config /dev/null" \
	"$weft" info --config /dev/null
not_regular "$tmp: not a regular file: a directory" "info --config folder" \
	"$weft" info --config "$tmp"
not_regular "$fifo_says" "WEFT_CONFIG=FIFO" \
	env WEFT_CONFIG="$tmp/fifo" "$weft" info
not_regular "$fifo_says" "WEFT_CONFIG=FIFO, plugins" \
	env WEFT_CONFIG="$tmp/fifo" "$weft" plugins
not_regular "$fifo_says" "WEFT_EXECUTOR=FIFO" \
	env WEFT_EXECUTOR="$tmp/fifo" "$weft" info
not_regular "$fifo_says" "WEFT_REACTOR=FIFO" \
	env WEFT_REACTOR="$tmp/fifo" "$weft" info
not_regular "$null_says" "WEFT_EXECUTOR=/dev/null" \
	env WEFT_EXECUTOR=/dev/null "$weft" info
not_regular "$tmp: not a regular file: a directory" "WEFT_REACTOR=folder" \
	env WEFT_REACTOR="$tmp" "$weft" info

# A FIFO named like a plugin in the plugin path: found by name, it is
# refused; the listing reports it with the reason and goes on.
mkdir "$tmp/odd"
cp "$mocks/weft-executor-good.so" "$tmp/odd/"
mkfifo "$tmp/odd/weft-executor-x.so" || fail "mkfifo"
odd_says="$tmp/odd/weft-executor-x.so: not a regular file: a FIFO"
not_regular "$odd_says" "executor named x is a FIFO" \
	env WEFT_PLUGIN_PATH="$tmp/odd" WEFT_EXECUTOR=x "$weft" info
run timeout 10 env WEFT_PLUGIN_PATH="$tmp/odd" "$weft" plugins
[ "$rc" -ne 124 ] || fail "plugins with a FIFO: hung"
[ "$rc" -ne 0 ] || fail "plugins with a FIFO exited 0"
expect out "$odd_says" "plugins with a FIFO"
expect out "executor  good" "plugins with a FIFO"
expect err "1 of 2 plugins would not load" "plugins with a FIFO"

# The listing of the mock plugins: the good ones load, the others are
# listed with their error, and the command reports failure.
run env WEFT_PLUGIN_PATH="$mocks" "$weft" plugins
[ "$rc" -ne 0 ] || fail "plugins with broken plugins exited 0"
expect out "KIND" "plugins"
expect out "$mocks/weft-executor-good.so" "plugins"
expect out "$mocks/weft-reactor-good.so" "plugins"
expect out "weft-executor-badsig.so" "plugins"
expect out "does not match the host's" "plugins"
expect out "is an executor plugin, not a reactor plugin" "plugins"
expect err "plugins would not load" "plugins"
[ "$(grep -c ' ok  *//*' "$tmp/out")" -eq 2 ] || fail "not exactly 2 ok"
[ "$(grep -c ' error  *//*' "$tmp/out")" -eq 18 ] || fail "not 18 errors"

# A folder with only good plugins lists them and succeeds.
mkdir "$tmp/good"
cp "$mocks/weft-executor-good.so" "$mocks/weft-reactor-good.so" "$tmp/good/"
run env WEFT_PLUGIN_PATH="$tmp/good" "$weft" plugins
[ "$rc" -eq 0 ] || fail "plugins with good plugins exited $rc"
expect out "executor  good" "plugins, good"

# An empty plugin path folder is an error.
mkdir "$tmp/empty"
run env WEFT_PLUGIN_PATH="$tmp/empty" "$weft" plugins
[ "$rc" -ne 0 ] || fail "plugins with no plugins exited 0"
expect err "no plugins" "plugins, none"

# Shared libraries not named like plugins are passed over by the scan; the
# listing names each one and why rather than only "no plugins".  Neither a
# folder named like a library nor a file that is no library is named; a
# relative folder in the path is, since the loader ignores it too.
named="not named weft-executor-NAME.so or weft-reactor-NAME.so"
mkdir "$tmp/misnamed" "$tmp/misnamed/weft-executor-x.so.p"
cp "$mocks/weft-executor-good.so" "$tmp/misnamed/libfoo.so"
cp "$mocks/weft-reactor-good.so" "$tmp/misnamed/weft-reactor-good.so.1"
printf 'notes\n' >"$tmp/misnamed/README"
run timeout 10 env WEFT_PLUGIN_PATH="$tmp/misnamed:relative/dir" \
	"$weft" plugins
[ "$rc" -ne 124 ] || fail "plugins with misnamed libraries: hung"
[ "$rc" -ne 0 ] || fail "plugins with only misnamed libraries exited 0"
expect err "weft: skipped $tmp/misnamed/libfoo.so: $named" "libfoo.so"
expect err "weft: skipped $tmp/misnamed/weft-reactor-good.so.1: $named" \
	"a versioned name"
rel_says="skipped folder \"relative/dir\" in the plugin path"
expect err "$rel_says: not an absolute path" "a relative folder"
expect err "no plugins in plugin path" "misnamed libraries only"
! grep -q 'README\|\.so\.p' "$tmp/err" ||
	fail "plugins names a folder or a file that is no library"
[ "$(grep -c '^weft: skipped' "$tmp/err")" -eq 3 ] ||
	fail "not exactly 3 skipped"

# Beside a plugin that loads, a skipped library is a note: success.  A
# plugin named weft-NAME.so, without its kind, loads only by path.
cp "$mocks/weft-executor-good.so" "$tmp/misnamed/"
cp "$mocks/weft-reactor-good.so" "$tmp/misnamed/weft-good.so"
run timeout 10 env WEFT_PLUGIN_PATH="$tmp/misnamed" "$weft" plugins
[ "$rc" -eq 0 ] || fail "plugins with a good and a misnamed one exited $rc"
expect out "executor  good" "good beside misnamed"
expect err "weft: skipped $tmp/misnamed/libfoo.so: $named" \
	"misnamed beside good"
expect out "$tmp/misnamed/weft-good.so" "weft-NAME.so listed"
expect out "note: $named, so it loads only by path" "weft-NAME.so noted"
[ "$(grep -c 'note:' "$tmp/out")" -eq 1 ] || fail "not exactly 1 note"

rm -rf "$tmp"
[ "$fails" -eq 0 ] || exit 1
echo "all weft command checks passed"
