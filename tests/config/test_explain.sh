#!/bin/sh
# SPDX-License-Identifier: MIT
# weft info --explain and --program: every key with the file and line, or
# the variable, that set it; every file read, missing, skipped or ignored
# and why; a broken system file stops it with the file and the line.
#   $1: the weft command
set -u
weft=$1
tmp=$(mktemp -d) || exit 1
fails=0

fail() {
	echo "FAIL: $*" >&2
	fails=$((fails + 1))
}

run() {
	env WEFT_SYSTEM_CONFIG_DIR="$tmp/etc" XDG_CONFIG_HOME="$tmp/xdg" \
		HOME="$tmp/home" "$@" >"$tmp/out" 2>"$tmp/err"
	rc=$?
}

# Lines are matched whole, with runs of blanks squeezed to one.
expect() {
	tr -s ' ' <"$tmp/$1" | grep -F -q -x -- "$2" || {
		fail "$3: no line \"$2\" in std$1:"
		cat "$tmp/out" "$tmp/err" >&2
	}
}

mkdir -p "$tmp/etc/weft.conf.d" "$tmp/xdg/weft" "$tmp/home"
printf 'workers = 2\n\n[program myapp]\nblocking_threads = 7\n' \
	>"$tmp/etc/weft.conf"
printf '# drop-in\nuse_env = yes\n' >"$tmp/etc/weft.conf.d/10-a.conf"
printf 'workers = 3\n' >"$tmp/etc/weft.conf.d/20-b.conf"
printf 'blocking_threads = 1\n' >"$tmp/xdg/weft/weft.conf"
chmod 666 "$tmp/xdg/weft/weft.conf"

run "$weft" info --explain
[ "$rc" -eq 0 ] || fail "info --explain exited $rc: $(cat "$tmp/err")"
# The program is named as the executable is, by default.
expect out "configuration of program \"$(basename "$weft")\"" "--explain"
expect out " read system $tmp/etc/weft.conf" "--explain"
expect out " read system drop-in $tmp/etc/weft.conf.d/10-a.conf" "--explain"
expect out " read system drop-in $tmp/etc/weft.conf.d/20-b.conf" "--explain"
expect out " skipped user $tmp/xdg/weft/weft.conf: refusing a configuration file other users may write (mode 666)" "--explain"
expect out " missing user drop-in $tmp/xdg/weft/weft.conf.d" "--explain"
expect out " workers = 3 from $tmp/etc/weft.conf.d/20-b.conf:1" "--explain"
expect out " use_env = true from $tmp/etc/weft.conf.d/10-a.conf:2" "--explain"
expect out " blocking_threads = 0 from default" "--explain"
expect out " executor = single from default" "--explain"
# The runtime was opened too, as by info alone.
expect out "workers 3 (running 1)" "--explain"

# Another program's view: its section applies.  WEFT_* still win.
chmod 644 "$tmp/xdg/weft/weft.conf"
run env WEFT_WORKERS=5 "$weft" info --program myapp
[ "$rc" -eq 0 ] || fail "info --program exited $rc: $(cat "$tmp/err")"
expect out 'configuration of program "myapp"' "--program"
expect out " blocking_threads = 1 from $tmp/xdg/weft/weft.conf:1" "--program"
expect out " workers = 5 from WEFT_WORKERS" "--program"
printf '[program my*]\nreactor = epoll\n' >"$tmp/xdg/weft/weft.conf"
run "$weft" --program=myapp info
expect out " reactor = epoll from $tmp/xdg/weft/weft.conf:2 [program my*]" "--program glob"
expect out " blocking_threads = 7 from $tmp/etc/weft.conf:4 [program myapp]" "--program name"
# ... and not to another program.
run "$weft" --program=yourapp info
expect out " reactor = epoll from default" "--program other"
expect out " blocking_threads = 0 from default" "--program other"

# --config is the application's layer: the files still override it.
printf 'workers = 9\nexecutor = single\n' >"$tmp/app.conf"
run "$weft" --config "$tmp/app.conf" info --explain
expect out " executor = single from $tmp/app.conf:2" "--config"
expect out " workers = 3 from $tmp/etc/weft.conf.d/20-b.conf:1" "--config"

# A broken system file stops the program, naming the file and the line.
printf 'workers = 3\nreactor epoll\n' >"$tmp/etc/weft.conf.d/20-b.conf"
run "$weft" info --explain
[ "$rc" -eq 1 ] || fail "a broken system file: exit $rc, not 1"
expect out " broken system drop-in $tmp/etc/weft.conf.d/20-b.conf: $tmp/etc/weft.conf.d/20-b.conf:2: missing '=' (expected key = value)" "broken"
expect err "weft: $tmp/etc/weft.conf.d/20-b.conf:2: missing '=' (expected key = value)" "broken"
run "$weft" info
[ "$rc" -eq 1 ] || fail "a broken system file without --explain: exit $rc"
expect err "weft: $tmp/etc/weft.conf.d/20-b.conf:2: missing '=' (expected key = value)" "broken"

rm -rf "$tmp"
[ "$fails" -eq 0 ] || exit 1
echo "weft info --explain names the source of every key and every file"
