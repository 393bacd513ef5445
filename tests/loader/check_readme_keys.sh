#!/bin/sh
# SPDX-License-Identifier: MIT
# The README's list of configuration keys is the parser's: every key the
# parser accepts has a "- `key` — ..." entry in the list after
# "Configuration keys", every entry is a key, and every WEFT_* variable
# the configuration code reads is named in the README.
#   $1: the key printer (config_keys.c)  $2: README.md  $3: config.c
#   $4: an extra key to expect (to show that a missing one fails)
set -u
printer=$1
readme=$2
config_c=$3
extra=${4:-}
fails=0

fail() {
	echo "FAIL: $*" >&2
	fails=$((fails + 1))
}

keys=$("$printer") || {
	echo "FAIL: $printer exited non-zero" >&2
	exit 1
}
[ -n "$extra" ] && keys="$keys
$extra"
[ -n "$keys" ] || fail "the parser lists no keys"

# The entries: bullets opening with a back-quoted key, from the line that
# starts "Configuration keys" to the blank line that ends the list.
listed=$(awk '
	/^Configuration keys/ { on = 1; next }
	on && /^- `/ {
		s = $0
		sub(/^- `/, "", s)
		sub(/`.*/, "", s)
		print s
		seen = 1
		next
	}
	on && seen && /^$/ { exit }
' "$readme")
[ -n "$listed" ] || fail "no list of configuration keys in $readme"

for k in $keys; do
	printf '%s\n' "$listed" | grep -q -x -F -- "$k" ||
		fail "key \"$k\" is accepted by the parser but not listed in $readme"
done
for k in $listed; do
	printf '%s\n' "$keys" | grep -q -x -F -- "$k" ||
		fail "$readme lists \"$k\", which the parser does not accept"
done

# The variables: whatever WEFT_* name config.c quotes is one it reads.
vars=$(grep -o '"WEFT_[A-Z_]*"' "$config_c" | tr -d '"' | sort -u)
[ -n "$vars" ] || fail "no WEFT_* variables found in $config_c"
for v in $vars; do
	grep -q -F -- "\`$v\`" "$readme" ||
		fail "variable $v is read by the configuration but not in $readme"
done

[ "$fails" -eq 0 ] || exit 1
echo "README lists every configuration key and variable"
