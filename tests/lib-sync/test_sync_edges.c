/* SPDX-License-Identifier: MIT */
/*
 * Sync primitives, tokens and trackers with more waiters than one wake
 * batch holds (32), step by step with the counting context: every waiter
 * is woken exactly once, none twice, and a waiter that is polled again
 * with another task's waker keeps its place and swaps the waker.
 */
#include <weft/cancel.h>
#include <weft/sync.h>
#include <weft/task.h>

#include "common.h"

#define MANY 40

/* One poll with a fresh budget: many polls would exhaust a shared one. */
static weft_poll
poll_once(struct weft_future *f)
{
	struct weft_context cx = cw_context();

	return weft_future_poll(f, &cx);
}

/* The same, for "another task": a waker that does not will_wake cw's. */
static weft_poll
poll_other(struct weft_future *f)
{
	static int other;
	struct weft_context cx = cw_context();

	cx.waker.data = &other;
	return weft_future_poll(f, &cx);
}

static void
semaphore_many(void **state)
{
	struct weft_semaphore_acquire a[MANY];
	struct weft_semaphore *s;
	(void)state;

	cw_reset();
	assert_int_equal(weft_semaphore_new(0, &s), 0);
	for (int i = 0; i < MANY; i++) {
		weft_semaphore_acquire_init(&a[i], s, 1);
		assert_int_equal(poll_once(&a[i].base), WEFT_PENDING);
	}
	/* A second poll from another task: the first waker is dropped. */
	assert_int_equal(poll_other(&a[0].base), WEFT_PENDING);
	assert_int_equal(cw_drops, 1);
	assert_int_equal(cw_clones, MANY + 1);
	weft_semaphore_release(s, MANY);
	assert_int_equal(cw_wakes, MANY);
	assert_int_equal(weft_semaphore_available(s), 0);
	for (int i = 0; i < MANY; i++) {
		assert_int_equal(poll_once(&a[i].base), WEFT_READY);
		assert_int_equal(a[i].status, 0);
		weft_future_drop(&a[i].base);
	}
	weft_semaphore_release(s, MANY);

	/* Granted but dropped before it saw it: the permit goes back. */
	assert_int_equal(weft_semaphore_try_acquire(s, MANY), 0);
	weft_semaphore_acquire_init(&a[0], s, 1);
	assert_int_equal(poll_once(&a[0].base), WEFT_PENDING);
	weft_semaphore_release(s, 1);
	assert_int_equal(weft_semaphore_available(s), 0);
	weft_future_drop(&a[0].base);
	assert_int_equal(weft_semaphore_available(s), 1);

	/* No budget: pending, woken by ref, nothing queued. */
	{
		struct weft_context cx = cw_context();

		cx.budget = 0;
		weft_semaphore_acquire_init(&a[0], s, 1);
		assert_int_equal(weft_future_poll(&a[0].base, &cx),
		                 WEFT_PENDING);
		assert_int_equal(cw_wake_refs, 1);
		weft_future_drop(&a[0].base);
		assert_int_equal(weft_semaphore_available(s), 1);
	}
	weft_semaphore_free(s);
	assert_int_equal(cw_outstanding(), 0);
}

static void
mutex_rwlock_waiters(void **state)
{
	struct weft_rwlock_lock rd[MANY], wr;
	struct weft_mutex_lock l;
	struct weft_rwlock *rw;
	struct weft_mutex *m;
	(void)state;

	cw_reset();
	assert_int_equal(weft_mutex_new(&m), 0);
	assert_int_equal(weft_mutex_try_lock(m), 0);
	assert_int_equal(weft_mutex_try_lock(m), -EAGAIN);
	weft_mutex_lock_init(&l, m);
	assert_int_equal(poll_once(&l.base), WEFT_PENDING);
	/* Cancelled while queued: the mutex stays with its holder. */
	weft_future_drop(&l.base);
	assert_int_equal(cw_drops, 1);
	weft_mutex_unlock(m);
	assert_int_equal(cw_wakes, 0);
	assert_int_equal(weft_mutex_try_lock(m), 0);
	weft_mutex_unlock(m);
	weft_mutex_free(m);

	/* A writer holds it; every reader queued behind is served at once. */
	assert_int_equal(weft_rwlock_new(&rw), 0);
	assert_int_equal(weft_rwlock_try_write(rw), 0);
	assert_int_equal(weft_rwlock_try_read(rw), -EAGAIN);
	for (int i = 0; i < MANY; i++) {
		weft_rwlock_read_init(&rd[i], rw);
		assert_int_equal(poll_once(&rd[i].base), WEFT_PENDING);
	}
	weft_rwlock_write_unlock(rw);
	assert_int_equal(cw_wakes, MANY);
	/* A writer now waits for all of them. */
	weft_rwlock_write_init(&wr, rw);
	assert_int_equal(poll_once(&wr.base), WEFT_PENDING);
	for (int i = 0; i < MANY; i++) {
		assert_int_equal(poll_once(&rd[i].base), WEFT_READY);
		weft_future_drop(&rd[i].base);
		weft_rwlock_read_unlock(rw);
	}
	assert_int_equal(cw_wakes, MANY + 1);
	assert_int_equal(poll_once(&wr.base), WEFT_READY);
	weft_future_drop(&wr.base);
	weft_rwlock_write_unlock(rw);
	weft_rwlock_free(rw);
	assert_int_equal(cw_outstanding(), 0);
}

static void
notify_many(void **state)
{
	struct weft_notified w[MANY];
	struct weft_notify *n;
	(void)state;

	cw_reset();
	assert_int_equal(weft_notify_new(&n), 0);
	for (int i = 0; i < MANY; i++) {
		weft_notified_init(&w[i], n);
		assert_int_equal(poll_once(&w[i].base), WEFT_PENDING);
	}
	weft_notify_waiters(n);
	assert_int_equal(cw_wakes, MANY);
	for (int i = 0; i < MANY; i++) {
		assert_int_equal(poll_once(&w[i].base), WEFT_READY);
		weft_future_drop(&w[i].base);
	}
	/* notify_waiters stored nothing: a new waiter waits. */
	weft_notified_init(&w[0], n);
	assert_int_equal(poll_once(&w[0].base), WEFT_PENDING);
	weft_future_drop(&w[0].base);
	weft_notify_free(n);
	assert_int_equal(cw_outstanding(), 0);
}

static void
barrier_many(void **state)
{
	struct weft_barrier_wait w[MANY + 1];
	struct weft_barrier *b;
	int leaders = 0;
	(void)state;

	cw_reset();
	assert_int_equal(weft_barrier_new(MANY + 1, &b), 0);
	for (int i = 0; i < MANY; i++) {
		weft_barrier_wait_init(&w[i], b);
		assert_int_equal(poll_once(&w[i].base), WEFT_PENDING);
	}
	/* Polled again while waiting: still one arrival. */
	assert_int_equal(poll_other(&w[0].base), WEFT_PENDING);
	assert_int_equal(cw_drops, 1);
	weft_barrier_wait_init(&w[MANY], b);
	assert_int_equal(poll_once(&w[MANY].base), WEFT_READY);
	assert_int_equal(cw_wakes, MANY);
	for (int i = 0; i <= MANY; i++) {
		if (i < MANY)
			assert_int_equal(poll_once(&w[i].base), WEFT_READY);
		leaders += w[i].leader;
		weft_future_drop(&w[i].base);
	}
	assert_int_equal(leaders, 1);
	assert_int_equal(w[MANY].leader, 1);
	weft_barrier_free(b);
	assert_int_equal(cw_outstanding(), 0);
}

static void
token_many(void **state)
{
	struct weft_cancelled c[MANY];
	struct weft_cancel_token *t, *child;
	(void)state;

	cw_reset();
	assert_int_equal(weft_cancel_token_new(&t), 0);
	assert_int_equal(weft_cancel_token_child(t, &child), 0);
	/* Half watch the parent, half the child. */
	for (int i = 0; i < MANY; i++) {
		weft_cancelled_init(&c[i], i % 2 ? child : t);
		assert_int_equal(poll_once(&c[i].base), WEFT_PENDING);
		assert_int_equal(poll_once(&c[i].base), WEFT_PENDING);
	}
	assert_int_equal(cw_clones, MANY);
	/* One leaves while queued. */
	weft_future_drop(&c[0].base);
	assert_int_equal(cw_drops, 1);
	/* Cancelling the child wakes its watchers only. */
	weft_cancel_token_cancel(child);
	assert_int_equal(cw_wakes, MANY / 2);
	weft_cancel_token_cancel(t);
	assert_int_equal(cw_wakes, MANY - 1);
	for (int i = 1; i < MANY; i++) {
		assert_int_equal(poll_once(&c[i].base), WEFT_READY);
		weft_future_drop(&c[i].base);
	}
	weft_cancel_token_free(child);
	weft_cancel_token_free(t);
	assert_int_equal(cw_outstanding(), 0);
}

static void
tracker_many(void **state)
{
	struct weft_tracker_wait w[MANY];
	struct weft_tracker *t;
	(void)state;

	cw_reset();
	assert_int_equal(weft_tracker_new(&t, NULL), 0);
	for (int i = 0; i < MANY; i++) {
		weft_tracker_wait_init(&w[i], t);
		assert_int_equal(poll_once(&w[i].base), WEFT_PENDING);
	}
	weft_future_drop(&w[0].base); /* leaves while queued */
	assert_int_equal(cw_drops, 1);
	weft_tracker_close(t);
	assert_int_equal(cw_wakes, MANY - 1);
	/* Reopened before they looked: they wait again, and are woken by
	 * the next close. */
	weft_tracker_reopen(t);
	assert_false(weft_tracker_is_closed(t));
	for (int i = 1; i < MANY; i++)
		assert_int_equal(poll_once(&w[i].base), WEFT_PENDING);
	weft_tracker_close(t);
	assert_int_equal(cw_wakes, 2 * (MANY - 1));
	for (int i = 1; i < MANY; i++) {
		assert_int_equal(poll_once(&w[i].base), WEFT_READY);
		assert_int_equal(w[i].status, 0);
		weft_future_drop(&w[i].base);
	}
	weft_tracker_free(t);
	assert_int_equal(cw_outstanding(), 0);
}

int
main(int argc, char **argv)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(semaphore_many),
	    cmocka_unit_test(mutex_rwlock_waiters),
	    cmocka_unit_test(notify_many),
	    cmocka_unit_test(barrier_many),
	    cmocka_unit_test(token_many),
	    cmocka_unit_test(tracker_many),
	};

	return run_group(argc, argv, "sync_edges", tests,
	                 sizeof(tests) / sizeof(tests[0]));
}
