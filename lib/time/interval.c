/* SPDX-License-Identifier: MIT */
/*
 * interval: a stream of ticks on top of the runtime's sleep_until, with
 * tokio's three policies for ticks that fire late.
 */
#include <string.h>

#include <weft/coro.h>
#include <weft/time.h>

/* Where the schedule goes after the tick due at `deadline` fired at now. */
static uint64_t
interval_after(const struct weft_interval *iv, uint64_t deadline, uint64_t now)
{
	uint64_t late;

	if (now <= deadline + WEFT_INTERVAL_SLACK)
		return deadline + iv->period;
	late = now - deadline;
	switch (iv->policy) {
	case WEFT_MISSED_TICK_DELAY:
		return now + iv->period;
	case WEFT_MISSED_TICK_SKIP:
		/* The first point of the original grid strictly after now. */
		return deadline + iv->period * (late / iv->period + 1);
	case WEFT_MISSED_TICK_BURST:
	default:
		return deadline + iv->period;
	}
}


static int
interval_poll_next(struct weft_stream *s, struct weft_context *cx, void *item)
{
	struct weft_interval *iv = (struct weft_interval *)s;
	uint64_t now = weft_driver_now(cx->driver);
	uint64_t deadline;
	int status;

	if (!iv->next)
		iv->next = iv->start ? iv->start : now;
	deadline = iv->next;
	if (iv->sleeping || now < deadline) {
		if (!iv->sleeping) {
			weft_sleep_until_init(&iv->sleep, deadline);
			iv->sleeping = true;
		}
		if (weft_future_poll(&iv->sleep.base, cx) == WEFT_PENDING)
			return WEFT_PENDING;
		status = iv->sleep.status;
		weft_future_drop(&iv->sleep.base);
		iv->sleeping = false;
		if (status < 0)
			return status;
		now = weft_driver_now(cx->driver);
	} else if (!weft_budget_spend(cx)) {
		/* A burst of missed ticks still yields to other tasks. */
		return WEFT_PENDING;
	}
	iv->next = interval_after(iv, deadline, now);
	memcpy(item, &deadline, sizeof(deadline));
	return WEFT_STREAM_ITEM;
}


static void
interval_drop(struct weft_stream *s)
{
	struct weft_interval *iv = (struct weft_interval *)s;

	weft_future_drop(&iv->sleep.base);
	iv->sleeping = false;
}

static const struct weft_stream_vtable interval_vtable = {
    .version = WEFT_STREAM_VTABLE_VERSION,
    .poll_next = interval_poll_next,
    .drop = interval_drop,
};


WEFT_EXPORT void
weft_interval_at_init(struct weft_interval *iv, uint64_t start_ns,
                      uint64_t period_ns, enum weft_missed_tick policy)
{
	memset(iv, 0, sizeof(*iv));
	iv->base.vtable = &interval_vtable;
	iv->base.item_size = sizeof(uint64_t);
	iv->period = period_ns ? period_ns : 1;
	iv->start = start_ns;
	iv->policy = policy;
}


WEFT_EXPORT void
weft_interval_init(struct weft_interval *iv, uint64_t period_ns,
                   enum weft_missed_tick policy)
{
	weft_interval_at_init(iv, 0, period_ns, policy);
}


WEFT_EXPORT void
weft_interval_set_policy(struct weft_interval *iv, enum weft_missed_tick policy)
{
	iv->policy = policy;
}


/* ---- tick ----------------------------------------------------------- */

static weft_poll
tick_poll(struct weft_future *f, struct weft_context *cx)
{
	struct weft_interval_tick *t = (struct weft_interval_tick *)f;
	int r = weft_stream_poll_next(&t->iv->base, cx, &t->deadline);

	if (r == WEFT_PENDING)
		return WEFT_PENDING;
	t->status = r == WEFT_STREAM_ITEM ? 0 : r;
	return WEFT_READY;
}

WEFT_FUTURE_VTABLE(tick_vtable, struct weft_interval_tick, status, tick_poll,
                   NULL);


WEFT_EXPORT void
weft_interval_tick_init(struct weft_interval_tick *t, struct weft_interval *iv)
{
	*t = (struct weft_interval_tick){.base.vtable = &tick_vtable, .iv = iv};
}
