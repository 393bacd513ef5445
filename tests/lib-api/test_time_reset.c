/* SPDX-License-Identifier: MIT */
/*
 * weft_sleep_reset and weft_timeout_at on a real runtime: a reset moves the
 * deadline earlier or later, also after the sleep completed, never early,
 * and an armed sleep moved earlier wakes its task without being polled.
 */
#include "../lib-core/common.h"

/*
 * Polls its sleep once (arming it), resets it to `deadline` and returns
 * pending without polling it again, so only the timer's stored waker can
 * bring it back; then awaits the sleep.  Output: when it completed.
 */
struct reset_then_wait {
	struct weft_future base;
	struct weft_sleep sleep;
	uint64_t deadline;
	int step;
	bool first_pending;
	uint64_t woke_at;
	int status;
};

static weft_poll
reset_then_wait_poll(struct weft_future *f, struct weft_context *cx)
{
	struct reset_then_wait *r = (struct reset_then_wait *)f;

	if (r->step == 0) {
		r->step = 1;
		/* Asserted by the test's thread: this may be a worker. */
		r->first_pending =
		    weft_future_poll(&r->sleep.base, cx) == WEFT_PENDING;
		weft_sleep_reset(&r->sleep, r->deadline);
		return WEFT_PENDING;
	}
	if (weft_future_poll(&r->sleep.base, cx) == WEFT_PENDING)
		return WEFT_PENDING;
	r->woke_at = weft_driver_now(cx->driver);
	r->status = r->sleep.status;
	return WEFT_READY;
}

static void
reset_then_wait_drop(struct weft_future *f)
{
	weft_future_drop(&((struct reset_then_wait *)f)->sleep.base);
}

WEFT_FUTURE_VTABLE(reset_then_wait_vtable, struct reset_then_wait, status,
                   reset_then_wait_poll, reset_then_wait_drop);

static void
reset_then_wait_init(struct reset_then_wait *r, uint64_t first_ns,
                     uint64_t deadline)
{
	*r = (struct reset_then_wait){.base.vtable = &reset_then_wait_vtable,
	                              .deadline = deadline};
	weft_sleep_init(&r->sleep, first_ns);
}

static void
reset_earlier_wakes_without_a_poll(void **state)
{
	struct reset_then_wait r;
	struct weft_timeout guard;
	uint64_t start = now_ns(), deadline = start + 30 * WEFT_MSEC;

	(void)state;
	/* An hour first; the guard fails the test rather than hanging it. */
	reset_then_wait_init(&r, 3600 * WEFT_SEC, deadline);
	weft_timeout_init(&guard, &r.base, 10 * WEFT_SEC);
	run(&guard.base);
	weft_future_drop(&guard.base);
	assert_int_equal(guard.status, 0);
	assert_true(r.first_pending);
	assert_int_equal(r.status, 0);
	assert_true(r.woke_at >= deadline);
}

static void
reset_later_is_never_early(void **state)
{
	struct reset_then_wait r;
	uint64_t deadline = now_ns() + 120 * WEFT_MSEC;

	(void)state;
	/* The old deadline (5 ms) passes long before the new one. */
	reset_then_wait_init(&r, 5 * WEFT_MSEC, deadline);
	run(&r.base);
	weft_future_drop(&r.base);
	assert_true(r.first_pending);
	assert_int_equal(r.status, 0);
	assert_true(r.woke_at >= deadline);
}

/* A sleep that completed is reset and awaited again, several times. */
struct reset_after_fire {
	struct weft_future base;
	struct weft_sleep sleep;
	int round;
	uint64_t deadline;
	int early; /* completions before their deadline, or failed */
	int status;
};

static weft_poll
reset_after_fire_poll(struct weft_future *f, struct weft_context *cx)
{
	struct reset_after_fire *r = (struct reset_after_fire *)f;
	uint64_t now;

	while (r->round < 5) {
		if (weft_future_poll(&r->sleep.base, cx) == WEFT_PENDING)
			return WEFT_PENDING;
		now = weft_driver_now(cx->driver);
		if (now < r->deadline)
			r->early++;
		if (r->sleep.status != 0)
			r->early++;
		r->round++;
		/* Later each round; round 3 lands in the past: ready at once.
		 */
		r->deadline = r->round == 3 ? now - 1000 : now + 15 * WEFT_MSEC;
		weft_sleep_reset(&r->sleep, r->deadline);
	}
	r->status = 0;
	return WEFT_READY;
}

static void
reset_after_fire_drop(struct weft_future *f)
{
	weft_future_drop(&((struct reset_after_fire *)f)->sleep.base);
}

WEFT_FUTURE_VTABLE(reset_after_fire_vtable, struct reset_after_fire, status,
                   reset_after_fire_poll, reset_after_fire_drop);

static void
reset_after_firing_sleeps_again(void **state)
{
	struct reset_after_fire r = {.base.vtable = &reset_after_fire_vtable};
	uint64_t start = now_ns();

	(void)state;
	r.deadline = start + 10 * WEFT_MSEC;
	weft_sleep_until_init(&r.sleep, r.deadline);
	run(&r.base);
	weft_future_drop(&r.base);
	assert_int_equal(r.round, 5);
	assert_int_equal(r.early, 0);
	/* 10 ms, then three rounds of 15 ms and one already past. */
	assert_true(now_ns() - start >= 55 * WEFT_MSEC);
}

/* A sleep reset before its first poll takes the new deadline. */
static void
reset_before_first_poll(void **state)
{
	struct weft_sleep s;
	uint64_t deadline = now_ns() + 20 * WEFT_MSEC;

	(void)state;
	weft_sleep_init(&s, 3600 * WEFT_SEC);
	weft_sleep_reset(&s, deadline);
	run(&s.base);
	weft_future_drop(&s.base);
	assert_int_equal(s.status, 0);
	assert_true(now_ns() >= deadline);
}

static void
timeout_at_expires_at_its_deadline(void **state)
{
	struct weft_sleep inner;
	struct weft_timeout t;
	uint64_t deadline = now_ns() + 30 * WEFT_MSEC;

	(void)state;
	weft_sleep_init(&inner, 3600 * WEFT_SEC);
	weft_timeout_at_init(&t, &inner.base, deadline);
	run(&t.base);
	weft_future_drop(&t.base);
	assert_int_equal(t.status, WEFT_ETIMEDOUT);
	assert_true(now_ns() >= deadline);
	assert_true(weft_future_is_empty(&inner.base)); /* dropped */
}

static void
timeout_at_lets_inner_finish(void **state)
{
	struct probe inner;
	atomic_int drops = 0, done = 0;
	struct weft_timeout t;

	(void)state;
	probe_init(&inner, 5, 42, &drops, &done);
	weft_timeout_at_init(&t, &inner.base, now_ns() + 10 * WEFT_SEC);
	run(&t.base);
	weft_future_drop(&t.base);
	assert_int_equal(t.status, 0);
	assert_int_equal(inner.status, 42);
	assert_int_equal(done, 1);
	assert_int_equal(drops, 1);
}

int
main(int argc, char **argv)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(reset_earlier_wakes_without_a_poll),
	    cmocka_unit_test(reset_later_is_never_early),
	    cmocka_unit_test(reset_after_firing_sleeps_again),
	    cmocka_unit_test(reset_before_first_poll),
	    cmocka_unit_test(timeout_at_expires_at_its_deadline),
	    cmocka_unit_test(timeout_at_lets_inner_finish),
	};

	return run_group(argc, argv, "time-reset", tests,
	                 sizeof(tests) / sizeof(tests[0]));
}
