/* SPDX-License-Identifier: MIT */
/*
 * select over N branches: the first ready wins, the others are dropped.
 * The select loop keeps the losers for its next round instead.
 *
 * Fairness comes from starting each poll at a random branch.  The random
 * state lives in the select itself (a xorshift seeded at the first poll
 * from the clock and a count of the selects this thread has seeded), so
 * that no two runtimes or threads share it.  Not from the select's
 * address: under simulation the clock stands still while tasks run, so
 * selects on the same stack slot would all start at the same branch, and
 * an address differs from run to run, which would make a seed's schedule
 * unrepeatable.
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
select_random(uint32_t *rng, struct weft_context *cx)
{
	static _Thread_local uint64_t seeded;
	uint32_t x = *rng;

	if (x == 0) {
		/* splitmix64 of the clock and the count. */
		uint64_t seed = weft_driver_now(cx->driver) +
		                ++seeded * 0x9e3779b97f4a7c15u;

		seed = (seed ^ (seed >> 30)) * 0xbf58476d1ce4e5b9u;
		seed = (seed ^ (seed >> 27)) * 0x94d049bb133111ebu;
		seed ^= seed >> 31;
		x = (uint32_t)(seed ^ (seed >> 32)) | 1u;
	}
	x ^= x << 13;
	x ^= x >> 17;
	x ^= x << 5;
	*rng = x;
	return x;
}


/* A branch that takes part in a round: armed, and not a finished fuse. */
static bool
select_armed(struct weft_future *br)
{
	return br && !weft_future_is_empty(br) && !weft_fuse_is_terminated(br);
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
		start = select_random(&s->rng, cx) % s->n;
	for (k = 0; k < s->n; k++) {
		size_t i = (start + k) % s->n;
		struct weft_future *br = b[i];

		if (!select_armed(br))
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

/* ---- the select loop ----------------------------------------------------- */

/* The round is over (ready or dropped): polling it again does nothing. */
#define LOOP_ROUND_DONE 0x80000000u

static struct weft_future **
loop_branches(struct weft_select_loop *l)
{
	return l->branches ? l->branches : l->inline_;
}


static weft_poll
loop_round_poll(struct weft_future *f, struct weft_context *cx)
{
	struct weft_select_loop *l = (struct weft_select_loop *)f;
	struct weft_future **b = loop_branches(l);
	size_t k, start = 0, armed = 0;

	if (l->flags & LOOP_ROUND_DONE)
		return WEFT_READY;
	if (!(l->flags & WEFT_SELECT_BIASED) && l->n > 1)
		start = select_random(&l->rng, cx) % l->n;
	for (k = 0; k < l->n; k++) {
		size_t i = (start + k) % l->n;
		struct weft_future *br = b[i];

		if ((l->disabled >> i) & 1u || !select_armed(br))
			continue;
		armed++;
		if (weft_future_poll(br, cx) == WEFT_READY) {
			/* Its output stays readable; its slot disarms it. */
			weft_future_drop(br);
			l->winner = br;
			l->index = (int)i;
			l->flags |= LOOP_ROUND_DONE;
			return WEFT_READY;
		}
	}
	if (armed)
		return WEFT_PENDING;
	l->flags |= LOOP_ROUND_DONE;
	return WEFT_READY; /* the else round: winner stays NULL */
}


/* A round holds nothing: the branches outlive it. */
static void
loop_round_drop(struct weft_future *f)
{
	((struct weft_select_loop *)f)->flags |= LOOP_ROUND_DONE;
}

WEFT_FUTURE_VTABLE(loop_round_vtable, struct weft_select_loop, index,
                   loop_round_poll, loop_round_drop);


WEFT_EXPORT int
weft_select_loop_all_init(struct weft_select_loop *l, unsigned flags,
                          struct weft_future **branches, size_t n)
{
	if (n > 64) {
		*l = (struct weft_select_loop){0};
		return -E2BIG;
	}
	/* No round yet (base empty): weft_select_loop_next starts one. */
	*l = (struct weft_select_loop){
	    .branches = branches,
	    .n = n,
	    .flags = flags & WEFT_SELECT_BIASED,
	    .index = WEFT_SELECT_ELSE,
	};
	return 0;
}


WEFT_EXPORT int
weft_select_loop_init(struct weft_select_loop *l, unsigned flags, size_t n, ...)
{
	va_list ap;
	size_t i;

	if (n > WEFT_COMBINATOR_INLINE) {
		*l = (struct weft_select_loop){0};
		return -E2BIG;
	}
	weft_select_loop_all_init(l, flags, NULL, n);
	va_start(ap, n);
	for (i = 0; i < n; i++)
		l->inline_[i] = va_arg(ap, struct weft_future *);
	va_end(ap);
	return 0;
}


WEFT_EXPORT struct weft_future *
weft_select_loop_next(struct weft_select_loop *l)
{
	/*
	 * Only a dropped round makes way for the next: an await macro may
	 * evaluate its future again after it is ready, to drop it.
	 */
	if (weft_future_is_empty(&l->base)) {
		l->base.vtable = &loop_round_vtable;
		l->flags &= ~LOOP_ROUND_DONE;
		l->winner = NULL;
		l->index = WEFT_SELECT_ELSE;
	}
	return &l->base;
}


WEFT_EXPORT int
weft_select_loop_enable(struct weft_select_loop *l, const void *branch, bool on)
{
	struct weft_future **b = loop_branches(l);
	size_t i;

	for (i = 0; i < l->n; i++) {
		if ((const void *)b[i] != branch)
			continue;
		if (on)
			l->disabled &= ~(UINT64_C(1) << i);
		else
			l->disabled |= UINT64_C(1) << i;
		return 0;
	}
	return -ENOENT;
}


WEFT_EXPORT void
weft_select_loop_drop(struct weft_select_loop *l)
{
	struct weft_future **b = loop_branches(l);
	size_t i;

	weft_future_drop(&l->base);
	for (i = 0; i < l->n; i++)
		if (b[i])
			weft_future_drop(b[i]);
}
