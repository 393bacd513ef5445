#!/bin/sh
# SPDX-License-Identifier: MIT
# A privileged process (here set-group-ID, so that AT_SECURE is set) reads
# the system configuration files but ignores the user's files, WEFT_CONFIG,
# the WEFT_* variables and WEFT_SYSTEM_CONFIG_DIR.  The same program run
# without the bit reads them all, so the check cannot pass by reading
# nothing.  Making a set-group-ID program that changes the group takes
# root and a file system mounted without nosuid; without them the test is
# skipped (77) and says why.
#   $1: config-show, built with WEFT_SYSCONFDIR=$2   $2: that folder
set -u
show=$1
sysconf=$2
fails=0

fail() {
	echo "FAIL: $*" >&2
	fails=$((fails + 1))
}

if [ "$(id -u)" -ne 0 ]; then
	echo "skipped: making a set-group-ID program for another group needs root"
	exit 77
fi
# A group the test runs outside of, so that the bit changes the group.
group=
for g in nogroup nobody daemon bin; do
	if getent group "$g" >/dev/null && [ "$(getent group "$g" | cut -d: -f3)" != "$(id -g)" ]; then
		group=$g
		break
	fi
done
if [ -z "$group" ]; then
	echo "skipped: no group other than $(id -gn) to give the program"
	exit 77
fi

tmp=$(mktemp -d) || exit 1
# The system files: owned by root, in folders only root may write.
rm -rf "$sysconf"
mkdir -p "$sysconf/weft/weft.conf.d"
printf 'blocking_threads = 4\n' >"$sysconf/weft/weft.conf"
printf 'reactor = sysdrop\n' >"$sysconf/weft/weft.conf.d/10-x.conf"
chmod 755 "$sysconf" "$sysconf/weft" "$sysconf/weft/weft.conf.d"
chmod 644 "$sysconf/weft/weft.conf" "$sysconf/weft/weft.conf.d/10-x.conf"
# What the caller controls.
mkdir -p "$tmp/xdg/weft" "$tmp/fake/weft"
printf 'executor = userfile\n' >"$tmp/xdg/weft/weft.conf"
printf 'blocking_threads = 5\n' >"$tmp/fake/weft/weft.conf"
printf 'plugin_path = /from/weft_config\n' >"$tmp/env.conf"
chmod 755 "$tmp"

# Where a set-group-ID bit takes effect: try the candidates in turn.
secure=
for dir in "$(dirname "$show")" /var/tmp /tmp "$tmp"; do
	d=$(mktemp -d "$dir/weft-setgid-XXXXXX" 2>/dev/null) || continue
	cp "$show" "$d/config-show" && chgrp "$group" "$d/config-show" &&
		chmod 2755 "$d/config-show" || { rm -rf "$d"; continue; }
	if "$d/config-show" 2>/dev/null | grep -q -x 'secure 1'; then
		secure=$d/config-show
		break
	fi
	rm -rf "$d"
done
if [ -z "$secure" ]; then
	rm -rf "$tmp" "$sysconf"
	echo "skipped: every candidate folder is on a file system mounted nosuid"
	exit 77
fi

run() {
	env XDG_CONFIG_HOME="$tmp/xdg" HOME="$tmp" \
		WEFT_SYSTEM_CONFIG_DIR="$tmp/fake/weft" \
		WEFT_CONFIG="$tmp/env.conf" WEFT_WORKERS=8 "$@" >"$tmp/out" 2>&1
	rc=$?
	[ "$rc" -eq 0 ] || fail "$* exited $rc: $(cat "$tmp/out")"
}

expect() {
	grep -F -q -x -- "$1" "$tmp/out" || {
		fail "$2: no line \"$1\" in:"
		cat "$tmp/out" >&2
	}
}

# Unprivileged: every layer the caller controls is read.
run "$show"
expect "secure 0" "unprivileged"
expect "blocking_threads = 5 from $tmp/fake/weft/weft.conf:1" "unprivileged"
expect "executor = userfile from $tmp/xdg/weft/weft.conf:1" "unprivileged"
expect "plugin_path = /from/weft_config from $tmp/env.conf:1" "unprivileged"
expect "workers = 8 from WEFT_WORKERS" "unprivileged"

# Privileged: only the system files, found where the build put them.
run "$secure"
expect "secure 1" "set-group-ID"
expect "blocking_threads = 4 from $sysconf/weft/weft.conf:1" "set-group-ID"
expect "reactor = sysdrop from $sysconf/weft/weft.conf.d/10-x.conf:1" "set-group-ID"
expect "executor = single from default" "set-group-ID"
expect "workers = 0 from default" "set-group-ID"
expect "file 3 user user files: privileged process" "set-group-ID"
grep -q "$tmp" "$tmp/out" && fail "the privileged run named a file of the caller's"

# A system file that is not root's is refused in a privileged process,
# even when it belongs to the caller.
chown "$(id -u nobody 2>/dev/null || echo 65534)" "$sysconf/weft/weft.conf"
run "$secure"
expect "blocking_threads = 0 from default" "set-group-ID, file not root's"
grep -q "a privileged process trusts only root" "$tmp/out" ||
	fail "the refusal of a file not root's does not say why"

rm -rf "$(dirname "$secure")" "$tmp" "$sysconf"
[ "$fails" -eq 0 ] || exit 1
echo "a set-group-ID process reads only the system configuration files"
