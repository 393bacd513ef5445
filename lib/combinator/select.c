/* SPDX-License-Identifier: MIT */
/*
 * select over N branches: the first ready wins, the others are dropped.
 *
 * Fairness comes from starting each poll at a random branch.  The random
 * state lives in the select itself (a xorshift seeded from the clock and
 * the select's address at the first poll): no global state, so two
 * runtimes, or two threads, never share it.
 */
#include <errno.h>
#include <stdarg.h>

#include <weft/coro.h>
#include <weft/combinator.h>

/* An internal flag: the select has finished (never polled again). */
#define SELECT_DONE 0x80000000u

static struct weft_future **
select_branches(struct weft_select *s)
{
	return s->branches ? s->branches : s->inline_;
}


static void
select_drop_branches(struct weft_select *s)
{
	struct weft_future **b = select_branches(s);
	size_t i;

	if (s->flags & WEFT_SELECT_BORROW)
		return;
	for (i = 0; i < s->n; i++)
		if (b[i])
			weft_future_drop(b[i]);
}


static uint32_t
select_random(struct weft_select *s, struct weft_context *cx)
{
	uint32_t x = s->rng;

	if (x == 0) {
		uint64_t seed =
		    weft_driver_now(cx->driver) ^ (uint64_t)(uintptr_t)s;
		x = (uint32_t)(seed ^ (seed >> 32)) | 1u;
	}
	x ^= x << 13;
	x ^= x >> 17;
	x ^= x << 5;
	s->rng = x;
	return x;
}


static weft_poll
select_poll(struct weft_future *f, struct weft_context *cx)
{
	struct weft_select *s = (struct weft_select *)f;
	struct weft_future **b = select_branches(s);
	size_t k, start = 0, enabled = 0;

	if (s->flags & SELECT_DONE)
		return WEFT_READY;
	if (!(s->flags & WEFT_SELECT_BIASED) && s->n > 1)
		start = select_random(s, cx) % s->n;
	for (k = 0; k < s->n; k++) {
		size_t i = (start + k) % s->n;
		struct weft_future *br = b[i];

		if (!br || weft_future_is_empty(br) ||
		    weft_fuse_is_terminated(br))
			continue;
		enabled++;
		if (weft_future_poll(br, cx) == WEFT_READY) {
			s->winner = (int)i;
			s->flags |= SELECT_DONE;
			select_drop_branches(s);
			return WEFT_READY;
		}
	}
	if (enabled)
		return WEFT_PENDING;
	/* Every branch is disabled: the else branch. */
	s->winner = WEFT_SELECT_ELSE;
	s->flags |= SELECT_DONE;
	return WEFT_READY;
}


static void
select_drop(struct weft_future *f)
{
	select_drop_branches((struct weft_select *)f);
}

WEFT_FUTURE_VTABLE(select_vtable, struct weft_select, winner, select_poll,
                   select_drop);


WEFT_EXPORT void
weft_select_all_init(struct weft_select *s, unsigned flags,
                     struct weft_future **branches, size_t n)
{
	*s = (struct weft_select){
	    .base.vtable = &select_vtable,
	    .branches = branches,
	    .n = n,
	    .flags = flags & (WEFT_SELECT_BIASED | WEFT_SELECT_BORROW),
	    .winner = WEFT_SELECT_ELSE,
	};
}


WEFT_EXPORT int
weft_select_init(struct weft_select *s, unsigned flags, size_t n, ...)
{
	va_list ap;
	size_t i;

	if (n > WEFT_COMBINATOR_INLINE) {
		*s = (struct weft_select){0};
		return -E2BIG;
	}
	weft_select_all_init(s, flags, NULL, n);
	va_start(ap, n);
	for (i = 0; i < n; i++)
		s->inline_[i] = va_arg(ap, struct weft_future *);
	va_end(ap);
	return 0;
}
