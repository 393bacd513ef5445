/* SPDX-License-Identifier: MIT */
/*
 * Semaphore, notify and barrier: on the runtime under test for the
 * behaviour between tasks, and step by step with a counting context for
 * the cancellation cases, where the exact moment of the drop matters.
 */
#include <weft/sync.h>

#include "common.h"

static atomic_int drops;
/* ---- semaphore ------------------------------------------------------ */

static void
semaphore_basics(void **state)
{
	struct weft_context cx = cw_context();
	struct weft_semaphore_acquire a, b;
	struct weft_semaphore *s;
	(void)state;

	cw_reset();
	assert_int_equal(weft_semaphore_new(3, &s), 0);
	assert_int_equal(weft_semaphore_try_acquire(s, 2), 0);
	assert_int_equal(weft_semaphore_try_acquire(s, 2), -EAGAIN);
	weft_semaphore_acquire_init(&a, s, 2);
	assert_int_equal(weft_future_poll(&a.base, &cx), WEFT_PENDING);
	/* FIFO: a small request does not overtake a queued larger one. */
	assert_int_equal(weft_semaphore_try_acquire(s, 1), -EAGAIN);
	weft_semaphore_release(s, 2);
	assert_int_equal(weft_future_poll(&a.base, &cx), WEFT_READY);
	assert_int_equal(a.status, 0);
	weft_future_drop(&a.base);
	assert_int_equal(weft_semaphore_available(s), 1);

	/* A dropped acquire gives back what it had been granted. */
	weft_semaphore_acquire_init(&a, s, 3);
	assert_int_equal(weft_future_poll(&a.base, &cx), WEFT_PENDING);
	weft_semaphore_release(s, 2); /* granted to a: 0 left */
	assert_int_equal(weft_semaphore_available(s), 0);
	weft_future_drop(&a.base);
	assert_int_equal(weft_semaphore_available(s), 3);

	/* A dropped queued acquire lets the one behind it through. */
	assert_int_equal(weft_semaphore_try_acquire(s, 2), 0);
	weft_semaphore_acquire_init(&a, s, 3);
	weft_semaphore_acquire_init(&b, s, 1);
	assert_int_equal(weft_future_poll(&a.base, &cx), WEFT_PENDING);
	assert_int_equal(weft_future_poll(&b.base, &cx), WEFT_PENDING);
	weft_future_drop(&a.base);
	assert_int_equal(weft_future_poll(&b.base, &cx), WEFT_READY);
	weft_future_drop(&b.base);
	weft_semaphore_release(s, 3);

	/* Close: waiters and later acquires get WEFT_ECLOSED. */
	weft_semaphore_acquire_init(&a, s, 5);
	assert_int_equal(weft_future_poll(&a.base, &cx), WEFT_PENDING);
	weft_semaphore_close(s);
	assert_int_equal(weft_future_poll(&a.base, &cx), WEFT_READY);
	assert_int_equal(a.status, WEFT_ECLOSED);
	weft_future_drop(&a.base);
	assert_int_equal(weft_semaphore_try_acquire(s, 1), WEFT_ECLOSED);
	weft_semaphore_acquire_init(&a, s, 1);
	assert_int_equal(weft_future_poll(&a.base, &cx), WEFT_READY);
	assert_int_equal(a.status, WEFT_ECLOSED);
	weft_future_drop(&a.base);
	assert_int_equal(cw_outstanding(), 0);
	weft_semaphore_free(s);
}

/* Permits bound concurrency between real tasks. */
struct permit_task {
	struct weft_future base;
	struct weft_coro co;
	struct weft_semaphore_acquire acq;
	struct weft_sleep sleep;
	struct weft_semaphore *s;
	atomic_int *inside, *max;
	int out;
};

static weft_poll
permit_task_poll(struct weft_future *f, struct weft_context *cx)
{
	struct permit_task *t = (struct permit_task *)f;
	int n;

	WEFT_BEGIN(&t->co);
	weft_semaphore_acquire_init(&t->acq, t->s, 1);
	WEFT_AWAIT(&t->co, cx, &t->acq);
	n = atomic_fetch_add(t->inside, 1) + 1;
	if (n > *t->max)
		*t->max = n;
	weft_sleep_init(&t->sleep, 5 * WEFT_MSEC);
	WEFT_AWAIT(&t->co, cx, &t->sleep);
	atomic_fetch_sub(t->inside, 1);
	weft_semaphore_release(t->s, 1);
	WEFT_END(&t->co);
}

static void
permit_task_drop(struct weft_future *f)
{
	struct permit_task *t = (struct permit_task *)f;

	weft_future_drop(&t->acq.base);
	weft_future_drop(&t->sleep.base);
	atomic_fetch_add(&drops, 1);
}

WEFT_FUTURE_VTABLE(permit_task_vtable, struct permit_task, out,
                   permit_task_poll, permit_task_drop);

static void
semaphore_bounds_tasks(void **state)
{
	struct weft_join *joins[12];
	struct weft_semaphore *s;
	atomic_int inside = 0, max = 0;
	(void)state;

	drops = 0;
	assert_int_equal(weft_semaphore_new(3, &s), 0);
	for (int i = 0; i < 12; i++) {
		struct permit_task t = {.base.vtable = &permit_task_vtable,
		                        .s = s,
		                        .inside = &inside,
		                        .max = &max};
		spawn(&t.base, &joins[i]);
	}
	join_all(joins, 12);
	assert_true(max >= 1 && max <= 3);
	assert_int_equal(drops, 12);
	assert_int_equal(weft_semaphore_available(s), 3);
	weft_semaphore_free(s);
}

/* ---- notify --------------------------------------------------------- */

static void
notify_permit_and_waiters(void **state)
{
	struct weft_context cx = cw_context();
	struct weft_notified a, b, c;
	struct weft_notify *n;
	(void)state;

	cw_reset();
	assert_int_equal(weft_notify_new(&n), 0);

	/* notify_one with nobody waiting stores one permit (not two). */
	weft_notify_one(n);
	weft_notify_one(n);
	weft_notified_init(&a, n);
	assert_int_equal(weft_future_poll(&a.base, &cx), WEFT_READY);
	weft_future_drop(&a.base);
	weft_notified_init(&a, n);
	assert_int_equal(weft_future_poll(&a.base, &cx), WEFT_PENDING);

	/* notify_waiters wakes all waiters, including one not yet polled. */
	weft_notified_init(&b, n);
	assert_int_equal(weft_future_poll(&b.base, &cx), WEFT_PENDING);
	weft_notified_init(&c, n);
	weft_notify_waiters(n);
	assert_int_equal(cw_wakes, 2);
	assert_int_equal(weft_future_poll(&a.base, &cx), WEFT_READY);
	assert_int_equal(weft_future_poll(&b.base, &cx), WEFT_READY);
	assert_int_equal(weft_future_poll(&c.base, &cx), WEFT_READY);
	weft_future_drop(&a.base);
	weft_future_drop(&b.base);
	weft_future_drop(&c.base);
	/* ... and stores no permit. */
	weft_notified_init(&a, n);
	assert_int_equal(weft_future_poll(&a.base, &cx), WEFT_PENDING);

	/* A waiter dropped after notify_one chose it passes it on. */
	weft_notified_init(&b, n);
	assert_int_equal(weft_future_poll(&b.base, &cx), WEFT_PENDING);
	weft_notify_one(n); /* chooses a */
	weft_future_drop(&a.base);
	assert_int_equal(weft_future_poll(&b.base, &cx), WEFT_READY);
	weft_future_drop(&b.base);
	weft_notified_init(&a, n);
	assert_int_equal(weft_future_poll(&a.base, &cx), WEFT_PENDING);
	weft_future_drop(&a.base);

	assert_int_equal(cw_outstanding(), 0);
	weft_notify_free(n);
}

/* notify_one from another task wakes a waiting task. */
struct waiter_task {
	struct weft_future base;
	struct weft_coro co;
	struct weft_notified nd;
	struct weft_notify *n;
	atomic_int *woke;
	int out;
};

static weft_poll
waiter_task_poll(struct weft_future *f, struct weft_context *cx)
{
	struct waiter_task *t = (struct waiter_task *)f;

	WEFT_BEGIN(&t->co);
	weft_notified_init(&t->nd, t->n);
	WEFT_AWAIT(&t->co, cx, &t->nd);
	atomic_fetch_add(t->woke, 1);
	WEFT_END(&t->co);
}

static void
waiter_task_drop(struct weft_future *f)
{
	weft_future_drop(&((struct waiter_task *)f)->nd.base);
	atomic_fetch_add(&drops, 1);
}

WEFT_FUTURE_VTABLE(waiter_task_vtable, struct waiter_task, out,
                   waiter_task_poll, waiter_task_drop);

static void
notify_between_tasks(void **state)
{
	struct weft_join *joins[4];
	struct weft_notify *n;
	atomic_int woke = 0;
	(void)state;

	drops = 0;
	assert_int_equal(weft_notify_new(&n), 0);
	for (int i = 0; i < 4; i++) {
		struct waiter_task t = {
		    .base.vtable = &waiter_task_vtable, .n = n, .woke = &woke};
		spawn(&t.base, &joins[i]);
	}
	run_for_ms(20);
	assert_int_equal(woke, 0);
	weft_notify_one(n);
	for (int k = 0; k < 1000 && woke < 1; k++)
		run_for_ms(2);
	run_for_ms(10);
	assert_int_equal(woke, 1); /* one notification, one task */
	weft_notify_waiters(n);
	join_all(joins, 4);
	assert_int_equal(woke, 4);
	assert_int_equal(drops, 4);
	weft_notify_free(n);
}

/* ---- barrier -------------------------------------------------------- */

struct party {
	struct weft_future base;
	struct weft_coro co;
	struct weft_barrier_wait bw;
	struct weft_barrier *b;
	atomic_int *leaders;
	int round;
	int out;
};

static weft_poll
party_poll(struct weft_future *f, struct weft_context *cx)
{
	struct party *p = (struct party *)f;

	WEFT_BEGIN(&p->co);
	for (p->round = 0; p->round < 3; p->round++) {
		weft_barrier_wait_init(&p->bw, p->b);
		WEFT_AWAIT(&p->co, cx, &p->bw);
		if (p->bw.leader)
			atomic_fetch_add(&p->leaders[p->round], 1);
	}
	WEFT_END(&p->co);
}

static void
party_drop(struct weft_future *f)
{
	weft_future_drop(&((struct party *)f)->bw.base);
	atomic_fetch_add(&drops, 1);
}

WEFT_FUTURE_VTABLE(party_vtable, struct party, out, party_poll, party_drop);

static void
barrier_leader(void **state)
{
	struct weft_join *joins[5];
	atomic_int leaders[3] = {0, 0, 0};
	struct weft_barrier *b;
	(void)state;

	drops = 0;
	assert_int_equal(weft_barrier_new(5, &b), 0);
	for (int i = 0; i < 5; i++) {
		struct party p = {
		    .base.vtable = &party_vtable, .b = b, .leaders = leaders};
		spawn(&p.base, &joins[i]);
	}
	join_all(joins, 5);
	for (int r = 0; r < 3; r++)
		assert_int_equal(leaders[r], 1);
	assert_int_equal(drops, 5);
	weft_barrier_free(b);
}

static void
barrier_dropped_party(void **state)
{
	struct weft_context cx = cw_context();
	struct weft_barrier_wait a, b, c;
	struct weft_barrier *bar;
	(void)state;

	cw_reset();
	assert_int_equal(weft_barrier_new(2, &bar), 0);
	weft_barrier_wait_init(&a, bar);
	weft_barrier_wait_init(&b, bar);
	weft_barrier_wait_init(&c, bar);
	assert_int_equal(weft_future_poll(&a.base, &cx), WEFT_PENDING);
	weft_future_drop(&a.base); /* withdraws */
	assert_int_equal(weft_future_poll(&b.base, &cx), WEFT_PENDING);
	assert_int_equal(weft_future_poll(&c.base, &cx), WEFT_READY);
	assert_int_equal(c.leader, 1);
	assert_int_equal(weft_future_poll(&b.base, &cx), WEFT_READY);
	assert_int_equal(b.leader, 0);
	weft_future_drop(&b.base);
	weft_future_drop(&c.base);
	assert_int_equal(cw_outstanding(), 0);
	weft_barrier_free(bar);
}

int
main(int argc, char **argv)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(semaphore_basics),
	    cmocka_unit_test(semaphore_bounds_tasks),
	    cmocka_unit_test(notify_permit_and_waiters),
	    cmocka_unit_test(notify_between_tasks),
	    cmocka_unit_test(barrier_leader),
	    cmocka_unit_test(barrier_dropped_party),
	};

	return run_group(argc, argv, "lib-signal", tests,
	                 sizeof(tests) / sizeof(tests[0]));
}
