/* SPDX-License-Identifier: MIT */
/*
 * The fallback for compilers without __COUNTER__: resume points are line
 * numbers.  One await per line still works (two on one line would be a
 * duplicate-case compile error, not a silent collision).
 */
#define WEFT_CORO_USE_LINE 1

#include <stddef.h>

#include <weft/coro.h>

#include "coro_test.h"

struct lines {
	struct weft_future base;
	struct weft_coro co;
	struct pend_once a, b;
	int out;
};

static weft_poll
lines_poll(struct weft_future *f, struct weft_context *cx)
{
	struct lines *l = (struct lines *)f;

	WEFT_BEGIN(&l->co);
	pend_once_init(&l->a);
	WEFT_AWAIT(&l->co, cx, &l->a);
	pend_once_init(&l->b);
	WEFT_AWAIT(&l->co, cx, &l->b);
	l->out = 1;
	WEFT_END(&l->co);
}

WEFT_CORO_FUTURE(lines_vtable, struct lines, co, out, lines_poll);

int
line_fallback_polls(void)
{
	struct lines l = {.base.vtable = &lines_vtable};
	int polls = 1;

	while (weft_future_poll(&l.base, NULL) == WEFT_PENDING)
		polls++;
	weft_future_drop(&l.base);
	return l.out == 1 && weft_future_is_empty(&l.b.base) ? polls : -1;
}
