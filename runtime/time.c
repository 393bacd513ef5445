/* SPDX-License-Identifier: MIT */
/*
 * The futures that come with the runtime: sleep, timeout, yield and the
 * join future.  They reach the runtime only through the context (the
 * driver for timers, the waker), so they work on any executor and reactor.
 */
#include <errno.h>

#include "internal.h"
#include "timer.h"

/* ---- sleep ---------------------------------------------------------- */

/*
 * On the host's own driver a sleep reads the clock itself: a deadline
 * already past is ready without a timer, arming stores the waker in the
 * same step, and a poll after the deadline needs no lock.  A stranger's
 * driver gets the calls of the ABI, one by one.
 */
static weft_poll
sleep_poll_host(struct weft_sleep *s, struct weft_context *cx)
{
	uint64_t now = weft_driver_now(s->driver);
	int r;

	if (!s->armed) {
		if (!s->deadline)
			s->deadline = s->duration > UINT64_MAX - now
			                  ? UINT64_MAX
			                  : now + s->duration;
		if (s->deadline <= now) {
			s->status = 0;
			return WEFT_READY;
		}
		r = weft__driver_timer_arm(s->driver, s->deadline, &s->timer,
		                           &cx->waker);
		if (r < 0) {
			s->status = r;
			return WEFT_READY;
		}
		s->armed = 1;
		return WEFT_PENDING;
	}
	if (now < s->deadline) {
		/* Polled early, maybe by another task: store this waker. */
		r = weft_driver_timer_poll(s->driver, s->timer, cx);
		if (r == WEFT_PENDING)
			return WEFT_PENDING;
		s->status = r < 0 ? r : 0;
		return WEFT_READY;
	}
	s->status = 0;
	return WEFT_READY;
}


static weft_poll
sleep_poll(struct weft_future *f, struct weft_context *cx)
{
	struct weft_sleep *s = (struct weft_sleep *)f;
	int r;

	if (!s->armed) {
		s->driver = cx->driver;
		if (weft__driver_is_host(s->driver))
			return sleep_poll_host(s, cx);
		if (!s->deadline)
			s->deadline = weft_driver_now(s->driver) + s->duration;
		r = weft_driver_timer_add(s->driver, s->deadline, &s->timer);
		if (r < 0) {
			s->status = r;
			return WEFT_READY;
		}
		s->armed = 1;
	} else if (weft__driver_is_host(s->driver)) {
		return sleep_poll_host(s, cx);
	}
	r = weft_driver_timer_poll(s->driver, s->timer, cx);
	if (r == WEFT_PENDING)
		return WEFT_PENDING;
	s->status = r < 0 ? r : 0;
	return WEFT_READY;
}


static void
sleep_drop(struct weft_future *f)
{
	struct weft_sleep *s = (struct weft_sleep *)f;

	if (s->armed)
		weft_driver_timer_del(s->driver, s->timer);
	s->armed = 0;
}

WEFT_FUTURE_VTABLE(sleep_vtable, struct weft_sleep, status, sleep_poll,
                   sleep_drop);


WEFT_EXPORT void
weft_sleep_init(struct weft_sleep *s, uint64_t duration_ns)
{
	*s = (struct weft_sleep){.base.vtable = &sleep_vtable,
	                         .duration = duration_ns};
}


WEFT_EXPORT void
weft_sleep_until_init(struct weft_sleep *s, uint64_t deadline_ns)
{
	/* deadline 0 would mean "not computed yet"; 1 ns is as good as 0. */
	*s = (struct weft_sleep){.base.vtable = &sleep_vtable,
	                         .deadline = deadline_ns ? deadline_ns : 1};
}


WEFT_EXPORT void
weft_sleep_reset(struct weft_sleep *s, uint64_t deadline_ns)
{
	if (!deadline_ns)
		deadline_ns = 1; /* 0 means "not computed yet" */
	s->status = 0;
	/*
	 * On the host's driver the timer moves and keeps the waker it holds,
	 * so the task is woken at the new deadline without polling first.
	 */
	if (s->armed && weft__driver_is_host(s->driver) &&
	    weft__driver_timer_reset(s->driver, s->timer, deadline_ns) == 0) {
		s->deadline = deadline_ns;
		return;
	}
	/* Elsewhere (or out of memory): the next poll arms a new timer. */
	if (s->armed)
		weft_driver_timer_del(s->driver, s->timer);
	s->armed = 0;
	s->deadline = deadline_ns;
}


/* ---- timeout -------------------------------------------------------- */

static weft_poll
timeout_poll(struct weft_future *f, struct weft_context *cx)
{
	struct weft_timeout *t = (struct weft_timeout *)f;

	if (weft_future_poll(t->inner, cx) == WEFT_READY) {
		weft_future_drop(t->inner);
		t->status = 0;
		return WEFT_READY;
	}
	if (weft_future_poll(&t->sleep.base, cx) == WEFT_PENDING)
		return WEFT_PENDING;
	/* Time is up: the inner future is cancelled by dropping it. */
	weft_future_drop(t->inner);
	t->status = t->sleep.status < 0 ? t->sleep.status : WEFT_ETIMEDOUT;
	return WEFT_READY;
}


static void
timeout_drop(struct weft_future *f)
{
	struct weft_timeout *t = (struct weft_timeout *)f;

	weft_future_drop(t->inner);
	weft_future_drop(&t->sleep.base);
}

WEFT_FUTURE_VTABLE(timeout_vtable, struct weft_timeout, status, timeout_poll,
                   timeout_drop);


WEFT_EXPORT void
weft_timeout_init(struct weft_timeout *t, struct weft_future *inner,
                  uint64_t duration_ns)
{
	*t = (struct weft_timeout){.base.vtable = &timeout_vtable,
	                           .inner = inner};
	weft_sleep_init(&t->sleep, duration_ns);
}


WEFT_EXPORT void
weft_timeout_at_init(struct weft_timeout *t, struct weft_future *inner,
                     uint64_t deadline_ns)
{
	*t = (struct weft_timeout){.base.vtable = &timeout_vtable,
	                           .inner = inner};
	weft_sleep_until_init(&t->sleep, deadline_ns);
}


/* ---- yield ---------------------------------------------------------- */

static weft_poll
yield_poll(struct weft_future *f, struct weft_context *cx)
{
	struct weft_yield *y = (struct weft_yield *)f;

	if (y->yielded)
		return WEFT_READY;
	y->yielded = 1;
	weft_waker_wake_by_ref(&cx->waker);
	return WEFT_PENDING;
}

WEFT_FUTURE_VTABLE(yield_vtable, struct weft_yield, yielded, yield_poll, NULL);


WEFT_EXPORT void
weft_yield_init(struct weft_yield *y)
{
	*y = (struct weft_yield){.base.vtable = &yield_vtable};
}


/* ---- join ----------------------------------------------------------- */

static weft_poll
join_future_poll(struct weft_future *f, struct weft_context *cx)
{
	struct weft_join_future *j = (struct weft_join_future *)f;
	int r;

	if (!j->join)
		return WEFT_READY; /* no task: status says why (spawn failed) */
	r = weft_join_poll(j->join, cx, j->out, j->out_size);
	if (r == WEFT_PENDING)
		return WEFT_PENDING;
	j->status = r < 0 ? r : 0;
	return WEFT_READY;
}


static void
join_future_drop(struct weft_future *f)
{
	struct weft_join_future *j = (struct weft_join_future *)f;

	weft_join_release(j->join);
	j->join = NULL;
}

WEFT_FUTURE_VTABLE(join_future_vtable, struct weft_join_future, status,
                   join_future_poll, join_future_drop);


WEFT_EXPORT void
weft_join_future_init(struct weft_join_future *f, struct weft_join *join,
                      void *out, size_t out_size)
{
	*f = (struct weft_join_future){.base.vtable = &join_future_vtable,
	                               .join = join,
	                               .out = out,
	                               .out_size = out_size,
	                               .status = join ? 0 : WEFT_ENOTSUP};
}
