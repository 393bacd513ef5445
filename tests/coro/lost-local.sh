#!/bin/sh
# SPDX-License-Identifier: MIT
# A local initialised in a coroutine body and used after an await is lost
# (the resume jumps past its initialisation).  GCC's -Wjump-misses-init
# reports it: this body must build without the warning and be rejected
# with it under -Werror.
# Usage: lost-local.sh INCLUDE_DIR... -- CC [CC_ARGS...]
set -eu
incs=
while [ "$1" != -- ]; do
	incs="$incs -I$1"
	shift
done
shift
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
cat >"$tmp/lost.c" <<'EOC'
#include <weft/coro.h>
struct f {
	struct weft_future base;
	struct weft_coro co;
	struct weft_future *c;
};
weft_poll p(struct weft_future *b, struct weft_context *cx);
weft_poll
p(struct weft_future *b, struct weft_context *cx)
{
	struct f *f = (struct f *)b;
	WEFT_BEGIN(&f->co);
	int lost = 42;
	WEFT_AWAIT(&f->co, cx, f->c);
	if (lost != 42)
		return WEFT_PENDING;
	WEFT_END(&f->co);
}
EOC
# shellcheck disable=SC2086
"$@" $incs -std=c11 -c "$tmp/lost.c" -o "$tmp/a.o"
# shellcheck disable=SC2086
if "$@" $incs -std=c11 -Wjump-misses-init -Werror -c "$tmp/lost.c" \
	-o "$tmp/b.o" 2>"$tmp/err"; then
	echo "lost-local: -Wjump-misses-init did not report the lost local" >&2
	exit 1
fi
grep -q 'jump' "$tmp/err" || {
	cat "$tmp/err" >&2
	exit 1
}
echo "lost-local: reported"
